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


def _difference(lhs, rhs):
    if isinstance(lhs, sp.MatrixBase) or isinstance(rhs, sp.MatrixBase):
        return sp.Matrix(lhs) - sp.Matrix(rhs)
    return sp.sympify(lhs) - sp.sympify(rhs)


def _is_zero(expr) -> bool:
    if isinstance(expr, sp.MatrixBase):
        return all(_is_zero(e) for e in expr)
    return expr == 0


def _symbolic_zero(diff, seconds: float) -> bool:
    """True when SymPy reduces ``diff`` to exactly zero within ``seconds``."""
    try:
        with time_limit(seconds, "simplify") as mine:
            cand = diff.doit() if hasattr(diff, "doit") else diff
            if _is_zero(cand):
                return True
            cand = cand.applyfunc(sp.expand) if isinstance(cand, sp.MatrixBase) else sp.expand(cand)
            if _is_zero(cand):
                return True
            cand = cand.applyfunc(sp.simplify) if isinstance(cand, sp.MatrixBase) else sp.simplify(cand)
            return _is_zero(cand)
    except DerivationTimeout as exc:
        if exc.token is not mine:
            raise
        return False


def _random_function(rng: random.Random, nargs: int):
    """A random smooth function of ``nargs`` real arguments (a SymPy Lambda)."""
    args = sp.symbols(f"_a0:{nargs}", real=True)
    body = sp.Float(rng.uniform(-1, 1))
    for a in args:
        body += sp.Float(rng.uniform(0.3, 1.2)) * sp.sin(sp.Float(rng.uniform(0.5, 1.5)) * a + sp.Float(rng.uniform(-1, 1)))
    return sp.Lambda(args, body)


def numeric_residual(diff, points: int = 24, seed: int = 0) -> float:
    """Largest |diff| over random points (relative to the size of the terms)."""
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


def prove_equal(lhs, rhs, *, seconds: float = 20.0, numeric_points: int = 24,
                tolerance: float = 1e-9, allow_numeric: bool = True) -> Verification:
    """Verify ``lhs = rhs``: symbolically if possible, else numerically."""
    diff = _difference(lhs, rhs)
    if _symbolic_zero(diff, seconds):
        return Verification("symbolic", True, "simplify(lhs - rhs) = 0")
    if not allow_numeric:
        return Verification("unverified", False, "simplify(lhs - rhs) did not reduce to 0")
    try:
        with time_limit(seconds, "numeric check") as mine:
            residual = numeric_residual(diff, numeric_points)
    except DerivationTimeout as exc:
        if exc.token is not mine:
            raise
        return Verification("unverified", False, f"no symbolic proof; numeric check ran out of time ({exc})")
    except (TypeError, ValueError) as exc:
        return Verification("unverified", False, f"no symbolic proof; numeric check failed to run ({exc})")
    passed = residual <= tolerance
    if not passed:
        return Verification("unverified", False, f"lhs - rhs reached {residual:.3g} at random points",
                            residual, tolerance, numeric_points)
    return Verification("numeric", True, "lhs - rhs vanishes at random points",
                        residual, tolerance, numeric_points)


def exact(detail: str, lhs, rhs, *, seconds: float = 20.0) -> Verification:
    """Both sides computed exactly (by integration or substitution); they must agree."""
    diff = _difference(lhs, rhs)
    if _symbolic_zero(diff, seconds):
        return Verification("exact", True, detail)
    return Verification("unverified", False, f"{detail}: difference did not reduce to 0")


def combine(verifications: list[Verification], detail: str) -> Verification:
    """One verification standing for several checks of the same step.

    It is as weak as the weakest: any failure makes it unverified, any numeric
    member makes it numeric.
    """
    if not verifications:
        return Verification("unverified", False, "no check was run")
    failed = [v for v in verifications if not v.passed]
    if failed:
        return Verification("unverified", False, f"{detail}: {failed[0].detail}")
    numeric = [v for v in verifications if v.method == "numeric"]
    if numeric:
        worst = max(numeric, key=lambda v: v.residual or 0.0)
        return Verification("numeric", True, detail, worst.residual, worst.tolerance, worst.points)
    method = "exact" if all(v.method == "exact" for v in verifications) else "symbolic"
    return Verification(method, True, detail)
