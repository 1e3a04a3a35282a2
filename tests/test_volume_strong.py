"""Question 1.3, volume: the analytic counterexample, the condition for every x2, the NICE block it
contains, det > 0, and what the log-determinant does not involve; each check shown to catch a planted slip."""
import copy

import pytest
import sympy as sp

import derive.volume as volume
from derive.coupling import SYMBOLS, VARIANTS, ExplicitBlock

pytestmark = [pytest.mark.mutation_coupling]

S = SYMBOLS


def _volume_steps(der):
    return [step for sec in der.sections if sec.title == "Volume preservation" for step in sec.steps]


def _seed_block_by_hand(k, G, s):
    """The sheet's block y1 = exp(G(x2)) ∘ x1 + F(x2), y2 = exp(s) ∘ x2, written out here, F undefined."""
    x1 = sp.symbols(f"a1:{k + 1}", real=True)
    x2 = sp.symbols(f"b1:{k + 1}", real=True)
    F = [sp.Function(f"f{n}", real=True)(*x2) for n in range(k)]
    y = [sp.exp(G[n]) * x1[n] + F[n] for n in range(k)] + [sp.exp(s[n]) * x2[n] for n in range(k)]
    return sp.Matrix(y), sp.Matrix(list(x1) + list(x2)), x1, x2, F


@pytest.mark.parametrize("k", [2, 3])
def test_the_counterexample_has_det_exactly_e(coupling, k):
    # G ≡ 0, s = (1, 0, ..., 0): the Jacobian is triangular with e, 1, ..., 1 on its diagonal
    y, x, *_ = _seed_block_by_hand(k, [0] * k, [1] + [0] * (k - 1))
    assert y.jacobian(x).det() == sp.E
    step = _volume_steps(coupling("seed"))[0]
    assert step.rhs == sp.E and str(step.lhs) == "det ∂y/∂x at G ≡ 0, s = (1, 0, …, 0)"
    assert step.verified and step.verification.label == "checked at k = 1, 2, 3, 4"
    assert "= 1, so det ∂y/∂x = e ≠ 1 whatever F is" in step.justification


def test_the_counterexample_is_found_by_putting_simple_values_into_the_log_determinant(coupling):
    logdet = coupling("seed").data["logdet"]
    choice, value = volume.find_counterexample(logdet)
    assert dict(choice.values) == {S.G: 0, S.s: 1} and value == 1
    # the order tried: nothing nonzero, then s = e_1, then G ≡ e_1, then both
    assert [dict(c.values) for c in volume.choices([S.G, S.s])] == [
        {S.G: 0, S.s: 0}, {S.G: 0, S.s: 1}, {S.G: 1, S.s: 0}, {S.G: 1, S.s: 1}]
    assert volume.find_counterexample(coupling("nice").data["logdet"]) is None


def test_the_condition_is_the_x2_part_against_the_constant_part(coupling):
    step = _volume_steps(coupling("seed"))[1]
    assert step.lhs == sp.Sum(S.G_i(), (S.i, 1, S.k))
    assert step.rhs == -sp.Sum(S.s[S.i], (S.i, 1, S.k))
    assert step.verified and step.verification.label == "proof"
    assert "= −(s_1 + … + s_k) for every x2" in step.justification
    assert "is a constant, namely −(s_1 + … + s_k)" in step.justification
    # by hand at k = 2: log det of the written-out Jacobian is lhs - rhs there
    G = [sp.Function(f"g{n}", real=True)(sp.Symbol("b1", real=True), sp.Symbol("b2", real=True)) for n in (1, 2)]
    s = sp.symbols("c1 c2", real=True)
    y, x, *_ = _seed_block_by_hand(2, G, s)
    assert sp.simplify(sp.log(y.jacobian(x).det()) - (G[0] + G[1] - (-(s[0] + s[1])))) == 0


