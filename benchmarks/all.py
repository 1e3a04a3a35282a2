"""How long ``derive all --no-pdf`` takes: before and after, serial and parallel, cold and warm, side by side.

    python benchmarks/all.py [--baseline REV] [--repeat N] [--sheet-only]

Each configuration runs the command in a fresh process, in this run, on this machine:

* ``baseline``: the code at REV (a git worktree; default the commit before worker processes and the cache),
  which derives everything serially;
* ``serial``: this code with ``--jobs 1 --no-cache``;
* ``cold, first run``: this code with an empty cache folder (nothing cached, no earlier times to order by);
* ``cold``: an empty cache but the earlier run's times (what a run after a change of the source sees);
* ``warm``: the cache filled by the run before, nothing changed.

For the sheet alone (``--no-catalogue``) and for the whole catalogue.  Prints the median with min and max and
the ratios to the baseline, then the profile of a cold run; writes ``benchmarks/all.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE = "8593010"


def run(cwd: Path, args: list, cache: Path | None) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("DERIVE_NO_CACHE", "DERIVE_CACHE_DIR")}
    env.update({"DERIVE_CACHE_DIR": str(cache)} if cache else {"DERIVE_NO_CACHE": "1"})
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "derive", "all", "--no-pdf", "--quiet", "--out", out, *args],
                             cwd=cwd, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"derive all {' '.join(args)} in {cwd} failed: {res.stderr.strip()}")
    return seconds


def stats(times: list) -> dict:
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": len(times)}


def configurations(baseline: Path, scratch: Path, scope: list) -> dict:
    """Each configuration as a function running it once."""
    history = scratch / "history"

    def fresh(with_history: bool) -> Path:
        folder = Path(tempfile.mkdtemp(dir=scratch))
        if with_history and (history / "timings.json").exists():
            shutil.copy(history / "timings.json", folder / "timings.json")
        return folder

    def cold_first():
        return run(ROOT, scope, fresh(False))

    def cold():
        folder = fresh(True)
        seconds = run(ROOT, scope, folder)
        shutil.copytree(folder, history, dirs_exist_ok=True)
        return seconds

    def warm():
        return run(ROOT, scope, history)

    return {"baseline": lambda: run(baseline, scope, None),
            "serial": lambda: run(ROOT, [*scope, "--jobs", "1", "--no-cache"], None),
            "cold, first run": cold_first, "cold": cold, "warm": warm}


def measure(baseline: Path, scope: list, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        configs = configurations(baseline, Path(scratch), scope)
        configs["cold"]()  # leaves the earlier times and a filled cache for "cold" and "warm"
        times = {name: [] for name in configs}
        for _ in range(repeat):  # interleaved, so that a change in the machine's load touches every one
            for name, fn in configs.items():
                times[name].append(fn())
    return {name: stats(t) for name, t in times.items()}


def table(title: str, results: dict) -> str:
    base = results["baseline"]["median"]
    lines = [title, f"  {'configuration':<18}{'median s':>10}{'min':>8}{'max':>8}{'baseline / this':>18}"]
    for name, r in results.items():
        lines.append(f"  {name:<18}{r['median']:>10.2f}{r['min']:>8.2f}{r['max']:>8.2f}{base / r['median']:>17.1f}x")
    return "\n".join(lines)


def profile(scope: list) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DERIVE_CACHE_DIR"}
    env["DERIVE_NO_CACHE"] = "1"
    with tempfile.TemporaryDirectory() as out:
        res = subprocess.run([sys.executable, "-m", "derive", "all", "--no-pdf", "--quiet", "--profile", "--out", out,
                              *scope], cwd=ROOT, env=env, capture_output=True, text=True)
    return res.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help=f"the revision compared with (default {BASELINE})")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sheet-only", action="store_true", help="only the sheet's derivations (--no-catalogue)")
    args = parser.parse_args()
    out = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, "baseline": args.baseline}
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(worktree), args.baseline], cwd=ROOT, check=True)
        try:
            scopes = [("sheet", ["--no-catalogue"], args.repeat)]
            if not args.sheet_only:
                scopes.append(("catalogue", [], 1))
            for name, scope, repeat in scopes:
                out[name] = measure(worktree, scope, repeat)
                print(table(f"derive all --no-pdf {' '.join(scope)} ({name}; {repeat} run(s) each)", out[name]),
                      flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT)
    print(profile(["--no-catalogue"] if args.sheet_only else []))
    (HERE / "all.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
