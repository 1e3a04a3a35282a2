"""KL of the vector pairs: Categorical ‖ Categorical, MVNormal ‖ MVNormal and MVNormal (diagonal) ‖ MVNormal.

The derivations are verified; their exported numpy and torch functions (printed from the stable results) agree
with the numeric reference (quadrature, exact summation) of :mod:`derive.numeric.kl_reference`, batched and not;
the edges (zeros in p, a zero in q, p = q) and values worked out by hand come out; and a wrong closed form fails
the check that verified the right one.
"""
import math
import random

import numpy as np
import pytest
import scipy.special
import sympy as sp

from derive.divergence import categorical, multivariate
from derive.divergence.pair import Pair
from derive.numeric import kl_reference as reference

pytestmark = pytest.mark.slow  # each vector pair takes seconds to derive: CI runs these with the slow set

SETS = 20
RTOL = 1e-9


@pytest.fixture(scope="module")
def mvn():
    return multivariate.derive_mvnormal()


@pytest.fixture(scope="module")
def diag():
    return multivariate.derive_mvnormal_diag()


@pytest.fixture(scope="module")
def cat():
    return categorical.derive_categorical()


@pytest.fixture(scope="module")
def ders(mvn, diag, cat):
    return {"mvnormal": mvn, "mvnormal_diag": diag, "categorical": cat}


def numpy_function(der):
    module = categorical if der.data["pair"].p == "categorical" else multivariate
    space = {"numpy": np, "scipy": scipy}
    exec(compile(module.numpy_source(der), "<numpy>", "exec"), space)
    return space[der.data["pair"].function]


def torch_function(der):
    torch = pytest.importorskip("torch")
    module = categorical if der.data["pair"].p == "categorical" else multivariate
    space = {"torch": torch, "math": math}
    exec(compile(module.torch_source(der), "<torch>", "exec"), space)
    return space[der.data["pair"].function]


def _relative(got, ref):
    return abs(got - ref) / max(abs(ref), 1e-300)


# ---- the derivations -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mvnormal", "mvnormal_diag", "categorical"])
def test_every_step_is_verified_and_the_results_are_named(ders, name):
    der = ders[name]
    assert der.all_verified
    assert all(step.verification.method != "numeric" for step in der.steps)
    stem = der.data["pair"].result_name
    assert stem == f"kl.{name}.{'categorical' if name == 'categorical' else 'mvnormal'}"
    for suffix in ("", ".finite_when", ".stable"):
        der.result(stem + suffix)
    assert set(der.data) >= {"pair", "kl", "closed", "condition", "stable", "parameters", "edges"}
    assert der.data["pair"].name == der.name


def test_the_names_titles_and_argument_orders(mvn, diag, cat):
    assert (mvn.name, diag.name, cat.name) == ("kl-mvnormal-mvnormal", "kl-mvnormal_diag-mvnormal",
                                               "kl-categorical-categorical")
    assert mvn.title == "KL(MVNormal ‖ MVNormal)"
    assert [s.name for s, _ in mvn.data["parameters"]] == ["mu_p", "Sigma_p", "mu_q", "Sigma_q"]
    assert [s.name for s, _ in diag.data["parameters"]] == ["mu_p", "sigma_p", "mu_q", "Sigma_q"]
    assert [s.name for s, _ in cat.data["parameters"]] == ["p", "q"]
    assert "covariance" in dict((s.name, t) for s, t in mvn.data["parameters"])["Sigma_p"]
    assert mvn.data["condition"] is sp.true and diag.data["condition"] is sp.true
    assert mvn.data["edges"] == () and diag.data["edges"] == ()


def test_the_checks_are_exact_at_explicit_sizes(mvn, diag, cat):
    for der, sizes in ((mvn, "d = 1, 2, 3"), (diag, "d = 1, 2, 3"), (cat, "K = 2, 3, 4")):
        labels = [step.verification.label for step in der.steps]
        assert all(label == "proof" or label.startswith("checked at") for label in labels)
        assert sum(label == f"checked at {sizes}" for label in labels) >= 4


