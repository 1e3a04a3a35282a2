"""``derive all``: print every derivation, run every check, export the writeup.

Outputs (in ``outputs/`` or ``--out``): ``writeup.tex``, ``writeup.md``, ``writeup.html``,
``derivations.json`` and, when a LaTeX engine is installed, ``writeup.pdf``.
Everything is produced in memory, written into a staging folder beside the
output folder and swapped in as a unit (:mod:`derive.outset`), so a failing
or killed run leaves the previous outputs as they were; ``manifest.json``
records the SHA-256 of every file and what the PDF was compiled from.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .outset import manifest


def entries_of(opts) -> list:
    """The registry's entries ``derive all`` derives: the sheet's, the catalogue's, your own."""
    from .registry import ENTRIES, catalogue, own

    from .registry import EXTRAS, kl_pairs

    more = (list(EXTRAS.values()) + list(catalogue().values()) + list(kl_pairs().values())
            if getattr(opts, "catalogue", False) else [])
    entries = list(ENTRIES.values()) + more
    return entries + [own(kind, path, opts.dim if opts.dim != 16 else None) for kind, path in getattr(opts, "own", ())]


def render_files(derivations) -> dict:
    """Every output of the set but the PDFs: the sheet's writeup from the sheet's derivations (with the
    estimators' figure), the flow-layer catalogue from the layers', the KL catalogue from the KL pairs' (each
    when there are any), and the JSON, numpy module and torch module of all of them."""
    from . import catalogue_document, kl_catalogue_document
    from .answer import build as build_document
    from .registry import ENTRIES, EXTRAS
    from .render import html, latex, markdown, numpy_module, torch_module
    from .render.jsonout import SCHEMA_VERSION, derivation_dict, dumps

    ours = set(ENTRIES) | set(EXTRAS)
    sheet = [d for d in derivations if d.name in ours]
    pairs = [d for d in derivations if d.name not in ours and "pair" in d.data]
    layers = [d for d in derivations if d.name not in ours and "pair" not in d.data]
    payload = {"schema_version": SCHEMA_VERSION, "derivations": [derivation_dict(d) for d in derivations]}
    files = {"derivations.json": dumps(payload), "derive_numeric.py": numpy_module.render_module(derivations),
             "derive_torch.py": torch_module.render_module(derivations)}
    figure = _estimator_figure(sheet)
    if figure is not None:
        files[figure.name] = figure.data
    documents = [("writeup", build_document(sheet, figure))]
    documents += [("catalogue", catalogue_document.build(layers))] if layers else []
    documents += [("kl-catalogue", kl_catalogue_document.build(pairs, _named(sheet, "estimators"), figure))] \
        if pairs else []
    for stem, doc in documents:
        files.update({f"{stem}.tex": latex.render(doc), f"{stem}.md": markdown.render(doc),
                      f"{stem}.html": html.render(doc)})
    return files


def _named(derivations, name: str):
    return next((d for d in derivations if d.name == name), None)


FIGURE = "estimator-variance.png"


def _estimator_figure(derivations):
    """The variance of each gradient estimator against σ (and λ), as the document's image, or None."""
    der = _named(derivations, "estimators")
    if der is None:
        return None
    from .document import Image
    from .estimator_figure import variance_figure

    return Image(FIGURE, variance_figure(der), ("The variance of each estimator of the KL gradient: lines are the "
                                                "derived formulas, circles Monte Carlo estimates. Left and middle: "
                                                "q = N(1, σ²) against N(0, 1); right: Exponential(λ) against "
                                                "Exponential(1).",))


def compile_pdf(tex: str, scratch: str | None = None, stem: str = "writeup",
                assets: dict | None = None) -> tuple[bytes | None, str]:
    """Compile with latexmk or pdflatex; returns (pdf bytes or None, message).

    The LaTeX files are made in a folder under ``scratch`` (the staging folder, which a killed run's
    successor removes), or under the system's temporary folder.
    """
    engine = shutil.which("latexmk") or shutil.which("pdflatex")
    if engine is None:
        return None, ("no LaTeX engine found: install TeX Live (e.g. apt-get install texlive-latex-extra "
                      f"texlive-pictures latexmk) to get {stem}.pdf")
    with tempfile.TemporaryDirectory(prefix=".latex-", dir=scratch) as tmp:
        (Path(tmp) / f"{stem}.tex").write_text(tex, encoding="utf-8")
        for name, data in (assets or {}).items():  # the figures it includes
            (Path(tmp) / name).write_bytes(data)
        if engine.endswith("latexmk"):
            cmd = [engine, "-pdf", "-interaction=nonstopmode", "-halt-on-error", f"{stem}.tex"]
        else:
            cmd = [engine, "-interaction=nonstopmode", "-halt-on-error", f"{stem}.tex"]
        runs = 1 if engine.endswith("latexmk") else 2
        for _ in range(runs):
            env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}  # reproducible PDF
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, errors="replace", timeout=600, env=env)
            if proc.returncode != 0:
                errors = [ln for ln in proc.stdout.splitlines() if ln.startswith("!") or ln.startswith("l.")]
                return None, "LaTeX failed:\n" + "\n".join(errors[:20] or proc.stdout.splitlines()[-20:])
        return (Path(tmp) / f"{stem}.pdf").read_bytes(), f"compiled {stem}.pdf"


