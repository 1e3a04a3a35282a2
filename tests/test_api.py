"""The Python API (``derive.layer``, ``derive.flow``, ``derive.kl``, ``derive.sheet``, ``derive.own``): the same
derivations as the command line, as SymPy objects; callables printed by the same printer as the exported
modules; refusals as exceptions of one line, never an exit of the process."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import derive
from derive import own

ROOT = Path(__file__).resolve().parent.parent


def _cli_json(*args) -> dict:
    res = subprocess.run([sys.executable, "-m", "derive", "show", *args, "--json"], capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _rebuilt(srepr: str):
    """A SymPy object from the srepr this project's own JSON export wrote."""
    from sympy.codegen import cfunctions

    from derive.divergence import stable

    space = {**sp.__dict__, **sp.tensor.indexed.__dict__, **cfunctions.__dict__, **stable.__dict__}
    return eval(srepr, space)  # our own output, not user text


@pytest.fixture(scope="module")
def planar():
    return derive.layer("planar", dim=4)


def test_a_catalogue_layer_is_derived_verified_and_checked(planar):
    assert planar.all_verified and planar.all_checks_pass
    assert sorted(planar.results) == ["condition", "logdet", "volume"]
    assert planar.result("planar.logdet") == planar.logdet == planar.results["logdet"]
    assert planar.verdicts["condition"].holds is None and planar.condition == planar.verdicts["condition"].condition
    assert "planar" in repr(planar) and "4/4 steps verified" in repr(planar)
    with pytest.raises(AttributeError):
        planar.inverse  # planar has no derived inverse


def test_the_results_equal_the_command_line_json(planar):
    data = _cli_json("planar")
    by_name = {r["name"]: r["value"] for r in data["results"]}
    assert _rebuilt(by_name["planar.logdet"]["srepr"]) == planar.logdet
    assert _rebuilt(by_name["planar.condition"]["condition"]["srepr"]) == planar.condition
    # and the API's own JSON says the same
    mine = json.loads(planar.to_json())["derivations"][0]
    assert {r["name"]: r["value"] for r in mine["results"]}["planar.logdet"] == by_name["planar.logdet"]


def test_lambdify_is_the_exported_module(planar):
    spec = importlib.util.spec_from_file_location("derive_numeric_written", ROOT / "outputs" / "derive_numeric.py")
    written = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(written)
    mine = planar.lambdify("numpy")
    rng = np.random.default_rng(1)
    x, u, w, b = rng.normal(size=(50, 6)), rng.normal(size=6) / 3, rng.normal(size=6), np.float64(0.4)
    for fn in ("planar_forward", "planar_logdet"):
        np.testing.assert_array_equal(getattr(mine, fn)(x, u, w, b), getattr(written, fn)(x, u, w, b))
    # the log-det is log|1 + h'(w.x + b) u.w|, worked out here by hand
    expected = np.log(np.abs(1 + (1 - np.tanh(x @ w + b) ** 2) * (u @ w)))
    np.testing.assert_allclose(mine.planar_logdet(x, u, w, b), expected, rtol=1e-13)
    assert planar.source("numpy") in (ROOT / "outputs" / "derive_numeric.py").read_text() or \
        "def planar_logdet" in planar.source("numpy")


def test_views_for_a_notebook_and_the_exports_show_the_formula(planar):
    assert r"\sum_{l=1}^{d} u_{l} w_{l}" in planar._repr_latex_()
    assert planar._repr_latex_().startswith("$$") and r"\tanh" in planar._repr_latex_()
    assert "<math" in planar._repr_html_() and "tanh" in planar._repr_html_()
    assert "tanh" in planar._repr_markdown_()
    tex = planar.to_latex()
    assert tex.startswith(r"\documentclass") and r"\tanh" in tex and tex.rstrip().endswith(r"\end{document}")
    assert planar.to_html().startswith("<!DOCTYPE html>") and "Planar flow" in planar.to_markdown()


def test_an_own_layer_from_sympy_expressions_derives_like_the_catalogue(planar):
    x, u, w, b = own.vector("x"), own.vector("u"), own.vector("w"), own.scalar("b")
    d = derive.layer({"y": x + u * sp.tanh(own.dot(w, x) + b)}, inputs=x, name="my-planar")
    assert d.all_verified and d.all_checks_pass
    assert d.logdet == planar.logdet
    assert own.table({"y": x + u * sp.tanh(own.dot(w, x) + b)}, x)["equations"]["y"] == "((u*tanh((b + dot(w, x)))) + x)"


