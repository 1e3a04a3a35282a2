"""The writeup as the sheet asks for it, built from the derivations.

Sections 1 and 2 answer the questions in the sheet's numbering: for each,
a few displayed equations taken from the derivation's steps (each with its
one-line reason and a mark linking to the appendix entry that says how it
was checked) and the final answer boxed once.  Section 3 (Feedback) is a
template for the author.  The appendix holds the whole verification log,
the numeric cross-checks and the computation graph of 2.4.

Every formula here is a SymPy object from a derivation; the only words
written here are the sentences that connect them.
"""
from __future__ import annotations

import sympy as sp

from .document import Display, Document, GraphFigure, Mark, Math, Para, Section, Table, Template, TeX
from .model import Derivation, Verdict
from .render.prose import typeset

TITLE = "CSE 891-001: Deep Learning Homework 4"

FEEDBACK_QUESTIONS = (
    "What aspects of the written and programming homeworks did you enjoy for this course?",
    "What aspects of the written and programming homeworks did you hate for this course?",
    "Suggestions for what you would like to modify in the homeworks.",
    "Suggestions for course content/lecture slides and topics.",
)


# ---- finding what to show ------------------------------------------------------------------------------

def _labelled(der: Derivation) -> list:
    """(label, section, step) for every step, labels as in the appendix."""
    return [(label, sec, step) for sec, rows in der.numbered() for label, step in rows]


def _marks(der: Derivation, steps, most: int = 2) -> tuple:
    """Marks for the steps that establish an equation: the last ``most`` of them (the earlier ones carry
    their own marks where they are shown), and every unverified one."""
    order = {id(step): n for n, (_, _, step) in enumerate(_labelled(der))}
    by_id = {id(step): label for label, _, step in _labelled(der)}
    known = sorted({id(st): st for st in steps if id(st) in by_id}.values(), key=lambda st: order[id(st)])
    keep = [st for st in known if not st.verified] + [st for st in known[-most:] if st.verified]
    return tuple(Mark(by_id[id(st)], st.verified) for st in known if st in keep)


def _steps(der: Derivation, question: str, title: str | None = None) -> list:
    return [st for _, sec, st in _labelled(der) if sec.question == question and (title is None or sec.title == title)]


def _establishing(der: Derivation, res) -> list:
    """The steps that derived a result: those whose right-hand side is its value, or (for a column of
    results) one of its entries."""
    exact = [st for st in der.steps if st.rhs == res.value]
    if not isinstance(res.value, sp.MatrixBase):
        return exact
    entries = list(res.value)
    matching = [st for st in der.steps if st in exact or (isinstance(st.rhs, sp.Expr)
                                                          and any(_same(st.rhs, e) for e in entries))]
    named = list(res.lhs) if isinstance(res.lhs, sp.MatrixBase) else []
    return [st for st in matching if st.lhs in named] or matching


def _same(a, b) -> bool:
    return a == b or (isinstance(b, sp.Expr) and sp.expand(a - b) == 0)


def _sentence(pieces: tuple) -> tuple:
    """Prose pieces as a sentence: a capital first letter where it starts with words."""
    if pieces and isinstance(pieces[0], str) and pieces[0][:1].islower():
        return (pieces[0][0].upper() + pieces[0][1:],) + pieces[1:]
    return pieces


def _reason_display(der: Derivation, step, boxed: bool = False) -> list:
    """A step as its reason (one line) and its equation, marked with its check."""
    lead = Para(_sentence(typeset(step.justification)))
    return [lead, Display(step.lhs, step.rhs, _marks(der, [step]), boxed=boxed, chained=step.continues)]


#: the final answer of each question, boxed once
FINAL = {"coupling.inverse", "coupling.jacobian", "coupling.det", "vfe.identity", "kl.sum", "kl.closed_form",
         "reparam.estimator"}