def test_the_general_mvnormal_result_is_the_known_matrix_form(mvn):
    """½(tr(Σ_q⁻¹Σ_p) + (μ_q−μ_p)ᵀΣ_q⁻¹(μ_q−μ_p) − d + log det Σ_q − log det Σ_p), term by term."""
    closed = mvn.data["closed"]
    mu_p, Sigma_p, mu_q, Sigma_q = (s for s, _ in mvn.data["parameters"])
    d = multivariate.D
    quad = multivariate.Scalar((mu_q - mu_p).T * Sigma_q.I * (mu_q - mu_p))
    expected = (sp.Trace(Sigma_q.I * Sigma_p) - d + sp.log(sp.Determinant(Sigma_q))
                - sp.log(sp.Determinant(Sigma_p))) / 2
    rest = sp.expand(closed - expected, deep=False)
    (left,) = rest.atoms(multivariate.Scalar)
    assert rest == left / 2
    assert sp.expand(left.args[0] - quad.args[0]) == sp.ZeroMatrix(1, 1)


def test_the_categorical_result_and_its_condition(cat):
    closed = cat.data["closed"]
    assert isinstance(closed, sp.Sum) and closed.limits == ((categorical.j, 1, categorical.K),)
    at = closed.xreplace({categorical.K: 3}).doit().xreplace(
        {categorical.P[1]: sp.Rational(1, 2), categorical.P[2]: sp.Rational(1, 4), categorical.P[3]: sp.Rational(1, 4),
         categorical.Q[1]: sp.Rational(1, 4), categorical.Q[2]: sp.Rational(1, 4), categorical.Q[3]: sp.Rational(1, 2)})
    assert sp.simplify(at - sp.log(2) / 4) == 0  # ½ log 2 + 0 + ¼ log ½
    value = cat.data["kl"]
    assert isinstance(value, sp.Piecewise) and value.args[1] == (sp.oo, True)
    assert cat.data["condition"] == value.args[0][1]


# ---- the exported functions against the reference -------------------------------------------------------

def _pairs(p, q, rng, n=SETS):
    if p == "categorical":
        return [reference.random_pair_parameters(p, q, rng) for _ in range(n)]
    return [reference.random_pair_parameters(p, q, rng, d=1 + i % 2) for i in range(n)]


@pytest.mark.parametrize("name", ["mvnormal", "mvnormal_diag", "categorical"])
def test_numpy_functions_match_the_reference(ders, name):
    der = ders[name]
    p, q = der.data["pair"].p, der.data["pair"].q
    fn = numpy_function(der)
    for pp, qp in _pairs(p, q, np.random.default_rng(11)):
        ref = reference.kl_quadrature(p, q, pp, qp)
        assert _relative(float(fn(*pp, *qp)), ref) < RTOL, (pp, qp)


@pytest.mark.parametrize("name", ["mvnormal", "mvnormal_diag", "categorical"])
def test_torch_functions_match_the_reference(ders, name):
    torch = pytest.importorskip("torch")
    der = ders[name]
    p, q = der.data["pair"].p, der.data["pair"].q
    fn = torch_function(der)
    for pp, qp in _pairs(p, q, np.random.default_rng(12)):
        ref = reference.kl_quadrature(p, q, pp, qp)
        got = fn(*(torch.as_tensor(a) for a in (*pp, *qp)))
        assert got.dtype == torch.float64 and _relative(float(got), ref) < RTOL, (pp, qp)


def _batch(p, q, rng, d):
    sets = [reference.random_pair_parameters(p, q, rng, d=d) if p != "categorical"
            else reference.random_pair_parameters(p, q, rng) for _ in range(SETS)]
    stacked = [np.stack([np.asarray(params[i]) for params, _ in sets]) for i in range(len(sets[0][0]))]
    stacked += [np.stack([np.asarray(params[i]) for _, params in sets]) for i in range(len(sets[0][1]))]
    return sets, stacked


