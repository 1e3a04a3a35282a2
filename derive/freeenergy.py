"""The variational free energy identity (seed 2.1).

From the definitions F(q) = E_q[log p(x|z)] - KL(q(z) || p(z)) and
KL(a || b) = E_a[log a - log b], rewrite rules (definition of KL, linearity,
the product rule p(x, z) = p(x|z) p(z), Bayes' rule p(x, z) = p(z|x) p(x),
E_q[1] = 1) are applied one at a time until F(q) = log p(x) - KL(q || p(z|x)).
Each step is verified on integrands with the density relations as rewrite
rules; the identity is then checked exactly in a conjugate Gaussian model.
"""
from __future__ import annotations

import sympy as sp

from .gaussian import expectation, normal_pdf
from .integrals import over_real_line
from .model import Derivation, Given, Result, Step, Verification
from .notation import Label
from .probability import (KL, Density, Expect, fold_kl, kl_definition, merge_expectations, normalise,
                          split_constants)
from . import independent
from .verify import combine, exact, prove_equal


def _symbols():
    x, z = sp.symbols("x z", real=True)
    q = Density.make("q", z)
    return {
        "x": x, "z": z, "q": q,
        "p_z": Density.make("p", z),
        "p_x": Density.make("p", x),
        "p_xz": Density.make("p", x, z),
        "p_x_given_z": Density.make("p", x, given=z),
        "p_z_given_x": Density.make("p", z, given=x),
    }


def derive_free_energy() -> Derivation:
    s = _symbols()
    q = s["q"]
    F = Label("F(q)", r"\mathcal{F}(q)")
    start = Expect(sp.log(s["p_x_given_z"]), q) - KL(q, s["p_z"])
    der = Derivation("vfe", "Variational free energy", "F(q) = E_q[log p(x|z)] - KL(q(z) || p(z)) "
                     "equals log p(x) - KL(q(z) || p(z|x)).")
    der.givens += [
        Given(F, start, "the variational free energy"),
        Given(KL(q, s["p_z"]), kl_definition(KL(q, s["p_z"])), "definition of the KL divergence"),
        Given(s["p_xz"], s["p_x_given_z"] * s["p_z"], "product rule"),
        Given(s["p_xz"], s["p_z_given_x"] * s["p_x"], "Bayes' rule"),
    ]
    der.symbols.update({k: v for k, v in s.items()})
    current = _identity_section(der, s, start)
    der.results.append(Result("vfe.identity", F, current, "the free energy in terms of the evidence"))
    _conjugate_section(der, s, start, current, F)
    return der


def _same_integrand(a, b, q, rules: dict) -> Verification:
    """Both sides' integrands over z, by the separately written definitions (derive.independent), with the
    density relations ``rules``, agree."""
    ia = sp.expand(sp.expand_log(independent.integrand(a, q).subs(rules)))
    ib = sp.expand(sp.expand_log(independent.integrand(b, q).subs(rules)))
    return prove_equal(ia, ib, allow_numeric=False,
                       detail="the integrands over z agree, with p(x|z) = p(x,z)/p(z), p(z|x) = p(x,z)/p(x) "
                              "and ∫ q dz = 1")


def _rewrite_chain(s: dict) -> list:
    """(reason, rule) for each rewrite from the definition of F(q) to the evidence form."""
    product_rule = {s["p_x_given_z"]: s["p_xz"] / s["p_z"]}   # p(x, z) = p(x|z) p(z)
    bayes_rule = {s["p_xz"]: s["p_z_given_x"] * s["p_x"]}      # p(x, z) = p(z|x) p(x)
    return [
        ("definition of KL", kl_definition),
        ("linearity of expectation", merge_expectations),
        ("product rule: log p(x|z) + log p(z) = log p(x, z)",
         lambda e: e.replace(Expect, lambda f, qq: Expect(sp.expand(sp.expand_log(f.subs(product_rule))), qq))),
        ("Bayes' rule: log p(x, z) = log p(z|x) + log p(x)",
         lambda e: e.replace(Expect, lambda f, qq: Expect(sp.expand(sp.expand_log(f.subs(bayes_rule))), qq))),
        ("log p(x) does not depend on z: linearity of expectation", lambda e: split_constants(e, s["z"])),
        ("E_q[1] = 1 (q is a density)", normalise),
        ("definition of KL", fold_kl),
    ]


def _identity_section(der: Derivation, s: dict, start):
    """The rewrites of F(q), one step each, checked on the integrand; returns where the chain ends."""
    q = s["q"]
    # both conditionals in terms of the joint: p(x|z) = p(x, z)/p(z), p(z|x) = p(x, z)/p(x)
    rules = {s["p_x_given_z"]: s["p_xz"] / s["p_z"], s["p_z_given_x"]: s["p_xz"] / s["p_x"]}
    sec = der.section("The free energy identity", "2.1", "Each rewrite is checked on the integrand of the "
                      "expectation, with p(x|z) = p(z|x) p(x) / p(z) and ∫ q(z) dz = 1.")
    current = start  # the definition of F(q) (a given): the chain starts from it
    for reason, rule in _rewrite_chain(s):
        nxt = rule(current)
        if nxt == current:
            continue
        sec.steps.append(Step(current, nxt, reason, _same_integrand(current, nxt, q, rules),
                              continues=bool(sec.steps)))
        current = nxt
    target = sp.log(s["p_x"]) - KL(q, s["p_z_given_x"])
    if sp.simplify(current - target) != 0:
        sec.steps.append(Step(current, target, "expected end of the chain not reached",
                              Verification("unverified", False, "the rewrites did not reach the target")))
    return current


