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
        # the analytic counterexample: log|det| = 1, det = e (checked on the written-out block)
        assert verdict.evidence["log|det ∂y/∂x|"] == "1" and verdict.evidence["det ∂y/∂x"] == "e ≠ 1"


def _tanh_layer(blk, seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(blk.k, blk.k))
    return [sp.tanh(sum(sp.Float(W[n, m]) * blk.x2[m] for m in range(blk.k)) + sp.Float(0.1 * n + 0.2))
            for n in range(blk.k)]


def test_specific_blocks_volume_verdicts(coupling):
    k = 2
    # NICE with a real (non-trivial) F: volume preserving
    nice = ExplicitBlock(VARIANTS["nice"], k)
    nice = ExplicitBlock(VARIANTS["nice"], k, F=_tanh_layer(nice, 1), G=[0] * k, s=[0] * k)
    assert decide_block(nice, coupling("nice").result("coupling.logdet").value).holds is True
    # the seed's block with G = 0 and scales summing to zero: volume preserving
    base = ExplicitBlock(VARIANTS["seed"], k)
    s1 = sp.Symbol("s_1", real=True)
    vp = ExplicitBlock(VARIANTS["seed"], k, F=_tanh_layer(base, 2), G=[0] * k, s=[s1, -s1])
    assert decide_block(vp, coupling("seed").result("coupling.logdet").value).holds is True
    # the seed's block with G = 0 but scales not summing to zero: not preserving
    nvp = ExplicitBlock(VARIANTS["seed"], k, F=_tanh_layer(base, 2), G=[0] * k, s=[s1, 1])
    assert decide_block(nvp, coupling("seed").result("coupling.logdet").value).holds is False
    # RealNVP with a tanh-layer G: not preserving, with a counterexample point
    rn = ExplicitBlock(VARIANTS["realnvp"], k)
    rn = ExplicitBlock(VARIANTS["realnvp"], k, F=_tanh_layer(rn, 3), G=_tanh_layer(rn, 4))
    verdict = decide_block(rn, coupling("realnvp").result("coupling.logdet").value)
    assert verdict.holds is False
    assert abs(float(verdict.evidence["log|det ∂y/∂x|"].replace("−", "-"))) > 1e-6


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


# ---- each piece on its own ----------------------------------------------------------------------------------

def test_the_symbols_carry_the_assumptions_the_derivation_relies_on():
    S = SYMBOLS
    assert all(v.is_integer and v.is_positive for v in (S.i, S.j, S.k))
    blk = ExplicitBlock(VARIANTS["seed"], 2)
    for seq in (blk.x1, blk.x2, blk.y1, blk.y2, blk.s):
        assert all(v.is_real for v in seq)
    assert all(f.is_real for f in blk.F + blk.G)  # real conditioners: exp(G) > 0, so |det| = det


def test_an_explicit_block_refuses_conditioners_of_the_wrong_length():
    blk = ExplicitBlock(VARIANTS["seed"], 2)
    for name, value in (("F", [blk.x2[0]]), ("G", [blk.x2[0]] * 3), ("s", [1])):
        with pytest.raises(ValueError, match=f"{name} has"):
            ExplicitBlock(VARIANTS["seed"], 2, **{name: value})


@pytest.mark.slow
def test_the_explicit_round_trips_run_at_k_1_2_3_and_fail_for_a_wrong_inverse(coupling):
    from derive.coupling import _explicit_roundtrips

    der = coupling("seed")
    S = SYMBOLS
    blocks = {n: ExplicitBlock(VARIANTS["seed"], n) for n in (1, 2, 3, 4)}
    x1, x2 = der.data["x1_solution"], der.data["x2_solution"]
    checks = _explicit_roundtrips(blocks, x1, x2)
    assert [c.scope for c in checks] == ["k = 1", "k = 1", "k = 2", "k = 2", "k = 3", "k = 3"]
    assert all(c.passed for c in checks)
    wrong = _explicit_roundtrips(blocks, (S.y1[S.i] + S.F_i()) * sp.exp(-S.G_i()), x2)  # sign slip
    assert not any(c.passed for c in wrong)
    wrong = _explicit_roundtrips(blocks, x1, S.y2[S.i] * sp.exp(S.s[S.i]))
    assert not any(c.passed for c in wrong)


