"""Hand-written numpy forward maps, inverses and log-determinants of the flow
layers in the catalogue, written from the layers' published definitions and
independent of the symbolic derivations; plus a finite-difference Jacobian.

Conventions
-----------
* ``x`` is a float64 batch of shape ``(N, d)`` (``conv1x1``: ``(N, H, W, c)``).
* Every layer ``NAME`` has ``NAME_forward(x, **params) -> y`` and
  ``NAME_logdet(x, **params) -> (N,)`` (``log|det dy/dx|`` at each row of
  ``x``); invertible layers also have ``NAME_inverse(y, **params) -> x``.
* Couplings split ``d = 2k``: ``x1 = x[:, :k]`` is transformed, ``x2 = x[:, k:]``
  conditions, and ``y = concat(y1, y2)``.  Their conditioners ``F, G`` are
  callables ``(N, k) -> (N, k)``.
* Autoregressive conditioners are callables ``(N, d) -> (N, d)`` whose output
  ``i`` depends only on inputs ``0 .. i-1``.
* ``LAYERS[name](rng, d)`` draws a random, non-trivial, valid parameter set.
"""
import numpy as np
from scipy.linalg import solve_triangular


# ---------------------------------------------------------------------------
# small numerically careful helpers
# ---------------------------------------------------------------------------

def _softplus(x):
    """log(1 + exp(x)) without overflow."""
    return np.logaddexp(0.0, x)


