"""Numeric verification of the KL steps: high-precision quadrature (or summation) with mpmath at random
parameters, a route of its own (no substitution, no splitting into statistics, no normaliser rule).

A step E_p[T] = value is checked by integrating density·T over the support; the assembled closed form by
integrating p (log p - log q) itself; the decomposition of log p - log q by evaluating both at random points.
Every check states its points and tolerance (``numeric at 3 random parameter sets, tol 1e-12``).
"""
from __future__ import annotations

import random

import mpmath
import sympy as sp

from ..model import Verification

DPS = 30
TOLERANCE = 1e-12


def draw(pair_params, rng: random.Random, accept=None, tries: int = 500) -> dict:
    """Random values of the parameter symbols (``pair_params``: (symbol, Parameter) pairs) for which
    ``accept(values)`` holds."""
    for _ in range(tries):
        values = {s: sp.Rational(round(rng.uniform(par.low, par.high), 3)).limit_denominator(1000)
                  for s, par in pair_params}
        if accept is None or accept(values):
            return values
    raise ValueError("no random parameters satisfy the condition")


#: exponents beyond this are clamped: exp(±10⁶) is already 0 or ∞ beside any density's values, and the exact
#: exponential of a double exponential's tail (exp(e⁶⁰)) would take mpmath minutes.  The products of
#: exponentials in an integrand are combined into one exponential first, so that a clamped factor is never
#: multiplied by an opposite clamped factor.
EXPONENT = 10 ** 6


def _exp(t):
    return mpmath.exp(max(-EXPONENT, min(EXPONENT, t)))


def _one_exp(expr):
    """Each product of two or more exponentials written as one exponential of the sum."""
    def merge(e):
        grow = [a for a in e.args if isinstance(a, sp.exp)]
        return sp.Mul(*[a for a in e.args if not isinstance(a, sp.exp)]) * sp.exp(sp.Add(*[a.args[0] for a in grow]))
    return expr.replace(lambda e: e.is_Mul and sum(isinstance(a, sp.exp) for a in e.args) >= 2, merge)


def _mp(expr, symbols):
    return sp.lambdify(symbols, expr, modules=[{"exp": _exp}, "mpmath"])


def _breakpoints(lo, hi, values):
    """The integration range split at every real parameter value inside it."""
    lo_v = -mpmath.inf if lo == -sp.oo else mpmath.mpf(sp.N(lo, DPS))
    hi_v = mpmath.inf if hi == sp.oo else mpmath.mpf(sp.N(hi, DPS))
    inner = sorted({mpmath.mpf(sp.N(v, DPS)) for v in values if lo_v < mpmath.mpf(sp.N(v, DPS)) < hi_v})
    return [lo_v] + inner + [hi_v]


def integral(f, x, lo, hi, values: dict, discrete: bool = False):
    """∫ f dx over [lo, hi] (or the sum over the integers in it) at parameter ``values``, with mpmath."""
    g = _one_exp(sp.expand(f.subs(values), power_exp=False, power_base=False, log=False, multinomial=False))
    fn = _mp(g, [x])
    with mpmath.workdps(DPS):
        if discrete:
            if hi == sp.oo:
                return mpmath.nsum(fn, [int(lo), mpmath.inf])
            return mpmath.fsum(fn(k) for k in range(int(lo), int(hi) + 1))
        lo_, hi_ = (sp.sympify(lo).subs(values), sp.sympify(hi).subs(values))
        return mpmath.quad(fn, _breakpoints(lo_, hi_, list(values.values())), maxdegree=10)


def compare(pairs, detail: str, tolerance: float = TOLERANCE) -> Verification:
    """A numeric verification from (computed, reference) mpmath pairs: relative difference ≤ tolerance."""
    worst = 0.0
    for got, ref in pairs:
        got, ref = mpmath.mpf(got), mpmath.mpf(ref)
        if mpmath.isnan(got) or mpmath.isnan(ref):  # a NaN is never agreement
            return Verification.unverified(f"{detail}: {got} against {ref}")
        if mpmath.isinf(ref) or mpmath.isinf(got):
            if got != ref:
                return Verification.unverified(f"{detail}: {got} against {ref}")
            continue
        worst = max(worst, float(abs(got - ref) / max(abs(ref), mpmath.mpf(1))))
    if not worst <= tolerance:
        return Verification("unverified", False, f"{detail}: relative difference {worst:.3g}", worst, tolerance,
                            len(pairs))
    return Verification("numeric", True, detail, worst, tolerance, len(pairs))


def value(expr, values: dict):
    """``expr`` at parameter ``values``, as an mpmath number of DPS digits."""
    with mpmath.workdps(DPS):
        v = sp.N(expr.subs(values), DPS)
    if v == sp.oo:
        return mpmath.inf
    if not v.is_real:
        raise ValueError(f"{expr} is not real at {values}")
    return mpmath.mpf(str(v))
