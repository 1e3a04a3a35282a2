"""Four flow layers of the catalogue (ActNorm, planar, LU linear, MAF) next to the same layers of five flow libraries.

``CASES`` lists one case per layer.  Each case gives random, non-trivial parameters in the project's
parameterisation (``params(d, rng)``), the generated torch and numpy layers built on them (``ours``,
``ours_numpy``), and for every library that has the layer a builder ``peers[library](p, dtype)`` of its own
layer class, set so that it computes exactly the project's function.  All callables return
``(output, log_det)`` in the project's directions: forward gives ``(y, log|det dy/dx|)``, inverse gives
``(x, log|det dx/dy|)``; ``None`` stands for a missing inverse.  ``conventions`` says, per library, how the
mapping was made.  Library imports sit inside the builders, so a missing library raises ImportError there.

The MAF conditioners are masked-linear: mu(x) = x Wmu^T + bmu, alpha(x) = (1 + tanh(x Wa^T + ba)) / 2, with
Wmu, Wa strictly lower triangular.  alpha lies in (0, 1), so the forward scale exp(-alpha) lies in (e^-1, 1),
a range every library's scale activation reaches (normflows's sigmoid(u + 2) + 1e-3 stops at 1.001).

``python benchmarks/peer_layers.py`` runs ``selfcheck()``: every peer against ``ours`` at d = 8 and 64,
N = 500, float64 and float32, and prints the largest differences.
"""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

OUTPUTS = Path(__file__).resolve().parent.parent / "outputs"
LIBRARIES = ("nflows", "zuko", "FrEIA", "normflows", "pyro")


def load(path):
    """A generated module (``outputs/derive_torch.py``, ``outputs/derive_numeric.py``), imported from its file:
    what a user of ``derive all`` imports."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Case:
    """One layer: its parameters, the generated implementations, the libraries' implementations."""

    def __init__(self, name, title, params, ours, ours_numpy, peers, conventions, memory=None, inverse_rows=None):
        self.name, self.title, self.params = name, title, params
        self.ours, self.ours_numpy = ours, ours_numpy
        self.peers, self.conventions = peers, conventions
        self.memory = memory or {}  # library -> bytes(N, d, itemsize, direction) of its largest temporary
        self.inverse_rows = inverse_rows or {}  # d -> rows for the inverse (a sequential inverse is slow)


# ----------------------------------------------------------------------------------------------- helpers

def _t(a, dtype):
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype)


def _set(module, **values):
    """Copy float64 numpy values into the module's parameters or buffers of the same names (in their dtype)."""
    with torch.no_grad():
        for name, value in values.items():
            target = getattr(module, name)
            target.copy_(_t(value, target.dtype).reshape(target.shape))
    return module


def _ready(module, dtype):
    """In dtype, in eval mode, and frozen: without inference mode a peer would otherwise record autograd graphs
    that ours does not."""
    return module.to(dtype).eval().requires_grad_(False)


def _rows(log_det, x):
    """A log-det as one value per row (normflows's constant layers return a 0-d tensor)."""
    return log_det.expand(x.shape[:-1]) if log_det.dim() == 0 else log_det


def _pair(layer, forward="forward", inverse="inverse"):
    """(forward, inverse) callables of a layer whose methods already return (output, log_det)."""
    def call(method):
        def run(v):
            out, log_det = method(v)
            return out, _rows(log_det, v)
        return run

    return call(getattr(layer, forward)), call(getattr(layer, inverse))


def _zuko_pair(transform):
    """(forward, inverse) of a zuko/torch Transform through zuko's call_and_ladj."""
    inverse = transform.inv
    return transform.call_and_ladj, inverse.call_and_ladj


def _pyro_pair(t, shape=lambda x: x, unshape=lambda y: y, inverse=True):
    """(forward, inverse) of a Pyro TransformModule; its one-entry cache is emptied before every call
    (otherwise a second call with the same tensor would return the cached result without computing)."""
    inv = t.inv

    def forward(x):
        t._cached_x_y = (None, None)
        x = shape(x)
        y = t(x)
        return unshape(y), t.log_abs_det_jacobian(x, y)

    def backward(y):
        t._cached_x_y = (None, None)
        y = shape(y)
        x = inv(y)
        return unshape(x), -t.log_abs_det_jacobian(x, y)

    return forward, (backward if inverse else None)


