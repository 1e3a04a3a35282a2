"""Side by side with the flow libraries: the same layer in derive's exported code and in each peer.

Run with ``python benchmarks/peers.py`` (after ``pip install torch==2.13.0`` and ``pip install -e '.[peers]'``;
``--quick`` for d = 16, N = 10⁴).  For every layer (the sheet's coupling block; ActNorm, LU-linear, MAF and
planar from ``benchmarks/peer_layers.py``), every d ∈ {64, 256}, dtype ∈ {float32, float64} and direction
(forward with log-det; inverse with log-det), it times:

* ``derive torch``: the nn.Module / ``*_and_logdet`` functions of ``outputs/derive_torch.py``;
* ``derive numpy``: the ``*_and_logdet`` functions of ``outputs/derive_numeric.py``;
* each of nflows, zuko, FrEIA, normflows and Pyro that is installed and has the layer, with its parameters
  and conditioner set so that it computes the same function (conventions below, and in each case's
  ``conventions``).

Before any timing, every implementation's output and log-det are compared with derive's torch float64 on
the benchmark's own inputs; an implementation that disagrees (or fails) is reported and not timed, and
one whose temporaries would need more than 4 GiB is left out and said so.  The timing is N = 10⁵ rows
(fewer for a sequential inverse: MAF's at d = 256), 2 threads, under ``torch.no_grad``: all implementations
of one cell run in turn within each of 5 rounds, each round starting with another one, with a pause before
each call (so that a drift of the machine, or threads still spinning from the previous call, hit all
alike); a call under 0.1 s is repeated within its timing; median of the 5 with min and max.

Conventions for the coupling block ``y1 = exp(G(x2)) ∘ x1 + F(x2)``, ``y2 = exp(s) ∘ x2`` with the
conditioners F(x2) = tanh(x2 W_Fᵀ + b_F), G(x2) = ½ tanh(x2 W_Gᵀ + b_G) − 1 (a log-scale in (−1.5, −0.5),
which every peer's scale activation can represent exactly): derive takes F and G as two modules; each
peer takes one network computing both from one product with the stacked weights [W_F; W_G] (the same
arithmetic), then the inverse of that peer's scale activation where it has one (listed in ``COUPLING``).
A peer that conditions on the first half is given the halves swapped, outside the timed call.

Writes the ``peers`` entry of ``benchmarks/results.json`` (the rest of the file is kept) and
``benchmarks/peers.png``, and prints the table.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

# glibc returns every block above 32 MiB to the kernel when it is freed, so that each call of any
# implementation at N = 10⁵ pays for the kernel zeroing fresh pages (a third to a half of its time here, and
# most of the spread between runs).  By default the benchmark runs with freed memory kept for reuse, as a
# caching allocator (jemalloc, tcmalloc, the CUDA allocator) would; --system-malloc measures the defaults.
KEEP_FREED = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(2**40)}

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from peer_layers import LIBRARIES, OUTPUTS, load  # noqa: E402  (the other layers' cases, and what both share)

OURS = ("derive torch", "derive numpy")


# ---------------------------------------------------------------------------------------------------------
# the coupling block in derive's code and in each peer


def coupling_params(d, rng):
    k = d // 2
    return {"W_F": rng.normal(size=(k, k)) / math.sqrt(k), "b_F": rng.normal(size=k),
            "W_G": rng.normal(size=(k, k)) / math.sqrt(k), "b_G": rng.normal(size=k),
            "s": 0.3 * rng.normal(size=k)}


def _torch(p, dtype):
    import torch

    return {name: torch.as_tensor(v, dtype=dtype) for name, v in p.items()}


class _Joint:
    """One network for a peer: (F, G) from one product with the stacked weights, then the peer's raw layout."""

    def __init__(self, p, dtype, raw):
        import torch

        t = _torch(p, dtype)
        self.W = torch.cat([t["W_F"], t["W_G"]]).T.contiguous()
        self.b = torch.cat([t["b_F"], t["b_G"]])
        self.k, self.raw = len(p["b_F"]), raw

    def __call__(self, x2, *context):
        import torch

        h = torch.addmm(self.b, x2, self.W)
        return self.raw(torch.tanh(h[:, :self.k]), 0.5 * torch.tanh(h[:, self.k:]) - 1.0)


def _module(fn):
    import torch

    class Wrapped(torch.nn.Module):
        def forward(self, *args):
            return fn(*args)

    return Wrapped()


