"""``derive all --check``: is every file in the output folder what this version of derive writes?

Text files are regenerated in memory and compared line by line.  Numeric
check residuals may differ in their last digits between numpy builds, so a
line that differs only in residuals passes when each pair agrees within
:func:`residuals_agree`; any other difference is reported with its file and
line.  The PDF is not recompiled: ``manifest.json`` records the SHA-256 of
every file and of the LaTeX source the PDF was compiled from; it must be
exactly the manifest of the files present, and the folder may hold nothing
else (no other file, folder, link or device).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .outset import PDFS, manifest

#: a residual in derivations.json, and one printed in a table of the writeup
_RESIDUAL = re.compile(r'(?<="residual": )-?[0-9.]+(?:e[-+]?[0-9]+)?|-?\d\.\d+e[-+]\d\d')


def residuals_agree(recorded: float, recomputed: float) -> bool:
    """Two residuals of one check agree: within 1e-9, or within 5 % of the larger one."""
    return abs(recorded - recomputed) <= max(1e-9, 0.05 * max(abs(recorded), abs(recomputed)))


def _line_problem(name: str, number: int, old: str, new: str) -> str | None:
    if old == new:
        return None
    if _RESIDUAL.sub("R", old) == _RESIDUAL.sub("R", new):
        for a, b in zip(_RESIDUAL.findall(old), _RESIDUAL.findall(new)):
            if not residuals_agree(float(a), float(b)):
                return f"{name}, line {number}: residual {a} where this run computes {b}"
        return None
    return f"{name}, line {number}: {old.strip()[:80]!r} where this run writes {new.strip()[:80]!r}"


def _text_problem(name: str, on_disk: bytes, expected) -> str | None:
    if isinstance(expected, bytes):  # a figure
        return None if on_disk == expected else f"{name} differs from the figure this run draws"
    try:
        old = on_disk.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return f"{name} is not UTF-8 text"
    new = expected.split("\n")
    for number, (a, b) in enumerate(zip(old, new), start=1):
        problem = _line_problem(name, number, a, b)
        if problem:
            return problem
    if len(old) != len(new):
        return f"{name}, line {min(len(old), len(new)) + 1}: {len(old)} lines where this run writes {len(new)}"
    return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _entries_problem(out_dir: Path, expected: set) -> str | None:
    """Anything in the folder that is not one of derive's regular files (a folder, a link, a pipe ...)."""
    for entry in sorted(out_dir.iterdir()):
        if entry.name not in expected:
            return f"{entry.name} is not an output of derive"
        if entry.is_symlink() or not entry.is_file():
            return f"{entry.name} is not a regular file derive wrote (a link, a folder or a device)"
    return None


def _manifest_problem(present: dict[str, bytes]) -> str | None:
    """manifest.json must be exactly the manifest of the files present (its PDF engine line as recorded)."""
    if "manifest.json" not in present:
        return "manifest.json is missing"
    try:
        recorded = json.loads(present["manifest.json"].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return "manifest.json is not a manifest derive wrote (not JSON)"
    pdf_record = recorded.get("pdf") if isinstance(recorded, dict) else None
    engine = pdf_record.get("engine") if isinstance(pdf_record, dict) else None
    files = recorded.get("files") if isinstance(recorded, dict) else None
    if not isinstance(files, dict):
        return "manifest.json is not a manifest derive wrote (no table of files)"
    for name in sorted(set(files) | set(present) - {"manifest.json"}):
        if name not in present:
            return f"{name} is listed in manifest.json but missing"
        if name not in files:
            return f"{name} is not listed in manifest.json"
        entry = files[name]
        if not isinstance(entry, dict) or _sha256(present[name]) != entry.get("sha256"):
            return f"{name} was changed after derive wrote it (its SHA-256 differs from manifest.json)"
    others = recorded.get("pdfs") if isinstance(recorded.get("pdfs"), dict) else {}
    for name, tex in PDFS.items():
        if name not in present:
            continue
        record = pdf_record if name == "writeup.pdf" else others.get(name)
        if not isinstance(record, dict) or record.get("tex_sha256") != _sha256(present.get(tex, b"")):
            return f"{name} was not compiled from this {tex} (manifest.json records another source)"
        engine = record.get("engine")
        if not isinstance(engine, str) or not engine:
            return f"manifest.json does not say which TeX engine compiled {name}"
    files_present = {name: data for name, data in present.items() if name != "manifest.json"}
    expected = manifest(files_present, engine if any(name in present for name in PDFS) else None)
    problem = _text_problem("manifest.json", present["manifest.json"], expected)
    if problem:
        return f"manifest.json is not the manifest of these files ({problem.partition(': ')[2]})"
    return None


def compare_outputs(out_dir: Path, files: dict[str, str], pdf: bool = True) -> str | None:
    """None if ``out_dir`` holds exactly the regenerated ``files``, its manifest and (where wanted) the PDF.

    ``pdf``: a PDF is expected (a LaTeX engine is installed and ``--no-pdf`` was not given).
    """
    if out_dir.is_symlink() or not out_dir.is_dir():
        return f"{out_dir} is not a folder of outputs"
    pdfs = [name for name, tex in PDFS.items() if tex in files]
    expected = set(files) | {"manifest.json"} | set(pdfs)
    problem = _entries_problem(out_dir, expected)
    if problem:
        return problem
    present = {p.name: p.read_bytes() for p in sorted(out_dir.iterdir())}
    for name in sorted(files):
        if name not in present:
            return f"{name} is missing"
        problem = _text_problem(name, present[name], files[name])
        if problem:
            return problem
    for name in pdfs if pdf else ():
        if name not in present:
            return f"{name} is missing (give --no-pdf to check without it)"
    return _manifest_problem(present)
