"""2.3 beyond the closed form: KL ≥ 0 with its only zero at the prior, and the stable form near the prior.

Expected values come from reasoning apart from the derivation: the KL of a density with itself is 0,
a grid search over a hand-written KL, and the Taylor series of t - 1 - log t near t = 1.  Each check of
the new steps is also run on a slipped expression and must fail.
"""
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from sympy.codegen.cfunctions import log1p

import derive.kl_gaussian as klmod
from derive.model import Derivation, Result
from derive.numeric import variational
from derive.render.numpy_module import render_module

pytestmark = [pytest.mark.mutation_variational]

NON_NEGATIVE = "KL is non-negative, and zero only at the prior"
STABLE = "A numerically stable form of the closed form"
NEAR = 1 + 1e-8  # sigma next to the prior's 1


@pytest.fixture(scope="module")
def der():
    return klmod.derive_kl()


@pytest.fixture(scope="module")
def other():
    """The prior N(1/2, 2²): m = 1/2, λ = 2."""
    return klmod.derive_kl(sp.Rational(1, 2), 2)


def _section(der, title):
    (sec,) = [s for s in der.sections if s.title == title]
    return sec


def _hand_kl(mu, sigma, m, lam):
    """KL(N(mu, sigma²) || N(m, lam²)) = log(lam/sigma) + (sigma² + (mu - m)²)/(2 lam²) - 1/2, written out."""
    return np.log(lam / sigma) + (sigma ** 2 + (mu - m) ** 2) / (2 * lam ** 2) - 0.5


def _near_prior_by_hand() -> float:
    """KL(N(0, NEAR²) || N(0, 1)) = (t - 1 - log t)/2, t = NEAR², by its series in x = t - 1.

    x is computed exactly from the float NEAR; the series is cut after x⁴ (the next term is below 1e-32 of it).
    """
    delta = Fraction(NEAR) - 1
    x = 2 * delta + delta ** 2
    return float((x ** 2 / 2 - x ** 3 / 3 + x ** 4 / 4) / 2)


# ---- the sections and their steps ------------------------------------------------------------------------

@pytest.mark.parametrize("build", ["der", "other"])
def test_the_new_sections_are_answers_to_2_3_and_proved(build, request):
    d = request.getfixturevalue(build)
    for title, count in ((NON_NEGATIVE, 5), (STABLE, 1)):
        sec = _section(d, title)
        assert sec.question == "2.3" and len(sec.steps) == count
        assert all(st.verified and st.verification.general for st in sec.steps), title


def test_the_minimiser_is_the_prior_for_a_prior_that_is_not_standard(other):
    assert other.result("kl.minimiser").value == sp.Tuple(sp.Rational(1, 2), 2)
    assert other.result("kl.minimum").value == 0
    # a grid search over the hand-written KL finds its least value at (1/2, 2), where it is 0
    mu, sigma = np.meshgrid(np.linspace(-2, 3, 501), np.linspace(0.5, 4, 351), indexing="ij")
    values = _hand_kl(mu, sigma, 0.5, 2.0)
    at = np.unravel_index(np.argmin(values), values.shape)
    assert (mu[at], sigma[at]) == pytest.approx((0.5, 2.0), abs=1e-9) and abs(values[at]) < 1e-15
    assert values.min() >= -1e-15


def test_the_split_is_a_square_plus_half_of_r_minus_1_minus_log_r(der, other):
    mu, sigma, r = der.data["mu"], der.data["sigma"], der.data["r"]
    split = _section(der, NON_NEGATIVE).steps[0].rhs
    assert sp.expand(split - (mu ** 2 / 2 + (r - 1 - sp.log(r)) / 2)) == 0
    # prior N(1/2, 4): (mu - 1/2)²/8, and r = sigma²/4 is what the givens say
    split = _section(other, NON_NEGATIVE).steps[0].rhs
    assert sp.expand(split - ((mu - sp.Rational(1, 2)) ** 2 / 8 + (r - 1 - sp.log(r)) / 2)) == 0
    assert any(g.lhs == r and g.rhs == sigma ** 2 / 4 for g in other.givens)


def test_r_minus_1_minus_log_r_is_an_integral_of_a_non_negative_function(der):
    r = der.data["r"]
    steps = _section(der, NON_NEGATIVE).steps
    u = steps[1].rhs.limits[0][0]
    assert steps[1].rhs == sp.Integral(1 - 1 / u, (u, 1, r))
    assert steps[2].rhs == sp.Integral(sp.Abs(u - 1) / u, (u, sp.Min(1, r), sp.Max(1, r))) and steps[2].continues
    for value in (0.25, 1.0, 3.0):  # by quadrature of |u - 1|/u, and r - 1 - log r by hand
        grid = np.linspace(min(1, value), max(1, value), 200_001)
        quad = np.trapezoid(np.abs(grid - 1) / grid, grid)
        assert quad == pytest.approx(value - 1 - np.log(value), abs=1e-9)


# ---- planted slips: each check fails on them ----------------------------------------------------------------

def test_a_split_without_its_half_is_caught(der):
    mu, r = der.data["mu"], der.data["r"]
    assert klmod.check_rewrite(der, mu ** 2 / 2 + sp.Mul(sp.Rational(1, 2), r - 1 - sp.log(r), evaluate=False)).passed
    assert not klmod.check_rewrite(der, mu ** 2 / 2 + (r - 1 - sp.log(r))).passed
    assert not klmod.check_rewrite(der, mu ** 2 + (r - 1 - sp.log(r)) / 2).passed


