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
from .estimator_document import estimator_section
from .render.prose import typeset

TITLE = "KL divergences: derived and verified"


def _pair(der):
    return der.data["pair"]


def _function_text(der) -> str:
    args = ", ".join(str(s) for s, _ in der.data["parameters"])
    return f"{_pair(der).function}({args})"


def _finite(der) -> tuple:
    cond = der.data["condition"]
    return ("always",) if cond is sp.true else (Math(cond),)


def _edges(der) -> tuple:
    edges = der.data.get("edges", ())
    return typeset(", ".join(edges)) if edges else ("as derived",)


def summary(derivations) -> Section:
    from .divergence.catalogue import parameters_text, title

    rows = []
    for der in derivations:
        pair = _pair(der)
        rows.append(((f"{title(pair.p)} ‖ {title(pair.q)}",), typeset(parameters_text(pair.p)
                     + ("" if pair.p == pair.q else f"; q: {parameters_text(pair.q)}")),
                     _finite(der), _edges(der), (_pair(der).function,)))
    intro = Para(("Each KL below was derived from the two densities (or mass functions) by integration or "
                  "summation; the later pages show every step with its check. The functions are those of "
                  "derive_numeric.py and derive_torch.py, p's parameters first.",))
    return Section("1", "Summary", [intro, Table(("KL(p ‖ q)", "parameters", "finite when", "computed at the edges",
                                                  "function"), tuple(rows), "lllll",
                                                 (0.14, 0.24, 0.16, 0.2, 0.26))])


def _results(der) -> list:
    name = _pair(der).result_name
    blocks = [Para(("The closed form, where it is finite and the form the exported function computes.",),
                   lead="Results")]
    for suffix in ("", ".finite_when", ".stable"):
        res = der.result(name + suffix)
        if suffix == ".finite_when":
            blocks.append(Para(("Finite for all parameters.",)) if res.value is sp.true else
                          Para(("Finite exactly when ", Math(res.value)) + typeset("; +∞ elsewhere.")))
            continue
        blocks += [Para(typeset(res.description[:1].upper() + res.description[1:] + ":")),
                   Display(res.lhs, res.value, boxed=not suffix)]
    blocks.append(Para((f"Exported as {_function_text(der)}.",)))
    return blocks


def pair_page(der, number: str) -> Section:
    sec = Section(number, der.title, new_page=True)
    sec.add(Para(typeset(der.summary)), *[Display(g.lhs, g.rhs) for g in der.givens], *_steps(der),
            *_results(der), *_checks(der))
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
