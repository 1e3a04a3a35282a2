"""The KL catalogue: derived values against values worked out by hand, the exported functions at their
edges, the command line, the documents, and planted bugs that the checks catch."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

from derive.divergence import catalogue
from derive.divergence.code import compiled

DERIVED: dict = {}


def derived(name):
    if name not in DERIVED:
        DERIVED[name] = catalogue.derive(name)
    return DERIVED[name]


def value(name, *args):
    """The derived closed form (result kl.<p>.<q>) at the arguments, p's parameters first."""
    der = derived(name)
    syms = [s for s, _ in der.data["parameters"]]
    return float(der.result(catalogue.pair_named(name).result_name).value.subs(dict(zip(syms, args))))


# -- values worked out by hand from the definitions -------------------------------------------------------------

def test_exponential_by_hand():
    # E_p[log p - log q] = log(lp/lq) - (lp - lq) E[x], E[x] = 1/lp
    assert value("kl-exponential-exponential", 2, 3) == pytest.approx(math.log(2 / 3) + 3 / 2 - 1, rel=1e-14)


def test_bernoulli_and_poisson_by_hand():
    assert value("kl-bernoulli-bernoulli", 0.3, 0.6) == pytest.approx(
        0.3 * math.log(0.3 / 0.6) + 0.7 * math.log(0.7 / 0.4), rel=1e-14)
    # sum_k p(k) (k log(lp/lq) - lp + lq) = lp log(lp/lq) - lp + lq
    assert value("kl-poisson-poisson", 2.5, 4.0) == pytest.approx(2.5 * math.log(2.5 / 4) - 2.5 + 4, rel=1e-14)


def test_gamma_is_in_the_rate_parameterisation():
    """Same shape 2, rate 3 against rate 1: E_p[log p - log q] = 2 log 3 - (3 - 1) E[x] with E[x] = 2/3.  In the
    scale parameterisation the same numbers would give 2 log(1/3) + ... (a different value)."""
    assert value("kl-gamma-gamma", 2, 3, 2, 1) == pytest.approx(2 * math.log(3) - 4 / 3, rel=1e-14)
    by_quadrature = integrate.quad(lambda x: 9 * x * math.exp(-3 * x) * (math.log(9 * x * math.exp(-3 * x))
                                                                          - math.log(x * math.exp(-x))), 0, 60)[0]
    assert value("kl-gamma-gamma", 2, 3, 2, 1) == pytest.approx(by_quadrature, rel=1e-9)


def test_uniform_against_beta_at_the_edge_where_libraries_return_nan():
    f = compiled(derived("kl-uniform-beta"))
    assert f(0.0, 1.0, 1.0, 1.0) == 0.0                     # the same distribution
    # Uniform(0, 1) against Beta(2, 1), density 2x: -E[log 2x] = -log 2 + 1
    assert f(0.0, 1.0, 2.0, 1.0) == pytest.approx(1 - math.log(2), rel=1e-14)
    assert f(-0.5, 1.0, 2.0, 1.0) == math.inf               # p has mass where q has none
    assert not np.isnan(f(np.array([0.0, 0.0, 0.2]), np.array([1.0, 0.5, 1.0]), 1.5, 0.5)).any()


def test_edges_of_the_discrete_pairs_are_exact_and_never_nan():
    bern = compiled(derived("kl-bernoulli-bernoulli"))
    assert bern(0.0, 0.25) == pytest.approx(-math.log(0.75), rel=1e-15)  # all mass on 0
    assert bern(1.0, 1.0) == 0.0 and bern(0.5, 0.0) == math.inf
    pois = compiled(derived("kl-poisson-poisson"))
    assert pois(0.0, 2.0) == 2.0                            # the point mass at 0: -log q(0) = lambda_q
    assert pois(1.0, 0.0) == math.inf


def test_near_equal_parameters_keep_their_digits():
    f = compiled(derived("kl-exponential-exponential"))
    lp, lq = 1.0, 1.0 + 1e-9
    # log(lp/lq) + lq/lp - 1 = d^2/2 + O(d^3) for lq = lp (1 + d)
    assert f(lp, lq) == pytest.approx(0.5e-18, rel=1e-6)
    naive = math.log(lp) - math.log(lq) + lq / lp - 1
    assert abs(naive - 0.5e-18) > 1e-3 * 0.5e-18           # the naive formula loses the digits


