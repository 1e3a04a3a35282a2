"""Checks of the numeric KL and gradient-estimator references.

The expected values here come from textbook closed forms written out in this
file, so they are independent of the quadrature and sampling code under test.
"""

import math

import numpy as np
import pytest
from scipy import special

from derive.numeric import estimator_reference as est
from derive.numeric.kl_reference import (
    PAIRS,
    kl_monte_carlo,
    kl_quadrature,
    random_pair_parameters,
    random_parameters,
)

pytestmark = pytest.mark.slow  # quadrature and Monte Carlo over every family: CI runs them with the slow set

SAME_FAMILY_PAIRS = [pair for pair in PAIRS if pair[0] == pair[1]]


def _closed_form_kl(family, p, q):
    """Textbook KL(p || q) for same-family pairs (independent of the references)."""
    if family in ("normal", "lognormal"):
        (m1, s1), (m2, s2) = p, q
        return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    if family == "laplace":
        (m1, b1), (m2, b2) = p, q
        dm = abs(m1 - m2)
        return math.log(b2 / b1) + dm / b2 + b1 / b2 * math.exp(-dm / b1) - 1.0
    if family == "exponential":
        (l1,), (l2,) = p, q
        return math.log(l1 / l2) + l2 / l1 - 1.0
    if family == "gamma":
        (a1, b1), (a2, b2) = p, q
        return (
            (a1 - a2) * special.digamma(a1)
            - special.gammaln(a1)
            + special.gammaln(a2)
            + a2 * (math.log(b1) - math.log(b2))
            + a1 * (b2 - b1) / b1
        )
    if family == "beta":
        (a1, b1), (a2, b2) = p, q
        return (
            special.betaln(a2, b2)
            - special.betaln(a1, b1)
            + (a1 - a2) * special.digamma(a1)
            + (b1 - b2) * special.digamma(b1)
            + (a2 - a1 + b2 - b1) * special.digamma(a1 + b1)
        )
    if family == "cauchy":
        (x1, g1), (x2, g2) = p, q
        return math.log(((g1 + g2) ** 2 + (x1 - x2) ** 2) / (4 * g1 * g2))
    if family == "gumbel":
        (m1, b1), (m2, b2) = p, q
        return (
            math.log(b2 / b1)
            + (m1 - m2) / b2
            + np.euler_gamma * (b1 / b2 - 1.0)
            + math.exp((m2 - m1) / b2) * math.gamma(1.0 + b1 / b2)
            - 1.0
        )
    if family == "halfnormal":
        (s1,), (s2,) = p, q
        return math.log(s2 / s1) + s1**2 / (2 * s2**2) - 0.5
    if family == "uniform":
        (a1, b1), (a2, b2) = p, q
        return math.log((b2 - a2) / (b1 - a1))
    if family == "bernoulli":
        (p1,), (p2,) = p, q
        return p1 * math.log(p1 / p2) + (1 - p1) * math.log((1 - p1) / (1 - p2))
    if family == "categorical":
        return float(np.sum(p[0] * np.log(p[0] / q[0])))
    if family == "poisson":
        (l1,), (l2,) = p, q
        return l1 * math.log(l1 / l2) - l1 + l2
    if family == "geometric":
        (p1,), (p2,) = p, q
        return math.log(p1 / p2) + (1 - p1) / p1 * math.log((1 - p1) / (1 - p2))
    raise KeyError(family)


def _textbook_mvnormal_kl(m1, s1, m2, s2):
    d = m1.size
    s2_inv = np.linalg.inv(s2)
    dm = m2 - m1
    return 0.5 * (
        np.trace(s2_inv @ s1)
        + dm @ s2_inv @ dm
        - d
        + np.linalg.slogdet(s2)[1]
        - np.linalg.slogdet(s1)[1]
    )


def _as_mean_cov(family, params):
    if family == "mvnormal":
        return np.asarray(params[0]), np.asarray(params[1])
    return np.asarray(params[0]), np.diag(np.asarray(params[1]) ** 2)


# ---------------------------------------------------------------------------
# Known values
# ---------------------------------------------------------------------------


