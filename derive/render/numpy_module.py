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


class Lib:
    """The array library of the sheet's functions: its module name and the few calls that differ."""

    def __init__(self, name: str, printer, axis: str, cat: str, const: str):
        self.name, self.printer, self.axis, self.cat, self.const = name, printer, axis, cat, const

    def code(self, expr) -> str:
        return self.printer.doprint(expr)


NUMPY = Lib("numpy", NumPyPrinter({"fully_qualified_modules": True}), "axis", "concatenate",
            "numpy.asarray({}, x2.dtype)")


def _code(expr) -> str:
    return NUMPY.code(expr)


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
    pairs = [d for d in derivations if "pair" in d.data]
    if pairs:
        from ..divergence.code import numpy_section

        parts.append(numpy_section(pairs))
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


def _logdet_code(logdet, batch: set, lib: Lib) -> str:
    """The log-det's terms summed over the block: a term of the batch over x2's shape, a term of the
    parameters alone over one row (then the same for every row)."""
    m, rows, params = lib.name, [], []
    for term in sp.Add.make_args(logdet):
        body = term.function if isinstance(term, sp.Sum) else term
        on_batch = bool(body.free_symbols & batch)
        shape = "x2.shape" if on_batch else "x2.shape[-1:]"
        text = (f"{m}.sum({m}.broadcast_to({lib.const.format(lib.code(body))}, {shape}), {lib.axis}=-1)"
                if isinstance(term, sp.Sum) else lib.code(body))
        (rows if on_batch else params).append(text)
    total = " + ".join(rows + params)
    return total if rows else f"{m}.broadcast_to({lib.const.format(total or '0.0')}, x2.shape[:-1])"


def _calls(names, *exprs) -> str:
    """The conditioner calls the expressions use, each made once (a log-det without F never calls F)."""
    used = set().union(*(e.free_symbols for e in exprs))
    calls = [f"{v} = {fn}(x2)" for v, fn in ((names.F, "F"), (names.G, "G")) if v in used]
    return "".join(f"    {c}\n" for c in calls)


def _coupling_code(der, lib: Lib = NUMPY) -> str:
    """coupling_forward, coupling_inverse, coupling_logdet and the fused forward_and_logdet and
    inverse_and_logdet, element-wise over a batch; each calls F and G only where its formulas use them."""
    from ..numeric.coupling import SYMBOLS, ArrayNames

    d, m, c = der.data, lib.name, lib.code
    names = ArrayNames()
    a = names.arrayify
    logdet = a(der.result("coupling.logdet").value)
    ld = _logdet_code(logdet, set(names.args) - {names.by_base[SYMBOLS.s]}, lib)
    logdet = logdet.replace(lambda e: isinstance(e, sp.Sum), lambda e: e.function)
    y1, y2, x1, x2 = (a(d[n]) for n in ("y1_definition", "y2_definition", "x1_solution", "x2_solution"))
    split_x = "    k = x.shape[-1] // 2\n    x1, x2 = x[..., :k], x[..., k:]\n"
    split_y = "    k = y.shape[-1] // 2\n    y1, y2 = y[..., :k], y[..., k:]\n"
    forward = (f"    y1 = {m}.broadcast_to({c(y1)}, x1.shape)\n"
               f"    y2 = {m}.broadcast_to({c(y2)}, x2.shape)\n")
    inverse = (f"    x2 = {m}.broadcast_to({c(x2)}, y2.shape)\n" + _calls(names, x1, logdet)
               + f"    x1 = {m}.broadcast_to({c(x1)}, y1.shape)\n")
    join = f"{m}.{lib.cat}([{{}}, {{}}], {lib.axis}=-1)"
    return f'''def coupling_forward(x, F, G, s):
    """y = (y1, y2) of the block."""
{split_x}{_calls(names, y1, y2)}{forward}    return {join.format("y1", "y2")}


def coupling_inverse(y, F, G, s):
    """x = (x1, x2) from y: first x2 from y2, then x1."""
{split_y}{inverse}    return {join.format("x1", "x2")}


def coupling_logdet(x, F, G, s):
    """log|det dy/dx|, a sum of logs (no product of exponentials); calls only the conditioners it uses."""
{split_x}{_calls(names, logdet)}    return {ld}


def coupling_forward_and_logdet(x, F, G, s):
    """(y, log|det dy/dx|), each conditioner called once for both."""
{split_x}{_calls(names, y1, y2, logdet)}{forward}    return {join.format("y1", "y2")}, {ld}


def coupling_inverse_and_logdet(y, F, G, s):
    """(x, log|det dx/dy|) = (x, -log|det dy/dx| at that x), each conditioner called once for both."""
{split_y}{inverse}    return {join.format("x1", "x2")}, -({ld})


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
