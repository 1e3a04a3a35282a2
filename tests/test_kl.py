"""2.2 and 2.3 on their own: the exact evaluation at D = n, the printed integrals, the chain flags, the forms."""
import pytest
import sympy as sp

import derive.kl_gaussian as klmod
from derive.probability import KL, Density, Expect

pytestmark = [pytest.mark.mutation_variational]


@pytest.fixture(scope="module")
def der():
    return klmod.derive_kl()


def test_the_symbols_carry_their_assumptions():
    i, D, z, mu, sigma = klmod._factorised_symbols()
    assert i.is_integer and i.is_positive and D.is_integer and D.is_positive
    assert z[1].is_real and mu[1].is_real and sigma[1].is_positive


@pytest.mark.parametrize("n", [1, 2])
def test_the_kl_at_d_equals_n_is_evaluated_with_q_and_the_prior_in_their_places(n):
    i, D, z, mu, sigma = klmod._factorised_symbols()
    q_all, p_all = Density.make("q", sp.Symbol("z")), Density.make("p", sp.Symbol("z"))
    # by hand: KL(N(mu, sigma^2) || N(m0, s0^2)) = log(s0/sigma) + (sigma^2 + (mu - m0)^2)/(2 s0^2) - 1/2, summed
    m0, s0 = sp.Rational(1, 3), 2
    expected = sum(sp.log(s0 / sigma[m]) + (sigma[m] ** 2 + (mu[m] - m0) ** 2) / (2 * s0 ** 2) - sp.Rational(1, 2)
                   for m in range(1, n + 1))
    for expr in (KL(q_all, p_all), Expect(sp.log(sp.Product(Density.make("q", z[i]), (i, 1, D)))
                                          - sp.log(sp.Product(Density.make("p", z[i]), (i, 1, D))), q_all)):
        got = klmod._evaluate(expr, n, m0, s0)
        assert sp.simplify(sp.expand_log(got - expected, force=True)) == 0
    # one term under its own marginal q_1
    q1 = Density.make("q", z[1])
    got = klmod._evaluate(Expect(sp.log(q1) - sp.log(Density.make("p", z[1])), q1), n, m0, s0)
    assert sp.simplify(sp.expand_log(got - (sp.log(s0 / sigma[1]) + (sigma[1] ** 2 + (mu[1] - m0) ** 2) / 8
                                              - sp.Rational(1, 2)), force=True)) == 0


def test_the_printed_integrals_are_the_ones_checked():
    zz = sp.Symbol("z", real=True)
    qa, pa = Density.make("q", zz), Density.make("p", zz)
    right = sp.Integral(qa * (sp.log(qa) - sp.log(pa)), (zz, -sp.oo, sp.oo))
    own = sp.Integral(qa * sp.log(qa) - qa * sp.log(pa), (zz, -sp.oo, sp.oo))
    assert klmod._same_integral(right, own, {}, "d").passed
    empty = sp.Integral(qa * (sp.log(qa) - sp.log(pa)), (zz, sp.oo, sp.oo))
    v = klmod._same_integral(empty, own, {}, "d")
    assert not v.passed and "the ranges differ" in v.detail
    divided = sp.Integral(qa / (sp.log(qa) - sp.log(pa)), (zz, -sp.oo, sp.oo))
    assert not klmod._same_integral(divided, own, {}, "d").passed


def test_the_printed_steps_of_2_3(der):
    steps = [step for sec in der.sections if sec.title == "Closed form of KL(q_i || p_i)" for step in sec.steps]
    zz = sp.Symbol("z", real=True)
    for step in steps[:3]:
        integral = step.rhs if isinstance(step.rhs, sp.Integral) else step.lhs
        assert integral.limits == ((zz, -sp.oo, sp.oo),)
    quadratic = steps[1].rhs.function / Density.make("q", zz)
    terms = sp.Add.make_args(sp.expand(quadratic))
    collected = sp.Add.make_args(quadratic)
    assert len([t for t in collected if t.has(zz ** 2)]) == 1 and len(collected) < len(terms)
    assert [step.continues for step in steps] == [False, True, True, False]