def ours_torch(mod, p, dtype):
    import torch

    t = _torch(p, dtype)

    class Half(torch.nn.Module):
        def __init__(self, W, b, scale, shift):
            super().__init__()
            self.W, self.b, self.scale, self.shift = W.T.contiguous(), b, scale, shift

        def forward(self, x2):
            return self.scale * torch.tanh(torch.addmm(self.b, x2, self.W)) + self.shift

    layer = mod.Seed(t["s"], Half(t["W_F"], t["b_F"], 1.0, 0.0), Half(t["W_G"], t["b_G"], 0.5, -1.0))
    return layer.forward, layer.inverse


def ours_numpy(mod, p, dtype):
    a = {name: v.astype(dtype) for name, v in p.items()}
    WF, WG = a["W_F"].T.copy(), a["W_G"].T.copy()
    F = lambda x2: np.tanh(x2 @ WF + a["b_F"])  # noqa: E731
    G = lambda x2: dtype.type(0.5) * np.tanh(x2 @ WG + a["b_G"]) - dtype.type(1.0)  # noqa: E731
    return (lambda x: mod.seed_forward_and_logdet(x, a["s"], F, G),
            lambda y: mod.seed_inverse_and_logdet(y, a["s"], F, G))


def nflows_coupling(p, dtype):
    import torch
    from nflows.transforms.coupling import AffineCouplingTransform
    from nflows.transforms.standard import PointwiseAffineTransform

    k = len(p["s"])
    # scale = sigmoid(u + 2) + 1e-3, so u = logit(exp(G) − 1e-3) − 2
    raw = lambda F, G: torch.cat([F, torch.logit(torch.exp(G) - 1e-3) - 2.0], dim=-1)  # noqa: E731
    net = _Joint(p, dtype, raw)
    scale = torch.exp(_torch(p, dtype)["s"])
    layer = AffineCouplingTransform(torch.tensor([1] * k + [0] * k), lambda i, o: _module(net),
                                    unconditional_transform=lambda features: PointwiseAffineTransform(0.0, scale))
    layer = layer.to(dtype).eval()
    return layer.forward, layer.inverse


def zuko_coupling(p, dtype):
    import torch
    from zuko.flows.coupling import GeneralCouplingTransform
    from zuko.transforms import ComposedTransform, DependentTransform, MonotonicAffineTransform

    k = len(p["s"])
    bound = -math.log(1e-3)   # log-scale = a / (1 + |a| / bound), so a = v / (1 − |v| / bound)
    unbound = lambda v: v / (1 - v.abs() / bound)  # noqa: E731
    raw = lambda F, G: torch.stack([F, unbound(G)], dim=-1).flatten(-2)  # noqa: E731  interleaved (shift, scale)
    lazy = GeneralCouplingTransform(2 * k, mask=torch.tensor([False] * k + [True] * k))
    lazy.hyper = _module(_Joint(p, dtype, raw))
    s = _torch(p, dtype)["s"]
    a = unbound(torch.cat([torch.zeros_like(s), s]))
    t = ComposedTransform(lazy(), DependentTransform(MonotonicAffineTransform(torch.zeros_like(a), a), 1))
    return t.call_and_ladj, t.inv.call_and_ladj


def freia_coupling(p, dtype):
    import torch
    from FrEIA.modules import GLOWCouplingBlock

    k = len(p["s"])
    net = _Joint(p, dtype, lambda F, G: torch.cat([G, F], dim=-1))      # [s | t], clamp 1 with identity
    s = _torch(p, dtype)["s"]
    const = lambda u: torch.cat([s.expand(u.shape[0], k), torch.zeros_like(u)], dim=-1)  # noqa: E731
    subnets = iter([_module(const), _module(net)])                    # subnet1 (y2's), subnet2 (y1's)
    block = GLOWCouplingBlock([(2 * k,)], subnet_constructor=lambda i, o: next(subnets), clamp=1.0,
                              clamp_activation=lambda u: u).to(dtype).eval()

    def run(x, rev):
        (out,), ld = block([x], rev=rev)
        return out, ld

    return (lambda x: run(x, False)), (lambda y: run(y, True))


