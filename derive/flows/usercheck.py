"""Numeric cross-checks of your own layer or flow, against references written apart from its derivation.

The reference forward map of a layer of your own is your equations read again with numpy semantics
(:mod:`derive.numeric.user_reference`); a catalogue layer inside your flow uses its hand-written map
(:mod:`derive.numeric.flow_reference`).  The printed functions (:mod:`derive.flows.numeric`, the same text
``derive_numeric.py`` holds) must give that forward map, a log-determinant equal to ``slogdet`` of a
finite-difference Jacobian of it, and (where an inverse was derived) x back after the forward map.
Parameters and networks are random and far from the identity.
"""
from __future__ import annotations

import numpy as np

from ..model import CrossCheck
from ..numeric import flow_reference as ref
from ..numeric.user_reference import forward as user_forward
from .codegen import Unsupported
from .crosscheck import RENAME, sources
from .numeric import ident, namespace, signature


def _value(rng, shape: tuple, positive: bool):
    if positive:
        return float(np.exp(0.3 * rng.normal())) if not shape else np.exp(0.3 * rng.normal(size=shape))
    if not shape:
        return float(0.5 * rng.normal())
    if len(shape) == 2:
        return 0.5 * rng.normal(size=shape) / np.sqrt(shape[0])
    return 0.5 * rng.normal(size=shape)


def _own_values(rng, layer, dim: int) -> tuple:
    """(printed-name values, reference-name values, reference forward) of a layer of your own."""
    n = dim // len(layer.inputs)
    printed, plain, networks = {}, {}, {}
    for p in layer.params:
        value = _value(rng, (n,) * len(p.shape), "positive" in p.note or bool(getattr(p.symbol, "is_positive", 0)))
        printed[ident(p.symbol)] = value
        plain[ident(p.symbol)[:len(ident(p.symbol)) - len(layer.suffix)]] = value
    for c in layer.conditioners:
        net = ref.random_conditioner(rng, n) if c.kind == "coupling" else ref.masked_conditioner(rng, n)
        printed[ident(c.symbol)] = net
        networks[ident(c.symbol)[:len(ident(c.symbol)) - len(layer.suffix)]] = net
    return printed, user_forward(dict(layer.source), plain, networks)


def _catalogue_values(rng, layer, dim: int) -> tuple:
    name = layer.name[:len(layer.name) - len(layer.suffix)].replace("-", "_")
    params = ref.LAYERS[name](rng, dim)
    fwd = ref.layer_functions(name)[0]
    printed = {RENAME.get(k, k) + layer.suffix: v for k, v in params.items()}
    return printed, lambda x: fwd(x, **params)


def _values(rng, layer, dim: int) -> tuple:
    return _own_values(rng, layer, dim) if layer.source else _catalogue_values(rng, layer, dim)


def cross_checks(der, dim: int = 16, rows: int = 6, seed: int = 0) -> list:
    """The printed functions of ``der`` (a layer or flow of your own) against the references."""
    rng = np.random.default_rng(seed)
    layers = [d.data["layer"] for d in der.data["layers"]] if "flow" in der.data else [der.data["layer"]]
    printed, maps = {}, []
    for layer in layers:
        values, fwd = _values(rng, layer, dim)
        printed.update(values)
        maps.append(fwd)

    def reference(x):
        for f in maps:
            x = f(x)
        return x

    try:
        ns = namespace(sources(der))
    except Unsupported as exc:
        return [CrossCheck.compare(f"{der.name}: numpy code", f"not printed: {exc}", float("nan"), 0.0)]
    base = ident(der.name)
    args = {a: printed[a] for a in _arguments(der)}
    x = rng.normal(size=(rows, dim)) * 0.8
    out = _compare(der.name, ns, base, args, reference, x)
    if any("_affine(" in text for text in sources(der)):
        out += _through_matrix(der.name, ns, base, args, reference, rng.normal(size=(dim + 3, dim)) * 0.8)
    return out


def _through_matrix(name: str, ns: dict, base: str, args: dict, reference, x) -> list:
    """An affine map on more rows than features goes through its matrix (one product): that path too."""
    y_ref = reference(x)
    y = ns[f"{base}_forward"](x, **args)
    out = [CrossCheck.compare(f"{name}: forward, {len(x)} rows", "through its matrix, against your equations "
                              "read again with numpy", np.max(np.abs(y - y_ref)) / (1.0 + np.max(np.abs(y_ref))),
                              1e-12)]
    if f"{base}_inverse" in ns:
        out.append(CrossCheck.compare(f"{name}: inverse, {len(x)} rows", "through its matrix: inverse after "
                                      "forward gives x", np.max(np.abs(ns[f"{base}_inverse"](y, **args) - x)), 1e-8))
    return out


def _arguments(der) -> list:
    if "flow" in der.data:
        return list(dict.fromkeys(a for d in der.data["layers"] for a in signature(d.data["layer"])))
    return signature(der.data["layer"])


def _compare(name: str, ns: dict, base: str, args: dict, reference, x) -> list:
    y_ref = reference(x)
    y = ns[f"{base}_forward"](x, **args)
    out = [CrossCheck.compare(f"{name}: forward", "against your equations read again with numpy",
                              np.max(np.abs(y - y_ref)) / (1.0 + np.max(np.abs(y_ref))), 1e-12)]
    if f"{base}_logdet" not in ns:
        out.append(CrossCheck.compare(f"{name}: log-determinant", "not derived: nothing to compare",
                                      float("nan"), 1e-4))
        return out
    ld = ns[f"{base}_logdet"](x, **args)
    _, fd = ref.fd_logdet(reference, x, eps=1e-5)
    out.append(CrossCheck.compare(f"{name}: log-determinant", "against slogdet of a finite-difference Jacobian of "
                                  "that map (relative to 1 + |log-det|)",
                                  np.max(np.abs(ld - fd) / (1 + np.abs(fd))), 1e-4))
    if f"{base}_inverse" in ns:
        back = ns[f"{base}_inverse"](y, **args)
        out.append(CrossCheck.compare(f"{name}: inverse", "inverse after forward gives x",
                                      np.max(np.abs(back - x)), 1e-8))
    return out
