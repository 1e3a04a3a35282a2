"""A computation graph with a symbolic reverse-mode sweep (micrograd-style).

Each node holds a SymPy symbol and, unless it is an input, a local expression
in its parents' symbols.  :meth:`Graph.backward` visits the nodes in reverse
topological order and gives each the adjoint

    bar(n) = sum over children c of bar(c) * d c / d n   (local partial),

recording every chain-rule term it collects, so a node used by several
children (or used directly and through another node) gets all its paths.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp


@dataclass
class Node:
    name: str
    symbol: sp.Symbol
    expr: sp.Expr | None = None          # None for an input
    parents: tuple[str, ...] = ()
    latex: str = ""


@dataclass
class Sweep:
    """The result of a reverse sweep: adjoints and the terms each collected."""

    order: list[str]
    adjoint: dict[str, sp.Expr]
    terms: dict[str, list[tuple[str, sp.Expr]]] = field(default_factory=dict)


class Graph:
    def __init__(self):
        self.nodes: dict[str, Node] = {}

    def input(self, name: str, symbol: sp.Symbol, latex: str = "") -> sp.Symbol:
        self.nodes[name] = Node(name, symbol, None, (), latex or sp.latex(symbol))
        return symbol

    def op(self, name: str, symbol: sp.Symbol, expr, latex: str = "") -> sp.Symbol:
        expr = sp.sympify(expr)
        parents = tuple(n.name for n in self.nodes.values() if expr.has(n.symbol))
        self.nodes[name] = Node(name, symbol, expr, parents, latex or sp.latex(symbol))
        return symbol

    def children(self, name: str) -> list[str]:
        return [n.name for n in self.nodes.values() if name in n.parents]

    def local_partial(self, child: str, parent: str):
        c, p = self.nodes[child], self.nodes[parent]
        return sp.diff(c.expr, p.symbol)

    def values(self) -> dict:
        """Each node's value in terms of the inputs (forward pass)."""
        out = {}
        for n in self.nodes.values():
            out[n.symbol] = n.symbol if n.expr is None else sp.simplify(n.expr.subs(out))
        return out

    def backward(self, output: str) -> Sweep:
        order = list(self.nodes)[::-1]
        order = order[order.index(output):]
        adjoint = {output: sp.S.One}
        terms = {output: []}
        for name in order[1:]:
            contributions = [(c, adjoint[c] * self.local_partial(c, name))
                             for c in self.children(name) if c in adjoint]
            terms[name] = contributions
            adjoint[name] = sp.Add(*[t for _, t in contributions])
        return Sweep(order, adjoint, terms)
