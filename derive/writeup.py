"""``derive all``: print every derivation, run every check, export the writeup.

Outputs (in ``outputs/`` or ``--out``): ``writeup.tex``, ``writeup.md``,
``derivations.json`` and, when a LaTeX engine is installed, ``writeup.pdf``.
Everything is produced in memory first and each file is then renamed into
place, so a failing run leaves the previous outputs as they were.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .atomic import write_all_atomic


def build_everything(opts, status=None, build=None):
    """Build and check every registered derivation (in the registry's order)."""
    from .registry import ENTRIES

    derivations = []
    for entry in ENTRIES.values():
        if status is not None:
            status.update(f"deriving {entry.name} ({entry.question}) and running its cross-checks")
        der = build(entry) if build is not None else entry.build(opts)
        der.checks = entry.check(der, opts)
        derivations.append(der)
    return derivations


def render_files(derivations) -> dict[str, str]:
    from .render import latex, markdown, numpy_module
    from .render.jsonout import SCHEMA_VERSION, derivation_dict, dumps

    payload = {"schema_version": SCHEMA_VERSION, "derivations": [derivation_dict(d) for d in derivations]}
    return {"derivations.json": dumps(payload), "writeup.tex": latex.render_document(derivations),
            "writeup.md": markdown.render_document(derivations),
            "derive_numeric.py": numpy_module.render_module(derivations)}


_JSON_RESIDUAL = re.compile(r'("residual": )[^,\n}]+')
_TABLE_RESIDUAL = re.compile(r"-?\d\.\d\de[-+]\d\d")


def mask_residuals(text: str) -> str:
    """The text with cross-check residuals blanked out.

    Residuals of numeric checks may differ in their last digits between numpy
    builds; ``--check`` is about whether the derivations are current.
    """
    return _TABLE_RESIDUAL.sub("R", _JSON_RESIDUAL.sub(r"\1R", text))


def compile_pdf(tex: str) -> tuple[bytes | None, str]:
    """Compile with latexmk or pdflatex; returns (pdf bytes or None, message)."""
    engine = shutil.which("latexmk") or shutil.which("pdflatex")
    if engine is None:
        return None, ("no LaTeX engine found: install TeX Live (e.g. apt-get install texlive-latex-extra "
                      "texlive-pictures latexmk) to get writeup.pdf")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "writeup.tex").write_text(tex, encoding="utf-8")
        if engine.endswith("latexmk"):
            cmd = [engine, "-pdf", "-interaction=nonstopmode", "-halt-on-error", "writeup.tex"]
        else:
            cmd = [engine, "-interaction=nonstopmode", "-halt-on-error", "writeup.tex"]
        runs = 1 if engine.endswith("latexmk") else 2
        for _ in range(runs):
            env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}  # reproducible PDF
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, errors="replace", timeout=600, env=env)
            if proc.returncode != 0:
                errors = [ln for ln in proc.stdout.splitlines() if ln.startswith("!") or ln.startswith("l.")]
                return None, "LaTeX failed:\n" + "\n".join(errors[:20] or proc.stdout.splitlines()[-20:])
        return (Path(tmp) / "writeup.pdf").read_bytes(), "compiled writeup.pdf"


def run_all(opts, out: str = "outputs", check_only: bool = False, quiet: bool = False, pdf: bool = True,
            build=None) -> int:
    from rich.console import Console

    console = Console(highlight=False, quiet=quiet)
    with console.status("deriving", spinner="dots") as status:
        derivations = build_everything(opts, status, build)
    if not quiet:
        from .render.terminal import render

        for der in derivations:
            render(der, console)
    files = render_files(derivations)
    out_dir = Path(out)
    ok = all(d.all_verified and d.all_checks_pass for d in derivations)
    if check_only:
        stale = [name for name, text in sorted(files.items())
                 if not (out_dir / name).exists()
                 or mask_residuals((out_dir / name).read_text(encoding="utf-8")) != mask_residuals(text)]
        if stale:
            print(f"derive: stale outputs in {out_dir}: {', '.join(stale)}", file=sys.stderr)
            return 1
        console.print(f"{out_dir}: all outputs are current")
        return 0 if ok else 1
    if out_dir.exists() and not out_dir.is_dir():
        print(f"derive: error: --out {out_dir} is not a folder", file=sys.stderr)
        return 2
    pdf_bytes, latex_failed = None, False
    if pdf:
        with console.status("compiling writeup.pdf", spinner="dots"):
            pdf_bytes, message = compile_pdf(files["writeup.tex"])
        if pdf_bytes is None:
            latex_failed = message.startswith("LaTeX failed")
            print(f"derive: {message}", file=sys.stderr)
    outputs = {out_dir / name: text for name, text in files.items()}
    if pdf_bytes is not None:
        outputs[out_dir / "writeup.pdf"] = pdf_bytes
    write_all_atomic(outputs)
    written = sorted(files) + (["writeup.pdf"] if pdf_bytes is not None else [])
    console.print(f"wrote {', '.join(written)} to {out_dir}")
    if not ok:
        print("derive: some steps are unverified or some cross-checks failed", file=sys.stderr)
    return 0 if ok and not latex_failed else 1
