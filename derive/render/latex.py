"""The LaTeX renderer: the writeup (:mod:`derive.answer`) as a complete article.

Every formula is printed from its SymPy object by SymPy's LaTeX printer
(:mod:`derive.render.printing`); prose mathematics is inline math.  Wide
equations are scaled to fit the line (adjustbox); the mark after an equation
links (hyperref) to the appendix entry that says how it was checked.
"""
from __future__ import annotations

import re

from ..document import Display, Document, GraphFigure, Image, Para, Section, Table, Template
from . import shared

PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{adjustbox}
\usepackage{booktabs,longtable,array}
\usepackage{tikz}
\usepackage{graphicx}
\usepackage{xcolor}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage[colorlinks=true,linkcolor=green!40!black,urlcolor=blue]{hyperref}
\allowdisplaybreaks
\DeclareUnicodeCharacter{1D40}{\ensuremath{^{\mathsf{T}}}}
\DeclareUnicodeCharacter{2113}{\ensuremath{\ell}}
\DeclareUnicodeCharacter{21A6}{\ensuremath{\mapsto}}
\DeclareUnicodeCharacter{00B1}{\ensuremath{\pm}}
\DeclareUnicodeCharacter{00B3}{\ensuremath{^{3}}}
\DeclareUnicodeCharacter{00B2}{\ensuremath{^{2}}}
\setlength{\parindent}{0pt}
\setlength{\parskip}{3pt}
\newcommand{\checkmarkref}[2]{\hyperlink{#1}{\textcolor{green!40!black}{\checkmark\,#2}}}
\newcommand{\unverifiedref}[2]{\hyperlink{#1}{\textcolor{red}{\textbf{unverified}\,#2}}}
"""

_GREEK = {"μ": r"\mu", "σ": r"\sigma", "ε": r"\epsilon", "τ": r"\tau", "δ": r"\delta", "λ": r"\lambda"}
_SYMBOLS = {"∘": r"$\circ$", **{g: f"${tex}$" for g, tex in _GREEK.items()}, "∂": r"$\partial$", "≠": r"$\neq$",
            "→": r"$\to$", "×": r"$\times$", "∫": r"$\int$", "²": r"$^2$", "−": "-", "≡": r"$\equiv$",
            "≤": r"$\leq$", "√": r"$\surd$", "≥": r"$\geq$", "✓": r"$\checkmark$", "…": r"\dots{}"}


def esc(text: str) -> str:
    """Escape plain text for LaTeX."""
    table = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
             "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    out = "".join(table.get(ch, ch) for ch in text)
    out = re.sub("(.)\u0304", lambda m: rf"$\bar{{{_GREEK.get(m[1], m[1])}}}$", out)  # t̄, μ̄: an adjoint's bar
    for uni, tex in _SYMBOLS.items():
        out = out.replace(uni, tex)
    return out


def inline(parts) -> str:
    return shared.inline(parts, lambda tex: f"${tex}$", esc)


def _marks(d: Display) -> str:
    return r"\,".join((r"\checkmarkref" if m.verified else r"\unverifiedref") + f"{{{m.anchor}}}{{{m.label}}}"
                      for m in d.marks)


def display(d: Display) -> str:
    target = rf"\hypertarget{{{d.anchor}}}{{}}" if d.anchor else ""
    eq = r"\adjustbox{max width=0.84\linewidth}{$\displaystyle " + shared.equation(d) + "$}"
    marks = rf"\makebox[0pt][r]{{\footnotesize {_marks(d)}}}" if d.marks else ""
    return (rf"{target}\par\smallskip\noindent\makebox[\linewidth]{{\hfill{eq}\hfill{marks}}}\par\smallskip" + "\n")


def table(t: Table) -> str:
    total = 0.86
    cols = "".join(rf">{{\raggedright\arraybackslash}}p{{{w * total:.2f}\linewidth}}" for w in t.widths) \
        if t.widths else t.align
    rows = [rf"{{\small\begin{{longtable}}{{{cols}}}", r"\toprule " + " & ".join(esc(h) for h in t.header) + r" \\",
            r"\midrule\endhead"]
    for row in t.rows:
        cells = [inline(cell if isinstance(cell, tuple) else (cell,)) for cell in row]
        if not t.widths:
            cells = [rf"$\displaystyle {c[1:-1]}$" if c.startswith("$") and c.endswith("$") else c for c in cells]
        rows.append(" & ".join(cells) + r" \\[4pt]")
    rows += [r"\bottomrule", r"\end{longtable}}"]
    return "\n".join(rows) + "\n"


def figure(f: GraphFigure) -> str:
    from .graph import to_tikz

    return (r"\begin{figure}[h]\centering" + "\n" + to_tikz(f.graph) + rf"\caption{{{inline(f.caption)}}}"
            + r"\end{figure}" + "\n")


def template(t: Template) -> str:
    items = "\n".join(rf"\item {esc(q)}\\[3em]" for q in t.questions)
    return (rf"\noindent\fbox{{\parbox{{0.95\linewidth}}{{\textbf{{{esc(t.notice)}}}}}}}" + "\n"
            + r"\begin{enumerate}" + "\n" + items + "\n" + r"\end{enumerate}" + "\n")


def para(b: Para) -> str:
    lead = rf"\textbf{{{esc(b.lead)}}} " if b.lead else ""
    return lead + inline(b.parts) + r"\par\nopagebreak" + "\n"


def image(f: Image) -> str:
    """The PNG, written beside the .tex under its name (:func:`derive.writeup.compile_pdf` copies it)."""
    return (r"\begin{figure}[h]\centering" + "\n" + rf"\includegraphics[width=\linewidth]{{{f.name}}}" + "\n"
            + rf"\caption{{{inline(f.caption)}}}" + r"\end{figure}" + "\n")


def block(b) -> str:
    return shared.block(b, {Para: para, Display: display, Table: table, GraphFigure: figure, Image: image, Template: template})


def section(sec: Section, depth: int) -> str:
    command = ("section", "subsection", "subsubsection")[min(depth, 2)]
    out = [r"\clearpage" if sec.new_page else "",
           rf"\{command}*{{{sec.number}\quad {esc(sec.title)}}}\label{{{sec.anchor}}}"]
    out += [block(b) for b in sec.blocks]
    out += [section(child, depth + 1) for child in sec.children]
    return "\n".join(x for x in out if x) + "\n"


def render(doc: Document) -> str:
    parts = [PREAMBLE, rf"\title{{{esc(doc.title)}}}", r"\author{}", r"\date{}", r"\begin{document}", r"\maketitle",
             r"\vspace{-3em}"]
    parts += [block(b) for b in doc.intro]
    parts += [section(sec, 0) for sec in doc.sections]
    parts.append(r"\end{document}" + "\n")
    return "\n".join(parts)


def render_document(derivations) -> str:
    from ..answer import build

    return render(build(derivations))