def normflows_coupling(p, dtype):
    import torch
    from normflows.flows import AffineConstFlow, AffineCouplingBlock

    k = len(p["s"])
    raw = lambda F, G: torch.stack([F, G], dim=-1).flatten(-2)   # noqa: E731  interleaved: shift 0::2, scale 1::2
    block = AffineCouplingBlock(_module(_Joint(p, dtype, raw)), scale_map="exp", split_mode="channel_inv")
    block, const = block.to(dtype).eval(), AffineConstFlow((2 * k,), shift=False).to(dtype).eval()
    with torch.no_grad():
        const.s.copy_(torch.cat([torch.zeros(k, dtype=dtype), _torch(p, dtype)["s"]])[None])

    def forward(x):
        z, ld = block(x)
        z, ld2 = const(z)
        return z, ld + ld2

    def inverse(y):
        z, ld = const.inverse(y)
        z, ld2 = block.inverse(z)
        return z, ld + ld2

    return forward, inverse


def pyro_coupling(p, dtype):
    """Pyro conditions on the first half: it is given (x2, x1) and returns (y2, y1); see SWAPPED."""
    import torch
    from pyro.distributions.transforms import AffineCoupling, AffineTransform, ComposeTransform

    k = len(p["s"])
    raw = lambda F, G: (F, G)   # noqa: E731  (mean, log_scale); G lies inside the clip [−5, 3]
    coupling = AffineCoupling(k, _module(_Joint(p, dtype, raw)))
    s = _torch(p, dtype)["s"]
    scale = AffineTransform(0.0, torch.cat([torch.exp(s), torch.ones_like(s)]), event_dim=1)
    t = ComposeTransform([coupling, scale], cache_size=1)

    # Pyro caches the last (x, y) by identity: each call gets a new view of its input (no copy), as a new
    # batch would be, so that a repeated call is computed again and only the log-det reuses the network's output
    def forward(x):
        x = x.view(x.shape)
        y = t(x)
        return y, t.log_abs_det_jacobian(x, y)

    def inverse(y):
        y = y.view(y.shape)
        x = t.inv(y)
        return x, -t.log_abs_det_jacobian(x, y)

    return forward, inverse


def _swap(v):
    k = v.shape[-1] // 2
    return np.concatenate([v[..., k:], v[..., :k]], axis=-1)


class Coupling:
    name, title = "coupling", "the sheet's affine coupling block"
    params = staticmethod(coupling_params)
    ours = staticmethod(ours_torch)
    ours_numpy = staticmethod(ours_numpy)
    peers = {"nflows": nflows_coupling, "zuko": zuko_coupling, "FrEIA": freia_coupling,
             "normflows": normflows_coupling, "pyro": pyro_coupling}
    layout = {"pyro": (_swap, _swap)}   # (to the peer's layout, back): applied outside the timed calls
    conventions = {
        "nflows": "AffineCouplingTransform with mask [1]*k+[0]*k (x1 transformed); its scale is sigmoid(u+2)+1e-3, "
                  "so the net returns [F | logit(exp(G) − 1e-3) − 2]; y2 = exp(s)∘x2 by its "
                  "unconditional_transform PointwiseAffineTransform(0, exp(s)).",
        "zuko": "GeneralCouplingTransform with mask [0]*k+[1]*k (ones = constant half x2), hyper network replaced; "
                "its log-scale is soft-bounded a/(1+|a|/ln 1000), so the net returns interleaved (F, G/(1−|G|/ln 1000)); "
                "composed with DependentTransform(MonotonicAffineTransform(0, bound⁻¹([0, s]))).",
        "FrEIA": "GLOWCouplingBlock, clamp 1 with the identity activation (log-scale = u); subnet2 (reads x2) returns "
                 "[G | F]; subnet1 returns the constant [s | 0], so its update of x2 is exp(s)∘x2.",
        "normflows": "AffineCouplingBlock(split_mode='channel_inv', scale_map='exp'): conditions on the second half; "
                     "the net returns interleaved (F, G); followed by AffineConstFlow with s = [0, s], no shift.",
        "pyro": "AffineCoupling(k) conditions on the first half, so it is given (x2, x1) (swapped outside the timing); "
                "the net returns (F, G), inside its clip [−5, 3]; composed with AffineTransform(0, [exp s, 1]).",
    }


# ---------------------------------------------------------------------------------------------------------
# agreement, then timing


def cases():
    import peer_layers

    return [Coupling, *peer_layers.CASES]


def implementations(case, mods, p, dtype):
    """name -> (forward, inverse, layout) for derive's code and each installed peer with the layer."""
    import torch

    tdt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    found = {"derive torch": (*case.ours(mods["torch"], p, tdt), None),
             "derive numpy": (*case.ours_numpy(mods["numpy"], p, np.dtype(dtype)), None)}
    for lib, build in case.peers.items():
        try:
            found[lib] = (*build(p, tdt), getattr(case, "layout", {}).get(lib))
        except ImportError as exc:
            print(f"  {lib}: not installed ({exc.name})")
    return found


