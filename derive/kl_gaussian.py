"""The KL divergence of factorised Gaussians (seed 2.2), its closed form and what follows from it (2.3).

2.2: for q(z) = prod_i q_i(z_i) and p(z) = prod_i p_i(z_i) the KL splits into a
sum over dimensions: log of a product, linearity, marginalisation.  Shown for
general D; every step is checked exactly at D = 1, 2, 3 with Gaussian factors
by integrating over all D coordinates.

2.3: KL(N(μ_q, σ_q²) || N(μ_p, σ_p²)) by integrating q (log q - log p) over
the real line; the seed's case q_i = N(μᵢ, σᵢ²) (σᵢ a standard deviation)
against the prior N(m, λ²), N(0, 1) unless the caller gives another.  Then:
the KL is ≥ 0 and 0 only at μᵢ = m, σᵢ = λ (with r = σᵢ²/λ², r - 1 - log r is
an integral of |u - 1|/u over a forward range), and a form of the closed form
that keeps its relative accuracy near the prior (w = r - 1 as a product, log1p).
"""
from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import log1p

from .gaussian import expectation, log_normal_pdf, normal_pdf
from .independent import gaussian, gaussian_expectation, kl_integrand
from .model import Derivation, Given, Result, Step, Verification
from .notation import Label
from .probability import KL, Density, Expect, kl_definition
from .verify import combine, exact

CHECK_DIMS = (1, 2, 3)


def _factorised_symbols():
    i = sp.Symbol("i", integer=True, positive=True)
    D = sp.Symbol("D", integer=True, positive=True)
    z = sp.IndexedBase("z", real=True)
    mu = sp.IndexedBase("mu", real=True)
    sigma = sp.IndexedBase("sigma", positive=True)
    return i, D, z, mu, sigma


def _as_read(expr, mean, other_mean, scale):
    """The two-Gaussian KL as it is read: its logs combined into one, and the terms over the prior's
    variance over one denominator, with the means entering through their difference."""
    logs = sp.Add(*[t for t in sp.Add.make_args(expr) if t.has(sp.log)])
    over = sp.Add(*[t for t in sp.Add.make_args(expr - logs) if t.has(scale)])
    rest = sp.expand(expr - logs - over)
    d = sp.Dummy("d", real=True)
    shifted = sp.factor(sp.expand(over.subs(mean, other_mean + d)))
    readable = sp.logcombine(logs, force=True) + shifted.subs(d, mean - other_mean) + rest
    return readable if sp.expand(sp.expand_log(readable - expr, force=True)) == 0 else expr


def _general_symbols():
    """μ_q, σ_q, μ_p, σ_p of q = N(μ_q, σ_q²) and p = N(μ_p, σ_p²) (standard deviations σ)."""
    mu_q, mu_p = sp.symbols("mu_q mu_p", real=True)
    sigma_q, sigma_p = sp.symbols("sigma_q sigma_p", positive=True)
    return mu_q, sigma_q, mu_p, sigma_p


def _seed_symbols():
    """μᵢ, σᵢ of q_i = N(μᵢ, σᵢ²) (σᵢ a standard deviation), r = σᵢ²/λ² and u, a variable of integration."""
    return (sp.Symbol("mu_i", real=True), sp.Symbol("sigma_i", positive=True), sp.Symbol("r", positive=True),
            sp.Symbol("u", positive=True))


def _evaluate(expr, n: int, prior_mean, prior_std):
    """Evaluate a general-D expression exactly at D = n with Gaussian factors."""
    i, D, z, mu, sigma = _factorised_symbols()
    zs = [z[m] for m in range(1, n + 1)]
    expr = expr.subs(D, n).doit()

    def factor_pdf(d):
        (arg,) = d.args[1]
        m = int(arg.indices[0])
        if d.label == sp.Symbol("q"):
            return gaussian(arg, mu[m], sigma[m])
        return gaussian(arg, prior_mean, prior_std)

    def joint_expect(f, q):
        g = f.replace(lambda e: isinstance(e, Density) and len(e.args[1]) == 1 and e.args[1][0] in zs, factor_pdf)
        if len(q.args[1]) == 1 and q.args[1][0] in zs:        # expectation under one marginal q_m
            m = int(q.args[1][0].indices[0])
            return gaussian_expectation(g, z[m], mu[m], sigma[m])
        for m in range(1, n + 1):                             # under q(z) = prod_m q_m(z_m)
            g = gaussian_expectation(g, z[m], mu[m], sigma[m])
        return g

    # KL by the separately written definition (derive.independent), not the derivation's
    expr = expr.replace(KL, lambda a, b: Expect(sp.expand(kl_integrand(a, b) / a), a))
    joint_q, joint_p = Density.make("q", sp.Symbol("z")), Density.make("p", sp.Symbol("z"))
    factors = {joint_q: sp.Mul(*[Density.make("q", zm) for zm in zs]),
               joint_p: sp.Mul(*[Density.make("p", zm) for zm in zs])}
    expr = expr.replace(Expect, lambda f, q: Expect(sp.expand_log(f.xreplace(factors)), q))
    expr = expr.replace(Expect, joint_expect)
    return sp.expand(sp.expand_log(expr))




