"""The reparameterisation gradient of KL(q_i || p_i) by backpropagation (seed 2.4).

Equations (2): z = mu + sigma eps, r = log q(z), s = log p(z), t = r - s, held
as a computation graph.  A symbolic reverse sweep gives the per-sample
gradient (dt/dmu, dt/dsigma) at fixed eps.  r depends on mu and sigma both
directly (through q's parameters) and through z: the sweep collects both.
Unbiasedness: E_eps[grad] equals the gradient of the closed form of 2.3;
the estimator's variance follows by integrating over eps ~ N(0, 1).

Then three estimators built on the sweep (:func:`derive_estimators`):

* the L-sample average (1/L) sum_l g(eps_l) over independent draws: unbiased,
  variance Var[g]/L (checked by integrating over eps_1, ..., eps_L at L = 2, 3);
* the score term: the sweep's direct terms r -> mu, r -> sigma (z held fixed), of mean 0;
* the path-derivative ("sticking the landing") estimator g - score: checked
  against a stop-gradient derivative; unbiased; its variance, 0 at q = p, and the
  set of sigma where it is lower than the total gradient's (not everywhere).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.polys.polyerrors import DomainError, PolificationFailed

from .gaussian import expectation, log_normal_pdf
from .graph import Graph
from .model import Derivation, Given, Result, Step, Verification
from .notation import Label
from . import independent
from .verify import combine, exact, prove_equal


def build_graph(prior_mean=0, prior_std=1):
    mu = sp.Symbol("mu", real=True)
    sigma = sp.Symbol("sigma", positive=True)
    eps = sp.Symbol("epsilon", real=True)
    z, r, s, t = sp.symbols("z r s t", real=True)
    g = Graph()
    g.input("mu", mu, r"\mu")
    g.input("sigma", sigma, r"\sigma")
    g.input("eps", eps, r"\epsilon")
    g.op("z", z, mu + sigma * eps, "z")
    g.op("r", r, log_normal_pdf(z, mu, sigma ** 2), "r")
    g.op("s", s, log_normal_pdf(z, sp.sympify(prior_mean), sp.sympify(prior_std) ** 2), "s")
    g.op("t", t, r - s, "t")
    return g


def derive_reparam(prior_mean=0, prior_std=1, closed_form=None) -> Derivation:
    """``closed_form``: KL(q_i || p_i) in (mu, sigma) from 2.3 (derived here if not given)."""
    g = build_graph(prior_mean, prior_std)
    N = g.nodes
    mu, sigma, eps = N["mu"].symbol, N["sigma"].symbol, N["eps"].symbol
    if closed_form is None:  # KL(q || p) by integration over z, as in 2.3
        zz = sp.Symbol("z", real=True)
        closed_form = expectation(log_normal_pdf(zz, mu, sigma ** 2)
                                  - log_normal_pdf(zz, sp.sympify(prior_mean), sp.sympify(prior_std) ** 2),
                                  zz, mu, sigma ** 2)
    der = Derivation("reparam", "Reparameterisation gradient by backpropagation",
                     "z = mu + sigma eps, r = log q(z), s = log p(z), t = r - s; grad_theta KL = E_eps[grad_theta t]")
    for name in ("z", "r", "s", "t"):
        der.givens.append(Given(N[name].symbol, N[name].expr, f"node {name} of equations (2)"))
    der.symbols.update({"mu": mu, "sigma": sigma, "epsilon": eps, "z": N["z"].symbol, "r": N["r"].symbol,
                        "s": N["s"].symbol, "t": N["t"].symbol})
    der.figures["graph"] = (g, "t")  # the graph and its output node: each renderer draws it
    sweep = g.backward("t")
    values = g.values()
    definitions = {N[name].symbol: N[name].expr for name in ("z", "r", "s", "t")}  # equations (2), as given
    _sweep_section(der, g, sweep, values, definitions)
    grad_mu = sp.simplify(sweep.adjoint["mu"].subs(values).subs(values))
    grad_sigma = sp.expand(sp.simplify(sweep.adjoint["sigma"].subs(values).subs(values)))
    t_composed = independent.compose(definitions, N["t"].symbol)  # t in mu, sigma, eps, from equations (2)
    mean, variance, exact_grad = _gradient_section(der, (mu, sigma, eps), (grad_mu, grad_sigma), t_composed,
                                                   closed_form)
    der.data.update({"grad": (grad_mu, grad_sigma), "mean": exact_grad, "variance": variance,
                     "symbols": (mu, sigma, eps), "t": t_composed, "graph": g,
                     "prior": (sp.sympify(prior_mean), sp.sympify(prior_std))})
    setting = Setting(mu, sigma, eps, N["z"].symbol, (sp.sympify(prior_mean), sp.sympify(prior_std)), definitions,
                      t_composed, sp.Matrix([grad_mu, grad_sigma]), sp.Matrix(mean),
                      sp.Matrix(variance), sp.Matrix(exact_grad), sweep, values)
    derive_estimators(der, setting)
    return der


def _sweep_section(der: Derivation, g: Graph, sweep, values: dict, definitions: dict) -> None:
    """The backward sweep, one node's adjoint at a time, and the adjoint table (a figure)."""
    N = g.nodes
    sec = der.section("Backward sweep", "2.4",
                      "Adjoints in reverse order, starting from t̄ = ∂t/∂t = 1. Each adjoint collects one chain-rule "
                      "term per child: μ̄ and σ̄ collect from z and also directly from r, because r = log q(z) uses "
                      "μ and σ as the parameters of q.")
    glyph = {"mu": "μ", "sigma": "σ", "eps": "ε"}
    bars = {name: Label(glyph.get(name, name) + "\u0304", rf"\bar{{{N[name].latex}}}") for name in sweep.order}
    der.givens.append(Given(bars["t"], sp.S.One, "the sweep starts at the output: t̄ = ∂t/∂t = 1"))
    table = [(bars["t"], sp.S.One, sp.S.One)]  # the adjoint table: (adjoint, chain-rule formula, value in mu, sigma, eps)
    for name in sweep.order[1:]:
        table.append(_adjoint_steps(sec, g, sweep, name, bars, values, definitions))
    der.data["sweep"] = sweep
    der.figures["adjoints"] = table


