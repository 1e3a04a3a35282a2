"""2.4 estimators: the L-sample average, the score term and the path-derivative (STL) estimator.

Values by hand.  With q = N(μ, σ²), p = N(m, λ²), z = μ + σε:
t = −log σ − ε²/2 + (z − m)²/(2λ²) + log λ, so the per-sample gradient is ((z − m)/λ², ε(z − m)/λ² − 1/σ);
the score ∂ log q/∂θ at fixed z is ((z − μ)/σ², −1/σ + (z − μ)²/σ³) = (ε/σ, (ε² − 1)/σ);
the STL gradient is their difference: ((μ − m)/λ² + ε(σ/λ² − 1/σ), ε(μ − m)/λ² + ε²(σ/λ² − 1/σ)).
With E ε² = 1, E ε⁴ = 3 (Var ε² = 2):
Var_total = (σ²/λ⁴, (μ − m)²/λ⁴ + 2σ²/λ⁴),  Var_STL = (c², (μ − m)²/λ⁴ + 2c²),  c = σ/λ² − 1/σ,
so Var_total − Var_STL = (2/λ² − 1/σ², 2(2/λ² − 1/σ²)) > 0 exactly when σ > λ/√2.
"""
import copy
import functools
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import derive.reparam as rp
from derive.model import Result
from derive.numeric import estimators as ref
from derive.numeric import variational

pytestmark = [pytest.mark.mutation_variational]


@functools.lru_cache(maxsize=None)
def derived(prior=(0, 1)):
    return rp.derive_reparam(*prior)


def _section(der, title):
    return next(sec for sec in der.sections if sec.title == title)


def _at(expr, der, mu, sigma, eps=None):
    m, s, e = der.data["symbols"]
    values = {m: sp.Rational(mu), s: sp.Rational(sigma)}
    if eps is not None:
        values[e] = sp.Rational(eps)
        values[der.symbols["z"]] = values[m] + values[s] * values[e]
    return sp.nsimplify(sp.sympify(expr).subs(values))


def hand_variances(mu, sigma, m=0, lam=1):
    """(Var_total,μ, Var_total,σ, Var_STL,μ, Var_STL,σ) from the formulas in the module docstring."""
    mu, sigma, m, lam = (Fraction(v) for v in (mu, sigma, m, lam))
    c = sigma / lam ** 2 - 1 / sigma
    shift = (mu - m) ** 2 / lam ** 4
    return sigma ** 2 / lam ** 4, shift + 2 * sigma ** 2 / lam ** 4, c ** 2, shift + 2 * c ** 2


POINTS = [("1/2", "3/2"), ("-2", "1/3"), ("3", "2"), ("0", "1")]
PRIORS = [(0, 1), (1, 2)]


# -- the derivation: every step checked, with the labels saying what was computed -----------------------------

@pytest.mark.parametrize("prior", PRIORS)
def test_every_new_step_is_verified_exactly(prior):
    der = derived(prior)
    titles = ["The L-sample estimator", "The score term", "The path-derivative (sticking-the-landing, STL) estimator"]
    for title in titles:
        sec = _section(der, title)
        assert sec.question == "2.4" and sec.steps
        for step in sec.steps:
            assert step.verified and step.verification.method in ("symbolic", "exact"), step.justification
    labels = [s.verification.label for s in _section(der, titles[0]).steps]
    # the mean and variance of the average are integrated out at L = 2 and 3 only: not labelled a proof
    assert labels == ["proof", "proof", "checked at L = 2, 3", "checked at L = 2, 3"]


def test_the_results_are_named_and_the_prior_default_values_are_by_hand():
    der = derived()
    mu, sigma, eps = der.data["symbols"]
    z = der.symbols["z"]
    names = [r.name for r in der.results]
    assert names[4:] == ["reparam.estimator", "reparam.estimator_variance", "reparam.score", "reparam.stl",
                         "reparam.stl_variance", "reparam.stl_lower_when"]
    # the per-sample gradient in z and ε: (z, εz − 1/σ), with no μ left
    grad_z = _section(der, "The L-sample estimator").steps[0].rhs
    assert list(grad_z) == [z, eps * z - 1 / sigma]
    score = der.result("reparam.score").value
    assert sp.simplify(score[0] - eps / sigma) == 0 and sp.simplify(score[1] - (eps ** 2 - 1) / sigma) == 0
    stl = der.result("reparam.stl").value.subs(z, mu + sigma * eps)
    assert sp.expand(stl[0] - (mu + eps * (sigma - 1 / sigma))) == 0
    assert sp.expand(stl[1] - (eps * mu + eps ** 2 * (sigma - 1 / sigma))) == 0