def _result_display(der: Derivation, name: str, extra_steps=()) -> Display:
    res = der.result(name)
    steps = list(_establishing(der, res)) + [s for s in extra_steps if s not in _establishing(der, res)]
    return Display(res.lhs, res.value, _marks(der, steps), boxed=name in FINAL)


def _has(der: Derivation, name: str) -> bool:
    return any(r.name == name for r in der.results)


def _chain(der: Derivation, steps, box_last: bool = False) -> list:
    blocks = []
    for n, step in enumerate(steps):
        blocks += _reason_display(der, step, boxed=box_last and n == len(steps) - 1)
    return blocks


# ---- section 1 -----------------------------------------------------------------------------------------

def _notation(coupling: Derivation) -> Para:
    k, d = coupling.symbols["k"], sp.Symbol("d")
    x1, x2 = coupling.symbols["x1"], coupling.symbols["x2"]
    return Para(("Throughout, ", Math(sp.Eq(k, d / 2, evaluate=False)), " is the size of each half ",
                 Math(x1.label if hasattr(x1, "label") else x1), " and ", Math(x2.label if hasattr(x2, "label") else x2),
                 ", ", TeX(r"\circ"), " is the element-wise product, ", TeX(r"\det"),
                 " is the determinant and ", TeX(r"\lvert\cdot\rvert"), " the absolute value."))


def _givens(der: Derivation) -> list:
    return [Display(g.lhs, g.rhs) for g in der.givens if "vector notation" not in g.note]


def _q11(der: Derivation) -> Section:
    sec = Section("1.1", "Inverse")
    steps = _steps(der, "1.1")
    solve = [st for st in steps if st.justification.startswith("solve")]
    sec.add(Para(typeset(der.sections[0].text)))
    for st in solve:
        sec.add(*_reason_display(der, st))
    sec.add(Para(("In vector notation (a product with ", TeX(r"e^{-s}"), " is an element-wise division by ",
                  TeX(r"e^{s}"), "):")), _result_display(der, "coupling.inverse", [s for s in steps if s not in solve]))
    return sec


def _q12(der: Derivation) -> Section:
    sec = Section("1.2", "Jacobian")
    steps = _steps(der, "1.2")
    entries = [st for st in steps if isinstance(st.lhs, sp.Derivative)]
    sec.add(Para(typeset(next(s.text for s in der.sections if s.question == "1.2"))))
    for st in entries:
        sec.add(Display(st.lhs, st.rhs, _marks(der, [st])))
    others = [st for st in steps if st not in entries]
    sec.add(Para(("Collected into ", TeX(r"k\times k"), " blocks (rows ", Math(der.symbols["y1"].label), ", ",
                  Math(der.symbols["y2"].label), "; columns ", Math(der.symbols["x1"].label), ", ",
                  Math(der.symbols["x2"].label), "), where ", TeX(r"\operatorname{diag}(v)"),
                  " has ", TeX("v"), " on its diagonal and ", TeX(r"\partial F/\partial x_2"), ", ",
                  TeX(r"\partial G/\partial x_2"), " are the Jacobians of the conditioners:")),
            _result_display(der, "coupling.jacobian", others))
    return sec


def _verdict_blocks(der: Derivation, res) -> list:
    """The volume question: its answer in one line, the steps that decide it, the condition boxed."""
    v: Verdict = res.value
    steps = _steps(der, "1.3", "Volume preservation")
    condition = [st for st in steps if st.lhs == v.condition.lhs and st.rhs == v.condition.rhs]
    answer = {True: "Yes.", False: "Not in general.", None: "Undetermined."}[v.holds]
    blocks = [Para(typeset(v.question) + (f" {answer}",))]
    for st in steps:
        blocks += _reason_display(der, st, boxed=st in condition)
    if not condition:
        blocks += [Para(typeset(v.reason)), Display(v.condition.lhs, v.condition.rhs, boxed=True)]
    return blocks


