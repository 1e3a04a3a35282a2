"""The volume verdict: its rules, on their own (thresholds, the counterexample, the undetermined case)."""
import numpy as np
import pytest
import sympy as sp

import derive.volume as volume
from derive.coupling import SYMBOLS, VARIANTS, ExplicitBlock

pytestmark = [pytest.mark.mutation_coupling]


def test_the_condition_is_an_unevaluated_log_determinant_equal_to_zero(coupling):
    der = coupling("seed")
    verdict = der.result("coupling.volume").value
    assert isinstance(verdict.condition, sp.Equality)
    assert verdict.condition.lhs == der.result("coupling.logdet").value and verdict.condition.rhs == 0
    blk = ExplicitBlock(VARIANTS["seed"], 2, G=[sp.S.Zero, sp.S.Zero], s=[sp.Rational(7, 10), -sp.Rational(7, 10)])
    v = volume.decide_block(blk, der.result("coupling.logdet").value)
    assert v.holds is True and isinstance(v.condition, sp.Equality) and v.condition.rhs == 0
    assert v.condition.lhs == blk.instantiate(der.result("coupling.logdet").value)


@pytest.mark.parametrize("logdet,reference,holds", [
    (1.5e-6, 1.5e-6, False), (1e-6, 1e-6, None), (-1.5e-6, -1.5e-6, False), (0.3, 0.3 + 1e-8, False),
    (0.3, 0.3 + 2e-8, None), (0.3, 0.3 - 1.5e-8, None), (0.0, 0.0, None), (float("nan"), float("nan"), None),
])
def test_a_no_needs_a_log_determinant_off_zero_that_slogdet_confirms(monkeypatch, coupling, logdet, reference, holds):
    monkeypatch.setattr(volume, "_simplifies_to_zero", lambda expr, seconds=20.0: False)
    monkeypatch.setattr(volume, "counterexample", lambda der: {"logdet": logdet, "slogdet_of_fd_jacobian": reference,
                                                                "det": float(np.exp(logdet))})
    v = volume.decide_general(coupling("seed"), coupling("seed").result("coupling.logdet").value)
    assert v is not None and v.holds is holds
    assert v.reason.startswith({False: "Not in general", None: "Undetermined"}[holds])


def test_the_counterexample_is_the_largest_log_determinant_of_the_instances(coupling):
    from derive.numeric.coupling import random_instance

    der = coupling("seed")
    example = volume.counterexample(der)
    sizes = []
    for seed in range(1, 9):
        block, rng = random_instance(der, 2, seed)
        x = rng.normal(size=(1, 4))
        sizes.append(abs(block.logdet(x)[0]))
    assert abs(example["logdet"]) == pytest.approx(max(sizes), rel=1e-9)
    assert f"seed={1 + int(np.argmax(sizes))})" in example["instance"]
    assert all(v == round(v, 3) for v in example["s"] + example["x"])


def test_a_block_that_cannot_be_decided_is_undetermined(monkeypatch, coupling):
    monkeypatch.setattr(volume, "_simplifies_to_zero", lambda expr, seconds=20.0: False)
    blk = ExplicitBlock(VARIANTS["nice"], 2, F=[sp.S.Zero, sp.S.Zero])
    v = volume.decide_block(blk, coupling("nice").result("coupling.logdet").value)
    assert v.holds is None and v.reason.startswith("Undetermined") and "20 random points" in v.reason


def test_a_block_is_no_as_soon_as_its_log_determinant_leaves_zero(coupling):
    S = SYMBOLS
    blk = ExplicitBlock(VARIANTS["seed"], 2, G=[sp.S.Zero, sp.S.Zero], s=[sp.Rational(1, 10 ** 5), sp.S.Zero])
    v = volume.decide_block(blk, coupling("seed").result("coupling.logdet").value)
    assert v.holds is False and v.evidence["logdet"] == pytest.approx(1e-5)   # above the 1e-6 threshold
    tiny = ExplicitBlock(VARIANTS["seed"], 2, G=[sp.S.Zero, sp.S.Zero], s=[sp.Rational(1, 10 ** 7), sp.S.Zero])
    assert volume.decide_block(tiny, coupling("seed").result("coupling.logdet").value).holds is None
    general = ExplicitBlock(VARIANTS["seed"], 2)   # F, G left general: tried as random smooth functions
    v = volume.decide_block(general, coupling("seed").result("coupling.logdet").value)
    assert v.holds is False and "left general" in v.reason
    assert set(v.evidence["point"]) == {str(s) for s in v.condition.lhs.free_symbols}
    assert all(-1.5 <= value <= 1.5 for value in v.evidence["point"].values())
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
    verdict = volume.decide_general(coupling("nice"), coupling("nice").result("coupling.logdet").value)
    assert verdict.holds is True
    assert isinstance(verdict.condition, sp.Equality) and verdict.condition.lhs == 0 and verdict.condition.rhs == 0


def _instances_with_nan(monkeypatch, nan_seeds):
    import derive.numeric.coupling as numeric_coupling

    real = numeric_coupling.random_instance

    def instance(derivation, k, seed=0):
        block, rng = real(derivation, k, seed)
        if seed in nan_seeds:
            block.logdet = lambda x: np.full(x.shape[0], np.nan)
        return block, rng

    monkeypatch.setattr(numeric_coupling, "random_instance", instance)


def test_an_instance_without_a_log_determinant_is_passed_over(monkeypatch, coupling):
    _instances_with_nan(monkeypatch, {1})
    example = volume.counterexample(coupling("seed"))
    assert np.isfinite(example["logdet"]) and "seed=1)" not in example["instance"]
    assert abs(example["logdet"] - example["slogdet_of_fd_jacobian"]) <= 1e-8


def test_no_instance_with_a_log_determinant_gives_no_counterexample(monkeypatch, coupling):
    _instances_with_nan(monkeypatch, set(range(1, 9)))
    example = volume.counterexample(coupling("seed"))
    assert example["k"] == 2 and np.isnan(example["logdet"]) and np.isnan(example["slogdet_of_fd_jacobian"])


def test_a_block_with_one_general_conditioner_is_decided_with_it_random(coupling):
    blk = ExplicitBlock(VARIANTS["seed"], 1, F=[sp.S.Zero], s=[sp.S.Zero])
    v = volume.decide_block(blk, coupling("seed").result("coupling.logdet").value)
    assert v.holds is False and "left general" in v.reason and str(blk.G[0].func) in v.reason


def test_the_random_points_cover_the_interval_not_one_value(coupling):
    p = sp.Symbol("p", real=True)
    blk = ExplicitBlock(VARIANTS["seed"], 1, F=[sp.S.Zero], G=[sp.S.Zero], s=[p - sp.Rational(3, 2)])
    v = volume.decide_block(blk, coupling("seed").result("coupling.logdet").value)
    assert v.holds is False and abs(v.evidence["logdet"]) > 1e-6
