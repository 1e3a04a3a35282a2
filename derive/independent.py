"""Second, separately written definitions that checks use, never derivations.

A step computed with one definition is checked against another written apart
from it, so that a slip in the first is not repeated by its check:

* :func:`kl_integrand`: KL(a || b) as the function a (log a - log b) whose
  integral it is (the derivations use :func:`derive.probability.kl_definition`);
* :func:`integrand`: the integrand of an expression built from expectations
  E_q[f] and KL terms, with constants c standing for c q (∫ q = 1);
* :func:`gaussian`: the normal density written as 1/(σ√(2π)) exp(-((z-m)/σ)²/2)
  (the derivations use :func:`derive.gaussian.normal_pdf` in the variance);
* :func:`gaussian_expectation`: E[f(z)] for z ~ N(m, σ²) by substituting
  z = m + σu and integrating against the standard normal (the derivations
  integrate moments term by term);
* :func:`compose`: an output of a system of equations with every defined
  symbol replaced by its definition (the derivations walk a graph's edges).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp


def kl_integrand(a, b):
    """a (log a - log b): KL(a || b) is its integral over the variable of a and b."""
    return a * sp.log(a) - a * sp.log(b)


def _expectations_and_kls(term):
    from .probability import KL, Expect

    factors = sp.Mul.make_args(term)
    special = [f for f in factors if isinstance(f, (Expect, KL))]
    rest = sp.Mul(*[f for f in factors if not isinstance(f, (Expect, KL))])
    return special, rest


def integrand(expr, q):
    """The function of z whose integral over z is ``expr``, for expectations under ``q``.

    E_q[f] -> q f;  KL(q || b) -> q (log q - log b);  a term c free of
    expectations -> c q (q integrates to 1).  Raises ValueError for a term that
    is not linear in one expectation, or for an expectation under another density.
    """
    from .probability import KL

    total = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(expr)):
        special, rest = _expectations_and_kls(term)
        if not special:
            total += rest * q
            continue
        if len(special) != 1:
            raise ValueError(f"not linear in one expectation: {term}")
        (e,) = special
        if isinstance(e, KL):
            a, b = e.args
            if a != q:
                raise ValueError(f"KL of {a}, expected one of {q}")
            total += rest * kl_integrand(a, b)
        else:
            f, under = e.args
            if under != q:
                raise ValueError(f"expectation under {under}, expected {q}")
            total += rest * q * f
    return total


def gaussian(z, mean, std):
    """The normal density N(z; mean, std²), written with the standard deviation."""
    return sp.exp(-((z - mean) / std) ** 2 / 2) / (std * sp.sqrt(2 * sp.pi))


@lru_cache(maxsize=None)
def standard_moment(n: int):
    """E[u^n] for u ~ N(0, 1), by integrating u^n against the standard normal density."""
    u = sp.Symbol("u", real=True)
    return sp.integrate(u ** n * gaussian(u, 0, 1), (u, -sp.oo, sp.oo), conds="none")


def gaussian_expectation(f, z, mean, std):
    """E[f(z)] for z ~ N(mean, std²): substitute z = mean + std u and integrate against N(u; 0, 1).

    A polynomial in u is integrated term by term with the standard moments;
    anything else directly.
    """
    u = sp.Dummy("u", real=True)
    g = sp.expand(sp.expand_log(sp.sympify(f)).subs(z, mean + std * u))
    try:
        poly = sp.Poly(g, u)
    except sp.PolynomialError:
        poly = None
    if poly is None or any(c.has(u) for c in poly.coeffs()):
        return sp.expand(sp.integrate(g * gaussian(u, 0, 1), (u, -sp.oo, sp.oo), conds="none"))
    return sp.expand(sum((c * standard_moment(n) for (n,), c in poly.terms()), sp.S.Zero))


def compose(definitions: dict, expr, keep=()):
    """``expr`` with each symbol of ``definitions`` replaced by its definition until none is left.

    Symbols in ``keep`` are left free (to differentiate with respect to an
    intermediate quantity).  Raises ValueError on circular definitions.
    """
    table = {s: d for s, d in definitions.items() if s not in set(keep)}
    for _ in range(len(table) + 1):
        new = sp.sympify(expr).xreplace(table)
        if new == expr:
            return new
        expr = new
    raise ValueError("circular definitions")
