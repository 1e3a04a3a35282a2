"""Planted bugs: each one plausible slip, planted alone, must be caught.

A mathematical bug (in a definition, a rewrite rule, a derivation step or a
numeric reference) must be caught by derive's own verification: some step
comes out unverified, or some cross-check against independent numpy fails.
A bug in the verifier, a renderer, the parser or the file writer must make a
test of its output fail (the test is run here with the bug in place).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

pytestmark = pytest.mark.slow


def _caught_by_derive(entry_name: str, opts=None) -> list[str]:
    """Build and check one derivation from scratch; the names of what flagged it (empty: not caught)."""
    from derive.registry import ENTRIES, Options

    opts = opts or Options(dim=8)
    entry = ENTRIES[entry_name]
    try:
        der = entry.build(opts)
    except Exception as exc:  # a derivation that breaks outright is caught as well
        return [f"derivation raised {type(exc).__name__}"]
    flagged = [f"step: {s.justification}" for s in der.steps if not s.verified]
    flagged += [f"check: {c.name}" for c in entry.check(der, opts) if not c.passed]
    return flagged


# ---- mathematical bugs: derive's own verification catches each --------------

def _variant(monkeypatch, name, y1=None, y2=None):
    from derive import coupling

    old = coupling.VARIANTS[name]
    new = coupling.CouplingVariant(old.name, old.description, y1 or old.y1, y2 or old.y2)
    monkeypatch.setitem(coupling.VARIANTS, name, new)


def plant_exp_F_in_definition(mp):  # the sheet's prose, not equation (1)
    _variant(mp, "seed", y1=lambda S: sp.exp(S.F_i()) * S.x1[S.i] + S.F_i())


def plant_y2_without_scale(mp):
    _variant(mp, "seed", y2=lambda S: S.x2[S.i])


def plant_solve_sign(mp):
    from derive import coupling

    orig = coupling._solve_for
    mp.setattr(coupling, "_solve_for", lambda eq, unknown: -orig(eq, unknown) if "x_1" in str(unknown) else orig(eq, unknown))


def plant_printed_inverse_without_F(mp):
    from derive import coupling

    orig = coupling.to_vector
    mp.setattr(coupling, "to_vector", lambda e, v: orig(e.replace(coupling.Component, lambda f, i, a: 0 * a[i] if f == coupling.SYMBOLS.F else coupling.Component(f, i, a)), v))


def plant_block_matrix_jacobians_swapped(mp):
    from derive import coupling, notation

    orig = coupling.entry_to_block
    S = coupling.SYMBOLS
    mp.setattr(coupling, "entry_to_block", lambda e, i, j, v, a: orig(e, i, j, v, a).replace(
        notation.JacobianOf, lambda f, arg: notation.JacobianOf(S.F if f == S.G else S.G, arg)))


def plant_diagonal_doubled(mp):
    from derive import coupling

    orig = coupling.decompose_entry
    mp.setattr(coupling, "decompose_entry", lambda e, i, j: (2 * orig(e, i, j)[0], orig(e, i, j)[1]))


def plant_logdet_drops_a_sum(mp):
    from derive import coupling

    orig = coupling._logdet_of_product
    mp.setattr(coupling, "_logdet_of_product", lambda p: sp.Add(*sp.Add.make_args(orig(p))[:1]))


def plant_det_negated_exponent(mp):
    from derive import coupling

    mp.setattr(coupling.sp, "exp", lambda e, *a, **k: sp.Pow(sp.E, -e) if isinstance(e, sp.Add) and e.has(sp.Sum) else sp.Pow(sp.E, e))


def plant_volume_always_yes(mp):
    from derive import volume

    mp.setattr(volume, "_simplifies_to_zero", lambda expr, seconds=20.0: True)


def plant_kl_definition_sign(mp):
    from derive import freeenergy, probability

    wrong = lambda expr: expr.replace(probability.KL, lambda a, b: probability.Expect(sp.log(b) - sp.log(a), a))  # noqa: E731
    mp.setattr(probability, "kl_definition", wrong)
    mp.setattr(freeenergy, "kl_definition", wrong)


def plant_merge_drops_a_term(mp):
    from derive import freeenergy, probability

    orig = probability.merge_expectations
    mp.setattr(freeenergy, "merge_expectations", lambda e: orig(e).replace(sp.log, lambda a: sp.log(a) if a.args and "q" not in str(a) else 0))


def plant_normalise_to_two(mp):
    from derive import freeenergy, probability

    mp.setattr(freeenergy, "normalise", lambda e: e.replace(lambda t: isinstance(t, probability.Expect) and t.args[0] == 1, lambda t: sp.Integer(2)))


def plant_fold_kl_sign(mp):
    from derive import freeenergy, probability

    mp.setattr(freeenergy, "fold_kl", lambda e: probability.fold_kl(e).replace(probability.KL, lambda a, b: -probability.KL(a, b)))


def plant_split_constants_drops(mp):
    from derive import freeenergy

    mp.setattr(freeenergy, "split_constants", lambda e, z: e.replace(freeenergy.Expect, lambda f, q: freeenergy.Expect(sp.Add(*[t for t in sp.Add.make_args(sp.expand(f)) if t.has(z)]), q)))


def plant_evidence_density_variance(mp):
    from derive import freeenergy, gaussian

    mp.setattr(freeenergy, "normal_pdf", lambda z, mean, var: gaussian.normal_pdf(z, mean, var ** 2 if var != 1 else var))


def plant_expectation_moment(mp):
    from derive import gaussian

    orig = gaussian.moment
    mp.setattr(gaussian, "moment", lambda n, z, mean, var: orig(n, z, mean, var) + (var if n == 2 else 0))


def plant_normal_pdf_std_for_var(mp):
    from derive import gaussian
    from derive import kl_gaussian as kl

    mp.setattr(kl, "normal_pdf", lambda z, mean, var: gaussian.normal_pdf(z, mean, sp.sqrt(var)))


def plant_closed_form_half_lost(mp):
    from derive import kl_gaussian as kl

    orig = kl._tidy
    mp.setattr(kl, "_tidy", lambda e: 2 * orig(e))


def plant_kl_2_2_reversed(mp):
    from derive import kl_gaussian as kl, probability

    mp.setattr(kl, "KL", lambda a, b: probability.KL(b, a) if isinstance(a.args[1][0], sp.Indexed) else probability.KL(a, b))


def plant_graph_drops_direct_edges(mp):
    from derive.graph import Graph

    orig = Graph.children
    mp.setattr(Graph, "children", lambda self, name: [c for c in orig(self, name) if not (c == "r" and name in ("mu", "sigma"))])


def plant_local_partial_sign(mp):
    from derive.graph import Graph

    orig = Graph.local_partial
    mp.setattr(Graph, "local_partial", lambda self, c, p: -orig(self, c, p) if c == "r" else orig(self, c, p))


def plant_prior_std_in_graph(mp):
    from derive import reparam

    orig = reparam.log_normal_pdf
    mp.setattr(reparam, "log_normal_pdf", lambda z, mean, var: orig(z, mean, 4 * var) if mean == 0 else orig(z, mean, var))


def plant_reparam_mean_shift(mp):
    from derive import reparam

    orig = reparam.expectation
    mp.setattr(reparam, "expectation", lambda f, z, mean, var: orig(f, z, mean, var) + 1)


def plant_sweep_start(mp):
    from derive.graph import Graph

    orig = Graph.backward

    def backward(self, output):
        sweep = orig(self, output)
        sweep.adjoint = {k: (2 * v if k != output else v) for k, v in sweep.adjoint.items()}
        return sweep

    mp.setattr(Graph, "backward", backward)


def plant_reference_forward_exp_F(mp):
    from derive.numeric import reference

    orig = reference.reference_forward
    mp.setattr(reference, "reference_forward", lambda v, x, F, G, s: orig(v, x, F, F, s))


def plant_fd_jacobian_sign(mp):
    from derive.numeric import reference

    orig = reference.fd_jacobian
    mp.setattr(reference, "fd_jacobian", lambda f, x, h=1e-3: -orig(f, x, h))


def plant_slogdet_doubled(mp):
    from derive.numeric import reference

    mp.setattr(reference, "slogdet", lambda J: (np.linalg.slogdet(J)[0], 2 * np.linalg.slogdet(J)[1]))


def plant_gaussian_logpdf_no_log_std(mp):
    from derive.numeric import variational

    mp.setattr(variational, "gaussian_logpdf", lambda z, mean, std: -0.5 * np.log(2 * np.pi) - 0.5 * ((z - mean) / std) ** 2)


def plant_numeric_inverse_wrong(mp):
    from derive.numeric.coupling import NumericCoupling

    orig = NumericCoupling.inverse
    mp.setattr(NumericCoupling, "inverse", lambda self, y: orig(self, y) * np.r_[np.ones(self.k), 1.0001 * np.ones(self.k)])


def plant_numeric_logdet_drops_s(mp):
    from derive.numeric.coupling import NumericCoupling

    orig = NumericCoupling.logdet
    mp.setattr(NumericCoupling, "logdet", lambda self, x: orig(self, x) - np.sum(self.s))


def plant_printed_jacobian_wrt_x1(mp):
    from derive import coupling

    orig = coupling.entry_to_block
    mp.setattr(coupling, "entry_to_block", lambda e, i, j, v, a: orig(e, i, j, v, v[coupling.SYMBOLS.x1]))


def plant_printed_inverse_at_y2(mp):
    from derive import coupling

    orig = coupling.to_vector
    S = coupling.SYMBOLS
    mp.setattr(coupling, "to_vector", lambda e, v: orig(e.replace(coupling.Component, lambda f, n, a: coupling.Component(f, n, S.y2)) if e.has(S.y1) else e, v))


MATH = [
    ("printed Jacobian with dF/dx1 for dF/dx2", plant_printed_jacobian_wrt_x1, "coupling"),
    ("printed inverse with F(y2) for F(x2)", plant_printed_inverse_at_y2, "coupling"),
    ("exp(F) in the block's definition", plant_exp_F_in_definition, "coupling"),
    ("y2 without exp(s)", plant_y2_without_scale, "coupling"),
    ("sign slip solving for x1", plant_solve_sign, "coupling"),
    ("printed inverse without F", plant_printed_inverse_without_F, "coupling"),
    ("block matrix with dF and dG swapped", plant_block_matrix_jacobians_swapped, "coupling"),
    ("diagonal of a Jacobian block doubled", plant_diagonal_doubled, "coupling"),
    ("log-det drops the sum over s", plant_logdet_drops_a_sum, "coupling"),
    ("det = exp(-log det)", plant_det_negated_exponent, "coupling"),
    ("volume verdict always yes", plant_volume_always_yes, "coupling"),
    ("KL definition with its sign flipped", plant_kl_definition_sign, "vfe"),
    ("linearity drops a term", plant_merge_drops_a_term, "vfe"),
    ("E_q[1] = 2", plant_normalise_to_two, "vfe"),
    ("folded KL with the wrong sign", plant_fold_kl_sign, "vfe"),
    ("split constants drops log p(x)", plant_split_constants_drops, "vfe"),
    ("evidence model with variance for std", plant_evidence_density_variance, "vfe"),
    ("second Gaussian moment off by var", plant_expectation_moment, "kl"),
    ("normal density with std for variance", plant_normal_pdf_std_for_var, "kl"),
    ("closed form without the 1/2", plant_closed_form_half_lost, "kl"),
    ("2.2 one-dimensional KL with its arguments swapped", plant_kl_2_2_reversed, "kl"),
    ("sweep loses the direct r <- (mu, sigma) edges", plant_graph_drops_direct_edges, "reparam"),
    ("local partial of r with the wrong sign", plant_local_partial_sign, "reparam"),
    ("prior in the graph with variance 4", plant_prior_std_in_graph, "reparam"),
    ("mean over eps shifted by 1", plant_reparam_mean_shift, "reparam"),
    ("adjoints doubled after the output", plant_sweep_start, "reparam"),
    ("hand-written reference uses F for G", plant_reference_forward_exp_F, "coupling"),
    ("finite differences with the wrong sign", plant_fd_jacobian_sign, "coupling"),
    ("slogdet doubled", plant_slogdet_doubled, "coupling"),
    ("Gaussian log-density without log std", plant_gaussian_logpdf_no_log_std, "kl"),
    ("numeric inverse scaled", plant_numeric_inverse_wrong, "coupling"),
    ("numeric log-det without s", plant_numeric_logdet_drops_s, "coupling"),
]


@pytest.mark.parametrize("what,plant,entry", MATH, ids=[m[0] for m in MATH])
def test_a_planted_mathematical_bug_is_caught_by_derive(monkeypatch, what, plant, entry):
    assert not _caught_by_derive(entry), "the unplanted derivation must pass"
    with monkeypatch.context() as mp:
        plant(mp)
        caught = _caught_by_derive(entry)
    assert caught, f"planted bug not caught: {what}"


# ---- bugs in the verifier, the parser and the file writer: a test fails --------

def _fails(test, *args) -> bool:
    """True when the test function fails (with any assertion or error) on its arguments."""
    try:
        with pytest.MonkeyPatch.context() as inner:
            test(*(inner if a is MONKEYPATCH else a for a in args))
    except (Exception, pytest.fail.Exception):
        return True
    return False


MONKEYPATCH = object()  # stands for a fresh monkeypatch argument


def plant_is_zero_any(mp):
    from derive import verify

    mp.setattr(verify, "_is_zero", lambda e: any(v == 0 for v in e) if isinstance(e, sp.MatrixBase) else e == 0)


def plant_combine_any(mp):
    from derive import verify

    orig = verify.combine
    mp.setattr(verify, "combine", lambda vs, detail: orig([v for v in vs if v.passed] or vs, detail))


def plant_time_out_is_proof(mp):
    import time as _time

    from derive import verify

    orig = verify._reduce

    def reduce(diff, seconds):
        start = _time.monotonic()
        return orig(diff, seconds) or _time.monotonic() - start >= 0.9 * seconds

    mp.setattr(verify, "_reduce", reduce)


def plant_loose_tolerance(mp):
    from derive import verify

    mp.setitem(verify.prove_equal.__kwdefaults__, "tolerance", 1e-3)


def plant_no_zero_decision(mp):
    from derive import verify

    mp.setattr(verify, "decide_zero", lambda value, seconds=5.0: False)


def plant_parser_depth(mp):
    from derive import parse

    mp.setattr(parse, "MAX_DEPTH", 10 ** 6)


def plant_parser_constants(mp):
    from derive import parse

    mp.setattr(parse, "_nonzero_constant", lambda *args, **kwargs: None)


def plant_stage_in_place(mp):
    from derive import outset

    def in_place(self, out):  # "staging" straight into the output folder: files replaced one by one
        self.out, self.path = out, out
        out.mkdir(exist_ok=True)
        self._fd = os.open(out, os.O_RDONLY)

    mp.setattr(outset.Staging, "__init__", in_place)
    mp.setattr(outset.Staging, "commit", lambda self, deadline=None: None)
    mp.setattr(outset.Staging, "close", lambda self: None)


def _tests():
    from tests import test_user_input as ui
    from tests import test_verify as tv
    from tests import test_writeup as tw

    return tv, ui, tw


HIDDEN = sp.sin(1) ** 2 + sp.cos(1) ** 2 - 1
TEST_LEVEL = [
    ("a matrix is zero when any entry is", plant_is_zero_any, "tv.test_matrix_identity_with_one_agreeing_entry_is_refused", ()),
    ("combine passes when any member passes", plant_combine_any, "tv.test_combine_fails_when_any_member_fails_wherever_it_stands", ()),
    ("a time-out counts as a proof", plant_time_out_is_proof, "tv.test_a_time_out_is_never_a_pass", (MONKEYPATCH,)),
    ("numeric tolerance 10^6 times looser", plant_loose_tolerance, "tv.test_numeric_tolerance_near_misses", (2e-9, False)),
    ("constants never decided to be 0", plant_no_zero_decision, "tv.test_a_hidden_zero_constant_is_not_verified", (HIDDEN,)),
    ("parser nesting limit lifted", plant_parser_depth, "ui.test_nesting_and_size_limits_name_themselves", ()),
    ("parser accepts hidden-zero divisors", plant_parser_constants, "ui.test_hidden_zero_constants_are_refused",
     ("x/(sin(1)**2 + cos(1)**2 - 1)", "divisor is exactly 0")),
    ("outputs written straight into the output folder", plant_stage_in_place,
     "tw.test_failing_run_leaves_previous_outputs_intact", ("TMP", MONKEYPATCH)),
]


@pytest.mark.parametrize("what,plant,test_name,args", TEST_LEVEL, ids=[t[0] for t in TEST_LEVEL])
def test_a_planted_bug_outside_the_mathematics_fails_a_test(what, plant, test_name, args, tmp_path):
    tv, ui, tw = _tests()
    test = getattr({"tv": tv, "ui": ui, "tw": tw}[test_name[:2]], test_name[3:])
    fresh = iter(range(1000))
    args_for = lambda: tuple(tmp_path / f"run{next(fresh)}" if a == "TMP" else a for a in args)  # noqa: E731
    clean = args_for()
    for a in clean:
        if isinstance(a, Path):
            a.mkdir()
    assert not _fails(test, *clean), f"{test_name} must pass without the bug"
    with pytest.MonkeyPatch.context() as mp:
        plant(mp)
        planted = args_for()
        for a in planted:
            if isinstance(a, Path):
                a.mkdir()
        assert _fails(test, *planted), f"planted bug not caught by {test_name}: {what}"
