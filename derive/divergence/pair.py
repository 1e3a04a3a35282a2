"""KL(p ‖ q) of two one-dimensional families, derived from their densities.

1. the definition: the integral (or sum) of p (log p − log q) over the support of p;
2. log p − log q written out: a constant plus coefficients times statistics T_j(x) (x, x², log x, |x − c|,
   ...), so that by linearity the KL is the constant plus the coefficients times E_p[T_j];
3. each E_p[T_j] by the route of p's family (:mod:`derive.divergence.expect`);
4. the closed form assembled; where p can put mass where q has none, +∞ there (the support condition);
5. KL(p ‖ p) = 0 at q's parameters set to p's;
6. a form for computing near the edges (:mod:`derive.divergence.stable`).

Each step is checked by a route of its own (:mod:`derive.divergence.numeric`): quadrature of the integrand
at random parameters, log p − log q evaluated at random points, and the substitution q = p simplified.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import sympy as sp

from ..independent import kl_integrand
from ..model import Derivation, Given, Result, Step, Verification
from ..probability import KL, Density, Expect
from ..verify import exact
from . import numeric
from .expect import NoRoute, expectation
from .families import FAMILIES
from .stable import plain, stable_form


@dataclass(frozen=True)
class Pair:
    """A catalogue entry: KL(p ‖ q) for p of family ``p`` and q of family ``q``."""

    p: str
    q: str

    @property
    def name(self) -> str:
        return f"kl-{self.p}-{self.q}"

    @property
    def result_name(self) -> str:
        return f"kl.{self.p}.{self.q}"

    @property
    def function(self) -> str:
        return f"kl_{self.p}_{self.q}"


def _setting(pair: Pair):
    fp, fq = FAMILIES[pair.p], FAMILIES[pair.q]
    same = pair.p == pair.q
    tp, tq = fp.symbols("p" if same else ""), fq.symbols("q" if same else "")
    x = fp.variable()
    return fp, fq, tp, tq, x


def parameters(pair: Pair) -> list:
    """(symbol, Parameter) of p's then q's parameters, in the exported function's order."""
    fp, fq, tp, tq, _ = _setting(pair)
    return list(zip(tp, fp.parameters)) + list(zip(tq, fq.parameters))


def derive_pair(pair: Pair, seed: int = 0) -> Derivation:
    fp, fq, tp, tq, x = _setting(pair)
    p, q = fp.density(x, *tp), fq.density(x, *tq)
    der = Derivation(pair.name, f"KL({fp.title} ‖ {fq.title})",
                     f"p = {fp.title}({', '.join(map(str, tp))}), q = {fq.title}({', '.join(map(str, tq))}): "
                     f"p's {fp.describe()}; q's {fq.describe()}")
    pa, qa = Density.make("p", x), Density.make("q", x)
    der.givens += [Given(pa, p, f"p: {fp.title} with {fp.describe()}"),
                   Given(qa, q, f"q: {fq.title} with {fq.describe()}")]
    der.symbols.update({str(s): s for s in (*tp, *tq, x)})
    rng = random.Random(seed)
    ctx = _Context(pair, fp, fq, tp, tq, x, p, q, pa, qa, rng)
    sec = der.section("from the densities", "KL",
                      f"p = {fp.title}, q = {fq.title}; the support of p is where its density is positive.")
    condition = _support_condition(ctx)
    ctx.accept = _acceptor(condition, tp + tq)
    _definition(ctx, sec)
    closed = _closed_form(ctx, sec)
    _self_divergence(ctx, sec, closed)
    value = closed if condition is sp.true else sp.Piecewise((closed, condition), (sp.oo, True))
    if condition is not sp.true:
        _infinite(ctx, sec, condition)
    stable = stable_form(value, parameters(pair))
    if stable.edges:
        _stable_step(sec, KL(pa, qa), closed, stable)
    der.results += [Result(pair.result_name, KL(pa, qa), value,
                           f"KL(p ‖ q) in p's {fp.describe()} and q's {fq.describe()}"),
                    Result(f"{pair.result_name}.finite_when", KL(pa, qa) < sp.oo, condition,
                           "where the KL is finite (it is +∞ elsewhere)"),
                    Result(f"{pair.result_name}.stable", KL(pa, qa), stable.expr, stable.note)]
    der.data.update({"pair": pair, "kl": value, "closed": closed, "condition": condition, "stable": stable.expr,
                     "parameters": parameters(pair), "edges": stable.edges})
    return der


