"""The coupling derivation: verified steps, and results that follow the definition."""
import numpy as np
import pytest
import sympy as sp

from derive.coupling import SYMBOLS, VARIANTS, ExplicitBlock, derive_coupling
from derive.volume import decide_block

pytestmark = [pytest.mark.mutation_coupling, pytest.mark.mutation_model]

ALL = sorted(VARIANTS)


@pytest.mark.parametrize("variant", ALL)
def test_every_step_is_verified_and_says_what_was_computed(coupling, variant):
    der = coupling(variant)
    labels = {label: step.verification.label for _, rows in der.numbered() for label, step in rows}
    assert all(step.verified for step in der.steps)
    # the general-k steps were checked at k = 1..4, the index-form steps proved
    assert labels["1.1.1"] == labels["1.1.2"] == labels["1.1.3"] == "proof"
    assert [labels[f"1.2.{n}"] for n in range(1, 6)] == ["checked at k = 1, 2, 3, 4"] * 5
    assert [labels[f"1.3.{n}"] for n in range(1, 5)] == ["checked at k = 1, 2, 3, 4"] * 4
    assert "back-substitution" in der.steps[0].verification.detail


@pytest.mark.parametrize("variant,G_term,s_term", [("seed", 1, 1), ("realnvp", 1, 0), ("nice", 0, 0),
                                                   ("scaled-nice", 0, 1)])
def test_each_variants_logdet_by_hand(coupling, variant, G_term, s_term):
    """log|det| = [sum_i G_i(x2)] + [sum_i s_i], each term present exactly where the variant scales by exp()."""
    S = SYMBOLS
    expected = G_term * sp.Sum(S.G_i(), (S.i, 1, S.k)) + s_term * sp.Sum(S.s[S.i], (S.i, 1, S.k))
    assert sp.simplify(coupling(variant).result("coupling.logdet").value - expected) == 0


def test_inverse_is_solved_for_each_component(coupling):
    S = SYMBOLS
    der = coupling("seed")
    x1_sol = der.data["x1_solution"]
    # independent reasoning: y1 = e^G x1 + F  =>  x1 = (y1 - F) e^{-G}
    expected = (S.y1[S.i] - S.F_i()) * sp.exp(-S.G_i())
    assert sp.simplify(x1_sol - expected) == 0
    assert sp.simplify(der.data["x2_solution"] - S.y2[S.i] * sp.exp(-S.s[S.i])) == 0


def test_logdet_of_seed_block_at_concrete_k_equals_hand_value(coupling):
    # k = 2, G_n(x2) = a_n * x2_n, s = (0.3, -0.1): by hand log|det| = a1 x21 + a2 x22 + 0.2
    der = coupling("seed")
    blk = ExplicitBlock(VARIANTS["seed"], 2)
    blk = ExplicitBlock(VARIANTS["seed"], 2, G=[sp.Rational(1, 2) * blk.x2[0], 3 * blk.x2[1]],
                        s=[sp.Rational(3, 10), -sp.Rational(1, 10)])
    ld = blk.instantiate(der.result("coupling.logdet").value)
    val = ld.subs({blk.x2[0]: 2, blk.x2[1]: -1})
    assert sp.nsimplify(val) == sp.Rational(1) - 3 + sp.Rational(2, 10)


def test_explicit_jacobian_agrees_with_matrix_jacobian_and_det(coupling):
    der = coupling("seed")
    from derive.coupling import assemble_jacobian

    blk = ExplicitBlock(VARIANTS["seed"], 3)
    J = assemble_jacobian(der.data["entries"], blk)
    assert sp.simplify(J - blk.jacobian()) == sp.zeros(6, 6)
    det_generic = blk.jacobian().det(method="berkowitz")
    det_derived = blk.instantiate(der.result("coupling.det").value)
    assert sp.simplify(det_generic - det_derived) == 0


def test_changing_the_definition_changes_the_determinant(coupling):
    seed = coupling("seed").result("coupling.det").value
    realnvp = coupling("realnvp").result("coupling.det").value
    nice = coupling("nice").result("coupling.det").value
    assert nice == 1
    assert seed != realnvp
    assert seed.has(SYMBOLS.s) and not realnvp.has(SYMBOLS.s)


