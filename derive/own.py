"""Your own flow layer as SymPy expressions, for :func:`derive.layer`: the vocabulary of the layer files
(``examples/*.toml``) as Python objects.

>>> import sympy
>>> import derive
>>> from derive import own
>>> x, u, w, b = own.vector("x"), own.vector("u"), own.vector("w"), own.scalar("b")
>>> d = derive.layer({"y": x + u * sympy.tanh(own.dot(w, x) + b)}, inputs=x, name="my-planar")
>>> d.all_verified, d.all_checks_pass
(True, True)

A vector stands for its component i (``x`` is x_i); a scalar is the same in every component; ``dot``,
``sum``, ``mean``, ``norm`` reduce vectors to a scalar and ``matvec(W, v)`` multiplies by a matrix
parameter.  Networks: ``F = own.coupling("F")``, written ``F(x2)`` in the equations of two halves
(``inputs=(x1, x2)``, keys ``y1`` and ``y2``), and ``mu = own.autoregressive("mu")``, written ``mu(x)``.
Functions: exp, log, sin, cos, tanh, sqrt, Abs and powers with a number as exponent; numbers and the
constants pi and E.

The expressions are not evaluated or turned into strings by you: they are read node by node, and anything
outside this vocabulary is refused (:class:`derive.InputError`, one line).  They are then written in the
layer files' notation and read by the same whitelist reader, so that a layer given here and the same layer
given as a file are derived, limited and checked alike (and cross-checked against the same numpy reference,
which reads that notation again without SymPy).
"""
from __future__ import annotations

import math

import sympy as sp

from .errors import InputError
from .flows.index import I


def vector(name: str, positive: bool = False):
    """A vector (an input, or a parameter of the layer): its component i."""
    return sp.IndexedBase(name, real=True, positive=positive or None)[I]


def scalar(name: str, positive: bool = False):
    """A scalar parameter."""
    return sp.Symbol(name, positive=True) if positive else sp.Symbol(name, real=True)


def matrix(name: str):
    """A d×d matrix parameter, used as ``matvec(W, v)``."""
    return sp.IndexedBase(name, real=True)


class _Reduction(sp.Function):
    """A reduction of the layer vocabulary, kept unevaluated until the layer is read."""


class dot(_Reduction):
    nargs = 2


class sum(_Reduction):  # noqa: A001 - the layer files' name
    nargs = 1


class mean(_Reduction):
    nargs = 1


class norm(_Reduction):
    nargs = 1


class matvec(_Reduction):
    nargs = 2


class _Network(sp.Function):
    kind = ""


def coupling(name: str):
    """A network of the second half x2 (of size k), written ``F(x2)``."""
    return type(name, (_Network,), {"nargs": 1, "kind": "coupling"})


def autoregressive(name: str):
    """A network whose component i sees x_1..x_(i-1), written ``mu(x)``."""
    return type(name, (_Network,), {"nargs": 1, "kind": "autoregressive"})


