"""derive all: the exported files, their determinism, atomicity and the standalone numpy module."""
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.isolated import run_without_derive

TEXT_FILES = ("derivations.json", "writeup.tex", "writeup.md", "writeup.html", "derive_numeric.py", "derive_torch.py")


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True, timeout=900,
                          cwd=cwd)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    for out in (a, b):
        res = run("all", "--no-catalogue", "--quiet", "--no-pdf", "--out", str(out))
        assert res.returncode == 0, res.stderr
    return a, b


def test_all_writes_every_text_output_identically_twice(two_runs):
    a, b = two_runs
    for name in TEXT_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_json_holds_every_derivation_and_symbol_map(two_runs):
    data = json.loads((two_runs[0] / "derivations.json").read_text())
    names = {d["name"] for d in data["derivations"]}
    assert {"coupling", "vfe", "kl", "reparam"} <= names
    for d in data["derivations"]:
        assert d["all_verified"] and d["checks"] and all(c["passed"] for c in d["checks"])
    coupling = next(d for d in data["derivations"] if d["name"] == "coupling")
    assert {"x1", "x2", "y1", "y2", "s", "F", "G"} <= set(coupling["symbols"])


def test_writeup_keeps_feedback_for_the_author(two_runs):
    md = (two_runs[0] / "writeup.md").read_text()
    feedback = md.split("## 3 Feedback", 1)[1].split("## A Verification log", 1)[0]
    assert "For the author to fill in" in feedback
    questions = [ln for ln in feedback.splitlines() if ln[:2] in ("1.", "2.", "3.", "4.")]
    assert len(questions) == 4 and all(ln.rstrip().endswith(("?", ".")) for ln in questions)
    tex = (two_runs[0] / "writeup.tex").read_text()
    for label in (r"\section*{1\quad Reversible Architectures}", r"\subsection*{2.1\quad The free energy identity}",
                  r"\subsection*{2.4\quad Stochastic gradient by backpropagation}", r"\begin{tikzpicture}", r"\boxed"):
        assert label in tex


def test_generated_module_runs_without_derive_or_sympy(two_runs, coupling):
    """Import derive_numeric.py in a fresh interpreter in which derive and sympy cannot be imported."""
    out = run_without_derive(two_runs[0], """
        import numpy as np, derive_numeric as dn
        rng = np.random.default_rng(3)
        W = rng.normal(size=(3, 3)); b = rng.normal(size=3); s = rng.normal(size=3)
        F = lambda v: np.tanh(v @ W.T + b); G = lambda v: np.sin(v @ W + 0.3)
        x = rng.normal(size=(5, 6))
        y = dn.coupling_forward(x, F, G, s)
        out = dict(y=y.tolist(), back=dn.coupling_inverse(y, F, G, s).tolist(), x=x.tolist(),
                   ld=dn.coupling_logdet(x, F, G, s).tolist(), W=W.tolist(), b=b.tolist(), s=s.tolist(),
                   kl=float(dn.kl_gaussian_standard(1.0, 2.0)))
        print(json.dumps(out))
    """)
    x, y = np.array(out["x"]), np.array(out["y"])
    W, b, s = np.array(out["W"]), np.array(out["b"]), np.array(out["s"])
    F = lambda v: np.tanh(v @ W.T + b)  # noqa: E731
    G = lambda v: np.sin(v @ W + 0.3)  # noqa: E731
    from derive.numeric import reference

    np.testing.assert_allclose(y, reference.reference_forward("seed", x, F, G, s), rtol=1e-13)
    np.testing.assert_allclose(np.array(out["back"]), x, rtol=1e-12, atol=1e-12)
    _, ld = reference.slogdet(reference.fd_jacobian(lambda v: reference.reference_forward("seed", v, F, G, s), x))
    np.testing.assert_allclose(np.array(out["ld"]), ld, atol=1e-8)
    assert abs(out["kl"] - (0.5 * (1 + 4 - 1) - np.log(2))) < 1e-12   # by hand


