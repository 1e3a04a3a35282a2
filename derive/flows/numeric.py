"""Numeric code for each catalogue layer, printed from its derived results, and its cross-checks.

For a layer, :func:`layer_source` prints ``<name>_forward``, ``<name>_logdet``,
``<name>_forward_and_logdet`` and, where the inverse was derived,
``<name>_inverse`` as numpy code (:mod:`derive.flows.codegen`); the same text
goes into ``derive_numeric.py`` and is what :func:`cross_checks` runs.
Conventions: x has the layer's features on its last axis (any batch axes in
front); a coupling block splits them into halves x_1 = x[..., :k] and
x_2 = x[..., k:]; conditioners are callables on arrays of that shape.

Speed: each expression that occurs more than once in a function is computed
once (:meth:`Printer.print_all`); a layer that is affine in its input (no
entry of its derived Jacobian involves the input) and multiplies by a d×d
parameter matrix is evaluated, on batches with more rows than features,
through its matrix: the printed map at 0 and at the unit vectors gives the
offset and the matrix, then one matrix product (``_affine``).  A stack applies
a run of affine layers the same way, as one product, and evaluates a
log-determinant of the parameters alone once rather than per row.

The cross-checks compare, at d = 64 with random non-trivial parameters,
the printed functions with :mod:`derive.numeric.flow_reference` (hand-written
forward maps and log-determinants) and with ``slogdet`` of a finite-difference
Jacobian of the hand-written forward map.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..notation import Component
from .codegen import Numpy, Printer, Torch, Unsupported
from .index import I, J, K, Prefix, R, S

PRELUDE = '''
def _softplus(z):
    return np.logaddexp(0.0, z)


def _logcosh(z):
    a = np.abs(z)
    return a + np.log1p(np.exp(-2.0 * a)) - 0.6931471805599453


def _batch(value, x, axes=1):
    """A log-determinant as one value per batch entry, in x's floating dtype."""
    value = np.asarray(value)
    if value.dtype.kind != "f":
        value = value.astype(x.dtype if x.dtype.kind == "f" else float)
    return np.broadcast_to(value, np.shape(x)[:np.ndim(x) - axes]).copy()


def _positions(total, x):
    """A log-determinant summed over the H·W positions of an image (axes -3, -2 of x)."""
    return _batch(total.sum(axis=(-2, -1)) if np.ndim(total) > np.ndim(x) - 3 else total, x, 3)


def _row(x):
    """A row of zeros shaped like one row of x: what a log-determinant of the parameters alone is given
    (one value, which adds to every row of the batch)."""
    return np.zeros(np.shape(x)[-1], np.asarray(x).dtype)


def _affine(f, x):
    """f(x) for a map f that is affine in x, as one matrix product when x has more rows than features:
    f at 0 gives the offset, f at the d unit vectors the matrix (d + 1 evaluations of f itself)."""
    d = x.shape[-1]
    if np.size(x) <= d * d:
        return f(x)
    dtype = x.dtype if x.dtype.kind == "f" else float
    offset = f(np.zeros((1, d), dtype))
    out = x @ (f(np.eye(d, dtype=dtype)) - offset)
    return out + offset if np.any(offset) else out
'''

TORCH_PRELUDE = '''
def _softplus(z):
    return torch.logaddexp(torch.zeros_like(z), z)


def _logcosh(z):
    a = torch.abs(z)
    return a + torch.log1p(torch.exp(-2.0 * a)) - 0.6931471805599453


def _batch(value, x, axes=1):
    """A log-determinant as one value per batch entry, in x's dtype and on x's device."""
    value = torch.as_tensor(value, dtype=x.dtype, device=x.device)
    return torch.broadcast_to(value, x.shape[:x.dim() - axes]).clone()


def _positions(total, x):
    """A log-determinant summed over the H·W positions of an image (axes -3, -2 of x)."""
    total = torch.as_tensor(total, dtype=x.dtype, device=x.device)
    return _batch(total.sum(dim=(-2, -1)) if total.dim() > x.dim() - 3 else total, x, 3)


def _row(x):
    """A row of zeros shaped like one row of x: what a log-determinant of the parameters alone is given."""
    return torch.zeros(x.shape[-1], dtype=x.dtype, device=x.device)