@dataclass
class _Context:
    pair: Pair
    fp: object
    fq: object
    tp: tuple
    tq: tuple
    x: sp.Symbol
    p: sp.Expr
    q: sp.Expr
    pa: object
    qa: object
    rng: random.Random
    accept: object = None

    def draw(self):
        return numeric.draw(parameters(self.pair), self.rng, self.accept)

    def integral(self, f, values):
        lo, hi = self.fp.bounds(self.tp)
        return numeric.integral(f, self.x, lo, hi, values, self.fp.discrete)


def _acceptor(condition, symbols):
    def accept(values):
        ok = condition.subs(values) if condition is not sp.true else True
        return bool(ok) and all(_valid(s, values) for s in symbols)
    return accept


def _valid(s, values):
    """Uniform's ends in order (a < b)."""
    name = s.name.split("_")[0]
    if name == "b" and s.name.replace("b", "a", 1) in {t.name for t in values}:
        a = next(t for t in values if t.name == s.name.replace("b", "a", 1))
        return values[s] - values[a] >= sp.Rational(1, 5)
    return True


def _support_condition(ctx):
    """Where p's support lies inside q's: True for families on the same fixed support."""
    lo_p, hi_p = ctx.fp.bounds(ctx.tp)
    lo_q, hi_q = ctx.fq.bounds(ctx.tq)
    if (lo_p, hi_p) == (lo_q, hi_q) or ctx.fp.discrete:
        return sp.true
    return sp.And(sp.Ge(lo_p, lo_q), sp.Le(hi_p, hi_q))


def _definition(ctx, sec) -> None:
    lo, hi = ctx.fp.bounds(ctx.tp)
    integrand = ctx.pa * (sp.log(ctx.pa) - sp.log(ctx.qa))
    if ctx.fp.discrete:
        k = ctx.x
        defn = sp.Sum(integrand, (k, lo, hi))
        why = "definition of KL for mass functions: a sum over the support of p"
    else:
        defn = sp.Integral(integrand, (ctx.x, lo, hi))
        why = "definition of KL: an integral over the support of p (where p = 0 the integrand is 0)"
    own = ctx.p * sp.log(ctx.p) - ctx.p * sp.log(ctx.q)
    densities = {ctx.pa: ctx.p, ctx.qa: ctx.q}
    check = exact("the integrand with the densities put in equals the separately written KL integrand "
                  "a (log a − log b)", sp.expand(sp.expand_log(integrand.subs(densities), force=True)),
                  sp.expand(sp.expand_log(kl_integrand(ctx.p, ctx.q), force=True)))
    sec.steps.append(Step(KL(ctx.pa, ctx.qa), defn, why, check))
    ctx.definition, ctx.own_integrand = defn, own


def _statistics(log_ratio, x):
    """log p − log q as (constant, {statistic T(x): coefficient})."""
    constant, stats = sp.S.Zero, {}
    for term in sp.Add.make_args(log_ratio):
        c, t = term.as_independent(x, as_Add=False)
        if t == 1:
            constant += c
        else:
            stats[t] = stats.get(t, 0) + c
    return constant, {t: sp.factor(c) for t, c in stats.items() if sp.simplify(c) != 0}


def _log_ratio(ctx):
    ratio = sp.expand_log(sp.log(ctx.p) - sp.log(ctx.q), force=True)
    return sp.expand(sp.powsimp(sp.expand(ratio, power_exp=True)))


def _closed_form(ctx, sec):
    constant, stats = _statistics(_log_ratio(ctx), ctx.x)
    combination = constant + sp.Add(*[c * Expect(t, ctx.pa) for t, c in stats.items()])
    sec.steps.append(Step(ctx.definition, combination,
                          "log p − log q written out: a constant plus coefficients times statistics of x; the "
                          "expectation is linear", _check_decomposition(ctx, constant, stats), continues=True))
    values = {}
    for t in stats:
        values[t] = _expectation_step(ctx, sec, t)
    closed = _tidy(constant + sum(c * values[t] for t, c in stats.items()))
    sec.steps.append(Step(combination, closed, "the expectations put in",
                          _check_closed(ctx, closed), continues=True))
    return closed


def _check_decomposition(ctx, constant, stats) -> Verification:
    """log p(x) − log q(x) from the densities against the written-out sum, at random x and parameters."""
    combination = constant + sum(c * t for t, c in stats.items())
    direct = sp.log(ctx.p / ctx.q)
    pairs = []
    for _ in range(4):
        values = ctx.draw()
        x0 = _random_point(ctx, values)
        pairs.append((numeric.value(combination.subs(ctx.x, x0), values), numeric.value(direct.subs(ctx.x, x0), values)))
    return numeric.compare(pairs, "log(p/q) from the densities and the written-out sum evaluated at 4 random "
                                  "(x, parameters), 30 digits", 1e-25)


