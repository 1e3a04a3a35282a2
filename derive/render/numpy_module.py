"""The standalone numpy module of the derived formulas (``derive_numeric.py``).

Each formula is printed by SymPy's NumPy code printer from the derivation
objects; the surrounding function skeletons (splitting x into halves,
summing element-wise log-determinant terms) are a fixed template.  The module
imports numpy only.
"""
from __future__ import annotations

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

HEADER = '''"""Numeric functions derived and verified by derive (generated file: do not edit).

Coupling block (seed's equation (1)), vectors along the last axis, batch axes in front:
F and G are callables mapping x2 (..., k) to (..., k); s is an array of k scales.
"""
import numpy


'''


def _code(expr) -> str:
    return NumPyPrinter({"fully_qualified_modules": True}).doprint(expr)


def render_module(derivations) -> str:
    by = {d.name: d for d in derivations}
    parts = [HEADER]
    for name, code in (("coupling", _coupling_code), ("kl", _kl_code), ("reparam", _reparam_code),
                       ("vfe", _vfe_code)):
        if name in by:
            parts.append(code(by[name]))
    layers = [d for d in derivations if "logdet" in d.data and ("layer" in d.data or "flow" in d.data)]
    if layers:
        parts.append(_layers_code(layers))
    return "".join(parts)


LAYERS_HEADER = '''

# ---- flow layers -------------------------------------------------------------------------------------------
# <layer>_forward(x, ...), <layer>_logdet(x, ...), <layer>_forward_and_logdet(x, ...) and, where derived,
# <layer>_inverse(y, ...).  Features on the last axis, any batch axes in front; a coupling block splits them
# into halves x_1 = x[..., :k], x_2 = x[..., k:]; conditioners (F, G, mu, ...) are callables on arrays of that
# shape; parameters are arrays named as in the layer's definition.
import numpy as np
'''


def _layers_code(derivations) -> str:
    """Each flow layer's and stack's printed functions (a layer used by a stack once)."""
    from ..flows.crosscheck import sources
    from ..flows.numeric import PRELUDE

    blocks = dict.fromkeys(src for der in derivations for src in sources(der))
    return LAYERS_HEADER + PRELUDE + "\n\n" + "\n\n\n".join(blocks) + "\n"


def _coupling_code(der) -> str:
    """coupling_forward, coupling_inverse and coupling_logdet, element-wise over a batch."""
    from ..numeric.coupling import ArrayNames

    d = der.data
    names = ArrayNames()
    a = names.arrayify
    logdet_terms = []
    for term in sp.Add.make_args(der.result("coupling.logdet").value):
        body = _code(a(term.function if isinstance(term, sp.Sum) else term))
        logdet_terms.append(f"numpy.sum(numpy.broadcast_to({body}, x2.shape), axis=-1)"
                            if isinstance(term, sp.Sum) else body)
    return f'''def coupling_forward(x, F, G, s):
    """y = (y1, y2) of the block."""
    k = x.shape[-1] // 2
    x1, x2 = x[..., :k], x[..., k:]
    F_val, G_val = F(x2), G(x2)
    y1 = numpy.broadcast_to({_code(a(d["y1_definition"]))}, x1.shape)
    y2 = numpy.broadcast_to({_code(a(d["y2_definition"]))}, x2.shape)
    return numpy.concatenate([y1, y2], axis=-1)


def coupling_inverse(y, F, G, s):
    """x = (x1, x2) from y: first x2 from y2, then x1."""
    k = y.shape[-1] // 2
    y1, y2 = y[..., :k], y[..., k:]
    x2 = numpy.broadcast_to({_code(a(d["x2_solution"]))}, y2.shape)
    F_val, G_val = F(x2), G(x2)
    x1 = numpy.broadcast_to({_code(a(d["x1_solution"]))}, y1.shape)
    return numpy.concatenate([x1, x2], axis=-1)


def coupling_logdet(x, F, G, s):
    """log|det dy/dx|, a sum of logs (no product of exponentials)."""
    k = x.shape[-1] // 2
    x1, x2 = x[..., :k], x[..., k:]
    F_val, G_val = F(x2), G(x2)
    return {" + ".join(logdet_terms) or "0.0"}


'''


def _kl_code(kl) -> str:
    """kl_gaussian_standard: the KL of 2.3 in its stable form."""
    names = {kl.data["mu"]: sp.Symbol("mu"), kl.data["sigma"]: sp.Symbol("sigma")}  # the arguments below
    return f'''def kl_gaussian_standard(mu, sigma):
    """KL(N(mu, sigma^2) || prior) per dimension (seed 2.3), in its stable form (accurate near the prior)."""
    return {_code(kl.result("kl.stable").value.xreplace(names))}


'''


def _reparam_code(der) -> str:
    """reparam_gradient: the per-sample gradient of 2.4."""
    g_mu, g_sigma = (der.result(f"reparam.grad_{n}").value for n in ("mu", "sigma"))
    return f'''def reparam_gradient(mu, sigma, epsilon):
    """Per-sample reparameterisation gradient (d t/d mu, d t/d sigma) at z = mu + sigma epsilon (seed 2.4)."""
    return ({_code(g_mu)}) + 0 * epsilon, ({_code(g_sigma)}) + 0 * epsilon


'''


def _vfe_code(der) -> str:
    """free_energy_conjugate: the free energy of the conjugate model of 2.1."""
    c = der.data["conjugate"]
    return f'''def free_energy_conjugate(x, m, v, tau):
    """F(q) for p(z) = N(0, 1), p(x|z) = N(x; z, tau^2), q = N(m, v) (seed 2.1)."""
    return {_code(c["free_energy"])}
'''
