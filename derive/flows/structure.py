"""Finding the structure of a Jacobian from a layer's component equations.

The Jacobian entry ∂y_i/∂x_j of a component equation (index form, see
:mod:`derive.flows.index`) is split into terms, each of one kind:

* diagonal: ``D_i δ_ij``;
* permutation: ``δ_{j, p(i)}`` with p(i) ≠ i;
* below / above the diagonal: nonzero only for j < i (an autoregressive
  conditioner's partial, a sum up to i - 1) or only for j > i;
* rank one: ``c a_i b_j`` (a product of a factor in i, a factor in j and a
  factor in neither);
* rank m: ``Σ_r a_{i r} c_r b_{r j}`` (a sum over a latent index whose summand
  separates the same way);
* dense: anything else (a factor depending on both i and j, such as W_ij).

:func:`classify` names the structure a square block has; the structure rules
(:mod:`derive.flows.rules`) apply to the named structures.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .index import I, J, PrefixPartial

ELEMENTWISE, TRIANGULAR, LOW_RANK, PERMUTATION, DENSE, ZERO = (
    "element-wise", "triangular", "identity plus low rank", "permutation", "dense", "zero")


@dataclass
class Terms:
    """The terms of one Jacobian entry, sorted by kind."""

    diagonal: sp.Expr = sp.S.Zero
    permutation: list = field(default_factory=list)   # [(coefficient, p(i))]
    lower: list = field(default_factory=list)
    upper: list = field(default_factory=list)
    rank_one: list = field(default_factory=list)      # [(a_i, c, b_j)]
    rank_m: list = field(default_factory=list)        # [(a_ir, c_r, b_rj, r, m)]
    dense: list = field(default_factory=list)


def _marked(expr) -> bool:
    return expr.has(sp.KroneckerDelta, PrefixPartial, sp.Piecewise)


def distribute(expr):
    """Expand products only over the sums that hold structure markers (δ, partials, cases)."""
    if isinstance(expr, sp.Add):
        return sp.Add(*[distribute(a) for a in expr.args])
    if isinstance(expr, sp.Mul):
        out = [sp.S.One]
        for factor in expr.args:
            parts = sp.Add.make_args(distribute(factor)) if isinstance(factor, sp.Add) and _marked(factor) else (factor,)
            out = [o * p for o in out for p in parts]
        return sp.Add(*out)
    return expr


def _side(cond):
    """'lower' for a condition j <= i - 1 (or j < i), 'upper' for j >= i + 1, else None."""
    if not isinstance(cond, sp.core.relational.Relational):
        return None
    gap = sp.expand(cond.lhs - cond.rhs)  # lhs - rhs  (op)  0
    op = cond.rel_op
    if op in ("<=", "<"):
        gap, op = -gap, ">=" if op == "<=" else ">"
    if op not in (">=", ">"):
        return None
    shift = 0 if op == ">=" else 1  # gap >= shift
    if sp.expand(gap - (I - J)) == -shift + 1 or sp.expand(gap - (I - J) + 1 - shift) == 0:
        return "lower"
    if sp.expand(gap - (J - I)) == -shift + 1 or sp.expand(gap - (J - I) + 1 - shift) == 0:
        return "upper"
    return None


def _separate(factors, outer, inner):
    """(factors in ``outer`` only, in ``inner`` only, in neither) or None when one holds both."""
    a, b, c = [], [], []
    for f in factors:
        has_o, has_i = f.has(outer), f.has(inner)
        if has_o and has_i:
            return None
        (a if has_o else b if has_i else c).append(f)
    return sp.Mul(*a), sp.Mul(*c), sp.Mul(*b)


def _sort_term(term, out: Terms) -> None:
    factors = sp.Mul.make_args(term)
    deltas = [f for f in factors if isinstance(f, sp.KroneckerDelta)]
    rest = sp.Mul(*[f for f in factors if not isinstance(f, sp.KroneckerDelta)])
    if len(deltas) == 1 and not rest.has(J):
        a, b = deltas[0].args
        other = b if a == J else a if b == J else None
        if other == I:
            out.diagonal += rest
            return
        if other is not None and not other.has(J):
            out.permutation.append((rest, other))
            return
    cases = [f for f in factors if isinstance(f, sp.Piecewise)]
    if len(cases) == 1 and len(cases[0].args) == 2 and cases[0].args[1][0] == 0:
        side = _side(cases[0].args[0][1])
        if side:
            getattr(out, side).append(term)
            return
    if any(isinstance(f, PrefixPartial) and f.args[1] == I and f.args[2] == J for f in factors) and not deltas:
        out.lower.append(term)
        return
    if isinstance(term, sp.Sum) or (len(factors) > 1 and any(isinstance(f, sp.Sum) and f.has(J) for f in factors)):
        if _sort_rank_m(term, out):
            return
    split = None if deltas or cases else _separate(factors, I, J)
    if split is not None and not any(isinstance(f, sp.Sum) and f.has(J) for f in factors):
        out.rank_one.append(split)  # a_i c b_j: a constant a or b (mean(x), a shift of every entry) is rank one too
        return
    out.dense.append(term)


def _sort_rank_m(term, out: Terms) -> bool:
    """Σ_r a_{i r} c_r b_{r j} (possibly times a factor free of i and j)."""
    outside = [f for f in sp.Mul.make_args(term) if not isinstance(f, sp.Sum)]
    sums = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
    if len(sums) != 1 or any(f.has(I) or f.has(J) for f in outside) or len(sums[0].limits) != 1:
        return False
    r, lo, m = sums[0].limits[0]
    if lo != 1:
        return False
    summand = sp.Mul(*outside) * sums[0].function
    parts = _separate(sp.Mul.make_args(summand), I, J)
    if parts is None or not (parts[0].has(I) and parts[2].has(J)):
        return False
    out.rank_m.append((parts[0], parts[1], parts[2], r, m))
    return True


def split_entry(entry) -> Terms:
    """The terms of a Jacobian entry ∂y_i/∂x_j, sorted by kind."""
    out = Terms()
    for term in sp.Add.make_args(distribute(entry)):
        if term != 0:
            _sort_term(term, out)
    out.diagonal = sp.factor_terms(out.diagonal)
    return out


def classify(terms: Terms) -> str:
    """The name of the structure of a square block with these entry terms."""
    t = terms
    if t.dense or (t.lower and t.upper) or ((t.lower or t.upper) and (t.rank_one or t.rank_m)):
        return DENSE
    if t.permutation:
        single = len(t.permutation) == 1 and t.permutation[0][0] == 1
        return PERMUTATION if single and t.diagonal == 0 and not (t.lower or t.upper or t.rank_one or t.rank_m) \
            else DENSE
    if t.rank_one or t.rank_m:
        return LOW_RANK
    if t.lower or t.upper:
        return TRIANGULAR
    return ELEMENTWISE if t.diagonal != 0 else ZERO
