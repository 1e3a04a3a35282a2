"""The flow-layer catalogue in the output set: catalogue.{tex,md,html,pdf}, its numpy functions in
derive_numeric.py and its results in derivations.json.

Expected values come from the mathematics: an element-wise affine layer y_i = a_i x_i + b_i has
log|det| = Σ_i log|a_i| and inverse x_i = (y_i - b_i)/a_i; a reversal has |det| = 1; a planar layer
y = x + u tanh(wᵀx + b) has log|det| = log|1 + (1 - tanh²(wᵀx + b)) uᵀw| (the matrix determinant lemma).
"""
import importlib.util
from pathlib import Path
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from derive import flows
from derive.registry import ENTRIES, Options, catalogue

FAST = ("affine", "reverse", "maf", "planar")
HAS_PDF = shutil.which("pdftotext") is not None and (shutil.which("latexmk") or shutil.which("pdflatex"))


@pytest.fixture(scope="module")
def files():
    from derive.writeup import render_files

    sheet = [ENTRIES["kl"].build(Options())]
    layers = []
    for name in FAST:
        der = flows.derive(name)
        der.checks = catalogue()[name].cross_checks(der, Options())
        layers.append(der)
    return render_files(sheet + layers)


def test_the_set_has_the_catalogue_document_beside_the_writeup(files):
    assert {"catalogue.tex", "catalogue.md", "catalogue.html", "writeup.md"} <= set(files)
    assert "Flow layers" not in files["writeup.md"]  # the writeup stays about the sheet


def test_the_summary_table_names_each_layer_with_its_structure(files):
    md = files["catalogue.md"]
    rows = {line.split("|")[1].strip(): line for line in md.splitlines() if line.startswith("| ")}
    assert "element-wise" in rows["affine"] and "closed form" in rows["affine"]
    assert "permutation" in rows["reverse"] and "| yes |" in rows["reverse"]
    assert "lower triangular" in rows["maf"] and "recursion" in rows["maf"]
    assert "diagonal plus rank one" in rows["planar"] and "no closed form" in rows["planar"]
    assert r"\sum_{l=1}^{d} u_{l} w_{l} \geq -1" in rows["planar"]  # wᵀu ≥ -1


def test_each_layer_page_holds_its_derived_formulas(files):
    md = files["catalogue.md"]
    affine = md[md.index("Element-wise affine"):md.index("Permutation")]
    assert r"\sum_{i=1}^{d} \log{\left(\left|{a_{i}}\right| \right)}" in affine
    assert r"x_{i} = \frac{- b_{i} + y_{i}}{a_{i}}" in affine
    assert "checked at $d = 1, 2, 3, 4$" in affine and "Cost of the log-determinant: O(d)" in affine
    tex = files["catalogue.tex"]
    assert r"\sum_{i=1}^{d} \log{\left(\left|{a_{i}}\right| \right)}" in tex
    assert "<math" in files["catalogue.html"] and "Planar flow" in files["catalogue.html"]


def test_no_layer_page_claims_a_check_that_was_not_run(files):
    md = files["catalogue.md"]
    assert md.count("FAIL") == 0 and md.count("unverified") == 0
    assert md.count("| pass |") >= 3 * len(FAST) - 2  # forward, log-det (two ways), inverse where derived


def _module(tmp_path, text):
    path = tmp_path / "derive_numeric.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("derive_numeric_test", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_numpy_module_has_each_layers_functions_with_the_right_values(files, tmp_path):
    mod = _module(tmp_path, files["derive_numeric.py"])
    rng = np.random.default_rng(3)
    x, a, b = rng.normal(size=(5, 7)), rng.normal(size=7), rng.normal(size=7)
    assert np.allclose(mod.affine_logdet(x, a, b), np.sum(np.log(np.abs(a))) * np.ones(5))
    assert np.allclose(mod.affine_inverse(mod.affine_forward(x, a, b), a, b), x)
    assert np.allclose(mod.reverse_forward(x), x[:, ::-1]) and np.allclose(mod.reverse_logdet(x), 0)
    u, w, c = rng.normal(size=7), rng.normal(size=7), 0.3
    z = x @ w + c
    assert np.allclose(mod.planar_logdet(x, u, w, c), np.log(np.abs(1 + (1 - np.tanh(z) ** 2) * (u @ w))))
    y, ld = mod.planar_forward_and_logdet(x, u, w, c)
    assert np.allclose(y, x + np.tanh(z)[:, None] * u) and np.allclose(ld, mod.planar_logdet(x, u, w, c))
    assert hasattr(mod, "kl_gaussian_standard")  # the sheet's functions are still there