def derive_kl(prior_mean=0, prior_std=1, example=None) -> Derivation:
    """``example``: optional numbers (μᵢ, σᵢ) at which the closed form is also evaluated."""
    prior_mean, prior_std = sp.sympify(prior_mean), sp.sympify(prior_std)
    der = Derivation("kl", "KL divergence of factorised Gaussians",
                     f"q(z) = prod_i N(z_i; mu_i, sigma_i^2), p(z) = prod_i N(z_i; {prior_mean}, {prior_std}^2)")
    mu_s, sig_s, r, _ = _seed_symbols()
    der.symbols.update({"mu_i": mu_s, "sigma_i": sig_s, "r": r})
    # the numeric checks and the exports evaluate the printed objects themselves
    der.data.update({"mu": mu_s, "sigma": sig_s, "r": r, "prior": (prior_mean, prior_std),
                     "general_symbols": _general_symbols()})
    _sum_over_dimensions(der)
    half = _closed_form(der, example)
    square, rest = _non_negative(der, half)
    _stable(der, square, rest)
    return der


def _sum_over_dimensions(der) -> None:
    """2.2: KL(q || p) of factorised densities is the sum of the one-dimensional KLs."""
    i, D, z, mu, sigma = _factorised_symbols()
    q_i, p_i = Density.make("q", z[i]), Density.make("p", z[i])
    q_all, p_all = Density.make("q", sp.Symbol("z")), Density.make("p", sp.Symbol("z"))
    Q, P = sp.Product(q_i, (i, 1, D)), sp.Product(p_i, (i, 1, D))
    der.givens += [Given(q_all, Q, "q factorises over the D dimensions"),
                   Given(p_all, P, "so does the prior"),
                   Given(KL(q_all, p_all), kl_definition(KL(q_all, p_all)), "definition of the KL divergence")]
    der.symbols.update({"z": z, "mu": mu, "sigma": sigma, "i": i, "D": D})
    sec = der.section("The KL of a factorised Gaussian is a sum over dimensions", "2.2",
                      "Each step is checked exactly at D = 1, 2, 3: both sides integrated over all D "
                      "coordinates with q_i = N(mu_i, sigma_i^2) and p_i the prior.")
    e0 = KL(q_all, p_all)
    e1 = Expect(sp.log(Q) - sp.log(P), q_all)
    e2 = Expect(sp.expand_log(sp.log(Q)) - sp.expand_log(sp.log(P)), q_all)
    e3 = sp.Sum(Expect(sp.log(q_i) - sp.log(p_i), q_all), (i, 1, D))
    e4 = sp.Sum(Expect(sp.log(q_i) - sp.log(p_i), q_i), (i, 1, D))
    e5 = sp.Sum(KL(q_i, p_i), (i, 1, D))
    chain = [(e0, e1, "definition of KL with the factorised densities"),
             (e1, e2, "the log of a product is the sum of the logs"),
             (e2, e3, "linearity of expectation (the sum moves out)"),
             (e3, e4, "marginalisation: term i depends on z_i only, and every other q_j integrates to 1"),
             (e4, e5, "definition of KL in one dimension")]
    value = _integrated_at(*der.data["prior"])
    for a, b, why in chain:
        checks = [exact(f"integrated at D = {n}", value(a, n), value(b, n), scope=f"D = {n}") for n in CHECK_DIMS]
        sec.steps.append(Step(a, b, why, combine(checks, "both sides integrated exactly over all D coordinates, "
                                                 "with Gaussian q_i and the prior"),
                              continues=a is not e0))
    der.results.append(Result("kl.sum", e0, e5, "the KL splits over dimensions"))


