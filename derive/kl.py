"""The KL divergence of factorised Gaussians (seed 2.2) and its closed form (2.3).

2.2: for q(z) = prod_i q_i(z_i) and p(z) = prod_i p_i(z_i) the KL splits into a
sum over dimensions: log of a product, linearity, marginalisation.  Shown for
general D; every step is checked exactly at D = 1, 2, 3 with Gaussian factors
by integrating over all D coordinates.

2.3: KL(N(mu1, s1^2) || N(mu2, s2^2)) by integrating q (log q - log p) over the
real line; the seed's case is the special case of the prior N(0, 1) (or any
prior the caller gives).
"""
from __future__ import annotations

import sympy as sp

from .gaussian import expectation, log_normal_pdf, normal_pdf
from .independent import gaussian, gaussian_expectation, kl_integrand
from .model import Derivation, Given, Result, Step, Verification
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

    # KL by the checks' own definition (derive.independent), not the derivation's
    expr = expr.replace(KL, lambda a, b: Expect(sp.expand(kl_integrand(a, b) / a), a))
    joint_q, joint_p = Density.make("q", sp.Symbol("z")), Density.make("p", sp.Symbol("z"))
    factors = {joint_q: sp.Mul(*[Density.make("q", zm) for zm in zs]),
               joint_p: sp.Mul(*[Density.make("p", zm) for zm in zs])}
    expr = expr.replace(Expect, lambda f, q: Expect(sp.expand_log(f.xreplace(factors)), q))
    expr = expr.replace(Expect, joint_expect)
    return sp.expand(sp.expand_log(expr))