_FUNCTIONS = {sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos", sp.tanh: "tanh", sp.Abs: "abs"}
_CONSTANTS = {sp.pi: "pi", sp.E: "e"}
MAX_NODES = 2000


class _Writer:
    """A layer's SymPy expressions in the layer files' notation; collects the parameters and networks met."""

    def __init__(self, inputs: dict):
        self.inputs = inputs   # user's IndexedBase -> "x" | "x1" | "x2"
        self.parameters, self.networks, self.nodes = {}, {}, 0

    def _name(self, obj, kind: str) -> str:
        name = str(obj)
        known = self.parameters.get(name)
        if known is not None and known != kind:
            raise InputError(f"derive.layer: {name!r} is used both as a {known} and as a {kind}")
        self.parameters[name] = kind
        return name

    def __call__(self, e) -> str:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise InputError(f"derive.layer: the equations have more than {MAX_NODES} parts")
        if isinstance(e, int) and not isinstance(e, bool):
            e = sp.Integer(e)
        elif isinstance(e, float):
            e = sp.Float(e)
        if not isinstance(e, sp.Basic):
            raise InputError(f"derive.layer: {type(e).__name__} is not a SymPy expression")
        for kind, write in ((sp.Number, self._number), (sp.Symbol, self._symbol), (sp.Indexed, self._indexed),
                            (sp.Add, self._add), (sp.Mul, self._mul), (sp.Pow, self._pow),
                            (_Reduction, self._reduction), (_Network, self._network)):
            if isinstance(e, kind):
                return write(e)
        if e in _CONSTANTS:
            return _CONSTANTS[e]
        if type(e) in _FUNCTIONS:
            return f"{_FUNCTIONS[type(e)]}({self(e.args[0])})"
        if isinstance(e, sp.IndexedBase):
            raise InputError(f"derive.layer: the matrix {e} can only be used as own.matvec({e}, v)")
        raise InputError(f"derive.layer: {type(e).__name__} ({_short(e)}) is not supported; the layers take "
                         "exp, log, sin, cos, tanh, sqrt, Abs, powers, own.dot/sum/mean/norm/matvec and networks")

    def _number(self, e) -> str:
        if e.is_Integer:
            return str(int(e))
        if e.is_Rational:
            return f"({e.p}/{e.q})"
        if e.is_Float and math.isfinite(float(e)):
            return repr(float(e))
        raise InputError(f"derive.layer: the number {_short(e)} is not finite")

    def _symbol(self, e) -> str:
        return self._name(e, "positive scalar" if e.is_positive else "scalar")

    def _indexed(self, e) -> str:
        if e.indices != (I,):
            raise InputError(f"derive.layer: {_short(e)}: make vectors with own.vector(name)")
        if e.base in self.inputs:
            return self.inputs[e.base]
        return self._name(e.base.label, "positive vector" if e.base.label.is_positive else "vector")

    def _add(self, e) -> str:
        return "(" + " + ".join(self(a) for a in e.args) + ")"

    def _mul(self, e) -> str:
        return "(" + "*".join(self(a) for a in e.args) + ")"

    def _pow(self, e) -> str:
        if not e.exp.is_number:
            raise InputError(f"derive.layer: {_short(e)}: exponents must be numbers")
        return f"({self(e.base)})**({self(e.exp)})"

    def _reduction(self, e) -> str:
        name = type(e).__name__
        if name == "matvec":
            W = e.args[0]
            if not isinstance(W, sp.IndexedBase):
                raise InputError("derive.layer: the first argument of matvec must be own.matrix(name)")
            return f"matvec({self._name(W.label, 'matrix')}, {self(e.args[1])})"
        return f"{name}({', '.join(self(a) for a in e.args)})"

    def _network(self, e) -> str:
        name = type(e).__name__
        if self.networks.get(name, e.kind) != e.kind:
            raise InputError(f"derive.layer: two networks are named {name!r}")
        self.networks[name] = e.kind
        return f"{name}({self(e.args[0])})"


def _short(e) -> str:
    text = str(e)
    return text if len(text) <= 40 else text[:37] + "..."


def _inputs(inputs) -> dict:
    items = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
    if len(items) not in (1, 2) or not all(isinstance(v, sp.Indexed) and v.indices == (I,) for v in items):
        raise InputError("derive.layer: inputs must be one vector x, or two halves (x1, x2), made with own.vector")
    return {v.base: name for v, name in zip(items, ("x",) if len(items) == 1 else ("x1", "x2"))}


def table(equations, inputs, *, name: str = "mine", dim: int | None = None) -> dict:
    """The layer file's table for a layer given as SymPy expressions (what :func:`derive.layer` reads)."""
    bases = _inputs(inputs)
    keys = ("y",) if len(bases) == 1 else ("y1", "y2")
    if not isinstance(equations, dict) or set(equations) != set(keys):
        raise InputError(f"derive.layer: equations must be a dict with the keys {', '.join(keys)} "
                         f"(for {'one input' if len(keys) == 1 else 'two halves'})")
    write = _Writer(bases)
    texts = {key: write(equations[key]) for key in keys}
    clash = sorted(set(write.parameters) & set(write.networks))
    if clash:
        raise InputError(f"derive.layer: {clash[0]!r} is both a parameter and a network")
    out = {"name": name, "parameters": write.parameters, "conditioners": write.networks, "equations": texts}
    if dim is not None:
        out["dim"] = dim
    return out