def test_general_volume_verdicts(coupling):
    assert coupling("nice").result("coupling.volume").value.holds is True
    for name in ("seed", "realnvp", "scaled-nice"):
        verdict = coupling(name).result("coupling.volume").value
        assert verdict.holds is False
        ex = verdict.evidence
        # the counterexample's |det| is not 1 and an independent slogdet agrees
        assert abs(ex["det"] - 1) > 1e-3
        assert abs(ex["logdet"] - ex["slogdet_of_fd_jacobian"]) < 1e-8


def _tanh_layer(blk, seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(blk.k, blk.k))
    return [sp.tanh(sum(sp.Float(W[n, m]) * blk.x2[m] for m in range(blk.k)) + sp.Float(0.1 * n + 0.2))
            for n in range(blk.k)]


def test_specific_blocks_volume_verdicts(coupling):
    k = 3
    # NICE with a real (non-trivial) F: volume preserving
    nice = ExplicitBlock(VARIANTS["nice"], k)
    nice = ExplicitBlock(VARIANTS["nice"], k, F=_tanh_layer(nice, 1), G=[0] * k, s=[0] * k)
    assert decide_block(nice, coupling("nice").result("coupling.logdet").value).holds is True
    # the seed's block with G = 0 and scales summing to zero: volume preserving
    base = ExplicitBlock(VARIANTS["seed"], k)
    s1, s2 = sp.symbols("s_1 s_2", real=True)
    vp = ExplicitBlock(VARIANTS["seed"], k, F=_tanh_layer(base, 2), G=[0] * k, s=[s1, s2, -s1 - s2])
    assert decide_block(vp, coupling("seed").result("coupling.logdet").value).holds is True
    # the seed's block with G = 0 but scales not summing to zero: not preserving
    nvp = ExplicitBlock(VARIANTS["seed"], k, F=_tanh_layer(base, 2), G=[0] * k, s=[s1, s2, 1])
    assert decide_block(nvp, coupling("seed").result("coupling.logdet").value).holds is False
    # RealNVP with a tanh-layer G: not preserving, with a counterexample point
    rn = ExplicitBlock(VARIANTS["realnvp"], k)
    rn = ExplicitBlock(VARIANTS["realnvp"], k, F=_tanh_layer(rn, 3), G=_tanh_layer(rn, 4))
    verdict = decide_block(rn, coupling("realnvp").result("coupling.logdet").value)
    assert verdict.holds is False
    assert abs(verdict.evidence["logdet"]) > 1e-6


def test_non_triangular_definition_is_refused():
    from derive.coupling import CouplingVariant, NotACouplingError

    bad = CouplingVariant("bad", "y2 depends on x1", lambda S: S.x1[S.i] + S.F_i(),
                          lambda S: S.x2[S.i] + S.x1[S.i])
    with pytest.raises(NotACouplingError):
        derive_coupling(bad)


def test_a_new_variant_goes_through_the_same_code_path():
    from derive.coupling import CouplingVariant

    # y1 = exp(2 G(x2)) ∘ x1 + F(x2), y2 = x2: by hand log|det| = 2 sum_i G_i
    doubled = CouplingVariant("doubled", "doubled log-scale", lambda S: sp.exp(2 * S.G_i()) * S.x1[S.i] + S.F_i(),
                              lambda S: S.x2[S.i])
    der = derive_coupling(doubled)
    assert der.all_verified
    S = SYMBOLS
    expected = 2 * sp.Sum(S.G_i(), (S.i, 1, S.k))
    assert sp.simplify(der.result("coupling.logdet").value - expected) == 0


def test_results_at_large_k_without_the_jacobian(coupling):
    from derive.coupling import results_at

    k = 300
    r = results_at(coupling("seed"), k)
    assert r["verified"]
    from derive.notation import Component

    S = SYMBOLS
    G_ = lambda n: Component(S.G, sp.Integer(n), S.x2)  # noqa: E731  (G_n(x2))
    F_ = lambda n: Component(S.F, sp.Integer(n), S.x2)  # noqa: E731
    # by hand: log|det| = sum_n G_n(x2) + sum_n s_n
    expected = sum(G_(n) + sp.Symbol(f"s_{n}", real=True) for n in range(1, k + 1))
    assert sp.expand(r["logdet"] - expected) == 0
    y1, y2, s = sp.Symbol("y_1_7", real=True), sp.Symbol("y_2_7", real=True), sp.Symbol("s_7", real=True)
    assert sp.simplify(r["inverse"][k + 6] - y2 * sp.exp(-s)) == 0
    assert sp.simplify(r["inverse"][6] - (y1 - F_(7)) * sp.exp(-G_(7))) == 0