def test_g_zero_and_s_zero_give_the_additive_block_with_y2_equal_to_x2(coupling):
    step = _volume_steps(coupling("seed"))[2]
    assert step.lhs == sp.Matrix([S.y1[S.i], S.y2[S.i]])
    assert step.rhs == sp.Matrix([S.x1[S.i] + S.F_i(), S.x2[S.i]])
    assert step.verified and step.verification.label == "checked at k = 1, 2, 3, 4"
    assert "the additive (NICE) block y1 = x1 + F(x2), y2 = x2" in step.justification
    y, x, *_ = _seed_block_by_hand(3, [0] * 3, [0] * 3)
    assert y.jacobian(x).det() == 1


def test_det_is_positive_and_the_log_determinant_involves_neither_f_nor_x1(coupling):
    positive, independent = _volume_steps(coupling("seed"))[3:5]
    assert positive.rhs == 1 and positive.lhs == sp.sign(coupling("seed").result("coupling.det").lhs)
    assert positive.verified and positive.verification.label == "checked at k = 1, 2, 3, 4"
    assert independent.rhs == sp.zeros(1, 2) and independent.verified
    assert "neither F nor x1" in independent.justification and "d = 2k numbers" in independent.justification
    assert "O(d)" in independent.justification and "O(d³)" in independent.justification


def test_the_verdict_states_the_condition_for_every_x2(coupling):
    verdict = coupling("seed").result("coupling.volume").value
    assert verdict.holds is False
    assert ("G_1(x2) + … + G_k(x2) = −(s_1 + … + s_k) for every x2" in verdict.reason
            and "for example G ≡ 0 with s_1 + … + s_k = 0" in verdict.reason
            and "With G ≡ 0 and s = 0 it is the additive (NICE) block y1 = x1 + F(x2), y2 = x2." in verdict.reason)


# ---- planted slips: each check catches its own -----------------------------------------------------------

def test_a_log_determinant_with_a_wrong_term_fails_the_counterexample_check(coupling):
    wrong = sp.Sum(S.G_i(), (S.i, 1, S.k)) + 2 * sp.Sum(S.s[S.i], (S.i, 1, S.k))
    choice, value = volume.find_counterexample(wrong)
    assert value == 2
    assert not volume.check_counterexample(VARIANTS["seed"], choice, value, (1, 2, 3, 4)).passed
    right = volume.find_counterexample(coupling("seed").data["logdet"])
    assert volume.check_counterexample(VARIANTS["seed"], *right, (1, 2, 3, 4)).passed
    # the whole volume part: the step is unverified and the verdict is not a 'no'
    der = copy.copy(coupling("seed"))
    der.data = {**der.data, "logdet": wrong}
    steps, verdict = volume.volume_part(der, {n: ExplicitBlock(VARIANTS["seed"], n) for n in (1, 2)})
    assert not steps[0].verified and verdict.holds is None


def test_a_determinant_with_a_minus_sign_fails_the_positivity_check():
    blocks = {n: ExplicitBlock(VARIANTS["seed"], n) for n in (1, 2, 3)}
    dets = volume.generic_dets(blocks)
    assert volume.check_positive(dets).passed
    assert not volume.check_positive({**dets, 2: -dets[2]}).passed
    with_g = {n: ExplicitBlock(VARIANTS["seed"], n, G=[blk.x2[0]] * n).jacobian().det()   # still positive
              for n, blk in blocks.items()}
    assert volume.check_positive(with_g).passed
    assert not volume.check_positive({1: blocks[1].x2[0] * dets[1]}).passed   # sign unknown


def test_a_determinant_that_involves_x1_or_f_fails_the_independence_check():
    blocks = {n: ExplicitBlock(VARIANTS["seed"], n) for n in (1, 2)}
    dets = volume.generic_dets(blocks)
    assert volume.check_independent(dets, blocks, ["F"]).passed
    assert not volume.check_independent({**dets, 2: dets[2] * sp.exp(blocks[2].x1[1])}, blocks, ["F"]).passed
    assert not volume.check_independent({**dets, 1: dets[1] * sp.exp(blocks[1].F[0])}, blocks, ["F"]).passed