def test_an_own_coupling_block_in_sympy_is_the_sheets_block():
    x1, x2, s = own.vector("x1"), own.vector("x2"), own.vector("s")
    F, G = own.coupling("F"), own.coupling("G")
    d = derive.layer({"y1": sp.exp(G(x2)) * x1 + F(x2), "y2": sp.exp(s) * x2}, inputs=(x1, x2), name="block")
    assert d.all_verified and d.all_checks_pass
    seed = derive.layer("seed", dim=4)
    assert sp.srepr(d.logdet) == sp.srepr(seed.logdet)
    # change the definition and the result follows: a scale of 2·G doubles its sum
    d2 = derive.layer({"y1": sp.exp(2 * G(x2)) * x1 + F(x2), "y2": sp.exp(s) * x2}, inputs=(x1, x2), name="block2")
    k = next(v for v in d.logdet.free_symbols if str(v) == "k")
    g_sum = next(a for a in d.logdet.args if not a.has(s.base))       # Σ_i G_i(x2)
    assert d2.all_verified and sp.expand((d2.logdet - d.logdet - g_sum).subs(k, 3).doit()) == 0


def test_a_flow_of_names_and_own_layers():
    x, ell = own.vector("x"), own.vector("c")
    shift = derive.layer({"y": x + ell}, inputs=x, name="shift")
    d = derive.flow(["actnorm", shift, "reverse"], name="stack")
    assert d.all_verified and d.all_checks_pass
    assert "ell" in str(d.logdet)


@pytest.mark.parametrize("make, kind, words", [
    (lambda x: {"y": x + sp.gamma(x)}, derive.InputError, "gamma"),
    (lambda x: {"y": x + own.vector("u") * sp.tanh(x) / (sp.sin(1) ** 2 + sp.cos(1) ** 2 - 1)}, derive.InputError,
     "exactly 0"),
    (lambda x: {"y": x + sp.exp(sp.exp(sp.exp(100)))}, derive.InputError, "too large"),
    (lambda x: {"y": x + own.matrix("W")}, derive.InputError, "matvec"),
    (lambda x: {"y": x + sp.Function("f")(x)}, derive.InputError, "not supported"),
    (lambda x: {"z": x}, derive.InputError, "keys y"),
    (lambda x: {"y": "x + 1"}, derive.InputError, "not a SymPy expression"),
])
def test_bad_own_layers_raise_one_line(make, kind, words):
    x = own.vector("x")
    with pytest.raises(kind) as info:
        derive.layer(make(x), inputs=x)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_refusals_are_exceptions_not_exits():
    for call, words in ((lambda: derive.layer("nope"), "unknown layer"), (lambda: derive.layer("planar", dim=0), "dim"),
                        (lambda: derive.layer("realnvp", dim=5), "even"),
                        (lambda: derive.layer("planar", time_limit=-1), "time_limit"),
                        (lambda: derive.kl("gamma", "normal"), "no KL pair"),
                        (lambda: derive.flow("planar"), "list"),
                        (lambda: derive.layer("planar").lambdify("jax"), "backend")):
        with pytest.raises(derive.InputError, match=words):
            call()


def test_the_time_limit_covers_the_call_and_strict_refuses_an_unverified_step():
    with pytest.raises(derive.TimeLimitError, match="ran out of time"):
        derive.layer({"y": own.vector("x") + sp.tanh(own.dot(own.vector("w"), own.vector("x")))},
                     inputs=own.vector("x"), time_limit=0.01)
    x, W = own.vector("x"), own.matrix("W")
    dense = {"y": x + own.matvec(W, sp.tanh(x))}
    loose = derive.layer(dense, inputs=x, dim=32)
    assert not loose.all_verified
    with pytest.raises(derive.UnverifiedError, match="not verified"):
        derive.layer(dense, inputs=x, dim=32, strict=True)
    assert issubclass(derive.UnverifiedError, derive.DeriveError) and issubclass(derive.InputError, ValueError)


