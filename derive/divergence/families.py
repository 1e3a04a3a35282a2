"""The distribution families of the KL catalogue: each one's parameters, density and support, as SymPy objects.

A family is its definition only: the density (or mass function) of one variable, the assumptions SymPy
needs on its parameters (real locations, positive scales, probabilities in (0, 1)), the support, and the
route by which an expectation under it is computed (:mod:`derive.divergence.expect`).  The KL of a pair is
derived from these definitions (:mod:`derive.divergence.pair`); no KL formula is written here.

Parameterisations (binding for the exported functions ``kl_<p>_<q>``, p's parameters first):

==============  =====================  ==========================================================
family          parameters             density or mass function
==============  =====================  ==========================================================
normal          mu, sigma              N(mu, sigma^2), sigma the standard deviation
laplace         mu, b                  exp(-|x - mu|/b)/(2b), b the scale
exponential     lambda                 lambda exp(-lambda x) on x >= 0, lambda the rate
gamma           alpha, beta            beta^alpha x^(alpha-1) exp(-beta x)/Gamma(alpha), beta the RATE
beta            alpha, beta            x^(alpha-1) (1-x)^(beta-1)/B(alpha, beta) on [0, 1]
lognormal       mu, sigma              log x ~ N(mu, sigma^2)
cauchy          x0, gamma              gamma/(pi (gamma^2 + (x - x0)^2)), gamma the scale
gumbel          mu, beta               exp(-(z + exp(-z)))/beta, z = (x - mu)/beta (maximum Gumbel)
halfnormal      sigma                  sqrt(2/pi)/sigma exp(-x^2/(2 sigma^2)) on x >= 0
uniform         a, b                   1/(b - a) on [a, b]
bernoulli       p                      p^x (1-p)^(1-x), x in {0, 1}
poisson         lambda                 lambda^k exp(-lambda)/k!, k = 0, 1, ...
geometric       p                      (1-p)^k p, k = 0, 1, ... failures before the first success
==============  =====================  ==========================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp


@dataclass(frozen=True)
class Parameter:
    """One parameter: its name (a SymPy symbol name), its assumptions, the range random checks draw from
    and its meaning in words."""

    name: str
    kind: str  # "real", "positive", "probability"
    low: float
    high: float
    meaning: str
    #: values at the closure of the domain where the distribution still exists (a probability at 0 or 1,
    #: a rate at 0 for a point mass): the edges a formula must still compute at
    edges: tuple = ()

    def symbol(self, suffix: str) -> sp.Symbol:
        name = f"{self.name}_{suffix}" if suffix else self.name
        if self.kind == "real":
            return sp.Symbol(name, real=True)
        return sp.Symbol(name, positive=True)


@dataclass(frozen=True)
class Family:
    """A family of one-dimensional distributions."""

    name: str
    title: str
    parameters: tuple
    #: the density (or mass function) at x for the parameter symbols
    density: Callable
    #: "real", "positive", "unit" (0 < x < 1), "interval" (between the first two parameters),
    #: "binary" ({0, 1}), "count" (0, 1, 2, ...)
    support: str
    #: the route of an expectation under this family (:mod:`derive.divergence.expect`)
    route: str
    #: the normaliser Z of density = kernel/Z, where the route is "normaliser"
    normaliser: Callable | None = None
    #: the substitution x = g(u) and the density of u, where the route is "substitution"
    substitution: Callable | None = None

    @property
    def discrete(self) -> bool:
        return self.support in ("binary", "count")

    def symbols(self, suffix: str) -> tuple:
        return tuple(par.symbol(suffix) for par in self.parameters)

    def variable(self):
        """The variable of the density, with the assumptions its support gives."""
        if self.support == "count":
            return sp.Symbol("k", integer=True, nonnegative=True)
        if self.support == "binary":
            return sp.Symbol("x", integer=True, nonnegative=True)
        if self.support in ("positive", "unit"):
            return sp.Symbol("x", positive=True)
        return sp.Symbol("x", real=True)

    def bounds(self, theta) -> tuple:
        """The support's ends (lowest, highest) for the parameters ``theta``."""
        return {"real": (-sp.oo, sp.oo), "positive": (sp.S.Zero, sp.oo), "unit": (sp.S.Zero, sp.S.One),
                "interval": tuple(theta[:2]), "binary": (sp.S.Zero, sp.S.One),
                "count": (sp.S.Zero, sp.oo)}[self.support]

    def describe(self) -> str:
        return ", ".join(f"{p.name} ({p.meaning})" for p in self.parameters)


def _normal(x, mu, sigma):
    return sp.exp(-(x - mu) ** 2 / (2 * sigma ** 2)) / (sigma * sp.sqrt(2 * sp.pi))


def _laplace(x, mu, b):
    return sp.exp(-sp.Abs(x - mu) / b) / (2 * b)


def _exponential(x, lam):
    return lam * sp.exp(-lam * x)


def _gamma_kernel(x, alpha, beta):
    return x ** (alpha - 1) * sp.exp(-beta * x)


def _gamma_normaliser(alpha, beta):
    return sp.gamma(alpha) / beta ** alpha


