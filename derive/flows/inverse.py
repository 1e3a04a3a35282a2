"""The inverse of a layer, derived from its component equations.

* Triangular structures (element-wise, coupling, autoregressive, triangular
  linear): each output block's equation is solved for x_{b,i} in the order that
  makes the system triangular.  The solution is *closed form* when it involves
  only y and blocks solved before, and a *recursion* when it involves x_{b,k}
  for k < i (computed for i = 1, 2, ... in turn).
* A permutation: x_j = y_{p⁻¹(j)}.
* An orthogonal linear map: x = Jᵀ y.
* Otherwise (planar, radial, Sylvester): no closed form.

Each solution is checked both ways in index form (the definition after the
inverse gives y, the inverse after the definition gives x) and on the layer
written out at small sizes.
"""
from __future__ import annotations

import sympy as sp

from ..model import Step
from ..verify import combine, prove_equal
from .index import I, J, K, Prefix, canonical, settle

CLOSED, RECURSION, NONE = "closed form", "recursion", "no closed form"


INVERSES = {sp.exp: sp.log, sp.log: sp.exp, sp.tanh: sp.atanh, sp.atanh: sp.tanh, sp.sinh: sp.asinh,
            sp.asinh: sp.sinh}


def peel(value, expr, unknown):
    """Solve value = expr for ``unknown`` by undoing expr's outer operations one at a time, while the
    unknown occurs in only one argument; None when that is not possible."""
    while expr != unknown:
        holding = [a for a in expr.args if a.has(unknown)]
        if len(holding) != 1:
            return None
        (inner,) = holding
        if isinstance(expr, sp.Add):
            value = value - (expr - inner)
        elif isinstance(expr, sp.Mul):
            value = value / (expr / inner)
        elif isinstance(expr, sp.Pow) and expr.base == inner and expr.exp == -1:
            value = 1 / value
        elif type(expr) in INVERSES:
            value = INVERSES[type(expr)](value)
        else:
            return None
        expr = inner
    return value


def _solve(equation, unknown):
    """The one solution of ``equation`` that undoes it at random real points (None if not exactly one)."""
    peeled = peel(equation.lhs, equation.rhs, unknown)
    if peeled is not None:
        candidates = [peeled]
    else:
        try:
            candidates = [c for c in sp.solve(equation, unknown, dict=False) if not c.has(sp.I)]
        except NotImplementedError:  # x + a·tanh(x) = y: SymPy has no method for it, so no closed form
            candidates = []
    good = [c for c in candidates if _undoes(c, equation, unknown)]
    return good[0] if len(good) == 1 else None


def _undoes(candidate, equation, unknown) -> bool:
    """candidate(y = f(x)) = x at a few random points (x, parameters and conditioner values random)."""
    import random

    from ..notation import Component

    rng = random.Random(7)
    back = candidate.xreplace({equation.lhs: equation.rhs})
    sizes = {s: 3 for s in back.free_symbols if s.is_integer and s != I}
    back = back.subs(sizes).doit()
    for _ in range(3):
        atoms = (back.atoms(sp.Indexed, Component, Prefix) | back.free_symbols) - {I}
        values = {a: sp.Float(rng.uniform(0.2, 0.9)) for a in atoms if not isinstance(a, sp.IndexedBase)}
        try:  # a candidate with a Piecewise on a complex value (abs, roots) cannot be evaluated: not a solution
            got = sp.N(back.xreplace(values)) - values.get(unknown, unknown)
        except TypeError:
            return False
        if not (got.is_number and abs(complex(got)) < 1e-9):
            return False
    return True


def _recursive(solution, base) -> bool:
    return solution.has(base) or any(isinstance(p, Prefix) and p.args[2] == base for p in solution.atoms(Prefix))


def triangular_inverse(layer, order) -> dict | None:
    """block index -> x_{b,i} solved from y_{b,i} (None when an equation cannot be solved)."""
    out = {}
    for b in order:
        sol = _solve(sp.Eq(layer.outputs[b][I], layer.equations[b]), layer.inputs[b][I])
        if sol is None:
            return None
        out[b] = sol
    return out