def _gradient_section(der: Derivation, symbols: tuple, grads: tuple, t_composed, closed_form):
    """The per-sample gradient from the sweep, its mean over ε (unbiased) and its variance, each checked;
    returns (mean, variance, the exact gradient of the closed form), each a (μ, σ) pair."""
    mu, sigma, eps = symbols
    grad_mu, grad_sigma = grads
    res = der.section("The stochastic gradient and its properties", "2.4",
                      "Per sample eps ~ N(0, 1): the gradient estimate, its mean and its variance.")
    gmu_l, gsig_l = Label("d t/d mu", r"\frac{\partial t}{\partial \mu}"), Label("d t/d sigma", r"\frac{\partial t}{\partial \sigma}")
    res.steps.append(Step(gmu_l, grad_mu, "μ̄ from the sweep, in terms of μ, σ, ε",
                          prove_equal(grad_mu, sp.diff(sp.expand(t_composed), mu), allow_numeric=False,
                                      detail="equals ∂t/∂μ of t composed from equations (2), differentiated directly")))
    res.steps.append(Step(gsig_l, grad_sigma, "σ̄ from the sweep, in terms of μ, σ, ε",
                          prove_equal(grad_sigma, sp.diff(sp.expand(t_composed), sigma), allow_numeric=False,
                                      detail="equals ∂t/∂σ of t composed from equations (2), differentiated directly")))
    mean_mu = expectation(grad_mu, eps, 0, 1)
    mean_sigma = expectation(grad_sigma, eps, 0, 1)
    exact_mu, exact_sigma = sp.diff(closed_form, mu), sp.diff(closed_form, sigma)
    e_mu = Label("E[d t/d mu]", r"\mathbb{E}_{\epsilon}\left[\frac{\partial t}{\partial \mu}\right]")
    e_sig = Label("E[d t/d sigma]", r"\mathbb{E}_{\epsilon}\left[\frac{\partial t}{\partial \sigma}\right]")
    res.steps.append(Step(e_mu, mean_mu, "unbiased: the mean over ε ~ N(0, 1) is ∂KL/∂μ of the closed form (2.3)",
                          exact("the mean over ε by integration equals ∂/∂μ of the closed form", mean_mu, exact_mu)))
    res.steps.append(Step(e_sig, sp.simplify(mean_sigma),
                          "unbiased: the mean over ε ~ N(0, 1) is ∂KL/∂σ of the closed form (2.3)",
                          exact("the mean over ε by integration equals ∂/∂σ of the closed form", mean_sigma, exact_sigma)))
    v_mu, v_sig, var_mu, var_sigma = _variance_steps(res, eps, grads, (mean_mu, mean_sigma))
    der.results += [
        Result("reparam.grad_mu", gmu_l, grad_mu, "per-sample gradient estimate with respect to mu"),
        Result("reparam.grad_sigma", gsig_l, grad_sigma, "per-sample gradient estimate with respect to sigma"),
        Result("reparam.mean", sp.Matrix([e_mu, e_sig]), sp.Matrix([sp.simplify(mean_mu), sp.simplify(mean_sigma)]),
               "the estimator's mean: the exact gradient"),
        Result("reparam.variance", sp.Matrix([v_mu, v_sig]), sp.Matrix([var_mu, var_sigma]),
               "the estimator's variance"),
    ]
    return (mean_mu, mean_sigma), (var_mu, var_sigma), (exact_mu, exact_sigma)