def _conjugate_section(der: Derivation, s: dict, start, current, F) -> None:
    """The identity checked exactly in a conjugate model where every term has a closed form."""
    ex = der.section("Exact check in a conjugate Gaussian model", "2.1",
                     "p(z) = N(0, 1), p(x|z) = N(x; z, τ²), q(z) = N(m, v). The evidence p(x) and the posterior "
                     "p(z|x) are computed (by integration and Bayes' rule), then both sides of the identity "
                     "by integration.")
    x, z = s["x"], s["z"]
    m = sp.Symbol("m", real=True)
    v, tau = sp.symbols("v tau", positive=True)
    prior, lik, qd = normal_pdf(z, 0, 1), normal_pdf(x, z, tau ** 2), normal_pdf(z, m, v)
    evidence, posterior = _evidence_and_posterior(ex, s, prior, lik, tau)

    def tidy(e):  # the terms over τ² collected and factored: the free energy reads in a few terms
        e = sp.expand(sp.expand_log(sp.simplify(e)))
        return sp.collect(e, [tau ** -2], sp.factor)

    lhs = tidy(expectation(sp.log(lik), z, m, v) - expectation(sp.log(qd) - sp.log(prior), z, m, v))
    kl_post = sp.simplify(expectation(sp.log(qd) - sp.log(posterior), z, m, v))
    rhs = tidy(sp.log(evidence) - kl_post)
    # the left side again, by the separately written route: substitution z = m + sqrt(v) u and their own densities
    by_substitution = independent.gaussian_expectation(
        sp.log(independent.gaussian(x, z, tau)) + sp.log(independent.gaussian(z, 0, 1))
        - sp.log(independent.gaussian(z, m, sp.sqrt(v))), z, m, sp.sqrt(v))
    ex.steps.append(Step(start, lhs, "E_q[log p(x|z)] - KL(q || p(z)) by integration",
                         exact("E_q[log p(x|z) + log p(z) - log q(z)] integrated again after the substitution "
                               "z = m + √v u", sp.expand_log(lhs), sp.expand_log(by_substitution))))
    ex.steps.append(Step(current, rhs, "log p(x) - KL(q || p(z|x)) by integration, with p(x) and p(z|x) from above",
                         exact("equals the left side E_q[log p(x|z)] - KL(q || p(z)) computed in the previous step",
                               sp.expand_log(lhs), sp.expand_log(rhs))))
    der.results.append(Result("vfe.conjugate", F, rhs, "the free energy of the conjugate model"))
    der.data.update({"conjugate": {"x": x, "m": m, "v": v, "tau": tau, "free_energy": rhs, "lhs": lhs}})


def _evidence_and_posterior(ex, s: dict, prior, lik, tau):
    """The steps p(x) = ∫ p(x|z) p(z) dz and Bayes' rule for p(z|x), each checked; returns both."""
    x, z = s["x"], s["z"]
    evidence = _tidy_exponent(sp.simplify(sp.integrate(sp.expand(lik * prior), (z, -sp.oo, sp.oo), conds="none")))
    posterior = _tidy_exponent(sp.simplify(lik * prior / evidence))
    ex.steps.append(Step(s["p_x"], evidence, "p(x) = ∫ p(x|z) p(z) dz", _evidence_check(evidence, x, z, tau)))
    joint = independent.gaussian(x, z, tau) * independent.gaussian(z, 0, 1)   # the separately written densities
    posterior_again = joint / sp.integrate(sp.expand(joint), (z, -sp.oo, sp.oo), conds="none")
    ex.steps.append(Step(s["p_z_given_x"], posterior, "Bayes' rule: p(z|x) = p(x|z) p(z) / p(x)",
                         combine([exact("the posterior integrates to 1 over z (completing the square, not the "
                                        "Meijer-G integration that gave p(x))", over_real_line(posterior, z), 1),
                                  exact("equals p(x|z) p(z) / ∫ p(x|z) p(z) dz with the separately written normal densities",
                                        posterior, posterior_again)],
                                 "integrates to 1, and equals the posterior computed again from the separately written "
                                 "normal densities")))
    return evidence, posterior


def _tidy_exponent(expr):
    """A Gaussian density as it is read: each exponent over one denominator and factored
    (-x²/(2(τ² + 1)) rather than x²(-1 + 1/(τ² + 1))/(2τ²))."""
    return sp.powsimp(expr.replace(sp.exp, lambda arg: sp.exp(sp.factor(sp.cancel(arg)))))


def _evidence_check(evidence, x, z, tau) -> Verification:
    """p(x) integrates to 1, and its second moment equals the double integral taken over x first."""
    second = independent.gaussian_expectation(x ** 2, x, z, tau)        # ∫ x² p(x|z) dx = z² + τ²
    other_order = independent.gaussian_expectation(second, z, 0, 1)    # then over z ~ N(0, 1)
    return combine([exact("p(x) integrates to 1 over x", sp.integrate(evidence, (x, -sp.oo, sp.oo), conds="none"), 1),
                    exact("second moment", sp.integrate(x ** 2 * evidence, (x, -sp.oo, sp.oo), conds="none"),
                          other_order)],
                   "p(x) integrates to 1, and ∫ x² p(x) dx equals ∫∫ x² p(x|z) p(z) dx dz integrated over x first")