def _integrated_at(prior_mean, prior_std):
    """``value(expr, n)``: ``expr`` evaluated exactly at D = n (each expression and n computed once)."""
    values = {}

    def value(expr, n):
        key = (sp.srepr(expr), n)
        if key not in values:
            values[key] = _evaluate(expr, n, prior_mean, prior_std)
        return values[key]

    return value


def _closed_form(der, example):
    """2.3: KL of two Gaussians by integration over the real line, then the seed's case; returns KL(q_i || p_i)."""
    mu_q, sigma_q, mu_p, sigma_p = der.data["general_symbols"]
    zz = sp.Symbol("z", real=True)
    sec = der.section("Closed form of KL(q_i || p_i)", "2.3",
                      "Integrate q (log q − log p) over the real line for q = N(mu_q, sigma_q^2) and "
                      "p = N(mu_p, sigma_p^2), then take q = q_i and the prior as p.")
    q, p = normal_pdf(zz, mu_q, sigma_q ** 2), normal_pdf(zz, mu_p, sigma_p ** 2)
    qa, pa = Density.make("q", zz), Density.make("p", zz)
    der.givens += [Given(qa, q, "q = N(mu_q, sigma_q^2) (2.3)"), Given(pa, p, "p = N(mu_p, sigma_p^2) (2.3)")]
    expanded = _integral_steps(sec, zz, qa, pa)
    general = expectation(sp.log(q) - sp.log(p), zz, mu_q, sigma_q ** 2)
    general = _as_read(sp.expand(sp.expand_log(general)), mu_q, mu_p, sigma_p)
    by_substitution = gaussian_expectation(sp.log(gaussian(zz, mu_q, sigma_q)) - sp.log(gaussian(zz, mu_p, sigma_p)),
                                           zz, mu_q, sigma_q)
    sec.steps.append(Step(expanded, general, "integrate: E[z] = mu_q and E[z^2] = mu_q^2 + sigma_q^2 under q",
                          exact("integrated again after the substitution z = mu_q + sigma_q u", general,
                                by_substitution), continues=True))
    half = _seed_case(der, sec, general)
    der.results.append(Result("kl.gaussian", KL(qa, pa), general, "KL between two univariate Gaussians"))
    der.results.append(Result("kl.closed_form", KL(*_seed_densities()), half, "KL(q_i || p_i) of the seed"))
    if example is not None:
        _worked_example(der, sec, half, example)
    der.data.update({"closed_form": half, "general": general})
    return half


def _integral_steps(sec, zz, qa, pa):
    """KL(q || p) as an integral over the real line, then its integrand written out; returns the latter."""
    mu_q, sigma_q, mu_p, sigma_p = _general_symbols()
    # shown with q(z), p(z) as named densities; checked with their Gaussian formulas put in
    integral = sp.Integral(qa * (sp.log(qa) - sp.log(pa)), (zz, -sp.oo, sp.oo))
    polynomial = sp.expand(log_normal_pdf(zz, mu_q, sigma_q ** 2) - log_normal_pdf(zz, mu_p, sigma_p ** 2))
    polynomial = sp.collect(polynomial, [zz ** 2, zz], sp.factor)
    expanded = sp.Integral(qa * polynomial, (zz, -sp.oo, sp.oo))
    everywhere = sp.Integral(kl_integrand(qa, pa), (zz, -sp.oo, sp.oo))  # the separately written KL, over the real line
    sec.steps.append(Step(KL(qa, pa), integral, "definition of KL as an integral over the real line",
                          _same_integral(integral, everywhere, {},
                                         "equals the integral of the separately written KL integrand a (log a - log b) "
                                         "over the real line")))
    own = {qa: gaussian(zz, mu_q, sigma_q), pa: gaussian(zz, mu_p, sigma_p)}  # the separately written normal densities
    sec.steps.append(Step(integral, expanded, "log q - log p for the two Gaussians: a quadratic in z",
                          _same_integral(expanded, integral, own,
                                         "the same integral: the integrands agree with the separately written normal "
                                         "densities put in"), continues=True))
    return expanded


def _seed_densities():
    zz = sp.Symbol("z", real=True)
    return Density.make("q_i", zz), Density.make("p_i", zz)


