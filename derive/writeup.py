"""``derive all``: print every derivation, run every check, export the writeup."""
from __future__ import annotations

import sys
from pathlib import Path

from .atomic import write_all_atomic


def build_everything(opts):
    """Build and check every registered derivation (in the registry's order)."""
    from .registry import ENTRIES

    derivations = []
    for entry in ENTRIES.values():
        der = entry.build(opts)
        der.checks = entry.check(der, opts)
        derivations.append(der)
    return derivations


def render_files(derivations) -> dict[str, str]:
    from .render.jsonout import derivation_dict, dumps

    payload = {"schema_version": 1, "derivations": [derivation_dict(d) for d in derivations]}
    return {"derivations.json": dumps(payload)}


def run_all(opts, out: str = "outputs", check_only: bool = False, quiet: bool = False, pdf: bool = True) -> int:
    from rich.console import Console

    console = Console(highlight=False, quiet=quiet)
    derivations = build_everything(opts)
    if not quiet:
        from .render.terminal import render

        for der in derivations:
            render(der, console)
    files = render_files(derivations)
    out_dir = Path(out)
    if check_only:
        stale = [name for name, text in files.items()
                 if not (out_dir / name).exists() or (out_dir / name).read_text(encoding="utf-8") != text]
        if stale:
            print(f"derive: stale outputs in {out_dir}: {', '.join(stale)}", file=sys.stderr)
            return 1
        console.print(f"{out_dir}: all outputs are current")
    else:
        write_all_atomic({out_dir / name: text for name, text in files.items()})
        console.print(f"wrote {', '.join(sorted(files))} to {out_dir}")
    ok = all(d.all_verified and d.all_checks_pass for d in derivations)
    if not ok:
        print("derive: some steps are unverified or some cross-checks failed", file=sys.stderr)
    return 0 if ok else 1
