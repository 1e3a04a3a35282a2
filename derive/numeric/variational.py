"""Numeric cross-checks of the free energy, KL and reparameterisation results.

The references here use only numpy/scipy: Gaussian log-densities written out,
quadrature (scipy.integrate.quad), Monte Carlo means with standard errors
(agreement within 4 standard errors), and complex-step derivatives.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from scipy import integrate

from ..model import CrossCheck
from .reference import gaussian_logpdf, mc_mean

Z_BOUND = 4.0  # Monte Carlo agreement within this many standard errors
#: a standard error is never taken below this fraction of the samples' scale (E|g|, E g^2): float64
#: rounding of each sample (about 1e-16 of it) cannot resolve a mean or variance finer than that
ROUNDING = 1e-10


def vfe_checks(der, seed: int = 0, n: int = 200_000) -> list[CrossCheck]:
    c = der.data["conjugate"]
    f = sp.lambdify((c["x"], c["m"], c["v"], c["tau"]), c["free_energy"], "numpy")
    rng = np.random.default_rng(seed)
    out = []
    for x, m, v, tau in [(0.7, -0.3, 0.5, 0.8), (-1.5, 0.4, 1.3, 2.0)]:
        z = rng.normal(m, np.sqrt(v), size=n)
        est, se = mc_mean(gaussian_logpdf(x, z, tau) + gaussian_logpdf(z, 0, 1) - gaussian_logpdf(z, m, np.sqrt(v)))
        out.append(CrossCheck.compare(f"free energy of the conjugate model (x = {x}, m = {m}, v = {v}, τ = {tau})",
                                      f"Monte Carlo, n={n}: |derived - MC| / SE",
                                      abs(f(x, m, v, tau) - est) / se, Z_BOUND))
    return out


def kl_checks(der, seed: int = 0, n: int = 200_000) -> list[CrossCheck]:
    mu, sigma = der.data["mu"], der.data["sigma"]
    pm, ps = (float(v) for v in der.data["prior"])
    kl = sp.lambdify((mu, sigma), der.result("kl.closed_form").value, "numpy")  # the printed object
    rng = np.random.default_rng(seed)
    out = []
    cases = [(0.3, 0.8), (-1.2, 1.7), (2.0, 1e-3), (1e3, 0.5), (-1e3, 1e-3)]
    for m, s in cases:
        def integrand(u):  # z = m + s u, u ~ N(0, 1): the integrand of KL in u
            z = m + s * u
            return np.exp(gaussian_logpdf(u, 0, 1)) * (gaussian_logpdf(z, m, s) - gaussian_logpdf(z, pm, ps))
        quad, _ = integrate.quad(integrand, -40, 40, epsabs=0, epsrel=1e-12, limit=200)
        value = kl(m, s)
        out.append(CrossCheck.compare(f"KL closed form (mu={m:g}, sigma={s:g})", "relative error against adaptive quadrature",
                                      abs(value - quad) / max(1.0, abs(quad)), 1e-9))
        if abs(m) < 100:
            z = rng.normal(m, s, size=n)
            est, se = mc_mean(gaussian_logpdf(z, m, s) - gaussian_logpdf(z, pm, ps))
            out.append(CrossCheck.compare(f"KL closed form (mu={m:g}, sigma={s:g})", f"Monte Carlo, n={n}: |derived - MC| / SE",
                                          abs(value - est) / se, Z_BOUND))
    # the general two-Gaussian formula, at parameters that are not the prior's
    general = sp.lambdify(der.data["general_symbols"], der.result("kl.gaussian").value, "numpy")
    for m1, s1, m2, s2 in [(0.7, 0.4, -1.1, 2.3), (-3.0, 1.9, 2.0, 0.6)]:
        def integrand(u, m1=m1, s1=s1, m2=m2, s2=s2):
            z = m1 + s1 * u
            return np.exp(gaussian_logpdf(u, 0, 1)) * (gaussian_logpdf(z, m1, s1) - gaussian_logpdf(z, m2, s2))
        quad, _ = integrate.quad(integrand, -40, 40, epsabs=0, epsrel=1e-12, limit=200)
        out.append(CrossCheck.compare(f"KL of two Gaussians (μ_q = {m1:g}, σ_q = {s1:g}, μ_p = {m2:g}, σ_p = {s2:g})",
                                      "relative error against adaptive quadrature",
                                      abs(general(m1, s1, m2, s2) - quad) / max(1.0, abs(quad)), 1e-9))
    return out + _kl_stable_checks(der)


def reparam_checks(der, seed: int = 0, n: int = 1_000_000) -> list[CrossCheck]:
    """The per-sample gradient, its mean and variance, then the estimators built on it; one stream of draws."""
    rng = np.random.default_rng(seed)
    out, means = _gradient_checks(der, rng, n)
    return out + _estimator_checks(der, rng, n, means)


def _gradient_checks(der, rng, n: int) -> tuple[list[CrossCheck], tuple]:
    """The printed per-sample gradient against complex-step derivatives of t written with numpy, and its
    mean and variance against Monte Carlo; returns the checks and the lambdified means (μ, σ)."""
    mu, sigma, eps = der.data["symbols"]
    # the printed results themselves
    g_mu, g_sigma = (sp.lambdify((mu, sigma, eps), der.result(f"reparam.grad_{n}").value, "numpy")
                     for n in ("mu", "sigma"))
    m_mu, m_sigma = (sp.lambdify((mu, sigma), g, "numpy") for g in der.result("reparam.mean").value)
    v_mu, v_sigma = (sp.lambdify((mu, sigma), g, "numpy") for g in der.result("reparam.variance").value)
    pm, ps = (float(v) for v in der.data["prior"])

    def t_ref(m, s, e):  # t = log q(z) - log p(z), written with numpy from the sheet's equations (2)
        z = m + s * e
        return gaussian_logpdf(z, m, s) - gaussian_logpdf(z, pm, ps)

    out = []
    for m, s in [(0.4, 0.9), (-1.3, 0.35)]:
        e = rng.normal(size=n)
        # complex-step derivatives of the hand-written t: Im t(m + ih) / h has no cancellation, so they stay
        # exact to rounding however large t is (a prior far from q makes t and its gradient large)
        h = 1e-30
        fd_mu = np.imag(t_ref(m + 1j * h, s, e)) / h
        fd_sigma = np.imag(t_ref(m, s + 1j * h, e)) / h
        gm, gs = g_mu(m, s, e) + 0 * e, g_sigma(m, s, e) + 0 * e
        for label, g, ref in (("μ", gm, fd_mu), ("σ", gs, fd_sigma)):
            out.append(CrossCheck.compare(f"per-sample ∂t/∂{label} (μ = {m}, σ = {s})",
                                          "max |derived - complex-step derivative| / max(1, |derived|)",
                                          np.max(np.abs(g - ref) / np.maximum(1.0, np.abs(g))), 1e-9))
        for label, fd, mean, var in (("μ", fd_mu, m_mu(m, s), v_mu(m, s)), ("σ", fd_sigma, m_sigma(m, s),
                                                                          v_sigma(m, s))):
            est, se = mc_mean(fd)
            # rounding in each sample (a few 1e-16 of |g|) is a floor below which the mean cannot be resolved
            se = max(se, ROUNDING * np.mean(np.abs(fd)))
            out.append(CrossCheck.compare(f"E[∂t/∂{label}] (μ = {m}, σ = {s})",
                                          f"MC mean of complex-step gradients, n={n}: |analytic - MC| / SE",
                                          abs(est - mean) / se, Z_BOUND))
            dev2 = (fd - est) ** 2
            var_est, var_se = mc_mean(dev2)
            var_se = max(var_se, ROUNDING * np.mean(fd ** 2))
            out.append(CrossCheck.compare(f"Var[∂t/∂{label}] (μ = {m}, σ = {s})",
                                          f"empirical variance, n={n}: |derived - empirical| / SE",
                                          abs(var_est - var) / var_se, Z_BOUND))
    return out, (m_mu, m_sigma)


def _estimator_checks(der, rng, n: int, means: tuple) -> list[CrossCheck]:
    """The score term, the path-derivative (STL) estimator and the L-sample average, against
    numeric/estimators.py: per sample, and their means and variances by Monte Carlo."""
    from . import estimators as ref

    mu, sigma, eps = der.data["symbols"]
    pm, ps = (float(v) for v in der.data["prior"])
    out = []
    z, size, draws = der.symbols["z"], der.symbols["L"], 4
    score, stl = ([sp.lambdify((mu, sigma, eps, z), c, "numpy") for c in der.result(name).value]
                  for name in ("reparam.score", "reparam.stl"))
    stl_var = [sp.lambdify((mu, sigma), c, "numpy") for c in der.result("reparam.stl_variance").value]
    avg_var = [sp.lambdify((mu, sigma, size), c, "numpy") for c in der.result("reparam.estimator_variance").value]
    average = der.result("reparam.estimator").value.subs(size, draws).doit()  # the printed sum at L = 4
    entries = sorted(average.atoms(sp.Indexed), key=sp.default_sort_key)  # ε_1 ... ε_4, z_1 ... z_4
    plain = sp.symbols(f"x0:{len(entries)}")
    avg = [sp.lambdify((mu, sigma, *plain), c.xreplace(dict(zip(entries, plain))), "numpy") for c in average]
    per_sample, mc = "max |derived - complex-step reference| / max(1, |derived|)", f"Monte Carlo, n={n}"
    prior = "" if (pm, ps) == (0.0, 1.0) else f", prior N({pm:g}, {ps:g}²)"
    for m, s in [(0.4, 0.9), (-1.3, 0.35)]:
        e, rows, where = rng.normal(size=n), rng.normal(size=(n // draws, draws)), f"(μ={m}, σ={s}{prior})"
        columns = [m + s * rows[:, int(a.indices[0]) - 1] if a.base.label == z else rows[:, int(a.indices[0]) - 1]
                   for a in entries]
        r_score, r_stl = ref.score(m, s, e), ref.stl_gradient(m, s, e, (pm, ps))
        r_avg = ref.sample_average(lambda d: ref.total_gradient(m, s, d, (pm, ps)), rows)
        for k, name in enumerate(("μ", "σ")):
            part = f"{name} component {where}"
            out += [
                CrossCheck.compare(f"score term per sample, {part}", per_sample,
                                   ref.relative_error(score[k](m, s, e, m + s * e), r_score[k]), 1e-9),
                CrossCheck.compare(f"STL gradient per sample, {part}", per_sample,
                                   ref.relative_error(stl[k](m, s, e, m + s * e), r_stl[k]), 1e-9),
                CrossCheck.compare(f"{draws}-sample average per set of draws, {part}", per_sample,
                                   ref.relative_error(avg[k](m, s, *columns), r_avg[k]), 1e-9),
                CrossCheck.compare(f"score term mean, {part}", f"{mc}: |0 - MC mean| / SE",
                                   ref.mean_z_score(r_score[k], 0.0, ROUNDING), Z_BOUND),
                CrossCheck.compare(f"STL gradient mean, {part}", f"{mc}: |exact gradient - MC mean| / SE",
                                   ref.mean_z_score(r_stl[k], means[k](m, s), ROUNDING), Z_BOUND),
                CrossCheck.compare(f"STL gradient variance, {part}", f"{mc}: |derived - empirical variance| / SE",
                                   ref.variance_z_score(r_stl[k], stl_var[k](m, s), ROUNDING), Z_BOUND),
                CrossCheck.compare(f"{draws}-sample average variance, {part}",
                                   f"{n // draws} sets of {draws} draws: |derived - empirical variance| / SE",
                                   ref.variance_z_score(r_avg[k], avg_var[k](m, s, draws), ROUNDING), Z_BOUND),
            ]
    return out


#: (offset of mu from the prior mean, sigma over the prior std): next to the prior, where the closed form as
#: printed loses all relative accuracy, and one point far from it
STABLE_POINTS = [(0.0, 1 + 1e-8), (0.0, 1 - 1e-7), (1e-9, 1 + 1e-6), (3.0, 1e-3)]


def _kl_stable_checks(der) -> list[CrossCheck]:
    """The stable form (kl.stable) against 50-digit arithmetic; what the closed form gives is recorded beside."""
    mu, sigma = der.data["mu"], der.data["sigma"]
    pm, ps = (float(v) for v in der.data["prior"])
    stable = sp.lambdify((mu, sigma), der.result("kl.stable").value, "numpy")
    naive = sp.lambdify((mu, sigma), der.result("kl.closed_form").value, "numpy")
    out = []
    for offset, ratio in STABLE_POINTS:
        m, s = pm + offset * ps, ratio * ps
        truth = _kl_50_digits(m, s, pm, ps)
        got, printed = float(stable(m, s)), float(naive(m, s))
        method = (f"relative error against the KL computed with 50 digits, {truth:.6g}; "
                  f"the closed form as printed {_accuracy(printed, truth)} here")
        out.append(CrossCheck.compare(f"KL stable form (mu={m:.10g}, sigma={s:.10g})", method,
                                      abs(got - truth) / truth, 1e-6))
    return out


def _accuracy(value: float, truth: float) -> str:
    """How far a float result is from the truth, as an order of magnitude (the same on every machine)."""
    from ..model import decade

    if value == 0:
        return "gives 0 (relative error 1)"
    lost = abs(value - truth) / truth
    return "is exact" if lost == 0 else f"has relative error ≤ 1e{decade(lost)}"


def _kl_50_digits(m: float, s: float, pm: float, ps: float) -> float:
    """KL(N(m, s²) || N(pm, ps²)) in 50-digit arithmetic at exactly these floats, written out by hand."""
    import mpmath

    with mpmath.workdps(50):
        m, s, pm, ps = (mpmath.mpf(v) for v in (m, s, pm, ps))
        return float(mpmath.log(ps / s) + ((m - pm) ** 2 + s ** 2) / (2 * ps ** 2) - mpmath.mpf(1) / 2)