def test_a_stable_form_with_a_wrong_logarithm_is_caught(der):
    mu, sigma = der.data["mu"], der.data["sigma"]
    w = (sigma - 1) * (sigma + 1)
    assert klmod.check_rewrite(der, mu ** 2 / 2 + (w - log1p(w)) / 2).passed
    for wrong in (mu ** 2 / 2 + (w - sp.log(w)) / 2,            # log where log1p belongs
                  mu ** 2 / 2 + (w - log1p(w + 1)) / 2,         # log1p of 1 + w
                  mu ** 2 / 2 + (w - log1p(sigma - 1)) / 2,     # log1p of sigma - 1 instead of sigma² - 1
                  mu ** 2 / 2 + w - log1p(w)):                  # the half dropped
        assert not klmod.check_rewrite(der, wrong).passed, wrong


def test_a_wrong_integrand_or_range_is_caught(der):
    r = der.data["r"]
    u = sp.Symbol("u", positive=True)
    f = r - 1 - sp.log(r)
    assert klmod.check_antiderivative(f, sp.Integral(1 - 1 / u, (u, 1, r))).passed
    assert not klmod.check_antiderivative(f, sp.Integral(1 - 1 / u ** 2, (u, 1, r))).passed
    assert not klmod.check_antiderivative(f, sp.Integral(1 - 1 / u, (u, 0, r))).passed
    lhs = sp.Integral(1 - 1 / u, (u, 1, r))
    assert klmod.check_forward_range(lhs, sp.Integral(sp.Abs(u - 1) / u, (u, sp.Min(1, r), sp.Max(1, r))), r).passed
    # the range left backwards for r < 1: negative there, so not equal
    assert not klmod.check_forward_range(lhs, sp.Integral(sp.Abs(u - 1) / u, (u, 1, r)), r).passed
    assert not klmod.check_forward_range(lhs, sp.Integral((u - 1) ** 2 / u, (u, sp.Min(1, r), sp.Max(1, r))), r).passed


def test_a_wrong_minimiser_or_minimum_is_caught(other):
    assert klmod.check_stationary(other, sp.Tuple(sp.Rational(1, 2), 2)).passed
    for wrong in [(0, 2), (sp.Rational(1, 2), 4), (sp.Rational(1, 2), 1)]:  # the standard prior's, λ² for λ, ...
        assert not klmod.check_stationary(other, sp.Tuple(*wrong)).passed
    assert klmod.check_value_at(other, sp.Tuple(sp.Rational(1, 2), 2), 0).passed
    # KL(N(0, 4) || N(1/2, 4)) = (1/2)²/8 = 1/32 by hand, not 0
    assert not klmod.check_value_at(other, sp.Tuple(0, 2), 0).passed
    assert klmod.check_value_at(other, sp.Tuple(0, 2), sp.Rational(1, 32)).passed


# ---- the stable form in floating point --------------------------------------------------------------------

def test_the_stable_form_next_to_the_prior_matches_its_series_by_hand(der):
    mu, sigma = der.data["mu"], der.data["sigma"]
    hand = _near_prior_by_hand()
    assert hand == pytest.approx(1e-16, rel=1e-7)  # 1e-16 (1 + O(1e-8))
    stable = sp.lambdify((mu, sigma), der.result("kl.stable").value, "numpy")(0.0, NEAR)
    assert abs(stable - hand) / hand <= 1e-6
    naive = sp.lambdify((mu, sigma), der.result("kl.closed_form").value, "numpy")(0.0, NEAR)
    assert abs(naive - hand) / hand > 1e-3  # the closed form as printed has lost the digits there


def test_the_exported_module_uses_the_stable_form(der, tmp_path):
    source = render_module([der])
    assert "numpy.log1p" in source
    namespace = {}
    exec(compile(source, "derive_numeric.py", "exec"), namespace)  # noqa: S102 - the module this package writes
    f = namespace["kl_gaussian_standard"]
    assert abs(f(0.0, NEAR) - _near_prior_by_hand()) / _near_prior_by_hand() <= 1e-6
    assert f(1.0, 2.0) == pytest.approx(_hand_kl(1.0, 2.0, 0.0, 1.0), rel=1e-12)


def test_the_stable_cross_checks_pass_and_say_what_the_closed_form_gives(der):
    checks = [c for c in variational.kl_checks(der) if c.name.startswith("KL stable form")]
    assert len(checks) == len(variational.STABLE_POINTS) and all(c.passed for c in checks)
    near = next(c for c in checks if c.name == "KL stable form (mu=0, sigma=1.00000001)")
    assert "the KL computed with 50 digits" in near.method and "the closed form as printed gives 0 (relative error 1)" in near.method


def test_an_unstable_form_fails_the_stable_cross_checks(der):
    """The same function written with log(1 + w) instead of log1p(w): exact, but not next to the prior."""
    res = der.result("kl.stable")
    unstable = res.value.replace(log1p, lambda w: sp.log(1 + w))
    assert sp.simplify(unstable.rewrite(sp.log) - res.value.rewrite(sp.log)) == 0
    broken = Derivation(der.name, der.title, der.summary, data=der.data,
                              results=[Result(r.name, r.lhs, unstable, r.description) if r is res else r
                                       for r in der.results])
    checks = {c.name: c.passed for c in variational._kl_stable_checks(broken)}
    assert not checks["KL stable form (mu=0, sigma=1.00000001)"] and checks["KL stable form (mu=3, sigma=0.001)"]
