"""Checking a claimed equality ``lhs = rhs``.

:func:`prove_equal` tries, in order,

1. a symbolic proof: ``lhs - rhs`` is expanded and simplified (under a time
   limit, since ``simplify`` has none of its own) and must become exactly 0;
2. only if that is out of reach, a numeric check at random points: every free
   symbol gets a random real value (positive where so declared) and every
   undefined function a random smooth function; the step is then labelled
   ``numeric`` with its number of points and tolerance.

A step neither check can confirm is returned as ``unverified``.
"""
from __future__ import annotations

import math
import random
import signal
import threading
import time
from contextlib import contextmanager

import sympy as sp
from sympy.core.function import AppliedUndef

from .model import Verification


class DerivationTimeout(RuntimeError):
    """A symbolic computation ran past its wall-clock limit."""

    def __init__(self, what: str, seconds: float, token=None):
        super().__init__(f"{what} ran out of time after {seconds:g} s")
        self.what = what
        self.seconds = seconds
        self.token = token


#: what the derivation is doing now (named in a time-out message)
ACTIVITY = "starting"

_limits: list = []  # stack of [deadline, what, seconds, token], innermost last


def _arm() -> None:
    if _limits:
        remaining = min(d for d, *_ in _limits) - time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-3))
    else:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _expired(signum, frame):
    now = time.monotonic()
    due = [lim for lim in _limits if lim[0] <= now + 1e-3]
    if not due:
        _arm()
        return
    # the outermost expired limit wins: its owner is the one that must stop
    deadline, what, seconds, token = due[0]
    # fire again shortly in case this exception is swallowed (e.g. raised inside a gc callback);
    # leaving the limit's block disarms it
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    raise DerivationTimeout(what, seconds, token)


@contextmanager
def time_limit(seconds: float | None, what: str):
    """Raise :class:`DerivationTimeout` if the block runs longer than ``seconds``.

    Limits nest: each one's deadline is kept, and the exception carries the
    ``token`` yielded by the limit that expired, so a caller catches only its
    own time-out and lets an enclosing one through.  Uses SIGALRM: in other
    threads than the main one the block runs without a limit.
    """
    token = object()
    if seconds is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield token
        return
    if not _limits:
        signal.signal(signal.SIGALRM, _expired)
    entry = [time.monotonic() + seconds, what, seconds, token]
    _limits.append(entry)
    _arm()
    try:
        yield token
    finally:
        _limits.remove(entry)
        _arm()


def within(seconds: float, what: str, fn, *args, on_timeout=None):
    """``fn(*args)`` under its own time limit; ``on_timeout`` if that limit expires.

    An enclosing limit that expires meanwhile is not caught: it reaches its owner.
    """
    try:
        with time_limit(seconds, what) as mine:
            return fn(*args)
    except DerivationTimeout as exc:
        if exc.token is not mine:
            raise
        return on_timeout


def _difference(lhs, rhs):
    if isinstance(lhs, sp.MatrixBase) or isinstance(rhs, sp.MatrixBase):
        lhs, rhs = sp.Matrix(lhs), sp.Matrix(rhs)
        if lhs.shape != rhs.shape:
            raise ValueError(f"cannot compare a {lhs.shape} matrix with a {rhs.shape} matrix")
        return lhs - rhs
    return sp.sympify(lhs) - sp.sympify(rhs)


def _is_zero(expr) -> bool:
    """Exactly zero: every entry of a matrix, or the expression itself."""
    if isinstance(expr, sp.MatrixBase):
        return all(_is_zero(e) for e in expr)
    return expr == 0


def decide_zero(value, seconds: float = 5.0) -> bool | None:
    """Is the constant ``value`` exactly 0?  True, False, or None (undecided).

    A value that evaluates to 30 certain digits (``evalf(strict=True)``) is
    decided by them; one whose digits cannot be told from zero (a hidden zero
    such as sin(1)**2 + cos(1)**2 - 1) by SymPy's ``equals``; anything else,
    or a time-out, is undecided.
    """
    value = sp.sympify(value)
    if value.is_Number:
        return bool(value.is_zero)
    return within(seconds, "deciding a constant", _decide_zero, value)


def _decide_zero(value) -> bool | None:
    try:
        return sp.N(value, 30, strict=True) == 0
    except (sp.core.evalf.PrecisionExhausted, ValueError, TypeError):
        pass
    return True if value.equals(0) is True else None


