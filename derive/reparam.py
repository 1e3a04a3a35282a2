"""The reparameterisation gradient of KL(q_i || p_i) by backpropagation (seed 2.4).

Equations (2): z = mu + sigma eps, r = log q(z), s = log p(z), t = r - s, held
as a computation graph.  A symbolic reverse sweep gives the per-sample
gradient (dt/dmu, dt/dsigma) at fixed eps.  r depends on mu and sigma both
directly (through q's parameters) and through z: the sweep collects both.
Unbiasedness: E_eps[grad] equals the gradient of the closed form of 2.3;
the estimator's variance follows by integrating over eps ~ N(0, 1).
"""
from __future__ import annotations

import sympy as sp

from .gaussian import expectation, log_normal_pdf
from .graph import Graph
from .model import Derivation, Given, Result, Step
from .notation import Label
from . import independent
from .verify import exact, prove_equal


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
    grad_mu = sp.simplify(sweep.adjoint["mu"].subs(values).subs(values))
    grad_sigma = sp.expand(sp.simplify(sweep.adjoint["sigma"].subs(values).subs(values)))
    t_composed = independent.compose(definitions, N["t"].symbol)  # t in mu, sigma, eps, from equations (2)
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
                          exact("E over eps by integration equals d/dmu of the closed form", mean_mu, exact_mu)))
    res.steps.append(Step(e_sig, sp.simplify(mean_sigma),
                          "unbiased: the mean over ε ~ N(0, 1) is ∂KL/∂σ of the closed form (2.3)",
                          exact("E over eps by integration equals d/dsigma of the closed form", mean_sigma, exact_sigma)))
    var_mu = sp.simplify(expectation(grad_mu ** 2, eps, 0, 1) - mean_mu ** 2)
    var_sigma = sp.simplify(expectation(grad_sigma ** 2, eps, 0, 1) - mean_sigma ** 2)
    v_mu = Label("Var[d t/d mu]", r"\operatorname{Var}_{\epsilon}\left[\frac{\partial t}{\partial \mu}\right]")
    v_sig = Label("Var[d t/d sigma]", r"\operatorname{Var}_{\epsilon}\left[\frac{\partial t}{\partial \sigma}\right]")
    res.steps.append(Step(v_mu, var_mu, "variance: E[g²] − E[g]² by integration over ε",
                          exact("E[(g - E g)^2], integrated by the checks' own route, agrees",
                                var_mu, independent.gaussian_expectation(sp.expand((grad_mu - mean_mu) ** 2), eps, 0, 1))))
    res.steps.append(Step(v_sig, var_sigma, "variance: E[g²] − E[g]² by integration over ε",
                          exact("E[(g - E g)^2], integrated by the checks' own route, agrees",
                                var_sigma, independent.gaussian_expectation(sp.expand((grad_sigma - mean_sigma) ** 2),
                                                                            eps, 0, 1))))
    der.results += [
        Result("reparam.grad_mu", gmu_l, grad_mu, "per-sample gradient estimate with respect to mu"),
        Result("reparam.grad_sigma", gsig_l, grad_sigma, "per-sample gradient estimate with respect to sigma"),
        Result("reparam.mean", sp.Matrix([e_mu, e_sig]), sp.Matrix([sp.simplify(mean_mu), sp.simplify(mean_sigma)]),
               "the estimator's mean: the exact gradient"),
        Result("reparam.variance", sp.Matrix([v_mu, v_sig]), sp.Matrix([var_mu, var_sigma]),
               "the estimator's variance"),
    ]
    der.data.update({"grad": (grad_mu, grad_sigma), "mean": (exact_mu, exact_sigma), "variance": (var_mu, var_sigma),
                     "symbols": (mu, sigma, eps), "t": t_composed, "graph": g,
                     "prior": (sp.sympify(prior_mean), sp.sympify(prior_std))})
    return der


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