def _generated(stem, keys, inverse=True):
    """(ours, ours_numpy) for a layer whose generated functions take the parameters ``keys`` in order."""
    def build(module, p, convert):
        args = [convert(p[k]) for k in keys]
        fwd = getattr(module, f"{stem}_forward_and_logdet")
        inv = getattr(module, f"{stem}_inverse_and_logdet") if inverse else None
        return (lambda x: fwd(x, *args)), (inv and (lambda y: inv(y, *args)))

    return (lambda module, p, dtype: build(module, p, lambda a: _t(a, dtype)),
            lambda module, p, dtype: build(module, p, lambda a: np.asarray(a, dtype=dtype)))


# ----------------------------------------------------------------------------------------------- ActNorm

def _actnorm_params(d, rng):
    return {"b": rng.standard_normal(d), "ell": 0.1 + 0.3 * rng.standard_normal(d)}


def _shift(p):
    """The libraries write ActNorm as exp(ell) x + shift: shift = b exp(ell)."""
    return p["b"] * np.exp(p["ell"])


def _actnorm_nflows(p, dtype):
    from nflows.transforms import ActNorm

    layer = _set(_ready(ActNorm(len(p["b"])), dtype), log_scale=p["ell"], shift=_shift(p), initialized=True)
    return _pair(layer)


def _actnorm_freia(p, dtype):
    from FrEIA.modules import ActNorm

    layer = _set(_ready(ActNorm([(len(p["b"]),)]), dtype), scale=p["ell"], bias=_shift(p))
    layer.init_on_next_batch = False

    def call(v, rev):
        (out,), log_det = layer([v], rev=rev)
        return out, log_det

    return (lambda x: call(x, False)), (lambda y: call(y, True))


def _actnorm_normflows(p, dtype):
    from normflows.flows import ActNorm

    layer = _set(_ready(ActNorm((len(p["b"]),)), dtype), s=p["ell"], t=_shift(p), data_dep_init_done=1.0)
    return _pair(layer)


ACTNORM_CONVENTIONS = {
    "nflows": "nflows.transforms.ActNorm (y = exp(log_scale) x + shift), forward/inverse as is: log_scale = ell, "
              "shift = b exp(ell), `initialized` set so that no data-dependent initialisation runs.",
    "FrEIA": "FrEIA.modules.ActNorm (y = x exp(scale) + bias; rev=True for the inverse): scale = ell, "
             "bias = b exp(ell), init_on_next_batch switched off.",
    "normflows": "normflows.flows.ActNorm (an AffineConstFlow, z exp(s) + t), forward/inverse as is: s = ell, "
                 "t = b exp(ell), data_dep_init_done set; its 0-d log-det is expanded to one per row.",
}


# ----------------------------------------------------------------------------------------------- planar

def _planar_params(d, rng):
    """u, w, b with w.u = ±(0.3..0.8): far from the -1 bound and inside both libraries' reparameterisation."""
    u, w = rng.standard_normal(d) / math.sqrt(d), rng.standard_normal(d)
    w = w / np.linalg.norm(w) * rng.uniform(0.8, 1.5)
    target = rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.8)
    u = u + (target - w @ u) * w / (w @ w)
    return {"u": u, "w": w, "b": np.asarray(rng.standard_normal())}


def _planar_raw_u(p):
    """The raw u that normflows's and Pyro's constraint u + (softplus(w.u) - 1 - w.u) w/|w|^2 maps to p["u"]:
    it has w.u_raw = softplus^-1(w.u + 1), i.e. u_raw = u + (log(expm1(w.u + 1)) - w.u) w / |w|^2."""
    u, w = p["u"], p["w"]
    a = w @ u
    return u + (math.log(math.expm1(a + 1)) - a) * w / (w @ w)


def _planar_normflows(p, dtype):
    from normflows.flows import Planar

    d = len(p["u"])
    layer = _set(_ready(Planar((d,)), dtype), u=_planar_raw_u(p), w=p["w"], b=p["b"])
    return _pair(layer)[0], None


