"""Reference values of KL(p || q) by quadrature, exact summation and Monte Carlo.

The functions here evaluate ``KL(p || q) = E_p[log p(X) - log q(X)]`` directly
from the log densities of the two distributions, without using any closed form
for the divergence.  They serve as an independent numerical check of symbolic
results.

Families and parameter order (parameters are always passed as a tuple in the
order given here):

================  ==================  ==============================================
family            parameters          density / mass function
================  ==================  ==============================================
"normal"          (mu, sigma)         N(mu, sigma^2), sigma = standard deviation > 0
"laplace"         (mu, b)             exp(-|x - mu| / b) / (2 b), b > 0
"exponential"     (rate,)             rate exp(-rate x), x >= 0
"gamma"           (alpha, beta)       beta^alpha x^(alpha-1) exp(-beta x) / Gamma(alpha),
                                      shape alpha > 0, RATE beta > 0, x > 0
"beta"            (a, b)              x^(a-1) (1-x)^(b-1) / B(a, b) on [0, 1]
"lognormal"       (mu, sigma)         log X ~ N(mu, sigma^2), x > 0
"cauchy"          (x0, gamma)         1 / (pi gamma (1 + ((x - x0)/gamma)^2))
"gumbel"          (mu, beta)          maximum Gumbel: exp(-z - exp(-z)) / beta,
                                      z = (x - mu) / beta
"halfnormal"      (sigma,)            sqrt(2/pi) / sigma exp(-x^2 / (2 sigma^2)), x >= 0
"uniform"         (a, b)              1 / (b - a) on [a, b], a < b
"bernoulli"       (p,)                P(1) = p, P(0) = 1 - p, p in [0, 1]
"categorical"     (probs,)            P(k) = probs[k], k = 0..K-1, K >= 2, zeros allowed
"poisson"         (rate,)             rate^k exp(-rate) / k!, rate >= 0
                                      (rate 0 is the point mass at 0)
"geometric"       (p,)                (1 - p)^k p, k = 0, 1, 2, ... (failures before
                                      the first success), p in (0, 1]
"mvnormal"        (mean, cov)         N(mean, cov), cov symmetric positive definite
"mvnormal_diag"   (mean, std)         N(mean, diag(std^2)), std > 0 elementwise
================  ==================  ==============================================

Supported pairs ``(p, q)`` are listed in :data:`PAIRS`: every same-family pair,
plus ``("uniform", "beta")`` and ``("mvnormal_diag", "mvnormal")``.

Public functions
----------------
``log_density(family, params, x)``
    Log density (or log mass) evaluated elementwise; ``-inf`` off the support.
``sample(family, params, n, rng)``
    ``n`` draws from a numpy ``Generator``.
``kl_quadrature(p, q, p_params, q_params)``
    KL by adaptive quadrature (continuous, dimension <= 2) or exact summation
    (discrete).  Returns ``math.inf`` where the divergence is infinite.
``kl_monte_carlo(p, q, p_params, q_params, n, rng)``
    ``(mean, standard_error)`` of ``log p(X) - log q(X)`` over ``n`` draws of p.
``random_parameters(family, rng, d=None)`` and
``random_pair_parameters(p, q, rng, d=None)``
    Well-conditioned random parameter sets (the latter with finite KL).
"""

import math
import warnings

import numpy as np

__all__ = [
    "FAMILIES",
    "PAIRS",
    "log_density",
    "sample",
    "kl_quadrature",
    "kl_monte_carlo",
    "random_parameters",
    "random_pair_parameters",
]

CONTINUOUS_1D = (
    "normal",
    "laplace",
    "exponential",
    "gamma",
    "beta",
    "lognormal",
    "cauchy",
    "gumbel",
    "halfnormal",
    "uniform",
)
DISCRETE = ("bernoulli", "categorical", "poisson", "geometric")
MULTIVARIATE = ("mvnormal", "mvnormal_diag")
FAMILIES = CONTINUOUS_1D + DISCRETE + MULTIVARIATE

PAIRS = tuple((f, f) for f in FAMILIES) + (
    ("uniform", "beta"),
    ("mvnormal_diag", "mvnormal"),
)