def test_normal_known_values():
    assert kl_quadrature("normal", "normal", (0.0, 1.0), (1.0, 1.0)) == pytest.approx(
        0.5, rel=1e-12
    )
    expected = math.log(2.0) + 1.0 / 8.0 - 0.5
    assert kl_quadrature("normal", "normal", (0.0, 1.0), (0.0, 2.0)) == pytest.approx(
        expected, rel=1e-12
    )


@pytest.mark.parametrize("pair", SAME_FAMILY_PAIRS, ids=lambda p: p[0])
def test_kl_of_distribution_with_itself_is_zero(pair):
    rng = np.random.default_rng(7)
    family = pair[0]
    params = random_parameters(family, rng, d=2)
    value = kl_quadrature(family, family, params, params)
    assert math.isfinite(value)
    assert abs(value) < 1e-13


CLOSED_FORM_FAMILIES = [
    "normal",
    "lognormal",
    "laplace",
    "exponential",
    "gamma",
    "beta",
    "cauchy",
    "gumbel",
    "halfnormal",
    "uniform",
    "bernoulli",
    "categorical",
    "poisson",
    "geometric",
]


@pytest.mark.parametrize("family", CLOSED_FORM_FAMILIES)
def test_quadrature_matches_closed_forms(family):
    rng = np.random.default_rng(2024)
    for _ in range(5):
        p, q = random_pair_parameters(family, family, rng)
        expected = _closed_form_kl(family, p, q)
        assert kl_quadrature(family, family, p, q) == pytest.approx(
            expected, rel=1e-10, abs=1e-14
        )


@pytest.mark.parametrize(
    "p, q",
    [((0.5, 3.0), (2.0, 0.7)), ((0.5, 0.5), (1.0, 1.0)), ((4.0, 0.6), (0.6, 4.0))],
)
def test_beta_with_endpoint_singularities(p, q):
    expected = _closed_form_kl("beta", p, q)
    assert kl_quadrature("beta", "beta", p, q) == pytest.approx(expected, rel=1e-10)


def test_gamma_small_shape():
    p, q = (0.5, 2.0), (3.0, 0.5)
    expected = _closed_form_kl("gamma", p, q)
    assert kl_quadrature("gamma", "gamma", p, q) == pytest.approx(expected, rel=1e-10)


def test_uniform_beta():
    assert kl_quadrature("uniform", "beta", (0.0, 1.0), (1.0, 1.0)) == 0.0
    # KL(U(0,1) || Beta(1/2, 1/2)) = log(pi) - 1.
    assert kl_quadrature("uniform", "beta", (0.0, 1.0), (0.5, 0.5)) == pytest.approx(
        math.log(math.pi) - 1.0, rel=1e-11
    )
    # KL(U(0,1) || Beta(2, 1)) = -E[log(2x)] = 1 - log 2.
    assert kl_quadrature("uniform", "beta", (0.0, 1.0), (2.0, 1.0)) == pytest.approx(
        1.0 - math.log(2.0), rel=1e-11
    )


def test_bernoulli_degenerate_p_is_finite():
    value = kl_quadrature("bernoulli", "bernoulli", (0.0,), (0.3,))
    assert value == pytest.approx(-math.log(0.7), rel=1e-14)
    assert kl_quadrature("bernoulli", "bernoulli", (1.0,), (1.0,)) == 0.0
    mean, se = kl_monte_carlo("bernoulli", "bernoulli", (0.0,), (0.3,), 1000, np.random.default_rng(0))
    assert mean == pytest.approx(-math.log(0.7), rel=1e-14) and se == 0.0


def test_categorical_with_zero_probabilities():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.2, 0.3, 0.5])
    expected = 0.5 * math.log(0.5 / 0.2) + 0.5 * math.log(0.5 / 0.3)
    assert kl_quadrature("categorical", "categorical", (p,), (q,)) == pytest.approx(
        expected, rel=1e-14
    )