@pytest.mark.parametrize("name", ["mvnormal", "mvnormal_diag", "categorical"])
def test_batched_calls_give_each_member_its_own_value(ders, name):
    der = ders[name]
    p, q = der.data["pair"].p, der.data["pair"].q
    sets, stacked = _batch(p, q, np.random.default_rng(13), d=1)
    ref = np.array([reference.kl_quadrature(p, q, pp, qp) for pp, qp in sets])
    got = numpy_function(der)(*stacked)
    assert got.shape == (SETS,) and np.all(np.abs(got - ref) <= RTOL * np.abs(ref))
    if name != "categorical":  # d = 2: each member of the batch as computed alone
        sets, stacked = _batch(p, q, np.random.default_rng(13), d=2)
        got = numpy_function(der)(*stacked)
        np.testing.assert_allclose(got, [numpy_function(der)(*pp, *qp) for pp, qp in sets], rtol=1e-12)
        assert _relative(got[0], reference.kl_quadrature(p, q, *sets[0])) < RTOL
    if name != "categorical":  # a batch of p's against one q
        one = [a[0] for a in stacked[2:]]
        alone = [numpy_function(der)(*[a[i] for a in stacked[:2]], *one) for i in range(SETS)]
        np.testing.assert_allclose(numpy_function(der)(*stacked[:2], *one), alone, rtol=1e-12)
    torch = pytest.importorskip("torch")
    tgot = torch_function(der)(*(torch.as_tensor(a) for a in stacked))
    np.testing.assert_allclose(tgot.numpy(), got, rtol=1e-12)
    assert torch_function(der)(*(torch.as_tensor(a, dtype=torch.float32) for a in stacked)).dtype == torch.float32


def test_d_equal_three_agrees_with_monte_carlo(mvn, diag):
    rng = np.random.default_rng(14)
    for der in (mvn, diag):
        p, q = der.data["pair"].p, der.data["pair"].q
        pp, qp = reference.random_pair_parameters(p, q, rng, d=3)
        mean, se = reference.kl_monte_carlo(p, q, pp, qp, 200_000, rng)
        assert abs(float(numpy_function(der)(*pp, *qp)) - mean) < 5 * se


# ---- edges and values by hand ----------------------------------------------------------------------------

def test_categorical_zeros_in_p_are_finite_and_a_zero_in_q_is_infinite(cat):
    fn = numpy_function(cat)
    p, q = np.array([0.5, 0.0, 0.5, 0.0]), np.array([0.25, 0.25, 0.25, 0.25])
    value = float(fn(p, q))
    assert value == pytest.approx(math.log(2), rel=1e-14)
    assert value == pytest.approx(reference.kl_quadrature("categorical", "categorical", (p,), (q,)), rel=1e-12)
    assert float(fn(q, q)) == 0.0 and float(fn(p, p)) == 0.0
    bad = fn(np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]]), np.array([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]]))
    assert bad[0] == math.inf and bad[1] == 0.0
    torch = pytest.importorskip("torch")
    tfn = torch_function(cat)
    assert float(tfn(torch.as_tensor(p), torch.as_tensor(q))) == pytest.approx(math.log(2), rel=1e-14)
    tbad = tfn(torch.tensor([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]]), torch.tensor([[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]))
    assert not torch.isnan(tbad).any() and float(tbad[0]) == math.inf
    assert float(tbad[1]) == pytest.approx(math.log(2), rel=1e-6)


def test_categorical_edge_against_the_reference_with_zeros(cat):
    fn, rng = numpy_function(cat), np.random.default_rng(15)
    for _ in range(SETS):
        p, q = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(5))
        p[rng.integers(0, 5, 2)] = 0.0
        p /= p.sum()
        ref = reference.kl_quadrature("categorical", "categorical", (p,), (q,))
        assert _relative(float(fn(p, q)), ref) < RTOL


