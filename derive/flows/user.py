"""Your own layer or flow, from a TOML file.

A **layer** file gives the component equations as vector expressions, read by
the whitelist parser (:mod:`derive.parse`; nothing is evaluated) and written
in index notation for the driver, which then finds the structure as for any
catalogue layer::

    name = "my-planar"
    dim = 16                       # d of the numeric checks (even for halves)
    [parameters]
    u = "vector"                   # vector, positive vector, scalar, positive scalar, matrix (d×d)
    w = "vector"
    b = "scalar"
    [equations]
    y = "x + u*tanh(dot(w, x) + b)"

One output ``y`` of the input ``x`` (size d), or two halves ``y1``, ``y2`` of
``x1``, ``x2`` (size k = d/2 each).  Vectors act component by component; a
scalar is the same in every component.  Besides the functions of the parser:
``dot(a, b)``, ``sum(a)``, ``mean(a)``, ``norm(a)`` (vectors to a scalar),
``matvec(W, a)`` (W a matrix parameter), and the conditioners declared in
``[conditioners]``: ``F = "coupling"`` is a network of the second half,
written ``F(x2)``; ``mu = "autoregressive"`` is a network whose output i sees
x_1..x_(i-1), written ``mu(x)``.

A **flow** file lists layers: catalogue names or layer files (relative to the
flow file), applied in order::

    name = "my-flow"
    layers = ["actnorm", "upper", "unit-lower", "reverse", "realnvp"]

A layer that appears twice gets its own parameters (suffixed by position).
Every problem is a :class:`derive.parse.ParseError` of one line.
"""
from __future__ import annotations

import keyword
import os
import re

import sympy as sp

from ..notation import Component
from ..parse import ParseError, Scope, parse
from .index import I, K, Prefix
from .layer import Conditioner, Layer, Param

MAX_DIM = 2048
MAX_NAMES = 24
MAX_FLOW_LAYERS = 16
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,15}")
_LAYER_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
KINDS = {"vector": (1, False), "positive vector": (1, True), "scalar": (0, False), "positive scalar": (0, True),
         "matrix": (2, False)}
REDUCTIONS = ("dot", "sum", "mean", "norm", "matvec")
RESERVED = {"x", "y", "x1", "x2", "y1", "y2", "d", "k", "i", "j", "l", "m", "r", "e", "pi", "np", "h", "t",
            "total", "range", "reversed"} | set(REDUCTIONS)  # and the names the printed numpy code uses
LAYER_KEYS = {"name", "title", "description", "dim", "parameters", "conditioners", "equations"}
FLOW_KEYS = {"name", "title", "description", "dim", "layers"}

d = sp.Symbol("d", integer=True, positive=True)
k = sp.Symbol("k", integer=True, positive=True)


