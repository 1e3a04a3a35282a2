"""The catalogue of flow layers as a document (``catalogue.{tex,md,html,pdf}``), built from their derivations.

A summary table of every layer first, then one page per layer: its definition, the structure found, each
step with its reason, its equation and the check that was run on it, the invertibility condition and the
volume verdict, the cost of the log-determinant and the numeric cross-checks.  Every formula is a SymPy
object from a derivation; the words here only connect them.
"""
from __future__ import annotations

import sympy as sp

from .answer import check_text, magnitude
from .document import Display, Document, Math, Para, Section, Table
from .render.prose import typeset

TITLE = "Flow layers: derived and verified"

#: the cost of the log-determinant each structure rule leads to (given the conditioners' outputs)
COST = {"element-wise": "O(d): one term per component", "block triangular": "O(d): one term per component",
        "lower triangular": "O(d): the diagonal only", "upper triangular": "O(d): the diagonal only",
        "diagonal plus rank one": "O(d): the matrix determinant lemma needs one dot product",
        "diagonal plus rank m": "O(d m² + m³): an m×m determinant",
        "orthogonal": "O(1): |det| = 1", "permutation": "O(1): |det| = 1",
        "explicit Jacobian": "O(d³): slogdet of the d×d Jacobian",
        "composition": "the sum of its layers' costs"}


def _structure(der) -> str:
    return der.data["structure"].name if "structure" in der.data else "composition"


def _condition(der):
    return der.result(f"{der.name}.condition").value


def _volume(der):
    return der.result(f"{der.name}.volume").value


def _summary_row(der) -> tuple:
    cond, vol = _condition(der), _volume(der)
    when = (Math(cond.condition),) if cond.holds is not True else ("always",)
    volume = {True: "yes", False: "no", None: "when the log-determinant is 0"}[vol.holds]
    return ((der.name,), (_structure(der),), (der.data["inverse_kind"],), when, (volume,))


def summary(derivations) -> Section:
    rows = tuple(_summary_row(d) for d in derivations)
    intro = Para(("Each layer was given by its component equations only. The structure of its Jacobian was found "
                  "from them, and the rule for that structure gave the log-determinant; the later pages show "
                  "every step with its check.",))
    return Section("1", "Summary", [intro, Table(("layer", "structure found", "inverse", "invertible when",
                                                  "volume preserving"), rows, "lllll", (0.16, 0.2, 0.22, 0.24, 0.18))])


def _definition(der) -> list:
    blocks = [Para(typeset(der.summary))]
    outputs = [g for g in der.givens if g.rhs is not sp.S.true]
    blocks += [Display(g.lhs, g.rhs) for g in outputs]
    others = [g for g in der.givens if g.rhs is sp.S.true]
    if others:
        parts: tuple = ("Parameters and networks: ",)
        for n, g in enumerate(others):
            parts += (Math(g.lhs),) + ((f" ({g.note})",) if g.note and g.note != "a parameter" else ())
            parts += (", ",) if n < len(others) - 1 else (".",)
        blocks.append(Para(parts))
    return blocks


def _steps(der) -> list:
    blocks = []
    for sec, rows in der.numbered():
        if sec.text:
            blocks.append(Para(typeset(sec.text), lead=sec.title))
        for label, step in rows:
            blocks += [Para(typeset(step.justification), lead=f"({label})"),
                       Display(step.lhs, step.rhs, chained=step.continues), Para(check_text(step))]
    return blocks


def _verdicts(der) -> list:
    cond, vol = _condition(der), _volume(der)
    when = {True: ("always.",), False: ("never.",), None: ("when ", Math(cond.condition), ".")}[cond.holds]
    blocks = [Para(("Invertible: ",) + when, lead="Results"), Para(typeset(cond.reason))]
    blocks.append(Para(("Volume preserving: ", {True: "yes. ", False: "no. ", None: "undetermined. "}[vol.holds])
                       + typeset(vol.reason)))
    blocks.append(Para(("Cost of the log-determinant: " + COST.get(_structure(der), "not stated") + ".",)))
    return blocks


def _checks(der) -> list:
    if not der.checks:
        return []
    rows = tuple((typeset(c.name), typeset(c.method), (magnitude(c.residual),), (f"{c.tolerance:g}",),
                  ("pass" if c.passed else "FAIL",)) for c in der.checks)
    return [Para(("Numeric cross-checks against hand-written numpy:",)),
            Table(("check", "compared with", "residual", "tolerance", ""), rows, "llrrl", (0.3, 0.44, 0.1, 0.08, 0.08))]


def layer_page(der, number: str) -> Section:
    sec = Section(number, der.title, new_page=True)
    sec.add(*_definition(der), *_steps(der), *_verdicts(der), *_checks(der))
    return sec


def build(derivations) -> Document:
    """The catalogue document of the layers' (and stacks') ``derivations``, in their order."""
    intro = [Para(("Every formula below was derived by SymPy from the layer's component equations, for every "
                   "dimension at once (index notation). Each step names the check that was run on it: the "
                   "structure rules are compared with Matrix.jacobian and the generic determinant of the layer "
                   "written out at small sizes (\u201cchecked at\u201d names them); the printed numpy code is "
                   "compared with hand-written numpy and finite differences.",))]
    doc = Document(TITLE, intro, [summary(derivations)])
    doc.sections += [layer_page(d, str(n)) for n, d in enumerate(derivations, 2)]
    return doc