def _q13(der: Derivation) -> Section:
    sec = Section("1.3", "Determinant and volume preservation")
    det_steps = _steps(der, "1.3", "Determinant")
    sec.add(Para(typeset(next(s.text for s in der.sections if s.question == "1.3"))))
    sec.add(*_chain(der, [st for st in det_steps if st.lhs != der.result("coupling.logdet").lhs][:2]))
    sec.add(_result_display(der, "coupling.det"), _result_display(der, "coupling.logdet"))
    for res in der.results:
        if isinstance(res.value, Verdict):
            sec.add(*_verdict_blocks(der, res))
    shown = {"coupling.inverse", "coupling.jacobian", "coupling.det", "coupling.logdet"}
    for res in der.results:
        if res.name not in shown and not isinstance(res.value, Verdict):
            sec.add(Para(_sentence(typeset(res.description))), _result_display(der, res.name))
    return sec


def section_one(der: Derivation) -> Section:
    sec = Section("1", "Reversible Architectures")
    sec.add(_notation(der), Para(("The block, equation (1):",)), *_givens(der))
    sec.children = [_q11(der), _q12(der), _q13(der)]
    return sec


# ---- section 2 -----------------------------------------------------------------------------------------

def _q21(der: Derivation) -> Section:
    sec = Section("2.1", "The free energy identity")
    chain = _steps(der, "2.1", "The free energy identity")
    sec.add(*_ending_in(der, chain, der.result("vfe.identity")))
    if _has(der, "vfe.conjugate"):
        checks = [label for label, part, _ in _labelled(der) if part.title.startswith("Exact check")]
        sec.add(Para(("The identity is also checked in a conjugate Gaussian model, where both sides are "
                      "integrated in closed form (Appendix A, ", f"{checks[0]}–{checks[-1]}", ").")))
    return sec


def _ending_in(der: Derivation, chain, res) -> list:
    """A chain of rewrites whose last line is the result, boxed in full (lhs = value)."""
    last = chain[-1]
    return _chain(der, chain[:-1]) + [Para(_sentence(typeset(last.justification)) + (", hence",)),
                                      _result_display(der, res.name, [last])]


def _q22(der: Derivation) -> Section:
    sec = Section("2.2", "The KL term is a sum over dimensions")
    sec.add(*_ending_in(der, _steps(der, "2.2"), der.result("kl.sum")))
    return sec


def _worked(der: Derivation, part, done: set) -> list:
    """Every step of a section, each with its reason; a step that derives a result shows the result boxed."""
    finals = {id(st): res for res in der.results if not isinstance(res.value, Verdict)
              for st in _establishing(der, res)[-1:] if st.lhs == res.lhs}
    blocks = []
    for st in part.steps:
        res = finals.get(id(st))
        if res is not None and res.name not in done:
            done.add(res.name)
            blocks += [Para(_sentence(typeset(st.justification))), _result_display(der, res.name)]
        elif res is None:
            blocks += _reason_display(der, st)
    return blocks


def _q23(der: Derivation) -> Section:
    sec = Section("2.3", "Closed form of the KL term")
    parts = [p for p in der.sections if p.question == "2.3"]
    done = {"kl.sum"}
    sec.add(Para(typeset(parts[0].text)))
    general = der.result("kl.gaussian")
    step = _establishing(der, general)[-1]
    sec.add(Para(typeset(step.justification)), Display(general.lhs, general.value, _marks(der, [step])))
    done.add("kl.gaussian")
    closed = der.result("kl.closed_form")
    sec.add(Para(typeset(next(st.justification for st in parts[0].steps if st.rhs == closed.value))),
            _result_display(der, "kl.closed_form"))
    done.add("kl.closed_form")
    for part in parts[1:]:
        sec.add(Para(typeset(part.text))) if part.text else None
        sec.add(*_worked(der, part, done))
    near = [c for c in der.checks if c.name.startswith("KL stable form")][:1]
    if near:
        at = near[0].name[len("KL stable form "):].strip("()")
        sec.add(Para(typeset(f"In floating point at {at}: {near[0].method}; the stable form has relative error ")
                     + (magnitude(near[0].residual) + " there (Appendix B).",)))
    sec.add(*_remaining(der, sec, done))
    return sec


