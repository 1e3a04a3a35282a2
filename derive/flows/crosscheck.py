"""Numeric cross-checks of a catalogue layer against hand-written numpy (at d = 64).

The printed functions (:mod:`derive.flows.numeric`) are compared with the
hand-written forward map and log-determinant of
:mod:`derive.numeric.flow_reference`, with ``slogdet`` of a finite-difference
Jacobian of the hand-written forward map, and (where an inverse was derived)
the printed inverse after the printed forward map must give x back.
"""
from __future__ import annotations

import numpy as np

from ..model import CrossCheck
from ..numeric import flow_reference as ref
from .numeric import ident, namespace, sources

#: reference parameter names -> the names in the definitions
RENAME = {"eps": "epsilon", "logs": "ell", "sg": "s", "x0": "x_0"}


def _reference_name(name: str) -> str:
    return name.replace("-", "_")


def cross_checks(der, dim: int = 64, rows: int = 6, seed: int = 0) -> list:
    name = _reference_name(der.name)
    ns = namespace(sources(der))
    rng = np.random.default_rng(seed)
    params = ref.LAYERS[name](rng, dim if name != "conv1x1" else 4)
    mine = {RENAME.get(k, k): v for k, v in params.items()}
    shape = (rows, dim) if name != "conv1x1" else (rows, 2, 3, 4)
    x = rng.normal(size=shape) * 0.8
    fwd, inv, logdet = ref.layer_functions(name)
    base = ident(der.name)
    out = []
    y = ns[f"{base}_forward"](x, **mine)
    scale = 1.0 + np.max(np.abs(fwd(x, **params)))
    out.append(CrossCheck.compare(f"{der.name}: forward", "against the hand-written forward map",
                                  np.max(np.abs(y - fwd(x, **params))) / scale, 1e-12))
    ld = ns[f"{base}_logdet"](x, **mine)
    out.append(CrossCheck.compare(f"{der.name}: log-determinant", "against the hand-written log-determinant",
                                  np.max(np.abs(ld - logdet(x, **params))), 1e-9))
    if name != "conv1x1":
        _, fd = ref.fd_logdet(lambda z: fwd(z, **params), x, eps=1e-5)
        out.append(CrossCheck.compare(f"{der.name}: log-determinant", "against slogdet of a finite-difference "
                                      "Jacobian of the hand-written map (relative to 1 + |log-det|)",
                                      np.max(np.abs(ld - fd) / (1 + np.abs(fd))), 1e-4))
    if f"{base}_inverse" in ns:
        back = ns[f"{base}_inverse"](y, **mine)
        out.append(CrossCheck.compare(f"{der.name}: inverse", "inverse after forward gives x",
                                      np.max(np.abs(back - x)), 1e-8))
    if any("_affine(" in text for text in sources(der)):
        out += _through_matrix(der, ns, params, mine, rng, dim if name != "conv1x1" else 4)
    return out


def _through_matrix(der, ns, params, mine, rng, d: int) -> list:
    """An affine map applied to more rows than features goes through its matrix (one product): that path
    against the hand-written forward map, and inverse after forward."""
    name, base = _reference_name(der.name), ident(der.name)
    x = rng.normal(size=(d + 3, d) if name != "conv1x1" else (d + 3, 2, 3, d)) * 0.8
    fwd = ref.layer_functions(name)[0]
    want = fwd(x, **params)
    y = ns[f"{base}_forward"](x, **mine)
    out = [CrossCheck.compare(f"{der.name}: forward, {d + 3} rows", "through its matrix, against the hand-written "
                              "forward map", np.max(np.abs(y - want)) / (1.0 + np.max(np.abs(want))), 1e-12)]
    if f"{base}_inverse" in ns:
        back = ns[f"{base}_inverse"](y, **mine)
        out.append(CrossCheck.compare(f"{der.name}: inverse, {d + 3} rows", "through its matrix: inverse after "
                                      "forward gives x", np.max(np.abs(back - x)), 1e-8))
    return out