_LOG_2PI = math.log(2.0 * math.pi)

# Families whose support is (0, inf); quadrature runs over t = log x for them.
_POSITIVE_SUPPORT = ("exponential", "gamma", "lognormal", "halfnormal")

# Relative tail mass below which discrete sums are truncated.
_TAIL_MASS = 1e-300

_QUAD_EPSREL = 1e-13
_QUAD_LIMIT = 500


# ---------------------------------------------------------------------------
# Parameter handling
# ---------------------------------------------------------------------------

_N_PARAMS = {
    "normal": 2,
    "laplace": 2,
    "exponential": 1,
    "gamma": 2,
    "beta": 2,
    "lognormal": 2,
    "cauchy": 2,
    "gumbel": 2,
    "halfnormal": 1,
    "uniform": 2,
    "bernoulli": 1,
    "categorical": 1,
    "poisson": 1,
    "geometric": 1,
    "mvnormal": 2,
    "mvnormal_diag": 2,
}


def _positive(value, name):
    value = float(value)
    if not value > 0.0 or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return value


def _finite(value, name):
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _probability(value, name, low_open=False):
    value = float(value)
    if not (0.0 <= value <= 1.0) or (low_open and value == 0.0):
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return value


def _check_params(family, params):
    """Validate ``params`` for ``family`` and return them in canonical form."""
    if family not in _N_PARAMS:
        raise ValueError(f"unknown family {family!r}")
    params = tuple(params)
    if len(params) != _N_PARAMS[family]:
        raise ValueError(
            f"{family!r} takes {_N_PARAMS[family]} parameter(s), got {len(params)}"
        )
    if family in ("normal", "laplace", "lognormal", "cauchy", "gumbel"):
        return (_finite(params[0], "location"), _positive(params[1], "scale"))
    if family in ("exponential", "halfnormal"):
        return (_positive(params[0], "parameter"),)
    if family in ("gamma", "beta"):
        return (_positive(params[0], "first parameter"), _positive(params[1], "second parameter"))
    if family == "uniform":
        a, b = _finite(params[0], "a"), _finite(params[1], "b")
        if not a < b:
            raise ValueError(f"uniform needs a < b, got ({a}, {b})")
        return (a, b)
    if family == "bernoulli":
        return (_probability(params[0], "p"),)
    if family == "geometric":
        return (_probability(params[0], "p", low_open=True),)
    if family == "poisson":
        rate = float(params[0])
        if not (rate >= 0.0 and math.isfinite(rate)):
            raise ValueError(f"poisson rate must be finite and >= 0, got {rate!r}")
        return (rate,)
    if family == "categorical":
        probs = np.asarray(params[0], dtype=float)
        if probs.ndim != 1 or probs.size < 2:
            raise ValueError("categorical probs must be a 1-D array with K >= 2")
        if np.any(probs < 0) or not np.all(np.isfinite(probs)):
            raise ValueError("categorical probs must be finite and non-negative")
        if abs(probs.sum() - 1.0) > 1e-9:
            raise ValueError(f"categorical probs must sum to 1, got {probs.sum()!r}")
        return (probs,)
    if family == "mvnormal":
        mean = np.atleast_1d(np.asarray(params[0], dtype=float))
        cov = np.atleast_2d(np.asarray(params[1], dtype=float))
        d = mean.size
        if mean.ndim != 1 or cov.shape != (d, d):
            raise ValueError("mvnormal needs a length-d mean and a d x d covariance")
        if not np.allclose(cov, cov.T, rtol=1e-12, atol=0.0):
            raise ValueError("mvnormal covariance must be symmetric")
        np.linalg.cholesky(cov)  # raises LinAlgError if not positive definite
        return (mean, cov)
    if family == "mvnormal_diag":
        mean = np.atleast_1d(np.asarray(params[0], dtype=float))
        std = np.atleast_1d(np.asarray(params[1], dtype=float))
        if mean.ndim != 1 or std.shape != mean.shape:
            raise ValueError("mvnormal_diag needs mean and std of the same length d")
        if np.any(~(std > 0)) or not np.all(np.isfinite(std)):
            raise ValueError("mvnormal_diag std must be finite and positive")
        return (mean, std)
    raise AssertionError(family)  # pragma: no cover


