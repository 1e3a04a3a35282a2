"""The KL catalogue as a document (``kl-catalogue.{tex,md,html,pdf}``), built from the pairs' derivations.

A summary table of every pair first (its parameterisation, where the KL is finite, what the exported form
handles at the edges, the function's name), then one page per pair: the two densities, each step with its
reason and its check, the results and the numeric cross-checks; last, the gradient estimators compared
(their variances as formulas and the figure of each against σ).  Every formula is a SymPy object from a
derivation; the words here only connect them.
"""
from __future__ import annotations

import sympy as sp

from .catalogue_document import _checks, _steps
from .document import Display, Document, Math, Para, Section, Table
from .render.prose import typeset

TITLE = "KL divergences: derived and verified"


def _pair(der):
    return der.data["pair"]


def _function_text(der) -> str:
    pair = _pair(der)
    args = ", ".join(s.name for s, _ in der.data["parameters"]) if not pair.p in ("categorical",) \
        and not pair.p.startswith("mvnormal") else ", ".join(str(s) for s, _ in der.data["parameters"])
    return f"{pair.function}({args})"


def _finite(der) -> tuple:
    cond = der.data["condition"]
    return ("always",) if cond is sp.true else (Math(cond),)


def _edges(der) -> tuple:
    edges = der.data.get("edges", ())
    return typeset("; ".join(edges)) if edges else ("as derived",)


def summary(derivations) -> Section:
    from .divergence.catalogue import parameters_text, title

    rows = []
    for der in derivations:
        pair = _pair(der)
        rows.append(((f"{title(pair.p)} ‖ {title(pair.q)}",), typeset(parameters_text(pair.p)
                     + ("" if pair.p == pair.q else f"; q: {parameters_text(pair.q)}")),
                     _finite(der), _edges(der), (_function_text(der),)))
    intro = Para(("Each KL below was derived from the two densities (or mass functions) by integration or "
                  "summation; the later pages show every step with its check. The functions are those of "
                  "derive_numeric.py and derive_torch.py, p's parameters first.",))
    return Section("1", "Summary", [intro, Table(("KL(p ‖ q)", "parameters", "finite when", "computed at the edges",
                                                  "function"), tuple(rows), "lllll",
                                                 (0.14, 0.26, 0.14, 0.26, 0.2))])


def _results(der) -> list:
    name = _pair(der).result_name
    blocks = [Para(("The closed form, its support condition and the form the exported function computes.",),
                   lead="Results")]
    for suffix, boxed in (("", True), (".finite_when", False), (".stable", False)):
        res = der.result(name + suffix)
        blocks += [Para(typeset(res.description[:1].upper() + res.description[1:] + ":")),
                   Display(res.lhs, res.value, boxed=boxed, relation="<" if suffix == ".finite_when" else "=")]
    blocks.append(Para((f"Exported as {_function_text(der)}.",)))
    return blocks


def pair_page(der, number: str) -> Section:
    sec = Section(number, der.title, new_page=True)
    sec.add(Para(typeset(der.summary)), *[Display(g.lhs, g.rhs) for g in der.givens], *_steps(der),
            *_results(der), *_checks(der))
    return sec


def estimator_table(der) -> Table:
    """The variance of each estimator, per parameter, as derived."""
    rows = []
    for family, name, value in der.data["variance_table"]:
        key = "gaussian" if family == "Gaussian" else "exponential"
        theta = der.data[key]["theta"]
        values = list(value) if isinstance(value, sp.MatrixBase) else [value]
        for sym, v in zip(theta, values):
            rows.append(((family,), (name,), (Math(sym),), (Math(v),)))
    return Table(("q", "estimator", "parameter", "variance of the per-sample gradient"), tuple(rows), "lllc",
                 (0.12, 0.26, 0.1, 0.52))


def estimator_section(der, figure, number: str, new_page: bool = True) -> Section:
    """The three estimators compared: what each is, the table of variances and the figure."""
    sec = Section(number, "Gradient estimators compared", new_page=new_page)
    sec.add(Para(typeset(der.summary + ".")),
            Para(("Every mean below was integrated over the noise and equals the gradient of the closed-form KL "
                  "(the estimators are unbiased); every variance was integrated over the noise and checked by "
                  "integrating over z with the density written a second way, then against Monte Carlo.",)))
    for family in ("gaussian", "exponential"):
        res = der.result(f"estimators.{family}.score.optimal_baseline")
        sec.add(Para(typeset(res.description[:1].upper() + res.description[1:] + f" ({family} q):")),
                Display(res.lhs, res.value))
    sec.add(estimator_table(der))
    if figure is not None:
        sec.add(figure)
    return sec


def build(derivations, estimators=None, figure=None) -> Document:
    """The KL catalogue document of the pairs' ``derivations`` (and the estimators' comparison, if given)."""
    intro = [Para(("Every formula below was derived by SymPy from the two distributions' densities, with the "
                   "assumptions it needs declared (positive scales, real locations, probabilities in (0, 1)). Each "
                   "step names the check that was run on it: high-precision quadrature or exact summation at random "
                   "parameters, exact re-derivation at explicit sizes, substitution. The exported functions were "
                   "compared with scipy quadrature at 20 random parameter sets, with Monte Carlo and at the edges "
                   "of the parameters.",))]
    doc = Document(TITLE, intro, [summary(derivations)])
    doc.sections += [pair_page(d, str(n)) for n, d in enumerate(derivations, 2)]
    if estimators is not None:
        doc.sections.append(estimator_section(estimators, figure, str(len(derivations) + 2)))
    return doc
