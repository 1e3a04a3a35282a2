"""Tests of the hand-written numpy flow layers against finite differences."""
import numpy as np
import pytest

from derive.numeric import flow_reference as fr

D = 6
N = 8
H, W, C = 2, 3, 3
SEEDS = (0, 1, 2)
NAMES = sorted(fr.LAYERS)
INVERTIBLE = [n for n in NAMES if n not in fr.NO_INVERSE]
VOLUME_PRESERVING = ("gin", "householder", "reverse", "nice", "unit_lower")


def _case(name, seed):
    """Flat (N, dim) forward / inverse / logdet, sample x and params of a layer."""
    rng = np.random.default_rng(1000 + seed)
    fwd, inv, ld = fr.layer_functions(name)
    if name == "conv1x1":
        params = fr.LAYERS[name](rng, C)
        x = rng.normal(size=(N, H * W * C))

        def shape(z):
            return z.reshape(-1, H, W, C)

        def f(z):
            return fwd(shape(z), **params).reshape(z.shape[0], -1)

        def g(z):
            return inv(shape(z), **params).reshape(z.shape[0], -1)

        def l(z):
            return ld(shape(z), **params)

        return f, g, l, x, params

    params = fr.LAYERS[name](rng, D)
    x = rng.normal(size=(N, D))
    if name == "tanh" or name == "sigmoid":
        x = np.clip(x, -3.0, 3.0)

    def f(z):
        return fwd(z, **params)

    g = None if inv is None else (lambda z: inv(z, **params))

    def l(z):
        return ld(z, **params)

    return f, g, l, x, params


def test_catalogue_complete():
    from derive import flows

    expected = {name.replace("-", "_") for name in flows.names()}  # every catalogue entry has a reference
    assert set(fr.LAYERS) == expected
    for name in expected:
        fwd, inv, ld = fr.layer_functions(name)
        assert callable(fwd) and callable(ld)
        assert (inv is None) == (name in fr.NO_INVERSE)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", NAMES)
def test_logdet_matches_finite_differences(name, seed):
    f, _, l, x, _ = _case(name, seed)
    hand = l(x)
    assert hand.shape == (x.shape[0],)
    sign, fd = fr.fd_logdet(f, x)
    assert np.all(sign != 0)
    np.testing.assert_allclose(hand, fd, rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", INVERTIBLE)
def test_inverse_roundtrip(name, seed):
    f, g, _, x, _ = _case(name, seed)
    y = f(x)
    np.testing.assert_allclose(g(y), x, rtol=0, atol=1e-10)
    # and the other way round, from the image of a different sample
    x2 = x[::-1] * 0.9
    y2 = f(x2)
    np.testing.assert_allclose(f(g(y2)), y2, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_parameters_are_non_trivial(name):
    f, _, _, x, params = _case(name, 0)
    y = f(x)
    assert np.max(np.abs(y - x)) > 1e-2
    J = fr.fd_jacobian(f, x)
    assert np.max(np.abs(J - np.eye(x.shape[1]))) > 1e-2
    for key, value in params.items():
        if callable(value):
            z = np.random.default_rng(5).normal(size=(N, D if name != "conv1x1" else C))
            k = D // 2 if name in ("nice", "realnvp", "glow", "seed", "scaled_nice",
                                   "gin", "glow_step") else D
            out = value(z[:, :k])
            assert np.max(np.abs(out)) > 1e-2, key
            assert np.ptp(out, axis=0).max() > 1e-2, key       # not constant
        elif np.ndim(value) > 0 or key in ("alpha", "beta"):
            assert np.max(np.abs(np.asarray(value))) > 1e-2, key


def _conditioners():
    rng = np.random.default_rng(7)
    conds = [("plain", fr.masked_conditioner(rng, D)),
             ("hidden", fr.masked_conditioner(rng, D, hidden=3 * D))]
    for name in ("maf", "iaf"):
        for key, value in fr.LAYERS[name](rng, D).items():
            conds.append((f"{name}.{key}", value))
    return conds


@pytest.mark.parametrize("label,cond", _conditioners(), ids=lambda v: v if isinstance(v, str) else "")
def test_conditioners_are_autoregressive(label, cond):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(N, D))
    base = cond(x)
    assert base.shape == (N, D)
    for j in range(D):
        xp = x.copy()
        xp[:, j] += 0.7
        out = cond(xp)
        # no output i <= j may depend on x_j
        np.testing.assert_array_equal(out[:, : j + 1], base[:, : j + 1])
        if j < D - 1:
            # and the conditioner is not trivially constant in x_j
            assert np.max(np.abs(out[:, j + 1:] - base[:, j + 1:])) > 1e-6, (label, j)


