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
    if rule == "sylvester_identity":
        found = _sylvester(checks, structure)
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
              f"ρ = {rho}; it is injective exactly when g' = 1 + ρ h' ≥ 0, and h' takes values in "
              f"{cond.interval_text(span)}, so "
              f"{condition}")
    step = Step(sp.Symbol("invertible"), condition, reason, _planar_check(checks, rho, condition))
    return cond.verdict(None, condition, reason), [step]


def _planar_check(checks, rho, condition) -> Verification:
    """At size 1 with ρ = 2 × the bound the generic determinant changes sign; at half the bound it does not."""
    ex = checks.explicit[1]
    det = checks.det(1)
    rho1 = ex.instantiate(rho)
    bound = ex.instantiate(condition.rhs)
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


def _matrix_factor(e, layer):
    """(constant, matrix) when e is a constant times an entry of a parameter matrix."""
    const, rest = e.as_coeff_Mul()
    if isinstance(rest, sp.Indexed) and len(rest.indices) == 2 and not rest.has(*layer.inputs):
        return const, rest.base
    return None


def _sylvester(checks, structure):
    """y = x + A h(Bx + c): invertible when the residual is a contraction, ‖A‖₂ ‖B‖₂ sup|h'| < 1."""
    from ..notation import Label

    t = structure.terms[(0, 0)]
    layer = checks.layer
    if t.diagonal != 1 or len(t.rank_m) != 1:
        return None
    a, c, b, _, _ = t.rank_m[0]
    fa, fb = _matrix_factor(a, layer), _matrix_factor(b, layer)
    args = {arg for f in c.atoms(sp.Function) for arg in f.args if arg.has(*layer.inputs)}
    if fa is None or fb is None or len(args) != 1:
        return None
    (arg,) = args
    found = cond.derivative_bound(c.xreplace({arg: sp.Symbol("z", real=True)}), sp.Symbol("z", real=True))
    if found is None:
        return None
    bound, span = found
    lipschitz = sp.Abs(fa[0] * fb[0]) * bound
    norms = [Label(f"‖{m.label}‖₂", rf"\lVert {sp.latex(m.label)} \rVert_2") for m in (fa[1], fb[1])]
    condition = sp.Lt(norms[0] * norms[1], 1 / lipschitz)
    reason = (f"the residual x ↦ {fa[1].label} h({fb[1].label}x + c) has Jacobian {fa[1].label} diag(h') "
              f"{fb[1].label}, with h' = {cond.formula_text(c.xreplace({arg: sp.Symbol('z')}))} taking values in "
              f"{cond.interval_text(span)}; it is a "
              f"contraction when ‖{fa[1].label}‖₂ ‖{fb[1].label}‖₂ < {cond.formula_text(condition.rhs)}, and then x = y − {fa[1].label} h({fb[1].label}x + c) has exactly one "
              "solution for every y (Banach's fixed-point theorem). The condition is sufficient: at size 1 it is "
              "also necessary when the product of the two factors is negative")
    check = _sylvester_check(checks, fa, fb, lipschitz)
    step = Step(sp.Symbol("invertible"), condition, reason, check)
    return cond.verdict(None, condition, reason, {"sup |h'|": str(bound)}), [step]


def _sylvester_check(checks, fa, fb, lipschitz) -> Verification:
    """Size 1 (A, B scalars): AB = −1.1 × the bound makes the generic determinant change sign; ±0.9 × the
    bound does not.  Size 3: random A, B inside the bound give a positive generic determinant."""
    try:
        tight = _sylvester_size_one(checks, fa, fb, lipschitz)
        inside = _sylvester_random(checks, fa, fb, lipschitz)
    except (TypeError, ValueError, IndexError, ZeroDivisionError, OverflowError) as exc:
        return Verification.unverified(f"the sign-change check could not be run ({exc})")
    if tight != [True, False, False]:
        return Verification.unverified(f"sign changes at size 1 {tight} do not match the condition")
    if inside is not None:
        return Verification.unverified(f"the determinant at size 3 is {inside} inside the condition")
    return Verification("numeric", True, "at size 1 the generic determinant changes sign over x in [-10, 10] "
                        "when AB is −1.1 × the bound and keeps its sign at ±0.9 × the bound; at size 3 (m = 2) "
                        "with 20 random A, B scaled to 0.9 × the bound it is positive at 50 random points each",
                        0.0, 0.0, 201 * 3 + 1000)


def _sylvester_size_one(checks, fa, fb, lipschitz) -> list:
    ex, det = checks.explicit[1], checks.det(1)
    (x,) = ex.x
    a1, b1 = ex._symbol(fa[1], (1, 1)), ex._symbol(fb[1], (1, 1))
    others = {s: sp.Rational(1, 2) for s in det.free_symbols - {x, a1, b1}}
    grid = [v / 10 for v in range(-100, 101)]
    out = []
    for scale in (sp.Rational(-11, 10), sp.Rational(-9, 10), sp.Rational(9, 10)):
        product = scale / lipschitz.xreplace(others)
        out.append(_sign_change(det, x, {**others, b1: sp.Rational(1, 2), a1: 2 * product}, grid))
    return out


def _sylvester_random(checks, fa, fb, lipschitz):
    """None when the generic determinant at size 3 is positive at every sampled point, else the bad value."""
    import numpy as np

    n = checks.sizes[-1]
    ex, det = checks.explicit[n], checks.det(n)
    names = sorted(det.free_symbols, key=str)
    f = sp.lambdify(names, det, "numpy")
    keys = {v: k for k, v in ex.symbols.items() if not (isinstance(k[0], str) and k[0] == "fn")}
    rng = np.random.default_rng(3)
    for _ in range(20):
        mats = {fa[1]: rng.normal(size=(n, ex.m)), fb[1]: rng.normal(size=(ex.m, n))}
        scale = np.sqrt(0.9 / float(lipschitz) / np.linalg.norm(mats[fa[1]], 2) / np.linalg.norm(mats[fb[1]], 2))
        mats = {k: v * scale for k, v in mats.items()}
        point = rng.normal(size=(len(names), 50)) * 3
        for row, s in enumerate(names):
            base, idx = keys[s]
            if base in mats:
                point[row] = mats[base][idx[0] - 1, idx[1] - 1]
        values = f(*point)
        if np.min(values) <= 0:
            return float(np.min(values))
    return None