def _remaining(der: Derivation, sec: Section, done: set) -> list:
    """The results of a question not shown yet as themselves (lhs = value)."""
    shown = [(b.lhs, b.rhs) for b in sec.blocks if isinstance(b, Display)]
    return [block for res in der.results if res.name not in done and not isinstance(res.value, Verdict)
            and (res.lhs, res.value) not in shown
            for block in (Para(_sentence(typeset(res.description))), _result_display(der, res.name))]


def _q24(der: Derivation) -> Section:
    sec = Section("2.4", "Stochastic gradient by backpropagation")
    sec.add(Para(("For one dimension ", Math(sp.Symbol("i")), " (the index is dropped below: ",
                  TeX(r"\mu = \mu_i"), ", ", TeX(r"\sigma = \sigma_i"), ", ", TeX(r"\epsilon = \epsilon_i"),
                  ", ", TeX("t = t_i"), "); ", TeX(r"g = (\partial t/\partial \mu, \partial t/\partial \sigma)"),
                  " is the gradient for one draw of ", TeX(r"\epsilon"), ". ") + typeset(der.sections[0].text)
                 + (" The graph and the table of adjoints are in Appendix C.",)))
    for bar, rule, value in der.figures.get("adjoints", [])[1:]:
        steps = [st for st in der.steps if st.lhs == bar]
        sec.add(Display(bar, rule, _marks(der, steps), also=(value,) if value != rule else ()))
    done: set = set()
    summary = der.sections[1]
    for res in der.results:                      # the gradient, its mean and variance: the results only
        if set(map(id, _establishing(der, res))) & set(map(id, summary.steps)):
            done.add(res.name)
            sec.add(Para(_sentence(typeset(res.description))), _result_display(der, res.name))
    for part in der.sections[2:]:
        sec.add(Para((), lead=part.title + "."), *_worked(der, part, done))
    sec.add(*_remaining(der, sec, done))
    return sec


def section_two(by_name: dict) -> Section:
    sec = Section("2", "Variational Free Energy")
    kids = []
    if "vfe" in by_name:
        kids.append(_q21(by_name["vfe"]))
    if "kl" in by_name:
        kids += [_q22(by_name["kl"]), _q23(by_name["kl"])]
    if "reparam" in by_name:
        kids.append(_q24(by_name["reparam"]))
    sec.children = kids
    return sec


def feedback() -> Section:
    return Section("3", "Feedback", [Template("For the author to fill in. These questions ask for your own "
                                              "opinions; nothing here is generated.", FEEDBACK_QUESTIONS)],
                   new_page=True)


# ---- appendix ------------------------------------------------------------------------------------------

def magnitude(value: float) -> str:
    """A residual rounded up so that it reads the same on every machine: "≤ 1e-15", "≤ 3"."""
    from .model import upper_bound

    bound = upper_bound(value)
    if bound is None:
        return "NaN" if value != value else "∞"
    if bound == 0:
        return "0"
    return f"≤ {bound:.0e}".replace("e-0", "e-").replace("e+0", "e") if bound < 1e-3 else f"≤ {bound:g}"


def check_text(step) -> tuple:
    v = step.verification
    if not step.verified:
        return ("unverified: ",) + typeset(v.detail)
    tail = " (exact: residual 0)" if v.method in ("symbolic", "exact") else ""
    if v.residual is not None:
        tail = f" (residual {magnitude(v.residual)}, tolerance {v.tolerance:.0e})"
    return typeset(f"{v.label}: ") + typeset(v.detail) + (tail,)