def _affine(f, x):
    """f(x) for a map f that is affine in x, as one matrix product when x has more rows than features:
    f at 0 gives the offset, f at the d unit vectors the matrix (d + 1 evaluations of f itself)."""
    d = x.shape[-1]
    if x.numel() <= d * d:
        return f(x)
    offset = f(torch.zeros(1, d, dtype=x.dtype, device=x.device))
    return x @ (f(torch.eye(d, dtype=x.dtype, device=x.device)) - offset) + offset
'''


class Target:
    """What the printed code is for: the array library, its helpers, and the few statements that differ."""

    def __init__(self, name, lib, prelude, cat, zeros_like, copy_before_write):
        self.name, self.lib, self.prelude, self.cat = name, lib, prelude, cat
        self.zeros_like, self.copy_before_write = zeros_like, copy_before_write

    def join(self, parts: list) -> str:
        return parts[0] if len(parts) == 1 else self.cat.format(", ".join(parts))


NUMPY = Target("numpy", Numpy, PRELUDE, "np.concatenate([{}], axis=-1)", "np.zeros_like", False)
#: autograd keeps the tensors a step read: a recursion writes each component into a copy
TORCH = Target("torch", Torch, TORCH_PRELUDE, "torch.cat([{}], dim=-1)", "torch.zeros_like", True)


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


def _printer(layer, inputs, scalar=None, target=NUMPY, like="x"):
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
    pr = Printer(names, sizes, scalar, target.lib(like))
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


def _calls(pr, known=()) -> list:
    """Each conditioner call (and repeated expression) the printer met, made once before the expression
    that uses it; those in ``known`` were made earlier in the function."""
    return [f"    {name} = {call}" for call, name in pr.hoisted.items() if call not in known]


def _head(layer, fn: str, arg: str, bases) -> list:
    return [f"def {fn}({', '.join([arg] + signature(layer))}):"] + _split(layer, arg, bases)


def forward_source(layer, name=None, target=NUMPY) -> str:
    pr = _printer(layer, layer.inputs, target=target)
    outs = [pr.align(c, (I,), True) for c in pr.print_all(list(layer.equations))]
    return "\n".join(_head(layer, name or ident(layer.name) + "_forward", "x", layer.inputs) + _calls(pr)
                     + [f"    return {target.join(outs)}"])


def logdet_source(layer, logdet, target=NUMPY) -> str:
    pr = _printer(layer, layer.inputs, target=target)
    (code,) = pr.print_all([stable(logdet)])
    return "\n".join(_head(layer, ident(layer.name) + "_logdet", "x", layer.inputs) + _calls(pr)
                     + [f"    return _batch({code.text}, x)"])


def forward_and_logdet_source(layer, logdet, target=NUMPY) -> str:
    """The output and the log-determinant together, each conditioner called once for both."""
    pr = _printer(layer, layer.inputs, target=target)
    *outs, code = pr.print_all(list(layer.equations) + [stable(logdet)])
    outs = [pr.align(c, (I,), True) for c in outs]
    return "\n".join(_head(layer, ident(layer.name) + "_forward_and_logdet", "x", layer.inputs) + _calls(pr)
                     + [f"    return {target.join(outs)}, _batch({code.text}, x)"])


def _inverse_body(layer, solutions: dict, kind: str, target) -> tuple:
    """The statements that compute each input block from y, and the conditioner calls they made."""
    body, known = [], {}
    for b, sol in solutions.items():
        xb = ident(layer.inputs[b])
        if kind == "recursion" and (sol.has(layer.inputs[b]) or sol.has(Prefix)):
            pr = _printer(layer, layer.inputs + layer.outputs, scalar="t", target=target, like="y")
            step = ([f"        _v = {pr(sol).text}", f"        {xb} = {xb}.clone()", f"        {xb}[..., t] = _v"]
                    if target.copy_before_write else [f"        {xb}[..., t] = {pr(sol).text}"])
            body += [f"    {xb} = {target.zeros_like}({ident(layer.outputs[b])})",
                     f"    for t in {_loop(sol, xb)}:"] + step
        else:
            pr = _printer(layer, layer.inputs + layer.outputs, target=target, like="y")
            (code,) = pr.print_all([sol], known)
            body += _calls(pr, known) + [f"    {xb} = {pr.align(code, (I,), True)}"]
            known = dict(pr.hoisted)
    return body, known


def inverse_source(layer, solutions: dict, kind: str, name=None, target=NUMPY) -> str:
    head = _head(layer, name or ident(layer.name) + "_inverse", "y", layer.outputs)
    body, _ = _inverse_body(layer, solutions, kind, target)
    return "\n".join(head + body + [f"    return {target.join([ident(b) for b in layer.inputs])}"])


def inverse_and_logdet_source(layer, solutions: dict, kind: str, logdet, target=NUMPY) -> str:
    """x from y and log|det ∂x/∂y| = −log|det ∂y/∂x| at that x, each conditioner called once for both."""
    head = _head(layer, ident(layer.name) + "_inverse_and_logdet", "y", layer.outputs)
    body, known = _inverse_body(layer, solutions, kind, target)
    pr = _printer(layer, layer.inputs, target=target)
    (code,) = pr.print_all([stable(logdet)], known)
    x = target.join([ident(b) for b in layer.inputs])
    return "\n".join(head + body + _calls(pr, known) + [f"    return {x}, -_batch({code.text}, y)"])


def _loop(solution, xb: str) -> str:
    """The order of a recursion: upward when x_i needs x_k for k < i, downward for k > i."""
    down = any(lim[1] == I + 1 for s in solution.atoms(sp.Sum) for lim in s.limits)
    return f"reversed(range({xb}.shape[-1]))" if down else f"range({xb}.shape[-1])"


def affine(der) -> bool:
    """Whether the layer's map is affine in its input: no conditioner, and no entry of its derived Jacobian
    involves the input."""
    layer = der.data.get("layer")
    return (layer is not None and not layer.conditioners
            and all(not e.has(*layer.inputs, Component, Prefix) for e in der.data["entries"].values()))


def by_matrix(der) -> bool:
    """An affine layer whose direct evaluation already multiplies by a d×d parameter matrix: evaluated
    through its matrix (one product, :func:`_affine`) it does no more work and skips the rest."""
    return affine(der) and any(len(p.shape) == 2 for p in der.data["layer"].params)


def layer_source(der, target=NUMPY) -> str:
    """The functions of one derived layer, printed for numpy (or torch)."""
    layer, data = der.data["layer"], der.data
    name, sig = ident(layer.name), ", ".join(signature(layer))
    matrix = by_matrix(der)
    parts = [forward_source(layer, f"_{name}_forward" if matrix else None, target)]
    if matrix:
        parts.append(_through_matrix(f"{name}_forward", "x", sig))
    if data["logdet"] is None:  # no rule applied: there is no log-determinant to print
        return "\n\n\n".join(parts)
    parts.append(logdet_source(layer, data["logdet"], target))
    inverse = data["inverse_kind"] != "no closed form"
    if inverse:
        parts.append(inverse_source(layer, data["inverse"], data["inverse_kind"],
                                    f"_{name}_inverse" if matrix else None, target))
        if matrix:
            parts.append(_through_matrix(f"{name}_inverse", "y", sig))
    if matrix:
        parts.append(f"def {name}_forward_and_logdet(x, {sig}):\n"
                     f"    return {name}_forward(x, {sig}), {name}_logdet(x, {sig})")
        if inverse:
            parts.append(f"def {name}_inverse_and_logdet(y, {sig}):\n"
                         f"    return {name}_inverse(y, {sig}), -{name}_logdet(y, {sig})")
    else:
        parts.append(forward_and_logdet_source(layer, data["logdet"], target))
        if inverse:
            parts.append(inverse_and_logdet_source(layer, data["inverse"], data["inverse_kind"], data["logdet"],
                                                   target))
    return "\n\n\n".join(parts)


def _through_matrix(fn: str, arg: str, sig: str) -> str:
    return f"def {fn}({arg}, {sig}):\n    return _affine(lambda h: _{fn}(h, {sig}), {arg})"


def _call(name: str, args: str, on: str, what: str) -> str:
    return f"{name}_{what}({on}{', ' if args else ''}{args})"


def _segments(der) -> list:
    """The flow's layers in runs: a run of two or more affine layers, one of them through a matrix, is
    applied as one affine map (one matrix product); every other layer on its own."""
    flags = [(affine(d), by_matrix(d)) for d in der.data["layers"]]
    runs, l = [], 0
    while l < len(flags):
        end = l
        while end < len(flags) and flags[end][0]:
            end += 1
        if end - l >= 2 and any(m for _, m in flags[l:end]):
            runs.append(list(range(l, end)))
            l = end
        else:
            runs.append([l])
            l += 1
    return runs


def _apply(calls, run, what: str, on: str = "h") -> str:
    """The layers of ``run`` applied in turn (forward, or inverse in reverse order), as one expression."""
    order = run if what == "forward" else list(reversed(run))
    text = "z" if len(run) > 1 else on
    for l in order:
        text = _call(*calls[l], text, what)
    return f"_affine(lambda z: {text}, {on})" if len(run) > 1 else text


def flow_source(der, target=NUMPY) -> str:
    """A stack's functions: the layers' functions in turn (and positions summed for a repeated stack)."""
    flow = der.data["flow"]
    name = ident(flow.name)
    args = list(dict.fromkeys(a for layer in flow.layers for a in signature(layer)))
    sig = ", ".join(["x"] + args)
    calls = [(ident(layer.name), ", ".join(signature(layer))) for layer in flow.layers]
    runs = _segments(der)
    fwd = [f"def {name}_forward({sig}):", "    h = x"] + [f"    h = {_apply(calls, r, 'forward')}" for r in runs]
    fwd.append("    return h")
    if der.data["logdet"] is None:  # a layer without a derived log-determinant
        return "\n".join(fwd)
    out = ["\n".join(fwd), "\n".join(_flow_logdet(der, name, sig, calls, runs))]
    if all(d.data["inverse_kind"] != "no closed form" for d in der.data["layers"]):
        inv = [f"def {name}_inverse(y, {', '.join(args)}):", "    h = y"]
        inv += [f"    h = {_apply(calls, r, 'inverse')}" for r in reversed(runs)] + ["    return h"]
        out.append("\n".join(inv))
        out.append(f"def {name}_inverse_and_logdet(y, {', '.join(args)}):\n"
                   f"    x = {name}_inverse(y, {', '.join(args)})\n"
                   f"    return x, -{name}_logdet({sig})")
    out.append("\n".join(_flow_logdet(der, name, sig, calls, runs, with_output=True)))
    return "\n\n\n".join(out)


def _flow_logdet(der, name, sig, calls, runs, with_output=False) -> list:
    """The stack's log-determinant (and with ``with_output`` its output too, each layer applied once):
    each layer's log-determinant at its input, which is the previous layers' output."""
    flow = der.data["flow"]
    fn = f"{name}_forward_and_logdet" if with_output else f"{name}_logdet"
    needs = [_depends_on_input(d) for d in der.data["layers"]]
    last = max([l for l, need in enumerate(needs) if need], default=-1)
    out = [f"def {fn}({sig}):", "    h, total = x, 0.0"]
    for run in runs:
        if with_output and len(run) == 1:  # the layer's own fused call: each conditioner once
            out += [f"    h, part = {_call(*calls[run[0]], 'h', 'forward_and_logdet')}", "    total = total + part"]
            continue
        out += [f"    total = total + {_call(*calls[l], _on(der, l), 'logdet')}" for l in run]
        if with_output or run[0] < last:  # later layers' log-determinants need this run's output
            out.append(f"    h = {_apply(calls, run, 'forward')}")
    total = "_positions(total, x)" if flow.positions is not None else "_batch(total, x)"
    out.append(f"    return h, {total}" if with_output else f"    return {total}")
    return out


def _on(der, l: int) -> str:
    """What layer l's log-determinant is evaluated at: the batch, or one row of zeros when it depends on the
    parameters alone (not for a map repeated over positions, whose log-det counts every position)."""
    return "h" if der.data["flow"].positions is not None or _depends_on_input(der.data["layers"][l]) else "_row(h)"


def _depends_on_input(der) -> bool:
    layer = der.data["layer"]
    return der.data["logdet"].has(*layer.inputs, Component, Prefix)


def sources(der, target=NUMPY) -> list:
    """The printed functions of a layer, or of a stack's layers and the stack."""
    if "flow" in der.data:
        return [layer_source(d, target) for d in der.data["layers"]] + [flow_source(der, target)]
    return [layer_source(der, target)]


def namespace(sources: list, target=NUMPY) -> dict:
    """The printed functions, executed (the same text ``derive_numeric.py`` or ``derive_torch.py`` holds)."""
    if target is TORCH:
        import torch

        ns = {"torch": torch}
    else:
        ns = {"np": np}
    exec(compile(target.prelude + "\n\n" + "\n\n\n".join(sources), f"<derive_{target.name}>", "exec"), ns)  # noqa: S102 - our own printed code
    return ns