@pytest.mark.parametrize(
    "p, q, p_params, q_params",
    [
        ("uniform", "uniform", (0.0, 1.0), (0.5, 2.0)),
        ("uniform", "uniform", (-1.0, 1.0), (-1.0, 0.9)),
        ("uniform", "beta", (-0.1, 0.5), (2.0, 2.0)),
        ("uniform", "beta", (0.5, 1.2), (2.0, 2.0)),
        ("bernoulli", "bernoulli", (0.3,), (0.0,)),
        ("bernoulli", "bernoulli", (0.3,), (1.0,)),
        ("categorical", "categorical", (np.array([0.2, 0.3, 0.5]),), (np.array([0.5, 0.5, 0.0]),)),
        ("poisson", "poisson", (1.3,), (0.0,)),
        ("geometric", "geometric", (0.3,), (1.0,)),
    ],
)
def test_infinite_cases(p, q, p_params, q_params):
    assert kl_quadrature(p, q, p_params, q_params) == math.inf
    mean, se = kl_monte_carlo(p, q, p_params, q_params, 2000, np.random.default_rng(3))
    assert mean == math.inf and se == 0.0


def test_poisson_against_formula():
    for lam1, lam2 in [(1.3, 0.4), (4.0, 7.5), (0.05, 2.0), (60.0, 55.0)]:
        expected = lam1 * math.log(lam1 / lam2) - lam1 + lam2
        assert kl_quadrature("poisson", "poisson", (lam1,), (lam2,)) == pytest.approx(
            expected, rel=1e-12
        )
    # Rate 0 is the point mass at 0: KL = -log q(0) = lam2.
    assert kl_quadrature("poisson", "poisson", (0.0,), (1.7,)) == pytest.approx(1.7, rel=1e-15)


def test_geometric_point_mass():
    # p = 1 is the point mass at k = 0: KL = -log q(0) = -log p2.
    assert kl_quadrature("geometric", "geometric", (1.0,), (0.25,)) == pytest.approx(
        math.log(4.0), rel=1e-15
    )


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize(
    "pair",
    [("mvnormal", "mvnormal"), ("mvnormal_diag", "mvnormal"), ("mvnormal_diag", "mvnormal_diag")],
)
def test_mvnormal_against_textbook(pair, d):
    rng = np.random.default_rng(11 + d)
    p, q = random_pair_parameters(*pair, rng, d=d)
    m1, s1 = _as_mean_cov(pair[0], p)
    m2, s2 = _as_mean_cov(pair[1], q)
    expected = _textbook_mvnormal_kl(m1, s1, m2, s2)
    assert kl_quadrature(*pair, p, q) == pytest.approx(expected, rel=1e-10)


def test_mvnormal_rejects_higher_dimension_for_quadrature():
    rng = np.random.default_rng(0)
    p, q = random_pair_parameters("mvnormal", "mvnormal", rng, d=3)
    with pytest.raises(ValueError):
        kl_quadrature("mvnormal", "mvnormal", p, q)


def test_mvnormal_monte_carlo_higher_dimension():
    rng = np.random.default_rng(5)
    p, q = random_pair_parameters("mvnormal", "mvnormal", rng, d=4)
    expected = _textbook_mvnormal_kl(p[0], p[1], q[0], q[1])
    mean, se = kl_monte_carlo("mvnormal", "mvnormal", p, q, 200_000, rng)
    assert abs(mean - expected) < 5 * se


def test_unsupported_pair():
    with pytest.raises(ValueError):
        kl_quadrature("normal", "laplace", (0.0, 1.0), (0.0, 1.0))


# ---------------------------------------------------------------------------
# Monte Carlo against quadrature
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p[0]}-{p[1]}")
def test_monte_carlo_agrees_with_quadrature(pair):
    rng = np.random.default_rng(12345)
    p, q = random_pair_parameters(*pair, rng, d=2)
    exact = kl_quadrature(*pair, p, q)
    mean, se = kl_monte_carlo(*pair, p, q, 200_000, rng)
    assert math.isfinite(mean)
    if se == 0.0:
        assert mean == pytest.approx(exact, rel=1e-12, abs=1e-14)
    else:
        assert abs(mean - exact) < 5 * se


# ---------------------------------------------------------------------------
# Gradient-estimator reference
# ---------------------------------------------------------------------------


def _central_difference(func, x, h=1e-5):
    return (func(x + h) - func(x - h)) / (2 * h)


GAUSSIAN_CASES = [
    # (mu, sigma, prior, baseline)
    (0.7, 1.3, (0.0, 1.0), (0.0, 0.0)),
    (-0.4, 0.6, (0.5, 2.0), (0.3, -0.2)),
]


