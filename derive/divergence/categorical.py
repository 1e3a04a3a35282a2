"""KL(p ‖ q) of two categorical distributions on K classes, derived from the mass function by summation.

The mass function is written in product form, P(x = i) = ∏_j p_j^[x = j] (the Iverson bracket [x = j] a
Kronecker delta), so that

1. log p(x) − log q(x) = Σ_j [x = j](log p_j − log q_j), and by linearity KL = Σ_j (log p_j − log q_j) E_p[[x = j]];
2. E_p[[x = j]] = Σ_x P(x)[x = j] = P(j) = p_j, by SymPy's summation of the Kronecker delta;
3. KL = Σ_j p_j (log p_j − log q_j), finite iff q_j > 0 wherever p_j > 0 (+∞ otherwise);
4. the form for computing Σ_j (xlogy(p_j, p_j) − xlogy(p_j, q_j)): 0 at p_j = 0 (where p_j log p_j → 0) and
   +∞ where p_j > 0 = q_j, with no 0·(−∞) = NaN.

Each step is checked at K = 2, 3, 4 with random rational probabilities: the mass function evaluated at
x = 1, ..., K and summed explicitly, exactly; the edge p_j > 0 = q_j by the limit q_j → 0⁺, the edge p_j = 0
by the limit p_j → 0⁺.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import sympy as sp
from sympy.simplify.simplify import sum_combine

from ..independent import kl_integrand
from ..model import Derivation, Given, Result, Step, Verification
from ..probability import KL, Density, Expect
from ..verify import combine, exact
from .families import Parameter
from .multivariate import AxisSum, numpy_code, torch_code
from .pair import Pair
from .stable import plain, stable_form, xlogy

K = sp.Symbol("K", integer=True, positive=True)
#: the class index of the sums, and the variable
j, k = sp.symbols("j k", integer=True, positive=True)
x = sp.Symbol("x", integer=True, positive=True)
P = sp.IndexedBase("p", real=True, nonnegative=True)
Q = sp.IndexedBase("q", real=True, nonnegative=True)
#: the class counts every step is checked at
SIZES = (2, 3, 4)


def mass(probs, at=x):
    """P(x = at) = ∏_k probs_k^[at = k]: the categorical mass function in product form."""
    return sp.Product(probs[k] ** sp.KroneckerDelta(at, k), (k, 1, K))


def condition():
    """The KL is finite iff no class has p_j > 0 = q_j: their count Σ_j H(p_j)[q_j = 0] is 0 (H the step function,
    H(0) = 0; [q_j = 0] a Kronecker delta)."""
    return sp.Eq(sp.Sum(sp.Heaviside(P[j], 0) * sp.KroneckerDelta(Q[j], 0), (j, 1, K)), 0)


@dataclass
class Setting:
    rng: random.Random
    pa: object = None
    qa: object = None

    def __post_init__(self):
        self.pa, self.qa = Density.make("p", x), Density.make("q", x)

    def probabilities(self, n: int, zeros: int = 0):
        """A random rational probability vector of n classes, ``zeros`` of them 0."""
        weights = [self.rng.randint(1, 9) for _ in range(n)]
        for i in self.rng.sample(range(n), zeros):
            weights[i] = 0
        return [sp.Rational(w, sum(weights)) for w in weights]

    def draw(self, n: int, zeros: int = 0) -> dict:
        """Values of K, p_1..p_n, q_1..q_n (``zeros`` classes of p at 0)."""
        p, q = self.probabilities(n, zeros), self.probabilities(n)
        return {K: sp.Integer(n), **{P[i + 1]: p[i] for i in range(n)}, **{Q[i + 1]: q[i] for i in range(n)}}


def _normalised(expr):
    return sp.expand(sp.expand_log(sp.expand(expr), force=True, factor=True))


def explicit(expr, values: dict, at=None):
    """``expr`` at K = n and the probabilities: products and sums over the classes written out, evaluated
    (at x = ``at`` where given)."""
    out = sp.sympify(expr).xreplace({K: values[K]}).doit()
    if at is not None:
        out = out.xreplace({x: sp.Integer(at)})
    return _normalised(out.xreplace(values).doit())


def _summed_kl(values):
    """Σ_x p(x)(log p(x) − log q(x)) over x = 1..K from the product-form mass functions, exactly."""
    n = int(values[K])
    return _normalised(sum(explicit(mass(P) * (sp.log(mass(P)) - sp.log(mass(Q))), values, at) for at in range(1, n + 1)))


def check_closed(st, closed) -> Verification:
    """The closed form at K = 2, 3, 4 against the KL summed over x from the mass functions, exactly."""
    checks = []
    for n in SIZES:
        values = st.draw(n)
        checks.append(exact("", explicit(closed, values), _summed_kl(values), scope=f"K = {n}"))
    return combine(checks, "at K = 2, 3, 4 with random rational probabilities, the closed form equals "
                           "Σ_x p(x)(log p(x) − log q(x)) summed over x = 1..K from the product-form mass "
                           "functions, exactly")


# ---- the steps -------------------------------------------------------------------------------------------

def _definition(st, sec):
    integrand = st.pa * (sp.log(st.pa) - sp.log(st.qa))
    defn = sp.Sum(integrand, (x, 1, K))
    checks = []
    for n in SIZES:
        values = st.draw(n)
        table = [(values[P[i]], values[Q[i]]) for i in range(1, n + 1)]
        own = _normalised(sum(kl_integrand(a, b) for a, b in table))
        summed = _normalised(sum(explicit(integrand.subs({st.pa: mass(P), st.qa: mass(Q)}), values, at)
                                 for at in range(1, n + 1)))
        checks.append(exact("", summed, own, scope=f"K = {n}"))
    sec.steps.append(Step(KL(st.pa, st.qa), defn, "definition of KL for mass functions: a sum over the classes",
                          combine(checks, "at K = 2, 3, 4 with random rational probabilities, the sum with the "
                                          "product-form mass functions put in equals Σ_i a_i (log a_i − log b_i) "
                                          "over the table of probabilities, exactly")))
    return defn


def _decomposition(st, sec, defn):
    """KL = Σ_j (log p_j − log q_j) E_p[[x = j]]: log of the product form, linearity."""
    ratio = sp.expand_log(sp.log(mass(P)), force=True) - sp.expand_log(sp.log(mass(Q)), force=True)
    summed = sum_combine(list(sp.Add.make_args(ratio))).xreplace({k: j})
    body = sp.collect(sp.expand(summed.function), sp.KroneckerDelta(j, x))
    written = summed.func(body, *summed.limits)
    combination = sp.Sum(sp.factor_terms(body.subs(sp.KroneckerDelta(j, x), Expect(sp.KroneckerDelta(x, j), st.pa))),
                         (j, 1, K))
    checks = []
    for n in SIZES:
        values = st.draw(n)
        for at in range(1, n + 1):
            own = explicit(sp.log(mass(P)) - sp.log(mass(Q)), values, at)
            checks.append(exact("", explicit(written, values, at), own, scope=f"K = {n}"))
    sec.steps.append(Step(defn, combination, "log p(x) − log q(x) = Σ_j [x = j](log p_j − log q_j) from the product "
                                             "form; the expectation is linear", combine(
        checks, "at K = 2, 3, 4, random rational probabilities and every x = 1..K, the written-out sum equals "
                "log p(x) − log q(x) from the mass functions, exactly"), continues=True))
    return combination


def _on_range(expr, index):
    """A Piecewise whose first condition holds for every 1 ≤ index ≤ K (checked at both ends) is that branch."""
    def holds(cond):
        return all(cond.xreplace({index: end}) is sp.true for end in (sp.S.One, K))

    return expr.replace(lambda e: isinstance(e, sp.Piecewise) and holds(e.args[0][1]), lambda e: e.args[0][0])


def _indicator(st, sec):
    """E_p[[x = j]] = Σ_x P(x)[x = j] = P(j) = p_j."""
    at_j = _on_range(sp.Sum(mass(P) * sp.KroneckerDelta(x, j), (x, 1, K)).doit(), j)
    value = sp.exp(_on_range(sp.expand_log(sp.log(at_j), force=True).doit(), j))
    checks = []
    for n in SIZES:
        values = st.draw(n)
        for jj in range(1, n + 1):
            own = sum(explicit(mass(P) * sp.KroneckerDelta(x, jj), values, at) for at in range(1, n + 1))
            checks.append(exact("", value.xreplace({j: jj}).xreplace(values), own, scope=f"K = {n}"))
    sec.steps.append(Step(Expect(sp.KroneckerDelta(x, j), st.pa), value,
                          "sum of P(x)[x = j] over x: the Kronecker delta picks x = j; P(j) = ∏_k p_k^[j = k] = p_j",
                          combine(checks, "at K = 2, 3, 4, random rational probabilities and every j, the mass "
                                          "function times [x = j] summed explicitly over x = 1..K, exactly")))
    return value


def _closed(st, sec, combination, indicator):
    closed = combination.replace(lambda e: isinstance(e, Expect), lambda e: indicator)
    sec.steps.append(Step(combination, closed, "the expectations put in", check_closed(st, closed), continues=True))
    return closed


def _self_divergence(sec, st, closed) -> None:
    sec.steps.append(Step(KL(st.pa, st.pa), sp.S.Zero, "q = p: q's probabilities set to p's",
                          exact("the closed form with q_j = p_j simplifies to 0", closed.xreplace({Q: P}), sp.S.Zero)))


def _infinite(st, sec, cond) -> None:
    """p_j > 0 = q_j: the summed KL with q_j = ε tends to +∞ as ε → 0⁺."""
    eps, limits = sp.Symbol("epsilon", positive=True), []
    for n in (2, 3, 4):
        values, jj = st.draw(n), st.rng.randint(1, n)
        rest = st.probabilities(n - 1)
        q = rest[:jj - 1] + [sp.S.Zero] + rest[jj - 1:]
        values.update({Q[i + 1]: (1 - eps) * q[i] + (eps if i + 1 == jj else 0) for i in range(n)})
        limits.append(sp.limit(_summed_kl(values), eps, 0, "+"))
    ok = all(v == sp.oo for v in limits)
    detail = ("at K = 2, 3, 4 with random rational p > 0 and q_j = ε for one class j (the others scaled by 1 − ε), "
              "the KL summed over x tends to +∞ as ε → 0⁺")
    sec.steps.append(Step(KL(st.pa, st.qa), sp.Piecewise((sp.oo, sp.Not(cond)), (KL(st.pa, st.qa), True)),
                          "where p_j > 0 = q_j, p puts mass where log q = −∞",
                          Verification("exact", True, detail, scope="K = 2, 3, 4") if ok
                          else Verification.unverified(f"{detail}: the limits are {limits}")))


def stable(closed):
    """Σ_j (xlogy(p_j, p_j) − xlogy(p_j, q_j)) by :func:`derive.divergence.stable.stable_form` on the summand."""
    a, b = sp.symbols("p_j q_j", nonnegative=True)
    params = [(a, Parameter("p", "probability", 0.05, 0.95, "probability of class j under p", (0, 1))),
              (b, Parameter("q", "probability", 0.05, 0.95, "probability of class j under q", (0, 1)))]
    form = stable_form(closed.function.xreplace({P[j]: a, Q[j]: b}), params)
    return AxisSum(form.expr.xreplace({a: P[j], b: Q[j]}), *closed.limits), form


def _zero_edge(closed, stable_expr, values, jj):
    """The stable form at p_j = 0 (xlogy(0, y) = 0) against the limit p_j → 0⁺ of the closed form."""
    t = sp.Symbol("t", positive=True)
    n = int(values[K])
    others = [i for i in range(1, n + 1) if i != jj]
    scale = sum(values[P[i]] for i in others)
    moving = {**values, P[jj]: t, **{P[i]: (1 - t) * values[P[i]] / scale for i in others}}
    limit = sp.limit(explicit(closed, moving), t, 0, "+")
    at = {**values, P[jj]: sp.S.Zero, **{P[i]: values[P[i]] / scale for i in others}}
    edge = stable_expr.xreplace({K: values[K]}).doit().xreplace(at)
    edge = edge.replace(xlogy, lambda u, v: sp.S.Zero if u == 0 else u * sp.log(v))
    return exact("", _normalised(edge), _normalised(limit), scope=f"K = {n}")


def _stable_step(st, sec, closed, stable_expr, form) -> None:
    checks = [exact("", plain(sp.Sum(*stable_expr.args)), closed)]
    for n in SIZES:
        values = st.draw(n)
        checks.append(_zero_edge(closed, stable_expr, values, st.rng.randint(1, n)))
    sec.steps.append(Step(KL(st.pa, st.qa), stable_expr, form.note[0].upper() + form.note[1:], combine(
        checks, "xlogy written back as x log y, the difference from the closed form simplifies to 0; at K = 2, 3, 4 "
                "with one p_j = 0, the form (xlogy(0, y) = 0) equals the limit p_j → 0⁺ of the closed form, exactly")))


# ---- the derivation --------------------------------------------------------------------------------------

def parameters() -> list:
    return [(P, "probability vector of p on the last axis (non-negative, summing to 1)"),
            (Q, "probability vector of q on the last axis (non-negative, summing to 1)")]


def derive_categorical(seed: int = 0) -> Derivation:
    """KL(Categorical(p) ‖ Categorical(q)) on K classes."""
    pair, st = Pair("categorical", "categorical"), Setting(random.Random(seed))
    der = Derivation(pair.name, "KL(Categorical ‖ Categorical)",
                     "p = Categorical(p_1..p_K), q = Categorical(q_1..q_K): probability vectors of K classes")
    der.givens += [Given(st.pa, mass(P), "p: P(x = i) = p_i for x in 1..K, p_i ≥ 0, Σ_i p_i = 1"),
                   Given(st.qa, mass(Q), "q: P(x = i) = q_i for x in 1..K, q_i ≥ 0, Σ_i q_i = 1")]
    der.symbols.update({"K": K, "j": j, "x": x, "p": P, "q": Q})
    sec = der.section("from the mass functions", "KL",
                      "p = Categorical, q = Categorical on the classes 1..K; [x = j] is 1 if x = j, else 0.")
    combination = _decomposition(st, sec, _definition(st, sec))
    closed = _closed(st, sec, combination, _indicator(st, sec))
    _self_divergence(sec, st, closed)
    cond = condition()
    _infinite(st, sec, cond)
    stable_expr, form = stable(closed)
    _stable_step(st, sec, closed, stable_expr, form)
    _results(der, pair, st, closed, cond, stable_expr, form)
    return der


def _results(der, pair, st, closed, cond, stable_expr, form) -> None:
    value, lhs = sp.Piecewise((closed, cond), (sp.oo, True)), KL(st.pa, st.qa)
    note = form.note + "; it is +∞ by itself where p_j > 0 = q_j (−xlogy(p_j, 0) = +∞)"
    der.results += [Result(pair.result_name, lhs, value, "KL(p ‖ q) in the class probabilities of p and q"),
                    Result(f"{pair.result_name}.finite_when", lhs < sp.oo, cond,
                           "where the KL is finite: q_j > 0 wherever p_j > 0 (it is +∞ elsewhere)"),
                    Result(f"{pair.result_name}.stable", lhs, stable_expr, note)]
    der.data.update({"pair": pair, "kl": value, "closed": closed, "condition": cond, "stable": stable_expr,
                     "parameters": parameters(), "edges": form.edges})


# ---- printing --------------------------------------------------------------------------------------------

DOC = ('"""KL(p || q) in nats for p = Categorical(p), q = Categorical(q); arguments in the order (p, q).\n\n'
       "    p, q: probability vectors on the last axis (non-negative, summing to 1), batch axes in front.\n"
       "    A class with p_j = 0 contributes 0; the result is +inf where some p_j > 0 = q_j.\n    \"\"\"")


def numpy_source(der) -> str:
    """``kl_categorical_categorical(p, q)`` whose body is the printed stable result."""
    return (f"def {der.data['pair'].function}(p, q):\n    {DOC}\n"
            f"    p, q = numpy.asarray(p, dtype=float), numpy.asarray(q, dtype=float)\n"
            f"    with numpy.errstate(divide='ignore', invalid='ignore'):\n"
            f"        return {numpy_code(der.data['stable'])}\n")


def torch_source(der) -> str:
    """The torch function: the same printed result; tensors keep the dtype and device of the first tensor."""
    return (f"def {der.data['pair'].function}(p, q):\n    {DOC}\n"
            f"    like = [a for a in (p, q) if isinstance(a, torch.Tensor)]\n"
            f"    kind = dict(dtype=like[0].dtype, device=like[0].device) if like else dict(dtype=torch.float64)\n"
            f"    p, q = torch.as_tensor(p, **kind), torch.as_tensor(q, **kind)\n"
            f"    return {torch_code(der.data['stable'])}\n")
