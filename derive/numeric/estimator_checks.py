"""Monte Carlo cross-checks of the estimator comparison (the derivation ``estimators``).

The printed results are lambdified and compared with :mod:`derive.numeric.estimator_reference`, numpy code
written from the estimators' definitions:

* per sample: the derived per-sample gradients against the reference's at the same draws, to rounding
  (max |derived − reference| / max(1, |derived|));
* the means and variances: the derived closed forms against the reference samples' mean and variance,
  |derived − MC| in the reference's standard errors, within :data:`Z_BOUND`;
* the optimal baseline: on common random numbers, the empirical variance at b* ± δ exceeds the one at b* by
  at least :data:`MIN_GAP` standard errors of the difference, and the derived difference Var(b* ± δ) − Var(b*)
  agrees with the empirical one within :data:`Z_BOUND` standard errors.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..model import CrossCheck
from . import estimator_reference as ref

Z_BOUND = 5.0
PER_SAMPLE_TOL = 1e-12
#: the baseline shifted by δ must raise the empirical variance by at least this many standard errors
MIN_GAP = 3.0
#: a standard error is never taken below this fraction of the samples' scale (float64 rounding of each sample)
ROUNDING = 1e-10
#: δ in units of sqrt(Var(b*) / E[ℓ²]): a shift whose variance increase stands out of the noise
SHIFT = 0.25

GAUSSIAN_POINTS = [(1.0, 1.0), (1.0, 0.5), (1.0, 2.0), (-0.5, 1.5)]
EXPONENTIAL_POINTS = [0.5, 1.0, 2.5]


def estimator_checks(der, seed: int = 0, n: int = 400_000) -> list[CrossCheck]:
    """Every check at every point, one stream of draws (seeded)."""
    rng = np.random.default_rng(seed)
    return _gaussian_checks(der, rng, n) + _exponential_checks(der, rng, n)


# -- lambdified results -------------------------------------------------------------------------------------------

def _columns(value) -> list:
    return list(value) if isinstance(value, sp.MatrixBase) else [value]


def _lambdas(der, family: str, suffix: str, args: tuple) -> list:
    """The components of the printed result ``estimators.<family>.<suffix>`` as numpy functions of ``args``."""
    value = der.result(f"estimators.{family}.{suffix}").value
    return [sp.lambdify(args, c, "numpy") for c in _columns(value)]


def _evaluate(fns: list, *values, size: int | None = None) -> np.ndarray:
    """Each lambda at ``values``, broadcast to ``size`` samples if given, as columns."""
    cols = [np.asarray(f(*values), dtype=float) for f in fns]
    if size is not None:
        cols = [np.broadcast_to(c, (size,)) for c in cols]
    return np.stack(cols, axis=-1)


def _relative_error(derived, reference) -> float:
    derived, reference = np.asarray(derived, dtype=float), np.asarray(reference, dtype=float)
    return float(np.max(np.abs(derived - reference) / np.maximum(1.0, np.abs(derived))))


def _z_scores(samples: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> tuple:
    """(|mean − MC mean| / SE, |variance − MC variance| / SE) per column, standard errors floored at rounding."""
    mc_mean, mc_var, se_mean, se_var = ref.mean_and_variance(samples)
    scale = np.mean(samples ** 2, axis=0)
    return _ratio(mean - mc_mean, np.maximum(se_mean, ROUNDING * np.sqrt(scale))), \
        _ratio(variance - mc_var, np.maximum(se_var, ROUNDING * scale))


def _ratio(difference, se):
    """|difference| / se, 0 where the difference is exactly 0 (samples that are all equal have se = 0)."""
    difference, se = np.abs(np.asarray(difference, dtype=float)), np.asarray(se, dtype=float)
    return np.divide(difference, se, out=np.zeros_like(difference), where=difference != 0) \
        + np.where((difference != 0) & (se == 0), np.inf, 0.0)


# -- the three estimators at one point ----------------------------------------------------------------------------

def _kind_checks(where: str, names: tuple, kind: str, derived: np.ndarray, reference: np.ndarray,
                 mean: np.ndarray, variance: np.ndarray, n: int) -> list[CrossCheck]:
    reference = reference.reshape(derived.shape)
    out = [CrossCheck.compare(f"{kind} per sample ({where})",
                              "max |derived - reference| / max(1, |derived|) over the draws",
                              _relative_error(derived, reference), PER_SAMPLE_TOL)]
    z_mean, z_var = _z_scores(reference, mean, variance)
    for k, name in enumerate(names):
        out += [CrossCheck.compare(f"{kind} mean, {name} component ({where})",
                                   f"Monte Carlo, n={n}: |derived - MC mean| / SE", z_mean[k], Z_BOUND),
                CrossCheck.compare(f"{kind} variance, {name} component ({where})",
                                   f"Monte Carlo, n={n}: |derived - MC variance| / SE", z_var[k], Z_BOUND)]
    return out


def _baseline_checks(family: str, where: str, names: tuple, at_best: np.ndarray, shifted: dict, delta: np.ndarray,
                     gap: np.ndarray, n: int) -> list[CrossCheck]:
    """``shifted``: {sign: samples at b* + sign δ} on the same draws as ``at_best``; ``gap``: the derived
    Var(b* ± δ) − Var(b*) per component."""
    out = []
    for sign, samples in shifted.items():
        diff = (samples - samples.mean(axis=0)) ** 2 - (at_best - at_best.mean(axis=0)) ** 2
        mc_gap, _, se, _ = ref.mean_and_variance(diff)
        for k, name in enumerate(names):
            label = f"{name} component, δ = {delta[k]:.3g} ({where})"
            rise = se[k] / mc_gap[k] if mc_gap[k] > 0 else np.inf
            out += [CrossCheck.compare(f"{family} score variance at b* {sign} δ above that at b*, {label}",
                                       f"common random numbers, n={n}: SE / (MC Var(b* {sign} δ) - MC Var(b*)), "
                                       f"positive and at most 1/{MIN_GAP:g}", rise, 1.0 / MIN_GAP),
                    CrossCheck.compare(f"{family} score variance increase at b* {sign} δ, {label}",
                                       f"common random numbers, n={n}: |derived - MC increase| / SE",
                                       float(_ratio(gap[k] - mc_gap[k], se[k])), Z_BOUND)]
    return out


def _shift(at_best: np.ndarray, q_score: np.ndarray) -> np.ndarray:
    """δ per component: SHIFT · sqrt(Var(b*) / E[ℓ²]) from the samples, at least SHIFT (Var(b*) is 0 at q = p)."""
    return SHIFT * np.maximum(np.sqrt(np.var(at_best, axis=0) / np.mean(q_score ** 2, axis=0)), 1.0)


# -- the two settings ---------------------------------------------------------------------------------------------

def _point_checks(der, family: str, names: tuple, theta: tuple, noise: np.ndarray, samples, where: str,
                  other_baseline: tuple) -> list[CrossCheck]:
    """All checks at one parameter point.  ``samples(kind, baseline)`` gives the reference's (n, k) samples."""
    data = der.data[family]
    b = data["baseline"]
    n = noise.shape[0]
    per_sample = {kind: _lambdas(der, family, f"{kind}.gradient", (*data["theta"], data["noise"], *b))
                  for kind in ("reparam", "path", "score")}

    def at(suffix, baseline):
        return _evaluate(_lambdas(der, family, suffix, (*data["theta"], *b)), *theta, *baseline)

    zero = (0.0,) * len(b)
    best = tuple(at("score.optimal_baseline", zero))
    cases = {"reparam": ("reparam", zero, "reparam.variance"), "path": ("path", zero, "path.variance"),
             "score, no baseline": ("score", zero, "score.variance"),
             "score, optimal baseline b*": ("score", best, "score_baseline.variance"),
             f"score, baseline b = {_text(other_baseline)}": ("score", other_baseline, "score.variance_baseline")}
    out, drawn = [], {}
    for tag, (kind, baseline, variance) in cases.items():
        derived = _evaluate(per_sample[kind], *theta, noise, *baseline, size=n)
        drawn[tag] = samples(kind, baseline)
        out += _kind_checks(where, names, f"{family} {tag}", derived, drawn[tag],
                            at(f"{kind}.mean", baseline), at(variance, baseline), n)
    q_score = drawn["score, no baseline"] - samples("score", (1.0,) * len(b))
    at_best = drawn["score, optimal baseline b*"]
    delta = _shift(at_best, q_score)
    shifted = {sign: tuple(np.asarray(best) + s * delta) for sign, s in (("+", 1.0), ("-", -1.0))}
    gaps = {sign: at("score.variance_baseline", bb) - at("score_baseline.variance", zero)
            for sign, bb in shifted.items()}
    for sign, bb in shifted.items():
        out += _baseline_checks(family, where, names, at_best, {sign: samples("score", bb)}, delta, gaps[sign], n)
    return out


