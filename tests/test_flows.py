"""The flow-layer catalogue: one property test body over every layer, values by hand, planted slips."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from derive import flows
from derive.flows import rules
from derive.flows.catalogue import LAYERS, d, x, y
from derive.flows.crosscheck import cross_checks
from derive.flows.driver import derive_layer
from derive.flows.index import I, K
from derive.flows.layer import Explicit, Layer, Param

#: the structure each layer must be found to have (from the definitions, by hand)
EXPECTED = {
    "affine": "element-wise", "exp": "element-wise", "softplus": "element-wise", "sigmoid": "element-wise",
    "tanh": "element-wise", "arcsinh": "element-wise", "sinh-arcsinh": "element-wise", "actnorm": "element-wise",
    "nice": "block triangular", "realnvp": "block triangular", "glow": "block triangular",
    "seed": "block triangular", "scaled-nice": "block triangular", "gin": "block triangular",
    "maf": "lower triangular", "iaf": "lower triangular", "planar": "diagonal plus rank one",
    "radial": "diagonal plus rank one", "sylvester": "diagonal plus rank m", "householder": "orthogonal",
    "reverse": "permutation", "upper": "upper triangular", "unit-lower": "lower triangular",
}
FAST = ("affine", "seed", "maf", "reverse")
SLOW = [n for n in flows.names() if n not in FAST]


def _property(name):
    """Every step verified by an independent check; the structure found is the expected one; the printed
    numpy functions agree with hand-written numpy and with slogdet of finite differences at d = 8."""
    der = flows.derive(name)
    assert der.all_verified, [(s.justification, s.verification.detail) for s in der.steps if not s.verified]
    if name in EXPECTED:
        assert der.data["structure"].name == EXPECTED[name]
    checks = cross_checks(der, dim=8, rows=4, seed=3)
    assert checks and all(c.passed for c in checks), [(c.name, c.method, c.residual) for c in checks]


@pytest.mark.parametrize("name", FAST)
def test_layer_properties(name):
    _property(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_layer_properties_slow(name):
    _property(name)


def test_catalogue_has_at_least_18_entries():
    assert len(flows.names()) >= 18
    assert set(EXPECTED) <= set(flows.names())


def test_planar_logdet_and_condition_by_hand():
    der = flows.derive("planar")
    logdet = der.result("planar.logdet").value
    ex = Explicit(LAYERS["planar"], 3)
    value = ex.instantiate(logdet)
    rng = np.random.default_rng(0)
    u, w, xv, b = rng.normal(size=3), rng.normal(size=3), rng.normal(size=3), 0.3
    subs = {sp.Symbol(f"u_{t + 1}", real=True): u[t] for t in range(3)}
    subs.update({sp.Symbol(f"w_{t + 1}", real=True): w[t] for t in range(3)})
    subs.update({sp.Symbol(f"x_{t + 1}", real=True): xv[t] for t in range(3)})
    subs[sp.Symbol("b", real=True)] = b
    by_hand = math.log(abs(1 + (1 - math.tanh(w @ xv + b) ** 2) * (w @ u)))
    assert float(value.xreplace(subs)) == pytest.approx(by_hand, rel=1e-12)
    cond = der.result("planar.condition").value.condition
    assert isinstance(cond, sp.GreaterThan) and cond.rhs == -1


def test_triangular_and_orthogonal_verdicts():
    assert flows.derive("affine").result("affine.condition").value.condition == sp.Ne(sp.IndexedBase("a", real=True)[I], 0)
    assert flows.derive("nice").result("nice.volume").value.holds is True
    assert flows.derive("seed").result("seed.volume").value.holds is False
    assert flows.derive("reverse").data["logdet"] == 0
    assert flows.derive("maf").data["inverse_kind"] == "recursion"
    assert flows.derive("seed").data["inverse_kind"] == "closed form"


def test_new_layer_is_a_definition():
    """A layer not in the catalogue, given only by its equation, is derived and verified; its log-det is
    log|1 + h'(wᵀx + b) wᵀu| with h = sinh, i.e. h' = cosh."""
    u, w = sp.IndexedBase("u", real=True), sp.IndexedBase("w", real=True)
    b = sp.Symbol("b", real=True)
    layer = Layer("planar-sinh", "planar with sinh", "", d, (x,), (y,),
                  (x[I] + u[I] * sp.sinh(sp.Sum(w[K] * x[K], (K, 1, d)) + b),), (Param(u, (d,)), Param(w, (d,))),
                  check_sizes=(1, 2, 3))
    der = derive_layer(layer)
    assert der.all_verified
    assert der.data["structure"].name == "diagonal plus rank one"
    assert der.data["logdet"].has(sp.cosh)


@pytest.mark.slow
def test_a_wrong_rule_is_caught(monkeypatch):
    """A slip in the lemma (the sign of the rank-one term) leaves its step unverified."""
    real = rules.lemma_factor
    monkeypatch.setattr(rules, "lemma_factor", lambda D, a, c, b, size: real(D, a, -c, b, size))
    der = derive_layer(LAYERS["planar"])
    assert not der.all_verified


def test_a_wrong_numeric_layer_is_caught():
    """The printed code of a layer whose definition differs from the published one (Glow's +2 dropped) fails
    the cross-check against the hand-written map."""
    from derive.flows import catalogue

    glow = LAYERS["glow"]
    x1, x2 = catalogue.x1, catalogue.x2
    wrong = Layer("glow", glow.title, "", glow.size, glow.inputs, glow.outputs,
                  ((x1[I] + catalogue.Fi) / (1 + sp.exp(-catalogue.Gi)), x2[I]), (), glow.conditioners,
                  check_sizes=(1, 2))
    checks = cross_checks(derive_layer(wrong), dim=8, rows=4)
    assert not all(c.passed for c in checks)


@pytest.mark.slow
def test_show_and_check_on_the_command_line():
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "derive", "check", "maf", "--dim", "16", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["all_verified"] and all(c["passed"] for c in data["checks"])
    listed = subprocess.run([sys.executable, "-m", "derive", "list"], capture_output=True, text=True, timeout=60)
    assert "householder" in listed.stdout and "glow-step" in listed.stdout


@pytest.mark.slow
def test_readme_table_is_the_derived_table():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert flows.table() in readme


@pytest.mark.slow
def test_catalogue_seed_agrees_with_the_sheets_block():
    """The sheet's block through the driver and through the writeup's own derivation: the same log-det at k = 3."""
    from derive.coupling import derive_coupling, results_at

    sheet = results_at(derive_coupling("seed", check_dims=(1, 2)), 3)["logdet"]
    ex = Explicit(LAYERS["seed"], 3)
    ours = ex.write_out(flows.derive("seed").data["logdet"])
    # both print the conditioner outputs as G_n(x_2); compared as printed, term by term
    sheet, ours = sp.expand(sheet), sp.expand(ours)
    assert sorted(str(t) for t in sp.Add.make_args(sheet)) == sorted(str(t) for t in sp.Add.make_args(ours))
    assert len(sp.Add.make_args(ours)) == 6  # G_1..G_3 and s_1..s_3


@pytest.mark.parametrize("name", ["planar", pytest.param("radial", marks=pytest.mark.slow), "affine"])
def test_the_fast_write_out_gives_the_same_value_as_the_evaluated_one(name):
    """write_out (large sizes: one substitution per term, a repeated sum written out once) against instantiate
    (SymPy's evaluation), at d = 3 and one rational point; radial's log-det holds its sum four times."""
    der = flows.derive(name)
    ex = Explicit(der.data["layer"], 3)
    fast, slow = ex.write_out(der.data["logdet"]), ex.instantiate(der.data["logdet"])
    with sp.evaluate(True):
        fast = sp.sympify(fast).doit()
    point = {s: sp.Rational(n + 2, 7) for n, s in enumerate(sorted(slow.free_symbols, key=str))}
    assert fast.free_symbols == slow.free_symbols
    assert abs(sp.N(fast.xreplace(point) - slow.xreplace(point), 30)) < 1e-25


# ---- the Sylvester layer's invertibility condition -----------------------------------------------------


def _sylvester_like(h):
    from derive.flows import catalogue as c

    A, B, cc = (sp.IndexedBase(n, real=True) for n in ("A", "B", "c"))
    eq = x[I] + sp.Sum(A[I, c.R] * h(sp.Sum(B[c.R, K] * x[K], (K, 1, d)) + cc[c.R]), (c.R, 1, c.m))
    return c.single("sylvester-h", "Sylvester with h", eq, (Param(A, (d, c.m)), Param(B, (c.m, d)),
                                                             Param(cc, (c.m,))), "", latent=c.m, check_sizes=(1, 2, 3))


def test_sylvester_is_invertible_when_the_residual_is_a_contraction():
    """‖A‖₂‖B‖₂ sup|tanh'| < 1 with sup|tanh'| = 1; the step is checked, not assumed."""
    der = flows.derive("sylvester")
    v = der.result("sylvester.condition").value
    assert isinstance(v.condition, sp.StrictLessThan) and v.condition.rhs == 1
    assert sorted(map(str, v.condition.lhs.free_symbols)) == ["‖A‖₂", "‖B‖₂"]
    assert sp.latex(v.condition) == r"\lVert A \rVert_2 \lVert B \rVert_2 < 1"
    step = next(s for s in der.steps if s.lhs == sp.Symbol("invertible"))
    assert step.verified and step.verification.method == "numeric"


def test_a_sylvester_layer_with_a_sigmoid_gets_the_bound_four():
    """sigmoid' takes values in (0, 1/4]: the residual is a contraction when ‖A‖₂‖B‖₂ < 4."""
    sig = sp.Lambda(sp.Symbol("t"), 1 / (1 + sp.exp(-sp.Symbol("t"))))
    der = derive_layer(_sylvester_like(sig))
    v = der.result("sylvester-h.condition").value
    assert v.condition.rhs == 4
    step = next(s for s in der.steps if s.lhs == sp.Symbol("invertible"))
    assert step.verified


@pytest.mark.parametrize("wrong", [sp.Rational(1, 2), sp.Integer(2)])
def test_the_sylvester_check_fails_for_a_wrong_bound(wrong):
    """The condition's check is tight at size 1: a Lipschitz bound twice or half the true one is caught."""
    from derive.flows.checks import Checks
    from derive.flows.invertible import _sylvester_check

    checks = Checks(LAYERS["sylvester"])
    A, B = (sp.IndexedBase(n, real=True) for n in ("A", "B"))
    assert _sylvester_check(checks, (1, A), (1, B), sp.Integer(1)).passed
    assert not _sylvester_check(checks, (1, A), (1, B), wrong).passed


def test_the_sylvester_condition_is_what_numpy_shows():
    """Independent of the derivation: inside the bound the fixed-point iteration x = y − A tanh(Bx + c)
    converges to the one preimage; past it (d = m = 1, AB = −1.5) two inputs share an image."""
    rng = np.random.default_rng(5)
    D, M = 8, 4
    A, B, c = rng.normal(size=(D, M)), rng.normal(size=(M, D)), rng.normal(size=M)
    scale = np.sqrt(0.95 / (np.linalg.norm(A, 2) * np.linalg.norm(B, 2)))
    A, B = A * scale, B * scale
    x_true = rng.normal(size=D) * 2
    y_img = x_true + A @ np.tanh(B @ x_true + c)
    z = np.zeros(D)
    for _ in range(2000):
        z = y_img - A @ np.tanh(B @ z + c)
    assert np.allclose(z, x_true, atol=1e-8)
    # d = m = 1: f(x) = x − 1.5 tanh(x) has f(-t) = −f(t) and f(t*) = 0 at some t* > 0
    f = lambda t: t - 1.5 * np.tanh(t)  # noqa: E731
    ts = np.linspace(0.1, 3, 3000)
    t_star = ts[np.argmin(np.abs(f(ts)))]
    assert abs(f(t_star)) < 1e-3 and abs(f(0.0)) == 0.0 and t_star > 1


# ---- float32 in, float32 out -----------------------------------------------------------------------------


def _float32_case(name, d=8, rows=6, seed=4):
    from derive.flows.crosscheck import RENAME
    from derive.numeric import flow_reference as ref

    ref_name = name.replace("-", "_")
    rng = np.random.default_rng(seed)
    params = ref.LAYERS[ref_name](rng, d if ref_name != "conv1x1" else 4)
    mine = {RENAME.get(k, k): v for k, v in params.items()}
    x = rng.normal(size=(rows, d) if ref_name != "conv1x1" else (rows, 2, 3, 4)) * 0.8

    def single(v):
        if callable(v):
            return lambda z: v(z.astype(np.float64)).astype(np.float32)
        return np.asarray(v, dtype=np.float32)

    return mine, {k: single(v) for k, v in mine.items()}, x


@pytest.mark.parametrize("name", [n if n in FAST + ("lu-linear", "planar") else pytest.param(n, marks=pytest.mark.slow)
                                  for n in flows.names()])
def test_printed_numpy_keeps_float32(name):
    """float32 input, parameters and networks: every printed function returns float32, within float32
    tolerances of the float64 values."""
    from derive.flows.crosscheck import sources
    from derive.flows.numeric import ident, namespace

    ns = namespace(sources(flows.derive(name)))
    mine, single, x = _float32_case(name)
    base = ident(name)
    y64, ld64 = ns[f"{base}_forward_and_logdet"](x, **mine)
    y32, ld32 = ns[f"{base}_forward_and_logdet"](x.astype(np.float32), **single)
    assert y32.dtype == np.float32 and ld32.dtype == np.float32, (y32.dtype, ld32.dtype)
    assert np.max(np.abs(y32 - y64)) < 1e-5 * (1 + np.max(np.abs(y64)))
    assert np.max(np.abs(ld32 - ld64)) < 1e-4 * (1 + np.max(np.abs(ld64)))
    for fn in ("logdet", "forward"):
        assert ns[f"{base}_{fn}"](x.astype(np.float32), **single).dtype == np.float32, fn
    if f"{base}_inverse_and_logdet" in ns:
        back, ld_inv = ns[f"{base}_inverse_and_logdet"](y32, **single)
        assert back.dtype == np.float32 and ld_inv.dtype == np.float32
        assert np.max(np.abs(back - x)) < 1e-3