def _module(folder):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"dn_{abs(hash(str(folder)))}", folder / "derive_numeric.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Counted:
    """A conditioner that counts its calls (and may refuse to be called at all)."""

    def __init__(self, fn, refuse=False):
        self.fn, self.refuse, self.calls = fn, refuse, 0

    def __call__(self, v):
        if self.refuse:
            raise AssertionError("this conditioner must not be called")
        self.calls += 1
        return self.fn(v)


def test_the_coupling_functions_call_only_the_conditioners_they_use(two_runs):
    """log|det| = Σ G_i + Σ s_i never uses F: coupling_logdet must not call it; the fused calls run each
    conditioner once and give what the separate calls give; inverse_and_logdet gives −log|det| at x."""
    dn = _module(two_runs[0])
    rng = np.random.default_rng(7)
    W, s = rng.normal(size=(4, 4)), rng.normal(size=4)
    F, G = (lambda v: np.tanh(v @ W.T)), (lambda v: np.sin(v @ W) + 0.2)
    x = rng.normal(size=(6, 8))
    ld = dn.coupling_logdet(x, Counted(F, refuse=True), G, s)
    np.testing.assert_allclose(ld, G(x[:, 4:]).sum(axis=1) + s.sum(), rtol=1e-13)  # by hand: Σ G_i(x2) + Σ s_i
    cf, cg = Counted(F), Counted(G)
    y, ld2 = dn.coupling_forward_and_logdet(x, cf, cg, s)
    assert (cf.calls, cg.calls) == (1, 1)
    np.testing.assert_allclose(y, dn.coupling_forward(x, F, G, s), rtol=1e-15)
    np.testing.assert_allclose(ld2, ld, rtol=1e-15)
    cf, cg = Counted(F), Counted(G)
    back, ld_inv = dn.coupling_inverse_and_logdet(y, cf, cg, s)
    assert (cf.calls, cg.calls) == (1, 1)
    np.testing.assert_allclose(back, x, atol=1e-12)
    np.testing.assert_allclose(ld_inv, -ld, rtol=1e-13)


def test_the_coupling_functions_keep_float32(two_runs):
    """float32 in (x, s and the conditioners' outputs), float32 out, close to the float64 values."""
    dn = _module(two_runs[0])
    rng = np.random.default_rng(8)
    W, s = rng.normal(size=(16, 16)) * 0.3, rng.normal(size=16) * 0.3
    F, G = (lambda v: np.tanh(v @ W.T.astype(v.dtype))), (lambda v: np.sin(v @ W.astype(v.dtype)))
    x = rng.normal(size=(50, 32))
    y64, ld64 = dn.coupling_forward_and_logdet(x, F, G, s)
    y32, ld32 = dn.coupling_forward_and_logdet(x.astype(np.float32), F, G, s.astype(np.float32))
    assert y32.dtype == np.float32 and ld32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ld32, ld64, rtol=1e-5, atol=1e-4)
    back, ld_inv = dn.coupling_inverse_and_logdet(y32, F, G, s.astype(np.float32))
    assert back.dtype == np.float32 and ld_inv.dtype == np.float32
    np.testing.assert_allclose(back, x, atol=1e-4)


@pytest.mark.slow
def test_check_detects_stale_outputs(two_runs, tmp_path):
    out = tmp_path / "o"
    shutil.copytree(two_runs[0], out)
    assert run("all", "--no-catalogue", "--check", "--no-pdf", "--quiet", "--out", str(out)).returncode == 0
    md = out / "writeup.md"
    md.write_text(md.read_text().replace("KL", "KX", 1))
    res = run("all", "--no-catalogue", "--check", "--no-pdf", "--quiet", "--out", str(out))
    assert res.returncode == 1 and "writeup.md" in res.stderr