def _planar_pyro(p, dtype):
    from pyro.distributions.transforms import Planar

    layer = _set(_ready(Planar(len(p["u"])), dtype), u=_planar_raw_u(p), w=p["w"], bias=p["b"])
    return _pyro_pair(layer, inverse=False)


PLANAR_CONVENTIONS = {
    "normflows": "normflows.flows.Planar(act='tanh'), forward only (its inverse is for leaky_relu alone); it "
                 "replaces u by u + (softplus(w.u) - 1 - w.u) w/|w|^2, so u is set to the preimage "
                 "u + (log(expm1(w.u + 1)) - w.u) w/|w|^2 of the project's u.",
    "pyro": "pyro.distributions.transforms.Planar, forward only (no inverse except its cache, emptied before each "
            "call); same u_hat constraint as normflows, inverted the same way; log-det from log_abs_det_jacobian.",
}


# ----------------------------------------------------------------------------------------------- LU linear

def _lu_params(d, rng):
    scale = 0.1 / math.sqrt(d)
    return {"s": np.exp(0.1 + 0.3 * rng.standard_normal(d)),
            "U": np.triu(scale * rng.standard_normal((d, d)), 1),
            "L": np.tril(scale * rng.standard_normal((d, d)), -1)}


def _lu_entries(p, eps):
    """nflows's LULinear parameters (also normflows's copy): the strict triangles row by row, and the diagonal
    through the inverse of softplus(v) + eps."""
    d = len(p["s"])
    return {"lower_entries": p["L"][np.tril_indices(d, -1)], "upper_entries": p["U"][np.triu_indices(d, 1)],
            "unconstrained_upper_diag": np.log(np.expm1(p["s"] - eps))}


def _cached(linear, call, probe):
    """``call`` through the layer's own weight cache, rebuilt before every call (its evaluation path: one
    product with the weight, or with the inverse, built once per call as derive's code does); where that path
    fails on ``probe`` (normflows 1.7.3's cached inverse calls torch.trtrs, which torch no longer has), the
    uncached one."""
    linear.use_cache(True)

    def run(v):
        linear.cache.invalidate()
        return call(v)

    try:
        run(probe)
    except (RuntimeError, AttributeError):
        linear.use_cache(False)
        return call
    return run


def _lu_nflows(p, dtype):
    from nflows.transforms import CompositeTransform, LULinear, ReversePermutation

    d = len(p["s"])
    lu = _ready(LULinear(d), dtype)
    _set(lu, **_lu_entries(p, lu.eps))
    forward, inverse = _pair(_ready(CompositeTransform([lu, ReversePermutation(d)]), dtype))
    probe = torch.zeros(2, d, dtype=dtype)
    return _cached(lu, forward, probe), _cached(lu, inverse, probe)


def _lu_normflows(p, dtype):
    from normflows.flows import LULinearPermute, Permute

    d = len(p["s"])
    layer, reverse = _ready(LULinearPermute(d), dtype), _ready(Permute(d), dtype)
    _set(layer.linear, **_lu_entries(p, layer.linear.eps))
    layer.permutation._permutation = torch.arange(d)
    reverse.perm = reverse.inv_perm = torch.arange(d - 1, -1, -1)

    def forward(x):
        z, log_det = layer.inverse(x)  # normflows's inverse is the x -> L U x direction
        return reverse(z)[0], log_det

    def inverse(y):
        return layer(reverse.inverse(y)[0])

    probe = torch.zeros(2, d, dtype=dtype)
    return _cached(layer.linear, forward, probe), _cached(layer.linear, inverse, probe)


def _lu_zuko(p, dtype):
    from zuko.transforms import ComposedTransform, LULinearTransform, PermutationTransform

    s, d = p["s"], len(p["s"])
    packed = np.tril(p["L"] * s[None, :], -1) + np.diag(s) + p["U"] / s[:, None]  # L D and D^-1 U
    return _zuko_pair(ComposedTransform(LULinearTransform(_t(packed, dtype)),
                                        PermutationTransform(torch.arange(d - 1, -1, -1))))


