"""The volume verdict: its rules, on their own (thresholds, the counterexample, the undetermined case)."""
import re

import pytest
import sympy as sp

import derive.volume as volume
from derive.coupling import SYMBOLS, VARIANTS, ExplicitBlock

pytestmark = [pytest.mark.mutation_coupling]


def test_the_condition_splits_the_log_determinant_into_its_x2_part_and_its_constant_part(coupling):
    S = SYMBOLS
    der = coupling("seed")
    verdict = der.result("coupling.volume").value
    assert isinstance(verdict.condition, sp.Equality)
    # log|det| = sum_i G_i(x2) + sum_i s_i = 0  <=>  sum_i G_i(x2) = -sum_i s_i
    assert verdict.condition.lhs == sp.Sum(S.G_i(), (S.i, 1, S.k))
    assert verdict.condition.rhs == -sp.Sum(S.s[S.i], (S.i, 1, S.k))
    assert "for every x2" in verdict.reason and "for all x" not in verdict.reason
    blk = ExplicitBlock(VARIANTS["seed"], 2, G=[sp.S.Zero, sp.S.Zero], s=[sp.Rational(7, 10), -sp.Rational(7, 10)])
    v = volume.decide_block(blk, der.result("coupling.logdet").value)
    assert v.holds is True and isinstance(v.condition, sp.Equality) and v.condition.rhs == 0
    assert v.condition.lhs == blk.instantiate(der.result("coupling.logdet").value)


def test_the_verdict_shows_the_analytic_counterexample_in_plain_maths(coupling):
    verdict = coupling("seed").result("coupling.volume").value
    assert verdict.holds is False
    assert verdict.evidence == {"counterexample": "G ≡ 0, s = (1, 0, …, 0), F arbitrary", "log|det ∂y/∂x|": "1",
                                "det ∂y/∂x": "e ≠ 1",
                                "check": "the determinant of the Jacobian of the block written out from its "
                                         "definition is e at k = 1, 2, 3, 4"}
    assert verdict.reason.startswith("No: with G ≡ 0 and s = (1, 0, …, 0), log|det ∂y/∂x| = 1, so det ∂y/∂x = e ≠ 1")
    words = verdict.reason + " ".join(map(str, verdict.evidence.values()))
    for jargon in ("seed", "random", "instance", "W_F", "slogdet", "coupling.", "derive", ".py", "_fd_"):
        assert jargon not in words, jargon


@pytest.mark.parametrize("variant,counterexample", [("realnvp", "G ≡ (1, 0, …, 0), F arbitrary"),
                                                    ("scaled-nice", "s = (1, 0, …, 0), F arbitrary")])
def test_each_variant_gets_the_plainest_counterexample(coupling, variant, counterexample):
    verdict = coupling(variant).result("coupling.volume").value
    assert verdict.holds is False and verdict.evidence["counterexample"] == counterexample
    assert verdict.evidence["det ∂y/∂x"] == "e ≠ 1"


def test_no_simple_values_that_leave_the_log_determinant_nonzero_is_undetermined():
    """log|det| = sum_i (G_i^2 - G_i): 0 at G ≡ 0 and at G ≡ e_1, yet not identically 0 (G ≡ 2 e_1 gives 2)."""
    from derive.coupling import CouplingVariant, derive_coupling

    quad = CouplingVariant("quad", "log-scale G^2 - G", lambda S: sp.exp(S.G_i() ** 2 - S.G_i()) * S.x1[S.i] + S.F_i(),
                           lambda S: S.x2[S.i])
    der = derive_coupling(quad, check_dims=(1, 2))
    verdict = der.result("coupling.volume").value
    assert verdict.holds is None and verdict.reason.startswith("Undetermined") and verdict.evidence == {}
    assert der.all_verified
    assert volume.find_counterexample(der.data["logdet"]) is None


def test_a_block_that_cannot_be_decided_is_undetermined(monkeypatch, coupling):
    logdet = coupling("nice").result("coupling.logdet").value   # built before the patch
    monkeypatch.setattr(volume, "_simplifies_to_zero", lambda expr, seconds=20.0: False)
    blk = ExplicitBlock(VARIANTS["nice"], 2, F=[sp.S.Zero, sp.S.Zero])
    v = volume.decide_block(blk, logdet)
    assert v.holds is None and v.reason.startswith("Undetermined") and "20 random points" in v.reason