def _variance_steps(res, eps, grads: tuple, means: tuple):
    """The variance of each gradient component over ε, checked by the separately written route;
    returns the two labels and the two variances."""
    (grad_mu, grad_sigma), (mean_mu, mean_sigma) = grads, means
    var_mu = sp.simplify(expectation(grad_mu ** 2, eps, 0, 1) - mean_mu ** 2)
    var_sigma = sp.simplify(expectation(grad_sigma ** 2, eps, 0, 1) - mean_sigma ** 2)
    v_mu = Label("Var[d t/d mu]", r"\operatorname{Var}_{\epsilon}\left[\frac{\partial t}{\partial \mu}\right]")
    v_sig = Label("Var[d t/d sigma]", r"\operatorname{Var}_{\epsilon}\left[\frac{\partial t}{\partial \sigma}\right]")
    res.steps.append(Step(v_mu, var_mu, "variance: E[g²] − E[g]² by integration over ε",
                          exact("E[(g - E g)^2], integrated by the separately written route, agrees",
                                var_mu, independent.gaussian_expectation(sp.expand((grad_mu - mean_mu) ** 2), eps, 0, 1))))
    res.steps.append(Step(v_sig, var_sigma, "variance: E[g²] − E[g]² by integration over ε",
                          exact("E[(g - E g)^2], integrated by the separately written route, agrees",
                                var_sigma, independent.gaussian_expectation(sp.expand((grad_sigma - mean_sigma) ** 2),
                                                                            eps, 0, 1))))
    return v_mu, v_sig, var_mu, var_sigma


def _direct_partial(definitions: dict, output, symbol):
    """∂output/∂symbol with every other quantity composed from its definition, then all composed."""
    return independent.compose(definitions, sp.diff(independent.compose(definitions, output, keep=[symbol]), symbol))


def _adjoint_steps(sec, g: Graph, sweep, name: str, bars: dict, values: dict, definitions: dict):
    """The chain rule for one node's adjoint, its local partials, and its value; each checked against
    ∂t/∂node taken directly from equations (2), not from the sweep."""
    N = g.nodes
    t, me = N["t"].symbol, N[name].symbol
    direct = _direct_partial(definitions, t, me)
    children = [c for c, _ in sweep.terms[name]]
    chain_rule = sp.Add(*[sp.Mul(bars[c], sp.Derivative(N[c].symbol, me, evaluate=False), evaluate=False)
                          for c in children], evaluate=False)
    # the chain rule with each child's adjoint and local partial computed directly from equations (2)
    independent_terms = sp.Add(*[_direct_partial(definitions, t, N[c].symbol)
                                 * independent.compose(definitions, sp.diff(definitions[N[c].symbol], me))
                                 for c in children])
    paths = " and ".join(children)
    why = (f"chain rule: {name} feeds {paths}, so its adjoint collects one term from each path"
           if len(children) > 1 else f"chain rule: {name} feeds {paths} only")
    sec.steps.append(Step(bars[name], chain_rule, why,
                          prove_equal(independent_terms, direct, allow_numeric=False,
                                      detail="with each child's ∂t/∂child and ∂child/∂" + name + " differentiated "
                                             "directly from equations (2), the sum equals ∂t/∂" + name
                                             + " differentiated directly")))
    collected = sp.Add(*[term for _, term in sweep.terms[name]], evaluate=False)
    sec.steps.append(Step(chain_rule, collected, "local partial derivatives of each child, times its adjoint",
                          prove_equal(independent.compose(definitions, collected), direct, allow_numeric=False,
                                      detail=f"with forward values put in, equals ∂t/∂{name} differentiated directly "
                                             "from equations (2)"), continues=True))
    in_inputs = sp.simplify(sweep.adjoint[name].subs(values).subs(values))
    if not (sp.simplify(collected) == in_inputs and not collected.free_symbols):
        sec.steps.append(Step(collected, in_inputs, "forward values substituted: z = μ + σε",
                              prove_equal(in_inputs, direct, allow_numeric=False,
                                          detail=f"equals ∂t/∂{name} differentiated directly from equations (2)"),
                              continues=True))
    return bars[name], chain_rule, in_inputs