def test_the_estimator_is_the_average_of_the_per_sample_gradient_over_the_draws():
    der = derived()
    mu, sigma, _ = der.data["symbols"]
    est = der.result("reparam.estimator").value.subs(rp.L, 2).doit()
    e1, e2, z1, z2 = rp.Draw(rp.EPS, 1), rp.Draw(rp.EPS, 2), rp.Draw(rp.Z, 1), rp.Draw(rp.Z, 2)
    assert sp.expand(est[0] - (z1 + z2) / 2) == 0
    assert sp.expand(est[1] - ((e1 * z1 - 1 / sigma) + (e2 * z2 - 1 / sigma)) / 2) == 0
    var = der.result("reparam.estimator_variance").value
    assert sp.simplify(var[0] - sigma ** 2 / rp.L) == 0
    assert sp.simplify(var[1] - (mu ** 2 + 2 * sigma ** 2) / rp.L) == 0


def test_the_draws_print_as_epsilon_l_and_z_l():
    from derive.render.printing import latex

    est = derived().result("reparam.estimator").value
    assert r"\epsilon_{l} z_{l}" in latex(est[1]) and r"\sum_{l=1}^{L}" in latex(est[1])
    assert str(rp.Draw(rp.EPS, rp.l)) == "epsilon_l"


# -- the variances at exact rational points, against the hand formulas ----------------------------------------

@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("mu,sigma", POINTS)
def test_variances_at_rational_points_equal_the_hand_formulas(prior, mu, sigma):
    der = derived(prior)
    want = hand_variances(mu, sigma, *prior)
    got = [_at(v, der, mu, sigma) for v in (*der.result("reparam.variance").value,
                                             *der.result("reparam.stl_variance").value)]
    assert got == [sp.Rational(w.numerator, w.denominator) for w in want]


def test_the_hand_formulas_at_one_point_written_out():
    # default prior, μ = 1/2, σ = 3/2: c = 3/2 − 2/3 = 5/6
    assert hand_variances("1/2", "3/2") == (Fraction(9, 4), Fraction(19, 4), Fraction(25, 36), Fraction(59, 36))
    der = derived()
    assert _at(der.result("reparam.stl_variance").value[0], der, "1/2", "3/2") == sp.Rational(25, 36)


@pytest.mark.parametrize("prior", PRIORS)
def test_the_stl_variance_is_zero_at_q_equal_p_and_the_total_is_not(prior):
    der = derived(prior)
    m, lam = prior
    assert list(_section(der, "The path-derivative (sticking-the-landing, STL) estimator").steps[3].rhs) == [0, 0]
    assert [_at(v, der, m, lam) for v in der.result("reparam.stl_variance").value] == [0, 0]
    assert _at(der.result("reparam.variance").value[0], der, m, lam) == sp.Rational(1, lam ** 2)


# -- where the STL estimator is better: an honest region, not "always" ----------------------------------------

@pytest.mark.parametrize("prior,boundary", [((0, 1), sp.sqrt(2) / 2), ((1, 2), sp.sqrt(2))])
def test_stl_is_lower_exactly_above_lambda_over_root_two(prior, boundary):
    der = derived(prior)
    assert der.result("reparam.stl_lower_when").value == sp.Interval.open(boundary, sp.oo)
    gain = _section(der, "The path-derivative (sticking-the-landing, STL) estimator").steps[4].rhs
    sigma = der.data["symbols"][1]
    lam = prior[1]
    assert sp.simplify(gain[0] - (sp.Rational(2, lam ** 2) - 1 / sigma ** 2)) == 0
    assert sp.simplify(gain[1] - 2 * (sp.Rational(2, lam ** 2) - 1 / sigma ** 2)) == 0


@pytest.mark.parametrize("sigma,lower", [("1/2", False), ("7/10", False), ("3/4", True), ("3", True)])
def test_stl_is_not_always_lower(sigma, lower):
    # default prior: Var_total,μ = σ², Var_STL,μ = (σ − 1/σ)²; 1/√2 ≈ 0.7071
    vt_mu, vt_sigma, vs_mu, vs_sigma = hand_variances("1/5", sigma)
    assert (vs_mu < vt_mu) is lower and (vs_sigma < vt_sigma) is lower
    region = derived().result("reparam.stl_lower_when").value
    assert bool(region.contains(sp.Rational(sigma))) is lower


# -- planted bugs: each makes the step that carries it fail its check ------------------------------------------

def _failed(der):
    return [s for s in der.steps if not s.verified]


def test_a_score_with_its_sign_flipped_fails_the_score_and_stl_steps(monkeypatch):
    real = rp._score_terms
    monkeypatch.setattr(rp, "_score_terms", lambda st: -real(st))
    failed = _failed(rp.derive_reparam())
    lhs = [s.lhs for s in failed]
    assert rp.SCORE in lhs and rp.STL in lhs
    assert all(s.verification.method == "unverified" for s in failed)


def test_an_l_sample_variance_over_l_squared_fails_its_check(monkeypatch):
    monkeypatch.setattr(rp, "_average_variance", lambda v: v.applyfunc(lambda c: c / rp.L ** 2))
    failed = _failed(rp.derive_reparam())
    assert [s.lhs for s in failed] == [rp.V_ESTIMATOR]
    assert "at L = 2" in failed[0].verification.detail


