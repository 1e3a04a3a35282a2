"""The derivation model: what a step, a verdict, a cross-check and a derivation report."""
import math

import pytest
import sympy as sp

from derive.model import CrossCheck, Derivation, Result, Step, Verdict, Verification

pytestmark = pytest.mark.mutation

X = sp.Symbol("x", real=True)


def _step(method="symbolic", passed=True, **kw):
    return Step(X, X, "why", Verification(method, passed, "how", **kw))


def test_a_step_is_verified_only_by_a_passed_check():
    assert _step().verified and _step("exact").verified
    assert _step("numeric", residual=0.0, tolerance=1e-9, points=3).verified
    assert not _step("symbolic", passed=False).verified
    assert not _step("exact", passed=False).verified
    assert not Step(X, X, "why", Verification.unverified("no check")).verified


def test_a_verdict_answers_yes_no_or_undetermined():
    assert [Verdict("q", h, None, "r").answer for h in (True, False, None)] == ["yes", "no", "undetermined"]


@pytest.mark.parametrize("residual,tolerance,passed", [(0.0, 0.0, True), (1e-9, 1e-9, True), (2e-9, 1e-9, False),
                                                       (math.nan, 1.0, False), (math.inf, math.inf, True),
                                                       (-1.0, 0.0, True)])
def test_a_cross_check_passes_within_its_tolerance_and_never_on_nan(residual, tolerance, passed):
    c = CrossCheck.compare("name", "method", residual, tolerance)
    assert isinstance(c, CrossCheck) and c.passed is passed and c.name == "name" and c.method == "method"
    assert c.tolerance == tolerance and (c.residual == residual or math.isnan(residual))


def _derivation():
    der = Derivation("d", "title", "summary")
    a = der.section("First", "2.1")
    a.steps += [_step(), _step()]
    b = der.section("Second", "2.1")
    b.steps += [_step()]
    c = der.section("Third", "2.2")
    c.steps += [_step(passed=False)]
    der.results += [Result("r.one", X, 1, "one"), Result("r.two", X, 2, "two")]
    return der, (a, b, c)


def test_steps_are_numbered_per_question_across_sections():
    der, (a, b, c) = _derivation()
    numbered = der.numbered()
    assert [sec for sec, _ in numbered] == [a, b, c]
    assert [[label for label, _ in rows] for _, rows in numbered] == [["2.1.1", "2.1.2"], ["2.1.3"], ["2.2.1"]]
    assert [step for _, rows in numbered for _, step in rows] == der.steps == a.steps + b.steps + c.steps


def test_a_derivation_is_verified_only_when_every_step_is():
    der, (a, b, c) = _derivation()
    assert not der.all_verified
    c.steps[0] = _step()
    assert der.all_verified
    assert Derivation("e", "t", "s").all_verified   # no steps: nothing unverified


def test_all_checks_pass_only_when_every_cross_check_passes():
    der, _ = _derivation()
    assert der.all_checks_pass
    der.checks = [CrossCheck.compare("a", "m", 0.0, 1.0), CrossCheck.compare("b", "m", 2.0, 1.0)]
    assert not der.all_checks_pass
    der.checks = der.checks[:1]
    assert der.all_checks_pass


def test_results_are_found_by_name():
    der, _ = _derivation()
    assert der.result("r.two").value == 2 and der.result("r.one").value == 1
    with pytest.raises(KeyError):
        der.result("r.three")


def test_a_derivation_shows_itself_as_markdown():
    der, _ = _derivation()
    md = der._repr_markdown_()
    assert isinstance(md, str) and "title" in md and "2.1" in md