MEMORY_LIMIT = 4 * 2**30


def too_big(case, name, rows, d, dtype, direction):
    """Whether a peer's largest temporary at this size would pass MEMORY_LIMIT (it is then left out, and said so)."""
    need = getattr(case, "memory", {}).get(name)
    return need is not None and need(rows, d, np.dtype(dtype).itemsize, direction) > MEMORY_LIMIT


def _call(name, fn, x_np, layout):
    """fn on x (numpy in, numpy out): torch tensors for the torch implementations, the peer's layout applied."""
    import torch

    if layout:
        x_np = layout[0](x_np)
    if name == "derive numpy":
        out, ld = fn(x_np)
    else:
        with torch.no_grad():
            out, ld = fn(torch.from_numpy(x_np))
        out, ld = out.numpy(), np.broadcast_to(ld.numpy(), out.shape[:1])
    return (layout[1](out) if layout else out), ld


def agreement(impls, x, reference):
    """Largest difference of each implementation's output and log-det from derive torch float64, relative
    to the size of the reference values (reference = (out, logdet) of derive torch float64)."""
    ref_out, ref_ld = reference
    scale_out, scale_ld = np.max(np.abs(ref_out)), np.max(np.abs(ref_ld))
    rows = {}
    for name, fn, layout in impls:
        try:
            out, ld = _call(name, fn, x, layout)
        except Exception as exc:       # a peer that fails is reported, not timed
            rows[name] = {"output": math.inf, "logdet": math.inf, "error": str(exc).splitlines()[0][:200]}
            continue
        rows[name] = {"output": float(np.max(np.abs(out - ref_out)) / scale_out),
                      "logdet": float(np.max(np.abs(ld - ref_ld)) / scale_ld)}
    return rows


#: seconds of rest before each timed call: numpy's BLAS threads and torch's OpenMP threads keep spinning for a
#: while after a call, and would otherwise take the two cores from whichever implementation runs next
PAUSE = 0.15
#: a timing of a fast call repeats it (up to 50 times) to last about this long, and reports the time per call
MIN_TIMING = 0.1


def time_round_robin(impls, x, repeat):
    """Seconds per call of each implementation: all run in turn within each round; median, min, max."""
    import torch

    inputs = {}
    for name, fn, layout in impls:
        v = layout[0](x) if layout else x
        inputs[name] = v if name == "derive numpy" else torch.from_numpy(v)
    times, number = {name: [] for name, _, _ in impls}, {}
    with torch.no_grad():
        for name, fn, _ in impls:          # a first call (lazy set-up), then a warm one that sets the calls per timing
            fn(inputs[name])
            t = time.perf_counter()
            fn(inputs[name])
            number[name] = max(1, min(50, round(MIN_TIMING / max(time.perf_counter() - t, 1e-9))))
        for r in range(repeat):
            for name, fn, _ in impls[r % len(impls):] + impls[:r % len(impls)]:   # each round starts elsewhere
                time.sleep(PAUSE)
                t = time.perf_counter()
                for _ in range(number[name]):
                    fn(inputs[name])
                times[name].append((time.perf_counter() - t) / number[name])
    return {name: {"median": statistics.median(v), "min": min(v), "max": max(v), "repeat": repeat,
                   "calls_per_timing": number[name]} for name, v in times.items()}


TOLERANCE = {"float64": 1e-10, "float32": 1e-3}