def test_a_wrong_split_fails_the_condition_check(coupling):
    logdet = coupling("seed").data["logdet"]
    blocks = {n: ExplicitBlock(VARIANTS["seed"], n) for n in (1, 2)}
    dets = volume.generic_dets(blocks)
    G, s = sp.Sum(S.G_i(), (S.i, 1, S.k)), sp.Sum(S.s[S.i], (S.i, 1, S.k))
    assert volume.check_condition(G, -s, logdet, blocks, dets).passed
    assert not volume.check_condition(s, -G, logdet, blocks, dets).passed      # the right side varies with x2
    assert not volume.check_condition(G, s, logdet, blocks, dets).passed       # a sign lost


def test_a_reduced_block_that_is_not_the_definition_fails_its_check(coupling):
    der = coupling("seed")
    blocks = {n: ExplicitBlock(VARIANTS["seed"], n) for n in (1, 2)}
    good = volume.reduced_block_step(der, blocks, volume.Choice(((S.G, 0), (S.s, 0))))
    assert good.verified
    # s = e_1 does not satisfy the condition: its det is e, not 1
    assert not volume.reduced_block_step(der, blocks, volume.Choice(((S.G, 0), (S.s, 1)))).verified


def test_the_nice_variant_keeps_its_yes_with_a_proof(coupling):
    verdict = coupling("nice").result("coupling.volume").value
    assert verdict.holds is True and verdict.reason.startswith("Yes: the log-determinant is 0 for every k")
    assert _volume_steps(coupling("nice")) == []   # det = 1 is a number: nothing left to show


def test_a_log_determinant_that_only_simplifies_to_zero_gets_a_proved_step(coupling, monkeypatch):
    der = copy.copy(coupling("nice"))
    hidden_zero = sp.Sum(sp.log(sp.exp(S.G_i())) - S.G_i(), (S.i, 1, S.k))   # a sum of k zeros
    der.data = {**der.data, "logdet": hidden_zero}
    blocks = {n: ExplicitBlock(VARIANTS["nice"], n) for n in (1, 2)}
    steps, verdict = volume.volume_part(der, blocks)
    assert verdict.holds is True and steps[0].rhs == 0 and steps[0].verified
    # a 'yes' for the seed's log-determinant fails the same step's check
    der = copy.copy(coupling("seed"))
    monkeypatch.setattr(volume, "_simplifies_to_zero", lambda expr, seconds=20.0: True)
    steps, verdict = volume.volume_part(der, {n: ExplicitBlock(VARIANTS["seed"], n) for n in (1, 2)})
    assert verdict.holds is True and not steps[0].verified


def test_the_prose_maths_is_one_line_of_unicode():
    G, s = sp.Sum(S.G_i(), (S.i, 1, S.k)), sp.Sum(S.s[S.i], (S.i, 1, S.k))
    assert volume.text(G) == "G_1(x2) + … + G_k(x2)"
    assert volume.text(-s) == "−(s_1 + … + s_k)"
    assert volume.text(sp.Sum(sp.KroneckerDelta(S.i, 1), (S.i, 1, S.k))) == "1 + 0 + … + 0"
    assert volume.text(sp.exp(1)) == "e" and volume.text(sp.Rational(-1, 10)) == "−1/10"


def test_a_specific_block_is_decided_at_the_plainest_point(coupling):
    blk = ExplicitBlock(VARIANTS["realnvp"], 2)
    blk = ExplicitBlock(VARIANTS["realnvp"], 2, F=[sp.S.Zero] * 2, G=[sp.sin(x) for x in blk.x2])
    v = volume.decide_block(blk, coupling("realnvp").result("coupling.logdet").value)
    # log|det| = sin(x2_1) + sin(x2_2): 0 at the origin, sin(1) at x2 = (1, 0)
    assert v.holds is False and v.evidence["point"] == "at x2_1 = 1, x2_2 = 0"
    assert v.evidence["log|det ∂y/∂x|"] == "sin(1) ≈ 0.841471"
    assert v.reason == "No: at x2_1 = 1, x2_2 = 0, log|det ∂y/∂x| = sin(1) ≈ 0.841471, so |det| = 2.31978 ≠ 1."
