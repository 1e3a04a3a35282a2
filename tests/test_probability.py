"""Densities, expectations and KL as SymPy objects, the rewrite rules, the Gaussian integrals and the checks'
own definitions: each against values worked out by hand."""
import pytest
import sympy as sp

from derive import gaussian, independent
from derive.probability import (KL, Density, Expect, fold_kl, kl_definition, merge_expectations, normalise,
                                split_constants)
from derive.render.printing import latex, text

pytestmark = [pytest.mark.mutation_variational]

x, z = sp.symbols("x z", real=True)
m = sp.Symbol("m", real=True)
v, s = sp.symbols("v s", positive=True)
q, p = Density.make("q", z), Density.make("p", z)


def test_densities_print_their_arguments_and_conditions():
    assert text(Density.make("p", x, z)) == "p(x, z)" and text(Density.make("p", x, given=z)) == "p(x | z)"
    assert latex(Density.make("p", x, given=z)) == r"p\left(x \mid z\right)"
    assert latex(Density.make("p", x) ** 2) == r"p\left(x\right)^{2}"
    assert Density.make("p", x).label == sp.Symbol("p") and Density.make("p", x).is_positive
    assert text(Expect(sp.log(p), q)) == "E_q(z)[log(p(z))]" and text(KL(q, p)) == "KL(q(z) || p(z))"
    assert latex(KL(q, p)) == r"D_{\mathrm{KL}}\left(q\left(z\right) \,\|\, p\left(z\right)\right)"
    assert latex(Expect(z, q)) == r"\mathbb{E}_{q\left(z\right)}\left[z\right]"
    assert latex(Expect(z, q) ** 2) == r"\left(\mathbb{E}_{q\left(z\right)}\left[z\right]\right)^{2}"
    assert sp.pretty(Expect(z, q)).replace(" ", "").startswith("E_q(z)")


def test_the_rewrite_rules_by_hand():
    assert kl_definition(2 * KL(q, p)) == 2 * Expect(sp.log(q) - sp.log(p), q)
    merged = merge_expectations(Expect(sp.log(p), q) - Expect(sp.log(q), q) + 3)
    assert merged == 3 + Expect(sp.log(p) - sp.log(q), q)
    assert merge_expectations(Expect(z, q) * Expect(z, q)) == Expect(z, q) ** 2    # not linear: left alone
    assert split_constants(Expect(sp.log(x) + z, q), z) == sp.log(x) * Expect(1, q) + Expect(z, q)
    assert split_constants(Expect(z, q), z) == Expect(z, q)
    assert split_constants(Expect(1 + z, q), z) == Expect(1, q) + Expect(z, q)    # a constant of exactly 1
    assert normalise(3 * Expect(1, q) + Expect(z, q)) == 3 + Expect(z, q)
    assert fold_kl(Expect(sp.log(p) - sp.log(q), q)) == -KL(q, p)
    for f in (sp.log(p) + sp.log(q), 2 * sp.log(p) - sp.log(q), sp.log(p) - 2 * sp.log(q), z + sp.log(p),
              sp.log(p) - sp.log(q) + sp.log(Density.make("r", z)), sp.log(p)):
        assert fold_kl(Expect(f, q)) == Expect(f, q), f


def test_gaussian_moments_and_expectations_by_hand():
    assert gaussian.normal_pdf(z, m, v) == sp.exp(-(z - m) ** 2 / (2 * v)) / sp.sqrt(2 * sp.pi * v)
    assert sp.simplify(gaussian.log_normal_pdf(z, m, v) - (-(z - m) ** 2 / (2 * v) - sp.log(2 * sp.pi * v) / 2)) == 0
    assert [gaussian.moment(n, z, m, v) for n in (0, 1, 2)] == [1, m, sp.expand(m ** 2 + v)]
    assert sp.expand(gaussian.moment(3, z, m, v) - (m ** 3 + 3 * m * v)) == 0
    assert sp.expand(gaussian.expectation(3 * z ** 2 - z + 2, z, m, v) - (3 * m ** 2 + 3 * v - m + 2)) == 0
    # not a polynomial: integrated directly (E[exp(z)] = exp(m + v/2))
    value = gaussian.expectation(sp.exp(z), z, m, v).subs({m: sp.Rational(3, 10), v: sp.Rational(7, 10)})
    assert abs(sp.N(value - sp.exp(sp.Rational(3, 10) + sp.Rational(7, 20)), 30)) < 1e-25


def test_the_checks_own_definitions_by_hand():
    assert independent.kl_integrand(q, p) == q * sp.log(q) - q * sp.log(p)
    assert independent.gaussian(z, m, s) == sp.exp(-((z - m) / s) ** 2 / 2) / (s * sp.sqrt(2 * sp.pi))
    assert [independent.standard_moment(n) for n in range(5)] == [1, 0, 1, 0, 3]
    assert sp.expand(independent.gaussian_expectation(z ** 2 + sp.log(s), z, m, s) - (m ** 2 + s ** 2 + sp.log(s))) == 0
    assert sp.simplify(independent.gaussian_expectation(sp.exp(z), z, m, s) - sp.exp(m + s ** 2 / 2)) == 0
    assert independent.gaussian_expectation(sp.Integer(4), z, m, s) == 4


def test_the_checks_integrand_of_expectations_and_kls():
    c = sp.Symbol("c", positive=True)
    assert independent.integrand(Expect(z, q), q) == q * z
    assert independent.integrand(2 * KL(q, p) + c, q) == sp.expand(2 * (q * sp.log(q) - q * sp.log(p)) + c * q)
    assert independent.integrand(c * Expect(sp.log(p), q) - 3, q) == sp.expand(c * q * sp.log(p) - 3 * q)
    r = Density.make("r", z)
    for bad in (Expect(z, r), KL(r, p), Expect(z, q) * KL(q, p)):
        with pytest.raises(ValueError):
            independent.integrand(bad, q)


def test_compose_replaces_definitions_until_none_is_left():
    a, b, c = sp.symbols("a b c")
    defs = {a: b + 1, b: 2 * c}
    assert independent.compose(defs, a) == 2 * c + 1
    assert independent.compose(defs, a, keep=[b]) == b + 1
    assert independent.compose({}, a) == a
    with pytest.raises(ValueError, match="circular"):
        independent.compose({a: b, b: a + 1}, a)