# The L-sample estimator, the score term and the path-derivative ("sticking the landing") estimator ------------

#: the number of draws L, the index l of a draw, and the draws ε_l with their z_l = μ + σ ε_l
L = sp.Symbol("L", integer=True, positive=True)
l = sp.Symbol("l", integer=True, positive=True)
EPS = sp.IndexedBase(sp.Symbol("epsilon", real=True), real=True)
Z = sp.IndexedBase(sp.Symbol("z", real=True), real=True)
#: the sample sizes at which the L-sample mean and variance are integrated out draw by draw
SMALL_L = (2, 3)


class Draw(sp.Indexed):
    """x_l: the quantity x at the l-th draw, printed with the base's own symbol (ε_l, not epsilon[l])."""

    def _latex(self, printer):
        return rf"{printer._print(self.base.label)}_{{{printer._print(self.indices[0])}}}"

    def _pretty(self, printer):
        return printer._print(sp.Symbol(f"{self.base.label.name}_{sp.sstr(self.indices[0])}"))

    def _sympystr(self, printer):
        return f"{printer._print(self.base.label)}_{printer._print(self.indices[0])}"


@dataclass(frozen=True)
class Setting:
    """What the estimator sections build on: the symbols, the prior (m, λ), equations (2) and t composed from
    them, the sweep's per-sample gradient with its derived mean and variance, and the closed form's gradient."""

    mu: sp.Symbol
    sigma: sp.Symbol
    eps: sp.Symbol
    z: sp.Symbol
    prior: tuple
    definitions: dict
    t: sp.Expr
    grad: sp.Matrix
    mean: sp.Matrix
    variance: sp.Matrix
    exact: sp.Matrix
    sweep: object
    values: dict

    @property
    def theta(self) -> tuple:
        return self.mu, self.sigma

    @property
    def at_prior(self) -> dict:
        """q = p: μ = m, σ = λ."""
        return {self.mu: self.prior[0], self.sigma: self.prior[1]}


def _pair(text: str, latex: str) -> sp.Matrix:
    """The (μ, σ) components of a named quantity: ``text``/``latex`` with {θ} standing for the parameter."""
    return sp.Matrix([Label(text.format(θ=t), latex.format(θ=x)) for t, x in (("μ", r"\mu"), ("σ", r"\sigma"))])


GRAD = _pair("d t/d {θ}", r"\frac{{\partial t}}{{\partial {θ}}}")
ESTIMATOR = _pair("ĝ_L,{θ}", r"\hat{{g}}_{{L,{θ}}}")
E_ESTIMATOR = _pair("E[ĝ_L,{θ}]", r"\mathbb{{E}}\left[\hat{{g}}_{{L,{θ}}}\right]")
V_ESTIMATOR = _pair("Var[ĝ_L,{θ}]", r"\operatorname{{Var}}\left[\hat{{g}}_{{L,{θ}}}\right]")
SCORE = _pair("d log q/d {θ} at fixed z", r"\left.\frac{{\partial \log q}}{{\partial {θ}}}\right|_{{z}}")
E_SCORE = _pair("E[d log q/d {θ} at fixed z]",
                r"\mathbb{{E}}_{{\epsilon}}\left[\left.\frac{{\partial \log q}}{{\partial {θ}}}\right|_{{z}}\right]")
STL = _pair("g_STL,{θ}", r"g^{{\mathrm{{STL}}}}_{{{θ}}}")
E_STL = _pair("E[g_STL,{θ}]", r"\mathbb{{E}}_{{\epsilon}}\left[g^{{\mathrm{{STL}}}}_{{{θ}}}\right]")
V_STL = _pair("Var[g_STL,{θ}]", r"\operatorname{{Var}}_{{\epsilon}}\left[g^{{\mathrm{{STL}}}}_{{{θ}}}\right]")
V_STL_AT_P = _pair("Var[g_STL,{θ}] at q = p",
                   r"\left.\operatorname{{Var}}_{{\epsilon}}\left[g^{{\mathrm{{STL}}}}_{{{θ}}}\right]\right|_{{q = p}}")
