"""The shortcut for Gaussian integrals (completing the square) against SymPy's own integrate, and where it
declines."""
import pytest
import sympy as sp

from derive.gaussian import moment, normal_pdf
from derive.integrals import gaussian_integral, over_real_line

z, x = sp.symbols("z x", real=True)
m = sp.Symbol("m", real=True)
v, tau, a = sp.symbols("v tau a", positive=True)


def plain(f):
    return sp.integrate(sp.expand(f), (z, -sp.oo, sp.oo), conds="none")


def same(p, q):
    return sp.simplify(sp.expand(p - q)) == 0


@pytest.mark.parametrize("n", range(5))
def test_every_moment_agrees_with_plain_integration(n):
    f = z ** n * normal_pdf(z, m, v)
    assert same(gaussian_integral(f, z), plain(f))


def test_known_moments_from_independent_reasoning():
    # E[z] = m, E[z^2] = m^2 + v, E[z^3] = m^3 + 3 m v, E[z^4] = m^4 + 6 m^2 v + 3 v^2
    expected = [1, m, m ** 2 + v, m ** 3 + 3 * m * v, m ** 4 + 6 * m ** 2 * v + 3 * v ** 2]
    for n, want in enumerate(expected):
        assert same(moment(n, z, m, v), want), n


def test_a_product_of_two_densities_agrees_with_plain_integration():
    # the evidence of the conjugate model: int N(x; z, tau^2) N(z; 0, 1) dz = N(x; 0, 1 + tau^2)
    f = normal_pdf(x, z, tau ** 2) * normal_pdf(z, 0, 1)
    got = gaussian_integral(f, z)
    assert same(got, plain(f))
    assert same(got, normal_pdf(x, 0, 1 + tau ** 2))


def test_a_polynomial_times_a_shifted_scaled_exponential():
    f = (3 * z ** 2 - z + 2) * sp.exp(-a * z ** 2 + 2 * z - 1)
    assert same(gaussian_integral(f, z), plain(f))


@pytest.mark.parametrize("f", [sp.exp(z ** 2), sp.sin(z) * sp.exp(-z ** 2), sp.exp(-z ** 2) / (1 + z ** 2),
                               sp.exp(-z ** 4), z, sp.exp(-m * z ** 2), sp.exp(-z ** 2) * sp.exp(x * z ** 3)])
def test_other_shapes_are_declined(f):
    assert gaussian_integral(f, z) is None


def test_a_declined_shape_falls_back_to_sympy():
    f = sp.exp(-z ** 2) / (1 + z ** 2)
    assert same(over_real_line(f, z), plain(f))


def test_a_planted_slip_in_the_shortcut_is_caught(monkeypatch):
    from derive import integrals

    monkeypatch.setattr(integrals, "_standard_moment", lambda k: sp.S.Zero if k % 2 else sp.factorial2(k + 1))
    f = z ** 2 * normal_pdf(z, m, v)
    assert not same(gaussian_integral(f, z), plain(f))