def _table(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise ParseError(f"{what} must be a table")
    if len(value) > MAX_NAMES:
        raise ParseError(f"{what} has {len(value)} entries, the limit is {MAX_NAMES}")
    return value


def _text(value, what: str, limit: int = 200) -> str:
    if not isinstance(value, str):
        raise ParseError(f"{what} must be a string")
    if len(value) > limit or any(not ch.isprintable() for ch in value):
        raise ParseError(f"{what} must be printable text of at most {limit} characters")
    return value


def _symbol_name(name: str, what: str) -> str:
    from ..parse import FUNCTIONS

    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise ParseError(f"{what}: {name!r} is not a name (a letter, then letters or digits, at most 16)")
    if name in RESERVED or name in FUNCTIONS:
        raise ParseError(f"{what}: the name {name!r} is reserved")
    return name


def _dim(table: dict, halves: bool, what: str) -> int:
    value = table.get("dim", 16)
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= MAX_DIM:
        raise ParseError(f"{what}: dim must be a whole number from 2 to {MAX_DIM}")
    if halves and value % 2:
        raise ParseError(f"{what}: dim must be even for a layer with halves (d = 2k), got {value}")
    return value


class _Vectors:
    """The vector operations of a layer's equations, in index notation (component I)."""

    def __init__(self, size, matrices: set, conditioners: dict, halves: bool):
        self.size, self.matrices, self.conditioners, self.halves = size, matrices, conditioners, halves

    def at(self, a):
        """A vector expression at the summation index instead of component I."""
        if isinstance(a, sp.IndexedBase):
            raise ParseError(f"the matrix {a} can only be used as matvec({a}, v)")
        if a.has(sp.Sum):
            raise ParseError("a reduction (dot, sum, mean, norm, matvec) inside another is not supported")
        if not a.has(I):
            raise ParseError("expected a vector, got a scalar")
        return a.xreplace({I: K})

    def dot(self, a, b):
        return sp.Sum(self.at(a) * self.at(b), (K, 1, self.size))

    def sum(self, a):
        return sp.Sum(self.at(a), (K, 1, self.size))

    def mean(self, a):
        return self.sum(a) / self.size

    def norm(self, a):
        return sp.sqrt(self.dot(a, a))

    def matvec(self, W, a):
        if not isinstance(W, sp.IndexedBase) or W not in self.matrices:
            raise ParseError("the first argument of matvec must be a matrix parameter")
        return sp.Sum(W[I, K] * self.at(a), (K, 1, self.size))

    def conditioner(self, symbol, kind, block):
        def call(arg):
            if arg != block[I]:
                raise ParseError(f"{symbol} is a{'n' if kind[0] == 'a' else ''} {kind} network: write {symbol}("
                                 f"{block.label}), of the whole {'second half' if kind == 'coupling' else 'input'}")
            return Component(symbol, I, block) if kind == "coupling" else Prefix(symbol, I, block)
        return call

    def functions(self) -> dict:
        out = {name: (2 if name in ("dot", "matvec") else 1, getattr(self, name)) for name in REDUCTIONS}
        for name, (symbol, kind, block) in self.conditioners.items():
            out[name] = (1, self.conditioner(symbol, kind, block))
        return out


def _vec(name, positive=False):
    return sp.IndexedBase(name, real=True, positive=positive or None)


def _parameters(table: dict, size) -> tuple:
    """(Params, parser variables, matrices)."""
    params, variables, matrices = [], {}, set()
    for name, kind in _table(table.get("parameters", {}), "[parameters]").items():
        _symbol_name(name, "[parameters]")
        if not isinstance(kind, str) or kind not in KINDS:
            raise ParseError(f"[parameters] {name}: the kind must be one of {', '.join(KINDS)}, got {kind!r}")
        rank, positive = KINDS[kind]
        if rank == 0:
            sym = sp.Symbol(name, positive=True) if positive else sp.Symbol(name, real=True)
            variables[name] = sym
            params.append(Param(sym, (), "positive" if positive else ""))
        else:
            base = _vec(name, positive) if rank == 1 else sp.IndexedBase(name, real=True)
            variables[name] = base[I] if rank == 1 else base
            matrices |= {base} if rank == 2 else set()
            params.append(Param(base, (size,) * rank, "(positive)" if positive else ""))
    return tuple(params), variables, matrices


def _conditioners(table: dict, inputs: tuple, halves: bool, taken: set) -> dict:
    out = {}
    for name, kind in _table(table.get("conditioners", {}), "[conditioners]").items():
        _symbol_name(name, "[conditioners]")
        if name in taken:
            raise ParseError(f"[conditioners] {name}: the name is already a parameter")
        if not isinstance(kind, str) or kind not in ("coupling", "autoregressive"):
            raise ParseError(f"[conditioners] {name}: the kind must be 'coupling' or 'autoregressive', got {kind!r}")
        if (kind == "coupling") != halves:
            raise ParseError(f"[conditioners] {name}: a {kind} network needs "
                             f"{'equations y1, y2 of halves x1, x2' if kind == 'coupling' else 'one equation y of x'}")
        out[name] = (sp.Symbol(name), kind, inputs[-1] if halves else inputs[0])
    return out


def _equations(table: dict) -> tuple:
    eqs = _table(table.get("equations", {}), "[equations]")
    if set(eqs) == {"y"}:
        return False, (eqs["y"],)
    if set(eqs) == {"y1", "y2"}:
        return True, (eqs["y1"], eqs["y2"])
    raise ParseError("[equations] must give either y (of x) or y1 and y2 (of the halves x1, x2)")


def layer_from_table(table: dict, what: str = "--layer") -> tuple:
    """(Layer, dim) from a parsed layer file."""
    unknown = sorted(set(table) - LAYER_KEYS)
    if unknown:
        raise ParseError(f"{what}: unknown key {unknown[0]!r}; known: {', '.join(sorted(LAYER_KEYS))}")
    try:
        return _layer(table, what)
    except ParseError as exc:
        raise ParseError(str(exc) if str(exc).startswith(what) else f"{what}: {exc}") from None


def _layer(table: dict, what: str) -> tuple:
    name = _text(table.get("name", "mine"), "name", 32)
    if not _LAYER_NAME.fullmatch(name):
        raise ParseError(f"name {name!r} must be lower-case letters, digits and '-', starting with a letter")
    halves, texts = _equations(table)
    size = k if halves else d
    inputs = (_vec("x_1"), _vec("x_2")) if halves else (_vec("x"),)
    outputs = (_vec("y_1"), _vec("y_2")) if halves else (_vec("y"),)
    params, variables, matrices = _parameters(table, size)
    conds = _conditioners(table, inputs, halves, set(variables))
    variables.update({("x1", "x2")[b] if halves else "x": base[I] for b, base in enumerate(inputs)})
    ops = _Vectors(size, matrices, conds, halves)
    equations = []
    for out, text in zip(("y1", "y2") if halves else ("y",), texts):
        eq = parse(_text(text, f"[equations] {out}", 2000), Scope(variables, ops.functions()),
                   what=f"[equations] {out}")
        _check_equation(eq, out, inputs, matrices)
        equations.append(eq)
    if halves and equations[1].has(inputs[0]):
        raise ParseError("[equations] y2 must not depend on x1 (y1 is the half that x2 conditions)")
    conditioners = tuple(Conditioner(sym, kind, f"{sym}: a network of {'x_2' if kind == 'coupling' else 'x_<i'}")
                         for sym, kind, _ in conds.values())
    title = _text(table.get("title", f"Your layer {name}"), "title")
    description = _text(table.get("description", _describe(texts, halves)), "description")
    layer = Layer(name, title, description, size, inputs, outputs, tuple(equations), params, conditioners,
                  check_sizes=(1, 2, 3), source=tuple(zip(("y1", "y2") if halves else ("y",), texts)))
    return layer, _dim(table, halves, what)


def _describe(texts, halves) -> str:
    return "; ".join(f"{o} = {t.strip()}" for o, t in zip(("y1", "y2") if halves else ("y",), texts))


def _check_equation(eq, out: str, inputs: tuple, matrices: set) -> None:
    if not isinstance(eq, sp.Expr) or eq.has(*matrices) and any(
            isinstance(e, sp.IndexedBase) for e in _bare(eq)):
        raise ParseError(f"[equations] {out}: a matrix parameter can only be used as matvec(W, v)")
    if not eq.has(*inputs):
        raise ParseError(f"[equations] {out} does not depend on the input")


def _bare(expr):
    """IndexedBase objects not under an Indexed (a matrix used as a number)."""
    if isinstance(expr, sp.Indexed):
        return
    if isinstance(expr, sp.IndexedBase):
        yield expr
        return
    for a in expr.args:
        yield from _bare(a)


def read_layer(path: str, what: str = "--layer") -> tuple:
    """(Layer, dim) from the layer file at ``path``."""
    from ..tomlfile import FileError, read_toml

    try:
        table = read_toml(path, what)
    except FileError as exc:
        raise ParseError(str(exc)) from None
    return layer_from_table(table, what)


def renamed(layer: Layer, suffix: str) -> Layer:
    """``layer`` with its own parameters and conditioners: ``suffix`` "_4" makes a parameter F into F^(4)
    (printed F_4 in the numpy code, a name no user can choose) and the layer's name ``name-4``."""
    pos = suffix.lstrip("_")

    def fresh(sym):
        if isinstance(sym, sp.IndexedBase):
            return sp.IndexedBase(f"{sym.label}^({pos})", **sym.assumptions0)
        return sp.Symbol(f"{sym.name}^({pos})", **sym.assumptions0)

    subs = {p.symbol: fresh(p.symbol) for p in layer.params}
    subs.update({c.symbol: fresh(c.symbol) for c in layer.conditioners})
    return Layer(f"{layer.name}{suffix.replace('_', '-')}", layer.title, layer.description, layer.size,
                 layer.inputs, layer.outputs, tuple(eq.xreplace(subs) for eq in layer.equations),
                 tuple(Param(subs[p.symbol], p.shape, p.note) for p in layer.params),
                 tuple(Conditioner(subs[c.symbol], c.kind, c.note) for c in layer.conditioners),
                 layer.latent, layer.pixels, layer.check_sizes, layer.source, suffix)


def _names(layer) -> set:
    return {str(p.symbol) for p in layer.params} | {str(c.symbol) for c in layer.conditioners}


def _own_names(layers: list, seen: dict) -> list:
    """The layers, each one that shares its name or a parameter's name with another renamed apart."""
    count = {}
    for la in layers:
        for n in _names(la):
            count[n] = count.get(n, 0) + 1
    return [renamed(la, f"_{pos}") if seen[la.name] > 1 or any(count[n] > 1 for n in _names(la)) else la
            for pos, la in enumerate(layers, 1)]


def _distinct(names: list, what: str) -> None:
    """The flow's name and its layers' names (after renaming) name different functions in the numpy code."""
    from .numeric import ident

    seen = {}
    for n in names:
        if ident(n) in seen:
            raise ParseError(f"{what}: the names {seen[ident(n)]!r} and {n!r} would name the same functions "
                             f"(the flow and each of its layers need names of their own)"
                             if seen[ident(n)] != n else f"{what}: the name {n!r} is used twice (the flow and "
                             "each of its layers need names of their own)")
        seen[ident(n)] = n


def flow_from_table(table: dict, folder: str, what: str = "--flow") -> tuple:
    """(Flow, dim) from a parsed flow file; layer files are read relative to ``folder``."""
    from .catalogue import LAYERS
    from .compose import Flow

    unknown = sorted(set(table) - FLOW_KEYS)
    if unknown:
        raise ParseError(f"{what}: unknown key {unknown[0]!r}; known: {', '.join(sorted(FLOW_KEYS))}")
    names = table.get("layers")
    if not isinstance(names, list) or not 1 <= len(names) <= MAX_FLOW_LAYERS:
        raise ParseError(f"{what}: layers must be a list of 1 to {MAX_FLOW_LAYERS} layer names or files")
    layers, dims, seen = [], [], {}
    for pos, item in enumerate(names, 1):
        item = _text(item, f"{what}: layers", 300)
        if item in LAYERS:
            layer = LAYERS[item]
        elif item.endswith(".toml"):
            layer, dim = read_layer(os.path.join(folder, item), f"{what}: layer {pos} ({item})")
            dims.append(dim)
        else:
            raise ParseError(f"{what}: layer {pos}: {item!r} is neither a catalogue layer nor a .toml file")
        seen[layer.name] = seen.get(layer.name, 0) + 1
        layers.append(layer)
    layers = _own_names(layers, seen)
    name = _text(table.get("name", "my-flow"), f"{what}: name", 32)
    if not _LAYER_NAME.fullmatch(name):
        raise ParseError(f"{what}: name {name!r} must be lower-case letters, digits and '-', starting with a letter")
    _distinct([name] + [la.name for la in layers], what)
    title = _text(table.get("title", f"Your flow {name}"), f"{what}: title")
    description = _text(table.get("description", " → ".join(la.name for la in layers)), f"{what}: description")
    halves = any(len(la.inputs) > 1 for la in layers)
    return Flow(name, title, description, tuple(layers)), _dim(table, halves, what)


def read_flow(path: str, what: str = "--flow") -> tuple:
    """(Flow, dim) from the flow file at ``path``."""
    from ..tomlfile import FileError, read_toml

    try:
        table = read_toml(path, what)
    except FileError as exc:
        raise ParseError(str(exc)) from None
    return flow_from_table(table, os.path.dirname(os.path.abspath(path)), what)
