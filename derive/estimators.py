"""Three gradient estimators of KL(q || p) compared: pathwise, score function and path derivative.

With t(z) = log q(z; θ) − log p(z), KL(q || p) = E_q[t], and z = z(θ, ξ) a reparameterisation by noise ξ
of fixed law, three per-sample estimates of ∇_θ KL are

* the reparameterisation (pathwise) gradient g_RP = d t(z(θ, ξ); θ)/dθ at fixed ξ: the paths through z plus
  the direct term ∂ log q/∂θ at fixed z (the reverse sweep of a computation graph collects both);
* the score-function (REINFORCE) estimator g_SF,θ = (t(z) − b_θ) ℓ_θ(z), ℓ_θ = ∂ log q(z; θ)/∂θ at fixed z,
  with a constant baseline b_θ per component.  E[ℓ_θ] = 0, so it is unbiased for every constant b_θ;
  its variance is the quadratic Var(b) = E[(t − b)² ℓ²] − (E[t ℓ])² in b, minimised where
  dVar/db = 2 b E[ℓ²] − 2 E[t ℓ²] = 0, i.e. b* = E[t ℓ²]/E[ℓ²];
* the path-derivative ("sticking the landing") estimator g_PD = g_RP − ℓ: the direct term dropped.  Unbiased
  because E[ℓ] = 0; at q = p it is exactly 0 for every ξ.

Two families:

A. q = N(μ, σ²), p = N(m, λ²), z = μ + σε, ε ~ N(0, 1): the graph of :mod:`derive.reparam` and its sweep;
B. q = Exponential(rate λ), p = Exponential(rate r), z = −log(u)/λ (the inverse CDF), u ~ Uniform(0, 1).

Every mean and variance is integrated over the noise (ε over the real line, u over (0, 1)); every check
integrates over z against the density written a second way (the standard-deviation form of
:func:`derive.independent.gaussian`, the derivative of the exponential CDF), with the per-sample functions
differentiated from those densities, not taken from the sweep.  The gradient of the closed-form KL, obtained
by integration, is the other check of each mean.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp

from . import independent
from .gaussian import expectation
from .graph import Graph, Sweep
from .model import Derivation, Given, Result, Step, Verification
from .notation import Label
from .reparam import build_graph
from .verify import combine, exact, within

#: how long a display simplification may take before the unsimplified form is shown
TIDY_SECONDS = 8.0


@dataclass(frozen=True)
class Family:
    """One variational family with its reparameterisation, and the two ways of integrating over it.

    ``over_noise`` is the derivation's expectation over the noise; ``over_z`` the check's, over z ~ q with
    ``check_density`` (a density written apart from the graph's log q); ``check_z`` is the check's own z."""

    key: str
    title: str
    question: str
    glyphs: tuple
    latex: tuple
    names: tuple
    graph: Graph
    sweep: Sweep
    values: dict
    noise: sp.Symbol
    noise_text: str
    baseline: tuple
    prior: tuple
    over_noise: Callable
    over_z: Callable
    check_z: sp.Symbol
    check_density: Callable
    check_prior: Callable

    @property
    def theta(self) -> tuple:
        return tuple(self.graph.nodes[name].symbol for name in self.names)

    @property
    def transform(self):
        """z in terms of θ and the noise (the graph's node z)."""
        return self.values[self.graph.nodes["z"].symbol]

    def at_inputs(self, expr):
        """``expr`` with every node of the graph replaced by its value in θ and the noise."""
        for _ in range(len(self.graph.nodes)):
            new = expr.subs(self.values)
            if new == expr:
                break
            expr = new
        return expr

    def labels(self, text: str, latex: str) -> sp.Matrix:
        """One label per component: ``text``/``latex`` with {θ} standing for the parameter."""
        return sp.Matrix([Label(text.format(θ=g), latex.format(θ=x)) for g, x in zip(self.glyphs, self.latex)])


# -- the two families --------------------------------------------------------------------------------------------

def gaussian_family(prior_mean=0, prior_std=1) -> Family:
    """Setting A: the graph z = μ + σε, r = log q(z), s = log p(z), t = r − s of :mod:`derive.reparam`."""
    g = build_graph(prior_mean, prior_std)
    mu, sigma = g.nodes["mu"].symbol, g.nodes["sigma"].symbol
    eps = g.nodes["eps"].symbol
    zc = sp.Dummy("z", real=True)
    prior = (sp.sympify(prior_mean), sp.sympify(prior_std))
    return Family(
        "gaussian", "Gaussian", "A", ("μ", "σ"), (r"\mu", r"\sigma"), ("mu", "sigma"), g, g.backward("t"),
        g.values(), eps, "ε ~ N(0, 1)",
        (sp.Symbol("b_mu", real=True), sp.Symbol("b_sigma", real=True)), prior,
        lambda f: expectation(f, eps, 0, 1),
        lambda f: independent.gaussian_expectation(f, zc, mu, sigma),
        zc, lambda z, theta: independent.gaussian(z, *theta), lambda z: independent.gaussian(z, *prior))


def _log_exponential_pdf(z, rate):
    """log of rate · exp(−rate z), expanded: log(rate) − rate z."""
    return sp.expand_log(sp.log(rate * sp.exp(-rate * z)), force=True)


def _exponential_graph(rate) -> Graph:
    lam, u = sp.Symbol("lambda", positive=True), sp.Symbol("u", positive=True)
    z, r, s, t = sp.symbols("z r s t", real=True)
    g = Graph()
    g.input("lambda", lam, r"\lambda")
    g.input("u", u, "u")
    g.op("z", z, -sp.log(u) / lam, "z")
    g.op("r", r, _log_exponential_pdf(z, lam), "r")
    g.op("s", s, _log_exponential_pdf(z, rate), "s")
    g.op("t", t, r - s, "t")
    return g


def _exponential_density(z, rate):
    """The exponential density as the derivative of its CDF 1 − exp(−rate z), z > 0."""
    return sp.diff(1 - sp.exp(-rate * z), z)


def _over_unit_interval(f, u):
    """E[f(u)] for u ~ Uniform(0, 1): the integral of f over (0, 1), logarithms expanded first."""
    return sp.expand(sp.integrate(sp.expand(sp.expand_log(f, force=True)), (u, 0, 1), conds="none"))


def _over_half_line(f, z, density):
    """E[f(z)] under ``density`` on z > 0: the integral of f · density over (0, ∞)."""
    return sp.expand(sp.integrate(sp.expand(sp.expand_log(f, force=True) * density), (z, 0, sp.oo), conds="none"))


def exponential_family(prior_rate=1) -> Family:
    """Setting B: z = −log(u)/λ, r = log q(z) = log λ − λz, s = log p(z), t = r − s."""
    rate = sp.sympify(prior_rate)
    g = _exponential_graph(rate)
    lam, u = g.nodes["lambda"].symbol, g.nodes["u"].symbol
    zc = sp.Dummy("z", positive=True)
    return Family(
        "exponential", "Exponential", "B", ("λ",), (r"\lambda",), ("lambda",), g, g.backward("t"), g.values(),
        u, "u ~ Uniform(0, 1)", (sp.Symbol("b_lambda", real=True),), (rate,),
        lambda f: _over_unit_interval(f, u),
        lambda f: _over_half_line(f, zc, _exponential_density(zc, lam)),
        zc, lambda z, theta: _exponential_density(z, *theta), lambda z: _exponential_density(z, rate))


# -- the check's own per-sample functions (written from the second densities, never from the sweep) --------------

def _check_log(density):
    return sp.expand(sp.expand_log(sp.log(density), force=True))


def _check_t(fam: Family, theta=None):
    """t(z) = log q(z; θ) − log p(z) in the check's z, from the second densities (θ may be held apart)."""
    z = fam.check_z
    return _check_log(fam.check_density(z, theta or fam.theta)) - _check_log(fam.check_prior(z))


def _check_score(fam: Family) -> sp.Matrix:
    """(∂q/∂θ)/q at fixed z, the second density differentiated (a likelihood ratio, not a log-derivative)."""
    q = fam.check_density(fam.check_z, fam.theta)
    return sp.Matrix([sp.expand(sp.powsimp(sp.diff(q, v) / q)) for v in fam.theta])


def _noise_of_z(fam: Family):
    """The noise in terms of z: the reparameterisation z = z(θ, noise) solved for the noise."""
    return sp.solve(sp.Eq(fam.check_z, fam.transform), fam.noise)[0]


def _to_z(fam: Family, expr):
    return expr.subs(fam.noise, _noise_of_z(fam))


def _to_noise(fam: Family, expr):
    return expr.subs(fam.check_z, fam.transform)


def _check_total(fam: Family) -> sp.Matrix:
    """d t(z(θ, noise); θ)/dθ of the check's t composed with the reparameterisation, differentiated directly."""
    composed = _to_noise(fam, _check_t(fam))
    return sp.Matrix([sp.diff(composed, v) for v in fam.theta])


def _check_stop_gradient(fam: Family) -> sp.Matrix:
    """dt/dθ with q's parameters held as separate constants θ' (a stop-gradient), then θ' = θ."""
    frozen = tuple(sp.Dummy(f"{v.name}_q", **v.assumptions0) for v in fam.theta)
    composed = _to_noise(fam, _check_t(fam, frozen))
    return sp.Matrix([sp.diff(composed, v) for v in fam.theta]).subs(dict(zip(frozen, fam.theta)))


def _check_mean_z(fam: Family, per_sample_z: sp.Matrix) -> sp.Matrix:
    return per_sample_z.applyfunc(fam.over_z)


def _check_central(fam: Family, per_sample_z: sp.Matrix, mean: sp.Matrix) -> sp.Matrix:
    """E[(g − mean)²] over z ~ q, component by component."""
    return sp.Matrix([fam.over_z(sp.expand((g - m) ** 2)) for g, m in zip(per_sample_z, mean)])


# -- display -----------------------------------------------------------------------------------------------------

def _tidy(expr):
    """The shortest of ``expr`` expanded, factored and simplified (each under a time limit); a form whose
    logarithms differ from the expanded one's (log σ¹² for 12 log σ) is not taken."""
    expanded = sp.expand(expr)
    logs = expanded.atoms(sp.log)
    forms = [expanded] + [within(TIDY_SECONDS, "simplifying for display", how, expanded, on_timeout=expanded)
                          for how in (sp.factor, sp.simplify)]
    return min((f for f in forms if f.atoms(sp.log) == logs), key=sp.count_ops)


def _tidy_in(expr, b):
    """``expr`` as a polynomial in the baseline b, each coefficient tidied."""
    poly = sp.Poly(sp.expand(expr), b)
    return sp.Add(*[_tidy(c) * b ** k for (k,), c in poly.terms()])


def _show(m: sp.Matrix):
    """A one-component family's quantities are shown as scalars."""
    return m[0] if m.shape == (1, 1) else m


def _positive(values: sp.Matrix, detail: str) -> Verification:
    """Every entry is positive by SymPy's assumptions on the symbols."""
    if all(v.is_positive is True for v in values):
        return Verification("symbolic", True, detail)
    return Verification.unverified(f"{detail}: not decided positive")


# -- the derivation ----------------------------------------------------------------------------------------------

def derive_estimators_comparison(prior_mean=0, prior_std=1, prior_rate=1) -> Derivation:
    """The three estimators for q = N(μ, σ²) against p = N(prior_mean, prior_std²) and for
    q = Exponential(λ) against p = Exponential(prior_rate): per-sample gradients, means, variances and the
    optimal constant baseline of the score-function estimator."""
    der = Derivation("estimators", "Gradient estimators of KL(q || p): pathwise, score function, path derivative",
                     "g_RP = dt/dθ at fixed noise; g_SF = (t − b) ∂log q/∂θ at fixed z; g_PD = g_RP − ∂log q/∂θ; "
                     "their means (all the exact gradient) and variances, and the variance-minimising baseline")
    der.data["variance_table"] = []
    for fam in (gaussian_family(prior_mean, prior_std), exponential_family(prior_rate)):
        _derive_family(der, fam)
    return der


def _derive_family(der: Derivation, fam: Family) -> None:
    _givens(der, fam)
    kl, grad_kl = _kl_section(der, fam)
    reparam = _reparam_section(der, fam, grad_kl)
    score = _score_section(der, fam, grad_kl)
    score.update(_baseline_section(der, fam, score, grad_kl))
    path = _path_section(der, fam, grad_kl, reparam["gradient"], score["q_score"])
    _record(der, fam, kl, grad_kl, {"reparam": reparam, "score": score, "path": path})


def _givens(der: Derivation, fam: Family) -> None:
    N = fam.graph.nodes
    for name in ("z", "r", "s", "t"):
        der.givens.append(Given(N[name].symbol, N[name].expr,
                                f"{fam.title} setting: node {name} of the graph, {fam.noise_text}"))
    der.symbols.update({f"{fam.key}.{name}": N[name].symbol for name in (*fam.names, "z", "t")})
    der.symbols[f"{fam.key}.noise"] = fam.noise


def _kl_section(der: Derivation, fam: Family):
    sec = der.section(f"{fam.title}: the KL and its gradient", fam.question,
                      f"KL(q || p) = E_q[t] integrated over {fam.noise_text} with z = {sp.sstr(fam.transform)}; "
                      "its gradient is the target of every estimator below.")
    t_noise = fam.at_inputs(fam.graph.nodes["t"].symbol)
    kl = _tidy(fam.over_noise(t_noise))
    kl_label = Label("KL(q || p)", r"\mathrm{KL}\left(q \,\|\, p\right)")
    sec.steps.append(Step(kl_label, kl, f"E[t(z)] with z = {sp.sstr(fam.transform)}, integrated over {fam.noise_text}",
                          exact("t written from the second density, integrated against q over z, agrees",
                                kl, fam.over_z(_check_t(fam)))))
    grad = sp.Matrix([_tidy(sp.diff(kl, v)) for v in fam.theta])
    score_z = _check_score(fam)
    under_integral = score_z.applyfunc(lambda s: fam.over_z(sp.expand((_check_t(fam) + 1) * s)))
    sec.steps.append(Step(_show(fam.labels("d KL/d {θ}", r"\frac{{\partial \mathrm{{KL}}}}{{\partial {θ}}}")),
                          _show(grad), "the closed form above differentiated",
                          exact("differentiating under the integral sign, E_q[(t + 1) (∂q/∂θ)/q] integrated over z "
                                "agrees", grad, under_integral)))
    return kl, grad


def _moment_steps(sec, fam: Family, tag: tuple, per_sample: sp.Matrix, check_noise: sp.Matrix, grad_kl: sp.Matrix,
                  show_variance=None):
    """Mean and variance of a per-sample estimator over the noise, each checked over z; ``tag`` is its
    (text, LaTeX) name.  Returns (mean, variance)."""
    text, tex = tag
    check_z = _to_z(fam, check_noise)
    mean = per_sample.applyfunc(lambda g: _tidy(fam.over_noise(sp.expand(g))))
    mean_checks = [exact("the gradient of the closed-form KL agrees (unbiased)", mean, grad_kl),
                   exact("the second per-sample function integrated over z ~ q agrees", mean,
                         _check_mean_z(fam, check_z))]
    sec.steps.append(Step(_show(fam.labels(f"E[{text}]", rf"\mathbb{{{{E}}}}\left[{tex}\right]")), _show(mean),
                          f"mean over {fam.noise_text} by integration: the gradient of the KL",
                          combine(mean_checks, "the closed-form KL's gradient and the integral over z agree")))
    raw = [fam.over_noise(sp.expand(g ** 2)) - m ** 2 for g, m in zip(per_sample, mean)]
    variance = sp.Matrix([show_variance(v, k) if show_variance else _tidy(v) for k, v in enumerate(raw)])
    sec.steps.append(Step(_show(fam.labels(f"Var[{text}]", rf"\operatorname{{{{Var}}}}\left[{tex}\right]")),
                          _show(variance), f"E[g²] − E[g]², integrated over {fam.noise_text}",
                          exact("E[(g − ∂KL/∂θ)²] of the second per-sample function, integrated over z ~ q, agrees",
                                variance, _check_central(fam, check_z, grad_kl))))
    return mean, variance


def _reparam_section(der: Derivation, fam: Family, grad_kl: sp.Matrix) -> dict:
    sec = der.section(f"{fam.title}: the reparameterisation (pathwise) gradient", fam.question,
                      "The reverse sweep of the graph at fixed noise: the adjoint of each parameter collects the "
                      "path through z and the direct term of r = log q(z; θ).")
    grad = sp.Matrix([_tidy(fam.at_inputs(fam.sweep.adjoint[n])) for n in fam.names])
    sec.steps.append(Step(_show(fam.labels("g_RP,{θ}", r"g^{{\mathrm{{RP}}}}_{{{θ}}}")), _show(grad),
                          "the sweep's adjoints of the parameters, forward values put in",
                          exact("t written from the second density, composed with the reparameterisation and "
                                "differentiated directly, agrees", grad, _check_total(fam))))
    mean, variance = _moment_steps(sec, fam, ("g_RP,{θ}", r"g^{{\mathrm{{RP}}}}_{{{θ}}}"), grad,
                                   _check_total(fam), grad_kl)
    return {"gradient": grad, "mean": mean, "variance": variance}


SF = ("g_SF,{θ}", r"g^{{\mathrm{{SF}}}}_{{{θ}}}")
SCORE = ("ℓ_{θ}", r"\ell_{{{θ}}}")


def _score_section(der: Derivation, fam: Family, grad_kl: sp.Matrix) -> dict:
    sec = der.section(f"{fam.title}: the score-function (REINFORCE) estimator", fam.question,
                      "ℓ_θ = ∂ log q(z; θ)/∂θ at fixed z is the sweep's direct term r → θ; the estimator "
                      "(t(z) − b_θ) ℓ_θ with a constant baseline b_θ per component has mean ∂KL/∂θ for every b_θ.")
    score = sp.Matrix([_tidy(fam.at_inputs(dict(fam.sweep.terms[n])["r"])) for n in fam.names])
    check_score = _to_noise(fam, _check_score(fam))
    sec.steps.append(Step(_show(fam.labels(*SCORE)), _show(score),
                          "the sweep's direct term r → θ (z held fixed), forward values put in",
                          exact("(∂q/∂θ)/q of the second density at fixed z, then z reparameterised, agrees",
                                score, check_score)))
    score_mean = score.applyfunc(lambda s: _tidy(fam.over_noise(sp.expand(s))))
    sec.steps.append(Step(_show(fam.labels("E[ℓ_{θ}]", r"\mathbb{{E}}\left[\ell_{{{θ}}}\right]")), _show(score_mean),
                          f"integrated over {fam.noise_text}: the score has mean 0",
                          exact("(∂q/∂θ)/q of the second density integrated over z ~ q agrees", score_mean,
                                _check_mean_z(fam, _check_score(fam)))))
    t_noise = _tidy(fam.at_inputs(fam.graph.nodes["t"].symbol))
    estimator = sp.Matrix([(t_noise - b) * s for b, s in zip(fam.baseline, score)])
    check = sp.Matrix([(_check_t(fam) - b) * s for b, s in zip(fam.baseline, _check_score(fam))])
    sec.steps.append(Step(_show(fam.labels(*SF)), _show(estimator),
                          f"(t − b_θ) ℓ_θ with t = r − s at z = {sp.sstr(fam.transform)}",
                          exact("(t − b_θ) (∂q/∂θ)/q from the second densities, z reparameterised, agrees",
                                estimator, _to_noise(fam, check))))
    mean, variance = _moment_steps(sec, fam, SF, estimator, _to_noise(fam, check), grad_kl,
                                   lambda v, k: _tidy_in(v, fam.baseline[k]))
    return {"q_score": score, "t": t_noise, "gradient": estimator, "mean": mean, "variance_baseline": variance}


def _baseline_section(der: Derivation, fam: Family, score: dict, grad_kl: sp.Matrix) -> dict:
    sec = der.section(f"{fam.title}: the optimal constant baseline", fam.question,
                      "The variance is a quadratic in b_θ; setting its derivative to 0 gives the minimiser "
                      "b*_θ = E[t ℓ_θ²]/E[ℓ_θ²] (the second derivative 2 E[ℓ_θ²] is positive).")
    b, var = sp.Matrix(fam.baseline), score["variance_baseline"]
    t_z, s_z = _check_t(fam), _check_score(fam)
    e_ts2 = s_z.applyfunc(lambda s: fam.over_z(sp.expand(t_z * s ** 2)))
    e_s2 = s_z.applyfunc(lambda s: fam.over_z(sp.expand(s ** 2)))
    var0_check = _check_central(fam, s_z * t_z, grad_kl)
    var0 = sp.Matrix([_tidy(v.subs(bk, 0)) for v, bk in zip(var, b)])
    sec.steps.append(Step(_show(fam.labels("Var[g_SF,{θ}] at b_{θ} = 0", r"\left.\operatorname{{Var}}\left["
                                           r"g^{{\mathrm{{SF}}}}_{{{θ}}}\right]\right|_{{b_{{{θ}}} = 0}}")),
                          _show(var0), "no baseline: b_θ = 0 in the variance above",
                          exact("E[(t ℓ_θ − ∂KL/∂θ)²] from the second densities, integrated over z ~ q, agrees",
                                var0, var0_check)))
    slope = sp.Matrix([_tidy(sp.diff(v, bk)) for v, bk in zip(var, b)])
    centred = [sp.expand((t_z - bk) * s - g) for bk, s, g in zip(b, s_z, grad_kl)]
    sec.steps.append(Step(_show(fam.labels("d Var[g_SF,{θ}]/d b_{θ}", r"\frac{{\partial \operatorname{{Var}}\left["
                                           r"g^{{\mathrm{{SF}}}}_{{{θ}}}\right]}}{{\partial b_{{{θ}}}}}")),
                          _show(slope), "the variance differentiated in its baseline",
                          exact("2 E[(g − E g) ∂g/∂b_θ] = −2 E[(g − ∂KL/∂θ) ℓ_θ], integrated over z ~ q, agrees",
                                slope, sp.Matrix([-2 * fam.over_z(sp.expand(c * s)) for c, s in zip(centred, s_z)]))))
    best = sp.Matrix([_tidy(sp.solve(sp.Eq(d, 0), bk)[0]) for d, bk in zip(slope, b)])
    star = fam.labels("b*_{θ}", r"b^{{*}}_{{{θ}}}")
    sec.steps.append(Step(_show(star), _show(best), "d Var/d b_θ = 0 solved for b_θ",
                          combine([exact("the slope vanishes there", slope.subs(dict(zip(b, best))), sp.zeros(*b.shape)),
                                   exact("E[t ℓ_θ²]/E[ℓ_θ²], numerator and denominator each integrated over z ~ q, "
                                         "agrees", best, sp.Matrix([n / d for n, d in zip(e_ts2, e_s2)]))],
                                  "the slope vanishes at b* and b* = E[t ℓ²]/E[ℓ²] integrated over z")))
    _ratio_and_curvature_steps(sec, fam, score, var, best, e_s2)
    at_best = sp.Matrix([_tidy(v.subs(bk, x)) for v, bk, x in zip(var, b, best)])
    sec.steps.append(Step(_show(fam.labels("Var[g_SF,{θ}] at b*_{θ}", r"\left.\operatorname{{Var}}\left["
                                           r"g^{{\mathrm{{SF}}}}_{{{θ}}}\right]\right|_{{b^{{*}}_{{{θ}}}}}")),
                          _show(at_best), "the variance at the optimal baseline",
                          exact("Var at b = 0 minus E[t ℓ_θ²]²/E[ℓ_θ²], each integrated over z ~ q, agrees", at_best,
                                sp.Matrix([v - n ** 2 / d for v, n, d in zip(var0_check, e_ts2, e_s2)]))))
    return {"variance": var0, "optimal_baseline": best, "variance_optimal": at_best}


def _ratio_and_curvature_steps(sec, fam: Family, score: dict, var: sp.Matrix, best: sp.Matrix, e_s2: sp.Matrix):
    """b* written as E[t ℓ²]/E[ℓ²] integrated over the noise, and the second derivative 2 E[ℓ²] > 0."""
    s, t = score["q_score"], score["t"]
    e_s2_noise = s.applyfunc(lambda c: fam.over_noise(sp.expand(c ** 2)))
    ratio = sp.Matrix([_tidy(fam.over_noise(sp.expand(t * c ** 2)) / d) for c, d in zip(s, e_s2_noise)])
    sec.steps.append(Step(_show(fam.labels("E[t ℓ_{θ}²]/E[ℓ_{θ}²]", r"\frac{{\mathbb{{E}}\left[t \ell_{{{θ}}}^{{2}}"
                                           r"\right]}}{{\mathbb{{E}}\left[\ell_{{{θ}}}^{{2}}\right]}}")),
                          _show(ratio), f"numerator and denominator each integrated over {fam.noise_text}",
                          exact("b* from solving d Var/d b_θ = 0 agrees", ratio, best)))
    curvature = sp.Matrix([_tidy(sp.diff(v, bk, 2)) for v, bk in zip(var, fam.baseline)])
    sec.steps.append(Step(_show(fam.labels("d² Var[g_SF,{θ}]/d b_{θ}²", r"\frac{{\partial^{{2}} \operatorname{{Var}}"
                                           r"\left[g^{{\mathrm{{SF}}}}_{{{θ}}}\right]}}{{\partial b_{{{θ}}}^{{2}}}}")),
                          _show(curvature), "positive: b* is the minimum",
                          combine([exact("2 E[ℓ_θ²] integrated over z ~ q agrees", curvature, 2 * e_s2),
                                   _positive(curvature, "positive by the assumptions on the parameters")],
                                  "2 E[ℓ_θ²] integrated over z ~ q agrees and is positive")))


PD = ("g_PD,{θ}", r"g^{{\mathrm{{PD}}}}_{{{θ}}}")


def _path_section(der: Derivation, fam: Family, grad_kl: sp.Matrix, total: sp.Matrix, score: sp.Matrix) -> dict:
    sec = der.section(f"{fam.title}: the path-derivative (sticking-the-landing) estimator", fam.question,
                      "The reparameterisation gradient with the direct term ℓ_θ dropped: only the path through z "
                      "is left. Unbiased, since E[ℓ_θ] = 0.")
    path = (total - score).applyfunc(_tidy)
    frozen = _check_stop_gradient(fam)
    sec.steps.append(Step(_show(fam.labels(*PD)), _show(path), "g_RP,θ − ℓ_θ",
                          exact("dt/dθ with q's parameters frozen (a stop-gradient), from the second densities, "
                                "agrees", path, frozen)))
    mean, variance = _moment_steps(sec, fam, PD, path, frozen, grad_kl)
    return {"gradient": path, "mean": mean, "variance": variance}


# -- results, the variance table and the data the checks and the figure use --------------------------------------

#: (kind, key in its part, result suffix, the quantity's (text, LaTeX) template, description)
RESULTS = [
    ("reparam", "gradient", "reparam.gradient", ("g_RP,{θ}", r"g^{{\mathrm{{RP}}}}_{{{θ}}}"),
     "per-sample reparameterisation gradient at fixed noise"),
    ("reparam", "mean", "reparam.mean", ("E[g_RP,{θ}]", r"\mathbb{{E}}\left[g^{{\mathrm{{RP}}}}_{{{θ}}}\right]"),
     "its mean: the exact gradient"),
    ("reparam", "variance", "reparam.variance", ("Var[g_RP,{θ}]", r"\operatorname{{Var}}\left[g^{{\mathrm{{RP}}}}_{{{θ}}}\right]"),
     "its variance over the noise"),
    ("score", "q_score", "q_score", SCORE, "the score ∂ log q(z; θ)/∂θ at fixed z, z reparameterised"),
    ("score", "gradient", "score.gradient", SF, "per-sample score-function estimator (t − b_θ) ℓ_θ"),
    ("score", "mean", "score.mean", ("E[g_SF,{θ}]", r"\mathbb{{E}}\left[g^{{\mathrm{{SF}}}}_{{{θ}}}\right]"),
     "its mean, the exact gradient for every constant baseline"),
    ("score", "variance_baseline", "score.variance_baseline",
     ("Var[g_SF,{θ}]", r"\operatorname{{Var}}\left[g^{{\mathrm{{SF}}}}_{{{θ}}}\right]"),
     "its variance as a function of the baseline b_θ"),
    ("score", "variance", "score.variance", ("Var[g_SF,{θ}] at b_{θ} = 0",
     r"\left.\operatorname{{Var}}\left[g^{{\mathrm{{SF}}}}_{{{θ}}}\right]\right|_{{b_{{{θ}}} = 0}}"),
     "its variance without baseline (b_θ = 0)"),
    ("score", "optimal_baseline", "score.optimal_baseline", ("b*_{θ}", r"b^{{*}}_{{{θ}}}"),
     "the variance-minimising constant baseline E[t ℓ_θ²]/E[ℓ_θ²]"),
    ("score", "variance_optimal", "score_baseline.variance", ("Var[g_SF,{θ}] at b*_{θ}",
     r"\left.\operatorname{{Var}}\left[g^{{\mathrm{{SF}}}}_{{{θ}}}\right]\right|_{{b^{{*}}_{{{θ}}}}}"),
     "the score-function estimator's variance at the optimal baseline"),
    ("path", "gradient", "path.gradient", PD, "per-sample path-derivative (sticking-the-landing) estimator"),
    ("path", "mean", "path.mean", ("E[g_PD,{θ}]", r"\mathbb{{E}}\left[g^{{\mathrm{{PD}}}}_{{{θ}}}\right]"),
     "its mean: the exact gradient"),
    ("path", "variance", "path.variance", ("Var[g_PD,{θ}]", r"\operatorname{{Var}}\left[g^{{\mathrm{{PD}}}}_{{{θ}}}\right]"),
     "its variance over the noise"),
]

#: the rows of the variance table: (estimator name, kind, key)
TABLE = [("reparameterisation (pathwise)", "reparam", "variance"),
         ("path derivative (sticking the landing)", "path", "variance"),
         ("score function, no baseline", "score", "variance"),
         ("score function, constant baseline b", "score", "variance_baseline"),
         ("score function, optimal baseline b*", "score", "variance_optimal")]


def _record(der: Derivation, fam: Family, kl, grad_kl: sp.Matrix, parts: dict) -> None:
    prefix = f"estimators.{fam.key}"
    der.results.append(Result(f"{prefix}.kl", Label("KL(q || p)", r"\mathrm{KL}\left(q \,\|\, p\right)"), kl,
                              f"KL(q || p), {fam.title} setting, by integration"))
    der.results.append(Result(f"{prefix}.kl_gradient",
                              _show(fam.labels("d KL/d {θ}", r"\frac{{\partial \mathrm{{KL}}}}{{\partial {θ}}}")),
                              _show(grad_kl), "the gradient of the closed-form KL: every estimator's mean"))
    for kind, key, suffix, (text, tex), description in RESULTS:
        der.results.append(Result(f"{prefix}.{suffix}", _show(fam.labels(text, tex)), _show(parts[kind][key]),
                                  description))
    der.data["variance_table"] += [(fam.title, name, _show(parts[kind][key])) for name, kind, key in TABLE]
    der.data[fam.key] = {"theta": fam.theta, "noise": fam.noise, "baseline": fam.baseline, "prior": fam.prior,
                         "transform": fam.transform}
