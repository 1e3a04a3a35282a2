"""KL(p ‖ q) of two multivariate normal distributions in d dimensions, derived from their densities.

p = N(μ_p, Σ_p), q = N(μ_q, Σ_q), Σ the COVARIANCE (symmetric positive definite); for ``mvnormal_diag`` p's
covariance is diag(σ_p²), σ_p the vector of standard deviations.  The route, on matrix expressions of a
general dimension d (no calculus on them, only algebra):

1. log p − log q written out from the densities: ½ log det Σ_q − ½ log det Σ_p − ½ (x−μ_p)ᵀΣ_p⁻¹(x−μ_p)
   + ½ (x−μ_q)ᵀΣ_q⁻¹(x−μ_q) (the (2π)^{−d/2} cancel), so that by linearity the KL is a constant plus
   expectations of two quadratic forms;
2. E_p[(x−m)ᵀA(x−m)] = tr(AΣ_p) + (μ_p−m)ᵀA(μ_p−m): x = μ_p + L u with L Lᵀ = Σ_p, E[u] = 0, E[u uᵀ] = I;
3. the two instances of 2 and the closed form assembled; KL(p ‖ p) = 0;
4. for a diagonal Σ_p the trace and the log-determinant in the entries of σ_p;
5. a form for computing: log-determinants by ``slogdet``, the trace and the quadratic form by solves.

Each step is checked at explicit d = 1, 2, 3 with random rational parameters: the matrix symbols replaced by
explicit matrices, against a route of its own: densities written as the law of x = μ + L u, u ~ N(0, I)
(a product of standard normal densities over det L), and expectations integrated coordinate by coordinate
against the standard normal density with SymPy, exactly.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.printing.numpy import NumPyPrinter

from ..model import Derivation, Given, Result, Step, Verification
from ..probability import KL, Density, Expect
from ..verify import combine, exact
from .pair import Pair

#: the dimension
D = sp.Symbol("d", integer=True, positive=True)
#: the explicit dimensions every step is checked at
DIMENSIONS = (1, 2, 3)


# ---- notation --------------------------------------------------------------------------------------------

class Scalar(sp.Function):
    """The entry of a 1 × 1 matrix expression (a quadratic form vᵀAv), printed as the expression itself."""

    nargs = 1
    is_commutative = True
    is_real = True

    def doit(self, **hints):
        (m,) = self.args
        m = m.doit(**hints)
        if isinstance(m, sp.ZeroMatrix) or m == 0:
            return sp.S.Zero
        if isinstance(m, sp.MatrixBase):
            return m[0, 0]
        return self.func(m)

    def _sympystr(self, printer):
        return printer._print(self.args[0])

    def _latex(self, printer, exp=None):
        out = printer._print(self.args[0])
        return rf"\left({out}\right)^{{{exp}}}" if exp else out

    def _pretty(self, printer):
        return printer._print(self.args[0])


def _array(printer, m, torch: bool) -> str:
    """A matrix expression as array code: vectors on the last axis, matrices on the last two, batch in front."""
    if isinstance(m, sp.MatrixSymbol):
        return m.name
    if isinstance(m, sp.MatAdd):
        return "(" + " + ".join(_array(printer, a, torch) for a in m.args) + ")"
    if isinstance(m, sp.MatMul):
        coeff, mats = m.as_coeff_matrices()
        if len(mats) == 1 and coeff in (1, -1):
            return ("-" if coeff == -1 else "") + _array(printer, mats[0], torch)
        if len(mats) == 1:
            return f"({printer._print(coeff)})*{_array(printer, mats[0], torch)}"
    if isinstance(m, sp.HadamardPower):
        return f"({_array(printer, m.base, torch)}**{printer._print(m.exp)})"
    if isinstance(m, DiagMatrix):
        w = _array(printer, m.args[0], torch)
        return f"torch.diag_embed({w})" if torch else f"({w}[..., None, :]*numpy.eye({w}.shape[-1]))"
    raise NotImplementedError(f"no array form for {m}")


class Diag(DiagMatrix):
    """diag(v): the diagonal matrix with the entries of the vector v."""

    def _latex(self, printer, exp=None):
        out = rf"\operatorname{{diag}}\left({printer._print(self.args[0])}\right)"
        return rf"\left({out}\right)^{{{exp}}}" if exp else out

    def _sympystr(self, printer):
        return f"diag({printer._print(self.args[0])})"

    def doit(self, **hints):
        out = super().doit(**hints)
        return Diag(*out.args) if type(out) is DiagMatrix else out


def _explicit_matrices(*args) -> bool:
    return all(isinstance(a, sp.MatrixBase) for a in args)


class _Batched(sp.Function):
    """A scalar function of matrices printed for batched arrays (numpy, scipy and torch printers)."""

    is_commutative = True
    is_real = True

    def _numpycode(self, printer):
        return self._code(printer, False)

    _scipycode = _numpycode

    def _torchcode(self, printer):
        return self._code(printer, True)

    def doit(self, **hints):
        args = [a.doit(**hints) if hints.get("deep", True) else a for a in self.args]
        return self._explicit(*args) if _explicit_matrices(*args) else self.func(*args)


class LogDet(_Batched):
    """log det X of a positive definite matrix, computed by ``slogdet``."""

    nargs = 1

    def written(self):
        return sp.log(sp.Determinant(self.args[0]))

    def _explicit(self, x):
        return sp.log(x.det())

    def _code(self, printer, torch):
        lib = "torch" if torch else "numpy"
        return f"{lib}.linalg.slogdet({_array(printer, self.args[0], torch)})[1]"

    def _latex(self, printer, exp=None):
        out = rf"\log\det\left({printer._print(self.args[0])}\right)"
        return rf"\left({out}\right)^{{{exp}}}" if exp else out

    def _sympystr(self, printer):
        return f"logdet({printer._print(self.args[0])})"


class TraceSolve(_Batched):
    """tr(A⁻¹B), computed by a solve of A against B (no inverse)."""

    nargs = 2

    def written(self):
        a, b = self.args
        return sp.Trace(a.I * b)

    def _explicit(self, a, b):
        return a.LUsolve(b).trace()

    def _code(self, printer, torch):
        a, b = (_array(printer, m, torch) for m in self.args)
        if torch:
            return f"torch.diagonal(torch.linalg.solve({a}, {b}), dim1=-2, dim2=-1).sum(-1)"
        return f"numpy.trace(numpy.linalg.solve({a}, {b}), axis1=-2, axis2=-1)"

    def _latex(self, printer, exp=None):
        out = rf"\operatorname{{tr}}\left({printer._print(self.written().arg)}\right)"
        return rf"\left({out}\right)^{{{exp}}}" if exp else out

    def _sympystr(self, printer):
        return f"tr({printer._print(self.written().arg)})"


class QuadSolve(_Batched):
    """vᵀA⁻¹v, computed by a solve of A against v (no inverse)."""

    nargs = 2

    def written(self):
        a, v = self.args
        return Scalar(v.T * a.I * v)

    def _explicit(self, a, v):
        return (v.T * a.LUsolve(v))[0, 0]

    def _code(self, printer, torch):
        a, v = (_array(printer, m, torch) for m in self.args)
        if torch:
            return f"({v}*torch.linalg.solve({a}, {v}.unsqueeze(-1)).squeeze(-1)).sum(-1)"
        return f"numpy.sum({v}*numpy.linalg.solve({a}, {v}[..., None])[..., 0], axis=-1)"

    def _latex(self, printer, exp=None):
        out = printer._print(self.written().args[0])
        return rf"\left({out}\right)^{{{exp}}}" if exp else out

    def _sympystr(self, printer):
        return printer._print(self.written().args[0])


class AxisSum(sp.Sum):
    """A sum over the entries of vectors (Indexed p[j] or column entries v[i, 0]), printed as a sum over the
    last axis of the element-wise expression."""

    def _elementwise(self):
        (k, _, _), = self.limits
        f = self.function.replace(lambda e: isinstance(e, sp.Indexed) and e.indices == (k,),
                                  lambda e: sp.Symbol(str(e.base.label)))
        return f.replace(lambda e: isinstance(e, MatrixElement) and e.args[1:] == (k, 0),
                         lambda e: sp.Symbol(e.args[0].name))

    def _numpycode(self, printer):
        return f"numpy.sum({printer._print(self._elementwise())}, axis=-1)"

    _scipycode = _numpycode

    def _torchcode(self, printer):
        return f"torch.sum({printer._print(self._elementwise())}, dim=-1)"


def written(expr):
    """The batched functions written back as the matrix expressions they compute (log det, tr(A⁻¹B), vᵀA⁻¹v)."""
    expr = expr.replace(lambda e: isinstance(e, _Batched), lambda e: e.written())
    return expr.replace(lambda e: isinstance(e, AxisSum), lambda e: sp.Sum(*e.args))


# ---- printing --------------------------------------------------------------------------------------------

def numpy_code(expr) -> str:
    """``expr`` printed by SymPy's NumPy printer (fully qualified modules; xlogy prints itself)."""
    return NumPyPrinter({"fully_qualified_modules": True}).doprint(expr)