def test_the_kl_pair_is_the_catalogues_and_the_clis():
    d = derive.kl("gamma", "gamma")
    assert d.all_verified and d.all_checks_pass
    value = d.result("kl.gamma.gamma")
    a_p, a_q, b_p, b_q = sorted(value.free_symbols, key=str)
    # same shape a, rate b_p against rate b_q: E_p[log p - log q] = a log(b_p/b_q) - (b_p - b_q) a/b_p (by hand)
    assert sp.simplify(value.subs(a_q, a_p) - (a_p * sp.log(b_p / b_q) - (b_p - b_q) * a_p / b_p)) == 0
    assert "rate" in d.derivations[0].summary
    data = _cli_json("kl-gamma-gamma")
    by_name = {r["name"]: r["value"] for r in data["results"]}
    for name in ("kl.gamma.gamma", "kl.gamma.gamma.stable"):
        assert _rebuilt(by_name[name]["srepr"]) == d.result(name)
    f = d.lambdify("numpy")
    assert f.kl_gamma_gamma(2.0, 3.0, 2.0, 1.0) == pytest.approx(2 * np.log(3) - 4 / 3, rel=1e-14)


@pytest.mark.slow
def test_the_sheet_is_one_object():
    d = derive.sheet()
    assert d.all_verified and d.all_checks_pass
    assert {der.name for der in d.derivations} == {"coupling", "vfe", "kl", "reparam"}
    assert d.result("coupling.logdet") is not None and d.result("reparam.grad_mu") is not None
    assert r"\section*{1\quad Reversible Architectures}" in d.to_latex()


def test_import_derive_loads_neither_sympy_nor_numpy():
    res = subprocess.run([sys.executable, "-c", "import sys, derive; print(sorted(m for m in ('sympy', 'numpy') "
                          "if m in sys.modules)); print(derive.layer.__doc__ is not None)"],
                         capture_output=True, text=True, timeout=60)
    assert res.stdout.split() == ["[]", "True"], res.stderr


@pytest.mark.slow
def test_the_docstring_examples_run():
    import doctest

    import derive.api
    import derive.own

    for module in (derive.api, derive.own):
        failed, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert tried > 0 and failed == 0, module.__name__


def test_a_layer_without_a_closed_form_inverse_says_so():
    """x + a·tanh(x) = y has no closed-form solution (SymPy raises NotImplementedError): the inverse is reported
    as not in closed form, and the rest is derived and verified."""
    x, a = own.vector("x"), own.vector("a")
    d = derive.layer({"y": x + a * sp.tanh(x)}, inputs=x, name="tanh-residual")
    assert d.all_verified and d.all_checks_pass
    assert d.derivations[0].data["inverse_kind"] == "no closed form" and "inverse" not in d.results
    f = d.lambdify("numpy")
    X, A = np.random.default_rng(4).normal(size=(6, 3)), np.array([0.5, -0.4, 2.0])
    np.testing.assert_allclose(f.tanh_residual_logdet(X, A), np.log(np.abs(1 + A * (1 - np.tanh(X) ** 2))).sum(-1))


def test_lambdify_torch_is_the_torch_module(planar):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")
    t, n = planar.lambdify("torch"), planar.lambdify("numpy")
    rng = np.random.default_rng(6)
    x, u, w, b = rng.normal(size=(9, 5)), rng.normal(size=5) / 3, rng.normal(size=5), np.float64(-0.2)
    got = t.planar_logdet(*(torch.tensor(v) for v in (x, u, w, b)))
    np.testing.assert_allclose(got.numpy(), n.planar_logdet(x, u, w, b), rtol=1e-13)
    y, ld = t.Planar(torch.tensor(u), torch.tensor(w), torch.tensor(b))(torch.tensor(x))
    np.testing.assert_allclose(ld.detach().numpy(), got.numpy(), rtol=1e-13)


def test_the_api_functions_are_not_shadowed_by_modules():
    """Deriving the sheet imports every module of the package; ``derive.kl`` and the others stay the API's."""
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(derive.__path__, "derive."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    for name in ("layer", "flow", "kl", "sheet"):
        assert callable(getattr(derive, name)) and getattr(derive, name).__module__ == "derive.api", name
