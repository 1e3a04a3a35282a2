"""Benchmarks of the flow-layer catalogue: derivation time against d, and the printed numpy kernels.

Run with ``python benchmarks/flows.py`` (``--quick`` for a smaller sweep).  Two tables, every
comparison taken side by side in this run:

1. per layer: the structure-rule derivation (index form, once for every d) and the log-determinant
   written out at d, against ``Matrix.jacobian`` + the generic determinant of the written-out layer at
   d (stopped at its time limit);
2. per layer at d = 256, N = 10⁵: the printed log-determinant, forward map and inverse against the
   hand-written numpy of ``derive.numeric.flow_reference`` (median of repetitions, the two run
   alternately; ratio printed / hand-written).  ``--kernels-only`` runs this table alone.

Writes ``benchmarks/flows.json``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SCALING = ("planar", "radial", "tanh", "seed", "maf", "householder", "lu-linear")


def timed(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def side_by_side(ours, theirs, repeat):
    """Median times of two functions, run alternately (so that drift in the machine hits both alike)."""
    a, b = [], []
    for _ in range(repeat):
        for fn, into in ((ours, a), (theirs, b)):
            t = time.perf_counter()
            fn()
            into.append(time.perf_counter() - t)
    return statistics.median(a), statistics.median(b)


def _layers_of(name):
    from derive.flows.catalogue import FLOWS, LAYERS

    return [LAYERS[name]] if name in LAYERS else list(FLOWS[name].layers)


def write_out(name, dim):
    """The log-determinant written out at dimension ``dim`` (each layer's own, at its block size)."""
    from derive import flows
    from derive.flows.layer import Explicit

    der = flows.derive(name)
    pieces = der.data["layers"] if "layers" in der.data else [der]
    return [Explicit(p.data["layer"], dim // len(p.data["layer"].inputs)).write_out(p.data["logdet"])
            for p in pieces]


def generic(name, dim, limit):
    from derive.flows.compose import Flow, explicit_flow
    from derive.verify import within

    def run():
        x, y, _ = explicit_flow(Flow(name, "", "", tuple(_layers_of(name))), dim)
        import sympy as sp

        return sp.Matrix(y).jacobian(sp.Matrix(x)).det(method="berkowitz")

    t = time.perf_counter()
    done = within(limit, "generic determinant", run, on_timeout=None)
    return time.perf_counter() - t if done is not None else None


def scaling(dims, generic_dims, limit):
    from derive import flows

    rows = []
    for name in SCALING:
        t = time.perf_counter()
        flows.derive.cache_clear()
        flows.derive(name)
        derive_s = time.perf_counter() - t
        row = {"layer": name, "derive_s": derive_s, "write_out_s": {}, "generic_s": {}}
        for dim in dims:
            row["write_out_s"][dim] = timed(lambda: write_out(name, dim), repeat=1)
        for dim in generic_dims:
            took = generic(name, dim, limit)
            row["generic_s"][dim] = took
            if took is None:
                break
        rows.append(row)
    return rows


#: inverses that are recursions calling a network once per feature, in both: d network calls each
SEQUENTIAL = ("maf", "iaf")


def kernels(dim, n, repeat, only=None):
    from derive import flows
    from derive.flows.crosscheck import RENAME, sources
    from derive.flows.numeric import ident, namespace
    from derive.numeric import flow_reference as ref

    rows = []
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, dim))
    for name in flows.names():
        ref_name = name.replace("-", "_")
        if ref_name == "conv1x1" or (only and name not in only):
            continue
        der = flows.derive(name)
        ns = namespace(sources(der))
        # a Sylvester layer's log-det is an m×m determinant per sample: m = 16 keeps the (N, m, m)
        # stack at 200 MB (m = d/2 = 128 would need 13 GB per temporary at N = 10⁵)
        extra = {"m": 16} if ref_name == "sylvester" else {}
        params = ref.LAYERS[ref_name](np.random.default_rng(1), dim, **extra)
        mine = {RENAME.get(k, k): v for k, v in params.items()}
        fwd, inv, logdet = ref.layer_functions(ref_name)
        base = ident(name)
        row = {"layer": name}
        pairs = {"logdet": (ns[f"{base}_logdet"], logdet), "forward": (ns[f"{base}_forward"], fwd)}
        if inv is not None and f"{base}_inverse" in ns and name not in SEQUENTIAL:
            pairs["inverse"] = (ns[f"{base}_inverse"], inv)
        y = fwd(x, **params)
        for what, (ours, theirs) in pairs.items():
            arg = y if what == "inverse" else x
            mine_s, hand_s = side_by_side(lambda: ours(arg, **mine), lambda: theirs(arg, **params), repeat)
            row.update({f"{what}_s": mine_s, f"{what}_hand_s": hand_s, f"{what}_ratio": mine_s / hand_s})
        rows.append(row)
        print(_kernel_line(row), flush=True)
    return rows