def derive_kl(prior_mean=0, prior_std=1, example=None) -> Derivation:
    """``example``: optional numbers (mu, sigma) at which the closed form is also evaluated."""
    prior_mean, prior_std = sp.sympify(prior_mean), sp.sympify(prior_std)
    der = Derivation("kl", "KL divergence of factorised Gaussians",
                     f"q(z) = prod_i N(z_i; mu_i, sigma_i^2), p(z) = prod_i N(z_i; {prior_mean}, {prior_std}^2)")
    i, D, z, mu, sigma = _factorised_symbols()
    q_i = Density.make("q", z[i])
    p_i = Density.make("p", z[i])
    q_all, p_all = Density.make("q", sp.Symbol("z")), Density.make("p", sp.Symbol("z"))
    Q, P = sp.Product(q_i, (i, 1, D)), sp.Product(p_i, (i, 1, D))
    der.givens += [Given(q_all, Q, "q factorises over the D dimensions"),
                   Given(p_all, P, "so does the prior"),
                   Given(KL(q_all, p_all), kl_definition(KL(q_all, p_all)), "definition of the KL divergence")]
    der.symbols.update({"z": z, "mu": mu, "sigma": sigma, "i": i, "D": D})

    # ---- 2.2 -------------------------------------------------------------
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
    values = {}

    def value(expr, n):
        key = (sp.srepr(expr), n)
        if key not in values:
            values[key] = _evaluate(expr, n, prior_mean, prior_std)
        return values[key]

    for a, b, why in chain:
        checks = [exact(f"integrated at D = {n}", value(a, n), value(b, n), scope=f"D = {n}") for n in CHECK_DIMS]
        sec.steps.append(Step(a, b, why, combine(checks, "both sides integrated exactly over all D coordinates, "
                                                 "with Gaussian q_i and the prior"),
                              continues=a is not e0))
    der.results.append(Result("kl.sum", e0, e5, "the KL splits over dimensions"))

    # ---- 2.3 -------------------------------------------------------------
    zz = sp.Symbol("z", real=True)
    m1, m2 = sp.symbols("mu_1 mu_2", real=True)
    s1, s2 = sp.symbols("sigma_1 sigma_2", positive=True)
    sec = der.section("Closed form of KL(q_i || p_i)", "2.3",
                      "Integrate q (log q - log p) over the real line for two Gaussians, then take the prior.")
    q1, p2 = normal_pdf(zz, m1, s1 ** 2), normal_pdf(zz, m2, s2 ** 2)
    qa, pa = Density.make("q", zz), Density.make("p", zz)
    der.givens += [Given(qa, q1, "q = N(mu_1, sigma_1^2) (2.3)"), Given(pa, p2, "p = N(mu_2, sigma_2^2) (2.3)")]
    # shown with q(z), p(z) as named densities; checked with their Gaussian formulas put in
    integral = sp.Integral(qa * (sp.log(qa) - sp.log(pa)), (zz, -sp.oo, sp.oo))
    polynomial = sp.expand(log_normal_pdf(zz, m1, s1 ** 2) - log_normal_pdf(zz, m2, s2 ** 2))
    polynomial = sp.collect(polynomial, [zz ** 2, zz], sp.factor)
    expanded = sp.Integral(qa * polynomial, (zz, -sp.oo, sp.oo))
    everywhere = sp.Integral(kl_integrand(qa, pa), (zz, -sp.oo, sp.oo))  # the checks' own KL, over the real line
    sec.steps.append(Step(KL(qa, pa), integral, "definition of KL as an integral over the real line",
                          _same_integral(integral, everywhere, {},
                                         "equals the integral of the checks' own KL integrand a (log a - log b) "
                                         "over the real line")))
    own = {qa: gaussian(zz, m1, s1), pa: gaussian(zz, m2, s2)}  # the checks' own normal densities
    sec.steps.append(Step(integral, expanded, "log q - log p for the two Gaussians: a quadratic in z",
                          _same_integral(expanded, integral, own,
                                         "the same integral: the integrands agree with the checks' own normal "
                                         "densities put in"), continues=True))
    general = expectation(sp.log(q1) - sp.log(p2), zz, m1, s1 ** 2)
    general = sp.collect(sp.expand(sp.expand_log(general)), [s2], sp.factor)
    by_substitution = gaussian_expectation(sp.log(gaussian(zz, m1, s1)) - sp.log(gaussian(zz, m2, s2)), zz, m1, s1)
    sec.steps.append(Step(expanded, general, "integrate: E[z] = mu_1 and E[z^2] = mu_1^2 + sigma_1^2 under q",
                          exact("integrated again after the substitution z = mu_1 + sigma_1 u", general,
                                by_substitution), continues=True))
    mu_s, sig_s = sp.Symbol("mu", real=True), sp.Symbol("sigma", positive=True)
    special = general.subs({m1: mu_s, s1: sig_s, m2: prior_mean, s2: prior_std})
    half = _tidy(special)
    direct = gaussian_expectation(sp.log(gaussian(zz, mu_s, sig_s)) - sp.log(gaussian(zz, prior_mean, prior_std)),
                                  zz, mu_s, sig_s)
    qi, pi_ = Density.make("q_i", zz), Density.make("p_i", zz)
    sec.steps.append(Step(KL(qi, pi_), half,
                          f"the seed's case: mu_1 = mu_i, sigma_1 = sigma_i, prior N({prior_mean}, {prior_std}^2)",
                          exact("equals a direct integration of log q_i - log p_i under q_i with these parameters",
                                half, direct)))
    der.results.append(Result("kl.gaussian", KL(qa, pa), general, "KL between two univariate Gaussians"))
    der.results.append(Result("kl.closed_form", KL(qi, pi_), half, "KL(q_i || p_i) of the seed"))
    if example is not None:
        m_ex, s_ex = (sp.sympify(v) for v in example)
        value = half.subs({mu_s: m_ex, sig_s: s_ex})
        direct_ex = gaussian_expectation(sp.log(gaussian(zz, m_ex, s_ex)) - sp.log(gaussian(zz, prior_mean, prior_std)),
                                         zz, m_ex, s_ex)
        lhs = KL(Density.make("N", m_ex, s_ex ** 2), Density.make("N", prior_mean, prior_std ** 2))
        sec.steps.append(Step(lhs, value, f"worked example: mu = {_readable(m_ex)}, sigma = {_readable(s_ex)}",
                              exact("equals a direct integration at these numbers", value, direct_ex)))
        der.results.append(Result("kl.example", lhs, value,
                                  f"the KL at mu = {_readable(m_ex)}, sigma = {_readable(s_ex)}"))
    # the numeric checks and the exports evaluate the printed objects themselves
    der.data.update({"mu": mu_s, "sigma": sig_s, "closed_form": half, "general": general,
                     "general_symbols": (m1, s1, m2, s2), "prior": (prior_mean, prior_std)})
    return der


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
