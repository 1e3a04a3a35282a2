"""When a layer is invertible: conditions derived from its Jacobian.

* A triangular Jacobian (element-wise, coupling, autoregressive, triangular
  linear) is invertible exactly when no diagonal entry vanishes.  The diagonal
  is factored; factors known to be positive (exp, cosh, a square root of a sum
  of squares, a sigmoid) are dropped; what is left, when it involves only
  parameters, is the condition (``a_i ≠ 0``).
* Identity plus rank one along a fixed direction (planar: y = x + u h(wᵀx + b)):
  along w the layer is the scalar map g(t) = t + (wᵀu) h(t + b) (t = wᵀx), and
  the layer is injective exactly when g is; g' = 1 + (wᵀu) h'(t + b) ≥ 0 over
  the range of h' gives the condition (wᵀu ≥ −1 for h = tanh).
* Identity plus rank one along the ray from a centre (radial): the layer
  maps each ray to itself by g(ρ) = ρ D(ρ); g' ≥ 0 for ρ ≥ 0 gives β ≥ −α.
* Identity plus rank m (Sylvester: y = x + A h(Bx + c)): the residual
  A h(Bx + c) is Lipschitz with constant at most ‖A‖₂ ‖B‖₂ sup|h'|; below 1
  the layer is invertible (x = y − A h(Bx + c) is a contraction in x, so it
  has exactly one solution).  The condition is sufficient; at size 1 it is
  also necessary in the direction AB < 0, which is what its check tests.
* Orthogonal and permutation layers are always invertible.

Each condition is checked on the generic determinant of the layer written out
at size 1: a parameter value that violates it makes that determinant vanish
or change sign.
"""
from __future__ import annotations

import sympy as sp
from sympy.calculus.util import function_range

from ..model import Verdict, Verification

ALWAYS = sp.true


def positive(f) -> bool:
    if f.is_positive:
        return True
    try:
        return bool(sp.simplify(f.rewrite(sp.exp)).is_positive)
    except Exception:  # noqa: BLE001 - a rewrite SymPy cannot do leaves the factor undecided
        return False


def _depends(expr, layer) -> bool:
    from ..notation import Component
    from .index import Prefix

    return expr.has(*layer.inputs) or expr.has(Component, Prefix)


def nonzero_diagonal(layer, diagonals: list) -> tuple:
    """(holds, condition, reason, parameter factors) for a triangular Jacobian with these diagonals."""
    factors = []
    for D in diagonals:
        if positive(D):
            continue
        for f in sp.Mul.make_args(sp.factor(D)):
            base = f.base if isinstance(f, sp.Pow) and f.exp.is_positive else f
            if f.is_Number and f != 0 or positive(base):
                continue
            if _depends(base, layer):
                return None, sp.Ne(D, 0), "the diagonal entry must not vanish for any input", []
            factors.append(base)
    if not factors:
        return True, ALWAYS, "every diagonal entry of the triangular Jacobian is positive for every input", []
    cond = sp.And(*[sp.Ne(f, 0) for f in dict.fromkeys(factors)])
    return None, cond, ("the Jacobian is triangular, so it is invertible exactly when no diagonal entry vanishes; "
                        "the entries are positive apart from these parameter factors"), factors


def singular_at_violation(checks, factors) -> Verification:
    """Setting a parameter factor to 0 makes the generic determinant (size 1) vanish."""
    ex = checks.explicit[checks.sizes[0]]
    det = checks.det(checks.sizes[0])
    for f in factors:
        f1 = ex.instantiate(f, 1)
        symbol = sorted(f1.free_symbols, key=str)[0]
        zero = sp.solve(sp.Eq(f1, 0), symbol)
        if not zero or sp.simplify(det.subs(symbol, zero[0])) != 0:
            return Verification.unverified(f"setting {f1} = 0 did not make the generic determinant vanish")
    return Verification("exact", True, "a parameter value that violates the condition makes the generic "
                                       "determinant of the written-out layer vanish",
                        scope=checks.scope(checks.sizes[0]))


def line_condition(c, z_arg, rho) -> tuple:
    """g(t) = t + ρ h(t + b) is monotone iff 1 + ρ v ≥ 0 for v in the range of h' = c(t): ρ ≥ −1/sup c."""
    t = sp.Symbol("t", real=True)
    c_t = c.xreplace({z_arg: t})
    if c_t.has(sp.Sum, sp.Indexed):
        return None
    try:
        span = function_range(c_t, t, sp.S.Reals)
    except (TypeError, ValueError, NotImplementedError):  # SymPy cannot order the periodic pieces (sin, cos)
        return None
    if not isinstance(span, sp.Interval) or span.inf < 0 or not span.sup.is_finite:
        return None
    return sp.Ge(rho, -1 / span.sup), span


def ray_condition(g_prime, rho) -> tuple | None:
    """g'(ρ) ≥ 0 on ρ ≥ 0 when g' is monotone in ρ: at both ends."""
    second = sp.factor(sp.diff(g_prime, rho))
    if not all(f.is_positive or not f.has(rho) for f in sp.Mul.make_args(second)):
        return None
    at_zero = sp.simplify(g_prime.subs(rho, 0))
    at_inf = sp.limit(g_prime, rho, sp.oo)
    params = sorted(at_zero.free_symbols, key=str)
    real = [s for s in params if not s.is_positive]
    if len(real) != 1 or at_inf.free_symbols:
        return None
    cond = sp.solve(sp.Ge(at_zero, 0), real[0])
    return cond, at_zero, at_inf


def interval_text(span) -> str:
    """An interval as a reader writes it: (0, 1], [0, ∞)."""
    if not isinstance(span, sp.Interval):
        return str(span)
    left = "(" if span.left_open else "["
    right = ")" if span.right_open else "]"
    inf, sup = (("∞" if v is sp.oo else "−∞" if v is -sp.oo else sp.sstr(v)) for v in (span.inf, span.sup))
    return f"{left}{inf}, {sup}{right}"


def formula_text(expr) -> str:
    """A formula inside a sentence, with powers as ^."""
    return sp.sstr(expr).replace("**", "^")


def verdict(holds, condition, reason, evidence=None) -> Verdict:
    return Verdict("is the layer invertible?", holds, condition, reason, evidence or {})


def derivative_bound(c, z_arg):
    """sup |c| over the real line, with c = c(z) a function of one argument: (bound, range) or None."""
    t = sp.Symbol("t", real=True)
    c_t = c.xreplace({z_arg: t})
    if c_t.has(sp.Sum, sp.Indexed) or c_t.free_symbols != {t}:
        return None
    try:
        span = function_range(c_t, t, sp.S.Reals)
    except (TypeError, ValueError, NotImplementedError):
        return None
    if not isinstance(span, sp.Interval) or not (span.inf.is_finite and span.sup.is_finite):
        return None
    bound = sp.Max(sp.Abs(span.inf), sp.Abs(span.sup))
    return (bound, span) if bound.is_positive else None