def cell(case, mods, d, dtype, n, repeat, rng):
    """One (layer, d, dtype): agreement and timing of forward and inverse for every implementation."""
    p = case.params(d, rng)
    ref_impls = implementations(case, mods, p, "float64")
    impls = ref_impls if dtype == "float64" else implementations(case, mods, p, dtype)
    n_dir = getattr(case, "inverse_rows", {}).get(d, n)
    out = {"layer": case.name, "d": d, "dtype": dtype, "N": n, "directions": {}}
    for direction, index in (("forward", 0), ("inverse", 1)):
        if ref_impls["derive torch"][index] is None:
            continue
        rows = n if direction == "forward" else min(n, n_dir)
        x = rng.normal(size=(rows, d))
        if direction == "inverse":   # invert outputs of the forward map, so that the inverse is exercised where it matters
            x = _call("derive torch", ref_impls["derive torch"][0], x, None)[0]
        ref = _call("derive torch", ref_impls["derive torch"][index], x, None)
        live = [(name, f[index], f[2]) for name, f in impls.items() if f[index] is not None]
        skipped = [name for name, _, _ in live if too_big(case, name, rows, d, dtype, direction)]
        live = [entry for entry in live if entry[0] not in skipped]
        if len(live) < 2:
            continue
        x_dt = x.astype(dtype)
        agree = agreement(live, x_dt, ref)
        if float(np.std(ref[1])) < 1e-6 and float(np.ptp(ref[1])) < 1e-6 and abs(float(np.mean(ref[1]))) < 1e-6:
            raise SystemExit(f"{case.name}: the reference log-det is ~0: the parameters are trivial")
        good = [(name, fn, lay) for name, fn, lay in live
                if max(agree[name].values()) < TOLERANCE[dtype]]
        for name in agree:
            agree[name]["timed"] = any(name == g[0] for g in good)
        times = time_round_robin(good, x_dt, repeat)
        out["directions"][direction] = {"N": rows, "agreement": agree, "seconds": times,
                                        "left_out": {name: f"needs over {MEMORY_LIMIT / 2**30:g} GiB" for name in skipped}}
        print(_cell_line(case.name, d, dtype, direction, rows, times, agree), flush=True)
    return out


def _cell_line(layer, d, dtype, direction, rows, times, agree):
    parts = [f"{name} {t['median'] * 1e3:.1f}" for name, t in times.items()]
    bad = [name for name, a in agree.items() if not a["timed"]]
    return (f"  {layer:9s} d={d:<4d} {dtype} {direction:8s} N={rows}: ms " + ", ".join(parts)
            + (f"  DISAGREE (not timed): {', '.join(bad)}" if bad else ""))


# ---------------------------------------------------------------------------------------------------------
# summary, table, plot


def summary(cells):
    """Per cell and direction: derive torch / fastest peer, derive numpy / torch float64 (ours and fastest peer)."""
    by_key = {(c["layer"], c["d"], c["dtype"]): c for c in cells}
    rows = []
    for c in cells:
        for direction, r in c["directions"].items():
            t = {name: v["median"] for name, v in r["seconds"].items()}
            peers = {name: v for name, v in t.items() if name not in OURS}
            row = {"layer": c["layer"], "d": c["d"], "dtype": c["dtype"], "direction": direction, "N": r["N"]}
            if peers and "derive torch" in t:
                fastest = min(peers, key=peers.get)
                row.update(fastest_peer=fastest, torch_vs_fastest_peer=t["derive torch"] / peers[fastest])
            f64 = by_key.get((c["layer"], c["d"], "float64"), {}).get("directions", {}).get(direction)
            if f64 and "derive numpy" in t and c["dtype"] == "float64":
                peers64 = {n: v["median"] for n, v in f64["seconds"].items() if n not in OURS}
                row["numpy_vs_derive_torch64"] = t["derive numpy"] / f64["seconds"]["derive torch"]["median"]
                if peers64:
                    row["numpy_vs_fastest_peer64"] = t["derive numpy"] / min(peers64.values())
            worst = max((max(a["output"], a["logdet"]) for a in r["agreement"].values()), default=0.0)
            row["worst_agreement"] = worst
            rows.append(row)
    return rows


def table(result):
    names = list(OURS) + list(LIBRARIES)
    head = f"{'layer':10s} {'d':>4s} {'dtype':7s} {'dir':7s} " + " ".join(f"{n:>13s}" for n in names)
    lines = ["", "Peers: milliseconds per call, median of 5 (min–max in results.json); - = no such layer; "
             "x = disagreed, not timed; memory = its temporaries would pass the limit", head]
    for c in result["cells"]:
        for direction, r in c["directions"].items():
            cells = []
            for n in names:
                if n in r["seconds"]:
                    cells.append(f"{r['seconds'][n]['median'] * 1e3:13.2f}")
                elif n in r.get("left_out", {}):
                    cells.append(f"{'memory':>13s}")
                else:
                    cells.append(f"{'x' if n in r['agreement'] else '-':>13s}")
            lines.append(f"{c['layer']:10s} {c['d']:>4d} {c['dtype']:7s} {direction[:7]:7s} " + " ".join(cells))
    lines += ["", "Ratios of medians: derive torch / fastest peer (same dtype); derive numpy float64 / derive torch "
              "float64 and / fastest peer float64; worst relative disagreement with derive torch float64",
              f"{'layer':10s} {'d':>4s} {'dtype':7s} {'dir':7s} {'torch/peer':>11s} {'fastest peer':>13s} "
              f"{'np/torch64':>11s} {'np/peer64':>10s} {'agreement':>10s}"]
    for r in result["summary"]:
        f = lambda key: f"{r[key]:.2f}" if key in r else "-"   # noqa: E731
        lines.append(f"{r['layer']:10s} {r['d']:>4d} {r['dtype']:7s} {r['direction'][:7]:7s} "
                     f"{f('torch_vs_fastest_peer'):>11s} {r.get('fastest_peer', '-'):>13s} "
                     f"{f('numpy_vs_derive_torch64'):>11s} {f('numpy_vs_fastest_peer64'):>10s} "
                     f"{r['worst_agreement']:10.1e}")
    return "\n".join(lines)


