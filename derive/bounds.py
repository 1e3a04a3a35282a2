"""Numbers from the user, evaluated safely.

A constant such as ``exp(exp(exp(100)))`` must never reach a float
conversion or ``evalf``: neither has a bound on the work it does.
:func:`approximate` evaluates a constant built by :mod:`derive.parse`
bottom-up in float64, refusing as soon as any intermediate value is not
finite or exceeds :data:`MAX_INTERMEDIATE`, so its work is linear in the size
of the expression.  :func:`bounded` then decides the value exactly enough to
compare it with the limits of the option, and names the limit it breaks.
"""
from __future__ import annotations

import math

import sympy as sp

MAX_INTERMEDIATE = 1e300
MAX_EXP_ARGUMENT = 690.0  # exp(690) ~ 1e299


class NumberError(ValueError):
    """The value cannot be used; ``str()`` says why, in words for the user."""


def _check(value: float) -> float:
    if not math.isfinite(value) or abs(value) > MAX_INTERMEDIATE:
        raise NumberError(f"too large to evaluate (an intermediate value exceeds {MAX_INTERMEDIATE:g})")
    return value


def _rational(expr) -> float:
    p, q = int(expr.p), int(expr.q)
    if max(abs(p).bit_length(), q.bit_length()) > 4000:
        raise NumberError(f"too large to evaluate (an intermediate value exceeds {MAX_INTERMEDIATE:g})")
    try:
        return _check(p / q)
    except OverflowError:
        raise NumberError(f"too large to evaluate (an intermediate value exceeds {MAX_INTERMEDIATE:g})") from None


def _power(base: float, exponent: float) -> float:
    if base == 0 and exponent < 0:
        raise NumberError("undefined (a division by 0)")
    if base < 0 and exponent != int(exponent):
        raise NumberError("not a real number (a fractional power of a negative number)")
    try:
        return math.pow(base, exponent)
    except OverflowError:
        raise NumberError(f"too large to evaluate (an intermediate value exceeds {MAX_INTERMEDIATE:g})") from None


def _exp(u: float) -> float:
    if u > MAX_EXP_ARGUMENT:
        raise NumberError(f"too large to evaluate (exp of {u:.4g}; the limit is exp({MAX_EXP_ARGUMENT:g}))")
    return math.exp(u)


def _log(u: float) -> float:
    if u <= 0:
        raise NumberError("undefined or not real (log of a number <= 0)")
    return math.log(u)


_UNARY = {sp.exp: _exp, sp.log: _log, sp.sin: math.sin, sp.cos: math.cos, sp.tanh: math.tanh, sp.Abs: abs}


def approximate(expr) -> float:
    """A float64 approximation of the constant ``expr``, with every intermediate bounded; or NumberError."""
    if expr.is_Rational:
        return _rational(expr)
    if expr.is_Float:
        return _check(float(expr))
    if expr is sp.pi:
        return math.pi
    if expr is sp.E:
        return math.e
    if expr.is_Add:
        return _check(math.fsum(approximate(a) for a in expr.args))
    if expr.is_Mul:
        out = 1.0
        for a in expr.args:
            out = _check(out * approximate(a))
        return out
    if expr.is_Pow:
        return _check(_power(approximate(expr.base), approximate(expr.exp)))
    for fn, impl in _UNARY.items():
        if isinstance(expr, fn):
            return _check(impl(approximate(expr.args[0])))
    if expr is sp.I:
        raise NumberError("not a real number (it involves the imaginary unit)")
    if expr.free_symbols:
        raise NumberError("not a number (it contains a variable)")
    raise NumberError(f"cannot evaluate {type(expr).__name__}")