V_GAIN = _pair("Var[d t/d {θ}] - Var[g_STL,{θ}]",
               r"\operatorname{{Var}}_{{\epsilon}}\left[\frac{{\partial t}}{{\partial {θ}}}\right]"
               r" - \operatorname{{Var}}_{{\epsilon}}\left[g^{{\mathrm{{STL}}}}_{{{θ}}}\right]")
LOWER = _pair("{{σ > 0 : Var[g_STL,{θ}] < Var[d t/d {θ}]}}",
              r"\left\{{\sigma > 0 : \operatorname{{Var}}_{{\epsilon}}\left[g^{{\mathrm{{STL}}}}_{{{θ}}}\right]"
              r" < \operatorname{{Var}}_{{\epsilon}}\left[\frac{{\partial t}}{{\partial {θ}}}\right]\right\}}")


def derive_estimators(der: Derivation, st: Setting) -> None:
    """The L-sample estimator, the score term and the STL estimator: sections, results and data."""
    estimator, estimator_var = _sample_average_section(der, st)
    score = _score_section(der, st)
    stl, stl_var, lower = _stl_section(der, st, score)
    der.results += [
        Result("reparam.estimator", ESTIMATOR, estimator,
               "the average of the per-sample gradient over L independent draws ε_l ~ N(0, 1), z_l = μ + σ ε_l"),
        Result("reparam.estimator_variance", V_ESTIMATOR, estimator_var,
               "the L-sample estimator's variance: the per-sample variance over L (its mean is the exact gradient)"),
        Result("reparam.score", SCORE, score,
               "the score term: the sweep's direct path from r = log q(z; μ, σ) into μ and σ, z held fixed"),
        Result("reparam.stl", STL, stl, "the path-derivative (sticking-the-landing) estimator: gradient minus score"),
        Result("reparam.stl_variance", V_STL, stl_var, "the path-derivative estimator's variance over ε ~ N(0, 1)"),
        Result("reparam.stl_lower_when", *_lower_result(lower),
               "where (σ > 0) the path-derivative estimator's variance is strictly lower than the total gradient's, "
               "component by component; outside this set it is not lower"),
    ]
    der.symbols.update({"L": L, "l": l})
    der.data.update({"estimator": estimator, "estimator_variance": estimator_var, "score": score, "stl": stl,
                     "stl_variance": stl_var, "stl_lower": lower})


# -- the L-sample estimator --------------------------------------------------------------------------------------

def _in_z(st: Setting, expr):
    """``expr`` (in μ, σ, ε) with μ = z − σε (z = μ + σε solved for μ) put in, kept if that reads shorter."""
    mu_of_z = sp.solve(sp.Eq(st.z, st.definitions[st.z]), st.mu)[0]
    rewritten = sp.factor_terms(sp.expand(expr.subs(st.mu, mu_of_z)))
    return rewritten if sp.count_ops(rewritten) < sp.count_ops(expr) else expr


def _direct_gradient(st: Setting) -> sp.Matrix:
    """(∂t/∂μ, ∂t/∂σ) of t composed from equations (2), differentiated directly."""
    return sp.Matrix([sp.diff(sp.expand(st.t), v) for v in st.theta])


def _with_z(st: Setting, expr):
    """``expr`` with z = μ + σε from equations (2) put back."""
    return independent.compose({st.z: st.definitions[st.z]}, expr)


def _average_mean(mean: sp.Matrix) -> sp.Matrix:
    """E[(1/L) Σ_l g(ε_l)] = (1/L) Σ_l E[g(ε_l)] (linearity), each draw having the per-sample mean."""
    return mean.applyfunc(lambda m: sp.simplify(sp.Sum(m, (l, 1, L)).doit() / L))


def _average_variance(variance: sp.Matrix) -> sp.Matrix:
    """Var[(1/L) Σ_l g(ε_l)] = (1/L²) Σ_l Var[g(ε_l)]: Var[cX] = c² Var[X], and independent draws add variances."""
    return variance.applyfunc(lambda v: sp.simplify(sp.Sum(v, (l, 1, L)).doit() / L ** 2))


