"""A flow layer given by its component equations, and the layer written out at a concrete size.

:class:`Layer` holds only the definition: the equations ``y_{b,i} = ...`` of
each output block in index notation (:mod:`derive.flows.index`), the size
symbol of a block (``d``, or ``k`` for the halves of a coupling block), the
parameters and the conditioners.  :class:`Explicit` writes the same
definition out at a concrete size, with one real symbol per entry and one
undefined function per conditioner output, so that ``Matrix.jacobian`` and the
generic determinant can check what the structure rules derive.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..notation import Component, ComponentPartial
from .index import Det, I, Prefix, PrefixPartial, Tabled


def _concrete(limits) -> bool:
    return all(lim.is_Integer for lim in limits[0][1:]) and len(limits) == 1


def expand_sums(expr, symbol=None):
    """Sums and products with integer limits written out term by term (renaming the index; no
    ``Sum.doit``, whose per-term substitution is slow at large sizes), innermost first.  With ``symbol``
    (base, indices) -> Symbol, each entry of an IndexedBase with concrete indices becomes that symbol as the
    term is made: one substitution per term, so that the cost is linear in the number of terms."""
    def term_maker(e):
        (v, lo, hi), body = e.limits[0], e.function
        if symbol is None:
            return lambda t: body.xreplace({v: sp.Integer(t)})
        entries = [a for a in body.atoms(sp.Indexed) if v in a.free_symbols]

        def make(t):
            at = {v: sp.Integer(t)}
            rule = {a: _entry(a, at, symbol) for a in entries}
            rule.update(at)
            return body.xreplace(rule)
        return make

    done: dict = {}  # a sum that occurs several times is written out once

    def write_out(e):
        if e not in done:
            (v, lo, hi) = e.limits[0]
            make = term_maker(e)
            terms = [make(t) for t in range(int(lo), int(hi) + 1)]
            done[e] = sp.Add(*terms) if isinstance(e, sp.Sum) else sp.Mul(*terms)
        return done[e]

    expr = expr.replace(lambda e: isinstance(e, (sp.Sum, sp.Product)) and _concrete(e.limits), write_out)
    if sp.core.parameters.global_parameters.evaluate and expr.has(sp.Sum, sp.Product, sp.Derivative):
        return expr.doit()
    return expr


def _entry(indexed, at: dict, symbol):
    indices = [sp.sympify(ix).xreplace(at) for ix in indexed.indices]
    if all(ix.is_Integer for ix in indices):
        return symbol(indexed.base, indices)
    return indexed.xreplace(at)


@dataclass(frozen=True)
class Param:
    """A named parameter: a scalar Symbol or an IndexedBase with its shape (in size symbols)."""

    symbol: object
    shape: tuple = ()
    note: str = ""


@dataclass(frozen=True)
class Conditioner:
    """A network inside a layer: ``coupling`` (F_i of the other half) or ``autoregressive`` (mu_i of x_{<i})."""

    symbol: sp.Symbol
    kind: str
    note: str = ""


@dataclass(frozen=True)
class Layer:
    """An invertible layer x -> y by its component equations (one per output block)."""

    name: str
    title: str
    description: str
    size: sp.Symbol
    inputs: tuple
    outputs: tuple
    equations: tuple
    params: tuple = ()
    conditioners: tuple = ()
    latent: sp.Symbol | None = None
    pixels: sp.Symbol | None = None  # the layer acts on each of this many positions (1×1 convolution)
    check_sizes: tuple = (1, 2, 3, 4)
    #: a layer of your own: its equations as you wrote them ((output, text) pairs), read again by the
    #: numeric reference, and the suffix its names got in a flow that uses it twice
    source: tuple = ()
    suffix: str = ""

    @property
    def dimension(self):
        return len(self.inputs) * self.size

    def sizes(self, extra=()) -> dict:
        """Index -> the upper end of its range (for :func:`derive.flows.index.settle`)."""
        from .index import J, K, R, S

        out = {I: self.size, J: self.size, K: self.size}
        if self.latent is not None:
            out.update({R: self.latent, S: self.latent})
        return out


@dataclass
class Explicit:
    """A layer written out at block size ``n`` (and latent size ``m``)."""

    layer: Layer
    n: int
    m: int = 2
    symbols: dict = field(default_factory=dict)
    tag: str = ""  # appended to parameter and conditioner names (layers of one flow)

    def entries(self, base) -> list:
        return [self._symbol(base, (t,)) for t in range(1, self.n + 1)]

    @property
    def x(self) -> list:
        return [s for base in self.layer.inputs for s in self.entries(base)]

    @property
    def y(self) -> list:
        return [s for base in self.layer.outputs for s in self.entries(base)]

    def _symbol(self, base, idx):
        key = (base, tuple(int(t) for t in idx))
        if key not in self.symbols:
            positive = any(p.symbol == base and "positive" in p.note for p in self.layer.params)
            name = "_".join([str(base.label)] + [str(t) for t in key[1]])
            param = base not in self.layer.inputs and base not in self.layer.outputs
            self.symbols[key] = sp.Symbol(name + (self.tag if param else ""), real=True, positive=positive or None)
        return self.symbols[key]

    def _function(self, fn, idx, args):
        key = ("fn", fn, int(idx))
        if key not in self.symbols:
            self.symbols[key] = sp.Function(f"{fn}_{int(idx)}{self.tag}", real=True)
        return self.symbols[key](*args) if args else sp.Symbol(f"{fn}_{int(idx)}{self.tag}", real=True)

    opaque = False  # write conditioner outputs as F_n(x_2) of the whole vector (large sizes)

    def _component(self, fn, idx, base):
        if self.opaque:
            return Component(fn, idx, base)
        return self._function(fn, idx, self.entries(base))

    def _prefix(self, fn, idx, base):
        if self.opaque:
            return Prefix(fn, idx, base)
        return self._function(fn, idx, self.entries(base)[:int(idx) - 1])

    def write_out(self, expr, at=None):
        """``expr`` written out at this size without SymPy's automatic evaluation (no assumption queries on
        large sums): linear in the size of the result, for results at large sizes."""
        from .index import canonical

        self.opaque = True
        try:
            with sp.evaluate(False):
                return self.instantiate(canonical(expr), at)  # equal sums with different dummies: one write-out
        finally:
            self.opaque = False

    def instantiate(self, expr, at=None):
        """``expr`` (index form, component ``at`` of I) written out at this size."""
        L = self.layer
        values = {L.size: self.n}
        if L.latent is not None:
            values[L.latent] = self.m
        expr = sp.sympify(expr).subs(values)
        if at is not None:
            expr = expr.subs(I, at)
        kinds = {type(e) for e in sp.preorder_traversal(expr)}  # the small index form: cheap to walk
        expr = expand_sums(expr, self._symbol if self.opaque else None)
        if Det in kinds:
            expr = expr.replace(lambda e: isinstance(e, Det), self._small_det)
        if not self.opaque or sp.Indexed in kinds and at is not None:
            expr = expr.replace(lambda e: isinstance(e, sp.Indexed) and all(t.is_Integer for t in e.indices),
                                lambda e: self._symbol(e.base, e.indices))
        if ComponentPartial in kinds:
            expr = expr.replace(ComponentPartial, lambda f, a, b, base: sp.diff(self._component(f, a, base),
                                                                                self._symbol(base, (b,))))
        if PrefixPartial in kinds:
            expr = expr.replace(PrefixPartial, lambda f, a, b, base: sp.diff(self._prefix(f, a, base),
                                                                             self._symbol(base, (b,))))
        if Component in kinds and not self.opaque:
            expr = expr.replace(Component, self._component)
        if Prefix in kinds and not self.opaque:
            expr = expr.replace(Prefix, self._prefix)
        return expr

    def _small_det(self, det):
        """The m×m determinant written out (evaluated: its size is the latent size, not the layer's)."""
        with sp.evaluate(True):
            return det.args[0].explicit(self.m).det(method="berkowitz")

    def forward(self) -> sp.Matrix:
        return sp.Matrix([self.instantiate(eq, t) for eq in self.layer.equations for t in range(1, self.n + 1)])

    def jacobian(self) -> sp.Matrix:
        """∂y/∂x by ``Matrix.jacobian`` of the written-out map (small sizes only)."""
        return self.forward().jacobian(sp.Matrix(self.x))

    def vector(self, expr_by_block) -> sp.Matrix:
        """The index-form expressions of each block, written out and stacked."""
        return sp.Matrix([self.instantiate(e, t) for e in expr_by_block for t in range(1, self.n + 1)])