def test_a_block_is_no_as_soon_as_its_log_determinant_leaves_zero(coupling):
    S = SYMBOLS
    blk = ExplicitBlock(VARIANTS["seed"], 2, G=[sp.S.Zero, sp.S.Zero], s=[sp.Rational(1, 10 ** 5), sp.S.Zero])
    v = volume.decide_block(blk, coupling("seed").result("coupling.logdet").value)
    assert v.holds is False and v.evidence["log|det ∂y/∂x|"] == "1/100000"   # above the 1e-6 threshold
    tiny = ExplicitBlock(VARIANTS["seed"], 2, G=[sp.S.Zero, sp.S.Zero], s=[sp.Rational(1, 10 ** 7), sp.S.Zero])
    assert volume.decide_block(tiny, coupling("seed").result("coupling.logdet").value).holds is None
    general = ExplicitBlock(VARIANTS["seed"], 2)   # F, G, s left general: G ≡ 0 and s = 0 give 0, s = e_1 gives 1
    v = volume.decide_block(general, coupling("seed").result("coupling.logdet").value)
    assert v.holds is False and v.evidence["point"] == "at s_1 = 1, s_2 = 0 with G ≡ 0"
    assert v.evidence["log|det ∂y/∂x|"] == "1" and v.evidence["|det ∂y/∂x|"] == "2.71828 ≠ 1"
    assert S.k not in v.condition.lhs.free_symbols


@pytest.mark.parametrize("value,text", [(2.0, "7.38906"), (-3.0, "0.0497871"), (699.0, "3.73115e+303"),
                                        (700.0, "exp(700)"), (700.5, "exp(700.5)"), (1e30, "exp(1e+30)")])
def test_a_determinant_is_shown_without_overflow(value, text):
    assert volume._exp_text(value) == text


def test_a_proof_that_runs_out_of_time_is_no_proof(monkeypatch):
    import time as _time

    def slow(expr, *args, **kwargs):
        _time.sleep(5)
        return sp.S.Zero

    monkeypatch.setattr(volume.sp, "simplify", slow)
    x = sp.Symbol("x", real=True)
    assert volume._simplifies_to_zero(sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1, seconds=0.05) is False


def test_a_volume_preserving_condition_is_printed_as_an_equation(coupling):
    verdict = coupling("nice").result("coupling.volume").value
    assert verdict.holds is True and verdict.evidence == {"proof": "the log-determinant simplifies to 0"}
    assert isinstance(verdict.condition, sp.Equality) and verdict.condition.lhs == 0 and verdict.condition.rhs == 0


def test_a_block_with_one_general_conditioner_is_decided_with_simple_values_of_it(coupling):
    blk = ExplicitBlock(VARIANTS["seed"], 1, F=[sp.S.Zero], s=[sp.S.Zero])
    v = volume.decide_block(blk, coupling("seed").result("coupling.logdet").value)
    # G ≡ 0 gives log|det| = 0; G ≡ (1) gives 1
    assert v.holds is False and v.reason == "No: with G ≡ (1), log|det ∂y/∂x| = 1, so |det| = 2.71828 ≠ 1."


def _numbers(words: str) -> dict:
    return {name: float(value.replace("−", "-")) for name, value in re.findall(r"(\w+) = (−?[\d.e+-]+)", words)}


def test_a_block_zero_at_the_origin_is_tried_at_random_points_across_the_interval(coupling):
    p = sp.Symbol("p", real=True)
    blk = ExplicitBlock(VARIANTS["seed"], 1, F=[sp.S.Zero], s=[sp.S.Zero])
    blk = ExplicitBlock(VARIANTS["seed"], 1, F=[sp.S.Zero], G=[p * blk.x2[0]], s=[sp.S.Zero])
    v = volume.decide_block(blk, coupling("seed").result("coupling.logdet").value)
    point = _numbers(v.evidence["point"])
    assert v.holds is False and set(point) == {"p", "x2_1"}
    assert all(-1.5 <= value <= 1.5 for value in point.values()) and point["p"] != point["x2_1"]
    value = float(v.evidence["log|det ∂y/∂x|"].replace("−", "-"))
    assert value == pytest.approx(point["p"] * point["x2_1"], rel=2e-3, abs=1e-4) and abs(value) > 1e-6
