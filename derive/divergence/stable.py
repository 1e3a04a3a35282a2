"""A form of a KL closed form for computing at the edges of its parameters.

Two rewrites, each applied where the formula has its shape:

* **x log y at x = 0.**  A term c·u·log(v) whose factor u can vanish on the parameters' domain (a
  probability, 1 − p, an end of a uniform at 0 or 1, a Poisson rate) gives 0·(−∞) = NaN in floating point
  where the limit is 0 (KL(Uniform(0, 1) ‖ Beta(1, 1)) = 0, KL(Bernoulli(0) ‖ Bernoulli(q)) = −log(1 − q)).
  It is written ``xlogy(u, v)``: u·log v, and 0 where u = 0 (scipy.special.xlogy, torch.xlogy).
* **Near-equal parameters.**  log θ_p − log θ_q of the same parameter of p and q, computed as a difference of
  logarithms, loses the digits the two share.  It is written log1p((θ_p − θ_q)/θ_q), and the rational terms
  over one denominator with differences of squares factored, so that the small difference is computed once,
  exactly, from the parameters.

What is exported is this form; it is checked against the closed form (equal once xlogy is rewritten as
x log y and log1p as log(1 + ·)) and, numerically, at the edges against their limits.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p


class xlogy(sp.Function):
    """x log y, and 0 where x = 0 (also when y = 0)."""

    nargs = 2
    is_real = True

    def _eval_rewrite_as_log(self, x, y, **kwargs):
        return x * sp.log(y)

    def _eval_evalf(self, prec):
        x, y = self.args
        if x.is_zero:
            return sp.S.Zero
        return (x * sp.log(y))._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        x, y = (printer._print(a) for a in self.args)
        out = rf"\operatorname{{xlogy}}\left({x}, {y}\right)"
        return rf"{out}^{{{exp}}}" if exp else out

    def _pythoncode(self, printer):
        x, y = (printer._print(a) for a in self.args)
        return f"scipy.special.xlogy({x}, {y})"

    _numpycode = _scipycode = _pythoncode

    def _torchcode(self, printer):
        x, y = (printer._print(a) for a in self.args)
        return f"torch.xlogy({x}, {y})"


#: the rewrites, by the short name the catalogue's table shows, and what each does
XLOGY, LOG1P, LIMITED = "xlogy at 0", "log1p of a relative difference", "near p = q: log Γ limits it"
ONE_EXP, LOGGAMMA, GROUPS = "one exponential", "loggamma", "ψ and log Γ terms summed apart"
SAYS = {XLOGY: "x log y written xlogy(x, y), 0 at x = 0",
        LOG1P: "differences of logarithms of the same parameter written log1p of their relative difference, "
               "exp(A) − 1 as expm1(A), and the rational terms over one denominator",
        LIMITED: "near p = q its accuracy is limited by log Γ near its zero (absolute, not relative, accuracy)",
        ONE_EXP: "a product of exponentials and Γ computed as one exponential of a sum (no overflow of a factor "
                 "whose product is moderate)",
        LOGGAMMA: "log Γ computed directly (loggamma), so that Γ does not overflow for large arguments",
        GROUPS: "terms of the same special function summed first (ψ, log Γ), so that a difference that vanishes "
                "at p = q is not lost beside larger terms"}


@dataclass(frozen=True)
class Stable:
    expr: object
    note: str
    #: the rewrites applied, by their short names (:data:`SAYS` says each in words)
    edges: tuple


def _can_vanish(u, params: dict) -> bool:
    """True when u (a factor of a coefficient) is 0 at an edge of its parameters' domain (``Parameter.edges``:
    a probability at 0 or 1, a rate at 0, a uniform's end at 0 or 1)."""
    free = u.free_symbols
    if not free or not free <= set(params):
        return False
    return any(sp.simplify(u.subs(s, v)) == 0 for s in free for v in params[s].edges)


def _xlogy(expr, params: dict):
    """c·u·log(v) -> c·xlogy(u, v) for a factor u of the coefficient that can vanish."""
    logs = sorted(expr.atoms(sp.log), key=sp.default_sort_key)
    if not logs:
        return expr, False
    collected = sp.collect(sp.expand(expr), logs, evaluate=False)
    out, changed = sp.S.Zero, False
    for key, coeff in collected.items():
        if not isinstance(key, sp.log):
            out += key * coeff
            continue
        (v,) = key.args
        factors = [f for f in sp.Mul.make_args(sp.factor(coeff)) if f.free_symbols]
        choice = next((f for f in factors if f == v), None) or next(
            (f for f in factors if not f.is_Pow and _can_vanish(f, params)), None)
        if choice is None:
            out += coeff * key
        else:
            out += sp.cancel(coeff / choice) * xlogy(choice, v)
            changed = True
    return out, changed