def _lu_pyro(p, dtype):
    from pyro.distributions.transforms import GeneralizedChannelPermute

    d = len(p["s"])
    layer = _ready(GeneralizedChannelPermute(channels=d, permutation=torch.arange(d - 1, -1, -1)), dtype)
    _set(layer, LU=p["L"] + p["U"] + np.diag(p["s"]))
    return _pyro_pair(layer, shape=lambda x: x[..., None, None], unshape=lambda y: y[..., 0, 0])


LU_CONVENTIONS = {
    "nflows": "CompositeTransform([LULinear, ReversePermutation]): LULinear computes L(Ux) with unit-lower L and "
              "upper U whose diagonal is softplus(v) + 1e-3, so v = log(expm1(s - 1e-3)); bias 0; through its "
              "weight cache, rebuilt before each call (one product with W or W^-1, as derive's code).",
    "normflows": "LULinearPermute (nflows's LULinear ported, with its random permutation set to the identity) "
                 "used in its `inverse` direction, which computes L(Ux), followed by Permute with the "
                 "reversed order; the project's inverse is Permute.inverse then LULinearPermute.forward; through "
                 "its weight cache rebuilt before each call where that path works (its cached inverse calls "
                 "torch.trtrs, gone from torch, so that direction runs uncached).",
    "zuko": "ComposedTransform(LULinearTransform, PermutationTransform(reversed)); zuko factors as "
            "(lower with diagonal)(unit upper), so it gets L diag(s) and diag(s)^-1 U (the same matrix).",
    "pyro": "GeneralizedChannelPermute (Glow's 1x1 convolution, W = P L U) with P the reversal and the packed LU "
            "= L + U + diag(s); vectors are viewed as (..., d, 1, 1) images; cache emptied before each call.  "
            "Its forward and inverse build an (N, d, d) product: 8 N d^2 bytes in float64.",
    # zuko's inverse solves with the triangular factors broadcast to (N, d, d): 8 N d^2 bytes in float64
}


# ----------------------------------------------------------------------------------------------- MAF

def _maf_params(d, rng):
    mask = np.tril(np.ones((d, d)), -1)
    return {"Wmu": mask * rng.standard_normal((d, d)) / math.sqrt(d), "bmu": rng.standard_normal(d),
            "Wa": mask * rng.standard_normal((d, d)) / math.sqrt(d), "ba": rng.standard_normal(d)}


def _maf_ours(module, p, dtype, convert, tanh):
    WmT, bm, WaT, ba = convert(p["Wmu"].T), convert(p["bmu"]), convert(p["Wa"].T), convert(p["ba"])
    mu = lambda x: x @ WmT + bm
    alpha = lambda x: 0.5 + 0.5 * tanh(x @ WaT + ba)
    return (lambda x: module.maf_forward_and_logdet(x, mu, alpha),
            lambda y: module.maf_inverse_and_logdet(y, mu, alpha))


class Conditioner(nn.Module):
    """The masked-linear mu and alpha of the MAF case, handed to a library as ``raw(mu, alpha)``: its own
    output layout, with the inverse of its scale activation already applied."""

    def __init__(self, p, raw):
        super().__init__()
        self.register_buffer("WmT", _t(p["Wmu"].T.copy(), torch.float64))
        self.register_buffer("bm", _t(p["bmu"], torch.float64))
        self.register_buffer("WaT", _t(p["Wa"].T.copy(), torch.float64))
        self.register_buffer("ba", _t(p["ba"], torch.float64))
        self.register_buffer("permutation", torch.arange(len(p["bmu"])))  # read by Pyro's inverse
        self.raw = raw

    def forward(self, x, context=None):
        x = x.to(self.WmT.dtype)  # Pyro's inverse starts from float32 zeros whatever the dtype
        return self.raw(x @ self.WmT + self.bm, 0.5 + 0.5 * torch.tanh(x @ self.WaT + self.ba))


def _interleave(first, second):
    return torch.stack((first, second), -1).flatten(-2)