def test_a_printed_formula_that_cannot_be_written_out_is_unverified(coupling):
    from derive.coupling import _printed_inverse_check, _printed_jacobian_check

    blk = ExplicitBlock(VARIANTS["seed"], 2)
    stranger = sp.Matrix([sp.Symbol("w"), sp.Symbol("v")])  # no vector of the block
    v = _printed_inverse_check(stranger, blk)
    assert not v.passed and "cannot be written out at k = 2" in v.detail
    v = _printed_jacobian_check(sp.Matrix(2, 2, [sp.Symbol("w")] * 4), blk, blk.jacobian())
    assert not v.passed and "cannot be written out at k = 2" in v.detail


def test_each_jacobian_step_names_the_entry_it_differentiates(coupling):
    S = SYMBOLS
    steps = [step for sec, rows in coupling("seed").numbered() if sec.question == "1.2" for _, step in rows]
    expected = [(S.y1, S.x1), (S.y1, S.x2), (S.y2, S.x1), (S.y2, S.x2)]
    for step, (out, inp) in zip(steps, expected):
        assert isinstance(step.lhs, sp.Derivative)
        assert step.lhs.expr == out[S.i] and step.lhs.variables == (inp[S.j],)


def test_the_block_is_written_out_up_to_the_largest_explicit_dimension(monkeypatch):
    import derive.coupling as coupling_module

    monkeypatch.setattr(coupling_module, "EXPLICIT_MAX_DIM", 4)
    kept = derive_coupling("nice", check_dims=(1,), explicit_dim=4)
    dropped = derive_coupling("nice", check_dims=(1,), explicit_dim=6)
    assert len([s for s in kept.steps]) == len(dropped.steps) + 1
    assert kept.steps[-5].rhs.shape == (4, 4)


def test_a_definition_whose_diagonal_block_is_not_diagonal_is_refused():
    from derive.coupling import CouplingVariant, NotACouplingError, _diagonal_blocks
    from derive.notation import ComponentPartial

    mixes = CouplingVariant("mixed", "y2 mixes x2", lambda S: S.x1[S.i] + S.F_i(), lambda S: S.x2[S.i] + S.G_i())
    with pytest.raises(NotACouplingError, match="not diagonal"):
        derive_coupling(mixes, check_dims=(1, 2))
    S = SYMBOLS
    delta, part = sp.KroneckerDelta(S.i, S.j), ComponentPartial(S.F, S.i, S.j, S.x2)
    fine = {("y2", "x1"): sp.S.Zero, ("y1", "x1"): 2 * delta, ("y2", "x2"): 3 * delta}
    assert _diagonal_blocks(fine) == (2, 3)
    for key in (("y1", "x1"), ("y2", "x2")):
        with pytest.raises(NotACouplingError, match="not diagonal"):
            _diagonal_blocks({**fine, key: delta + part})
    with pytest.raises(NotACouplingError, match="not block triangular"):
        _diagonal_blocks({**fine, ("y2", "x1"): delta})


def test_the_determinant_steps_multiply_the_diagonal_blocks(coupling):
    steps = [step for sec, rows in coupling("seed").numbered() if sec.title == "Determinant" for _, step in rows]
    product = steps[0].rhs
    assert isinstance(product, sp.Mul) and all(isinstance(f, sp.Determinant) for f in product.args)
    assert steps[1].lhs == product and steps[1].continues and not steps[0].continues


