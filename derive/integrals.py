"""Integrals over the real line of polynomial times Gaussian, by completing the square.

∫ z^n exp(a z² + b z + c) dz with a < 0 is, after z = m + s u with
m = -b/(2a) and s² = -1/(2a),

    exp(c - b²/(4a)) √(π/(-a)) E[(m + s u)^n],   u ~ N(0, 1),

and E[u^k] is (k - 1)!! for even k and 0 for odd k.  This is what SymPy's
Meijer-G route computes too, in a fraction of the time; a term of another
shape is left to :func:`sympy.integrate`.  The derivations compute with it;
their checks integrate by other routes (:mod:`derive.independent`), and the
tests compare it with plain ``integrate``.
"""
from __future__ import annotations

import sympy as sp


def _standard_moment(k: int):
    """E[u^k] for u ~ N(0, 1): (k - 1)!! for even k, 0 for odd k."""
    return sp.S.Zero if k % 2 else sp.factorial2(k - 1)


def _split(term, z):
    """(coefficient free of z, power n of z, exponent of exp) of one product term, or None."""
    coeff, power, exponent = sp.S.One, 0, sp.S.Zero
    for factor in sp.Mul.make_args(term):
        if not factor.has(z):
            coeff *= factor
        elif isinstance(factor, sp.exp) or (factor.is_Pow and factor.base == sp.E):
            exponent += factor.exp if factor.is_Pow else factor.args[0]
        elif factor == z:
            power += 1
        elif factor.is_Pow and factor.base == z and factor.exp.is_Integer and factor.exp > 0:
            power += int(factor.exp)
        else:
            return None
    return coeff, power, exponent


def _term(term, z):
    """∫ term dz over the real line, or None when the term is not z^n exp(quadratic with a < 0)."""
    parts = _split(term, z)
    if parts is None:
        return None
    coeff, n, exponent = parts
    try:
        q = sp.Poly(sp.expand(exponent), z)
    except sp.PolynomialError:
        return None
    if q.degree() != 2 or any(c.has(z) for c in q.all_coeffs()):
        return None
    a, b, c = q.all_coeffs()
    if a.is_negative is not True:
        return None
    m, s = -b / (2 * a), sp.sqrt(-1 / (2 * a))
    mean_power = sum(sp.binomial(n, k) * m ** (n - k) * s ** k * _standard_moment(k) for k in range(0, n + 1, 2))
    return coeff * sp.exp(c - b ** 2 / (4 * a)) * sp.sqrt(sp.pi / (-a)) * mean_power


def gaussian_integral(f, z):
    """∫ f dz over the real line when every term of f is c z^n exp(a z² + b z + c0) with a < 0 (known from the
    symbols' assumptions); None otherwise."""
    total = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(sp.powsimp(sp.expand(f), combine="exp"))):
        value = _term(sp.powsimp(term, combine="exp"), z)
        if value is None:
            return None
        total += value
    return total


def over_real_line(f, z):
    """∫ f dz over the real line: by completing the square where it applies, else by SymPy."""
    value = gaussian_integral(f, z)
    if value is not None:
        return value
    return sp.integrate(f, (z, -sp.oo, sp.oo), conds="none")