def _seed_case(der, sec, general):
    """KL(q_i || p_i): the two-Gaussian KL at q = q_i = N(μᵢ, σᵢ²) and p = the prior N(m, λ²)."""
    mu_q, sigma_q, mu_p, sigma_p = der.data["general_symbols"]
    mu_s, sig_s = der.data["mu"], der.data["sigma"]
    m, lam = der.data["prior"]
    half = _tidy(general.subs({mu_q: mu_s, sigma_q: sig_s, mu_p: m, sigma_p: lam}))
    why = (f"the sheet's case: q_i = N(μᵢ, σᵢ²), σᵢ > 0 its standard deviation, against the prior "
           f"N({_readable(m)}, {_readable(lam)}²): mu_q = μᵢ, sigma_q = σᵢ, mu_p = {_readable(m)}, "
           f"sigma_p = {_readable(lam)}")
    sec.steps.append(Step(KL(*_seed_densities()), half, why,
                          exact("equals a direct integration of log q_i − log p_i under q_i with these parameters",
                                half, _direct(mu_s, sig_s, m, lam))))
    return half


def _worked_example(der, sec, half, example) -> None:
    m, lam = der.data["prior"]
    m_ex, s_ex = (sp.sympify(v) for v in example)
    value = half.subs({der.data["mu"]: m_ex, der.data["sigma"]: s_ex})
    lhs = KL(Density.make("N", m_ex, s_ex ** 2), Density.make("N", m, lam ** 2))
    at = f"μᵢ = {_readable(m_ex)}, σᵢ = {_readable(s_ex)}"
    sec.steps.append(Step(lhs, value, f"worked example: {at}",
                          exact("equals a direct integration at these numbers", value, _direct(m_ex, s_ex, m, lam))))
    der.results.append(Result("kl.example", lhs, value, f"the KL at {at}"))


def _direct(mean, std, prior_mean, prior_std):
    """KL(N(mean, std²) || N(prior_mean, prior_std²)) by the separately written route.

    E[log q - log p] with the separately written normal densities, by substituting
    z = mean + std u and integrating against N(u; 0, 1).
    """
    zz = sp.Symbol("z", real=True)
    log_ratio = sp.log(gaussian(zz, mean, std)) - sp.log(gaussian(zz, prior_mean, prior_std))
    return gaussian_expectation(log_ratio, zz, mean, std)


def _non_negative(der, half):
    """KL(q_i || p_i) ≥ 0, and 0 only at μᵢ = m, σᵢ = λ; returns the square in μᵢ and r - 1 - log r."""
    _, sig_s, r, u = _seed_symbols()
    m, lam = der.data["prior"]
    der.givens.append(Given(r, sig_s ** 2 / lam ** 2, "r = σᵢ²/λ²: the variance of q_i over that of the prior (2.3)"))
    sec = der.section("KL is non-negative, and zero only at the prior", "2.3",
                      f"With r = σᵢ²/λ² for the prior N(m, λ²) (here m = {_readable(m)}, λ = {_readable(lam)}), "
                      "the closed form is a square in μᵢ − m plus (1/2)(r − 1 − log r). Both parts are ≥ 0, and 0 "
                      "only at μᵢ = m and at r = 1: the KL is 0 exactly when q_i is the prior, and positive elsewhere.")
    square = sp.factor(half.subs(sig_s, lam))            # the closed form at σᵢ = λ
    rest = sp.expand(sp.expand_log(2 * (half - square).subs(sig_s, lam * sp.sqrt(r)), force=True))
    split = square + sp.Mul(sp.Rational(1, 2), rest, evaluate=False)
    sec.steps.append(Step(KL(*_seed_densities()), split,
                          "the closed form at σᵢ = λ is the square (μᵢ − m)²/(2λ²); what is left depends on σᵢ only "
                          "through r = σᵢ²/λ²", check_rewrite(der, split)))
    integral = rest.subs(r, 1) + sp.Integral(sp.diff(rest, r).subs(r, u), (u, 1, r))
    sec.steps.append(Step(rest, integral, "r − 1 − log r is 0 at r = 1 and its derivative is 1 − 1/r: it is the "
                          "integral of 1 − 1/u from 1 to r", check_antiderivative(rest, integral)))
    forward = _forward_range(integral)
    sec.steps.append(Step(integral, forward,
                          "1 − 1/u = (u − 1)/u has the sign of u − 1 (u > 0): positive on (1, r) when r > 1, negative "
                          "on (r, 1) when r < 1, where the integral runs backwards. Either way it is the integral of "
                          "|u − 1|/u ≥ 0 over a forward range, 0 only when the range is empty (r = 1)",
                          check_forward_range(integral, forward, r), continues=True))
    _minimum(der, sec, half, square)
    return square, rest