def test_derivations_json_names_each_layers_results(files):
    data = json.loads(files["derivations.json"])
    names = {r["name"] for d in data["derivations"] for r in d["results"]}
    for layer in FAST:
        assert {f"{layer}.logdet", f"{layer}.condition", f"{layer}.volume"} <= names
    assert {"affine.inverse", "maf.inverse", "reverse.inverse"} <= names and "planar.inverse" not in names


def _derive(*args):
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True, timeout=1200)


@pytest.mark.slow
def test_derive_all_writes_and_checks_the_whole_catalogue(tmp_path):
    out = tmp_path / "o"
    res = _derive("all", "--quiet", "--out", str(out), *([] if HAS_PDF else ["--no-pdf"]))
    assert res.returncode == 0, res.stderr
    md = (out / "catalogue.md").read_text()
    for name in flows.names():
        assert f"| {name} |" in md
    data = json.loads((out / "derivations.json").read_text())
    assert {d["name"] for d in data["derivations"]} >= set(flows.names()) | set(ENTRIES)
    assert all(d["all_verified"] for d in data["derivations"])
    manifest = json.loads((out / "manifest.json").read_text())
    if HAS_PDF:
        text = subprocess.run(["pdftotext", str(out / "catalogue.pdf"), "-"], capture_output=True, text=True).stdout
        assert "Planar flow" in text and "Householder reflection" in text
        assert manifest["pdfs"]["catalogue.pdf"]["compiled_from"] == "catalogue.tex"
    assert _derive("all", "--check", "--quiet", "--out", str(out), *([] if HAS_PDF else ["--no-pdf"])).returncode == 0
    tex = out / "catalogue.tex"
    tex.write_text(tex.read_text().replace("Planar flow", "Planar flaw"))
    res = _derive("all", "--check", "--quiet", "--out", str(out), *([] if HAS_PDF else ["--no-pdf"]))
    assert res.returncode == 1 and "catalogue.tex" in res.stderr


OWN_LAYER = '''name = "own-scale"
dim = 6
[parameters]
c = "vector"
w = "vector"
[equations]
y = "x*exp(c*tanh(dot(w, x)))"
'''


@pytest.mark.slow
def test_derive_all_exports_your_own_layer_and_flow(tmp_path):
    """y_i = x_i exp(c_i tanh(m)), m = wᵀx: the Jacobian is diagonal plus rank one (every y_i depends on m);
    its log-determinant is checked here against slogdet of the Jacobian written by hand."""
    layer = tmp_path / "own.toml"
    layer.write_text(OWN_LAYER)
    flow = Path(__file__).resolve().parent.parent / "examples" / "my-flow.toml"
    out = tmp_path / "o"
    res = _derive("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(out), "--layer", str(layer),
                  "--flow", str(flow))
    assert res.returncode == 0, res.stderr
    md = (out / "catalogue.md").read_text()
    assert "Your layer own-scale" in md and "my-flow" in md and "diagonal plus rank one" in md
    names = {r["name"] for d in json.loads((out / "derivations.json").read_text())["derivations"] for r in d["results"]}
    assert {"own-scale.logdet", "own-scale.condition", "my-flow.logdet"} <= names
    mod = _module(tmp_path, (out / "derive_numeric.py").read_text())
    rng = np.random.default_rng(5)
    x, c, w = rng.normal(size=(4, 6)), rng.normal(size=6), rng.normal(size=6)
    for row in x:
        m = row @ w
        s = np.exp(c * np.tanh(m))
        jac = np.diag(s) + np.outer(row * s * c * (1 - np.tanh(m) ** 2), w)
        expected = np.linalg.slogdet(jac)[1]
        assert np.isclose(mod.own_scale_logdet(row[None, :], c, w)[0], expected)
    assert callable(mod.my_flow_forward) and callable(mod.my_flow_inverse) and callable(mod.softplus_coupling_2_inverse)


def test_derive_all_refuses_your_layer_under_a_catalogue_name(tmp_path):
    layer = tmp_path / "own.toml"
    layer.write_text(OWN_LAYER.replace("own-scale", "planar"))
    res = _derive("all", "--no-pdf", "--quiet", "--out", str(tmp_path / "o"), "--layer", str(layer))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "already taken" in res.stderr
    assert not (tmp_path / "o").exists()