def _nflows_raw(mu, alpha):  # view(-1, d, 2): [..., 0] raw scale, softplus(u) + 1e-3; [..., 1] shift
    scale = torch.exp(-alpha)
    return _interleave(torch.log(torch.expm1(scale - 1e-3)), -mu * scale)


def _normflows_raw(mu, alpha):  # same layout, scale sigmoid(u + 2) + 1e-3
    scale = torch.exp(-alpha)
    return _interleave(torch.logit(scale - 1e-3) - 2, -mu * scale)


def _zuko_raw(mu, alpha):  # per feature (shift, a); log-scale a / (1 + |a| / ln 1000)
    return _interleave(-mu * torch.exp(-alpha), -alpha / (1 - alpha / math.log(1e3)))


def _pyro_raw(mu, alpha):  # (mean, log_scale), log_scale clipped to [-5, 3]
    return -mu * torch.exp(-alpha), -alpha


def _maf_nflows(p, dtype):
    from nflows.transforms import MaskedAffineAutoregressiveTransform

    layer = MaskedAffineAutoregressiveTransform(features=len(p["bmu"]), hidden_features=4)
    layer.autoregressive_net = Conditioner(p, _nflows_raw)
    return _pair(_ready(layer, dtype))


def _maf_normflows(p, dtype):
    from normflows.flows import MaskedAffineAutoregressive

    layer = MaskedAffineAutoregressive(features=len(p["bmu"]), hidden_features=4)
    layer.autoregressive_net = Conditioner(p, _normflows_raw)
    return _pair(_ready(layer, dtype))


def _maf_zuko(p, dtype):
    from zuko.flows import MaskedAutoregressiveTransform

    lazy = MaskedAutoregressiveTransform(features=len(p["bmu"]), hidden_features=[4])
    lazy.hyper = Conditioner(p, _zuko_raw)
    return _zuko_pair(_ready(lazy, dtype)())


def _maf_pyro(p, dtype):
    from pyro.distributions.transforms import AffineAutoregressive

    return _pyro_pair(_ready(AffineAutoregressive(Conditioner(p, _pyro_raw)), dtype))


MAF_CONVENTIONS = {
    "nflows": "MaskedAffineAutoregressiveTransform (y = scale(x) x + shift(x)), its MADE replaced; raw output "
              "interleaved (u_i, shift_i) with scale = softplus(u) + 1e-3 in this release (not the sigmoid of "
              "its coupling layer), so u = log(expm1(exp(-alpha) - 1e-3)), shift = -mu exp(-alpha).",
    "normflows": "MaskedAffineAutoregressive (same layout as nflows), its MADE replaced; scale = "
                 "sigmoid(u + 2) + 1e-3, so u = logit(exp(-alpha) - 1e-3) - 2 (needs alpha > -0.001).",
    "zuko": "MaskedAutoregressiveTransform with MonotonicAffineTransform, its MaskedMLP replaced; raw output "
            "interleaved (shift_i, a_i), log-scale a / (1 + |a| / ln 1000), so a = -alpha / (1 - alpha / ln 1000).",
    "pyro": "AffineAutoregressive (y = exp(log_scale) x + mean, stable=False), its AutoRegressiveNN replaced by "
            "one returning (mean, log_scale) = (-mu exp(-alpha), -alpha), inside the [-5, 3] clip; cache emptied.",
}


# ----------------------------------------------------------------------------------------------- cases

def _maf_pair():
    return (lambda module, p, dtype: _maf_ours(module, p, dtype, lambda a: _t(a, dtype), torch.tanh),
            lambda module, p, dtype: _maf_ours(module, p, dtype, lambda a: np.asarray(a, dtype=dtype), np.tanh))


