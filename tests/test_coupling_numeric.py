"""Numeric lambdas of the coupling results against independent numpy code."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from derive.numeric.conditioners import Layer
from derive.numeric.coupling import NumericCoupling, cross_checks
from derive.numeric import reference

pytestmark = [pytest.mark.mutation_coupling]


def _identity_layer(w, b):
    return Layer(np.array([[w]]), np.array([b]), activation="identity")


def test_hand_computed_point_k1(coupling):
    # F(x2) = x2, G(x2) = x2 / 2, s = 0.3 at x = (1, 2): by hand
    blk = NumericCoupling(coupling("seed"), _identity_layer(1.0, 0.0), _identity_layer(0.5, 0.0), [0.3])
    x = np.array([[1.0, 2.0]])
    e = np.e
    np.testing.assert_allclose(blk.forward(x), [[e + 2, 2 * np.exp(0.3)]], rtol=1e-14)
    np.testing.assert_allclose(blk.inverse(np.array([[e + 2, 2 * np.exp(0.3)]])), x, rtol=1e-14)
    np.testing.assert_allclose(blk.jacobian(x)[0], [[e, 0.5 * e + 1], [0, np.exp(0.3)]], rtol=1e-14)
    np.testing.assert_allclose(blk.logdet(x), [1.3], rtol=1e-14)


@pytest.mark.parametrize("variant", ["seed", "realnvp", "nice", "scaled-nice"])
@pytest.mark.parametrize("k", [1, 4, 64])
def test_cross_checks_pass(coupling, variant, k):
    checks = cross_checks(coupling(variant), k=k, batch=4 if k == 64 else 16)
    for c in checks:
        assert c.passed, c


def test_a_sign_error_is_caught(coupling):
    """A log-det with the wrong sign must fail against slogdet (round trips would not see it)."""
    der = coupling("seed")
    rng = np.random.default_rng(5)
    blk = NumericCoupling(der, Layer.random(4, rng), Layer.random(4, rng, 0.5), rng.normal(size=4))
    x = rng.normal(size=(8, 8))
    ref = lambda v: reference.reference_forward("seed", v, blk.F, blk.G, blk.s)  # noqa: E731
    _, ld_ref = reference.slogdet(reference.fd_jacobian(ref, x))
    assert np.max(np.abs(blk.logdet(x) - ld_ref)) < 1e-8
    assert np.max(np.abs(-blk.logdet(x) - ld_ref)) > 1e-3


def test_large_logdet_does_not_overflow(coupling):
    # s = 400 per component at k = 4: det = e^1600 overflows a float, its log does not
    der = coupling("seed")
    rng = np.random.default_rng(0)
    blk = NumericCoupling(der, Layer.random(4, rng), Layer.random(4, rng), np.full(4, 400.0))
    x = rng.normal(size=(3, 8))
    ld = blk.logdet(x)
    # by hand: log det = sum_i G_i(x2) + sum_i s_i = sum_i G_i(x2) + 1600
    np.testing.assert_allclose(ld, blk.G(x[:, 4:]).sum(axis=-1) + 1600.0, rtol=0, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(k=st.integers(1, 12), seed=st.integers(0, 10_000), variant=st.sampled_from(["seed", "realnvp", "nice"]))
def test_property_random_blocks(coupling, k, seed, variant):
    for c in cross_checks(coupling(variant), k=k, batch=6, seed=seed):
        assert c.passed, c