def _log1p(expr, params: dict):
    """log θ_p − log θ_q -> log1p((θ_p − θ_q)/θ_q) for the same parameter of p and q."""
    expr = sp.expand(sp.expand_log(expr, force=True), power_exp=False)
    pairs, changed = _same_parameters(params), False
    for tp, tq in pairs:
        cp, cq = expr.coeff(sp.log(tp)), expr.coeff(sp.log(tq))
        if cp != 0 and sp.simplify(cp + cq) == 0 and not cp.has(sp.log):
            expr = sp.expand(expr - cp * sp.log(tp) - cq * sp.log(tq), power_exp=False)
            expr += cp * log1p(sp.factor(tp - tq) / tq)
            expr = _relative_ratios(expr, tp, tq)
            changed = True
    return expr, changed


def _one_log(expr):
    """A sum of integer multiples of logarithms (and nothing else) as one log1p: Σ c_i log a_i = log(N/D) =
    log1p((N − D)/D), N − D expanded and factored by the parameters it holds (Cauchy's
    ((γ_p − γ_q)² + (x0_p − x0_q)²)/(4 γ_p γ_q))."""
    terms = [t.as_coeff_Mul() for t in sp.Add.make_args(sp.expand(sp.expand_log(expr, force=True), power_exp=False))]
    if len(terms) < 2 or not all(c.is_Integer and isinstance(f, sp.log) for c, f in terms):
        return expr, False
    num = sp.Mul(*[f.args[0] ** c for c, f in terms if c > 0])
    den = sp.Mul(*[f.args[0] ** -c for c, f in terms if c < 0])
    difference = sp.Add(*[sp.factor(part) for part in _by_symbols(sp.expand(num - den))])
    return log1p(difference / den), True


def _relative_ratios(expr, tp, tq):
    """θ_p/θ_q inside log Γ written 1 + (θ_p − θ_q)/θ_q: the argument near p = q keeps its small part exactly."""
    def rewrite(e):
        return sp.loggamma(e.args[0].subs(tp / tq, 1 + sp.factor(tp - tq) / tq))
    return expr.replace(lambda e: isinstance(e, sp.loggamma) and e.args[0].has(tp / tq), rewrite)


def _special_of_rewritten(expr) -> bool:
    rewritten = set().union(*(a.free_symbols for a in expr.atoms(log1p)))
    return any(a.free_symbols & rewritten for a in expr.atoms(sp.loggamma, sp.polygamma))


def _same_parameters(params: dict) -> list:
    names = {s.name: s for s in params}
    return [(s, names[s.name[:-2] + "_q"]) for s in params if s.name.endswith("_p") and s.name[:-2] + "_q" in names
            and params[s].kind == "positive"]


SPECIAL = (sp.log, log1p, xlogy, sp.loggamma, sp.polygamma, sp.gamma, sp.beta)


def _plain_term(term) -> bool:
    """A term with no logarithm or special function outside an exponential."""
    return not any(f.has(*SPECIAL) for f in sp.Mul.make_args(term) if not isinstance(f, sp.exp))


def _rational_together(expr):
    """The terms without logarithms or special functions (exponentials allowed) over one denominator; in the
    numerator c·exp(A) written c·expm1(A) + c, so that the 1 cancels exactly, and the terms grouped by the
    parameters they hold and factored (a difference of squares, γ(β_p − β_q), kept together)."""
    plain = sp.Add(*[t for t in sp.Add.make_args(expr) if _plain_term(t)])
    if plain == 0 or len(sp.Add.make_args(plain)) < 2:
        return expr
    held = {e: sp.Dummy() for e in plain.atoms(sp.exp)}
    exponents = {d: sp.Dummy() for d in held.values()}
    num, den = sp.fraction(sp.together(plain.xreplace(held)))
    num = sp.expand(num).xreplace({d: _Expm1(a) + 1 for d, a in exponents.items()})
    num = sp.Add(*[sp.factor(part) for part in _by_symbols(sp.expand(num))])
    back = {a: e.args[0] for e, d in held.items() for a in [exponents[d]]}
    return expr - plain + num.replace(_Expm1, expm1).xreplace(back) / den


class _Expm1(sp.Function):
    """exp(x) − 1 held unevaluated while the numerator is expanded and factored."""