def test_mvnormal_of_p_against_itself_is_zero(mvn, diag):
    rng = np.random.default_rng(16)
    for d in (1, 2, 3, 5):
        mean, cov = reference.random_parameters("mvnormal", rng, d=d)
        assert abs(float(numpy_function(mvn)(mean, cov, mean, cov))) < 1e-12
        std = rng.uniform(0.3, 3.0, d)
        assert abs(float(numpy_function(diag)(mean, std, mean, np.diag(std ** 2)))) < 1e-12


def test_one_dimension_is_the_univariate_normal_kl_by_hand(mvn, diag):
    m_p, s_p, m_q, s_q = 0.3, 1.7, -0.4, 0.9
    by_hand = math.log(s_q / s_p) + (s_p ** 2 + (m_p - m_q) ** 2) / (2 * s_q ** 2) - 0.5
    got = numpy_function(mvn)([m_p], [[s_p ** 2]], [m_q], [[s_q ** 2]])
    assert float(got) == pytest.approx(by_hand, rel=1e-13)
    assert float(numpy_function(diag)([m_p], [s_p], [m_q], [[s_q ** 2]])) == pytest.approx(by_hand, rel=1e-13)


def test_a_diagonal_p_agrees_between_the_two_functions(mvn, diag):
    rng = np.random.default_rng(17)
    for d in (2, 4):
        (mean, std), (mq, cq) = reference.random_pair_parameters("mvnormal_diag", "mvnormal", rng, d=d)
        full = numpy_function(mvn)(mean, np.diag(std ** 2), mq, cq)
        assert float(numpy_function(diag)(mean, std, mq, cq)) == pytest.approx(float(full), rel=1e-12)


# ---- printing --------------------------------------------------------------------------------------------

def test_the_functions_print_the_stable_results(mvn, diag, cat):
    for der, module in ((mvn, multivariate), (diag, multivariate), (cat, categorical)):
        assert multivariate.numpy_code(der.data["stable"]) in module.numpy_source(der)
        assert multivariate.torch_code(der.data["stable"]) in module.torch_source(der)
        assert "numpy" not in module.torch_source(der)
    for der in (mvn, diag):
        source = multivariate.numpy_source(der)
        assert "numpy.linalg.slogdet" in source and "numpy.linalg.solve" in source and "inv(" not in source
        assert "Sigma_p: covariance" in source or "covariance diag(sigma_p**2)" in source
    assert "scipy.special.xlogy" in categorical.numpy_source(cat) and "torch.xlogy" in categorical.torch_source(cat)


def test_logdet_prints_for_numpy_torch_and_latex():
    X = sp.MatrixSymbol("X", 3, 3)
    assert multivariate.numpy_code(multivariate.LogDet(X)) == "numpy.linalg.slogdet(X)[1]"
    assert multivariate.torch_code(multivariate.LogDet(X)) == "torch.linalg.slogdet(X)[1]"
    assert r"\log\det" in sp.latex(multivariate.LogDet(X))
    explicit = sp.ImmutableMatrix([[2, 1], [1, 3]])
    assert multivariate.LogDet(explicit).doit() == sp.log(5)


# ---- planted bugs ----------------------------------------------------------------------------------------

def test_a_sign_flipped_quadratic_term_fails_the_closed_form_check(mvn, diag):
    for der, is_diag in ((mvn, False), (diag, True)):
        closed = der.data["closed"]
        wrong = closed.replace(lambda e: isinstance(e, multivariate.Scalar), lambda e: -e)
        assert wrong != closed
        setting = multivariate.Setting(der.data["pair"], is_diag, random.Random(0))
        assert multivariate.check_closed(setting, closed).passed
        assert not multivariate.check_closed(setting, wrong).passed


def test_a_wrong_categorical_closed_form_fails_its_check(cat):
    closed = cat.data["closed"]
    setting = categorical.Setting(random.Random(0))
    assert categorical.check_closed(setting, closed).passed
    swapped = closed.xreplace({categorical.P: categorical.Q, categorical.Q: categorical.P})
    assert not categorical.check_closed(setting, swapped).passed
    halved = closed.func(closed.function / 2, *closed.limits)
    assert not categorical.check_closed(setting, halved).passed