def torch_code(expr) -> str:
    """``expr`` printed by the torch printer of :mod:`derive.render.torch_printer` (xlogy prints itself)."""
    from ..render.torch_printer import Printer

    return Printer().doprint(expr)


def _docstring(der) -> str:
    names = ", ".join(s.name for s, _ in der.data["parameters"])
    lines = "\n".join(f"    {s.name}: {text}." for s, text in der.data["parameters"])
    return (f'"""{der.title} in nats; arguments in the order ({names}).\n\n{lines}\n'
            f"    Vectors on the last axis, matrices on the last two axes, batch axes in front (broadcast).\n"
            f'    Sigma is the COVARIANCE (not its inverse, not a Cholesky factor).\n    """')


def numpy_source(der) -> str:
    """The numpy function ``kl_<p>_<q>`` whose body is the printed stable result of ``der``."""
    args = ", ".join(s.name for s, _ in der.data["parameters"])
    return (f"def {der.data['pair'].function}({args}):\n    {_docstring(der)}\n"
            f"    {args} = (numpy.asarray(a, dtype=float) for a in ({args}))\n"
            f"    {D.name} = {der.data['parameters'][0][0].name}.shape[-1]\n"
            f"    return {numpy_code(der.data['stable'])}\n")


def torch_source(der) -> str:
    """The torch function ``kl_<p>_<q>``: the same printed result, tensors of the first tensor's dtype and device."""
    args = ", ".join(s.name for s, _ in der.data["parameters"])
    return (f"def {der.data['pair'].function}({args}):\n    {_docstring(der)}\n"
            f"    like = [a for a in ({args}) if isinstance(a, torch.Tensor)]\n"
            f"    kind = dict(dtype=like[0].dtype, device=like[0].device) if like else dict(dtype=torch.float64)\n"
            f"    {args} = (torch.as_tensor(a, **kind) for a in ({args}))\n"
            f"    {D.name} = {der.data['parameters'][0][0].name}.shape[-1]\n"
            f"    return {torch_code(der.data['stable'])}\n")