def _gamma(x, alpha, beta):
    return _gamma_kernel(x, alpha, beta) / _gamma_normaliser(alpha, beta)


def _beta(x, alpha, beta):
    return x ** (alpha - 1) * (1 - x) ** (beta - 1) / sp.beta(alpha, beta)


def _lognormal(x, mu, sigma):
    return sp.exp(-(sp.log(x) - mu) ** 2 / (2 * sigma ** 2)) / (x * sigma * sp.sqrt(2 * sp.pi))


def _cauchy(x, x0, gamma):
    return gamma / (sp.pi * (gamma ** 2 + (x - x0) ** 2))


def _gumbel(x, mu, beta):
    z = (x - mu) / beta
    return sp.exp(-(z + sp.exp(-z))) / beta


def _halfnormal(x, sigma):
    return sp.sqrt(2 / sp.pi) / sigma * sp.exp(-x ** 2 / (2 * sigma ** 2))


def _uniform(x, a, b):
    return 1 / (b - a)


def _bernoulli(x, p):
    return p ** x * (1 - p) ** (1 - x)


def _poisson(k, lam):
    return lam ** k * sp.exp(-lam) / sp.factorial(k)


def _geometric(k, p):
    return (1 - p) ** k * p


def _lognormal_substitution(u, mu, sigma):
    """x = exp(mu + sigma u), u ~ N(0, 1)."""
    return sp.exp(mu + sigma * u), _normal(u, 0, 1), (-sp.oo, sp.oo)


def _gumbel_substitution(u, mu, beta):
    """x = mu - beta log u, u ~ Exponential(1): the density of u is exp(-u) on u > 0."""
    return mu - beta * sp.log(u), sp.exp(-u), (sp.S.Zero, sp.oo)


LOC = ("real", -2.0, 2.0)
SCALE = ("positive", 0.3, 3.0)
SHAPE = ("positive", 0.5, 5.0)
PROB = ("probability", 0.05, 0.95)

FAMILIES = {f.name: f for f in [
    Family("normal", "Normal", (Parameter("mu", *LOC, "mean"), Parameter("sigma", *SCALE, "standard deviation")),
           _normal, "real", "gaussian"),
    Family("laplace", "Laplace", (Parameter("mu", *LOC, "location"), Parameter("b", *SCALE, "scale")),
           _laplace, "real", "absolute"),
    Family("exponential", "Exponential", (Parameter("lambda", *SCALE, "rate"),), _exponential, "positive",
           "normaliser", normaliser=lambda lam: 1 / lam),
    Family("gamma", "Gamma", (Parameter("alpha", *SHAPE, "shape"), Parameter("beta", *SCALE, "rate")),
           _gamma, "positive", "normaliser", normaliser=_gamma_normaliser),
    Family("beta", "Beta", (Parameter("alpha", *SHAPE, "first shape"), Parameter("beta", *SHAPE, "second shape")),
           _beta, "unit", "normaliser", normaliser=sp.beta),
    Family("lognormal", "LogNormal", (Parameter("mu", *LOC, "mean of log x"),
                                      Parameter("sigma", *SCALE, "standard deviation of log x")),
           _lognormal, "positive", "substitution", substitution=_lognormal_substitution),
    Family("cauchy", "Cauchy", (Parameter("x0", *LOC, "location"), Parameter("gamma", *SCALE, "scale")),
           _cauchy, "real", "poisson kernel"),
    Family("gumbel", "Gumbel", (Parameter("mu", *LOC, "location"), Parameter("beta", *SCALE, "scale")),
           _gumbel, "real", "substitution", substitution=_gumbel_substitution),
    Family("halfnormal", "HalfNormal", (Parameter("sigma", *SCALE, "scale"),), _halfnormal, "positive",
           "integrate"),
    Family("uniform", "Uniform", (Parameter("a", *LOC, "lower end", (0, 1)), Parameter("b", *LOC, "upper end", (0, 1))),
           _uniform, "interval", "integrate"),
    Family("bernoulli", "Bernoulli", (Parameter("p", *PROB, "probability of 1", (0, 1)),), _bernoulli, "binary", "sum"),
    Family("poisson", "Poisson", (Parameter("lambda", *SCALE, "rate", (0,)),), _poisson, "count", "sum"),
    Family("geometric", "Geometric", (Parameter("p", *PROB, "probability of success", (1,)),), _geometric, "count",
           "sum"),
]}

#: the vector families of the catalogue (derived by their own modules), by name
TITLES = {"categorical": "Categorical", "mvnormal": "MVNormal", "mvnormal_diag": "MVNormal (diagonal)"}

#: what each vector family's parameters are, in words
VECTOR_PARAMETERS = {"categorical": "probability vector p (or q) on the last axis, summing to 1",
                     "mvnormal": "mean vector mu and covariance matrix Sigma (symmetric positive definite)",
                     "mvnormal_diag": "mean vector mu and vector sigma of standard deviations (covariance diag(sigma²))"}


def title(family: str) -> str:
    return FAMILIES[family].title if family in FAMILIES else TITLES[family]


def parameters_text(family: str) -> str:
    return FAMILIES[family].describe() if family in FAMILIES else VECTOR_PARAMETERS[family]