def undefined_constant(expr) -> str | None:
    """A reason if ``expr`` divides by, or takes the log of, a constant that is 0 or cannot be told from 0."""
    exprs = list(sp.Matrix(expr)) if isinstance(expr, (sp.MatrixBase, list, tuple)) else [sp.sympify(expr)]
    for e in exprs:
        if e.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            return f"the expression is undefined ({sp.sstr(e)[:60]})"
        for node in sp.preorder_traversal(e):
            if isinstance(node, sp.Pow) and node.exp.is_negative:
                base, what = node.base, "divides by"
            elif isinstance(node, sp.log):
                base, what = node.args[0], "takes the log of"
            else:
                continue
            if not base.is_number:  # a constant factor of a divisor decides as well
                base = base.as_independent(*base.free_symbols, as_Add=False)[0] if isinstance(base, sp.Mul) else base
            if base.is_number and not base.is_Number:
                zero = decide_zero(base)
                if zero is not False:
                    state = "exactly 0" if zero else "a constant that cannot be told from 0"
                    return f"the expression {what} {sp.sstr(base)}, {state}"
    return None


def _simplified(expr):
    return expr.applyfunc(sp.simplify) if isinstance(expr, sp.MatrixBase) else sp.simplify(expr)


def _symbolic_zero(diff, seconds: float, sides: tuple) -> bool:
    """True when SymPy reduces ``diff`` to exactly zero within ``seconds``; a time-out is False.

    The ``sides`` (lhs, rhs) are also simplified one at a time before their
    difference is taken (SymPy sometimes reduces each but not the difference).
    """
    if _reduce(diff, seconds):
        return True
    return within(seconds, "simplify", _sides_reduce, *sides, on_timeout=False)


def _sides_reduce(lhs, rhs) -> bool:
    lhs, rhs = (_simplified(sp.sympify(e).doit()) for e in (lhs, rhs))
    return _is_zero(_simplified(_difference(lhs, rhs)))


def _reduce(diff, seconds: float) -> bool:
    """``diff`` is 0 after doit, expand or simplify, within ``seconds`` (a time-out is False)."""
    return within(seconds, "simplify", _reduce_now, diff, on_timeout=False)


def _reduce_now(diff) -> bool:
    cand = diff.doit() if hasattr(diff, "doit") else diff
    if _is_zero(cand):
        return True
    cand = cand.applyfunc(sp.expand) if isinstance(cand, sp.MatrixBase) else sp.expand(cand)
    return _is_zero(cand) or _is_zero(_simplified(cand))


def rational_zero(diff, seconds: float = 20.0) -> bool:
    """True when ``diff`` is 0 as a rational function of its function values: every value of a function
    (exp of each term of its argument, tanh, log, an undefined function, a root, ...) is named by one unknown
    per distinct argument (arguments compared after cancelling, recursively), and the rational function of
    those unknowns cancels to 0.  Identities between function values (tanh² = 1 − sech²) are not used, so
    False proves nothing; True is a proof.  A time-out is False."""
    return within(seconds, "rational check", _rational_zero_now, diff, on_timeout=False)


def _rational_zero_now(diff) -> bool:
    names = {}

    def atom(func, args):
        key = (func, tuple(sp.cancel(walk(a)) for a in args))
        return names.setdefault(key, sp.Dummy(f"v{len(names)}"))

    def walk(e):
        if e.is_Symbol or e.is_Number:
            return e
        if isinstance(e, (sp.Add, sp.Mul)):
            return e.func(*[walk(a) for a in e.args])
        if isinstance(e, sp.Pow) and e.exp.is_Integer:
            return walk(e.base) ** e.exp
        if isinstance(e, sp.exp):  # exp(2a + b) = exp(a)² exp(b)
            out = sp.S.One
            for term in sp.Add.make_args(sp.expand(e.args[0])):
                c, rest = term.as_coeff_Mul()
                out *= atom(sp.exp, (rest,)) ** c if c.is_Integer else atom(sp.exp, (term,))
            return out
        return atom(e.func, e.args)

    if isinstance(diff, sp.MatrixBase):
        return all(sp.cancel(walk(e)) == 0 for e in diff)
    return sp.cancel(walk(sp.sympify(diff))) == 0


def _random_function(rng: random.Random, nargs: int):
    """A random smooth function of ``nargs`` real arguments (a SymPy Lambda)."""
    args = sp.symbols(f"_a0:{nargs}", real=True)
    body = sp.Float(rng.uniform(-1, 1))
    for a in args:
        body += sp.Float(rng.uniform(0.3, 1.2)) * sp.sin(sp.Float(rng.uniform(0.5, 1.5)) * a + sp.Float(rng.uniform(-1, 1)))
    return sp.Lambda(args, body)