def _sample_average_section(der: Derivation, st: Setting):
    sec = der.section("The L-sample estimator", "2.4",
                      "The sample average of the per-sample gradient over L independent draws ε_l ~ N(0, 1), "
                      "z_l = μ + σ ε_l: unbiased, with the per-sample variance divided by L.")
    grad_z = st.grad.applyfunc(lambda c: _in_z(st, c))
    sec.steps.append(Step(GRAD, grad_z, "μ = z − σε put into the sweep's gradient: it reads in z and ε",
                          prove_equal(_with_z(st, grad_z), _direct_gradient(st), allow_numeric=False,
                                      detail="with z = μ + σε put back, equals (∂t/∂μ, ∂t/∂σ) of t composed from "
                                             "equations (2), differentiated directly")))
    terms = grad_z.xreplace({st.z: Draw(Z, l), st.eps: Draw(EPS, l)})
    estimator = terms.applyfunc(lambda c: sp.Sum(c, (l, 1, L)) / L)
    direct = _direct_gradient(st).xreplace({st.eps: Draw(EPS, l)})
    sec.steps.append(Step(ESTIMATOR, estimator, "the per-sample gradient at each draw ε_l, averaged over l = 1, …, L",
                          prove_equal(estimator.xreplace({Draw(Z, l): st.mu + st.sigma * Draw(EPS, l)}),
                                      direct.applyfunc(lambda c: sp.Sum(c, (l, 1, L)) / L), allow_numeric=False,
                                      detail="with z_l = μ + σ ε_l, equals the average of ∂t/∂θ differentiated "
                                             "directly from equations (2) at ε = ε_l")))
    moments = {n: _moments_at(st, estimator, n) for n in SMALL_L}
    mean, variance = _average_mean(st.mean), _average_variance(st.variance)
    sec.steps.append(Step(E_ESTIMATOR, mean, "linearity: each of the L draws has the per-sample mean, the exact "
                          "gradient ∂KL/∂θ of the closed form (2.3)",
                          _at_small_l("the mean", mean, {n: m for n, (m, _) in moments.items()})))
    sec.steps.append(Step(V_ESTIMATOR, variance, "each of the L independent draws is scaled by 1/L, which scales "
                          "its variance by 1/L², and independent variances add: L · Var[g] / L² = Var[g] / L",
                          _at_small_l("the variance", variance, {n: v for n, (_, v) in moments.items()})))
    return estimator, variance


def _moments_at(st: Setting, estimator: sp.Matrix, n: int):
    """Mean and variance of the printed estimator at L = n, integrating over ε_1, …, ε_n one at a time as
    independent standard normals (derive.independent's Gaussian expectation), z_l = μ + σ ε_l."""
    draws = [Draw(EPS, i) for i in range(1, n + 1)]
    explicit = estimator.subs(L, n).doit().xreplace({Draw(Z, i): st.mu + st.sigma * Draw(EPS, i)
                                                     for i in range(1, n + 1)})

    def over_draws(f):
        for e in draws:
            f = independent.gaussian_expectation(f, e, 0, 1)
        return sp.expand(f)

    mean = explicit.applyfunc(over_draws)
    return mean, (explicit - mean).applyfunc(lambda d: over_draws(sp.expand(d ** 2)))


def _at_small_l(what: str, claimed: sp.Matrix, integrated: dict) -> Verification:
    checks = [exact(f"{what} of the estimator at L = {n}, integrated over "
                    f"{', '.join(f'ε_{i}' for i in range(1, n + 1))} as independent standard normals, agrees",
                    claimed.subs(L, n), value, scope=f"L = {n}")
              for n, value in integrated.items()]
    return combine(checks, f"{what} of the estimator at L = {', '.join(map(str, integrated))}, integrated over "
                           "each draw as an independent standard normal, agrees")


# -- the score term ----------------------------------------------------------------------------------------------

def _score_terms(st: Setting) -> sp.Matrix:
    """The sweep's chain-rule terms from r straight into μ̄ and σ̄ (∂r/∂θ, z held fixed), forward values put in."""
    direct = [dict(st.sweep.terms[name])["r"] for name in ("mu", "sigma")]
    return sp.Matrix([sp.together(sp.expand(sp.simplify(term.subs(st.values).subs(st.values)))) for term in direct])


def _score_by_differentiation(st: Setting) -> sp.Matrix:
    """∂/∂θ of log N(z; μ, σ²) written with the standard deviation (derive.independent), z a variable of its own
    held fixed, then z = μ + σε from equations (2)."""
    zf = sp.Dummy("z", real=True)
    log_q = sp.expand_log(sp.log(independent.gaussian(zf, st.mu, st.sigma)), force=True)
    return sp.Matrix([sp.diff(log_q, v) for v in st.theta]).subs(zf, st.definitions[st.z])