def test_the_chain_of_2_2_is_printed_as_one_chain(der):
    steps = [step for sec in der.sections if sec.question == "2.2" for step in sec.steps]
    assert [step.continues for step in steps] == [False, True, True, True, True]
    assert steps[0].lhs == KL(Density.make("q", sp.Symbol("z")), Density.make("p", sp.Symbol("z")))


def test_the_parameters_are_named_as_in_the_sheet(der):
    """q_i = N(μᵢ, σᵢ²) with the index of the dimension; the general q, p carry their own subscripts q and p."""
    mu, sigma = der.data["mu"], der.data["sigma"]
    assert (mu.name, sigma.name) == ("mu_i", "sigma_i") and mu.is_real and sigma.is_positive
    assert [s.name for s in der.data["general_symbols"]] == ["mu_q", "sigma_q", "mu_p", "sigma_p"]
    assert der.result("kl.closed_form").value.free_symbols == {mu, sigma}
    assert "standard deviation" in next(s.justification for s in der.steps if s.justification.startswith("the sheet's case"))
    notes = [g.note for g in der.givens]
    assert "q = N(mu_q, sigma_q^2) (2.3)" in notes and "p = N(mu_p, sigma_p^2) (2.3)" in notes


def test_the_closed_forms_are_printed_term_by_term(der):
    mu, sigma = der.data["mu"], der.data["sigma"]
    half = der.result("kl.closed_form").value
    # printed expanded, term by term: mu^2/2 + sigma^2/2 - log(sigma) - 1/2
    assert set(sp.Add.make_args(half)) == {mu ** 2 / 2, sigma ** 2 / 2, -sp.log(sigma), -sp.Rational(1, 2)}
    general = der.result("kl.gaussian").value
    s2 = der.data["general_symbols"][3]
    assert len([t for t in sp.Add.make_args(general) if t.has(s2) and not t.has(sp.log)]) == 1


def test_a_worked_example_is_checked_and_printed_with_its_numbers():
    half, three = sp.Rational(1, 2), sp.Integer(3)   # sigma = 3: sigma^2 = 9 is neither 2 sigma nor sigma
    der = klmod.derive_kl(0, 1, example=(half, three))
    (step,) = [s for s in der.steps if s.justification.startswith("worked example")]
    assert step.verified and step.justification == "worked example: μᵢ = 1/2, σᵢ = 3"
    # by hand: KL(N(1/2, 9) || N(0, 1)) = (1/4 + 9 - 1)/2 - log 3 = 33/8 - log 3
    assert sp.simplify(der.result("kl.example").value - (sp.Rational(33, 8) - sp.log(3))) == 0
    assert step.lhs == KL(Density.make("N", half, 9), Density.make("N", 0, 1))
    other = klmod.derive_kl(1, 3, example=(half, three))
    (prior,) = [s for s in other.steps if s.justification.startswith("worked example")]
    assert prior.lhs == KL(Density.make("N", half, 9), Density.make("N", 1, 9)) and prior.verified
    long = sp.Rational(1234567890123456789, 10 ** 18)
    assert klmod._readable(long) == "1.234567890123457" and klmod._readable(half) == "1/2"
    assert klmod._readable(sp.Rational(1, 10 ** 21)) == "1/1000000000000000000000"    # 24 characters: kept exact
    assert klmod._readable(sp.Rational(1, 10 ** 22)) == "1e-22"


def test_the_two_gaussian_kl_is_printed_as_it_is_read(der):
    """One log (of the ratio of the standard deviations) and the means only through their difference:
    log(σ_p/σ_q) + (σ_q² + (μ_q − μ_p)²)/(2σ_p²) − 1/2."""
    value = der.result("kl.gaussian").value
    mu_q, sigma_q, mu_p, sigma_p = der.data["general_symbols"]
    assert [t for t in sp.Add.make_args(value) if t.has(sp.log)] == [sp.log(sigma_p / sigma_q)]
    shift = sp.Symbol("shift", real=True)
    assert not sp.expand(value.subs(mu_q, mu_p + shift)).has(mu_p)
    by_hand = sp.log(sigma_p / sigma_q) + (sigma_q ** 2 + (mu_q - mu_p) ** 2) / (2 * sigma_p ** 2) - sp.Rational(1, 2)
    assert sp.expand(sp.expand_log(value - by_hand, force=True)) == 0
