"""Which structure rule applies to a layer: the driver's dispatch.

:func:`find_structure` reads the Jacobian entries of a layer (one per pair of
output and input blocks), names the structure and returns the rule to call.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import rules
from .structure import DENSE, ELEMENTWISE, LOW_RANK, PERMUTATION, TRIANGULAR, ZERO, Terms, classify, split_entry


@dataclass
class Structure:
    """The structure found and how to apply its rule."""

    name: str          # e.g. "triangular", "block triangular", "orthogonal"
    rule: str          # the rule's function name
    detail: str        # one line saying what was found
    terms: dict        # (a, b) -> Terms
    order: tuple = ()  # blocks in triangular order


def _blocks_structure(terms: dict, nblocks: int) -> Structure | None:
    """Two blocks with a zero block off the diagonal and element-wise diagonal blocks."""
    if nblocks != 2:
        return None
    kinds = {b: classify(terms[(b, b)]) for b in range(2)}
    if any(kinds[b] != ELEMENTWISE for b in range(2)):
        return None
    for a, b in ((1, 0), (0, 1)):
        if classify(terms[(a, b)]) == ZERO:
            order = (1, 0) if (a, b) == (1, 0) else (0, 1)  # the block that needs no other first
            return Structure("block triangular", "block_triangular_determinant",
                             f"∂y_{a + 1}/∂x_{b + 1} = 0 and the diagonal blocks are diagonal", terms, order)
    return None


def find_structure(entries: dict, nblocks: int, try_orthogonal) -> Structure:
    """The structure of the Jacobian with these index-form entries ((a, b) -> ∂y_a,i/∂x_b,j)."""
    terms = {key: split_entry(e) for key, e in entries.items()}
    if nblocks > 1:
        found = _blocks_structure(terms, nblocks)
        return found or Structure(DENSE, "explicit", "no zero block off the diagonal", terms)
    t: Terms = terms[(0, 0)]
    kind = classify(t)
    if kind in (LOW_RANK, DENSE) and try_orthogonal(entries[(0, 0)]):
        return Structure("orthogonal", "orthogonal_det", "Σ_k J_ki J_kj = δ_ij (orthonormal columns)", terms)
    if kind == ELEMENTWISE:
        return Structure(kind, "elementwise_logdet", "∂y_i/∂x_j = 0 for j ≠ i", terms)
    if kind == TRIANGULAR:
        side = "lower" if t.lower else "upper"
        return Structure(f"{side} triangular", "triangular_determinant",
                         f"∂y_i/∂x_j = 0 for {'j > i' if side == 'lower' else 'j < i'}", terms)
    if kind == PERMUTATION:
        return Structure(kind, "permutation_det", "∂y_i/∂x_j = δ_(j,p(i))", terms)
    if kind == LOW_RANK:
        if len(t.rank_one) == 1 and not t.rank_m:
            return Structure("diagonal plus rank one", "determinant_lemma", "∂y_i/∂x_j = D_i δ_ij + c a_i b_j", terms)
        if len(t.rank_m) == 1 and not t.rank_one:
            return Structure("diagonal plus rank m", "sylvester_identity",
                             "∂y_i/∂x_j = D_i δ_ij + Σ_r a_ir c_r b_rj", terms)
    return Structure(DENSE, "explicit", "no structure rule applies", terms)


def apply_rule(structure: Structure, checks, entries: dict, size):
    """(steps, logdet) from the rule the structure names; None when the rule declines."""
    t = structure.terms.get((0, 0))
    rule = structure.rule
    if rule == "elementwise_logdet":
        return rules.elementwise_logdet(checks, t.diagonal, size)
    if rule == "triangular_determinant":
        return rules.triangular_determinant(checks, t.diagonal, structure.name.split()[0], size)
    if rule == "block_triangular_determinant":
        zero = [(a, b) for (a, b), tt in structure.terms.items() if a != b and classify(tt) == ZERO]
        diagonals = {b: structure.terms[(b, b)].diagonal for b in structure.order}
        return rules.block_triangular_determinant(checks, list(structure.order), zero, diagonals, size)
    if rule == "determinant_lemma":
        a, c, b = t.rank_one[0]
        return rules.determinant_lemma(checks, t.diagonal, a, c, b, size)
    if rule == "sylvester_identity":
        a, c, b, r, m = t.rank_m[0]
        return rules.sylvester_identity(checks, t.diagonal, a, c, b, r, m, size)
    if rule == "orthogonal_det":
        return rules.orthogonal_det(checks, entries[(0, 0)], size)
    if rule == "permutation_det":
        return rules.permutation_det(checks, t.permutation[0][1], size)
    return None