def _digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _beside(out: Path) -> list:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_failing_run_leaves_previous_outputs_intact(tmp_path, monkeypatch):
    """A write that fails part-way (a full disk on the third file) replaces none of the outputs and leaves nothing behind."""
    import builtins
    import errno

    from derive import outset

    out = tmp_path / "o"
    out.mkdir()
    for name in TEXT_FILES:
        (out / name).write_text(f"old {name}\n")
    before = _digest(out)
    opened = []

    def disk_full(path, *args, **kwargs):
        if len(opened) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        opened.append(Path(path).name)
        return builtins.open(path, *args, **kwargs)

    monkeypatch.setattr(outset, "open", disk_full, raising=False)
    files = {name: f"new {name}\n" for name in TEXT_FILES}
    with pytest.raises(outset.OutputError, match="No space left on device"):
        with outset.Staging(out) as staging:
            outset.write_files(staging.path, files)
            staging.commit()
    assert len(opened) == 2 and _digest(out) == before and _beside(out) == []
    monkeypatch.setattr(outset, "open", builtins.open)
    with outset.Staging(out) as staging:
        outset.write_files(staging.path, files)
        staging.commit()
    assert {p.name: p.read_text() for p in out.iterdir()} == {n: f"new {n}\n" for n in TEXT_FILES}
    assert _beside(out) == []


def test_a_folder_in_place_of_an_output_replaces_nothing(two_runs, tmp_path):
    out = tmp_path / "o"
    shutil.copytree(two_runs[0], out)
    (out / "writeup.md").unlink()
    (out / "writeup.md").mkdir()
    before = _digest(out)
    res = run("all", "--no-catalogue", "--quiet", "--no-pdf", "--out", str(out))
    assert res.returncode == 2
    assert res.stderr == f"derive: error: --out {out}: writeup.md is not a file derive wrote (a folder or a link)\n"
    assert _digest(out) == before and (out / "writeup.md").is_dir() and _beside(out) == []


def test_derivation_shows_itself_in_jupyter(coupling):
    md = coupling("nice")._repr_markdown_()
    assert md.startswith("## ") and "$$" in md


@pytest.mark.skipif(shutil.which("pdftotext") is None or (shutil.which("latexmk") is None
                                                          and shutil.which("pdflatex") is None),
                    reason="TeX Live and poppler-utils are not installed")
def test_pdf_compiles_and_holds_each_answer(tmp_path):
    res = run("all", "--no-catalogue", "--quiet", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    pdf = tmp_path / "writeup.pdf"
    assert pdf.exists()
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    for needle in ("1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.4", "volume preserving", "Feedback",
                   "For the author to fill in", "Numerical cross-checks", "checked at k = 1, 2, 3, 4",
                   "checked at D = 1, 2, 3", "proof: "):
        assert needle in text, needle
    assert "unverified" not in text


def test_without_a_latex_engine_all_still_writes_and_says_how(tmp_path, monkeypatch, capsys):
    from derive import writeup
    from derive.registry import Options

    monkeypatch.setattr(writeup.shutil, "which", lambda name: None)
    from derive.registry import Entry

    fake = type("D", (), {"all_verified": True, "all_checks_pass": True})()
    monkeypatch.setattr(writeup, "entries_of", lambda opts: [Entry("x", "x", "x", lambda o: fake, lambda d, o: [])])
    monkeypatch.setattr(writeup, "render_files", lambda ders: {"writeup.tex": "x", "writeup.md": "y"})
    assert writeup.run_all(Options(), out=str(tmp_path), quiet=True, pdf=True) == 0
    assert (tmp_path / "writeup.tex").exists() and not (tmp_path / "writeup.pdf").exists()
    err = capsys.readouterr().err
    assert "no LaTeX engine" in err and err.count("\n") == 1


@pytest.mark.skipif(shutil.which("latexmk") is None and shutil.which("pdflatex") is None,
                    reason="TeX Live is not installed")
def test_latex_errors_are_shown_not_swallowed():
    from derive.writeup import compile_pdf

    pdf, message = compile_pdf("\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}")
    assert pdf is None and "Undefined control sequence" in message