@pytest.mark.parametrize("kind", est.KINDS)
@pytest.mark.parametrize("mu, sigma, prior, baseline", GAUSSIAN_CASES)
def test_gaussian_estimators_are_unbiased(kind, mu, sigma, prior, baseline):
    rng = np.random.default_rng(99)
    eps = rng.standard_normal(1_000_000)
    samples = est.gaussian_samples(kind, mu, sigma, eps, baseline=baseline, prior=prior)
    assert samples.shape == (eps.size, 2)
    mean, _, se_mean, _ = est.mean_and_variance(samples)
    m, lam = prior
    grad_mu = _central_difference(lambda t: est.kl_gaussian(t, sigma, m, lam), mu)
    grad_sigma = _central_difference(lambda t: est.kl_gaussian(mu, t, m, lam), sigma)
    assert abs(mean[0] - grad_mu) < 5 * se_mean[0]
    assert abs(mean[1] - grad_sigma) < 5 * se_mean[1]


@pytest.mark.parametrize("kind", est.KINDS)
@pytest.mark.parametrize("lam, prior_rate, baseline", [(2.0, 1.0, 0.0), (0.6, 1.7, 0.25)])
def test_exponential_estimators_are_unbiased(kind, lam, prior_rate, baseline):
    rng = np.random.default_rng(123)
    u = rng.random(1_000_000)
    samples = est.exponential_samples(kind, lam, u, baseline=baseline, prior_rate=prior_rate)
    assert samples.shape == u.shape
    mean, _, se_mean, _ = est.mean_and_variance(samples)
    grad = _central_difference(lambda t: est.kl_exponential(t, prior_rate), lam)
    assert abs(mean - grad) < 5 * se_mean


def test_estimator_per_sample_identities():
    rng = np.random.default_rng(1)
    eps = rng.standard_normal(1000)
    mu, sigma, m, lam = 0.3, 1.7, -0.2, 0.8
    reparam = est.gaussian_samples("reparam", mu, sigma, eps, prior=(m, lam))
    z = mu + sigma * eps
    # Simplified closed forms of the total derivative.
    np.testing.assert_allclose(reparam[:, 0], (z - m) / lam**2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        reparam[:, 1], -1 / sigma + eps * (z - m) / lam**2, rtol=1e-12, atol=1e-12
    )
    # With q equal to the prior, the path estimator is exactly zero.
    path = est.gaussian_samples("path", m, lam, eps, prior=(m, lam))
    np.testing.assert_allclose(path, 0.0, atol=1e-12)
    u = rng.random(1000)
    assert np.allclose(est.exponential_samples("path", 1.4, u, prior_rate=1.4), 0.0)


def test_closed_form_helpers():
    assert est.kl_gaussian(0.0, 1.0) == 0.0
    assert est.kl_gaussian(0.0, 1.0, 1.0, 1.0) == pytest.approx(0.5)
    assert est.kl_exponential(1.0) == 0.0
    assert est.kl_exponential(2.0, 1.0) == pytest.approx(math.log(2.0) - 0.5)
    assert est.kl_gaussian(0.3, 0.8, -0.1, 1.4) == pytest.approx(
        kl_quadrature("normal", "normal", (0.3, 0.8), (-0.1, 1.4)), rel=1e-12
    )
    assert est.kl_exponential(1.7, 0.6) == pytest.approx(
        kl_quadrature("exponential", "exponential", (1.7,), (0.6,)), rel=1e-12
    )


def test_mean_and_variance_standard_errors():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((400_000, 2)) * np.array([1.0, 3.0])
    mean, var, se_mean, se_var = est.mean_and_variance(x)
    np.testing.assert_allclose(var, [1.0, 9.0], rtol=0.02)
    # For a normal sample: se(mean) = sigma/sqrt(n), se(var) = sigma^2 sqrt(2/n).
    np.testing.assert_allclose(se_mean, np.array([1.0, 3.0]) / math.sqrt(4e5), rtol=0.02)
    np.testing.assert_allclose(se_var, np.array([1.0, 9.0]) * math.sqrt(2 / 4e5), rtol=0.02)
    assert np.all(np.abs(mean) < 5 * se_mean)
