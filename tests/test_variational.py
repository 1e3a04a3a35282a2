"""Free energy, KL and reparameterisation gradient: derived, verified, cross-checked."""
import functools

import numpy as np
import pytest
import sympy as sp

from derive.graph import Graph

pytestmark = [pytest.mark.mutation_variational, pytest.mark.mutation_model]


@functools.lru_cache(maxsize=None)
def vfe():
    from derive.freeenergy import derive_free_energy

    return derive_free_energy()


@functools.lru_cache(maxsize=None)
def kl(prior_std=1):
    from derive.kl_gaussian import derive_kl

    return derive_kl(prior_std=prior_std)


@functools.lru_cache(maxsize=None)
def reparam(prior_std=1):
    from derive.reparam import derive_reparam

    return derive_reparam(prior_std=prior_std)


@pytest.mark.parametrize("build", [vfe, kl, reparam])
def test_every_step_verified_with_a_named_method(build):
    der = build()
    assert der.steps
    for step in der.steps:
        assert step.verified, step.justification
        assert step.verification.method in ("symbolic", "exact")


def test_free_energy_chain_ends_at_evidence_minus_posterior_kl():
    der = vfe()
    text = sp.sstr(der.result("vfe.identity").value)
    assert "KL(q(z) || p(z | x))" in text and "log(p(x))" in text
    assert [s.verification.method for s in der.sections[1].steps] == ["exact"] * 4


def test_conjugate_free_energy_at_a_point_by_hand():
    # x = 0, m = 0, v = 1, tau = 1: by hand E_q[log N(0; z, 1)] = -log(2 pi)/2 - 1/2 and KL(N(0,1)||N(0,1)) = 0
    der = vfe()
    c = der.data["conjugate"]
    val = c["free_energy"].subs({c["x"]: 0, c["m"]: 0, c["v"]: 1, c["tau"]: 1})
    assert abs(float(val) - (-0.5 * np.log(2 * np.pi) - 0.5)) < 1e-12


@pytest.mark.parametrize("mu,sigma,expected", [(0, 1, 0.0), (1, 1, 0.5), (0, np.e, (np.e ** 2 - 1) / 2 - 1),
                                               (-2, 0.5, 0.5 * (4 + 0.25 - 1) - np.log(0.5))])
def test_kl_closed_form_at_hand_values(mu, sigma, expected):
    der = kl()
    f = sp.lambdify((der.data["mu"], der.data["sigma"]), der.data["closed_form"])
    assert abs(f(mu, sigma) - expected) < 1e-12


def test_another_prior_changes_the_kl_and_the_gradient_and_stays_verified():
    lam = sp.Symbol("lambda", positive=True)
    base, other = kl(), kl(lam)
    assert other.all_verified
    assert sp.simplify(base.data["closed_form"] - other.data["closed_form"]) != 0
    # KL(N(0, 4) || N(0, 4)) = 0: a special case known without the formula
    f = sp.lambdify((other.data["mu"], other.data["sigma"], lam), other.data["closed_form"])
    assert abs(f(0, 2, 2)) < 1e-12
    g_base, g_other = reparam().data["grad"], reparam(2).data["grad"]
    assert reparam(2).all_verified
    assert sp.simplify(g_base[1] - g_other[1]) != 0
    # with prior N(0, 4): d s / d z = -z / 4, so d t/d mu = z / 4 at every eps (by hand)
    mu, sigma, eps = reparam(2).data["symbols"]
    assert sp.simplify(g_other[0] - (mu + sigma * eps) / 4) == 0


def test_reparam_gradient_matches_hand_derivation():
    der = reparam()
    mu, sigma, eps = der.data["symbols"]
    g_mu, g_sigma = der.data["grad"]
    # by hand: t = -log sigma - eps^2/2 + z^2/2 + const with z = mu + sigma eps
    assert sp.simplify(g_mu - (mu + sigma * eps)) == 0
    assert sp.simplify(g_sigma - (-1 / sigma + (mu + sigma * eps) * eps)) == 0
    var_mu, var_sigma = der.data["variance"]
    assert sp.simplify(var_mu - sigma ** 2) == 0 and sp.simplify(var_sigma - (mu ** 2 + 2 * sigma ** 2)) == 0


def test_sweep_collects_both_paths_into_mu_and_sigma():
    sweep = reparam().data["sweep"]
    assert {c for c, _ in sweep.terms["mu"]} == {"z", "r"}
    assert {c for c, _ in sweep.terms["sigma"]} == {"z", "r"}


def test_reverse_mode_reproduces_diff_on_other_graphs():
    a, b, c, u, v, w = sp.symbols("a b c u v w", real=True)
    g = Graph()
    g.input("a", a)
    g.input("b", b)
    g.input("c", c)
    g.op("u", u, a * b + sp.sin(a))
    g.op("v", v, sp.exp(u) * c + a ** 2)
    g.op("w", w, u * v + sp.log(1 + v ** 2) + b)
    sweep = g.backward("w")
    values = g.values()
    composed = values[w]
    for name, sym in (("a", a), ("b", b), ("c", c)):
        assert sp.simplify(sweep.adjoint[name].subs(values).subs(values) - sp.diff(composed, sym)) == 0


def test_graph_figures():
    from derive.render.graph import text_tree, to_dot, to_tikz

    graph, output = reparam().figures["graph"]
    assert output == "t" and to_dot(graph).count("->") == 9
    assert r"\begin{tikzpicture}" in to_tikz(graph)
    assert text_tree(graph, output).startswith("t = r - s")


@pytest.mark.parametrize("build,checks", [(vfe, "vfe_checks"), (kl, "kl_checks"), (reparam, "reparam_checks")])
def test_numeric_cross_checks_pass(build, checks):
    from derive.numeric import variational

    results = getattr(variational, checks)(build())
    assert results
    for c in results:
        assert c.passed, c


def test_a_wrong_printed_kl_fails_its_cross_checks():
    """The numeric checks evaluate the printed result object: a slip in it is caught."""
    import copy

    from derive.model import Result
    from derive.numeric import variational

    der = kl()
    res = der.result("kl.closed_form")
    wrong = res.value + sp.log(der.data["sigma"])  # a typical slip: -2 log sigma written as -log sigma
    broken = copy.copy(der)
    broken.results = [Result(r.name, r.lhs, wrong, r.description) if r is res else r for r in der.results]
    failed = [c.name for c in variational.kl_checks(broken) if not c.passed]
    # every closed-form check at sigma != 1 fails (log sigma != 0 there); the general formula is untouched
    assert failed == [c.name for c in variational.kl_checks(der) if c.name.startswith("KL closed form")]