def _forward_range(integral):
    """∫ from a to b of g(u) du as the integral of |numerator of g|/(denominator of g) from min(a, b) to max(a, b)."""
    ((u, a, b),) = integral.limits
    num, den = sp.fraction(sp.together(integral.function))
    return sp.Integral(sp.Abs(num) / den, (u, sp.Min(a, b), sp.Max(a, b)))


def _minimum(der, sec, half, square) -> None:
    """Where both parts vanish: μᵢ = m and r = 1 (σᵢ = λ), and the KL there."""
    mu_s, sig_s = der.data["mu"], der.data["sigma"]
    m, lam = der.data["prior"]
    means = _finite(sp.solveset(square, mu_s, sp.S.Reals))                      # the square is 0
    stds = _finite(sp.solveset(sig_s ** 2 / lam ** 2 - 1, sig_s, sp.Interval.open(0, sp.oo)))  # r = 1
    if means is None or stds is None or len(means) != 1 or len(stds) != 1:
        raise ValueError(f"the square vanishes at μᵢ in {means} and r = 1 at σᵢ in {stds}: not at one point")
    where = sp.Tuple(means[0], stds[0])
    least = sp.simplify(half.subs({mu_s: where[0], sig_s: where[1]}))
    fn = r"D_{\mathrm{KL}}\left(q_{i} \,\|\, p_{i}\right)"
    argmin = Label("argmin KL(q_i || p_i)", rf"\arg\min_{{\mu_{{i}},\, \sigma_{{i}}}} {fn}")
    minimum = Label("min KL(q_i || p_i)", rf"\min_{{\mu_{{i}},\, \sigma_{{i}}}} {fn}")
    sec.steps.append(Step(argmin, where,
                          "both parts are ≥ 0, so the KL is 0 only where both vanish: μᵢ = m, and r = 1, that is "
                          "σᵢ = λ (σᵢ > 0); everywhere else it is > 0", check_stationary(der, where)))
    sec.steps.append(Step(minimum, least, "the KL at μᵢ = m, σᵢ = λ, where q_i is the prior",
                          check_value_at(der, where, least)))
    at = f"μᵢ = m = {_readable(m)}, σᵢ = λ = {_readable(lam)}"
    der.results.append(Result("kl.minimiser", argmin, where, f"the only (μᵢ, σᵢ) at which KL(q_i || p_i) is least: "
                              f"{at}, the prior's mean and standard deviation"))
    der.results.append(Result("kl.minimum", minimum, least, f"the least value of KL(q_i || p_i), reached only at {at}"))
    der.data["minimiser"] = where


def _stable(der, square, rest) -> None:
    """The closed form with w = r - 1 = (σᵢ - λ)(σᵢ + λ)/λ² as a product and log r = log1p(w)."""
    sig_s, lam = der.data["sigma"], der.data["prior"][1]
    sec = der.section("A numerically stable form of the closed form", "2.3",
                      "Near the prior the closed form subtracts nearly equal numbers (σᵢ²/(2λ²) against "
                      "log(σᵢ/λ) + 1/2) and loses relative accuracy in floating point, all of it at σᵢ = λ(1 + 1e-8). Written in "
                      "w = r − 1 = σᵢ²/λ² − 1, computed as the product (σᵢ − λ)(σᵢ + λ)/λ², with log r = log1p(w), "
                      "no number of the size of 1 is subtracted any more: what cancels is w against log1p(w), both "
                      "of the size of w, so about half the digits survive at σᵢ = λ(1 + 1e-8) instead of none.")
    w = sp.Dummy("w", real=True)
    in_w = rest.subs(der.data["r"], 1 + w).replace(sp.log, lambda arg: log1p(sp.expand(arg - 1)))
    stable = square + sp.Mul(sp.Rational(1, 2), in_w.subs(w, sp.factor(sig_s ** 2 / lam ** 2 - 1)), evaluate=False)
    sec.steps.append(Step(KL(*_seed_densities()), stable,
                          "the same with w = r − 1 = (σᵢ − λ)(σᵢ + λ)/λ², a product, and log r = log1p(w), the "
                          "logarithm of 1 + w without rounding 1 + w",
                          check_rewrite(der, stable, "with log1p(x) = log(1 + x), equals a direct integration of "
                                                     "log q_i − log p_i under q_i (z = μᵢ + σᵢu)")))
    der.results.append(Result("kl.stable", KL(*_seed_densities()), stable,
                              "KL(q_i || p_i) in a form that keeps its relative accuracy near the prior"))
    der.data["stable"] = stable