def _gaussian_mean_cov(family, params):
    """Return (mean, cov) for an ``mvnormal`` or ``mvnormal_diag`` parameter set."""
    if family == "mvnormal":
        return params
    mean, std = params
    return mean, np.diag(std**2)


# ---------------------------------------------------------------------------
# Log densities
# ---------------------------------------------------------------------------


def _logpdf_1d(family, params, x):
    """Log density of a one-dimensional continuous family, elementwise."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        value = _logpdf_real_line(family, params, x)
        if value is None:
            value = _logpdf_half_line_or_interval(family, params, x)
    if value is None:
        raise ValueError(f"{family!r} is not a one-dimensional continuous family")
    return value


def _logpdf_real_line(family, params, x):
    """Families on the whole real line (None for the others)."""
    if family == "normal":
        mu, sigma = params
        z = (x - mu) / sigma
        return -0.5 * z * z - math.log(sigma) - 0.5 * _LOG_2PI
    if family == "laplace":
        mu, b = params
        return -np.abs(x - mu) / b - math.log(2.0 * b)
    if family == "cauchy":
        x0, gamma = params
        z = (x - x0) / gamma
        return -math.log(math.pi * gamma) - np.log1p(z * z)
    if family == "gumbel":
        mu, beta = params
        z = (x - mu) / beta
        return -math.log(beta) - z - np.exp(-z)
    return None


def _logpdf_half_line_or_interval(family, params, x):
    """Families on a half-line or an interval, -inf off their support (None for the others)."""
    from scipy import special

    if family == "exponential":
        (rate,) = params
        inside = x >= 0
        xs = np.where(inside, x, 0.0)
        return np.where(inside, math.log(rate) - rate * xs, -np.inf)
    if family == "halfnormal":
        (sigma,) = params
        inside = x >= 0
        xs = np.where(inside, x, 0.0) / sigma
        value = 0.5 * math.log(2.0 / math.pi) - math.log(sigma) - 0.5 * xs * xs
        return np.where(inside, value, -np.inf)
    if family == "gamma":
        alpha, beta = params
        inside = x >= 0
        xs = np.where(inside, x, 1.0)
        value = (
            alpha * math.log(beta)
            + special.xlogy(alpha - 1.0, xs)
            - beta * xs
            - special.gammaln(alpha)
        )
        return np.where(inside, value, -np.inf)
    if family == "lognormal":
        mu, sigma = params
        inside = x > 0
        logx = np.log(np.where(inside, x, 1.0))
        z = (logx - mu) / sigma
        value = -logx - math.log(sigma) - 0.5 * _LOG_2PI - 0.5 * z * z
        return np.where(inside, value, -np.inf)
    if family == "beta":
        a, b = params
        inside = (x >= 0) & (x <= 1)
        xs = np.where(inside, x, 0.5)
        value = (
            special.xlogy(a - 1.0, xs)
            + special.xlog1py(b - 1.0, -xs)
            - special.betaln(a, b)
        )
        return np.where(inside, value, -np.inf)
    if family == "uniform":
        a, b = params
        inside = (x >= a) & (x <= b)
        return np.where(inside, -math.log(b - a), -np.inf)
    return None


def _logpdf_positive_at_log(family, params, t):
    """Log density at x = exp(t) of a family on (0, inf), computed from t.

    Uses t for log x, so the result stays accurate where exp(t) under- or
    overflows.
    """
    from scipy import special

    x = math.exp(t) if t < 709.0 else math.inf
    if family == "exponential":
        (rate,) = params
        return math.log(rate) - rate * x
    if family == "halfnormal":
        (sigma,) = params
        u = x / sigma
        return 0.5 * math.log(2.0 / math.pi) - math.log(sigma) - 0.5 * u * u
    if family == "gamma":
        alpha, beta = params
        return alpha * math.log(beta) + (alpha - 1.0) * t - beta * x - special.gammaln(alpha)
    if family == "lognormal":
        mu, sigma = params
        z = (t - mu) / sigma
        return -t - math.log(sigma) - 0.5 * _LOG_2PI - 0.5 * z * z
    raise AssertionError(family)  # pragma: no cover


def _logpmf(family, params, k):
    """Log probability mass of a discrete family at integer points ``k``."""
    from scipy import special

    k = np.asarray(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        if family == "bernoulli":
            (p,) = params
            inside = (k == 0) | (k == 1)
            kf = np.where(inside, k, 0).astype(float)
            value = special.xlogy(kf, p) + special.xlog1py(1.0 - kf, -p)
            return np.where(inside, value, -np.inf)
        if family == "categorical":
            (probs,) = params
            inside = (k >= 0) & (k < probs.size)
            logp = np.log(probs)
            return np.where(inside, logp[np.where(inside, k, 0)], -np.inf)
        if family == "poisson":
            (rate,) = params
            inside = k >= 0
            kf = np.where(inside, k, 0).astype(float)
            value = special.xlogy(kf, rate) - rate - special.gammaln(kf + 1.0)
            return np.where(inside, value, -np.inf)
        if family == "geometric":
            (p,) = params
            inside = k >= 0
            kf = np.where(inside, k, 0).astype(float)
            value = special.xlog1py(kf, -p) + math.log(p)
            return np.where(inside, value, -np.inf)
    raise ValueError(f"{family!r} is not a discrete family")


def _gaussian_logpdf(mean, cov, x):
    """Log density of N(mean, cov) at the rows of ``x`` (shape (n, d))."""
    from scipy import linalg

    x = np.atleast_2d(np.asarray(x, dtype=float))
    chol = np.linalg.cholesky(cov)
    white = linalg.solve_triangular(chol, (x - mean).T, lower=True)
    maha = np.sum(white * white, axis=0)
    half_logdet = np.sum(np.log(np.diag(chol)))
    return -0.5 * maha - half_logdet - 0.5 * mean.size * _LOG_2PI


def log_density(family, params, x):
    """Log density (continuous) or log mass (discrete) of ``family`` at ``x``.

    For the multivariate families ``x`` has shape ``(n, d)`` (or ``(d,)``) and
    the result has shape ``(n,)``.  Points off the support give ``-inf``.
    """
    params = _check_params(family, params)
    if family in CONTINUOUS_1D:
        return _logpdf_1d(family, params, x)
    if family in DISCRETE:
        return _logpmf(family, params, x)
    mean, cov = _gaussian_mean_cov(family, params)
    return _gaussian_logpdf(mean, cov, x)


# ---------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------


def _sample_checked(family, params, n, rng):
    if family == "normal":
        mu, sigma = params
        return mu + sigma * rng.standard_normal(n)
    if family == "laplace":
        mu, b = params
        return rng.laplace(mu, b, n)
    if family == "exponential":
        (rate,) = params
        return rng.standard_exponential(n) / rate
    if family == "gamma":
        alpha, beta = params
        return rng.standard_gamma(alpha, n) / beta
    if family == "beta":
        a, b = params
        return rng.beta(a, b, n)
    if family == "lognormal":
        mu, sigma = params
        return np.exp(mu + sigma * rng.standard_normal(n))
    if family == "cauchy":
        x0, gamma = params
        return x0 + gamma * rng.standard_cauchy(n)
    if family == "gumbel":
        mu, beta = params
        return rng.gumbel(mu, beta, n)
    if family == "halfnormal":
        (sigma,) = params
        return sigma * np.abs(rng.standard_normal(n))
    if family == "uniform":
        a, b = params
        return rng.uniform(a, b, n)
    if family == "bernoulli":
        (p,) = params
        return (rng.random(n) < p).astype(np.int64)
    if family == "categorical":
        (probs,) = params
        return rng.choice(probs.size, size=n, p=probs / probs.sum())
    if family == "poisson":
        (rate,) = params
        return rng.poisson(rate, n)
    if family == "geometric":
        (p,) = params
        # numpy counts trials up to and including the first success (>= 1).
        return rng.geometric(p, n) - 1
    mean, cov = _gaussian_mean_cov(family, params)
    chol = np.linalg.cholesky(cov)
    return mean + rng.standard_normal((n, mean.size)) @ chol.T


def sample(family, params, n, rng):
    """Draw ``n`` samples of ``family`` using the numpy Generator ``rng``."""
    return _sample_checked(family, _check_params(family, params), int(n), rng)


# ---------------------------------------------------------------------------
# Quadrature / exact summation
# ---------------------------------------------------------------------------


def _check_pair(p, q):
    if (p, q) not in PAIRS:
        raise ValueError(f"unsupported pair ({p!r}, {q!r}); see PAIRS")


def _support(family, params):
    """Closed support interval of a one-dimensional continuous family."""
    if family in _POSITIVE_SUPPORT:
        return 0.0, math.inf
    if family == "beta":
        return 0.0, 1.0
    if family == "uniform":
        return params
    return -math.inf, math.inf


def _center_and_scale(family, params):
    """A central point and spread in the integration variable of ``family``.

    The integration variable is x itself, except for the positive families,
    where it is t = log x.
    """
    from scipy import special

    if family in ("normal", "laplace", "cauchy", "gumbel"):
        return params
    if family == "lognormal":
        return params
    if family == "exponential":
        (rate,) = params
        return -np.euler_gamma - math.log(rate), math.pi / math.sqrt(6.0)
    if family == "gamma":
        alpha, beta = params
        return special.digamma(alpha) - math.log(beta), math.sqrt(special.polygamma(1, alpha))
    if family == "halfnormal":
        (sigma,) = params
        return math.log(sigma), 1.0
    if family == "beta":
        a, b = params
        return a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
    if family == "uniform":
        a, b = params
        return 0.5 * (a + b), (b - a) / math.sqrt(12.0)
    raise AssertionError(family)  # pragma: no cover


def _breakpoints(lo, hi, p, p_params, q, q_params):
    """Sorted interior split points of (lo, hi) for the quadrature."""
    center, scale = _center_and_scale(p, p_params)
    points = [center + k * scale for k in (-12.0, -6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 12.0)]
    # Same-family pairs share the integration variable, as do uniform/beta.
    q_center, _ = _center_and_scale(q, q_params)
    points.append(q_center)
    if p in ("beta", "uniform"):
        points.append(0.5 * (lo + hi))
    if p == "laplace":
        points.append(p_params[0])
    if q == "laplace":
        points.append(q_params[0])
    inner = sorted({float(t) for t in points if lo < t < hi and math.isfinite(t)})
    return [lo] + inner + [hi]


def _quad_sum(integrand, edges):
    """Integrate ``integrand`` over consecutive ``edges`` and sum the pieces."""
    from scipy import integrate

    pieces = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for a, b in zip(edges[:-1], edges[1:]):
            value, _ = integrate.quad(
                integrand, a, b, epsabs=0.0, epsrel=_QUAD_EPSREL, limit=_QUAD_LIMIT
            )
            pieces.append(value)
    return math.fsum(pieces)


def _weighted_log_ratio(log_weight, log_p, log_q):
    """exp(log_weight) * (log_p - log_q), with 0 where the weight vanishes."""
    if log_weight == -math.inf:
        return 0.0
    weight = math.exp(log_weight)
    if weight == 0.0:
        return 0.0
    return weight * (log_p - log_q)


def _kl_continuous_1d(p, q, p_params, q_params):
    p_lo, p_hi = _support(p, p_params)
    q_lo, q_hi = _support(q, q_params)
    if p_lo < q_lo or p_hi > q_hi:
        return math.inf

    if p in _POSITIVE_SUPPORT:
        # Substitute x = exp(t): dx = x dt, removing the endpoint at 0.
        def integrand(t):
            log_p = _logpdf_positive_at_log(p, p_params, t)
            log_q = _logpdf_positive_at_log(q, q_params, t)
            return _weighted_log_ratio(log_p + t, log_p, log_q)

        edges = _breakpoints(-math.inf, math.inf, p, p_params, q, q_params)
        return _quad_sum(integrand, edges)

    if p in ("beta", "uniform"):
        return _kl_bounded(p, q, p_params, q_params)

    def integrand(x):
        log_p = float(_logpdf_1d(p, p_params, x))
        log_q = float(_logpdf_1d(q, q_params, x))
        return _weighted_log_ratio(log_p, log_p, log_q)

    edges = _breakpoints(p_lo, p_hi, p, p_params, q, q_params)
    return _quad_sum(integrand, edges)


def _logpdf_bounded(family, params, x, one_minus_x):
    """Log density of a beta or uniform family given both x and 1 - x."""
    from scipy import special

    if family == "beta":
        a, b = params
        if not (0.0 <= x and 0.0 <= one_minus_x):
            return -math.inf
        return (
            special.xlogy(a - 1.0, x)
            + special.xlogy(b - 1.0, one_minus_x)
            - special.betaln(a, b)
        )
    a, b = params
    return -math.log(b - a) if a <= x <= b else -math.inf


def _kl_bounded(p, q, p_params, q_params):
    """KL for p with bounded support [lo, hi] (beta or uniform p).

    Pieces below the midpoint are integrated in x; pieces above it in
    y = hi - x, so that 1 - x is accurate near an upper endpoint at 1.
    """
    lo, hi = _support(p, p_params)
    mid = 0.5 * (lo + hi)
    edges = _breakpoints(lo, hi, p, p_params, q, q_params)

    def lower(x):
        one_minus_x = 1.0 - x
        log_p = _logpdf_bounded(p, p_params, x, one_minus_x)
        log_q = _logpdf_bounded(q, q_params, x, one_minus_x)
        return _weighted_log_ratio(log_p, log_p, log_q)

    def upper(y):
        x = hi - y
        one_minus_x = (1.0 - hi) + y
        log_p = _logpdf_bounded(p, p_params, x, one_minus_x)
        log_q = _logpdf_bounded(q, q_params, x, one_minus_x)
        return _weighted_log_ratio(log_p, log_p, log_q)

    lower_edges = [e for e in edges if e <= mid]
    upper_edges = sorted(hi - e for e in edges if e >= mid)
    return math.fsum([_quad_sum(lower, lower_edges), _quad_sum(upper, upper_edges)])


def _sum_terms(log_p, log_q):
    """Sum of p_k (log p_k - log q_k) over arrays of log masses (exact, fsum)."""
    has_mass = log_p > -np.inf
    if np.any(has_mass & (log_q == -np.inf)):
        return math.inf
    lp = log_p[has_mass]
    lq = log_q[has_mass]
    terms = np.exp(lp) * (lp - lq)
    return math.fsum(terms.tolist())


def _truncation_point(family, params):
    """Largest k summed so that the neglected tail mass is below _TAIL_MASS."""
    log_tail = math.log(_TAIL_MASS)
    if family == "geometric":
        (p,) = params
        if p == 1.0:
            return 0
        # P(K > n) = (1 - p)^(n + 1)
        return int(math.ceil(log_tail / math.log1p(-p)))
    (rate,) = params
    if rate == 0.0:
        return 0
    n = int(math.ceil(rate + 10.0 * math.sqrt(rate) + 20.0))
    while True:
        # For n + 1 > rate the tail beyond n is bounded by a geometric series.
        ratio = rate / (n + 2.0)
        log_next = float(_logpmf("poisson", params, np.array(n + 1)))
        if ratio < 1.0 and log_next - math.log1p(-ratio) < log_tail:
            return n
        n *= 2


def _kl_discrete(p, q, p_params, q_params):
    if p in ("bernoulli", "categorical"):
        if p == "categorical":
            if p_params[0].size != q_params[0].size:
                raise ValueError("categorical distributions must have the same K")
            support = np.arange(p_params[0].size)
        else:
            support = np.arange(2)
        return _sum_terms(_logpmf(p, p_params, support), _logpmf(q, q_params, support))

    n_max = _truncation_point(p, p_params)
    chunk = 1 << 20
    total = []
    for start in range(0, n_max + 1, chunk):
        k = np.arange(start, min(start + chunk, n_max + 1))
        value = _sum_terms(_logpmf(p, p_params, k), _logpmf(q, q_params, k))
        if value == math.inf:
            return math.inf
        total.append(value)
    return math.fsum(total)


def _kl_gaussian_2d(p_mean, p_cov, q_mean, q_cov):
    """KL between bivariate normals by nested adaptive quadrature.

    The outer integral runs over the marginal of x1 under p and the inner one
    over the conditional of x2 given x1, each over +-12 standard deviations.
    """
    from scipy import integrate

    m1, m2 = float(p_mean[0]), float(p_mean[1])
    s11, s12, s22 = float(p_cov[0, 0]), float(p_cov[0, 1]), float(p_cov[1, 1])
    sd1 = math.sqrt(s11)
    cond_slope = s12 / s11
    cond_sd = math.sqrt(s22 - s12 * s12 / s11)

    def quadratic_form(mean, cov):
        det = cov[0, 0] * cov[1, 1] - cov[0, 1] ** 2
        a, b, c = cov[1, 1] / det, -cov[0, 1] / det, cov[0, 0] / det
        mu1, mu2 = float(mean[0]), float(mean[1])
        log_norm = -_LOG_2PI - 0.5 * math.log(det)

        def logpdf(x1, x2):
            d1, d2 = x1 - mu1, x2 - mu2
            return log_norm - 0.5 * (a * d1 * d1 + 2.0 * b * d1 * d2 + c * d2 * d2)

        return logpdf

    log_p = quadratic_form(p_mean, p_cov)
    log_q = quadratic_form(q_mean, q_cov)
    offsets = (-12.0, -3.0, 0.0, 3.0, 12.0)

    def inner(x1):
        center = m2 + cond_slope * (x1 - m1)
        log_cond_norm = -0.5 * _LOG_2PI - math.log(cond_sd)

        def integrand(x2):
            z = (x2 - center) / cond_sd
            return _weighted_log_ratio(
                log_cond_norm - 0.5 * z * z, log_p(x1, x2), log_q(x1, x2)
            )

        return _quad_sum(integrand, [center + k * cond_sd for k in offsets])

    log_marg_norm = -0.5 * _LOG_2PI - math.log(sd1)

    def outer(x1):
        z = (x1 - m1) / sd1
        weight = math.exp(log_marg_norm - 0.5 * z * z)
        return weight * inner(x1)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return _quad_sum(outer, [m1 + k * sd1 for k in offsets])


def _kl_gaussian(p, q, p_params, q_params):
    p_mean, p_cov = _gaussian_mean_cov(p, p_params)
    q_mean, q_cov = _gaussian_mean_cov(q, q_params)
    d = p_mean.size
    if q_mean.size != d:
        raise ValueError("p and q must have the same dimension")
    if d == 1:
        p_1d = (float(p_mean[0]), math.sqrt(float(p_cov[0, 0])))
        q_1d = (float(q_mean[0]), math.sqrt(float(q_cov[0, 0])))
        return _kl_continuous_1d("normal", "normal", p_1d, q_1d)
    if d == 2:
        return _kl_gaussian_2d(p_mean, p_cov, q_mean, q_cov)
    raise ValueError(
        f"kl_quadrature handles Gaussian dimension 1 or 2, got {d}; use kl_monte_carlo"
    )


def kl_quadrature(p, q, p_params, q_params):
    """KL(p || q) by numerical quadrature or exact summation.

    Continuous one-dimensional families are integrated with
    ``scipy.integrate.quad`` over the support of p, split at characteristic
    points of both distributions (families on (0, inf) are integrated in
    t = log x).  Discrete families are summed exactly over the support of p
    (Poisson and geometric truncated where the remaining tail mass is below
    1e-300).  Gaussians of dimension 2 use nested quadrature; dimension > 2
    raises ``ValueError``.  Returns ``math.inf`` when p puts mass where q has
    none.
    """
    _check_pair(p, q)
    p_params = _check_params(p, p_params)
    q_params = _check_params(q, q_params)
    if p in CONTINUOUS_1D:
        return float(_kl_continuous_1d(p, q, p_params, q_params))
    if p in DISCRETE:
        return float(_kl_discrete(p, q, p_params, q_params))
    return float(_kl_gaussian(p, q, p_params, q_params))


# ---------------------------------------------------------------------------
# Monte Carlo
# ---------------------------------------------------------------------------


def kl_monte_carlo(p, q, p_params, q_params, n, rng):
    """Monte Carlo estimate of KL(p || q) from ``n`` draws of p.

    Returns ``(mean, standard_error)`` of ``log p(X) - log q(X)``, with the
    standard error the sample standard deviation over sqrt(n).  If a draw lands
    where q has zero density the result is ``(inf, 0.0)``.
    """
    _check_pair(p, q)
    p_params = _check_params(p, p_params)
    q_params = _check_params(q, q_params)
    n = int(n)
    if n < 2:
        raise ValueError("n must be at least 2")
    if p in MULTIVARIATE:
        p_mean, p_cov = _gaussian_mean_cov(p, p_params)
        q_mean, q_cov = _gaussian_mean_cov(q, q_params)
        if p_mean.size != q_mean.size:
            raise ValueError("p and q must have the same dimension")
        x = _sample_checked(p, p_params, n, rng)
        log_p = _gaussian_logpdf(p_mean, p_cov, x)
        log_q = _gaussian_logpdf(q_mean, q_cov, x)
    else:
        if p == "categorical" and p_params[0].size != q_params[0].size:
            raise ValueError("categorical distributions must have the same K")
        x = _sample_checked(p, p_params, n, rng)
        density = _logpdf_1d if p in CONTINUOUS_1D else _logpmf
        log_p = density(p, p_params, x)
        log_q = density(q, q_params, x)
    if np.any(log_q == -np.inf):
        return math.inf, 0.0
    diff = log_p - log_q
    return float(np.mean(diff)), float(np.std(diff, ddof=1) / math.sqrt(n))


# ---------------------------------------------------------------------------
# Random parameters
# ---------------------------------------------------------------------------


def _random_location(rng):
    return float(rng.uniform(-2.0, 2.0))


def _random_scale(rng):
    return float(rng.uniform(0.3, 3.0))


def _random_shape(rng):
    return float(rng.uniform(0.5, 5.0))


def _random_probability(rng):
    return float(rng.uniform(0.05, 0.95))


def _random_interval(rng, low, high, min_width):
    a = float(rng.uniform(low, high - min_width))
    b = float(rng.uniform(a + min_width, high))
    return a, b


def random_parameters(family, rng, d=None):
    """One random, well-conditioned parameter set for ``family``.

    Locations lie in [-2, 2], scales and rates in [0.3, 3], shapes in
    [0.5, 5], probabilities in [0.05, 0.95]; categorical uses K = 4 with
    Dirichlet(2, 2, 2, 2) probabilities; Gaussian dimension is ``d``
    (default 3) with covariance A A^T + 0.5 I, A standard normal.
    """
    if family in ("normal", "laplace", "lognormal", "cauchy", "gumbel"):
        return (_random_location(rng), _random_scale(rng))
    if family in ("exponential", "halfnormal"):
        return (_random_scale(rng),)
    if family in ("gamma", "beta"):
        return (_random_shape(rng), _random_shape(rng) if family == "beta" else _random_scale(rng))
    if family == "uniform":
        return _random_interval(rng, -2.0, 2.0, 0.3)
    if family in ("bernoulli", "geometric"):
        return (_random_probability(rng),)
    if family == "poisson":
        return (float(rng.uniform(0.3, 5.0)),)
    if family == "categorical":
        return (rng.dirichlet(np.full(4, 2.0)),)
    if family in MULTIVARIATE:
        d = 3 if d is None else int(d)
        mean = rng.uniform(-2.0, 2.0, d)
        if family == "mvnormal_diag":
            return (mean, rng.uniform(0.3, 3.0, d))
        a = rng.standard_normal((d, d))
        return (mean, a @ a.T + 0.5 * np.eye(d))
    raise ValueError(f"unknown family {family!r}")


def random_pair_parameters(p, q, rng, d=None):
    """Random ``(p_params, q_params)`` for the pair ``(p, q)`` with finite KL."""
    _check_pair(p, q)
    if (p, q) == ("uniform", "uniform"):
        a, b = random_parameters("uniform", rng)
        return (a, b), (a - float(rng.uniform(0.0, 1.0)), b + float(rng.uniform(0.0, 1.0)))
    if (p, q) == ("uniform", "beta"):
        return _random_interval(rng, 0.0, 1.0, 0.1), random_parameters("beta", rng)
    # Both Gaussian parameter sets get the same dimension d.
    return random_parameters(p, rng, d), random_parameters(q, rng, d)