def verification_log(derivations, number: str) -> Section:
    sec = Section(number, "Verification log", part="appendix", new_page=True)
    sec.add(Para(("Each step of the derivations, in order, with the check that was run on it. A check never "
                  "reuses the computation it checks: both sides are computed by separate routes (a second "
                  "definition, an integration, a generic determinant, a direct differentiation). \u201cproof\u201d "
                  "marks a check of the general case; \u201cchecked at\u201d names the cases computed.",)))
    for der in derivations:
        for label, _, step in _labelled(der):
            sec.add(Para(typeset(step.justification), lead=f"({label})"),
                    Display(step.lhs, step.rhs, chained=step.continues, anchor=Mark(label, step.verified).anchor),
                    Para(check_text(step)))
    return sec


def checks_table(derivations, number: str) -> Section:
    rows = []
    for der in derivations:
        for c in der.checks:
            rows.append((typeset(c.name), typeset(c.method), (magnitude(c.residual),), (f"{c.tolerance:g}",),
                         ("pass" if c.passed else "FAIL",)))
    intro = Para(("Each final formula, evaluated numerically, compared with numerical code written apart from "
                  "the derivation (finite differences, log-determinants by LU factorisation, quadrature, Monte "
                  "Carlo with its standard error, SE). Residuals are rounded up: small ones to their power of ten, "
                  "Monte Carlo ones (differences in standard errors) to one digit.",))
    return Section(number, "Numerical cross-checks", [intro, Table(("check", "compared with", "residual",
                                                                     "tolerance", ""), tuple(rows), "llrrl",
                                                                    (0.34, 0.4, 0.1, 0.08, 0.08))],
                   part="appendix")


def graph_appendix(der: Derivation, number: str) -> Section:
    sec = Section(number, "Computation graph of equations (2)", part="appendix")
    graph, _ = der.figures["graph"]
    sec.add(GraphFigure(graph, ("Computation graph of equations (2); the inputs are in boxes.",)))
    rows = tuple((Math(bar), Math(rule), Math(value)) for bar, rule, value in der.figures.get("adjoints", []))
    sec.add(Para(("The adjoints in reverse order; each collects one chain-rule term per child.",)),
            Table(("adjoint", "chain rule", "value"), rows, "lll"))
    return sec


# ---- the document --------------------------------------------------------------------------------------

def intro() -> list:
    x1, x2, y1, y2 = sp.symbols("x_1 x_2 y_1 y_2")
    return [Para(("Every formula below was derived by SymPy from the definitions in the sheet. The mark ",
                  TeX(r"\checkmark"), " after an equation links to the entry of Appendix A that says how it "
                  "was checked; every final formula was also compared with independent numerical code "
                  "(Appendix B).",)),
            Para(("The sheet's prose says the input ", Math(x1), " is multiplied by ",
                  Math(sp.exp(sp.Function("F")(x2))), "; its equation (1) multiplies by ",
                  Math(sp.exp(sp.Function("G")(x2))), ", and equation (1) is followed here. \u201cFrom ",
                  Math(y2), " and ", Math(y2), "\u201d in 1.1 is read as from ", Math(y1), " and ", Math(y2), ".",))]


def build(derivations, figure=None) -> Document:
    """The writeup of the sheet's ``derivations``; ``figure``: the estimators' variance plot (an Image)."""
    by_name = {d.name: d for d in derivations}
    doc = Document(TITLE, intro())
    if "coupling" in by_name:
        doc.sections.append(section_one(by_name["coupling"]))
    doc.sections += [section_two(by_name), feedback(), verification_log(derivations, "A"),
                     checks_table(derivations, "B")]
    if "reparam" in by_name and "graph" in by_name["reparam"].figures:
        doc.sections.append(graph_appendix(by_name["reparam"], "C"))
    if "estimators" in by_name:  # beyond the sheet
        from .estimator_document import estimator_section

        doc.sections.append(estimator_section(by_name["estimators"], figure, "D", part="appendix"))
    return doc
