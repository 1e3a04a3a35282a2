"""Expectations E_p[T(x)] of one statistic under a family's density, each by the family's route.

SymPy's ``integrate`` alone returns most of these unevaluated (a hypergeometric function for E[x^s] under
a Beta, an Integral for |x - c| under a Laplace or log(gamma^2 + (x - c)^2) under a Cauchy), so each family
names the route that turns its expectations into integrals SymPy (or :mod:`derive.integrals`) does evaluate:

* ``gaussian``: a polynomial times the normal density, by completing the square;
* ``normaliser``: density = kernel/Z(theta).  When d log kernel/d theta_i = c T(x) for a parameter theta_i and a
  constant c, differentiating Z = ∫ kernel under the integral sign gives E[T] = (1/c) d log Z/d theta_i;
* ``substitution``: x = g(u) with u of a simpler density (log-normal: x = exp(mu + sigma u), u ~ N(0, 1);
  Gumbel: x = mu - beta log u, u ~ Exponential(1));
* ``absolute``: E|x - c| under a Laplace, split where the two absolute values change sign (c > mu), the
  other case by the reflection x -> 2 mu - x;
* ``poisson kernel``: the Cauchy density is the Poisson kernel of the upper half-plane, so E[h(x)] = h(x0 + i gamma)
  for h harmonic and bounded by a logarithm there: log|x - w|^2 with Im w < 0;
* ``integrate``: sp.integrate over the support (bounded supports: the fundamental theorem of calculus);
* ``sum``: sp.summation over the support of a mass function.

Each step that uses a route is checked by quadrature of the integrand at random parameters
(:mod:`derive.divergence.pair`), not by the route.
"""
from __future__ import annotations

import sympy as sp

from ..integrals import over_real_line


class NoRoute(ValueError):
    """The family's route does not apply to this statistic."""


def expectation(family, T, x, theta):
    """(E_p[T], the reason in words) for p = ``family`` at parameters ``theta``."""
    if not T.has(x):
        return T, "the expectation of a constant"
    route = ROUTES[family.route]
    return route(family, T, x, theta)


def _gaussian(family, T, x, theta):
    value = over_real_line(family.density(x, *theta) * T, x)
    if value.has(sp.Integral):
        raise NoRoute(f"E[{T}] under {family.title}: not a polynomial")
    return sp.expand(sp.simplify(value)), "a polynomial against the normal density: completing the square"


def _normaliser(family, T, x, theta):
    Z = family.normaliser(*theta)
    log_kernel = sp.expand(sp.expand_log(sp.log(family.density(x, *theta) * Z), force=True))
    for par in theta:
        c = sp.simplify(sp.diff(log_kernel, par) / T)
        if c != 0 and not c.has(x):
            value = sp.expand(sp.expand_func(sp.diff(sp.log(Z), par) / c))
            return value, (f"differentiate the normaliser Z = {sp.sstr(Z)} = ∫ kernel dx under the integral sign: "
                           f"∂ log kernel/∂{par} = {sp.sstr(c)}·{sp.sstr(T)}, so E[{sp.sstr(T)}] = "
                           f"(1/{sp.sstr(c)}) ∂ log Z/∂{par}")
    raise NoRoute(f"E[{T}] under {family.title}: no parameter multiplies this statistic")


def _powers(expr, u):
    """exp(c log u + r) written u^c exp(r), so that E[u^c] is a Γ integral SymPy recognises."""
    def convert(e):
        power, rest = sp.S.One, sp.S.Zero
        for term in sp.Add.make_args(sp.expand(e.args[0])):
            c = sp.simplify(term / sp.log(u))
            if term.has(sp.log(u)) and not c.has(u):
                power *= u ** c
            else:
                rest += term
        return power * sp.exp(rest)
    return expr.replace(lambda e: isinstance(e, sp.exp) and e.has(sp.log(u)), convert)


def _substitution(family, T, x, theta):
    u = sp.Symbol("u", positive=True) if family.name == "gumbel" else sp.Symbol("u", real=True)
    g, base, (lo, hi) = family.substitution(u, *theta)
    f = _powers(sp.expand(sp.powsimp(sp.expand(T.subs(x, g), power_exp=True), combine="exp")), u)
    if (lo, hi) == (-sp.oo, sp.oo):
        value = over_real_line(base * f, u)
    else:
        value = sp.integrate(sp.expand(base * f), (u, lo, hi), conds="none")
    if value.has(sp.Integral):
        raise NoRoute(f"E[{T}] under {family.title}: the substituted integral is not evaluated")
    return sp.expand(sp.gammasimp(value)), f"substitute x = {sp.sstr(g)}, u of density {sp.sstr(base)}"


