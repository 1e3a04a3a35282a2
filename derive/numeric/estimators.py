"""Independent numpy references for the gradient estimators of 2.4.  Nothing here uses a derived formula.

Written from the definitions, with q = N(μ, σ²), the prior p = N(m, λ²) and z = μ + σε:

    t(μ, σ, ε; μ_q, σ_q) = log N(z; μ_q, σ_q²) − log N(z; m, λ²),

q's own parameters (μ_q, σ_q) passed apart from the (μ, σ) that move z, so that

* :func:`total_gradient` moves both together (μ_q = μ, σ_q = σ): the reparameterisation gradient;
* :func:`stl_gradient` holds q's parameters at their values (a stop-gradient): only z moves, the
  path-derivative ("sticking the landing") estimator;
* :func:`score` moves q's parameters with z held fixed: ∂ log q(z; μ, σ)/∂θ;
* :func:`sample_average` averages a per-sample estimator over L independent draws.

Derivatives are complex steps, Im f(x + ih) / h with h = 1e-30: no subtraction, so they are exact to rounding.
Monte Carlo agreement is measured in standard errors (:func:`mean_z_score`, :func:`variance_z_score`).
"""
from __future__ import annotations

import numpy as np

from .reference import gaussian_logpdf, mc_mean

H = 1e-30  # the complex step


def t_value(mu, sigma, eps, q_mean, q_std, prior_mean, prior_std):
    """log q(z) − log p(z) at z = mu + sigma eps, q = N(q_mean, q_std²), p = N(prior_mean, prior_std²)."""
    z = mu + sigma * eps
    return gaussian_logpdf(z, q_mean, q_std) - gaussian_logpdf(z, prior_mean, prior_std)


def _complex_step(f):
    """d f(h)/dh at h = 0 for a function analytic in h."""
    return np.imag(f(1j * H)) / H


def total_gradient(mu, sigma, eps, prior=(0.0, 1.0)):
    """(∂t/∂μ, ∂t/∂σ) per draw ε, q's parameters moving with (μ, σ)."""
    eps = np.asarray(eps, dtype=float)
    return (_complex_step(lambda h: t_value(mu + h, sigma, eps, mu + h, sigma, *prior)),
            _complex_step(lambda h: t_value(mu, sigma + h, eps, mu, sigma + h, *prior)))


def stl_gradient(mu, sigma, eps, prior=(0.0, 1.0)):
    """The path derivative per draw ε: (∂t/∂μ, ∂t/∂σ) with q's parameters frozen at (μ, σ), only z moving."""
    eps = np.asarray(eps, dtype=float)
    return (_complex_step(lambda h: t_value(mu + h, sigma, eps, mu, sigma, *prior)),
            _complex_step(lambda h: t_value(mu, sigma + h, eps, mu, sigma, *prior)))


def score(mu, sigma, eps):
    """(∂/∂μ, ∂/∂σ) of log N(z; μ, σ²) with z = μ + σε held fixed, per draw ε."""
    z = mu + sigma * np.asarray(eps, dtype=float)
    return (_complex_step(lambda h: gaussian_logpdf(z, mu + h, sigma)),
            _complex_step(lambda h: gaussian_logpdf(z, mu, sigma + h)))


def sample_average(per_sample, draws):
    """(1/L) Σ_l g(ε_l) for each row of ``draws`` (shape (n, L)), for each component g of ``per_sample(draws)``."""
    return tuple(np.mean(g, axis=-1) for g in per_sample(np.asarray(draws, dtype=float)))


def relative_error(derived, reference) -> float:
    """max |derived − reference| / max(1, |derived|) over the samples."""
    reference = np.asarray(reference, dtype=float)
    derived = np.broadcast_to(np.asarray(derived, dtype=float), reference.shape)
    return float(np.max(np.abs(derived - reference) / np.maximum(1.0, np.abs(derived))))


def mean_z_score(samples, value, floor: float = 0.0) -> float:
    """|value − MC mean| in standard errors of the mean; the standard error is taken no smaller than
    ``floor`` times the mean |sample| (float64 rounding of each sample cannot resolve finer)."""
    samples = np.asarray(samples, dtype=float)
    est, se = mc_mean(samples)
    return float(abs(est - value) / max(se, floor * np.mean(np.abs(samples))))


def variance_z_score(samples, value, floor: float = 0.0) -> float:
    """|value − empirical variance| in standard errors: the variance as the mean of squared deviations from the
    sample mean, its standard error that of this mean (floored at ``floor`` times the mean square)."""
    samples = np.asarray(samples, dtype=float)
    squares = (samples - samples.mean()) ** 2
    est, se = mc_mean(squares)
    return float(abs(est - value) / max(se, floor * np.mean(samples ** 2)))