def test_diagonal_entries_of_unknown_sign_give_a_sum_of_log_absolute_values():
    """log|det| = sum_i log|a_i| + sum_i log|d_i| whatever the signs; det = exp(log|det|) then fails its check."""
    from derive.coupling import CouplingVariant

    S = SYMBOLS
    cases = [(lambda S: S.x1[S.i] * S.G_i() + S.F_i(), lambda S: sp.exp(S.s[S.i]) * S.x2[S.i],
              sp.Sum(sp.log(sp.Abs(S.G_i())), (S.i, 1, S.k)) + sp.Sum(S.s[S.i], (S.i, 1, S.k))),
             (lambda S: sp.exp(S.G_i()) * S.x1[S.i] + S.F_i(), lambda S: S.s[S.i] * S.x2[S.i],
              sp.Sum(S.G_i(), (S.i, 1, S.k)) + sp.Sum(sp.log(sp.Abs(S.s[S.i])), (S.i, 1, S.k)))]
    for y1, y2, expected in cases:
        der = derive_coupling(CouplingVariant("signed", "a scale of unknown sign", y1, y2), check_dims=(1, 2))
        steps = dict((label, step) for _, rows in der.numbered() for label, step in rows)
        assert steps["1.3.3"].rhs == expected and steps["1.3.3"].verified
        assert "absolute values" in steps["1.3.3"].justification
        assert not steps["1.3.4"].verified    # exp(log|det|) = |det|, not det, when the sign is unknown
    seed = derive_coupling("seed", check_dims=(1, 2))
    assert "every diagonal entry is positive" in dict(
        (label, step) for _, rows in seed.numbered() for label, step in rows)["1.3.3"].justification


def test_results_at_flags_a_renaming_that_does_not_invert(coupling):
    import copy

    from derive.coupling import results_at

    S = SYMBOLS
    assert results_at(coupling("seed"), 3)["verified"] is True
    for key, wrong in (("x1_solution", (S.y1[S.i] + S.F_i()) * sp.exp(-S.G_i())),
                       ("x2_solution", S.y2[S.i] * sp.exp(S.s[S.i]))):
        der = copy.copy(coupling("seed"))
        der.data = {**der.data, key: wrong}
        assert results_at(der, 3)["verified"] is False, key


def test_a_wrong_solution_is_refused_by_proof_alone_never_by_random_points(monkeypatch):
    import derive.coupling as coupling_module

    real = coupling_module._solve_for
    S = SYMBOLS
    for slipped in (S.x1[S.i], S.x2[S.i]):
        def solve(equation, unknown, slipped=slipped):
            return real(equation, unknown) * (2 if unknown == slipped else 1)

        monkeypatch.setattr(coupling_module, "_solve_for", solve)
        der = derive_coupling("seed", check_dims=(1, 2))
        steps = dict((label, step) for _, rows in der.numbered() for label, step in rows)
        bad = "1.1.1" if slipped == S.x2[S.i] else "1.1.2"
        for label in (bad, "1.1.3"):
            v = steps[label].verification
            assert not v.passed and v.residual is None, (label, v)
            assert v.detail.endswith("the difference did not reduce to 0"), (label, v.detail)


def test_results_at_guards_the_first_component_too(coupling, monkeypatch):
    import derive.coupling as coupling_module

    real = coupling_module._rename
    first = sp.Symbol("y_1_1", real=True)

    def slip(expr, mapping):  # a renaming slip in the first component only: y_1,1 read as y_2,1
        mapping = {key: (sp.Symbol("y_2_1", real=True) if value == first else value) for key, value in mapping.items()}
        return real(expr, mapping)

    monkeypatch.setattr(coupling_module, "_rename", slip)
    assert coupling_module.results_at(coupling("seed"), 3)["verified"] is False


def test_a_scale_written_as_a_sum_is_derived_written_out_and_guarded(coupling):
    """y2 = x2 + exp(s) ∘ x2: the printed inverse holds 1/(exp(s) + 1), a number plus a vector and its
    power, and the explicit round trip is true without being equal on sight."""
    from derive.coupling import CouplingVariant, results_at

    S = SYMBOLS
    split = CouplingVariant("split", "y2 = x2 + exp(s) x2", lambda S: sp.exp(S.G_i()) * S.x1[S.i] + S.F_i(),
                            lambda S: S.x2[S.i] + sp.exp(S.s[S.i]) * S.x2[S.i])
    der = derive_coupling(split, check_dims=(1, 2))
    assert der.all_verified
    r = results_at(der, 3)
    assert r["verified"] is True
    s = sorted((a for a in r["logdet"].free_symbols if a.name.startswith("s_")), key=str)
    assert [a.name for a in s] == ["s_1", "s_2", "s_3"]
    assert [str(c) for c in r["inverse"][3:]] == [f"y_2_{n}/(exp(s_{n}) + 1)" for n in (1, 2, 3)]
    rest = sp.expand(r["logdet"] - sum(sp.log(1 + sp.exp(v)) for v in s))
    assert not rest.has(*s) and sorted(map(str, sp.Add.make_args(rest))) == ["G_1(x_2)", "G_2(x_2)", "G_3(x_2)"]