@pytest.mark.parametrize("name", ["maf", "iaf"])
def test_autoregressive_jacobian_is_lower_triangular(name):
    f, _, _, x, _ = _case(name, 0)
    J = fr.fd_jacobian(f, x)
    assert np.max(np.abs(np.triu(J, 1))) < 1e-9
    assert np.max(np.abs(np.tril(J, -1))) > 1e-3


@pytest.mark.parametrize("name", VOLUME_PRESERVING)
def test_volume_preserving_layers(name):
    f, _, l, x, _ = _case(name, 0)
    np.testing.assert_array_equal(l(x), np.zeros(N))
    sign, fd = fr.fd_logdet(f, x)
    np.testing.assert_allclose(fd, 0.0, atol=1e-8)
    if name == "householder":
        assert np.all(sign == -1)               # a reflection
    if name == "reverse":
        assert np.all(sign == (-1) ** (D // 2))  # D // 2 transpositions


def test_lu_and_conv_logdet_match_matrix_determinant():
    rng = np.random.default_rng(3)
    p = fr.LAYERS["lu_linear"](rng, D)
    Wm = fr.lu_matrix(**p)
    sign, logabs = np.linalg.slogdet(Wm)
    x = rng.normal(size=(N, D))
    np.testing.assert_allclose(fr.lu_linear_logdet(x, **p), logabs, atol=1e-12)
    np.testing.assert_allclose(fr.lu_linear_forward(x, **p), x @ Wm.T, atol=1e-12)
    P = np.eye(D)[::-1]
    np.testing.assert_array_equal(P @ np.arange(D), np.arange(D)[::-1])
    pc = fr.LAYERS["conv1x1"](rng, C)
    Wc = fr.lu_matrix(**pc)
    xc = rng.normal(size=(N, H, W, C))
    np.testing.assert_allclose(fr.conv1x1_logdet(xc, **pc),
                               H * W * np.linalg.slogdet(Wc)[1], atol=1e-12)
    yc = fr.conv1x1_forward(xc, **pc)
    np.testing.assert_allclose(yc[1, 1, 2], Wc @ xc[1, 1, 2], atol=1e-12)


def test_fd_jacobian_of_linear_map():
    rng = np.random.default_rng(4)
    A = rng.normal(size=(D, D))
    x = rng.normal(size=(N, D))
    J = fr.fd_jacobian(lambda z: z @ A.T, x)
    assert J.shape == (N, D, D)
    np.testing.assert_allclose(J, np.broadcast_to(A, (N, D, D)), atol=1e-8)
    sign, logabs = fr.fd_logdet(lambda z: z @ A.T, x)
    s0, l0 = np.linalg.slogdet(A)
    np.testing.assert_allclose(logabs, l0, atol=1e-7)
    assert np.all(sign == s0)


# --------------------------------------------------------------------------
# planted bugs must be caught by the finite-difference comparison
# --------------------------------------------------------------------------

def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _bug_realnvp_sign(x, F, G):
    return -np.sum(G(x[:, D // 2:]), axis=1)          # wrong sign of the log-scale


def _bug_glow_no_shift(x, F, G):
    return np.sum(np.log(_sig(G(x[:, D // 2:]))), axis=1)   # "+2" dropped


def _bug_maf_sign(x, mu, alpha):
    return np.sum(alpha(x), axis=1)                   # should be minus


def _bug_seed_no_s(x, F, G, s):
    return np.sum(G(x[:, D // 2:]), axis=1)            # forgets the exp(s) scaling


def _bug_actnorm_sign(x, b, logs):
    return np.full(x.shape[0], -np.sum(logs))


def _bug_sinh_arcsinh_no_delta(x, eps, delta):
    z = delta * np.arcsinh(x) - eps
    return np.sum(np.log(np.cosh(z)) - 0.5 * np.log1p(x * x), axis=1)


def _bug_radial_power(x, x0, alpha, beta):
    diff = x - x0
    r = np.linalg.norm(diff, axis=1)
    h = 1.0 / (alpha + r)
    return x.shape[1] * np.log(np.abs(1 + beta * h)) + np.log(np.abs(1 + beta * h - beta * h * h * r))


def _bug_planar_no_derivative(x, u, w, b):
    return np.log(np.abs(1.0 + w @ u)) * np.ones(x.shape[0])


def _bug_sylvester_transpose(x, A, B, c):
    hp = 1.0 - np.tanh(x @ B.T + c) ** 2
    M = np.eye(B.shape[0])[None] + hp[:, :, None] * (B @ A).T[None] * 1.7
    return np.linalg.slogdet(M)[1]


def _bug_iaf_log_one_minus(x, m, sg):
    return np.sum(np.log(1.0 - _sig(sg(x))), axis=1)


PLANTED = {
    "realnvp": _bug_realnvp_sign,
    "glow": _bug_glow_no_shift,
    "maf": _bug_maf_sign,
    "seed": _bug_seed_no_s,
    "actnorm": _bug_actnorm_sign,
    "sinh_arcsinh": _bug_sinh_arcsinh_no_delta,
    "radial": _bug_radial_power,
    "planar": _bug_planar_no_derivative,
    "sylvester": _bug_sylvester_transpose,
    "iaf": _bug_iaf_log_one_minus,
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_planted_logdet_bug_is_caught(name):
    f, _, _, x, params = _case(name, 0)
    _, fd = fr.fd_logdet(f, x)
    wrong = PLANTED[name](x, **params)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(wrong, fd, rtol=0, atol=1e-6)


def test_planted_forward_bug_glow_without_shift_is_caught():
    # forward with the "+2" dropped, paired with the correct logdet
    _, _, l, x, p = _case("glow", 0)
    k = D // 2

    def bad_forward(z):
        z1, z2 = z[:, :k], z[:, k:]
        return np.concatenate([_sig(p["G"](z2)) * (z1 + p["F"](z2)), z2], axis=1)

    _, fd = fr.fd_logdet(bad_forward, x)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(l(x), fd, rtol=0, atol=1e-6)


def test_planted_inverse_bug_is_caught():
    f, _, _, x, p = _case("realnvp", 0)
    k = D // 2
    y = f(x)
    y1, y2 = y[:, :k], y[:, k:]
    bad = np.concatenate([(y1 - p["F"](y2)) * np.exp(p["G"](y2)), y2], axis=1)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(bad, x, rtol=0, atol=1e-10)


# --------------------------------------------------------------------------
# violated invertibility conditions
# --------------------------------------------------------------------------

def test_planar_with_w_dot_u_minus_two_is_not_invertible():
    rng = np.random.default_rng(21)
    w = rng.normal(size=D)
    orth = rng.normal(size=D)
    orth -= (orth @ w) / (w @ w) * w
    u = -2.0 * w / (w @ w) + orth
    assert np.isclose(w @ u, -2.0)
    b = 0.3
    t = np.linspace(-4.0, 4.0, 41)
    x = rng.normal(size=(t.size, D)) + np.outer(t, w / (w @ w))
    sign, fd = fr.fd_logdet(lambda z: fr.planar_forward(z, u, w, b), x)
    assert np.any(sign > 0) and np.any(sign < 0)
    # the hand formula agrees in magnitude away from the singular set
    ok = np.abs(fd) < 5
    assert ok.sum() > 20
    np.testing.assert_allclose(fr.planar_logdet(x, u, w, b)[ok], fd[ok], atol=1e-6)


def test_radial_with_beta_below_minus_alpha_is_not_invertible():
    rng = np.random.default_rng(22)
    x0 = rng.normal(size=D)
    alpha, beta = 1.0, -2.5
    dirs = rng.normal(size=(40, D))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    r = np.geomspace(0.02, 20.0, 40)
    x = x0 + r[:, None] * dirs
    sign, fd = fr.fd_logdet(lambda z: fr.radial_forward(z, x0, alpha, beta), x)
    assert np.any(sign > 0) and np.any(sign < 0)
    ok = np.abs(fd) < 5
    assert ok.sum() > 20
    np.testing.assert_allclose(fr.radial_logdet(x, x0, alpha, beta)[ok], fd[ok], atol=1e-6)


def test_valid_planar_and_radial_keep_positive_determinant():
    for seed in range(5):
        rng = np.random.default_rng(seed)
        pp = fr.LAYERS["planar"](rng, D)
        assert pp["w"] @ pp["u"] > -1
        pr = fr.LAYERS["radial"](rng, D)
        assert pr["beta"] > -pr["alpha"]
        x = rng.normal(size=(50, D)) * 3
        s1, _ = fr.fd_logdet(lambda z: fr.planar_forward(z, **pp), x)
        s2, _ = fr.fd_logdet(lambda z: fr.radial_forward(z, **pr), x)
        assert np.all(s1 > 0) and np.all(s2 > 0)