# ---- the setting -----------------------------------------------------------------------------------------

def _quadratic(x, mu, precision):
    return Scalar((x - mu).T * precision * (x - mu))


def density(x, mu, cov):
    """The N(mu, cov) density at x as a matrix expression: (2π)^{−d/2} det(cov)^{−1/2} exp(−½ (x−μ)ᵀcov⁻¹(x−μ))."""
    return (2 * sp.pi) ** (-D / 2) * sp.Determinant(cov) ** sp.Rational(-1, 2) * sp.exp(-_quadratic(x, mu, cov.I) / 2)


@dataclass
class Setting:
    """The symbols of one pair: p's covariance ``cov_p`` is Σ_p or diag(σ_p²)."""

    pair: Pair
    diag: bool
    rng: random.Random
    mu_p: sp.MatrixSymbol = field(default_factory=lambda: sp.MatrixSymbol("mu_p", D, 1))
    mu_q: sp.MatrixSymbol = field(default_factory=lambda: sp.MatrixSymbol("mu_q", D, 1))
    Sigma_q: sp.MatrixSymbol = field(default_factory=lambda: sp.MatrixSymbol("Sigma_q", D, D))
    x: sp.MatrixSymbol = field(default_factory=lambda: sp.MatrixSymbol("x", D, 1))

    def __post_init__(self):
        self.scale_p = sp.MatrixSymbol("sigma_p" if self.diag else "Sigma_p", D, 1 if self.diag else D)
        self.cov_p = Diag(sp.HadamardPower(self.scale_p, 2)) if self.diag else self.scale_p
        self.pa, self.qa = Density.make("p", self.x), Density.make("q", self.x)
        self.p, self.q = density(self.x, self.mu_p, self.cov_p), density(self.x, self.mu_q, self.Sigma_q)

    def parameters(self) -> list:
        what = "standard deviations of p (positive vector; covariance diag(sigma_p**2))" if self.diag else \
            "covariance of p (symmetric positive definite matrix)"
        return [(self.mu_p, "mean of p (vector)"), (self.scale_p, what), (self.mu_q, "mean of q (vector)"),
                (self.Sigma_q, "covariance of q (symmetric positive definite matrix)")]

    def draw(self, n: int):
        """Random rational parameters at d = n: (values of the symbols, Cholesky factor of p's, of q's)."""
        L_p, L_q = _lower(self.rng, n, self.diag), _lower(self.rng, n, False)
        values = {self.mu_p: _vector(self.rng, n), self.mu_q: _vector(self.rng, n),
                  self.Sigma_q: sp.ImmutableMatrix(L_q * L_q.T), D: sp.Integer(n)}
        values[self.scale_p] = sp.ImmutableMatrix(L_p.diagonal().T if self.diag else L_p * L_p.T)
        return values, L_p, L_q