CASES = [
    Case("actnorm", "ActNorm", _actnorm_params, *_generated("actnorm", ("b", "ell")),
         {"nflows": _actnorm_nflows, "FrEIA": _actnorm_freia, "normflows": _actnorm_normflows},
         ACTNORM_CONVENTIONS),
    Case("planar", "Planar flow", _planar_params, *_generated("planar", ("u", "w", "b"), inverse=False),
         {"normflows": _planar_normflows, "pyro": _planar_pyro}, PLANAR_CONVENTIONS),
    Case("lu-linear", "LU linear + reversal", _lu_params, *_generated("lu_linear", ("s", "U", "L")),
         {"nflows": _lu_nflows, "zuko": _lu_zuko, "normflows": _lu_normflows, "pyro": _lu_pyro},
         LU_CONVENTIONS, memory={"pyro": lambda n, d, size, direction: n * d * d * size,
                                 "zuko": lambda n, d, size, direction: n * d * d * size * (direction == "inverse")}),
    Case("maf", "MAF (masked-linear conditioners)", _maf_params, *_maf_pair(),
         {"nflows": _maf_nflows, "zuko": _maf_zuko, "normflows": _maf_normflows, "pyro": _maf_pyro},
         MAF_CONVENTIONS, inverse_rows={64: 10_000, 256: 1_000}),
]


# ----------------------------------------------------------------------------------------------- self-check

def _gap(got, want):
    """Largest difference relative to the size of the values (at least 1)."""
    got, want = (torch.as_tensor(v).detach().to(torch.float64) for v in (got, want))
    got = torch.broadcast_to(got, want.shape)
    return float((got - want).abs().max() / max(1.0, float(want.abs().max())))


def _compare(pair, reference, x, y, dtype):
    """Largest gap of forward and inverse (outputs and log-dets) of ``pair`` against ``reference``."""
    gaps = []
    for fn, ref, arg in ((pair[0], reference[0], x), (pair[1], reference[1], y)):
        if fn is None:
            continue
        out, log_det = fn(arg)
        want_out, want_ld = ref(arg)
        assert out.dtype == dtype and log_det.shape == want_ld.shape, (out.dtype, log_det.shape)
        gaps += [_gap(out, want_out), _gap(log_det, want_ld)]
    return max(gaps)


def _check_case(case, d, dtype, torch_mod, numpy_mod, n=500, seed=0):
    """{implementation: gap} for one case at one size and dtype, with the sanity checks on ``ours``."""
    p = case.params(d, np.random.default_rng(seed))
    ours = case.ours(torch_mod, p, dtype)
    x = _t(np.random.default_rng(seed + 1).standard_normal((n, d)), dtype)
    y, log_det = ours[0](x)
    assert (y - x).abs().max() > 0.1, f"{case.name}: the parameters give (nearly) the identity"
    assert log_det.abs().mean() > 1e-2, f"{case.name}: log-det ~ 0"
    if ours[1] is not None:
        back, back_ld = ours[1](y)
        assert _gap(back, x) < 1e-3 and _gap(back_ld, -log_det) < 1e-3, f"{case.name}: ours does not invert"
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    mine = case.ours_numpy(numpy_mod, p, np_dtype)
    numpy_pair = tuple(f and (lambda a, f=f: tuple(map(torch.as_tensor, f(a.numpy())))) for f in mine)
    gaps = {"numpy": _compare(numpy_pair, ours, x, y, dtype)}
    for library, build in case.peers.items():
        try:
            gaps[library] = _compare(build(p, dtype), ours, x, y, dtype)
        except ImportError as missing:
            print(f"  {case.name}: {library} not importable ({missing})")
    return gaps


def selfcheck(sizes=(8, 64), n=500):
    """Every implementation against ``ours``; asserts the tolerances and returns {(case, impl, dtype): max gap}."""
    torch_mod, numpy_mod = load(OUTPUTS / "derive_torch.py"), load(OUTPUTS / "derive_numeric.py")
    worst = {}
    for case in CASES:
        for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-3)):
            for d in sizes:
                for impl, gap in _check_case(case, d, dtype, torch_mod, numpy_mod, n).items():
                    assert gap < tol, f"{case.name} {impl} d={d} {dtype}: gap {gap:.3g} >= {tol}"
                    key = (case.name, impl, str(dtype).split(".")[-1])
                    worst[key] = max(worst.get(key, 0.0), gap)
    return worst


if __name__ == "__main__":
    for (case, impl, dtype), gap in sorted(selfcheck().items()):
        print(f"{case:10s} {impl:10s} {dtype:8s} {gap:.2e}")