def test_a_region_claiming_always_lower_fails_the_sign_table(monkeypatch):
    monkeypatch.setattr(sp, "solve_univariate_inequality", lambda *a, **k: sp.Interval.open(0, sp.oo))
    failed = _failed(rp.derive_reparam())
    assert [s.lhs for s in failed] == list(rp.LOWER)
    assert all("not at σ = " in s.verification.detail for s in failed)


def test_the_gradient_plus_the_score_fails_the_stl_and_variance_steps(monkeypatch):
    """The STL estimator written as the gradient plus the score: neither the stop-gradient nor its variance agree."""
    real = rp._stl_section
    monkeypatch.setattr(rp, "_stl_section", lambda der, st, score: real(der, st, -score))
    failed = _failed(rp.derive_reparam())
    assert rp.STL in [s.lhs for s in failed] and rp.V_STL in [s.lhs for s in failed]


# -- the numeric references, by hand -------------------------------------------------------------------------

def test_the_numpy_references_at_one_draw_by_hand():
    # μ = 0.5, σ = 2, ε = 0.3: z = 1.1
    g = ref.total_gradient(0.5, 2.0, np.array([0.3]))
    s = ref.score(0.5, 2.0, np.array([0.3]))
    stl = ref.stl_gradient(0.5, 2.0, np.array([0.3]))
    assert np.allclose([g[0][0], g[1][0]], [1.1, 0.3 * 1.1 - 0.5], rtol=0, atol=1e-14)
    assert np.allclose([s[0][0], s[1][0]], [0.15, (0.09 - 1) / 2], rtol=0, atol=1e-14)
    assert np.allclose([stl[0][0], stl[1][0]], [0.95, 0.285], rtol=0, atol=1e-14)
    # prior N(1, 2²): ∂t/∂μ = (z − 1)/4 = 0.025, STL μ = 0.025 − 0.15
    assert abs(ref.stl_gradient(0.5, 2.0, np.array([0.3]), (1.0, 2.0))[0][0] - (-0.125)) < 1e-14


def test_the_sample_average_and_the_z_scores():
    rows = np.array([[1.0, 3.0], [0.0, -2.0]])
    avg = ref.sample_average(lambda d: (d, 2 * d), rows)
    assert np.array_equal(avg[0], [2.0, -1.0]) and np.array_equal(avg[1], [4.0, -2.0])
    x = np.random.default_rng(1).normal(3.0, 2.0, size=400_000)
    assert ref.mean_z_score(x, 3.0) < 4 and ref.mean_z_score(x, 3.1) > 4
    assert ref.variance_z_score(x, 4.0) < 4 and ref.variance_z_score(x, 2.0) > 4  # Var/2: the slip of Var/L²


# -- the numeric cross-checks ---------------------------------------------------------------------------------

NEW_CHECKS = ("score term", "STL gradient", "4-sample average")


@pytest.mark.parametrize("prior", PRIORS)
def test_the_cross_checks_pass_at_two_points_and_name_what_they_compare(prior):
    checks = [c for c in variational.reparam_checks(derived(prior)) if c.name.startswith(NEW_CHECKS)]
    assert len(checks) == 28 and all(c.passed for c in checks), [c for c in checks if not c.passed]
    names = [c.name for c in checks]
    assert len(set(names)) == len(names) and not any("[" in n or "]" in n for n in names)
    assert "STL gradient mean, μ component (μ=0.4, σ=0.9" + ("" if prior == (0, 1) else ", prior N(1, 2²)") + ")" \
        in names


def _with_result(der, name, value):
    broken = copy.copy(der)
    broken.results = [Result(r.name, r.lhs, value, r.description) if r.name == name else r for r in der.results]
    return broken


@pytest.mark.parametrize("name,wrong,fails", [
    ("reparam.stl_variance", lambda der: der.result("reparam.variance").value, "STL gradient variance"),
    ("reparam.estimator_variance", lambda der: der.result("reparam.estimator_variance").value / rp.L,
     "4-sample average variance"),
    ("reparam.score", lambda der: -der.result("reparam.score").value, "score term per sample"),
])
def test_a_wrong_printed_result_fails_its_cross_checks(name, wrong, fails):
    der = derived()
    failed = {c.name for c in variational.reparam_checks(_with_result(der, name, wrong(der)), n=200_000)
              if not c.passed}
    assert failed and all(n.startswith(fails) for n in failed), failed
    assert len(failed) == 4


def test_a_reference_that_does_not_freeze_q_fails_the_stl_cross_checks(monkeypatch):
    monkeypatch.setattr(ref, "stl_gradient", ref.total_gradient)
    failed = {c.name for c in variational.reparam_checks(derived(), n=200_000) if not c.passed}
    assert {n for n in failed if n.startswith("STL gradient per sample")} and len(failed) >= 4