def test_every_step_of_the_cheap_pairs_is_verified_and_the_functions_agree_with_quadrature():
    from derive.divergence.crosscheck import cross_checks

    for name in ("kl-exponential-exponential", "kl-bernoulli-bernoulli", "kl-poisson-poisson", "kl-uniform-beta"):
        der = derived(name)
        assert der.all_verified, name
        checks = cross_checks(der)
        assert all(c.passed for c in checks), [c for c in checks if not c.passed]
        assert any("20 random parameter sets" in c.name for c in checks)


@pytest.mark.slow
@pytest.mark.parametrize("name", catalogue.names())
def test_every_pair_verifies_and_checks(name):
    from derive.divergence.crosscheck import cross_checks

    der = catalogue.derive(name)
    assert der.all_verified, [s.justification for s in der.steps if not s.verified]
    checks = cross_checks(der)
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]


def test_the_catalogue_holds_at_least_16_pairs():
    assert len(catalogue.names()) >= 16
    out = subprocess.run([sys.executable, "-m", "derive", "list"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    assert sum(line.startswith("kl-") for line in out.stdout.splitlines()) >= 16


# -- the command line ---------------------------------------------------------------------------------------------

def _derive(*args):
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True, timeout=300)


def test_show_kl_by_families_gives_the_named_results():
    out = _derive("show", "kl", "--p", "exponential", "--q", "exponential", "--json")
    assert out.returncode == 0, out.stderr
    results = {r["name"]: r for r in json.loads(out.stdout)["results"]}
    assert {"kl.exponential.exponential", "kl.exponential.exponential.stable"} <= set(results)
    rebuilt = eval(results["kl.exponential.exponential"]["value"]["srepr"], sp.__dict__.copy())  # noqa: S307
    lp, lq = sorted(rebuilt.free_symbols, key=str)
    assert sp.simplify(rebuilt - (sp.log(lp / lq) + lq / lp - 1)) == 0


@pytest.mark.parametrize("args, words", [(("show", "kl", "--p", "gamma"), "go together"),
                                         pytest.param(("show", "kl", "--p", "gamma", "--q", "normal"), "no KL pair",
                                                      marks=pytest.mark.slow),
                                         pytest.param(("show", "coupling", "--p", "gamma", "--q", "gamma"),
                                                      "name a KL pair", marks=pytest.mark.slow),
                                         (("check", "kl-nope-nope"), "unknown derivation")])
def test_bad_pairs_are_refused_in_one_line(args, words):
    out = _derive(*args)
    assert out.returncode == 2 and words in out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


# -- the documents ------------------------------------------------------------------------------------------------

def test_the_catalogue_document_shows_the_formulas():
    from derive import kl_catalogue_document
    from derive.render import html, latex, markdown

    doc = kl_catalogue_document.build([derived("kl-bernoulli-bernoulli"), derived("kl-exponential-exponential")])
    md, tex, page = markdown.render(doc), latex.render(doc), html.render(doc)
    for text in (md, tex):
        assert r"\operatorname{xlogy}{\left(p_{p},p_{p} \right)}" in text or r"\operatorname{xlogy}\left(p_{p}, p_{p}\right)" in text
        assert r"\log{\left(\lambda_{p} \right)}" in text
        assert "kl_exponential_exponential" in text.replace("\\_", "_")
    assert "<math" in page and "kl_bernoulli_bernoulli" in page
    assert "| Bernoulli ‖ Bernoulli |" in md


# -- planted bugs -------------------------------------------------------------------------------------------------

def test_a_wrong_expectation_is_caught(monkeypatch):
    from derive.divergence import expect, pair

    real = expect.expectation

    def wrong(family, T, x, theta):
        v, why = real(family, T, x, theta)
        return (v * sp.Rational(101, 100) if T == x else v), why
    monkeypatch.setattr(pair, "expectation", wrong)
    der = pair.derive_pair(pair.Pair("exponential", "exponential"))
    assert not der.all_verified
    assert sum(not s.verified for s in der.steps) >= 2     # E[x] and the closed form


def test_a_sign_error_in_the_exported_function_is_caught(monkeypatch):
    from derive.divergence import crosscheck

    der = derived("kl-poisson-poisson")
    real = crosscheck.compiled
    monkeypatch.setattr(crosscheck, "compiled", lambda d, backend="numpy": (lambda lp, lq: -real(d)(lp, lq)))
    failed = {c.name for c in crosscheck.cross_checks(der) if not c.passed}
    assert any("20 random parameter sets" in n for n in failed) and any("Monte Carlo" in n for n in failed)


def test_the_naive_form_at_the_edge_is_caught():
    """x log x written without xlogy: NaN at p = 0, which the edge check reports."""
    from derive.divergence import crosscheck
    from derive.divergence.stable import plain

    der = derived("kl-bernoulli-bernoulli")
    naive = type(der)(der.name, der.title, der.summary, data={**der.data, "stable": plain(der.data["stable"])})
    failed = [c for c in crosscheck.cross_checks(naive) if not c.passed]
    assert any("= 0.0" in c.name or "= 0 " in c.name or "p_p = 0" in c.name for c in failed)


def test_changing_the_definition_changes_the_result(monkeypatch):
    """Exponential by its scale theta = 1/lambda: the derivation follows the new density and stays verified."""
    from derive.divergence import families, pair

    old = families.FAMILIES["exponential"]
    scale = families.Family("exponential", "Exponential", (families.Parameter("theta", "positive", 0.3, 3.0, "scale"),),
                            lambda x, t: sp.exp(-x / t) / t, "positive", "normaliser", normaliser=lambda t: t)
    monkeypatch.setitem(families.FAMILIES, "exponential", scale)
    der = pair.derive_pair(pair.Pair("exponential", "exponential"))
    assert der.all_verified
    tp, tq = (s for s, _ in pair.parameters(pair.Pair("exponential", "exponential")))
    got = der.result("kl.exponential.exponential").value
    assert sp.simplify(got - (sp.log(tq / tp) + tp / tq - 1)) == 0
    assert old.parameters[0].name == "lambda"


def _summary_table(text: str) -> str:
    lines = text.split("## 1 Summary", 1)[1].split("\n## ", 1)[0].splitlines()
    return "\n".join(ln for ln in lines if ln.startswith("|"))


def test_the_readme_table_is_the_catalogues_summary():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- kl-table -->", 1)[1].split("<!-- /kl-table -->", 1)[0].strip()
    assert block == _summary_table((root / "outputs" / "kl-catalogue.md").read_text(encoding="utf-8"))
    assert block.count("\n") >= 17                        # header, rule and at least 16 pairs


def test_a_nan_is_never_agreement():
    """A quadrature that returns NaN fails the step it checks (max() would have kept the other values)."""
    import mpmath

    from derive.divergence import numeric

    assert not numeric.compare([(mpmath.mpf(1), mpmath.mpf(1)), (mpmath.nan, mpmath.mpf(2))], "x").passed
    assert not numeric.compare([(mpmath.mpf(1), mpmath.nan)], "x").passed


def test_an_exported_function_that_returns_nan_fails_its_cross_checks(monkeypatch):
    from derive.divergence import crosscheck

    der = derived("kl-bernoulli-bernoulli")
    real = crosscheck.compiled
    calls = {"n": 0}

    def sometimes_nan(d, backend="numpy"):
        f = real(d)

        def g(*args):
            calls["n"] += 1
            return f(*args) if calls["n"] % 3 else float("nan")
        return g
    monkeypatch.setattr(crosscheck, "compiled", sometimes_nan)
    failed = {c.name for c in crosscheck.cross_checks(der) if not c.passed}
    assert any("20 random parameter sets" in n for n in failed)


@pytest.mark.parametrize("option", [("--mu", "1", "--sigma", "2"), pytest.param(("--dim", "4"), marks=pytest.mark.slow),
                                    pytest.param(("--F", "tanh(x)"), marks=pytest.mark.slow)])
def test_options_of_other_derivations_are_refused_for_a_pair(option):
    out = _derive("show", "kl-gamma-gamma", *option)
    assert out.returncode == 2 and "does not apply to kl-gamma-gamma" in out.stderr
    assert out.stderr.count("\n") == 1


def test_the_terminal_shows_the_closed_and_the_stable_forms():
    """Bernoulli: KL = p log(p/q) + (1 − p) log((1 − p)/(1 − q)), as derived, and its xlogy form."""
    import io

    from derive.render.terminal import make_console, render

    console = make_console(file=io.StringIO(), width=120, record=True, soft_wrap=False)
    render(derived("kl-bernoulli-bernoulli"), console)
    text = console.export_text()
    assert "= pₚ⋅log(pₚ) - pₚ⋅log(p_q) + (1 - pₚ)⋅log(1 - pₚ) + (pₚ - 1)⋅log(1 - p_q)" in text
    assert "= xlogy(pₚ, pₚ) - xlogy(pₚ, p_q) + xlogy(1 - pₚ, 1 - pₚ) + xlogy(pₚ - 1, 1 - p_q)" in text
    assert "6/6 steps verified" in text
