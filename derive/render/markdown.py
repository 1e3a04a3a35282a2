"""The Markdown renderer: the same content with $...$ / $$...$$ math."""
from __future__ import annotations

from ..model import Derivation, Verdict
from .printing import latex


def _eq(lhs, rhs, chained: bool = False) -> str:
    body = f"= {latex(rhs)}" if chained else f"{latex(lhs)} = {latex(rhs)}"
    return f"$$\n{body}\n$$\n"


def render_derivation(der: Derivation) -> str:
    out = [f"## {der.title}", "", der.summary, "", "**Given**", ""]
    for g in der.givens:
        out += [_eq(g.lhs, g.rhs), f"*{g.note}*", ""]
    for sec, rows in der.numbered():
        out += [f"### {sec.question} {sec.title}", "", sec.text, ""]
        for label, step in rows:
            v = step.verification
            mark = f"✓ verified ({v.label}): {v.detail}" if step.verified else f"✗ **UNVERIFIED**: {v.detail}"
            out += [f"**({label})** {step.justification}", "", _eq(step.lhs, step.rhs, step.continues), mark, ""]
    if "adjoints" in der.figures:
        out += ["**Adjoint table** (reverse order; each adjoint collects one chain-rule term per child)", "",
                "| adjoint | chain rule | value |", "| --- | --- | --- |"]
        out += [f"| ${latex(b)}$ | ${latex(r)}$ | ${latex(v)}$ |" for b, r, v in der.figures["adjoints"]]
        out.append("")
    if "graph" in der.figures:
        from .graph import to_dot

        out += ["Computation graph (Graphviz DOT):", "", "```dot", to_dot(der.figures["graph"][0]).rstrip(), "```", ""]
    out += ["### Results", ""]
    for res in der.results:
        out += [f"`{res.name}`: {res.description}", ""]
        if isinstance(res.value, Verdict):
            v = res.value
            out += [f"**{v.question}** **{v.answer}**. {v.reason}", "", _eq(v.condition.lhs, v.condition.rhs)]
            out += [f"- {k}: {val}" for k, val in v.evidence.items()] + [""]
        else:
            out.append(_eq(res.lhs, res.value))
    return "\n".join(out) + "\n"


def render_document(derivations) -> str:
    out = ["# Deep Learning Homework 4: reversible blocks and variational free energy", "",
           "Every formula was derived by SymPy from the definitions, every step checked by machine, "
           "every result compared with independent numpy code (table at the end). Where the sheet's prose differs "
           "from its equation (1) (the prose multiplies by exp(F(x2))), equation (1) is followed.", ""]
    for der in derivations:
        out.append(render_derivation(der))
    out += ["## 3 Feedback", "", "> **For the author to fill in.** These questions ask for your own opinions; "
            "nothing here is generated.", "",
            "1. What aspects of the written and programming homeworks did you enjoy for this course?",
            "2. What aspects of the written and programming homeworks did you hate for this course?",
            "3. Suggestions for what you would like to modify in the homeworks.",
            "4. Suggestions for course content/lecture slides and topics.", "",
            "## Numeric cross-checks", "", "| check | compared with | residual | tolerance | pass |",
            "| --- | --- | --- | --- | --- |"]
    for der in derivations:
        for c in der.checks:
            out.append(f"| {c.name} | {c.method.replace('|', '&#124;')} | {c.residual:.2e} | {c.tolerance:.0e} | "
                       f"{'pass' if c.passed else '**FAIL**'} |")
    return "\n".join(out) + "\n"