def test_written_out_vectors_broadcast_numbers_and_take_powers_by_component():
    from derive.notation import Diag, evaluate_vector

    s, v = sp.Symbol("s"), sp.symbols("s_1 s_2")
    col = evaluate_vector(1 / (sp.exp(s) + 2), {s: list(v)}, {}, {})
    assert list(col) == [1 / (sp.exp(v[0]) + 2), 1 / (sp.exp(v[1]) + 2)]
    with pytest.raises(ValueError):
        evaluate_vector(sp.Add(1, Diag(s), evaluate=False), {s: list(v)}, {}, {})


def test_results_at_of_a_volume_preserving_block_is_zero_and_one(coupling):
    from derive.coupling import results_at

    r = results_at(derive_coupling("nice", check_dims=(1, 2)), 3)   # fresh: no other test's patches
    assert r["verified"] is True and r["logdet"] == 0 and sp.simplify(r["det"]) == 1
    assert len(r["inverse"]) == 6


def test_results_at_writes_out_a_log_of_absolute_values_by_component():
    from derive.coupling import CouplingVariant, results_at

    der = derive_coupling(CouplingVariant("signed", "a scale of unknown sign", lambda S: S.x1[S.i] * S.G_i() + S.F_i(),
                                          lambda S: sp.exp(S.s[S.i]) * S.x2[S.i]), check_dims=(1, 2))
    r = results_at(der, 2)
    assert sorted(map(str, sp.Add.make_args(r["logdet"]))) == ["log(Abs(G_1(x_2)))", "log(Abs(G_2(x_2)))", "s_1", "s_2"]
    assert [str(c) for c in r["inverse"][:2]] == ["(y_1_1 - F_1(x_2))/G_1(x_2)", "(y_1_2 - F_2(x_2))/G_2(x_2)"]


@pytest.mark.parametrize("factor", [sp.Integer(2), sp.sqrt(2), sp.pi])
def test_a_constant_scale_is_derived_written_out_and_cross_checked(factor):
    """y2 = c x2: the printed forms hold a number times a vector and diag of a number, and the
    log-determinant k log c holds k itself; by hand log|det| = sum_i G_i + k log c."""
    from derive.coupling import CouplingVariant, results_at
    from derive.numeric.coupling import cross_checks

    der = derive_coupling(CouplingVariant("const", "y2 = c x2", lambda S: sp.exp(S.G_i()) * S.x1[S.i] + S.F_i(),
                                          lambda S: factor * S.x2[S.i]), check_dims=(1, 2))
    assert der.all_verified
    rest = sp.expand(results_at(der, 3)["logdet"] - 3 * sp.log(factor))
    assert sorted(map(str, sp.Add.make_args(rest))) == ["G_1(x_2)", "G_2(x_2)", "G_3(x_2)"]
    checks = cross_checks(der, k=3)
    assert checks and all(c.passed for c in checks), [c for c in checks if not c.passed]


def test_written_out_numbers_scale_a_vector_and_fill_a_diagonal():
    from derive.notation import Diag, Hadamard, evaluate_vector

    s, v = sp.Symbol("s"), sp.symbols("s_1 s_2")
    assert list(evaluate_vector(Hadamard(sp.pi, s), {s: list(v)}, {}, {})) == [sp.pi * v[0], sp.pi * v[1]]
    assert evaluate_vector(Diag(sp.Integer(2)), {s: list(v)}, {}, {}) == 2 * sp.eye(2)
