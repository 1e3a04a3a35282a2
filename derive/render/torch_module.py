"""The standalone PyTorch module of the derived formulas (``derive_torch.py``).

The same derived expressions as ``derive_numeric.py``, printed for torch: the
sheet's functions by SymPy's torch printer, the flow layers' by the index-form
printer with its torch library (:class:`derive.flows.codegen.Torch`).  Every
array the code makes takes the dtype and device of its input, so the functions
run in float32 or float64, on the CPU or a GPU, and autograd differentiates
them.  Each layer also gets a ``torch.nn.Module``: its parameters become
``nn.Parameter``s, its conditioners are modules (or any callables), ``forward``
returns ``(y, log|det ∂y/∂x|)`` and ``inverse`` (where derived) returns
``(x, log|det ∂x/∂y|)``.  The module imports torch only.
"""
from __future__ import annotations

import sympy as sp

from .numpy_module import Lib, _coupling_code
from .torch_printer import Printer

HEADER = '''"""PyTorch functions and modules derived and verified by derive (generated file: do not edit).

Coupling block (seed's equation (1)), vectors along the last axis, batch axes in front:
F and G are callables (e.g. torch.nn.Module) mapping x2 (..., k) to (..., k); s is a tensor of k scales.
Every tensor made here follows the dtype and device of the input.
"""
import torch


'''



TORCH = Lib("torch", Printer(), "dim", "cat", "torch.as_tensor({}, dtype=x2.dtype, device=x2.device)")


def render_module(derivations) -> str:
    by = {d.name: d for d in derivations}
    parts = [HEADER]
    if "coupling" in by:
        parts.append(_coupling_code(by["coupling"], TORCH))
    if "kl" in by:
        parts.append(_kl_code(by["kl"]))
    if "reparam" in by:
        parts.append(_reparam_code(by["reparam"]))
    layers = [d for d in derivations if "logdet" in d.data and ("layer" in d.data or "flow" in d.data)]
    if layers:
        parts.append(_layers_code(layers))
    pairs = [d for d in derivations if "pair" in d.data]
    if pairs:
        from ..divergence.code import torch_section

        parts.append(torch_section(pairs))
    return "".join(parts)


def _kl_code(kl) -> str:
    names = {kl.data["mu"]: sp.Symbol("mu"), kl.data["sigma"]: sp.Symbol("sigma")}
    return f'''def kl_gaussian_standard(mu, sigma):
    """KL(N(mu, sigma^2) || prior) per dimension (seed 2.3), in its stable form (accurate near the prior)."""
    return {TORCH.code(kl.result("kl.stable").value.xreplace(names))}


'''


def _reparam_code(der) -> str:
    g_mu, g_sigma = (der.result(f"reparam.grad_{n}").value for n in ("mu", "sigma"))
    return f'''def reparam_gradient(mu, sigma, epsilon):
    """Per-sample reparameterisation gradient (d t/d mu, d t/d sigma) at z = mu + sigma epsilon (seed 2.4)."""
    return ({TORCH.code(g_mu)}) + 0 * epsilon, ({TORCH.code(g_sigma)}) + 0 * epsilon


'''


LAYERS_HEADER = '''
# ---- flow layers -------------------------------------------------------------------------------------------
# <layer>_forward(x, ...), <layer>_logdet(x, ...), <layer>_forward_and_logdet(x, ...) and, where derived,
# <layer>_inverse(y, ...) and <layer>_inverse_and_logdet(y, ...), as in derive_numeric.py; then one
# torch.nn.Module per layer and stack.
'''


def _layers_code(derivations) -> str:
    from ..flows.numeric import TORCH as TARGET
    from ..flows.numeric import sources

    blocks = dict.fromkeys(src for der in derivations for src in sources(der, TARGET))
    modules = dict.fromkeys(module_source(der) for der in derivations)
    return (LAYERS_HEADER + TARGET.prelude + "\n\n" + "\n\n\n".join(blocks) + "\n\n\n"
            + "\n\n\n".join(modules) + "\n")


def class_name(name: str) -> str:
    from ..flows.numeric import ident

    return "".join(part[:1].upper() + part[1:] for part in ident(name).split("_") if part)


def module_source(der) -> str:
    """An ``nn.Module`` for one layer or stack: parameters registered, conditioners held, fused calls."""
    from ..flows.numeric import ident, signature

    items = [d.data["layer"] for d in der.data["layers"]] if "flow" in der.data else [der.data["layer"]]
    params = list(dict.fromkeys(ident(p.symbol) for layer in items for p in layer.params))
    nets = list(dict.fromkeys(ident(c.symbol) for layer in items for c in layer.conditioners))
    args = list(dict.fromkeys(a for layer in items for a in signature(layer)))
    name, title = ident(der.name), der.title
    lines = [f"class {class_name(der.name)}(torch.nn.Module):",
             f'    """{title}: forward(x) -> (y, log|det dy/dx|)'
             + ('; inverse(y) -> (x, log|det dx/dy|)' if _has_inverse(der) else '') + '."""',
             "",
             f"    def __init__(self{''.join(', ' + a for a in params + nets)}):",
             "        super().__init__()"]
    lines += [f"        self.{p} = torch.nn.Parameter(torch.as_tensor({p}))" for p in params]
    lines += [f"        self.{n} = {n}" for n in nets]
    call = ", ".join(f"self.{a}" for a in args)
    lines += ["", "    def forward(self, x):", f"        return {name}_forward_and_logdet(x, {call})"]
    if _has_inverse(der):
        lines += ["", "    def inverse(self, y):", f"        return {name}_inverse_and_logdet(y, {call})"]
    return "\n".join(lines)


def _has_inverse(der) -> bool:
    layers = der.data["layers"] if "flow" in der.data else [der]
    return all(d.data["inverse_kind"] != "no closed form" for d in layers)
