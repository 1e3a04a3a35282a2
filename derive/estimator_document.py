"""The gradient estimators compared, as a section of a document (the writeup's Appendix D and the last section
of the KL catalogue): what each estimator is, its optimal baseline, the table of variances as derived, and
the figure of each variance against σ (and λ).  Every formula is a SymPy object from the derivation
``estimators``."""
from __future__ import annotations

import sympy as sp

from .document import Display, Math, Para, Section, Table
from .render.prose import typeset


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


def estimator_section(der, figure, number: str, new_page: bool = True, part: str = "answer") -> Section:
    """The three estimators compared: what each is, the table of variances and the figure."""
    sec = Section(number, "Gradient estimators compared", new_page=new_page, part=part)
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