def _random_point(ctx, values):
    lo, hi = (sp.sympify(e).subs(values) for e in ctx.fp.bounds(ctx.tp))
    if ctx.fp.discrete:
        return sp.Integer(ctx.rng.randint(0, 1 if hi == 1 else 6))
    a = lo if lo != -sp.oo else sp.Integer(-3)
    b = hi if hi != sp.oo else a + 6
    return a + (b - a) * sp.Rational(ctx.rng.randint(1, 999), 1000)


def _expectation_step(ctx, sec, t):
    try:
        value, why = expectation(ctx.fp, t, ctx.x, ctx.tp)
    except NoRoute as exc:
        raise ValueError(f"{ctx.pair.name}: {exc}") from None
    pairs = []
    for _ in range(3):
        values = ctx.draw()
        pairs.append((numeric.value(value, values), ctx.integral(ctx.p * t, values)))
    what = "summation" if ctx.fp.discrete else "quadrature"
    check = numeric.compare(pairs, f"{what} of p·({sp.sstr(t)}) over the support at 3 random parameter sets, "
                                   f"{numeric.DPS} digits")
    sec.steps.append(Step(Expect(t, ctx.pa), value, why, check))
    return value


def _check_closed(ctx, closed) -> Verification:
    pairs = []
    for _ in range(4):
        values = ctx.draw()
        pairs.append((numeric.value(closed, values), ctx.integral(ctx.own_integrand, values)))
    what = "summation" if ctx.fp.discrete else "quadrature"
    return numeric.compare(pairs, f"{what} of p (log p − log q) itself at 4 random parameter sets where the KL is "
                                  f"finite, {numeric.DPS} digits")


def _tidy(expr):
    """The closed form as printed: gamma functions simplified, logarithms split, expanded term by term, and the
    terms of each logarithm collected with their coefficient factored where that is shorter."""
    expanded = sp.expand(sp.expand_log(sp.gammasimp(expr), force=True))
    logs = sorted(expanded.atoms(sp.log), key=sp.default_sort_key)
    collected = sp.collect(expanded, logs, func=sp.factor) if logs else expanded
    return min((expanded, collected), key=sp.count_ops)


def _self_divergence(ctx, sec, closed) -> None:
    if ctx.pair.p != ctx.pair.q:
        return
    same = dict(zip(ctx.tq, ctx.tp))
    at = closed.subs(same)
    lhs = KL(ctx.pa, ctx.pa)
    sec.steps.append(Step(lhs, sp.S.Zero, "q = p: q's parameters set to p's",
                          exact("the closed form with q's parameters set to p's simplifies to 0", at, sp.S.Zero)))


def _finite_part(expr):
    return expr.args[0][0] if isinstance(expr, sp.Piecewise) else expr


def _stable_step(sec, lhs, closed, stable) -> None:
    """The form for computing: the same function, rewritten where floating point would lose it."""
    written = plain(_finite_part(stable.expr))
    check = exact("xlogy, log1p, expm1 and loggamma written back as x log y, log(1 + ·), exp(·) − 1 and log Γ, "
                  "the difference from the closed form simplifies to 0", written, closed)
    if not check.passed:  # log a − log b = log(a/b) needs the signs SymPy cannot see; exp is one-to-one
        check = exact("written back as above, its exponential and the closed form's agree (exp is one-to-one)",
                      sp.exp(written), sp.exp(closed))
    sec.steps.append(Step(lhs, stable.expr, stable.note[0].upper() + stable.note[1:], check))


def _infinite(ctx, sec, condition) -> None:
    """Outside the condition p has mass where q has none: log q = −∞ there and the KL is +∞."""
    lo_q, hi_q = ctx.fq.bounds(ctx.tq)
    outside = []
    for _ in range(40):
        values = numeric.draw(parameters(ctx.pair), ctx.rng, lambda v: all(_valid(s, v) for s in v)
                              and not bool(condition.subs(v)))
        lo, hi = (sp.sympify(e).subs(values) for e in ctx.fp.bounds(ctx.tp))
        below = max(sp.S.Zero, sp.Min(hi, lo_q.subs(values)) - lo)
        above = max(sp.S.Zero, hi - sp.Max(lo, hi_q.subs(values)))
        outside.append((below + above) * ctx.p.subs(values))
        if len(outside) == 3:
            break
    ok = all(m > 0 for m in outside)
    detail = ("at 3 random parameter sets outside the condition, the mass of p outside q's support was computed "
              "exactly and is positive")
    sec.steps.append(Step(KL(ctx.pa, ctx.qa), sp.Piecewise((sp.oo, sp.Not(condition)), (KL(ctx.pa, ctx.qa), True)),
                          "where the support of p is not inside that of q, p puts mass where log q = −∞",
                          Verification("exact", True, detail, scope="3 random parameter sets") if ok
                          else Verification.unverified(detail + ": it is not")))