#: below this both sides do next to nothing (a parameter-only log-det broadcast): no ratio is read
TINY_S = 1e-4


def _kernel_line(row) -> str:
    cells = []
    for what in ("logdet", "forward", "inverse"):
        if f"{what}_s" not in row:
            cells.append(f"{what} {'-':>6s} {'':12s}")
        elif max(row[f"{what}_s"], row[f"{what}_hand_s"]) < TINY_S:
            cells.append(f"{what} {'<0.1ms':>6s} {'':12s}")
        else:
            cells.append(f"{what} {row[f'{what}_ratio']:5.2f}x ({row[f'{what}_s'] * 1e3:7.1f} ms)")
    return f"{row['layer']:12s} " + "   ".join(cells)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--scaling-only", action="store_true", help="the first table only (no kernels)")
    ap.add_argument("--kernels-only", action="store_true", help="the second table only")
    ap.add_argument("--only", help="comma-separated layers for the second table (with --kernels-only)")
    args = ap.parse_args()
    dims = (64, 1024) if args.quick else (64, 256, 1024, 4096)
    generic_dims = (2, 4) if args.quick else (2, 4, 8, 16, 32)
    limit = 10.0 if args.quick else 60.0
    table = [] if args.kernels_only else scaling(dims, generic_dims, limit)
    print(f"{'layer':12s} {'derive':>8s} " + " ".join(f"{'d=' + str(d):>9s}" for d in dims)
          + "   Matrix.jacobian + det at d = " + ", ".join(map(str, generic_dims)))
    for row in table:
        gen = ", ".join("-" if v is None else f"{v:.2f}" for v in row["generic_s"].values())
        print(f"{row['layer']:12s} {row['derive_s']:8.2f} " + " ".join(f"{row['write_out_s'][d]:9.3f}" for d in dims)
              + f"   {gen} (s; '-' = over {limit:g} s)")
    previous = json.loads((HERE / "flows.json").read_text()) if (HERE / "flows.json").exists() else {}
    if args.kernels_only:  # keep the scaling table of the last full run
        table = previous.get("scaling", [])
    else:
        (HERE / "flows.json").write_text(json.dumps({**previous, "scaling": table, "quick": args.quick}, indent=1))
    if args.scaling_only:
        return
    n = 10_000 if args.quick else 100_000
    print(f"\nkernels at d = 256, N = {n}: printed / hand-written numpy (median of repetitions, run alternately; "
          f"'<0.1ms': both under 0.1 ms; '-': no inverse, or a sequential one in both)")
    ks = kernels(256, n, 3 if args.quick else 7, args.only.split(",") if args.only else None)
    if args.only:  # a partial table: printed, not written
        return
    (HERE / "flows.json").write_text(json.dumps({"scaling": table, "kernels": ks, "quick": args.quick}, indent=1))


if __name__ == "__main__":
    main()
