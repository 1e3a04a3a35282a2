"""Per-sample gradient estimators of KL(q || p), written from their definitions.

Two settings are covered, each with three estimator kinds:

``"reparam"``
    Total derivative of f_theta(z(theta, noise)) with respect to theta at fixed
    noise: the path through z plus the direct dependence of log q on theta.
``"path"``
    Path derivative ("sticking the landing"): df/dz * dz/dtheta, i.e. the
    reparameterisation gradient without the direct term d log q(z; theta)/dtheta
    at fixed z.
``"score"``
    Score function (REINFORCE): (f(z) - b) * d log q(z; theta)/dtheta at fixed z,
    with a constant baseline b per gradient component.

Setting A (Gaussian)
    q = N(mu, sigma^2) (sigma a standard deviation), prior p = N(m, lam^2),
    f(z) = log q(z; mu, sigma) - log p(z), z = mu + sigma * eps, eps ~ N(0, 1).
    Gradients are with respect to theta = (mu, sigma).

Setting B (Exponential through the inverse CDF)
    q = Exponential(rate lam), prior p = Exponential(rate r),
    f(z) = log q(z; lam) - log p(z), z = -log(u) / lam, u ~ Uniform(0, 1).
    Gradients are with respect to lam.

Each kind is an unbiased estimator of the gradient of KL(q || p); the closed
forms :func:`kl_gaussian` and :func:`kl_exponential` are provided for checks.
"""

import math

import numpy as np

__all__ = [
    "KINDS",
    "gaussian_samples",
    "exponential_samples",
    "mean_and_variance",
    "kl_gaussian",
    "kl_exponential",
]

KINDS = ("reparam", "path", "score")

_LOG_2PI = math.log(2.0 * math.pi)


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


# ---------------------------------------------------------------------------
# Setting A: Gaussian q, Gaussian prior
# ---------------------------------------------------------------------------


def _gaussian_log_density(z, mean, std):
    u = (z - mean) / std
    return -0.5 * u * u - math.log(std) - 0.5 * _LOG_2PI


def _gaussian_score(z, mean, std):
    """(d/dmean, d/dstd) of log N(z; mean, std^2) at fixed z."""
    d_mean = (z - mean) / std**2
    d_std = -1.0 / std + (z - mean) ** 2 / std**3
    return d_mean, d_std


def _gaussian_dlogdensity_dz(z, mean, std):
    return -(z - mean) / std**2


def gaussian_samples(kind, mu, sigma, eps, baseline=(0.0, 0.0), prior=(0.0, 1.0)):
    """Per-sample gradient estimates of KL(N(mu, sigma^2) || N(m, lam^2)).

    ``eps`` holds standard normal draws and z = mu + sigma * eps; ``prior`` is
    (m, lam) with lam a standard deviation; ``baseline`` is (b_mu, b_sigma) and
    is used by the "score" kind only.  Returns an array of shape (len(eps), 2)
    whose columns are the estimates of d/dmu and d/dsigma.
    """
    _check_kind(kind)
    if not sigma > 0:
        raise ValueError("sigma must be positive")
    m, lam = prior
    if not lam > 0:
        raise ValueError("prior standard deviation must be positive")
    eps = np.asarray(eps, dtype=float).ravel()
    z = mu + sigma * eps

    # Direct dependence of f on theta at fixed z (only log q depends on theta).
    score_mu, score_sigma = _gaussian_score(z, mu, sigma)

    if kind == "score":
        f = _gaussian_log_density(z, mu, sigma) - _gaussian_log_density(z, m, lam)
        b_mu, b_sigma = baseline
        return np.column_stack(((f - b_mu) * score_mu, (f - b_sigma) * score_sigma))

    # df/dz and the reparameterisation Jacobian dz/dmu = 1, dz/dsigma = eps.
    df_dz = _gaussian_dlogdensity_dz(z, mu, sigma) - _gaussian_dlogdensity_dz(z, m, lam)
    path_mu = df_dz * 1.0
    path_sigma = df_dz * eps
    if kind == "path":
        return np.column_stack((path_mu, path_sigma))
    return np.column_stack((path_mu + score_mu, path_sigma + score_sigma))


# ---------------------------------------------------------------------------
# Setting B: Exponential q, Exponential prior, inverse-CDF reparameterisation
# ---------------------------------------------------------------------------


def _exponential_log_density(z, rate):
    return math.log(rate) - rate * z


def exponential_samples(kind, lam, u, baseline=0.0, prior_rate=1.0):
    """Per-sample gradient estimates of d/dlam KL(Exp(lam) || Exp(prior_rate)).

    ``u`` holds Uniform(0, 1) draws and z = -log(u) / lam (inverse CDF).
    ``baseline`` is used by the "score" kind only.  Returns shape (len(u),).
    """
    _check_kind(kind)
    if not lam > 0 or not prior_rate > 0:
        raise ValueError("rates must be positive")
    u = np.asarray(u, dtype=float).ravel()
    z = -np.log(u) / lam

    # d log q(z; lam) / d lam at fixed z.
    score = 1.0 / lam - z

    if kind == "score":
        f = _exponential_log_density(z, lam) - _exponential_log_density(z, prior_rate)
        return (f - baseline) * score

    # df/dz = d/dz [log lam - lam z - log r + r z];  dz/dlam = log(u)/lam^2 = -z/lam.
    df_dz = -lam + prior_rate
    dz_dlam = np.log(u) / lam**2
    path = df_dz * dz_dlam
    if kind == "path":
        return path
    return path + score


# ---------------------------------------------------------------------------
# Summaries and closed forms
# ---------------------------------------------------------------------------


def mean_and_variance(samples):
    """Sample mean and variance along axis 0, with their standard errors.

    Returns ``(mean, variance, se_mean, se_variance)``: the variance uses
    ddof = 1, se_mean = sqrt(variance / n), and
    se_variance = sqrt((m4 - v^2) / n) with v and m4 the second and fourth
    central sample moments.
    """
    samples = np.asarray(samples, dtype=float)
    n = samples.shape[0]
    if n < 2:
        raise ValueError("need at least two samples")
    mean = samples.mean(axis=0)
    centred = samples - mean
    m2 = np.mean(centred**2, axis=0)
    m4 = np.mean(centred**4, axis=0)
    variance = m2 * n / (n - 1)
    se_mean = np.sqrt(variance / n)
    se_variance = np.sqrt(np.maximum(m4 - m2**2, 0.0) / n)
    return mean, variance, se_mean, se_variance


def kl_gaussian(mu, sigma, m=0.0, lam=1.0):
    """KL(N(mu, sigma^2) || N(m, lam^2)), sigma and lam standard deviations."""
    return math.log(lam / sigma) + (sigma**2 + (mu - m) ** 2) / (2.0 * lam**2) - 0.5


def kl_exponential(lam, r=1.0):
    """KL(Exp(rate lam) || Exp(rate r))."""
    return math.log(lam / r) + r / lam - 1.0