def _vector(rng, n):
    return sp.ImmutableMatrix([sp.Rational(rng.randint(-8, 8), rng.randint(1, 4)) for _ in range(n)])


def _lower(rng, n, diagonal: bool):
    """A random lower-triangular rational matrix with positive diagonal (a Cholesky factor)."""
    return sp.ImmutableMatrix(n, n, lambda i, j: sp.Rational(rng.randint(2, 9), rng.randint(1, 4)) if i == j else
                              sp.Rational(rng.randint(-4, 4), rng.randint(1, 4)) if i > j and not diagonal else 0)


# ---- the independent route of the checks -----------------------------------------------------------------

def _normalised(expr):
    """Logarithms of rationals split into logarithms of primes, expanded: equal values compare equal."""
    return sp.expand(sp.expand_log(sp.expand(expr), force=True, factor=True))


def explicit(expr, values: dict):
    """``expr`` with its matrix symbols replaced by explicit matrices (and d by their size), evaluated."""
    def evaluate(e):
        if isinstance(e, sp.HadamardPower) and isinstance(e.base, sp.MatrixBase):
            return e.base.applyfunc(lambda t: t ** e.exp)
        if isinstance(e, DiagMatrix) and isinstance(e.args[0], sp.MatrixBase):
            return sp.ImmutableMatrix(sp.diag(*e.args[0]))
        return e

    expr = sp.sympify(expr).xreplace(values)
    expr = expr.replace(lambda e: isinstance(e, (sp.HadamardPower, DiagMatrix)), evaluate)
    return _normalised(expr.doit())


def separate_log_density(x, mu, L):
    """log of the density of x = μ + L u, u ~ N(0, I): ∏ φ(z_i)/∏ L_ii with z = L⁻¹(x − μ)."""
    z = L.lower_triangular_solve(x - mu)
    phi = sp.Mul(*[sp.exp(-zi ** 2 / 2) / sp.sqrt(2 * sp.pi) for zi in z])
    return sp.expand_log(sp.log(phi / sp.Mul(*L.diagonal())), force=True)


@lru_cache(maxsize=None)
def _moment(k: int):
    u = sp.Symbol("u", real=True)
    return sp.integrate(u ** k * sp.exp(-u ** 2 / 2) / sp.sqrt(2 * sp.pi), (u, -sp.oo, sp.oo))


