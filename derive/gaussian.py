"""Gaussian densities and expectations computed by integration.

``normal_pdf`` is the density written from its definition; ``expectation``
integrates f(z) N(z; m, v) over the real line after expanding the logarithms
of densities into polynomials in z (so SymPy's Gaussian integrals apply).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp


def normal_pdf(z, mean, var):
    """N(z; mean, var) = exp(-(z - mean)^2 / (2 var)) / sqrt(2 pi var)."""
    return sp.exp(-(z - mean) ** 2 / (2 * var)) / sp.sqrt(2 * sp.pi * var)


def log_normal_pdf(z, mean, var):
    """log N(z; mean, var), expanded."""
    return sp.expand(sp.expand_log(sp.log(normal_pdf(z, mean, var))))


@lru_cache(maxsize=None)
def moment(n: int, z, mean, var):
    """E[z^n] for z ~ N(mean, var): the integral of z^n N(z; mean, var) over R (completing the square,
    :mod:`derive.integrals`)."""
    from .integrals import over_real_line

    return sp.expand(over_real_line(z ** n * normal_pdf(z, mean, var), z))


def expectation(f, z, mean, var):
    """E[f(z)] for z ~ N(mean, var), by SymPy integration over the real line.

    Logarithms of densities are expanded first; a polynomial in z is then
    integrated term by term (linearity: sum_n c_n E[z^n]), anything else
    directly.
    """
    g = sp.expand(sp.expand_log(f))
    try:
        poly = sp.Poly(g, z)
    except sp.PolynomialError:
        poly = None
    if poly is None or any(c.has(z) for c in poly.coeffs()):
        from .integrals import over_real_line

        return sp.simplify(over_real_line(g * normal_pdf(z, mean, var), z))
    total = sp.S.Zero
    for (n,), c in poly.terms():
        total += c * moment(n, z, mean, var)
    return sp.expand(total)