def _engine_version(engine: str) -> str:
    try:
        proc = subprocess.run([engine, "--version"], capture_output=True, text=True, errors="replace", timeout=60)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (proc.stdout.splitlines() or ["unknown"])[0].strip()


def latex_engine() -> tuple[str | None, str]:
    """The LaTeX engine ``compile_pdf`` uses and its version line."""
    engine = shutil.which("latexmk") or shutil.which("pdflatex")
    if engine is None:
        return None, ""
    tex = shutil.which("pdflatex")
    return engine, _engine_version(tex) if tex else "unknown"


def _compile_pdfs(files: dict, console, cache=None) -> bool:
    """Each document's PDF added to ``files`` (compiled, or the same source's PDF from ``cache``); True when
    LaTeX failed on one (no engine is not a failure)."""
    from . import budget

    failed = False
    assets = {name: data for name, data in files.items() if name.endswith(".png")}
    for stem in ("writeup", "catalogue", "kl-catalogue"):
        if f"{stem}.tex" not in files:
            continue
        budget.stage(f"compiling {stem}.pdf")
        with console.status(f"compiling {stem}.pdf", spinner="dots"):
            pdf_bytes, message = _pdf(files[f"{stem}.tex"], stem, cache, assets)
        if pdf_bytes is None:
            failed = failed or message.startswith("LaTeX failed")
            print(f"derive: {message}", file=sys.stderr)
            if not message.startswith("LaTeX failed"):
                break  # no engine: say it once
        else:
            files[f"{stem}.pdf"] = pdf_bytes
    return failed


def _pdf(tex: str, stem: str, cache, assets: dict | None = None) -> tuple:
    """(PDF bytes or None, message): from the cache when it holds this source's PDF (the same .tex and the same
    figures), else compiled."""
    import hashlib

    from . import budget
    from .cache import pdf_key

    engine, version = latex_engine()
    used = {n: d for n, d in (assets or {}).items() if n in tex}
    source = tex + "".join(f"\n%{n} {hashlib.sha256(d).hexdigest()}" for n, d in sorted(used.items()))
    k = pdf_key(source, version) if cache is not None and engine is not None else None
    if k is not None:
        held = cache.get_bytes(k, "pdf")
        if held is not None and held.startswith(b"%PDF"):
            return held, f"{stem}.pdf from the cache"
    pdf_bytes, message = compile_pdf(tex, budget.stage_dir(), stem, used)
    if k is not None and pdf_bytes is not None:
        cache.put(k, pdf_bytes, "pdf")
    return pdf_bytes, message


def run_all(opts, out: str = "outputs", check_only: bool = False, quiet: bool = False, pdf: bool = True,
            jobs: int = 1, cache: bool = False, profile: bool = False) -> int:
    """``derive all``.  ``jobs`` worker processes derive what ``cache`` (when True, and never with
    ``check_only``) does not hold; ``profile`` prints where the time went."""
    import time

    from . import outset

    out_dir = outset.resolve(out)
    if not check_only:
        outset.check_target(out_dir)
    from .render.terminal import make_console
    from .runner import Run

    console = make_console(quiet=quiet)
    phases, started = [], time.perf_counter()
    from .cache import open_cache

    store = open_cache(cache and not check_only)
    run = Run(entries_of(opts), opts, jobs=jobs, cache=store).start()
    with console.status("deriving", spinner="dots") as status:
        derivations = run.finish(status).derivations
    phases.append(("deriving, checking", time.perf_counter() - started))
    result = _write_all(derivations, console, out, out_dir, check_only, quiet, pdf, phases, store)
    if profile:
        from .runner import profile_table

        make_console(quiet=False).print(profile_table(run.timings, phases))
    return result


def _write_all(derivations, console, out, out_dir, check_only, quiet, pdf, phases, store) -> int:
    """Print, render, compare or compile and write; the phases' times appended to ``phases``."""
    import time

    from . import budget, outset
    from .messages import say
    from .outdiff import compare_outputs

    t0 = time.perf_counter()
    budget.stage("rendering the writeup")
    if not quiet:
        from .render.terminal import render

        for der in derivations:
            render(der, console)
    files = render_files(derivations)
    phases.append(("printing, rendering", time.perf_counter() - t0))
    ok = all(d.all_verified and d.all_checks_pass for d in derivations)
    if check_only:
        budget.stage(f"comparing with {out_dir}")
        problem = compare_outputs(out_dir, files, pdf=pdf and latex_engine()[0] is not None)
        if problem:
            return say(f"derive: stale outputs in {out_dir}: {problem}", 1)
        console.print(f"{out_dir}: all outputs are current", markup=False)
        return 0 if ok else 1
    t0 = time.perf_counter()
    latex_failed = pdf and _compile_pdfs(files, console, store)
    if pdf:
        phases.append(("PDFs", time.perf_counter() - t0))
    files["manifest.json"] = manifest(files, latex_engine()[1] if any(n.endswith(".pdf") for n in files) else None)
    budget.stage("writing the outputs")
    done = f"wrote {', '.join(sorted(files))} to {out}"
    staged = budget.stage_dir()
    if staged:  # the supervising process swaps the set in
        outset.write_files(Path(staged), files)
        budget.report("staged", done)
    else:
        with outset.Staging(out_dir) as staging:
            outset.write_files(staging.path, files)
            staging.commit()
        console.print(done, markup=False)
    if not ok:
        return say("derive: some steps are unverified or some cross-checks failed", 1)
    return 0 if not latex_failed else 1