def _log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x)."""
    return -np.logaddexp(0.0, -x)


def _sigmoid(x):
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _log_cosh(z):
    """log(cosh(z)) = |z| + log1p(exp(-2|z|)) - log 2."""
    a = np.abs(z)
    return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)


def _log_sech2(z):
    """log(1 - tanh(z)^2) = -2 log cosh(z)."""
    return -2.0 * _log_cosh(z)


def _rows(x):
    return np.asarray(x, dtype=float).shape[0]


def _const(x, value):
    return np.full(_rows(x), float(value))


def _split(x):
    x = np.asarray(x, dtype=float)
    d = x.shape[1]
    if d % 2:
        raise ValueError(f"coupling layers need an even dimension, got d={d}")
    k = d // 2
    return x[:, :k], x[:, k:]


def _cat(a, b):
    return np.concatenate([a, b], axis=1)


# ---------------------------------------------------------------------------
# element-wise layers
# ---------------------------------------------------------------------------

def affine_forward(x, a, b):
    return np.asarray(a) * x + np.asarray(b)


def affine_inverse(y, a, b):
    return (y - np.asarray(b)) / np.asarray(a)


def affine_logdet(x, a, b):
    return _const(x, np.sum(np.log(np.abs(a))))


def exp_forward(x):
    return np.exp(x)


def exp_inverse(y):
    return np.log(y)


def exp_logdet(x):
    return np.sum(x, axis=1)


def softplus_forward(x):
    return _softplus(x)


def softplus_inverse(y):
    # x = log(exp(y) - 1) = y + log(1 - exp(-y))
    return y + np.log(-np.expm1(-y))


def softplus_logdet(x):
    # d/dx softplus(x) = sigmoid(x)
    return np.sum(_log_sigmoid(x), axis=1)


def sigmoid_forward(x):
    return _sigmoid(x)


def sigmoid_inverse(y):
    return np.log(y) - np.log1p(-y)


def sigmoid_logdet(x):
    # sigmoid' = sigmoid(x) * sigmoid(-x)
    return np.sum(_log_sigmoid(x) + _log_sigmoid(-x), axis=1)


def tanh_forward(x):
    return np.tanh(x)


def tanh_inverse(y):
    return np.arctanh(y)


def tanh_logdet(x):
    return np.sum(_log_sech2(x), axis=1)


def arcsinh_forward(x):
    return np.arcsinh(x)


def arcsinh_inverse(y):
    return np.sinh(y)


def arcsinh_logdet(x):
    # d/dx asinh(x) = 1/sqrt(1 + x^2)
    return -0.5 * np.sum(np.log1p(np.asarray(x) ** 2), axis=-1)


def sinh_arcsinh_forward(x, eps, delta):
    return np.sinh(np.asarray(delta) * np.arcsinh(x) - np.asarray(eps))


def sinh_arcsinh_inverse(y, eps, delta):
    return np.sinh((np.arcsinh(y) + np.asarray(eps)) / np.asarray(delta))


def sinh_arcsinh_logdet(x, eps, delta):
    # dy/dx = cosh(delta asinh x - eps) * delta / sqrt(1 + x^2)
    delta = np.asarray(delta)
    z = delta * np.arcsinh(x) - np.asarray(eps)
    terms = _log_cosh(z) + np.log(np.abs(delta)) - 0.5 * np.log1p(x * x)
    return np.sum(terms, axis=1)


def actnorm_forward(x, b, logs):
    return (x + np.asarray(b)) * np.exp(logs)


def actnorm_inverse(y, b, logs):
    return y * np.exp(-np.asarray(logs)) - np.asarray(b)


def actnorm_logdet(x, b, logs):
    return _const(x, np.sum(logs))


# ---------------------------------------------------------------------------
# coupling layers
# ---------------------------------------------------------------------------

def nice_forward(x, F):
    x1, x2 = _split(x)
    return _cat(x1 + F(x2), x2)


def nice_inverse(y, F):
    y1, y2 = _split(y)
    return _cat(y1 - F(y2), y2)


def nice_logdet(x, F):
    return _const(x, 0.0)


def realnvp_forward(x, F, G):
    x1, x2 = _split(x)
    return _cat(np.exp(G(x2)) * x1 + F(x2), x2)


def realnvp_inverse(y, F, G):
    y1, y2 = _split(y)
    return _cat((y1 - F(y2)) * np.exp(-G(y2)), y2)


def realnvp_logdet(x, F, G):
    _, x2 = _split(x)
    return np.sum(G(x2), axis=1)


def glow_forward(x, F, G):
    x1, x2 = _split(x)
    return _cat(_sigmoid(G(x2) + 2.0) * (x1 + F(x2)), x2)


def glow_inverse(y, F, G):
    y1, y2 = _split(y)
    return _cat(y1 / _sigmoid(G(y2) + 2.0) - F(y2), y2)


def glow_logdet(x, F, G):
    _, x2 = _split(x)
    return np.sum(_log_sigmoid(G(x2) + 2.0), axis=1)


def seed_forward(x, F, G, s):
    x1, x2 = _split(x)
    return _cat(np.exp(G(x2)) * x1 + F(x2), np.exp(s) * x2)


def seed_inverse(y, F, G, s):
    y1, y2 = _split(y)
    x2 = y2 * np.exp(-np.asarray(s))
    return _cat((y1 - F(x2)) * np.exp(-G(x2)), x2)


def seed_logdet(x, F, G, s):
    _, x2 = _split(x)
    return np.sum(G(x2), axis=1) + np.sum(s)


def scaled_nice_forward(x, F, s):
    x1, x2 = _split(x)
    return _cat(x1 + F(x2), np.exp(s) * x2)


def scaled_nice_inverse(y, F, s):
    y1, y2 = _split(y)
    x2 = y2 * np.exp(-np.asarray(s))
    return _cat(y1 - F(x2), x2)


def scaled_nice_logdet(x, F, s):
    return _const(x, np.sum(s))


def _gin_log_scale(g):
    return g - np.mean(g, axis=1, keepdims=True)


def gin_forward(x, F, G):
    x1, x2 = _split(x)
    return _cat(np.exp(_gin_log_scale(G(x2))) * x1 + F(x2), x2)


def gin_inverse(y, F, G):
    y1, y2 = _split(y)
    return _cat((y1 - F(y2)) * np.exp(-_gin_log_scale(G(y2))), y2)


def gin_logdet(x, F, G):
    # the log-scales sum to zero by construction: volume preserving
    return _const(x, 0.0)


# ---------------------------------------------------------------------------
# linear layers
# ---------------------------------------------------------------------------

def householder_forward(x, v):
    v = np.asarray(v, dtype=float)
    return x - 2.0 * np.outer(x @ v, v) / (v @ v)


def householder_inverse(y, v):
    # a reflection is its own inverse
    return householder_forward(y, v)


def householder_logdet(x, v):
    return _const(x, 0.0)


def reverse_forward(x):
    return np.asarray(x)[:, ::-1].copy()


def reverse_inverse(y):
    return np.asarray(y)[:, ::-1].copy()


def reverse_logdet(x):
    return _const(x, 0.0)


def _upper_matrix(s, U):
    return np.triu(np.asarray(U, dtype=float), 1) + np.diag(np.asarray(s, dtype=float))


def _unit_lower_matrix(L):
    L = np.asarray(L, dtype=float)
    return np.tril(L, -1) + np.eye(L.shape[0])


def _reversal(d):
    return np.eye(d)[::-1]


def upper_forward(x, s, U):
    return x @ _upper_matrix(s, U).T


def upper_inverse(y, s, U):
    return solve_triangular(_upper_matrix(s, U), np.asarray(y, dtype=float).T, lower=False).T


def upper_logdet(x, s, U):
    return _const(x, np.sum(np.log(np.abs(s))))


def unit_lower_forward(x, L):
    return x @ _unit_lower_matrix(L).T


def unit_lower_inverse(y, L):
    return solve_triangular(_unit_lower_matrix(L), np.asarray(y, dtype=float).T,
                            lower=True, unit_diagonal=True).T


def unit_lower_logdet(x, L):
    return _const(x, 0.0)


def lu_matrix(s, U, L):
    """W = P (tril(L,-1) + I) (triu(U,1) + diag(s)), P the reversal permutation."""
    d = len(s)
    return _reversal(d) @ _unit_lower_matrix(L) @ _upper_matrix(s, U)


def lu_linear_forward(x, s, U, L):
    return x @ lu_matrix(s, U, L).T


def lu_linear_inverse(y, s, U, L):
    # W x = y  <=>  (L1)(U1) x = P^T y ; P is the reversal, P^T y reverses y
    z = np.asarray(y, dtype=float)[:, ::-1].T
    z = solve_triangular(_unit_lower_matrix(L), z, lower=True, unit_diagonal=True)
    z = solve_triangular(_upper_matrix(s, U), z, lower=False)
    return z.T


def lu_linear_logdet(x, s, U, L):
    # |det P| = 1, det of the unit lower factor = 1
    return _const(x, np.sum(np.log(np.abs(s))))


def conv1x1_forward(x, s, U, L):
    return np.asarray(x, dtype=float) @ lu_matrix(s, U, L).T


def conv1x1_inverse(y, s, U, L):
    y = np.asarray(y, dtype=float)
    flat = y.reshape(-1, y.shape[-1])
    return lu_linear_inverse(flat, s, U, L).reshape(y.shape)


def conv1x1_logdet(x, s, U, L):
    x = np.asarray(x)
    n, h, w = x.shape[:3]
    return np.full(n, h * w * np.sum(np.log(np.abs(s))))


# ---------------------------------------------------------------------------
# autoregressive layers
# ---------------------------------------------------------------------------

def maf_forward(x, mu, alpha):
    return (x - mu(x)) * np.exp(-alpha(x))


def maf_inverse(y, mu, alpha):
    y = np.asarray(y, dtype=float)
    x = np.zeros_like(y)
    for i in range(y.shape[1]):
        # mu_i, alpha_i depend only on x_0..x_{i-1}, already recovered
        x[:, i] = y[:, i] * np.exp(alpha(x)[:, i]) + mu(x)[:, i]
    return x


def maf_logdet(x, mu, alpha):
    return -np.sum(alpha(x), axis=1)


def iaf_forward(x, m, sg):
    sigma = _sigmoid(sg(x))
    return sigma * x + (1.0 - sigma) * m(x)


def iaf_inverse(y, m, sg):
    y = np.asarray(y, dtype=float)
    x = np.zeros_like(y)
    for i in range(y.shape[1]):
        sigma = _sigmoid(sg(x)[:, i])
        x[:, i] = (y[:, i] - (1.0 - sigma) * m(x)[:, i]) / sigma
    return x


def iaf_logdet(x, m, sg):
    # triangular Jacobian with diagonal sigma_i
    return np.sum(_log_sigmoid(sg(x)), axis=1)


# ---------------------------------------------------------------------------
# low-rank residual layers
# ---------------------------------------------------------------------------

def planar_constrain_u(u, w):
    """The usual fix u_hat = u + (m(w.u) - w.u) w/|w|^2, m(a) = -1 + softplus(a),
    which makes w.u_hat > -1 (invertibility)."""
    u = np.asarray(u, dtype=float)
    w = np.asarray(w, dtype=float)
    wu = w @ u
    return u + (-1.0 + _softplus(wu) - wu) * w / (w @ w)


def planar_forward(x, u, w, b):
    return x + np.outer(np.tanh(x @ np.asarray(w) + b), u)


def planar_logdet(x, u, w, b):
    # det(I + h'(w.x+b) u w^T) = 1 + h'(w.x+b) w.u
    a = x @ np.asarray(w) + b
    hp = np.exp(_log_sech2(a))
    return np.log(np.abs(1.0 + hp * (np.asarray(w) @ np.asarray(u))))


def radial_forward(x, x0, alpha, beta):
    diff = x - np.asarray(x0)
    r = np.linalg.norm(diff, axis=1, keepdims=True)
    return x + beta / (alpha + r) * diff


def radial_logdet(x, x0, alpha, beta):
    # det = (1 + beta h)^(d-1) (1 + beta h + beta h' r), h = 1/(alpha + r)
    diff = x - np.asarray(x0)
    d = diff.shape[1]
    r = np.linalg.norm(diff, axis=1)
    h = 1.0 / (alpha + r)
    hp = -h * h
    return ((d - 1) * np.log(np.abs(1.0 + beta * h))
            + np.log(np.abs(1.0 + beta * h + beta * hp * r)))


def sylvester_forward(x, A, B, c):
    return x + np.tanh(x @ np.asarray(B).T + c) @ np.asarray(A).T


def sylvester_logdet(x, A, B, c):
    # det(I_d + A diag(h') B) = det(I_m + diag(h') B A)  (Sylvester's identity)
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    z = x @ B.T + c
    hp = np.exp(_log_sech2(z))                       # (N, m)
    m = B.shape[0]
    M = np.eye(m)[None] + hp[:, :, None] * (B @ A)[None]
    return np.linalg.slogdet(M)[1]


# ---------------------------------------------------------------------------
# composition
# ---------------------------------------------------------------------------

def glow_step_forward(x, b, logs, s, U, L, F, G):
    h = actnorm_forward(x, b, logs)
    h = lu_linear_forward(h, s, U, L)
    return glow_forward(h, F, G)


def glow_step_inverse(y, b, logs, s, U, L, F, G):
    h = glow_inverse(y, F, G)
    h = lu_linear_inverse(h, s, U, L)
    return actnorm_inverse(h, b, logs)


def glow_step_logdet(x, b, logs, s, U, L, F, G):
    h1 = actnorm_forward(x, b, logs)
    h2 = lu_linear_forward(h1, s, U, L)
    return (actnorm_logdet(x, b, logs) + lu_linear_logdet(h1, s, U, L)
            + glow_logdet(h2, F, G))


# ---------------------------------------------------------------------------
# finite differences
# ---------------------------------------------------------------------------

def fd_jacobian(f, x, eps=1e-6):
    """Central finite-difference Jacobian of f: (N,d) -> (N,d) at every row of x.

    Returns J of shape (N, d, d) with J[n, i, j] = d f_i / d x_j at x[n]."""
    x = np.asarray(x, dtype=float)
    n, d = x.shape
    J = np.empty((n, d, d))
    for j in range(d):
        e = np.zeros(d)
        e[j] = eps
        J[:, :, j] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2.0 * eps)
    return J


def fd_logdet(f, x, eps=1e-6):
    """np.linalg.slogdet of fd_jacobian(f, x): returns (sign, logabsdet), each (N,)."""
    return np.linalg.slogdet(fd_jacobian(f, x, eps))


# ---------------------------------------------------------------------------
# random conditioners and parameter sets
# ---------------------------------------------------------------------------

def random_conditioner(rng, k, scale=0.5):
    """A smooth non-trivial callable (N,k) -> (N,k): scale * tanh(x W^T + c)."""
    W = rng.normal(size=(k, k))
    c = rng.normal(size=k)

    def cond(x):
        return scale * np.tanh(np.asarray(x) @ W.T + c)

    cond.W, cond.c, cond.scale = W, c, scale  # its weights, for a copy of the network in another library
    return cond


def masked_conditioner(rng, d, hidden=None, scale=0.5):
    """A random autoregressive callable (N,d) -> (N,d): output i depends only on
    inputs 0..i-1 (output 0 is a constant).

    hidden=None: scale * tanh(x @ tril(W,-1)^T + c).
    hidden=H:    a one-hidden-layer masked network (MADE-style degrees): hidden
                 unit h of degree m_h in {0..d-2} sees inputs j <= m_h, and
                 output i sees hidden units with m_h < i."""
    if hidden is None:
        W = np.tril(rng.normal(size=(d, d)), -1)
        c = rng.normal(size=d)

        def cond(x):
            return scale * np.tanh(np.asarray(x) @ W.T + c)

        cond.W, cond.c, cond.scale = W, c, scale
        return cond

    deg = np.arange(hidden) % max(d - 1, 1)
    mask_in = (np.arange(d)[None, :] <= deg[:, None]).astype(float)     # (H, d)
    mask_out = (deg[None, :] < np.arange(d)[:, None]).astype(float)     # (d, H)
    W1 = rng.normal(size=(hidden, d)) * mask_in
    b1 = rng.normal(size=hidden)
    W2 = rng.normal(size=(d, hidden)) / np.sqrt(hidden) * mask_out
    b2 = rng.normal(size=d)

    def cond(x):
        return scale * np.tanh(np.tanh(np.asarray(x) @ W1.T + b1) @ W2.T + b2)

    cond.W1, cond.b1, cond.W2, cond.b2, cond.scale = W1, b1, W2, b2, scale
    return cond


def _signed(rng, size, lo=0.5, hi=1.5):
    return rng.choice([-1.0, 1.0], size=size) * rng.uniform(lo, hi, size=size)


def _lu_params(rng, d):
    return dict(s=_signed(rng, d), U=0.5 * rng.normal(size=(d, d)),
                L=0.5 * rng.normal(size=(d, d)))


def _planar_params(rng, d):
    while True:
        w = rng.normal(size=d)
        u = planar_constrain_u(rng.normal(size=d), w)
        if w @ u > -0.5 and np.linalg.norm(u) > 0.3:
            return dict(u=u, w=w, b=float(rng.normal()))


def _radial_params(rng, d):
    alpha = float(rng.uniform(0.5, 1.5))
    if rng.random() < 0.5:
        beta = float(rng.uniform(0.3, 2.0))
    else:
        beta = -float(rng.uniform(0.3, 0.7)) * alpha
    return dict(x0=rng.normal(size=d), alpha=alpha, beta=beta)


def _sylvester_params(rng, d, m=None):
    m = max(1, d // 2) if m is None else m
    A = rng.normal(size=(d, m))
    B = rng.normal(size=(m, d))
    # spectral norms with product 0.9: x + A tanh(Bx + c) is then invertible
    A *= np.sqrt(0.9) / np.linalg.norm(A, 2)
    B *= np.sqrt(0.9) / np.linalg.norm(B, 2)
    return dict(A=A, B=B, c=rng.normal(size=m))


def _glow_step_params(rng, d):
    k = d // 2
    p = dict(b=rng.normal(size=d), logs=0.3 * rng.normal(size=d))
    p.update(_lu_params(rng, d))
    p.update(F=random_conditioner(rng, k), G=random_conditioner(rng, k))
    return p


LAYERS = {
    # element-wise
    "affine": lambda rng, d: dict(a=_signed(rng, d), b=rng.normal(size=d)),
    "exp": lambda rng, d: {},
    "softplus": lambda rng, d: {},
    "sigmoid": lambda rng, d: {},
    "tanh": lambda rng, d: {},
    "arcsinh": lambda rng, d: {},
    "sinh_arcsinh": lambda rng, d: dict(eps=rng.normal(size=d),
                                        delta=rng.uniform(0.5, 1.5, size=d)),
    "actnorm": lambda rng, d: dict(b=rng.normal(size=d), logs=0.3 * rng.normal(size=d)),
    # couplings (d = 2k)
    "nice": lambda rng, d: dict(F=random_conditioner(rng, d // 2)),
    "realnvp": lambda rng, d: dict(F=random_conditioner(rng, d // 2),
                                   G=random_conditioner(rng, d // 2)),
    "glow": lambda rng, d: dict(F=random_conditioner(rng, d // 2),
                                G=random_conditioner(rng, d // 2)),
    "seed": lambda rng, d: dict(F=random_conditioner(rng, d // 2),
                                G=random_conditioner(rng, d // 2),
                                s=0.3 * rng.normal(size=d // 2)),
    "scaled_nice": lambda rng, d: dict(F=random_conditioner(rng, d // 2),
                                       s=0.3 * rng.normal(size=d // 2)),
    "gin": lambda rng, d: dict(F=random_conditioner(rng, d // 2),
                               G=random_conditioner(rng, d // 2)),
    # linear
    "householder": lambda rng, d: dict(v=rng.normal(size=d)),
    "reverse": lambda rng, d: {},
    "upper": lambda rng, d: dict(s=_signed(rng, d), U=0.5 * rng.normal(size=(d, d))),
    "unit_lower": lambda rng, d: dict(L=0.5 * rng.normal(size=(d, d))),
    "lu_linear": _lu_params,
    "conv1x1": _lu_params,              # d = number of channels c
    # autoregressive
    "maf": lambda rng, d: dict(mu=masked_conditioner(rng, d),
                               alpha=masked_conditioner(rng, d, hidden=2 * d)),
    "iaf": lambda rng, d: dict(m=masked_conditioner(rng, d, hidden=2 * d),
                               sg=masked_conditioner(rng, d, scale=1.5)),
    # low rank
    "planar": _planar_params,
    "radial": _radial_params,
    "sylvester": _sylvester_params,
    # composition
    "glow_step": _glow_step_params,
}

NO_INVERSE = ("planar", "radial", "sylvester")


def layer_functions(name):
    """(forward, inverse or None, logdet) of the layer called name."""
    g = globals()
    return (g[f"{name}_forward"], g.get(f"{name}_inverse"), g[f"{name}_logdet"])