def _mean_over_z(st: Setting, per_sample: sp.Matrix) -> sp.Matrix:
    """E over z ~ q = N(μ, σ²) of a per-sample quantity in ε, ε = (z − μ)/σ solved from equations (2): integrated
    against derive.independent's density over z, not over ε."""
    zf = sp.Dummy("z", real=True)
    eps_of_z = sp.solve(sp.Eq(zf, st.definitions[st.z]), st.eps)[0]
    density = independent.gaussian(zf, st.mu, st.sigma)
    return per_sample.applyfunc(lambda c: sp.simplify(sp.integrate(sp.expand(c.subs(st.eps, eps_of_z)) * density,
                                                                   (zf, -sp.oo, sp.oo), conds="none")))


def _score_section(der: Derivation, st: Setting) -> sp.Matrix:
    sec = der.section("The score term", "2.4",
                      "The part of the sweep's gradient that comes directly from r = log q(z; μ, σ) through q's "
                      "parameters, z held fixed: the chain-rule terms r → μ and r → σ. Its mean is 0.")
    score = _score_terms(st)
    sec.steps.append(Step(SCORE, score, "the sweep's direct terms r → μ and r → σ: ∂r/∂θ with z held fixed, "
                          "then z = μ + σε",
                          prove_equal(score, _score_by_differentiation(st), allow_numeric=False,
                                      detail="equals ∂ log N(z; μ, σ²)/∂θ differentiated with z held fixed, "
                                             "then z = μ + σε")))
    mean = score.applyfunc(lambda c: expectation(c, st.eps, 0, 1))
    sec.steps.append(Step(E_SCORE, mean, "mean over ε ~ N(0, 1) by integration: the score of q has mean 0",
                          exact("the score integrated over z ~ q = N(μ, σ²) instead of over ε agrees",
                                mean, _mean_over_z(st, score))))
    return score


# -- the path-derivative (sticking-the-landing) estimator --------------------------------------------------------

def _stop_gradient(st: Setting) -> sp.Matrix:
    """∂t/∂θ with q's parameters held as separate constants θ' = (μ', σ') (a stop-gradient), then θ' = θ; t written
    with derive.independent's density and z = μ + σε from equations (2)."""
    mu_c, sigma_c = sp.Symbol("mu'", real=True), sp.Symbol("sigma'", positive=True)
    zf = sp.Dummy("z", real=True)
    t = sp.log(independent.gaussian(zf, mu_c, sigma_c)) - sp.log(independent.gaussian(zf, *st.prior))
    t = sp.expand_log(t, force=True).subs(zf, st.definitions[st.z])
    return sp.Matrix([sp.diff(t, v) for v in st.theta]).subs({mu_c: st.mu, sigma_c: st.sigma})


def _central_moment(st: Setting, per_sample: sp.Matrix, mean: sp.Matrix) -> sp.Matrix:
    """E[(g − mean)²] over ε ~ N(0, 1), integrated by a separately written Gaussian expectation."""
    return sp.Matrix([sp.simplify(independent.gaussian_expectation(sp.expand((g - m) ** 2), st.eps, 0, 1))
                      for g, m in zip(per_sample, mean)])


def _variance(per_sample: sp.Matrix, mean: sp.Matrix, eps) -> sp.Matrix:
    """E[g²] − E[g]² by integration over ε ~ N(0, 1), expanded."""
    return sp.Matrix([sp.expand(expectation(g ** 2, eps, 0, 1) - m ** 2) for g, m in zip(per_sample, mean)])


def _stl_section(der: Derivation, st: Setting, score: sp.Matrix):
    sec = der.section("The path-derivative (sticking-the-landing, STL) estimator", "2.4",
                      "The sweep's gradient minus the score term: only the paths through z remain. It is unbiased "
                      "(the score has mean 0); its variance vanishes at q = p and is lower than the total "
                      "gradient's only on part of the σ axis.")
    stl = (st.grad - score).applyfunc(lambda c: sp.expand(sp.simplify(c)))
    shown = stl.applyfunc(lambda c: _in_z(st, c))
    frozen = _stop_gradient(st)
    sec.steps.append(Step(STL, shown, "the sweep's gradient minus the score term, then μ = z − σε where that "
                          "reads shorter: only the paths through z are left",
                          prove_equal(_with_z(st, shown), frozen, allow_numeric=False,
                                      detail="equals ∂t/∂θ with q's parameters held as separate constants θ' "
                                             "(stop-gradient), then θ' = θ")))
    mean = stl.applyfunc(lambda c: expectation(c, st.eps, 0, 1))
    sec.steps.append(Step(E_STL, mean, "unbiased: the mean over ε ~ N(0, 1) is ∂KL/∂θ of the closed form (2.3)",
                          exact("E over ε by integration equals the gradient of the closed form", mean, st.exact)))
    variance = _variance(stl, mean, st.eps)
    reference = _central_moment(st, frozen, st.exact)
    sec.steps.append(Step(V_STL, variance, "variance: E[g²] − E[g]² by integration over ε",
                          exact("E[(g − ∂KL/∂θ)²] of the stop-gradient derivative, integrated by the separately written "
                                "route, agrees", variance, reference)))
    _at_prior_step(sec, st, variance, frozen)
    return shown, variance, _comparison_steps(sec, st, variance, reference)