# ---- the checks: each computes its side by a route of its own ---------------

def check_rewrite(der, expr, detail: str = "with r = σᵢ²/λ² put in, equals a direct integration of "
                                           "log q_i − log p_i under q_i (z = μᵢ + σᵢu)") -> Verification:
    """``expr`` (in μᵢ, σᵢ, r; log1p allowed) is KL(q_i || p_i): compared with :func:`_direct`."""
    mu_s, sig_s, r = der.data["mu"], der.data["sigma"], der.data["r"]
    m, lam = der.data["prior"]
    put_in = sp.sympify(expr).subs(r, sig_s ** 2 / lam ** 2).rewrite(sp.log)
    return exact(detail, put_in, _direct(mu_s, sig_s, m, lam))


def check_antiderivative(f, integral) -> Verification:
    """``integral`` (in r) equals ``f``: SymPy integrates it on its own."""
    return exact("SymPy integrates the right-hand side by itself and gets the left", integral.doit(), f)


def check_forward_range(lhs, rhs, r) -> Verification:
    """Both integrals computed by SymPy at r = 1 + s and r = 1/(1 + s) (s > 0), and r = 1: every r > 0."""
    s = sp.Symbol("s", positive=True)
    cases = [(1 + s, "r = 1 + s"), (1 / (1 + s), "r = 1/(1 + s)"), (sp.S.One, "r = 1")]
    checks = [exact(f"both sides integrated at {name}", lhs.subs(r, v).doit(), rhs.subs(r, v).doit())
              for v, name in cases]
    return combine(checks, "both sides integrated by SymPy at r = 1 + s and at r = 1/(1 + s) for every s > 0, "
                           "and at r = 1: every r > 0")


def check_stationary(der, where) -> Verification:
    """The gradient of :func:`_direct` in (μᵢ, σᵢ) vanishes at ``where`` and at no other point."""
    mu_s, sig_s = der.data["mu"], der.data["sigma"]
    kl = _direct(mu_s, sig_s, *der.data["prior"])
    detail = ("the gradient of a direct integration of log q_i − log p_i under q_i vanishes at this point and at "
              "no other (μᵢ real, σᵢ > 0)")
    points = _stationary_points(kl, mu_s, sig_s)
    if points is None or len(points) != 1:
        return Verification.unverified(f"{detail}: it vanishes at {'unknown' if points is None else len(points)} "
                                       "points")
    return exact(detail, sp.Matrix(points[0]), sp.Matrix(list(where)))


def _stationary_points(f, x, y):
    """The points (x real, y > 0) where both partial derivatives of ``f`` vanish; None if SymPy cannot list them."""
    xs, points = _finite(sp.solveset(sp.diff(f, x), x, sp.S.Reals)), []
    if xs is None:
        return None
    for x0 in xs:
        ys = _finite(sp.solveset(sp.diff(f, y).subs(x, x0), y, sp.Interval.open(0, sp.oo)))
        if ys is None:
            return None
        points += [[x0.subs(y, y0), y0] for y0 in ys]
    return points


def _finite(solutions):
    """The elements of a finite solution set as a list; None for any other set (SymPy could not list them)."""
    return list(solutions) if isinstance(solutions, sp.FiniteSet) else None


def check_value_at(der, where, value) -> Verification:
    """``value`` is the KL at (μᵢ, σᵢ) = ``where``, by :func:`_direct` at those numbers."""
    return exact("a direct integration of log q_i − log p_i under q_i at this (μᵢ, σᵢ) gives the same value",
                 value, _direct(*where, *der.data["prior"]))


def _tidy(expr):
    """The closed form as printed: simplified, logs split, expanded term by term."""
    return sp.expand(sp.expand_log(sp.simplify(expr)))


def _same_integral(a, b, densities: dict, detail: str):
    """``a`` and ``b`` are integrals over the same range whose integrands agree (with ``densities`` put in)."""
    if a.limits != b.limits:
        return Verification.unverified(f"{detail}: the ranges differ ({a.limits} and {b.limits})")
    ia, ib = (sp.expand(sp.expand_log(sp.simplify(e.function.subs(densities)))) for e in (a, b))
    return exact(detail, ia, ib)


def _readable(value) -> str:
    """A number for prose: exact when short, else 16 significant digits."""
    text = str(value)
    return text if len(text) <= 24 else f"{float(sp.N(value, 20)):.16g}"
