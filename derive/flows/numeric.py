"""Numeric code for each catalogue layer, printed from its derived results, and its cross-checks.

For a layer, :func:`layer_source` prints ``<name>_forward``, ``<name>_logdet``,
``<name>_forward_and_logdet`` and, where the inverse was derived,
``<name>_inverse`` as numpy code (:mod:`derive.flows.codegen`); the same text
goes into ``derive_numeric.py`` and is what :func:`cross_checks` runs.
Conventions: x has the layer's features on its last axis (any batch axes in
front); a coupling block splits them into halves x_1 = x[..., :k] and
x_2 = x[..., k:]; conditioners are callables on arrays of that shape.

The cross-checks compare, at d = 64 with random non-trivial parameters,
the printed functions with :mod:`derive.numeric.flow_reference` (hand-written
forward maps and log-determinants) and with ``slogdet`` of a finite-difference
Jacobian of the hand-written forward map.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..notation import Component
from .codegen import Printer, Unsupported
from .index import I, J, K, Prefix, R, S

PRELUDE = '''
def _softplus(z):
    return np.logaddexp(0.0, z)


def _logcosh(z):
    a = np.abs(z)
    return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)


def _batch(value, x, axes=1):
    """A log-determinant as one value per batch entry."""
    return np.broadcast_to(value, np.shape(x)[:np.ndim(x) - axes]).copy()
'''

softplus = sp.Function("softplus")
logcosh = sp.Function("logcosh")


def stable(expr):
    """log(1 + e^z) -> softplus(z); log|tanh(z)² - 1| -> -2 logcosh(z)."""
    def one_plus_exp(e):
        if isinstance(e, sp.Add) and len(e.args) == 2 and sp.S.One in e.args:
            other = [a for a in e.args if a != 1][0]
            return other.args[0] if isinstance(other, sp.exp) else None
        return None

    expr = expr.replace(lambda e: isinstance(e, sp.log) and one_plus_exp(e.args[0]) is not None,
                        lambda e: softplus(one_plus_exp(e.args[0])))

    def sech2(e):
        inner = e.args[0].args[0] if isinstance(e.args[0], sp.Abs) else e.args[0]
        for sign in (1, -1):
            rest = sp.expand(sign * inner)
            t = [a for a in rest.atoms(sp.tanh)]
            if len(t) == 1 and sp.expand(rest - (1 - t[0] ** 2)) == 0:
                return -2 * logcosh(t[0].args[0])
        return None

    return expr.replace(lambda e: isinstance(e, sp.log) and sech2(e) is not None, sech2)


def ident(obj) -> str:
    name = str(obj.label if isinstance(obj, sp.IndexedBase) else obj)
    return name.replace("^(", "_").replace("^", "").replace("(", "").replace(")", "").replace("-", "_")


def _printer(layer, inputs, scalar=None):
    names = {b: ident(b) for b in inputs}
    for p in layer.params:
        names[p.symbol] = ident(p.symbol)
    for c in layer.conditioners:
        names[c.symbol] = ident(c.symbol)
    size = "k" if len(layer.inputs) > 1 else "d"
    sizes = {layer.size: size}
    for p in layer.params:
        for pos, dim in enumerate(p.shape):
            if dim == layer.latent:
                sizes[dim] = f"{ident(p.symbol)}.shape[{pos}]"
    pr = Printer(names, sizes, scalar)
    pr.index_sizes = {I: layer.size, J: layer.size, K: layer.size}
    pr.index_sizes.update({R: layer.latent, S: layer.latent} if layer.latent is not None else {})
    pr.batched = set(inputs)
    return pr


def signature(layer) -> list:
    return [ident(p.symbol) for p in layer.params] + [ident(c.symbol) for c in layer.conditioners]


def _split(layer, arg: str, bases) -> list:
    if len(bases) == 1:
        rename = [f"    {ident(bases[0])} = {arg}"] if ident(bases[0]) != arg else []
        return rename + [f"    d = {arg}.shape[-1]"]
    return [f"    k = {arg}.shape[-1] // 2",
            f"    {ident(bases[0])}, {ident(bases[1])} = {arg}[..., :k], {arg}[..., k:]"]


def _join(parts: list) -> str:
    return parts[0] if len(parts) == 1 else f"np.concatenate([{', '.join(parts)}], axis=-1)"


def _calls(pr) -> list:
    """Each conditioner call the printer met, made once before the expression that uses it."""
    return [f"    {name} = {call}" for call, name in pr.hoisted.items()]


def forward_source(layer) -> str:
    pr = _printer(layer, layer.inputs)
    pr.hoisted = {}
    lines = _split(layer, "x", layer.inputs)
    outs = [pr.align(pr(eq), (I,), True) for eq in layer.equations]
    sig = ", ".join(["x"] + signature(layer))
    return "\n".join([f"def {ident(layer.name)}_forward({sig}):"] + lines + _calls(pr) + [f"    return {_join(outs)}"])


def logdet_source(layer, logdet) -> str:
    pr = _printer(layer, layer.inputs)
    pr.hoisted = {}
    lines = _split(layer, "x", layer.inputs)
    code = pr(stable(logdet))
    sig = ", ".join(["x"] + signature(layer))
    return "\n".join([f"def {ident(layer.name)}_logdet({sig}):"] + lines + _calls(pr)
                      + [f"    return _batch({code.text}, x)"])


def forward_and_logdet_source(layer, logdet) -> str:
    """The output and the log-determinant together, each conditioner called once for both."""
    pr = _printer(layer, layer.inputs)
    pr.hoisted = {}
    lines = _split(layer, "x", layer.inputs)
    outs = [pr.align(pr(eq), (I,), True) for eq in layer.equations]
    code = pr(stable(logdet))
    sig = ", ".join(["x"] + signature(layer))
    return "\n".join([f"def {ident(layer.name)}_forward_and_logdet({sig}):"] + lines + _calls(pr)
                      + [f"    return {_join(outs)}, _batch({code.text}, x)"])


def inverse_source(layer, solutions: dict, kind: str) -> str:
    sig = ", ".join(["y"] + signature(layer))
    head = [f"def {ident(layer.name)}_inverse({sig}):"] + _split(layer, "y", layer.outputs)
    body = []
    for b, sol in solutions.items():
        xb = ident(layer.inputs[b])
        if kind == "recursion" and (sol.has(layer.inputs[b]) or sol.has(Prefix)):
            pr = _printer(layer, layer.inputs + layer.outputs, scalar="t")
            body += [f"    {xb} = np.zeros_like({ident(layer.outputs[b])})",
                     f"    for t in {_loop(sol, xb)}:",
                     f"        {xb}[..., t] = {pr(sol).text}"]
        else:
            pr = _printer(layer, layer.inputs + layer.outputs)
            pr.hoisted = {}
            line = f"    {xb} = {pr.align(pr(sol), (I,), True)}"
            body += _calls(pr) + [line]
    outs = [ident(b) for b in layer.inputs]
    return "\n".join(head + body + [f"    return {_join(outs)}"])


def _loop(solution, xb: str) -> str:
    """The order of a recursion: upward when x_i needs x_k for k < i, downward for k > i."""
    down = any(lim[1] == I + 1 for s in solution.atoms(sp.Sum) for lim in s.limits)
    return f"reversed(range({xb}.shape[-1]))" if down else f"range({xb}.shape[-1])"


def layer_source(der) -> str:
    """The numpy functions of one derived layer."""
    layer = der.data["layer"]
    name = ident(layer.name)
    sig = ", ".join(signature(layer))
    parts = [forward_source(layer)]
    if der.data["logdet"] is None:  # no rule applied: there is no log-determinant to print
        return parts[0]
    parts.append(logdet_source(layer, der.data["logdet"]))
    if der.data["inverse_kind"] != "no closed form":
        parts.append(inverse_source(layer, der.data["inverse"], der.data["inverse_kind"]))
    parts.append(forward_and_logdet_source(layer, der.data["logdet"]))
    return "\n\n\n".join(parts)


def flow_source(der) -> str:
    """A stack's functions: the layers' functions in turn (and positions summed for a repeated stack)."""
    flow = der.data["flow"]
    name = ident(flow.name)
    args = list(dict.fromkeys(a for layer in flow.layers for a in signature(layer)))
    sig = ", ".join(["x"] + args)
    calls = [(ident(layer.name), ", ".join(signature(layer))) for layer in flow.layers]
    fwd = [f"def {name}_forward({sig}):", "    h = x"] + [f"    h = {n}_forward(h{', ' if a else ''}{a})"
                                                       for n, a in calls] + ["    return h"]
    axes = "3" if flow.positions is not None else "1"
    ld = [f"def {name}_logdet({sig}):", "    h, total = x, 0.0"]
    needs = [_depends_on_input(d) for d in der.data["layers"]]
    last = max([l for l, need in enumerate(needs) if need], default=-1)
    for l, (n, a) in enumerate(calls):
        ld.append(f"    total = total + {n}_logdet(h{', ' if a else ''}{a})")
        if l < last:  # later layers' log-determinants need this layer's output
            ld.append(f"    h = {n}_forward(h{', ' if a else ''}{a})")
    ld.append("    return _batch(total.sum(axis=(-2, -1)) if np.ndim(total) > np.ndim(x) - 3 else total, x, 3)"
              if axes == "3" else "    return _batch(total, x)")
    if der.data["logdet"] is None:  # a layer without a derived log-determinant
        return "\n".join(fwd)
    out = ["\n".join(fwd), "\n".join(ld)]
    if all(d.data["inverse_kind"] != "no closed form" for d in der.data["layers"]):
        inv = [f"def {name}_inverse(y, {', '.join(args)}):", "    h = y"]
        inv += [f"    h = {n}_inverse(h{', ' if a else ''}{a})" for n, a in reversed(calls)] + ["    return h"]
        out.append("\n".join(inv))
    out.append(f"def {name}_forward_and_logdet({sig}):\n    return {name}_forward({sig}), {name}_logdet({sig})")
    return "\n\n\n".join(out)


def _depends_on_input(der) -> bool:
    layer = der.data["layer"]
    return der.data["logdet"].has(*layer.inputs, Component, Prefix)


def namespace(sources: list) -> dict:
    """The printed functions, executed (the same text ``derive_numeric.py`` holds)."""
    ns = {"np": np}
    exec(compile(PRELUDE + "\n\n" + "\n\n\n".join(sources), "<derive_numeric>", "exec"), ns)  # noqa: S102 - our own printed code
    return ns