def _at_prior_step(sec, st: Setting, variance: sp.Matrix, frozen: sp.Matrix) -> None:
    value = variance.subs(st.at_prior).applyfunc(sp.simplify)
    at_p = _central_moment(st, frozen.subs(st.at_prior), st.exact.subs(st.at_prior))
    sec.steps.append(Step(V_STL_AT_P, value, "at q = p (μ = m, σ = λ) the variance above vanishes: "
                          "the path-derivative estimator is exact for every ε",
                          exact("the stop-gradient derivative's variance at μ = m, σ = λ, integrated by the "
                                "checks' own route, agrees", value, at_p)))


def _comparison_steps(sec, st: Setting, variance: sp.Matrix, reference: sp.Matrix) -> list:
    gain = (st.variance - variance).applyfunc(lambda c: sp.factor(sp.simplify(c)))
    total = _central_moment(st, _direct_gradient(st), st.exact)
    sec.steps.append(Step(V_GAIN, gain, "the total gradient's variance (above) minus the path-derivative one's",
                          exact("the same difference with both variances integrated by the separately written route "
                                "(∂t/∂θ differentiated directly; the stop-gradient derivative) agrees",
                                gain, total - reference)))
    regions = []
    for label, difference in zip(LOWER, gain):
        region = sp.solve_univariate_inequality(difference > 0, st.sigma, relational=False,
                                                domain=sp.Interval.open(0, sp.oo))
        sec.steps.append(Step(label, region, "solved for σ > 0: where the difference above is positive, the "
                              "path-derivative estimator's variance is strictly lower; elsewhere it is not",
                              _sign_table(difference, st.sigma, region)))
        regions.append(region)
    return regions


def _sign_table(difference, sigma, region) -> Verification:
    """``region`` = {σ > 0 : difference > 0}, checked without the inequality solver: the difference can change
    sign on σ > 0 only at a positive real root of its numerator or denominator (found by root isolation), so its
    sign at one point between consecutive roots decides each piece; at a root it is 0 or undefined."""
    num, den = sp.fraction(sp.together(difference))
    if (num.free_symbols | den.free_symbols) - {sigma}:
        return Verification.unverified("the sign table needs a difference in σ alone (a numeric prior)")
    try:
        cuts = sorted({r for p in (num, den) for r in sp.Poly(p, sigma).real_roots() if r.is_positive},
                      key=lambda r: sp.N(r, 30))
    except (NotImplementedError, PolificationFailed, DomainError) as exc:
        return Verification.unverified(f"the roots could not be isolated ({exc})")
    points = ([cuts[0] / 2] if cuts else [sp.S.One]) + [(a + b) / 2 for a, b in zip(cuts, cuts[1:])] \
        + ([cuts[-1] + 1] if cuts else [])
    wrong = [p for p in points if bool(difference.subs(sigma, p) > 0) != bool(region.contains(p))]
    wrong += [c for c in cuts if region.contains(c) is not sp.false]
    detail = (f"the sign of the difference between its positive roots ({', '.join(map(sp.sstr, cuts)) or 'none'}), "
              "found by root isolation, gives the same set")
    return Verification.unverified(f"{detail}: not at σ = {sp.sstr(wrong[0])}") if wrong \
        else Verification("exact", True, detail)


def _lower_result(regions: list):
    """(lhs, value) of where the path-derivative estimator's variance is lower: one set if both components agree."""
    if regions[0] != regions[1]:
        return sp.Tuple(*LOWER), sp.Tuple(*regions)
    return Label("{σ > 0 : Var[g_STL,θ] < Var[d t/d θ], θ = μ and σ}",
                 r"\left\{\sigma > 0 : \operatorname{Var}_{\epsilon}\left[g^{\mathrm{STL}}_{\theta}\right]"
                 r" < \operatorname{Var}_{\epsilon}\left[\frac{\partial t}{\partial \theta}\right],"
                 r" \theta = \mu, \sigma\right\}"), regions[0]