def standard_expectation(f, us):
    """E[f(u)] for u ~ N(0, I), f a polynomial in u: each coordinate integrated against the standard normal."""
    poly = sp.Poly(sp.expand(f), *us)
    return _normalised(sp.Add(*[c * sp.Mul(*[_moment(k) for k in ks]) for ks, c in poly.terms()]))


def _pushed(st, values, L_p):
    """x = μ_p + L_p u for a vector u of real symbols: (x, u)."""
    n = L_p.shape[0]
    us = sp.symbols(f"u1:{n + 1}", real=True)
    return sp.ImmutableMatrix(values[st.mu_p] + L_p * sp.Matrix(us)), us


def check_closed(st, closed) -> Verification:
    """The closed form at d = 1, 2, 3 against ∫ p (log p − log q) dx by x = μ_p + L_p u, exactly."""
    checks = []
    for n in DIMENSIONS:
        values, L_p, L_q = st.draw(n)
        xu, us = _pushed(st, values, L_p)
        ratio = separate_log_density(xu, values[st.mu_p], L_p) - separate_log_density(xu, values[st.mu_q], L_q)
        checks.append(exact("", explicit(closed, values), standard_expectation(ratio, us), scope=f"d = {n}"))
    return combine(checks, "at d = 1, 2, 3 with random rational means and Cholesky factors, the closed form "
                           "equals ∫ p (log p − log q) dx integrated exactly (x = μ_p + L_p u, u ~ N(0, I), "
                           "densities written as the law of x, each coordinate of u integrated by SymPy)")


# ---- the steps -------------------------------------------------------------------------------------------

def _decomposition(st, sec):
    """KL = constant + Σ c_j E_p[T_j]: log p − log q from the densities, by linearity."""
    ratio = sp.expand(sp.expand_log(sp.log(st.p), force=True) - sp.expand_log(sp.log(st.q), force=True), deep=False)
    constant, stats = sp.S.Zero, {}
    for term in sp.Add.make_args(ratio):
        c, t = term.as_independent(st.x, as_Add=False)
        if t == 1:
            constant += c
        else:
            stats[t] = stats.get(t, 0) + c
    combination = constant + sp.Add(*[c * Expect(t, st.pa) for t, c in stats.items()])
    sec.steps.append(Step(KL(st.pa, st.qa), combination,
                          "definition of KL, E_p[log p − log q], with log p − log q written out from the densities "
                          "(the factors (2π)^(−d/2) cancel); the expectation is linear",
                          _check_decomposition(st, constant + sum(c * t for t, c in stats.items()))))
    return combination, constant, stats


def _check_decomposition(st, ratio) -> Verification:
    checks = []
    for n in DIMENSIONS:
        values, L_p, L_q = st.draw(n)
        x0 = _vector(st.rng, n)
        own = separate_log_density(x0, values[st.mu_p], L_p) - separate_log_density(x0, values[st.mu_q], L_q)
        checks.append(exact("", explicit(ratio, {**values, st.x: x0}), _normalised(own), scope=f"d = {n}"))
    return combine(checks, "at d = 1, 2, 3, a random rational x and random rational parameters, the written-out "
                           "log p − log q equals the log of the ratio of the densities written as the law of "
                           "x = μ + L u, u ~ N(0, I), exactly")


