"""The LaTeX renderer: a complete article answering the seed's questions.

Every formula comes from the derivation objects through SymPy's LaTeX
printer; the text around them is a fixed template.  Wide equations are
scaled to the line width (adjustbox), so nothing runs off the page.
"""
from __future__ import annotations

import re

from ..model import Derivation, Verdict
from .printing import latex

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{adjustbox}
\usepackage{booktabs,longtable}
\usepackage{tikz}
\usepackage{xcolor}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\allowdisplaybreaks
\newcommand{\verified}[1]{\textcolor{green!50!black}{\checkmark~verified (#1)}}
\newcommand{\unverified}[1]{\textcolor{red}{\textbf{UNVERIFIED}: #1}}
\title{Deep Learning Homework 4: reversible blocks and variational free energy}
\author{\textit{(author)}}
\date{}
\begin{document}
\maketitle
\noindent Every formula below was derived by SymPy from the definitions in the problem, every step was
checked by machine (the method is named beside it), and every final result was compared with independent
numpy code (Appendix~\ref{app:checks}). Where the sheet's prose differs from its equation (1) (the prose
multiplies by $\exp(F(x_2))$), equation (1) is followed.
"""


_GREEK = {"μ": r"\mu", "σ": r"\sigma", "ε": r"\epsilon", "τ": r"\tau", "δ": r"\delta", "λ": r"\lambda"}
_SYMBOLS = {"∘": r"$\circ$", **{g: f"${tex}$" for g, tex in _GREEK.items()}, "∂": r"$\partial$", "≠": r"$\neq$",
            "→": r"$\to$", "×": r"$\times$", "∫": r"$\int$", "²": r"$^2$", "−": "-", "≡": r"$\equiv$",
            "≤": r"$\leq$", "√": r"$\surd$", "≥": r"$\geq$"}


def esc(text: str) -> str:
    """Escape plain text for LaTeX."""
    table = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
             "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    out = "".join(table.get(ch, ch) for ch in text)
    out = re.sub("(.)\u0304", lambda m: rf"$\bar{{{_GREEK.get(m[1], m[1])}}}$", out)  # t̄, μ̄: an adjoint's bar
    for uni, tex in _SYMBOLS.items():
        out = out.replace(uni, tex)
    return out


def equation(lhs, rhs, boxed: bool = False, chained: bool = False) -> str:
    """A displayed ``lhs = rhs``; ``chained``: the lhs is the previous line's rhs and is left out."""
    body = f"= {latex(rhs)}" if chained else f"{latex(lhs)} = {latex(rhs)}"
    if boxed:
        body = rf"\boxed{{{body}}}"
    return ("\\begin{center}\\adjustbox{max width=\\linewidth}{$\\displaystyle " + body + "$}\\end{center}\n")


def _mark(step) -> str:
    v = step.verification
    if step.verified:
        return rf"\verified{{{esc(v.label)}: {esc(v.detail)}}}"
    return rf"\unverified{{{esc(v.detail)}}}"


def _verdict(v: Verdict) -> str:
    lines = [rf"\noindent\textbf{{{esc(v.question)}}} \textbf{{{v.answer}}}. {esc(v.reason)}", "",
             r"\noindent Condition for volume preservation:", equation(v.condition.lhs, v.condition.rhs)]
    if v.evidence:
        lines.append(r"\begin{itemize}")
        for key, value in v.evidence.items():
            lines.append(rf"\item {esc(str(key))}: {esc(str(value))}")
        lines.append(r"\end{itemize}")
    return "\n".join(lines) + "\n"


def derivation_body(der: Derivation) -> str:
    out = [esc(der.summary), "", r"\paragraph{Given.}"]
    for g in der.givens:
        out.append(equation(g.lhs, g.rhs) + rf"\noindent\textit{{{esc(g.note)}}}" + "\n")
    for sec, rows in der.numbered():
        out.append(rf"\subsection*{{{sec.question}\quad {esc(sec.title)}}}")
        if sec.text:
            out.append(esc(sec.text) + "\n")
        for label, step in rows:
            out.append(rf"\noindent\textbf{{({label})}} {esc(step.justification)}")
            out.append(equation(step.lhs, step.rhs, chained=step.continues))
            out.append(r"\noindent{\small " + _mark(step) + "}\n")
    if "adjoints" in der.figures:
        out.append(r"\paragraph{Adjoint table.} Reverse order; each adjoint collects one chain-rule term per child.")
        out.append(r"\begin{center}\renewcommand{\arraystretch}{2.2}\adjustbox{max width=\linewidth}{$\begin{array}{lll}"
                   r"\text{adjoint} & \text{chain rule} & \text{value}\\ \hline")
        for bar, rule, value in der.figures["adjoints"]:
            out.append(rf"\displaystyle {latex(bar)} & \displaystyle {latex(rule)} & \displaystyle {latex(value)}\\")
        out.append(r"\end{array}$}\end{center}" + "\n")
    if "graph" in der.figures:
        from .graph import to_tikz

        out.append(r"\begin{figure}[h]\centering" + "\n" + to_tikz(der.figures["graph"][0])
                   + r"\caption{Computation graph of equations (2): inputs in boxes.}\end{figure}" + "\n")
    out.append(r"\subsection*{Results}")
    for res in der.results:
        out.append(rf"\noindent\texttt{{{esc(res.name)}}}: {esc(res.description)}")
        out.append(_verdict(res.value) if isinstance(res.value, Verdict) else equation(res.lhs, res.value, boxed=True))
    return "\n".join(out) + "\n"


SECTIONS = [("coupling", "1 Reversible architectures (1.1 inverse, 1.2 Jacobian, 1.3 determinant and volume)"),
            ("vfe", "2.1 The free energy identity"),
            ("kl", "2.2 and 2.3 The KL of factorised Gaussians and its closed form"),
            ("reparam", "2.4 The reparameterisation gradient by backpropagation")]

FEEDBACK = r"""\section*{3 Feedback}
\noindent\fbox{\parbox{0.95\linewidth}{\textbf{For the author to fill in.} These questions ask for your own
opinions; nothing here is generated.}}
\begin{enumerate}
\item What aspects of the written and programming homeworks did you enjoy for this course?\\[3em]
\item What aspects of the written and programming homeworks did you hate for this course?\\[3em]
\item Suggestions for what you would like to modify in the homeworks.\\[3em]
\item Suggestions for course content/lecture slides and topics.\\[3em]
\end{enumerate}
"""


def checks_appendix(derivations) -> str:
    rows = [r"\appendix", r"\section{Numeric cross-checks}\label{app:checks}",
            r"{\small\begin{longtable}{p{5.2cm}p{6.2cm}rrl}", r"\toprule check & compared with & residual & tolerance & \\",
            r"\midrule"]
    for der in derivations:
        for c in der.checks:
            rows.append(rf"{esc(c.name)} & {esc(c.method)} & {c.residual:.2e} & {c.tolerance:.0e} & "
                        + ("pass" if c.passed else r"\textbf{FAIL}") + r" \\")
    rows += [r"\bottomrule", r"\end{longtable}}"]
    return "\n".join(rows) + "\n"


def render_document(derivations) -> str:
    by_name = {d.name: d for d in derivations}
    parts = [PREAMBLE]
    for name, title in SECTIONS:
        if name in by_name:
            parts.append(rf"\section*{{{esc(title)}}}")
            parts.append(derivation_body(by_name[name]))
    parts.append(FEEDBACK)
    parts.append(checks_appendix(derivations))
    parts.append(r"\end{document}" + "\n")
    return "\n".join(parts)
