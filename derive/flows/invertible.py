"""The invertibility verdict of a layer, by its structure (see :mod:`derive.flows.condition`)."""
from __future__ import annotations

import sympy as sp

from ..model import Step, Verification
from . import condition as cond
from .index import I, J, K, canonical, pull_constants


def invertibility(checks, structure) -> tuple:
    """(Verdict, steps) for the layer whose Jacobian has this structure."""
    rule = structure.rule
    if rule in ("orthogonal_det", "permutation_det"):
        return cond.verdict(True, cond.ALWAYS, f"the Jacobian is {structure.name.split()[0]}: |det| = 1 "
                                               "everywhere and the inverse is explicit"), []
    if rule in ("elementwise_logdet", "triangular_determinant", "block_triangular_determinant"):
        return _triangular(checks, structure)
    if rule == "determinant_lemma":
        found = _planar(checks, structure) or _radial(checks, structure)
        if found:
            return found
    return cond.verdict(None, sp.Ne(sp.Symbol("det"), 0), "no closed-form inverse; a condition for "
                        "invertibility was not derived for this structure (the determinant must not vanish)"), []


def _triangular(checks, structure):
    diagonals = [t.diagonal for (a, b), t in structure.terms.items() if a == b]
    holds, condition, reason, factors = cond.nonzero_diagonal(checks.layer, diagonals)
    if not factors:
        return cond.verdict(holds, condition, reason), []
    check = cond.singular_at_violation(checks, factors)
    step = Step(sp.Symbol("invertible"), condition, reason, check)
    return cond.verdict(holds, condition, reason), [step]


def _sign_change(det, x, params: dict, grid) -> bool:
    """Whether the explicit determinant takes both signs on the grid of x values."""
    at = det.xreplace(params)
    if at.free_symbols - {x}:
        raise ValueError(f"parameters left free: {sorted(map(str, at.free_symbols - {x}))}")
    f = sp.lambdify(x, at, "math")
    values = [f(v) for v in grid]
    return min(values) < 0 < max(values)


def _planar(checks, structure):
    t = structure.terms[(0, 0)]
    a, c, b = t.rank_one[0]
    layer = checks.layer
    if t.diagonal != 1 or a.has(*layer.inputs) or b.has(*layer.inputs):
        return None
    sums = [s for s in c.atoms(sp.Sum) if s.has(*layer.inputs)]
    if len(sums) != 1:
        return None
    rho = canonical(pull_constants(sp.Sum(a.subs(I, K) * b.subs(J, K), (K, 1, layer.size))))
    found = cond.line_condition(c, sums[0], rho)
    if found is None:
        return None
    condition, span = found
    reason = (f"along the direction of the rank-one term the layer is the scalar map g(t) = t + ρ h(t + b) with "
              f"ρ = {rho}; it is injective exactly when g' = 1 + ρ h' ≥ 0, and h' takes values in {span}, so "
              f"{condition}")
    step = Step(sp.Symbol("invertible"), condition, reason, _planar_check(checks, rho, condition))
    return cond.verdict(None, condition, reason), [step]


def _planar_check(checks, rho, condition) -> Verification:
    """At size 1 with ρ = 2 × the bound the generic determinant changes sign; at half the bound it does not."""
    ex = checks.explicit[1]
    det = checks.det(1)
    rho1 = ex.instantiate(rho)
    bound = condition.rhs
    (x,) = ex.x
    grid = [v / 10 for v in range(-100, 101)]
    outcomes = []
    try:
        for scale in (2, sp.Rational(1, 2)):
            params = _fit(rho1, scale * bound, det, x)
            outcomes.append(_sign_change(det, x, params, grid))
    except (TypeError, ValueError, IndexError, ZeroDivisionError, OverflowError) as exc:
        return Verification.unverified(f"the sign-change check could not be run ({exc})")
    if outcomes == [True, False]:
        return Verification("numeric", True, "at size 1 the generic determinant changes sign over x in [-10, 10] "
                            "when ρ is twice the bound, and keeps its sign at half the bound", 0.0, 0.0, len(grid))
    return Verification.unverified(f"sign changes {outcomes} do not match the condition")


def _fit(rho1, target, det, x) -> dict:
    """Parameter values (size 1) with ρ = target; the other symbols set to fixed small values."""
    symbols = sorted((det.free_symbols | rho1.free_symbols) - {x}, key=str)
    values = {s: sp.Rational(1, 2) for s in symbols}
    free = [s for s in symbols if rho1.has(s)]
    fixed = {s: v for s, v in values.items() if s != free[0]}
    solved = sp.solve(sp.Eq(rho1.xreplace(fixed), target.xreplace(fixed)), free[0])
    values[free[0]] = solved[0]
    return values


def _radial(checks, structure):
    t = structure.terms[(0, 0)]
    layer = checks.layer
    roots = [p for p in t.diagonal.atoms(sp.Pow) if p.exp == sp.Rational(1, 2) and p.base.has(sp.Sum)]
    if len(roots) != 1:
        return None
    rho = sp.Symbol("rho", nonnegative=True)
    g_prime = sp.simplify(sp.diff(rho * t.diagonal.xreplace({roots[0]: rho}), rho))
    found = cond.ray_condition(g_prime, rho)
    if found is None:
        return None
    condition, at_zero, _ = found
    reason = (f"the layer maps each ray from the centre to itself by g(ρ) = ρ D(ρ) (ρ the distance); "
              f"g'(ρ) = {g_prime} is monotone in ρ, so g' ≥ 0 for every ρ ≥ 0 exactly when g'(0) = {at_zero} ≥ 0 "
              f"(at ρ → ∞, g' → 1): {condition}")
    step = Step(sp.Symbol("invertible"), condition, reason, _radial_check(checks, condition))
    return cond.verdict(None, condition, reason), [step]


def _radial_check(checks, condition) -> Verification:
    ex = checks.explicit[1]
    det = checks.det(1)
    (x,) = ex.x
    beta = condition.lhs if isinstance(condition.lhs, sp.Symbol) else None
    if beta is None:
        return Verification.unverified("the condition is not a bound on one parameter")
    others = {s: sp.Rational(1, 2) if s.is_positive else 0 for s in det.free_symbols - {x, beta}}
    grid = [v / 10 for v in range(-100, 101) if v != 0]
    bound = condition.rhs.xreplace(others)
    bad = _sign_change(det, x, {**others, beta: 2 * bound}, grid)
    good = _sign_change(det, x, {**others, beta: bound / 2}, grid)
    if bad and not good:
        return Verification("numeric", True, "at size 1 the generic determinant changes sign over x in [-10, 10] "
                            "when the parameter is twice the bound and keeps its sign at half of it", 0.0, 0.0,
                            len(grid))
    return Verification.unverified(f"sign changes ({bad}, {good}) do not match the condition")