def _quadratic_rule(st, sec):
    """E_p[(x−m)ᵀA(x−m)] = tr(AΣ_p) + (μ_p−m)ᵀA(μ_p−m), with x = μ_p + L u, E[u] = 0, E[u uᵀ] = I."""
    A, m = sp.MatrixSymbol("A", D, D), sp.MatrixSymbol("m", D, 1)
    L, u = sp.MatrixSymbol("L", D, D), sp.MatrixSymbol("u", D, 1)
    expanded = sp.expand(((st.x - m).T * A * (st.x - m)).xreplace({st.x: st.mu_p + L * u}))
    value, constant = sp.S.Zero, []
    for term in expanded.args:
        coeff, mats = term.as_coeff_matrices()
        used = sum(1 for a in mats if a in (u, u.T))
        if used == 2:  # c uᵀ M u: E = c tr(M) = c tr(A L Lᵀ) (cyclic), L Lᵀ = Σ_p
            middle = list(mats[2:-1]) + [mats[1]]
            assert middle[-2:] == [L, L.T], term
            value += coeff * sp.Trace(sp.MatMul(*middle[:-2], st.cov_p))
        elif used == 0:
            constant.append(term)
    folded = (st.mu_p - m).T * A * (st.mu_p - m)
    assert sp.expand(folded - sp.MatAdd(*constant)) == sp.ZeroMatrix(1, 1)
    rhs = value + Scalar(folded)
    lhs = Expect(_quadratic(st.x, m, A), st.pa)
    sec.steps.append(Step(lhs, rhs, "x = μ_p + L u with L Lᵀ = Σ_p, u ~ N(0, I): the terms linear in u vanish "
                                    "(E[u] = 0), E[uᵀMu] = tr(M) (E[u uᵀ] = I), tr(LᵀAL) = tr(A L Lᵀ)",
                          _check_rule(st, lhs.args[0], rhs, A, m)))
    return (A, m), rhs


def _check_rule(st, statistic, rhs, A, m) -> Verification:
    checks = []
    for n in DIMENSIONS:
        values, L_p, _ = st.draw(n)
        A0 = sp.ImmutableMatrix(n, n, lambda i, j: sp.Rational(st.rng.randint(-9, 9), st.rng.randint(1, 5)))
        at = {**values, A: A0, m: _vector(st.rng, n)}
        xu, us = _pushed(st, values, L_p)
        checks.append(exact("", explicit(rhs, at), standard_expectation(explicit(statistic, {**at, st.x: xu}), us),
                            scope=f"d = {n}"))
    return combine(checks, "at d = 1, 2, 3 with a random rational matrix A, vector m and parameters, the right side "
                           "equals the expectation integrated exactly (x = μ_p + L_p u, each coordinate of u "
                           "integrated against the standard normal density by SymPy)")


def _instances(st, sec, rule, stats) -> dict:
    """Each quadratic form of the decomposition by the rule: {statistic: value}."""
    (A, m), rhs = rule
    out = {}
    for mu, cov in ((st.mu_p, st.cov_p), (st.mu_q, st.Sigma_q)):
        statistic = _quadratic(st.x, mu, cov.I)
        assert statistic in stats, statistic
        value = rhs.xreplace({A: cov.I, m: mu}).doit()
        out[statistic] = value
        names = f"A = {'diag(σ_p²)' if cov is st.cov_p and st.diag else 'Σ_' + mu.name[-1]}⁻¹, m = μ_{mu.name[-1]}"
        sec.steps.append(Step(Expect(statistic, st.pa), value, f"the rule with {names}",
                              _check_instance(st, statistic, value)))
    return out


def _check_instance(st, statistic, value) -> Verification:
    checks = []
    for n in DIMENSIONS:
        values, L_p, _ = st.draw(n)
        xu, us = _pushed(st, values, L_p)
        own = standard_expectation(explicit(statistic, {**values, st.x: xu}), us)
        checks.append(exact("", explicit(value, values), own, scope=f"d = {n}"))
    return combine(checks, "at d = 1, 2, 3 with random rational parameters, the value equals the expectation "
                           "integrated exactly (x = μ_p + L_p u, each coordinate against the standard normal)")


def _assemble(st, sec, decomposition, values):
    combination, constant, stats = decomposition
    closed = sp.expand(constant + sp.Add(*[c * values[t] for t, c in stats.items()]), deep=False)
    sec.steps.append(Step(combination, closed, "the expectations put in", check_closed(st, closed), continues=True))
    return closed


def _self_divergence(st, sec, closed) -> None:
    at = closed.xreplace({st.mu_q: st.mu_p, st.Sigma_q: st.scale_p})
    sec.steps.append(Step(KL(st.pa, st.pa), sp.S.Zero, "q = p: q's parameters set to p's",
                          exact("the closed form with μ_q = μ_p, Σ_q = Σ_p reduces to 0 (tr(Σ_p⁻¹Σ_p) = tr(I) = d)",
                                at, sp.S.Zero)))


