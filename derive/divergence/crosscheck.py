"""Numeric cross-checks of a KL pair: the exported function against numpy and scipy code written apart.

The function checked is ``kl_<p>_<q>`` as the numpy module prints it (:func:`derive.divergence.code.compiled`);
the references are :mod:`derive.numeric.kl_reference` (scipy quadrature or exact summation of
log p − log q under p, and Monte Carlo with its standard error), which know no closed form.

* 20 random parameter sets: relative difference from the quadrature ≤ 1e-9;
* the same 20 sets in one broadcast call: equal to the one-at-a-time values;
* Monte Carlo at 3 sets: |value − mean| within 5 standard errors;
* KL(p ‖ p) = 0 at the 20 sets (q's parameters set to p's), to 1e-12 absolute;
* each documented edge (a probability at 0 or 1, a rate at 0, Uniform's end at 0 or 1): the value there
  against the reference's (its +∞ included), never NaN;
* near-equal parameters (where the stable form rewrote log θ_p − log θ_q): q's rewritten parameters at
  p's × (1 + 10⁻⁷), the value against the closed form evaluated with 50 digits, to 1e-6 relative: the
  naive difference of logarithms is wrong in its second digit there.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ..model import CrossCheck
from ..numeric import kl_reference as ref
from sympy.codegen.cfunctions import log1p

from .code import compiled

SETS = 20
TOLERANCE = 1e-9
Z_BOUND = 5.0
MC_DRAWS = 200_000
NEAR = 1e-7


def cross_checks(der, seed: int = 0) -> list[CrossCheck]:
    pair = der.data["pair"]
    f = compiled(der, "numpy")
    rng = np.random.default_rng(seed)
    d = 2 if pair.p.startswith("mvnormal") else None  # the quadrature reference integrates d <= 2
    sets = [ref.random_pair_parameters(pair.p, pair.q, rng, d) for _ in range(SETS)]
    checks = [_quadrature(pair, f, sets), _self(pair, f, sets), _monte_carlo(pair, f, sets[:3], rng)]
    if pair.p not in ("categorical",) and not pair.p.startswith("mvnormal"):
        checks.append(_broadcast(pair, f, sets))
    checks += _edges(der, pair, f, rng)
    if _claims_near_equal(der):
        checks.append(_near_equal(der, pair, f, sets))
    return checks


def _worst(residuals) -> float:
    """The largest residual; a NaN anywhere (a value that is not a number) makes it +∞."""
    residuals = [float(r) for r in residuals]
    return math.inf if any(r != r for r in residuals) else max(residuals, default=0.0)


def _relative(value, reference) -> float:
    if value != value or reference != reference:
        return math.nan
    if math.isinf(reference) or math.isinf(value):
        return 0.0 if value == reference else math.inf
    return abs(value - reference) / max(abs(reference), 1e-300)


def _quadrature(pair, f, sets) -> CrossCheck:
    worst = _worst(_relative(float(f(*pp, *qp)), ref.kl_quadrature(pair.p, pair.q, pp, qp)) for pp, qp in sets)
    what = "exact summation" if pair.p in ("bernoulli", "categorical", "poisson", "geometric") else "scipy quadrature"
    return CrossCheck.compare(f"{pair.function} at {len(sets)} random parameter sets", f"{what} of log p − log q "
                              "under p (numpy reference written apart), relative difference", worst, TOLERANCE)


def _self(pair, f, sets) -> CrossCheck:
    if pair.p == "uniform" and pair.p != pair.q:
        return _support(pair, f, sets)
    same = ((lambda pp: (pp[0], np.diag(np.asarray(pp[1]) ** 2))) if pair.p == "mvnormal_diag" else (lambda pp: pp))
    worst = _worst(abs(float(f(*pp, *same(pp)))) for pp, _ in sets)
    return CrossCheck.compare(f"KL(p ‖ p) = 0 at {len(sets)} random parameter sets", "the exported function with q's "
                              "parameters equal to p's, absolute value", worst, 1e-12)


def _support(pair, f, sets) -> CrossCheck:
    """p = Uniform(a, b) against q on [0, 1]: +∞ when the interval leaves [0, 1] (a below 0)."""
    bad = 0
    for pp, qp in sets:
        a, b = pp
        value = float(f(a - 1.0, b, *qp))
        bad += not (math.isinf(value) and value > 0)
    return CrossCheck.compare(f"{pair.function} = +∞ where p's support leaves q's, at {len(sets)} sets",
                              "the exported function with p's lower end moved below 0; count of values that are "
                              "not +∞", bad, 0)


def _monte_carlo(pair, f, sets, rng) -> CrossCheck:
    scores = []
    for pp, qp in sets:
        mean, se = ref.kl_monte_carlo(pair.p, pair.q, pp, qp, MC_DRAWS, rng)
        floor = 1e-12 * max(1.0, abs(mean))  # a constant log p − log q (Uniform) has only rounding spread
        scores.append(abs(float(f(*pp, *qp)) - mean) / max(se, floor))
    worst = _worst(scores)
    return CrossCheck.compare(f"{pair.function} against Monte Carlo at {len(sets)} sets",
                              f"mean of log p − log q over {MC_DRAWS} draws of p, in standard errors", worst, Z_BOUND)


def _broadcast(pair, f, sets) -> CrossCheck:
    columns = [np.array(c, dtype=float) for c in zip(*[tuple(pp) + tuple(qp) for pp, qp in sets])]
    together = np.asarray(f(*columns), dtype=float)
    one = np.array([float(f(*pp, *qp)) for pp, qp in sets])
    worst = _worst(np.abs(together - one) / np.maximum(np.abs(one), 1e-300))
    return CrossCheck.compare(f"{pair.function} on arrays of {len(sets)} parameter sets",
                              "one broadcast call against one call per set, relative difference", worst, 1e-13)


def _edges(der, pair, f, rng) -> list[CrossCheck]:
    """Each documented edge of each parameter, the others random."""
    out = []
    params = der.data["parameters"]
    if pair.p in ("categorical",) or pair.p.startswith("mvnormal"):
        return out
    for k, (sym, par) in enumerate(params):
        for edge in par.edges:
            worst, values = 0.0, []
            for _ in range(3):
                pp, qp = ref.random_pair_parameters(pair.p, pair.q, rng)
                args = list(pp) + list(qp)
                args[k] = float(edge)
                n = len(pp)
                try:
                    reference = ref.kl_quadrature(pair.p, pair.q, tuple(args[:n]), tuple(args[n:]))
                except ValueError:  # not a distribution there (a uniform's ends out of order)
                    continue
                value = float(f(*args))
                values.append(value)
                worst = _worst([worst, _relative(value, reference)])
            if not values:
                continue
            infinite = sum(math.isinf(v) for v in values)
            shown = {0: "finite", len(values): "+∞"}.get(infinite, "finite or +∞ as the reference")
            out.append(CrossCheck.compare(f"{pair.function} at {sym.name} = {edge} ({shown}, never NaN)",
                                          "the reference at the same edge, 3 random sets of the other parameters, "
                                          "relative difference (+∞ must match +∞)", worst, TOLERANCE))
    return out


def _rewritten(der) -> set:
    """The positive parameters (scales, rates, shapes) inside a log1p of the stable form."""
    positive = {s for s, par in der.data["parameters"] if getattr(par, "kind", "") == "positive"}
    return set().union(*(a.free_symbols for a in der.data["stable"].atoms(log1p))) & positive


def _claims_near_equal(der) -> bool:
    """The log1p rewrite was made and no special function of the rewritten parameters is left (log Γ near its
    zeros at 1 and 2 is computed to an absolute, not a relative, accuracy)."""
    special = der.data["stable"].atoms(sp.loggamma, sp.polygamma)
    return bool(_rewritten(der)) and not any(a.free_symbols & _rewritten(der) for a in special)


def _near_equal(der, pair, f, sets) -> CrossCheck:
    """The parameters of the log1p rewrite at p's × (1 + 10⁻⁷) in q, q's others equal to p's."""
    closed = der.data["closed"]
    syms = [s for s, _ in der.data["parameters"]]
    n = len(syms) // 2
    rewritten = _rewritten(der)
    worst = 0.0
    for pp, _ in sets[:5]:
        qp = [v * (1 + NEAR) if s in rewritten else v for v, s in zip(pp, syms[n:])]
        value = float(f(*pp, *qp))
        exact = sp.N(closed.subs({s: sp.Float(v, 50) for s, v in zip(syms, list(pp) + qp)}), 50)
        worst = _worst([worst, _relative(value, float(exact))])
    names = ", ".join(sorted(s.name for s in rewritten))
    return CrossCheck.compare(f"{pair.function} near p = q ({names} of q at p's × (1 + 1e-7))",
                              "the closed form evaluated with 50 digits at the same parameters, relative difference",
                              worst, 1e-6)