def _absolute(family, T, x, theta):
    """E|x - c| for x ~ Laplace(mu, b): u = x - mu, d = c - mu; for d > 0 split at 0 and d."""
    mu, b = theta
    (arg,) = T.args if isinstance(T, sp.Abs) else (None,)
    if arg is None or not sp.Poly(arg, x).degree() == 1:
        raise NoRoute(f"E[{T}] under Laplace: not |x - c|")
    c = sp.solve(arg, x)[0]
    u, d = sp.Symbol("u", real=True), sp.Symbol("d", positive=True)
    left = sp.integrate(sp.exp(u / b) / (2 * b) * (d - u), (u, -sp.oo, 0), conds="none")
    middle = sp.integrate(sp.exp(-u / b) / (2 * b) * (d - u), (u, 0, d), conds="none")
    right = sp.integrate(sp.exp(-u / b) / (2 * b) * (u - d), (u, d, sp.oo), conds="none")
    g = sp.simplify(left + middle + right)
    value = sp.expand(g.subs(d, sp.Abs(c - mu))) * sp.Abs(sp.Poly(arg, x).LC())
    return value, ("with u = x − μ and d = c − μ > 0, split the integral at u = 0 and u = d, where the absolute "
                   "values change sign; d < 0 by the reflection u → −u, which leaves the density unchanged")


def _poisson_kernel(family, T, x, theta):
    """E[log Q(x)] for Q a quadratic without real roots: log|x - w|^2 + log(leading coefficient)."""
    x0, gamma = theta
    if not isinstance(T, sp.log):
        raise NoRoute(f"E[{T}] under Cauchy: not the logarithm of a quadratic")
    poly = sp.Poly(T.args[0], x)
    if poly.degree() != 2:
        raise NoRoute(f"E[{T}] under Cauchy: not the logarithm of a quadratic")
    lead = poly.LC()
    roots = [w for w in sp.roots(poly, x) if sp.im(w).is_negative]
    if len(roots) != 1:
        raise NoRoute(f"E[{T}] under Cauchy: no root in the lower half-plane")
    (w,) = roots
    at = x0 + sp.I * gamma - w
    value = sp.log(lead) + sp.log(sp.expand(sp.re(at) ** 2 + sp.im(at) ** 2))
    return sp.expand(value), (f"log Q(x) = log|x − w|² (+ log of Q's leading coefficient) with w = {sp.sstr(w)} in "
                              "the lower half-plane is harmonic in the upper one; the Cauchy density is its Poisson "
                              "kernel, so the expectation is the value at x = x0 + iγ")


def _integrate(family, T, x, theta):
    lo, hi = family.bounds(theta)
    density = family.density(x, *theta)
    if family.support == "interval" and T.has(1 - x):
        y = sp.Symbol("y", positive=True)  # ∫_a^b T(x) dx = ∫_{1-b}^{1-a} T(1 - y) dy
        value = sp.integrate(sp.expand_log(T.subs(x, 1 - y), force=True), (y, 1 - hi, 1 - lo), conds="none")
        value, why = density * value, "substitute y = 1 − x and integrate over [1 − b, 1 − a]"
    else:
        value = sp.integrate(density * T, (x, lo, hi), conds="none")
        why = "integrate over the support"
    if value.has(sp.Integral):
        raise NoRoute(f"E[{T}] under {family.title}: the integral is not evaluated")
    return sp.expand(sp.simplify(value)), why


def _sum(family, T, x, theta):
    mass = family.density(x, *theta)
    if family.support == "binary":
        return sp.expand(sum(mass.subs(x, v) * T.subs(x, v) for v in (0, 1))), "sum over x ∈ {0, 1}"
    value = sp.summation(sp.expand(mass * T), (x, 0, sp.oo))
    value = _branch(value, theta, family)
    if value.has(sp.Sum):
        raise NoRoute(f"E[{T}] under {family.title}: the sum is not evaluated")
    return sp.expand(sp.simplify(value)), "sum over k = 0, 1, 2, ..."


def _branch(value, theta, family):
    """Each Piecewise in a result replaced by its branch whose condition holds on the parameters' whole domain."""
    return value.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: _one_branch(e, theta, family))


def _one_branch(value, theta, family):
    domains = {s: (sp.Interval.open(0, 1) if par.kind == "probability" else sp.Interval.open(0, sp.oo))
               for s, par in zip(theta, family.parameters)}
    for expr, cond in value.args:
        if cond is sp.true:
            return expr
        free = cond.free_symbols
        if len(free) == 1 and (s := free.pop()) in domains and domains[s].is_subset(cond.as_set()):
            return expr
    return value


ROUTES = {"gaussian": _gaussian, "normaliser": _normaliser, "substitution": _substitution,
          "absolute": _absolute, "poisson kernel": _poisson_kernel, "integrate": _integrate, "sum": _sum}
