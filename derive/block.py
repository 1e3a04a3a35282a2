"""The coupling block's definition (seed section 1): its symbols, its variants, and the block at a concrete k.

In index notation the block is given by its i-th component equations ``y_{1,i}``
and ``y_{2,i}`` (a :class:`CouplingVariant`) in the symbols of
:class:`IndexSymbols`; :class:`ExplicitBlock` writes it out at a concrete k with
explicit symbols and conditioners.  The derivation (:mod:`derive.coupling`), the
volume question (:mod:`derive.volume`) and the numeric lambdas
(:mod:`derive.numeric.coupling`) all start from these definitions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from .notation import Component, ComponentPartial, evaluate_vector


@dataclass(frozen=True)
class IndexSymbols:
    """The symbols of the general-k block in index notation."""

    i: sp.Symbol
    j: sp.Symbol
    k: sp.Symbol
    x1: sp.IndexedBase
    x2: sp.IndexedBase
    y1: sp.IndexedBase
    y2: sp.IndexedBase
    s: sp.IndexedBase
    F: sp.Symbol
    G: sp.Symbol

    @staticmethod
    def create() -> "IndexSymbols":
        i, j = sp.symbols("i j", integer=True, positive=True)
        k = sp.Symbol("k", integer=True, positive=True)
        base = {n: sp.IndexedBase(n, real=True) for n in ("x_1", "x_2", "y_1", "y_2", "s")}
        return IndexSymbols(i, j, k, base["x_1"], base["x_2"], base["y_1"], base["y_2"], base["s"],
                            sp.Symbol("F"), sp.Symbol("G"))

    def F_i(self):
        return Component(self.F, self.i, self.x2)

    def G_i(self):
        return Component(self.G, self.i, self.x2)

    @property
    def vectors(self) -> dict:
        """IndexedBase -> the Symbol standing for the whole vector (vector notation)."""
        return {b: sp.Symbol(b.name, real=True) for b in (self.x1, self.x2, self.y1, self.y2, self.s)}


SYMBOLS = IndexSymbols.create()


@dataclass(frozen=True)
class CouplingVariant:
    """A coupling block given by its i-th component equations."""

    name: str
    description: str
    y1: Callable[[IndexSymbols], sp.Expr]
    y2: Callable[[IndexSymbols], sp.Expr]


VARIANTS: dict[str, CouplingVariant] = {
    v.name: v
    for v in (
        CouplingVariant("seed", "the seed's block, equation (1): y1 = exp(G(x2)) ∘ x1 + F(x2), y2 = exp(s) ∘ x2",
                        lambda S: sp.exp(S.G_i()) * S.x1[S.i] + S.F_i(),
                        lambda S: sp.exp(S.s[S.i]) * S.x2[S.i]),
        CouplingVariant("realnvp", "RealNVP affine coupling: y1 = exp(G(x2)) ∘ x1 + F(x2), y2 = x2",
                        lambda S: sp.exp(S.G_i()) * S.x1[S.i] + S.F_i(),
                        lambda S: S.x2[S.i]),
        CouplingVariant("nice", "NICE additive coupling: y1 = x1 + F(x2), y2 = x2",
                        lambda S: S.x1[S.i] + S.F_i(),
                        lambda S: S.x2[S.i]),
        CouplingVariant("scaled-nice", "additive coupling with a fixed scale: y1 = x1 + F(x2), y2 = exp(s) ∘ x2",
                        lambda S: S.x1[S.i] + S.F_i(),
                        lambda S: sp.exp(S.s[S.i]) * S.x2[S.i]),
    )
}


@dataclass
class ExplicitBlock:
    """The block at a concrete k: explicit symbols x_{1,n}, x_{2,n} and functions.

    ``F``, ``G`` are lists of k expressions in the x2 symbols (default: undefined
    functions F_n(x_{2,1}, ..., x_{2,k})); ``s`` a list of k expressions
    (default: real symbols s_n).
    """

    variant: CouplingVariant
    k: int
    F: list | None = None
    G: list | None = None
    s: list | None = None
    x1: list = field(init=False)
    x2: list = field(init=False)
    y1: list = field(init=False)
    y2: list = field(init=False)

    def __post_init__(self) -> None:
        k = self.k
        self.x1 = list(sp.symbols(f"x_1_1:{k + 1}", real=True))
        self.x2 = list(sp.symbols(f"x_2_1:{k + 1}", real=True))
        self.y1 = list(sp.symbols(f"y_1_1:{k + 1}", real=True))
        self.y2 = list(sp.symbols(f"y_2_1:{k + 1}", real=True))
        if self.F is None:
            self.F = [sp.Function(f"F_{n}", real=True)(*self.x2) for n in range(1, k + 1)]
        if self.G is None:
            self.G = [sp.Function(f"G_{n}", real=True)(*self.x2) for n in range(1, k + 1)]
        if self.s is None:
            self.s = list(sp.symbols(f"s_1:{k + 1}", real=True))
        for name, seq in (("F", self.F), ("G", self.G), ("s", self.s)):
            if len(seq) != k:
                raise ValueError(f"{name} has {len(seq)} components, expected {k}")

    @property
    def x(self) -> sp.Matrix:
        return sp.Matrix(self.x1 + self.x2)

    @property
    def y(self) -> sp.Matrix:
        return sp.Matrix(self.y1 + self.y2)

    def instantiate(self, expr, S: IndexSymbols = SYMBOLS):
        """Replace index-notation objects by this block's explicit ones."""
        expr = sp.sympify(expr).subs(S.k, self.k).doit()
        conditioners = {S.F: self.F, S.G: self.G}
        bases = {S.x1: self.x1, S.x2: self.x2, S.y1: self.y1, S.y2: self.y2, S.s: self.s}

        def comp(fn, idx, arg):
            return conditioners[fn][int(idx) - 1]

        def part(fn, idx, jdx, arg):
            return sp.diff(conditioners[fn][int(idx) - 1], self.x2[int(jdx) - 1])

        expr = expr.replace(ComponentPartial, part).replace(Component, comp)
        return expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base in bases,
                            lambda e: bases[e.base][int(e.indices[0]) - 1])

    def component(self, expr, n: int, S: IndexSymbols = SYMBOLS):
        """Component n (1-based) of an element-wise index expression."""
        return self.instantiate(sp.sympify(expr).subs(S.i, n), S)

    def forward(self) -> sp.Matrix:
        S = SYMBOLS
        rows = [self.component(self.variant.y1(S), n) for n in range(1, self.k + 1)]
        rows += [self.component(self.variant.y2(S), n) for n in range(1, self.k + 1)]
        return sp.Matrix(rows)

    def jacobian(self) -> sp.Matrix:
        """The explicit 2k×2k Jacobian by ``Matrix.jacobian`` (only where asked for)."""
        return self.forward().jacobian(self.x)

    def written_out(self, vector_expr, S: IndexSymbols = SYMBOLS):
        """A printed vector-notation formula at this k (x2's functions at this block's x2)."""
        vec = S.vectors
        vectors = {vec[S.x1]: self.x1, vec[S.x2]: self.x2, vec[S.y1]: self.y1, vec[S.y2]: self.y2, vec[S.s]: self.s}
        x2 = vec[S.x2]
        functions = {(S.F, x2): self.F, (S.G, x2): self.G}
        jacobians = {(S.F, x2): sp.Matrix(self.F).jacobian(self.x2), (S.G, x2): sp.Matrix(self.G).jacobian(self.x2)}
        return evaluate_vector(vector_expr, vectors, functions, jacobians)
