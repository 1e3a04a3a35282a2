"""The independent numpy references, against values known without them, and against wrong results."""
import numpy as np
import pytest
from scipy import stats

from derive.numeric import reference

pytestmark = pytest.mark.mutation

RNG = np.random.default_rng(11)
K = 3
W_F, W_G = RNG.normal(size=(K, K)), RNG.normal(size=(K, K)) * 0.5
F = lambda v: np.tanh(v @ W_F.T + 0.3)  # noqa: E731
G = lambda v: np.sin(v @ W_G.T)  # noqa: E731
S = np.array([0.4, -0.7, 0.2])
X = RNG.normal(size=(5, 2 * K))


def _by_hand(variant, x):
    """Each variant's equations, component by component (loops, no vector code)."""
    out = np.empty_like(x)
    for b in range(x.shape[0]):
        x1, x2 = x[b, :K], x[b, K:]
        f, g = F(x2[None])[0], G(x2[None])[0]
        for i in range(K):
            scale = {"seed": np.exp(g[i]), "realnvp": np.exp(g[i]), "nice": 1.0, "scaled-nice": 1.0}[variant]
            out[b, i] = scale * x1[i] + f[i]
            out[b, K + i] = x2[i] * (np.exp(S[i]) if variant in ("seed", "scaled-nice") else 1.0)
    return out


@pytest.mark.parametrize("variant", reference.HAND_WRITTEN)
def test_reference_forward_follows_each_variants_equations(variant):
    np.testing.assert_allclose(reference.reference_forward(variant, X, F, G, S), _by_hand(variant, X), rtol=1e-14)


def test_reference_forward_refuses_an_unknown_variant():
    with pytest.raises(KeyError):
        reference.reference_forward("glow", X, F, G, S)


@pytest.mark.parametrize("variant", reference.HAND_WRITTEN)
def test_each_reference_disagrees_with_a_wrong_forward_map(variant):
    """A deliberately wrong map (F and G swapped, or the scale on x2 dropped) differs from the reference."""
    ref = reference.reference_forward(variant, X, F, G, S)
    wrong = reference.reference_forward(variant, X, G, F, S)
    assert np.max(np.abs(wrong - ref)) > 1e-2


def test_fd_jacobian_of_a_known_map():
    A = RNG.normal(size=(4, 4))
    f = lambda v: np.sin(v) @ A.T + v ** 3  # noqa: E731
    x = RNG.normal(size=(2, 4))
    exact = np.cos(x)[:, None, :] * A + 3 * x[:, None, :] ** 2 * np.eye(4)
    np.testing.assert_allclose(reference.fd_jacobian(f, x), exact, atol=1e-10)
    # a fourth-order stencil: a quartic's derivative is exact up to rounding even with a large step
    np.testing.assert_allclose(reference.fd_jacobian(lambda v: v ** 4, np.array([[0.7]]), h=0.1), [[[4 * 0.7 ** 3]]],
                               rtol=1e-12)


def test_slogdet_of_known_matrices():
    sign, ld = reference.slogdet(np.array([[[2.0, 5.0], [0.0, 3.0]], [[0.0, 1.0], [1.0, 0.0]]]))
    np.testing.assert_allclose(ld, [np.log(6.0), 0.0], atol=1e-15)
    np.testing.assert_array_equal(sign, [1.0, -1.0])


def test_gaussian_logpdf_against_scipy():
    z, m, s = np.linspace(-4, 4, 9), 0.3, np.array(1.7)
    np.testing.assert_allclose(reference.gaussian_logpdf(z, m, s), stats.norm.logpdf(z, m, s), rtol=1e-14)
    np.testing.assert_allclose(reference.gaussian_logpdf(z, -2.0, 0.2), stats.norm.logpdf(z, -2.0, 0.2), rtol=1e-14)


def test_mc_mean_and_standard_error_on_a_known_sample():
    mean, se = reference.mc_mean(np.array([1.0, 2.0, 3.0, 6.0]))
    assert mean == 3.0
    assert se == pytest.approx(np.sqrt(((4 + 1 + 0 + 9) / 3) / 4), rel=1e-14)
    mean, se = reference.mc_mean(np.array([[1.0, 5.0], [3.0, 5.0]]), axis=0)
    np.testing.assert_allclose(mean, [2.0, 5.0])
    np.testing.assert_allclose(se, [1.0, 0.0])


@pytest.mark.parametrize("variant", reference.HAND_WRITTEN)
def test_references_take_one_point_or_any_batch_shape(variant):
    one = reference.reference_forward(variant, X[0], F, G, S)
    assert one.shape == (2 * K,)
    np.testing.assert_allclose(one, _by_hand(variant, X[:1])[0], rtol=1e-14)
    stacked = reference.reference_forward(variant, X.reshape(5, 1, 2 * K), F, G, S)
    np.testing.assert_allclose(stacked[:, 0], _by_hand(variant, X), rtol=1e-14)


def test_a_finite_difference_jacobian_of_one_point():
    A = RNG.normal(size=(4, 4))
    J = reference.fd_jacobian(lambda v: v @ A.T, RNG.normal(size=4))
    assert J.shape == (4, 4)
    np.testing.assert_allclose(J, A, atol=1e-10)
