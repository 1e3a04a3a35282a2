"""Your own layer's forward map in numpy, read from the text of its equations: the reference its derivation
is checked against.

This is a second reading of the same equations, written apart from the symbolic one: the tree that
:func:`ast.parse` builds (the whitelist parser has already accepted the text, so it holds only numbers, names,
arithmetic and calls of known functions) is walked with numpy semantics.  A vector is an array with its
components on the last axis, a scalar has one entry there, and ``dot``, ``sum``, ``mean``, ``norm`` and
``matvec`` reduce over the last axis.  No SymPy object is involved and nothing is evaluated as Python.
"""
from __future__ import annotations

import ast

import numpy as np

UNARY = {"exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos, "tanh": np.tanh, "sqrt": np.sqrt,
         "abs": np.abs, "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)), "softplus": lambda z: np.logaddexp(0.0, z)}


def _reduce(v):
    return np.sum(v, axis=-1, keepdims=True)


class Evaluator:
    """Evaluates one checked expression tree; ``names`` maps variable names to arrays or numbers,
    ``matrices`` names to 2-D arrays, ``networks`` conditioner names to callables of the argument."""

    def __init__(self, names: dict, matrices: dict, networks: dict):
        self.names, self.matrices, self.networks = names, matrices, networks

    def __call__(self, text: str):
        return self.eval(ast.parse(text.strip(), mode="eval").body)

    def eval(self, node):
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return {"pi": np.pi, "e": np.e}.get(node.id, self.names.get(node.id))
        if isinstance(node, ast.UnaryOp):
            value = self.eval(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            a, b = self.eval(node.left), self.eval(node.right)
            ops = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
                   ast.Pow: np.power}
            return ops[type(node.op)](a, b)
        return self.call(node.func.id, node.args)

    def call(self, name: str, args: list):
        if name == "matvec":
            return self.eval(args[1]) @ self.matrices[args[0].id].T
        if name in self.networks:
            return self.networks[name](self.eval(args[0]))
        values = [self.eval(a) for a in args]
        if name == "dot":
            return _reduce(values[0] * values[1])
        if name == "sum":
            return _reduce(values[0])
        if name == "mean":
            return _reduce(values[0]) / np.shape(values[0])[-1]
        if name == "norm":
            return np.sqrt(_reduce(values[0] ** 2))
        return UNARY[name](values[0])


def forward(equations: dict, params: dict, networks: dict):
    """The forward map x -> y of a layer with ``equations`` {"y": text} (input x) or {"y1": ..., "y2": ...}
    (halves x1, x2 of x); ``params`` maps names to numbers or arrays (2-D: a matrix)."""
    matrices = {n: v for n, v in params.items() if np.ndim(v) == 2}
    plain = {n: v for n, v in params.items() if np.ndim(v) < 2}

    def f(x):
        x = np.asarray(x, dtype=float)
        if set(equations) == {"y"}:
            names = {**plain, "x": x}
            return np.broadcast_to(Evaluator(names, matrices, networks)(equations["y"]), x.shape)
        k = x.shape[-1] // 2
        names = {**plain, "x1": x[..., :k], "x2": x[..., k:]}
        ev = Evaluator(names, matrices, networks)
        return np.concatenate([np.broadcast_to(ev(equations[o]), x[..., :k].shape) for o in ("y1", "y2")], axis=-1)
    return f