def plot(result, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no plot written")
        return
    groups = [(c, direction, r) for c in result["cells"] for direction, r in c["directions"].items()]
    names = list(OURS) + list(LIBRARIES)
    fig, ax = plt.subplots(figsize=(max(8, 0.55 * len(groups)), 5))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        xs = [g for g, (_, _, r) in enumerate(groups) if name in r["seconds"]]
        ys = [groups[g][2]["seconds"][name]["median"] * 1e3 for g in xs]
        ax.bar([g + (i - len(names) / 2) * width for g in xs], ys, width, label=name)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{c['layer']} d={c['d']}\n{c['dtype'][5:]} {direction[:3]}"
                        + (f"\nN={r['N']}" if r["N"] != result["N"] else "") for c, direction, r in groups],
                       fontsize=6, rotation=90)
    ax.set_yscale("log")
    ax.set_ylabel(f"ms per call, N = {result['N']} unless marked")
    ax.set_title("Forward/inverse with log-det: derive's exported code and the flow libraries")
    ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def versions():
    out = {}
    for lib, module in (("torch", "torch"), ("numpy", "numpy"), ("nflows", "nflows"), ("zuko", "zuko"),
                        ("FrEIA", "FrEIA"), ("normflows", "normflows"), ("pyro", "pyro")):
        try:
            out[lib] = getattr(__import__(module), "__version__", "?")
        except ImportError:
            out[lib] = None
    return out


def run(dims=(64, 256), n=100_000, repeat=5, only=None):
    import torch

    torch.set_num_threads(2)
    mods = {"torch": load(OUTPUTS / "derive_torch.py"), "numpy": load(OUTPUTS / "derive_numeric.py")}
    rng = np.random.default_rng(0)
    cells = []
    for case in cases():
        if only and case.name not in only:
            continue
        for d in dims:
            for dtype in ("float64", "float32"):
                cells.append(cell(case, mods, d, dtype, n, repeat, rng))
    result = {"N": n, "dims": list(dims), "repeat": repeat, "threads": torch.get_num_threads(),
              "allocator": "freed memory kept (" + ", ".join(f"{k}={os.environ[k]}" for k in KEEP_FREED) + ")"
              if all(os.environ.get(k) == v for k, v in KEEP_FREED.items()) else "glibc defaults",
              "versions": versions(), "cells": cells,
              "conventions": {c.name: c.conventions for c in cases()}}
    result["summary"] = summary(cells)
    return result


def main():
    if "--system-malloc" not in sys.argv and "--table" not in sys.argv and \
            any(os.environ.get(k) != v for k, v in KEEP_FREED.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **KEEP_FREED})
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="d = 16, N = 10⁴, 3 rounds (nothing written)")
    ap.add_argument("--only", help="comma-separated layers (coupling, actnorm, lu-linear, maf, planar)")
    ap.add_argument("--table", action="store_true", help="print the table of the last results.json, run nothing")
    ap.add_argument("--system-malloc", action="store_true",
                    help="glibc's default allocator settings (freed blocks above 32 MiB go back to the kernel)")
    args = ap.parse_args()
    path = HERE / "results.json"
    if args.table:
        result = json.loads(path.read_text())["peers"]
        result["summary"] = summary(result["cells"])
        print(table(result))
        return
    only = set(args.only.split(",")) if args.only else None
    if args.quick:
        print(table(run(dims=(16,), n=10_000, repeat=3, only=only)))
        return
    result = run(only=only)
    data = json.loads(path.read_text()) if path.exists() else {}
    data["peers"] = result
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    plot(result, HERE / "peers.png")
    print(table(result))


if __name__ == "__main__":
    main()
