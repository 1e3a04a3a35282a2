"""Benchmarks: derivation scaling, numeric kernels, gradient estimators, CLI latency.

Run with ``python benchmarks/run.py`` (``--quick`` for a smaller sweep).  Every
comparison is a ratio of timings taken side by side in this run: the median
of several repetitions, with min and max beside it.  Writes
``benchmarks/results.json`` and ``benchmarks/scaling.png`` and prints a table.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def timed(fn, repeat: int = 5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "repeat": repeat}


def derivation_scaling(ks, generic_limit: float):
    import sympy as sp

    from derive.coupling import VARIANTS, ExplicitBlock, derive_coupling, results_at
    from derive.verify import DerivationTimeout, time_limit

    general = timed(lambda: derive_coupling("seed"), repeat=3)
    der = derive_coupling("seed")
    rows = []
    generic_out = {m: False for m in ("berkowitz", "bareiss", "lu")}
    for k in ks:
        ours = timed(lambda: results_at(der, k), repeat=3)
        tracemalloc.start()
        results_at(der, k)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        row = {"k": k, "ours_s": ours, "ours_total_s": ours["median"] + general["median"], "ours_peak_MiB": peak / 2**20}
        for method in generic_out:
            if generic_out[method]:
                row[f"generic_{method}_s"] = None
                continue
            t = time.perf_counter()
            try:
                with time_limit(generic_limit, "generic route"):
                    J = ExplicitBlock(VARIANTS["seed"], k).jacobian()
                    sp.log(J.det(method=method))
                row[f"generic_{method}_s"] = time.perf_counter() - t
            except DerivationTimeout:
                row[f"generic_{method}_s"] = None
                generic_out[method] = True
        rows.append(row)
        print(f"  derivation k={k}: ours {row['ours_total_s']:.3f} s; generic "
              + ", ".join(f"{m} {row[f'generic_{m}_s']:.2f} s" if row[f"generic_{m}_s"] else f"{m} >{generic_limit:g} s"
                          for m in generic_out), flush=True)
    return {"general_derivation_s": general, "rows": rows, "generic_limit_s": generic_limit}


def numeric_kernels(ks, ns):
    from derive.coupling import derive_coupling
    from derive.numeric import reference
    from derive.numeric.coupling import random_instance

    der = derive_coupling("seed")
    rows = []
    for k in ks:
        block, rng = random_instance(der, k, seed=0)
        W_F, b_F, W_G, b_G, s = block.F.W, block.F.b, block.G.W, block.G.b, block.s

        def hand_forward(x):
            x1, x2 = x[..., :k], x[..., k:]
            return np.concatenate([np.exp(np.tanh(x2 @ W_G.T + b_G)) * x1 + np.tanh(x2 @ W_F.T + b_F),
                                   np.exp(s) * x2], axis=-1)

        def hand_inverse(y):
            y1, y2 = y[..., :k], y[..., k:]
            x2 = y2 * np.exp(-s)
            return np.concatenate([(y1 - np.tanh(x2 @ W_F.T + b_F)) * np.exp(-np.tanh(x2 @ W_G.T + b_G)), x2], axis=-1)

        def hand_logdet(x):
            return np.tanh(x[..., k:] @ W_G.T + b_G).sum(-1) + s.sum()

        for n in ns:
            x = rng.normal(size=(n, 2 * k))
            y = hand_forward(x)
            row = {"k": k, "N": n}
            for name, ours, hand in (("forward", lambda: block.forward(x), lambda: hand_forward(x)),
                                     ("inverse", lambda: block.inverse(y), lambda: hand_inverse(y)),
                                     ("logdet", lambda: block.logdet(x), lambda: hand_logdet(x))):
                a, b = timed(ours), timed(hand)
                row[f"{name}_ours_s"], row[f"{name}_hand_s"] = a, b
                row[f"{name}_ratio"] = a["median"] / b["median"]
            # generic numeric route: finite-difference Jacobian + slogdet, on a subsample, per sample
            m = min(n, max(8, 20000 // (k * k)))
            xs = x[:m]
            ref = lambda v: reference.reference_forward("seed", v, block.F, block.G, block.s)  # noqa: E731
            g = timed(lambda: reference.slogdet(reference.fd_jacobian(ref, xs)), repeat=3)
            per_sample_generic = g["median"] / m
            row["generic_logdet_per_sample_s"] = per_sample_generic
            row["generic_subsample"] = m
            row["logdet_speedup_vs_generic"] = per_sample_generic * n / row["logdet_ours_s"]["median"]
            # correctness at the benchmark size, against the independent route on the subsample
            _, ld_ref = reference.slogdet(reference.fd_jacobian(ref, xs))
            row["logdet_max_abs_error"] = float(np.max(np.abs(block.logdet(xs) - ld_ref)))
            row["roundtrip_max_error"] = float(np.max(np.abs(block.inverse(y) - x)))
            rows.append(row)
            print(f"  kernels k={k} N={n}: forward {row['forward_ratio']:.2f}x, inverse {row['inverse_ratio']:.2f}x, "
                  f"logdet {row['logdet_ratio']:.2f}x hand-written; logdet {row['logdet_speedup_vs_generic']:.0f}x "
                  f"faster than FD+slogdet", flush=True)
    return rows


def gradient_estimators(n):
    import sympy as sp

    from derive.kl_gaussian import derive_kl
    from derive.reparam import derive_reparam

    kl = derive_kl()
    # 2.3 writes q_i = N(mu_i, sigma_i^2); 2.4 differentiates in its own mu, sigma
    own = {kl.data["mu"]: sp.Symbol("mu", real=True), kl.data["sigma"]: sp.Symbol("sigma", positive=True)}
    rp = derive_reparam(closed_form=kl.data["closed_form"].xreplace(own))
    f_kl = sp.lambdify((kl.data["mu"], kl.data["sigma"]), kl.data["closed_form"], "numpy")
    mu, sigma, eps = rp.data["symbols"]
    g_mu, g_sigma = (sp.lambdify((mu, sigma, eps), g, "numpy") for g in rp.data["grad"])
    rng = np.random.default_rng(0)
    m, s, e = rng.normal(size=n), rng.uniform(0.1, 2, size=n), rng.normal(size=n)
    out = {}
    a, b = timed(lambda: f_kl(m, s)), timed(lambda: 0.5 * (m * m + s * s - 1) - np.log(s))
    out["kl"] = {"ours_s": a, "hand_s": b, "ratio": a["median"] / b["median"]}
    a = timed(lambda: (g_mu(m, s, e), g_sigma(m, s, e)))
    b = timed(lambda: (m + s * e, -1 / s + (m + s * e) * e))
    out["reparam_gradient"] = {"ours_s": a, "hand_s": b, "ratio": a["median"] / b["median"]}
    print(f"  gradients N={n}: KL {out['kl']['ratio']:.2f}x, reparam {out['reparam_gradient']['ratio']:.2f}x hand-written",
          flush=True)
    return out


def latency():
    exe = [sys.executable, "-m", "derive"]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cmd, rep in (("import derive", [sys.executable, "-c", "import derive"], 5),
                               ("derive --help", exe + ["--help"], 5),
                               ("derive show coupling", exe + ["show", "coupling"], 3),
                               ("derive all --no-pdf", exe + ["all", "--no-pdf", "--quiet", "--out", tmp], 2)):
            out[name] = timed(lambda: subprocess.run(cmd, capture_output=True, check=True), repeat=rep)
            print(f"  latency {name}: {out[name]['median']:.3f} s", flush=True)
    return out


def plot(scaling, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no plot written")
        return
    ks = [r["k"] for r in scaling["rows"]]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.loglog(ks, [r["ours_total_s"] for r in scaling["rows"]], "o-", label="derive (index form + instantiation)")
    for m in ("berkowitz", "bareiss", "lu"):
        pts = [(r["k"], r[f"generic_{m}_s"]) for r in scaling["rows"] if r[f"generic_{m}_s"]]
        if pts:
            ax.loglog(*zip(*pts), "s--", label=f"Matrix.jacobian + det ({m})")
    ax.axhline(scaling["generic_limit_s"], color="grey", lw=0.8, ls=":", label="time limit of the generic route")
    ax.set_xlabel("k = d/2")
    ax.set_ylabel("seconds")
    ax.set_title("Inverse, determinant and log-determinant of the coupling block")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def table(results):
    lines = ["", "Derivation scaling (seconds; generic route = Matrix.jacobian then det; "
             "ratio = fastest generic / derive, a lower bound where the generic route timed out)",
             f"{'k':>6} {'derive':>9} {'peak MiB':>9} {'berkowitz':>10} {'bareiss':>10} {'lu':>10} {'ratio':>9}"]
    lim = results["scaling"]["generic_limit_s"]
    for r in results["scaling"]["rows"]:
        gen = [r[f"generic_{m}_s"] for m in ("berkowitz", "bareiss", "lu")]
        best = min([g for g in gen if g] or [None]) if any(gen) else None
        ratio = f"{best / r['ours_total_s']:.2g}x" if best else f">{lim / r['ours_total_s']:.0f}x"
        cells = [f"{g:10.2f}" if g else f"{'>' + format(lim, 'g'):>10}" for g in gen]
        lines.append(f"{r['k']:>6} {r['ours_total_s']:9.3f} {r['ours_peak_MiB']:9.1f} {' '.join(cells)} {ratio:>9}")
    lines += ["", "Numeric kernels: time ratio derived lambda / hand-written numpy (median of 5)",
              f"{'k':>5} {'N':>7} {'forward':>8} {'inverse':>8} {'logdet':>8} {'vs FD+slogdet':>14} {'logdet err':>11}"]
    for r in results["kernels"]:
        lines.append(f"{r['k']:>5} {r['N']:>7} {r['forward_ratio']:8.2f} {r['inverse_ratio']:8.2f} "
                     f"{r['logdet_ratio']:8.2f} {r['logdet_speedup_vs_generic']:13.0f}x {r['logdet_max_abs_error']:11.1e}")
    g = results["gradients"]
    lines += ["", f"Gradient estimators, N = {results['gradient_N']}: KL {g['kl']['ratio']:.2f}x, "
              f"reparameterisation gradient {g['reparam_gradient']['ratio']:.2f}x hand-written numpy", "",
              "Latency (whole processes, median seconds)"]
    for name, t in results["latency"].items():
        lines.append(f"  {name:24s} {t['median']:.3f}  (min {t['min']:.3f}, max {t['max']:.3f})")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sweep (k up to 64, generic limit 10 s)")
    ap.add_argument("--table", action="store_true", help="print the table of the last results.json, run nothing")
    ap.add_argument("--latency-only", action="store_true",
                    help="measure the command line's latency (import derive, --help, show, all) alone")
    args = ap.parse_args()
    path = HERE / "results.json"
    if args.table:
        print(table(json.loads(path.read_text())))
        return
    if args.latency_only:
        data = json.loads(path.read_text()) if path.exists() else {}
        data["latency"] = latency()
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        return
    if args.quick:
        ks, limit, kern_k, kern_n, grad_n = [1, 2, 4, 8, 16, 32, 64], 10.0, [4, 16], [1000], 100_000
    else:
        ks, limit = [2 ** p for p in range(11)], 60.0
        kern_k, kern_n, grad_n = [4, 16, 64, 256], [1000, 100_000], 1_000_000
    results = {"quick": args.quick}
    print("derivation scaling", flush=True)
    results["scaling"] = derivation_scaling(ks, limit)
    print("numeric kernels", flush=True)
    results["kernels"] = numeric_kernels(kern_k, kern_n)
    print("gradient estimators", flush=True)
    results["gradients"] = gradient_estimators(grad_n)
    results["gradient_N"] = grad_n
    print("latency", flush=True)
    results["latency"] = latency()
    if path.exists() and "peers" in json.loads(path.read_text()):   # benchmarks/peers.py's section is kept
        results["peers"] = json.loads(path.read_text())["peers"]
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    plot(results["scaling"], HERE / "scaling.png")
    print(table(results))


if __name__ == "__main__":
    main()
