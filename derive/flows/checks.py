"""Checks of index-form results against the layer written out at small sizes.

Every structure rule claims a formula for all sizes; :class:`Checks` writes
the layer's own definition out at the sizes in ``layer.check_sizes``,
differentiates it with ``Matrix.jacobian`` and takes the generic determinant
(``berkowitz``), and compares the claimed formula, written out the same way,
with those.  None of this shares code with the rules: the rules never build
an explicit Jacobian.
"""
from __future__ import annotations

import sympy as sp

from ..model import Verification
from ..verify import combine, prove_equal, rational_zero, within
from .index import I, J
from .layer import Explicit, Layer


def _half_power(e) -> bool:
    return isinstance(e, sp.Pow) and e.exp.is_Rational and e.exp.q == 2


def hold_roots(expr, held=None):
    """``expr`` with every power b**(p/2) written as ρ_b**p, every |e| of a real e free of roots as ρ_{e²}
    (|e| = √(e²)) and sign(e) as e/ρ_{e²}, and the map ρ_b -> √b.

    ``held`` (base -> ρ_b) is shared between calls so that two sides are held alike.
    """
    held = {} if held is None else held
    absolutes = [a for a in expr.atoms(sp.Abs, sp.sign) if a.args[0].is_real and not a.args[0].atoms(sp.Abs, sp.sign)
                 and not any(_half_power(p) for p in a.args[0].atoms(sp.Pow))]
    for a in absolutes:
        held.setdefault(sp.expand(a.args[0] ** 2), sp.Dummy("rho", nonnegative=True))
    for p in expr.atoms(sp.Pow):
        if _half_power(p) and p.base not in held:
            held[p.base] = sp.Dummy("rho", nonnegative=True)

    def swap(p):
        return held[p.base] ** (p.exp * 2) if p.base in held and _half_power(p) else p

    # |e| = ρ and sign(e) = e/ρ with ρ = √(e²) (where e ≠ 0: a derivative of |e| exists only there)
    rho = {a: held[sp.expand(a.args[0] ** 2)] for a in absolutes}
    out = expr.xreplace({a: a.args[0] / rho[a] if isinstance(a, sp.sign) else rho[a] for a in absolutes})
    out = out.replace(lambda e: isinstance(e, sp.Pow), swap)
    return out, {r: sp.sqrt(b) for b, r in held.items()}


def even_powers(expr):
    """|X|**(2n) -> X**(2n) (every quantity here is real)."""
    return expr.replace(lambda e: isinstance(e, sp.Pow) and isinstance(e.base, sp.Abs) and e.exp.is_even,
                        lambda e: e.base.args[0] ** e.exp)


def _zero_modulo_roots(diff, roots: dict) -> bool:
    """Whether ``diff`` (square roots held as ρ_b) is 0 once each ρ_b² is b: the numerator is
    reduced modulo ρ_b² − b; since √b is not rational in the entries, the remainder must vanish."""
    if isinstance(diff, sp.MatrixBase):
        return all(_zero_modulo_roots(e, roots) for e in diff)
    num = sp.numer(sp.cancel(sp.together(diff)))
    for rho, root in roots.items():
        num = sp.rem(sp.expand(num), rho ** 2 - sp.expand(root ** 2), rho)
    return sp.expand(num) == 0


def _clearly_different(claimed, generic):
    """An unverified record when the two sides differ at a few random points (no symbolic search then)."""
    from ..verify import numeric_residual

    try:
        diff = sp.Matrix(claimed) - sp.Matrix(generic) if isinstance(claimed, sp.MatrixBase) else claimed - generic
        residual = within(10.0, "a quick numeric comparison", numeric_residual, diff, 3)
    except (TypeError, ValueError):
        return None
    if residual is not None and residual > 1e-6:
        return Verification("unverified", False, f"the two sides differ by {residual:.3g} at random points",
                            residual, 1e-6, 3)
    return None