def _diagonal_entries(st, sec, closed):
    """tr(Σ_q⁻¹ diag(σ²)) and log det diag(σ²) in the entries of σ_p."""
    i = sp.Symbol("i", integer=True, nonnegative=True)
    (trace,) = closed.atoms(sp.Trace)
    raw = trace.rewrite(sp.Sum)
    (k, lo, hi), = raw.limits
    body = raw.function.xreplace({k: i})
    if isinstance(body, sp.Piecewise) and body.args[0][1].xreplace({i: hi}) is sp.true:
        body = body.args[0][0]  # its condition i ≤ d − 1 holds on the range of the sum
    index_trace = sp.Sum(body, (i, lo, hi))
    logdet = sp.log(sp.Determinant(st.cov_p))
    index_logdet = sp.factor_terms(sp.Sum(sp.expand_log(sp.log(st.cov_p[i, i]), force=True), (i, 0, D - 1)))
    for lhs, rhs, why in ((trace, index_trace, "the trace as a sum over the diagonal: diag(σ_p²) scales column i by "
                                               "the square of the i-th standard deviation"),
                          (logdet, index_logdet, "the determinant of a diagonal matrix is the product of its "
                                                 "diagonal; log of a product of positive factors, the sum of logs")):
        sec.steps.append(Step(lhs, rhs, why, _check_entries(st, lhs, rhs)))
    return closed.xreplace({trace: index_trace, logdet: index_logdet}), index_trace


def _check_entries(st, lhs, rhs) -> Verification:
    checks = []
    for n in DIMENSIONS:
        values, _, _ = st.draw(n)
        checks.append(exact("", explicit(rhs, values), explicit(lhs, values), scope=f"d = {n}"))
    return combine(checks, "at d = 1, 2, 3 with random rational parameters, both sides computed from explicit "
                           "matrices, exactly")


def stable_form(closed, index_trace=None):
    """log det by slogdet, tr(A⁻¹B) and vᵀA⁻¹v by solves, sums over entries along the last axis."""
    expr = closed
    if index_trace is not None:
        (a,) = [m.arg for m in index_trace.atoms(sp.Inverse)]
        expr = expr.xreplace({index_trace: TraceSolve(a, Diag(sp.HadamardPower(_vector_of(index_trace), 2)))})
    expr = expr.replace(lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sp.Determinant),
                        lambda e: LogDet(e.args[0].arg))
    expr = expr.replace(lambda e: isinstance(e, sp.Trace) and isinstance(e.arg, sp.MatMul)
                        and isinstance(e.arg.args[0], sp.Inverse),
                        lambda e: TraceSolve(e.arg.args[0].arg, sp.MatMul(*e.arg.args[1:]).doit()))
    expr = expr.replace(_is_quadratic, lambda e: QuadSolve(e.args[0].args[1].arg, e.args[0].args[2]))
    return expr.replace(lambda e: isinstance(e, sp.Sum) and not isinstance(e, AxisSum), lambda e: AxisSum(*e.args))


def _vector_of(index_trace):
    (v,) = {e.args[0] for e in index_trace.atoms(MatrixElement) if e.args[0].shape[1] == 1}
    return v


def _is_quadratic(e) -> bool:
    if not isinstance(e, Scalar) or not isinstance(e.args[0], sp.MatMul) or len(e.args[0].args) != 3:
        return False
    first, middle, last = e.args[0].args
    return isinstance(middle, sp.Inverse) and sp.expand(first - last.T) == sp.ZeroMatrix(*first.shape)