def numeric_residual(diff, points: int = 24, seed: int = 0) -> float:
    """Largest |diff| over random points (absolute; a non-finite value gives inf).

    Every free symbol gets a random real value (in [0.2, 1.5] where declared
    positive, else in [-1.5, 1.5]); every undefined function a random smooth one.
    """
    rng = random.Random(seed)
    worst = 0.0
    exprs = list(diff) if isinstance(diff, sp.MatrixBase) else [diff]
    for _ in range(points):
        funcs = {}
        for e in exprs:
            for f in e.atoms(AppliedUndef):
                funcs.setdefault(f.func, _random_function(rng, len(f.args)))
        for e in exprs:
            e = e.subs(funcs).doit() if funcs else e.doit()
            values = {}
            for sym in sorted(e.free_symbols, key=str):
                lo = 0.2 if sym.is_positive else -1.5
                values[sym] = sp.Float(rng.uniform(lo, 1.5))
            val = complex(sp.N(e.subs(values), 30))
            if not math.isfinite(abs(val)):
                return math.inf
            worst = max(worst, abs(val))
    return worst


def _refuse_undefined(lhs, rhs) -> Verification | None:
    for side in (lhs, rhs):
        reason = undefined_constant(side)
        if reason is not None:
            return Verification.unverified(reason)
    return None


def prove_equal(lhs, rhs, *, seconds: float = 20.0, numeric_points: int = 24,
                tolerance: float = 1e-9, allow_numeric: bool = True, detail: str | None = None,
                scope: str | None = None) -> Verification:
    """Verify ``lhs = rhs``: symbolically if possible, else (if allowed) numerically.

    ``detail`` says what the two sides are (e.g. "back-substitution gives y");
    ``scope`` where they were computed when that is not the general case.
    """
    bad = _refuse_undefined(lhs, rhs)
    if bad is not None:
        return bad
    diff = _difference(lhs, rhs)
    what = detail or "simplify(lhs - rhs) = 0"
    if _symbolic_zero(diff, seconds, (lhs, rhs)):
        return Verification("symbolic", True, what, scope=scope)
    if not allow_numeric:
        return Verification.unverified(f"{what}: the difference did not reduce to 0")
    try:
        residual = within(seconds, "numeric check", numeric_residual, diff, numeric_points)
        if residual is None:
            return Verification.unverified(f"no symbolic proof; numeric check ran out of time after {seconds:g} s")
    except (TypeError, ValueError) as exc:
        return Verification.unverified(f"no symbolic proof; numeric check failed to run ({exc})")
    if not residual <= tolerance:  # NaN fails too
        return Verification("unverified", False, f"{what}: lhs - rhs reached {residual:.3g} at random points",
                            residual, tolerance, numeric_points)
    return Verification("numeric", True, f"{what}: no symbolic proof; lhs - rhs vanishes at random points",
                        residual, tolerance, numeric_points, scope=scope)


def exact(detail: str, lhs, rhs, *, seconds: float = 20.0, scope: str | None = None) -> Verification:
    """Both sides computed exactly by independent routes (integration, substitution); they must agree."""
    bad = _refuse_undefined(lhs, rhs)
    if bad is not None:
        return bad
    diff = _difference(lhs, rhs)
    if _symbolic_zero(diff, seconds, (lhs, rhs)):
        return Verification("exact", True, detail, scope=scope)
    return Verification.unverified(f"{detail}: the difference did not reduce to 0")


def join_scopes(scopes: list) -> str:
    """``["k = 1", "k = 2"]`` -> ``"k = 1, 2"``; scopes of other forms are joined with '; '."""
    groups: dict[str, list[str]] = {}
    for scope in dict.fromkeys(scopes):
        name, sep, values = scope.partition(" = ")
        key = name if sep else scope
        groups.setdefault(key, [])
        if sep:
            groups[key].append(values)
    return "; ".join(f"{key} = {', '.join(vals)}" if vals else key for key, vals in groups.items())


def combine(verifications: list[Verification], detail: str) -> Verification:
    """One verification standing for several checks of the same step.

    Every member must pass; the first failure makes the step unverified.  What
    the step then establishes is what its strongest member established: a
    proof if any member covers the general case, otherwise exact checks at the
    members' instances (their scopes joined), otherwise numeric (the worst
    residual).
    """
    if not verifications:
        return Verification.unverified("no check was run")
    failed = [v for v in verifications if not v.passed]
    if failed:
        return Verification.unverified(f"{detail}: {failed[0].detail}")
    general = [v for v in verifications if v.general]
    if general:
        return Verification("exact" if all(v.method == "exact" for v in general) else "symbolic", True, detail)
    exact_ones = [v for v in verifications if v.method in ("symbolic", "exact")]
    if exact_ones:
        scope = join_scopes([v.scope for v in exact_ones])
        method = "exact" if all(v.method == "exact" for v in exact_ones) else "symbolic"
        return Verification(method, True, detail, scope=scope)
    worst = max(verifications, key=lambda v: v.residual or 0.0)
    return Verification("numeric", True, detail, worst.residual, worst.tolerance, worst.points)