def same(claimed, generic, scope: str):
    """``claimed = generic``: exactly, with the square roots of both sides held as the same symbols;
    otherwise by prove_equal on the expressions themselves."""
    early = _clearly_different(claimed, generic)
    if early is not None:
        return early
    if not isinstance(claimed, sp.MatrixBase) and rational_zero(claimed - generic, 10.0) or \
            isinstance(claimed, sp.MatrixBase) and rational_zero(sp.Matrix(claimed) - sp.Matrix(generic), 10.0):
        return Verification("symbolic", True, "the difference cancels to 0 as a rational function of its function "
                            "values", scope=scope)
    held: dict = {}
    left, _ = hold_roots(claimed, held)
    right, roots = hold_roots(generic, held)
    try:
        reduced = bool(roots) and within(20.0, "a check modulo square roots", _zero_modulo_roots, left - right, roots)
    except (sp.PolynomialError, TypeError, ValueError):
        reduced = False
    if reduced:
        return Verification("symbolic", True, "the difference reduces to 0", scope=scope)
    if roots:
        return prove_equal(claimed, generic, scope=scope, seconds=10.0)
    return prove_equal(left, right, scope=scope)


class Checks:
    """The layer written out at its check sizes, with Jacobians and determinants computed once."""

    def __init__(self, layer: Layer, sizes=None):
        self.layer = layer
        self.sizes = tuple(sizes or layer.check_sizes)
        self.explicit = {n: Explicit(layer, n, m=min(n, 2)) for n in self.sizes}
        self._jac: dict = {}
        self._det: dict = {}

    def scope(self, n: int) -> str:
        return f"{self.layer.size} = {n}"

    def jacobian(self, n: int) -> sp.Matrix:
        if n not in self._jac:
            self._jac[n] = self.explicit[n].jacobian()
        return self._jac[n]

    def det(self, n: int):
        """The generic determinant; each square root is held as one symbol meanwhile (Berkowitz on
        entries holding √(Σ (x - x_0)²) otherwise swells for minutes)."""
        if n not in self._det:
            jac, roots = hold_roots(self.jacobian(n))
            self._det[n] = jac.det(method="berkowitz").xreplace(roots)
        return self._det[n]

    def block(self, n: int, a: int, b: int) -> sp.Matrix:
        return self.jacobian(n)[a * n:(a + 1) * n, b * n:(b + 1) * n]

    def entry(self, expr, a: int, b: int, detail: str) -> Verification:
        """An index-form entry ∂y_{a,i}/∂x_{b,j} against the (a, b) block of Matrix.jacobian."""
        out = []
        for n, ex in self.explicit.items():
            mine = sp.Matrix(n, n, lambda p, q: ex.instantiate(expr.subs({I: p + 1, J: q + 1}, simultaneous=True)))
            out.append(same(mine, self.block(n, a, b), self.scope(n)))
        return combine(out, detail)

    def determinant(self, claimed, detail: str) -> Verification:
        """A claimed det ∂y/∂x (index form) against the generic determinant of Matrix.jacobian."""
        return combine([same(ex.instantiate(claimed), self.det(n), self.scope(n))
                        for n, ex in self.explicit.items()], detail)

    def logdet(self, claimed, detail: str, det_form=None) -> Verification:
        """A claimed log|det ∂y/∂x| against log|generic determinant|, or, given ``det_form`` (a determinant
        already checked against the generic one), |det|² from the log against det_form²."""
        out = []
        for n, ex in self.explicit.items():
            mine = ex.instantiate(claimed)
            square = even_powers(sp.expand_power_exp(sp.exp(2 * mine)))
            target = self.det(n) if det_form is None else ex.instantiate(det_form)
            if not square.has(sp.exp, sp.log):  # an |e| left inside is held as √(e²) by same()
                out.append(same(square, target ** 2, self.scope(n)))
            else:
                out.append(same(mine, sp.log(sp.Abs(target)), self.scope(n)))
        return combine(out, detail)

    def unit_determinant(self, detail: str) -> Verification:
        """|det ∂y/∂x| = 1: the square of the generic determinant is 1."""
        return combine([prove_equal(self.det(n) ** 2, 1, scope=self.scope(n)) for n in self.sizes], detail)

    def orthogonal(self, detail: str) -> Verification:
        """Jᵀ J = I for the explicit Jacobian."""
        out = []
        for n in self.sizes:
            jac = self.jacobian(n)
            out.append(prove_equal(jac.T * jac, sp.eye(jac.shape[0]), scope=self.scope(n)))
        return combine(out, detail)