def _stable_step(st, sec, closed, stable) -> None:
    checks = [] if st.diag else [exact("", written(stable), closed)]
    for n in DIMENSIONS:
        values, _, _ = st.draw(n)
        checks.append(exact("", explicit(stable, values), explicit(closed, values), scope=f"d = {n}"))
    what = ("at d = 1, 2, 3 with random rational parameters, the form evaluated by its solves and determinants "
            "equals the closed form, exactly") + ("" if st.diag else "; written back (log det, A⁻¹) it is the closed "
                                                                     "form")
    sec.steps.append(Step(KL(st.pa, st.qa), stable, "the form for computing: log det by slogdet, the trace and the "
                                                    "quadratic form by solves against Σ_q (no inverse)",
                          combine(checks, what)))


# ---- the derivations -------------------------------------------------------------------------------------

#: the families' titles (as in the catalogue)
TITLES = {"mvnormal": "MVNormal", "mvnormal_diag": "MVNormal (diagonal)"}


def _start(st) -> Derivation:
    pair, title = st.pair, TITLES.get
    names = [s.name for s, _ in st.parameters()]
    der = Derivation(pair.name, f"KL({title(pair.p)} ‖ {title(pair.q)})",
                     f"p = {title(pair.p)}({names[0]}, {names[1]}), q = {title(pair.q)}({names[2]}, {names[3]}) in "
                     f"d dimensions, Σ the covariance" + (", σ_p the standard deviations" if st.diag else ""))
    cov = "diag(σ_p²)" if st.diag else "Σ_p"
    der.givens += [Given(st.pa, st.p, f"p: N(μ_p, {cov}) on ℝ^d, {cov} the covariance"),
                   Given(st.qa, st.q, "q: N(μ_q, Σ_q) on ℝ^d, Σ_q the covariance (symmetric positive definite)")]
    der.symbols.update({s.name: s for s in (*[s for s, _ in st.parameters()], st.x, D)})
    return der


def _derive(pair: Pair, diag: bool, seed: int) -> Derivation:
    st = Setting(pair, diag, random.Random(seed))
    der = _start(st)
    sec = der.section("from the densities", "KL", "p and q on ℝ^d; Σ is the covariance; the support of both is all of ℝ^d, so "
                                       "the KL is finite for every positive definite covariance.")
    decomposition = _decomposition(st, sec)
    values = _instances(st, sec, _quadratic_rule(st, sec), decomposition[2])
    closed, index_trace = _assemble(st, sec, decomposition, values), None
    if diag:
        closed, index_trace = _diagonal_entries(st, sec, closed)
        sec.steps.append(Step(decomposition[0], closed, "the diagonal entries put in", check_closed(st, closed),
                              continues=True))
    else:
        _self_divergence(st, sec, closed)
    stable = stable_form(closed, index_trace)
    _stable_step(st, sec, closed, stable)
    _results(der, st, closed, stable)
    return der


def _results(der, st, closed, stable) -> None:
    pair, lhs = st.pair, KL(st.pa, st.qa)
    note = ("the KL in a form for computing: log-determinants by slogdet (LogDet), tr(Σ_q⁻¹Σ_p) and "
            "(μ_q−μ_p)ᵀΣ_q⁻¹(μ_q−μ_p) by solves against Σ_q" + (", Σ log σ_i along the last axis" if st.diag else ""))
    der.results += [Result(pair.result_name, lhs, closed, "KL(p ‖ q) in the means and covariances of p and q"),
                    Result(f"{pair.result_name}.finite_when", lhs < sp.oo, sp.true,
                           "always finite for positive definite covariances"),
                    Result(f"{pair.result_name}.stable", lhs, stable, note)]
    der.data.update({"pair": pair, "kl": closed, "closed": closed, "condition": sp.true, "stable": stable,
                     "parameters": st.parameters(), "edges": ()})


def derive_mvnormal(seed: int = 0) -> Derivation:
    """KL(N(μ_p, Σ_p) ‖ N(μ_q, Σ_q)) in d dimensions, Σ the covariance."""
    return _derive(Pair("mvnormal", "mvnormal"), False, seed)


def derive_mvnormal_diag(seed: int = 0) -> Derivation:
    """KL(N(μ_p, diag(σ_p²)) ‖ N(μ_q, Σ_q)): the general route with Σ_p = diag(σ_p²)."""
    return _derive(Pair("mvnormal_diag", "mvnormal"), True, seed)