def _by_symbols(poly):
    """The numerator's terms grouped by which symbols they contain (a difference of squares kept together)."""
    groups: dict = {}
    for term in sp.Add.make_args(poly):
        key = frozenset(s.name.split("_")[0] for s in term.free_symbols)
        groups[key] = groups.get(key, 0) + term
    return list(groups.values())


def stable_form(value, parameters) -> Stable:
    """``value`` (a closed form or a Piecewise of it and ∞) in its form for computing; ``parameters``:
    (symbol, Parameter) pairs."""
    params = dict(parameters)
    if isinstance(value, sp.Piecewise):
        (closed, cond), rest = value.args[0], value.args[1:]
        inner = stable_form(closed, parameters)
        return Stable(sp.Piecewise((inner.expr, cond), *rest), inner.note, inner.edges)
    edges = []
    value, merged = _one_exponential(value)
    value, lgamma = _loggamma(value)
    expr, changed = _xlogy(value, params)
    if changed:
        edges.append(XLOGY)
    else:
        expr, changed = _log1p(value, params)
        if not changed:
            expr, changed = _one_log(value)
        if changed:
            edges.append(LOG1P)
            expr = _rational_together(expr)
            if _special_of_rewritten(expr):
                edges.append(LIMITED)
    if merged:
        edges.append(ONE_EXP)
    if lgamma:
        edges.append(LOGGAMMA)
    expr, ordered = _in_groups(expr)
    if ordered:
        edges.append(GROUPS)
    note = ("the KL in a form for computing: " + "; ".join(SAYS[e] for e in edges)) if edges else \
        "the KL as derived (no rewrite applies to its shape)"
    return Stable(expr, note, tuple(edges))


class grouped(sp.Function):
    """A sum evaluated on its own before it is added to the rest (parentheses in the printed code): the terms of
    one special function whose difference vanishes at p = q, kept apart from larger terms."""

    nargs = 1

    def _latex(self, printer, exp=None):
        return printer._print(self.args[0])

    def _pretty(self, printer):
        return printer._print(self.args[0]).parens()

    def _code(self, printer):
        return f"({printer._print(self.args[0])})"

    _pythoncode = _numpycode = _scipycode = _torchcode = _code

    def _sympystr(self, printer):
        return f"({printer._print(self.args[0])})"


GROUPED = (sp.polygamma, sp.loggamma)


def _kind(term):
    atoms = sorted({type(a).__name__ for a in term.atoms(*GROUPED)})
    return tuple(atoms)


def _in_groups(expr):
    """The terms of each special function (ψ, log Γ) in one ``grouped`` sum, ψ's collected
    (α_p ψ(α_p) − α_q ψ(α_p) = (α_p − α_q) ψ(α_p)), the rest as they are."""
    if not expr.has(*GROUPED):
        return expr, False
    groups: dict = {}
    for term in sp.Add.make_args(expr):
        groups.setdefault(_kind(term), []).append(term)
    out = []
    for kind, terms in groups.items():
        total = sp.Add(*terms)
        if kind == ("polygamma",):
            total = sp.collect(sp.expand(total), sorted(total.atoms(sp.polygamma), key=sp.default_sort_key),
                               func=sp.factor)
        out.append(grouped(total) if kind and len(sp.Add.make_args(total)) > 1 else total)
    return sp.Add(*out), True


def _one_exponential(expr):
    """c·Γ(z)·exp(a)·exp(b) -> c·exp(a + b + log Γ(z)) for each term with two or more such factors."""
    out, changed = sp.S.Zero, False
    for term in sp.Add.make_args(expr):
        factors = sp.Mul.make_args(term)
        grow = [f for f in factors if isinstance(f, (sp.exp, sp.gamma))]
        if len(grow) < 2:
            out += term
            continue
        exponent = sp.Add(*[f.args[0] if isinstance(f, sp.exp) else sp.log(f) for f in grow])
        out += sp.Mul(*[f for f in factors if f not in grow]) * sp.exp(sp.factor(exponent))
        changed = True
    return out, changed


def _loggamma(expr):
    """log Γ(z) -> loggamma(z)."""
    new = expr.replace(lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sp.gamma),
                       lambda e: sp.loggamma(e.args[0].args[0]))
    return new, new != expr


def plain(expr):
    """xlogy, log1p and loggamma written back as x log y, log(1 + ·) and log Γ: what the stable form is
    compared with."""
    expr = sp.sympify(expr).replace(grouped, lambda e: e).replace(xlogy, lambda x, y: x * sp.log(y))
    expr = expr.replace(expm1, lambda x: sp.exp(x) - 1).rewrite(sp.log)
    return expr.replace(sp.loggamma, lambda z: sp.log(sp.gamma(z)))