def _index_roundtrips(layer, solutions: dict) -> list:
    checks = []
    for b, sol in solutions.items():
        x_i, y_i, eq = layer.inputs[b][I], layer.outputs[b][I], layer.equations[b]
        checks.append(prove_equal(eq.xreplace({x_i: sol}), y_i))
        checks.append(prove_equal(sol.xreplace({y_i: eq}), x_i))
    return checks


def _explicit_roundtrip(checks, solutions: dict) -> list:
    """inverse after forward gives x, on the layer written out at sizes up to 3."""
    out = []
    layer = checks.layer
    for n, ex in checks.explicit.items():
        if n > 3:
            continue
        forward = dict(zip(ex.y, ex.forward()))
        got = sp.Matrix([ex.instantiate(solutions[b], t).xreplace(forward)
                         for b in range(len(layer.inputs)) for t in range(1, n + 1)])
        out.append(prove_equal(got, sp.Matrix(ex.x), scope=checks.scope(n)))
    return out


def inverse_steps(checks, structure, entries) -> tuple:
    """(kind, {block: x_{b,i}}, steps)."""
    layer = checks.layer
    if structure.rule in ("elementwise_logdet", "triangular_determinant", "block_triangular_determinant"):
        order = structure.order or (0,)
        solutions = triangular_inverse(layer, order)
        if solutions is None:
            return NONE, {}, []
        kind = RECURSION if any(_recursive(s, layer.inputs[b]) for b, s in solutions.items()) else CLOSED
        verification = combine(_index_roundtrips(layer, solutions) + _explicit_roundtrip(checks, solutions),
                               "both round trips reduce to the identity in index form (every i and size) and on "
                               "the layer written out")
        steps = [Step(layer.inputs[b][I], solutions[b], _why_solved(layer, b, order, solutions[b]), verification)
                 for b in order]
        return kind, solutions, steps
    if structure.rule == "permutation_det":
        p = structure.terms[(0, 0)].permutation[0][1]
        q = sp.solve(sp.Eq(p, J), I)[0].subs(J, I)
        sol = {0: layer.outputs[0][q]}
        step = Step(layer.inputs[0][I], sol[0], "y_i = x_p(i), so x_j = y_p⁻¹(j)",
                    combine(_explicit_roundtrip(checks, sol), "the inverse after the layer gives x"))
        return CLOSED, sol, [step]
    if structure.rule == "orthogonal_det":
        sol = {0: _transpose_apply(entries[(0, 0)], layer)}
        step = Step(layer.inputs[0][I], sol[0], "the layer is linear with an orthogonal Jacobian J: x = Jᵀ y",
                    combine(_explicit_roundtrip(checks, sol), "the inverse after the layer gives x"))
        return CLOSED, sol, [step]
    return NONE, {}, []


def _transpose_apply(entry, layer):
    """(Jᵀ y)_i = Σ_k J_ki y_k, evaluated."""
    y = layer.outputs[0]
    total = sp.Sum(entry.subs({I: K, J: I}, simultaneous=True) * y[K], (K, 1, layer.size))
    total = sp.expand(total).doit()
    return sp.simplify(canonical(settle(total, layer.sizes())))


def _why_solved(layer, b, order, solution) -> str:
    name = f"y_{b + 1},i" if len(layer.inputs) > 1 else "y_i"
    unknown = f"x_{b + 1},i" if len(layer.inputs) > 1 else "x_i"
    before = [f"x_{c + 1}" for c in order[:order.index(b)]]
    known = f" ({', '.join(before)} known from the previous step)" if before else ""
    if _recursive(solution, layer.inputs[b]):
        return (f"solve {name} for {unknown}{known}; the solution involves x_k for k < i only, so it is a "
                "recursion: x_1, x_2, … are computed in turn")
    return f"solve {name} for {unknown}{known}"