def decided(expr, seconds: float = 5.0):
    """30 certain digits of the constant ``expr`` (after :func:`approximate` has bounded it), or NumberError."""
    from .verify import within

    def digits():
        try:
            return sp.N(expr, 30, strict=True, maxn=200)
        except (sp.core.evalf.PrecisionExhausted, ValueError, TypeError):
            return None

    value = within(seconds, "evaluating a number", digits)
    if value is None or not value.is_real or not value.is_finite:
        raise NumberError("cannot be evaluated to 30 certain digits (it may be exactly 0, not real, or need more "
                          "precision than derive uses)")
    return value


def exact_limit(limit: float):
    """The limit as the exact decimal it is written as (1e-12 is 1/10^12, not the nearest binary float)."""
    return sp.Rational(repr(float(limit)))


def compare(expr, limit) -> int:
    """The sign of ``expr - limit`` (-1, 0 or 1), decided exactly; ``expr`` a bounded real constant.

    A rational is compared exactly; any other constant by 30 certain digits of the difference (SymPy's
    evalf works through cancellation), or as equal where the difference is a hidden zero; NumberError
    where neither decides.
    """
    from .verify import decide_zero

    if expr.is_Rational:
        return int(bool(expr > limit)) - int(bool(expr < limit))
    try:
        diff = decided(expr - limit)
    except NumberError:
        if decide_zero(expr - limit) is True:
            return 0
        raise NumberError(f"cannot be told apart from the limit {limit}") from None
    return int(bool(diff > 0)) - int(bool(diff < 0))


def _show(value, near=None) -> str:
    """A number for a message: 7 significant digits, computed exactly (no float underflow); more where
    7 would not tell it from the limit ``near``."""
    import mpmath

    def text(v, digits):
        return mpmath.nstr(sp.N(v, 40)._to_mpmath(140), digits, strip_zeros=True)

    x = sp.N(value, 40)
    if near is None or text(value, 7) != text(near, 7):
        return f"{float(x):.7g}" if x == 0 or 1e-300 < abs(x) < 1e300 else text(value, 7)
    if text(value, 30) != text(near, 30):
        return text(value, 30)
    gap = decided(value - near)  # beyond 30 digits: say by how much it differs
    return f"{float(near):g} {'+' if gap > 0 else '-'} {text(abs(gap), 7)}"


def bounded(expr, *, low: float | None = None, high: float | None = None, magnitude: float | None = None):
    """``expr`` if it is a real constant within the limits; else NumberError naming the limit.

    ``magnitude``: |value| <= magnitude; ``low``/``high``: low <= value <= high.
    """
    if not isinstance(expr, sp.Basic) or not expr.is_number:
        raise NumberError("not a number")
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I):
        raise NumberError("not a finite real number")
    try:
        rough = approximate(expr)
    except NumberError as exc:
        limit = f"|value| <= {magnitude:g}" if magnitude is not None else f"value <= {high:g}" if high else None
        if limit and str(exc).startswith("too large"):
            raise NumberError(f"too large (the limit is {limit})") from None
        raise
    if magnitude is not None and abs(rough) > 2 * magnitude:
        raise NumberError(f"{rough:.4g} is outside the limit |value| <= {magnitude:g}")
    if high is not None and rough > 2 * high:
        raise NumberError(f"{rough:.4g} is above the limit {high:g}")
    value = expr if expr.is_Rational else decided(expr)
    if expr.is_Float:
        expr = value = sp.Rational(expr)
    if magnitude is not None:
        m = exact_limit(magnitude)
        if compare(expr, m) > 0 or compare(expr, -m) < 0:
            raise NumberError(f"{_show(expr, m if value > 0 else -m)} is outside the limit |value| <= {magnitude:g}")
    if low is not None and compare(expr, exact_limit(low)) < 0:
        if low > 0 and compare(expr, 0) <= 0:
            raise NumberError(f"must be positive, got {_show(value)}")
        raise NumberError(f"{_show(expr, exact_limit(low))} is below the limit {low:g}")
    if high is not None and compare(expr, exact_limit(high)) > 0:
        raise NumberError(f"{_show(expr, exact_limit(high))} is above the limit {high:g}")
    return expr