def _text(baseline: tuple) -> str:
    return f"({', '.join(f'{v:g}' for v in baseline)})" if len(baseline) > 1 else f"{baseline[0]:g}"


def _gaussian_checks(der, rng, n: int) -> list[CrossCheck]:
    prior = tuple(float(v) for v in der.data["gaussian"]["prior"])
    shown = "" if prior == (0.0, 1.0) else f", prior N({prior[0]:g}, {prior[1]:g}²)"
    out = []
    for mu, sigma in GAUSSIAN_POINTS:
        eps = rng.normal(size=n)

        def samples(kind, baseline, mu=mu, sigma=sigma, eps=eps):
            return ref.gaussian_samples(kind, mu, sigma, eps, baseline=tuple(baseline), prior=prior)
        out += _point_checks(der, "gaussian", ("μ", "σ"), (mu, sigma), eps, samples,
                             f"μ={mu:g}, σ={sigma:g}{shown}", (0.5, -1.0))
    return out


def _exponential_checks(der, rng, n: int) -> list[CrossCheck]:
    rate = float(der.data["exponential"]["prior"][0])
    shown = "" if rate == 1.0 else f", prior rate {rate:g}"
    out = []
    for lam in EXPONENTIAL_POINTS:
        u = 1.0 - rng.random(n)  # in (0, 1]: z = −log(u)/λ stays finite

        def samples(kind, baseline, lam=lam, u=u):
            return ref.exponential_samples(kind, lam, u, baseline=baseline[0], prior_rate=rate).reshape(-1, 1)
        out += _point_checks(der, "exponential", ("λ",), (lam,), u, samples, f"λ={lam:g}{shown}", (0.5,))
    return out
