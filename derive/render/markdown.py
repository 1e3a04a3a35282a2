"""The Markdown renderer: the writeup (:mod:`derive.answer`) with $...$ / $$...$$ math.

Each displayed equation is followed by its marks, links to the appendix
entries (``<a id="v-1-1-2">``) that say how it was checked; the computation
graph is a Mermaid diagram.
"""
from __future__ import annotations

from ..document import Display, Document, GraphFigure, Image, Para, Section, Table, Template
from ..model import Derivation
from . import shared


def inline(parts) -> str:
    return shared.inline(parts, lambda tex: f"${tex}$",
                         lambda words: words.replace("*", r"\*").replace("|", "&#124;").replace("<", "&lt;"))


def display(d: Display) -> str:
    out = [f'<a id="{d.anchor}"></a>', ""] if d.anchor else []
    out += ["$$", shared.equation(d), "$$", ""]
    if d.marks:
        out += [" ".join(f"[{'✓' if m.verified else '✗ unverified'} {m.label}](#{m.anchor})" for m in d.marks), ""]
    return "\n".join(out)


def table(t: Table) -> str:
    rows = ["| " + " | ".join(t.header) + " |", "| " + " | ".join("---" for _ in t.header) + " |"]
    for row in t.rows:
        rows.append("| " + " | ".join(inline(c if isinstance(c, tuple) else (c,)) for c in row) + " |")
    return "\n".join(rows) + "\n"


def figure(f: GraphFigure) -> str:
    lines = ["```mermaid", "graph LR"]
    for n in f.graph.nodes.values():
        shape = f'{n.name}["{shared.glyph(n)}"]' if n.expr is None else f'{n.name}(("{shared.glyph(n)}"))'
        lines.append(f"  {shape}")
    for n in f.graph.nodes.values():
        lines += [f"  {p} --> {n.name}" for p in n.parents]
    return "\n".join(lines + ["```", "", f"*{inline(f.caption)}*", ""])


def template(t: Template) -> str:
    return "\n".join([f"> **{t.notice}**", ""] + [f"{n}. {q}" for n, q in enumerate(t.questions, 1)]) + "\n"


def para(b: Para) -> str:
    lead = f"**{b.lead}** " if b.lead else ""
    return lead + inline(b.parts) + "\n"


def image(f: Image) -> str:
    """The PNG by its file name (written beside the document)."""
    return f"![{inline(f.caption)}]({f.name})\n\n*{inline(f.caption)}*\n"


def block(b) -> str:
    return shared.block(b, {Para: para, Display: display, Table: table, GraphFigure: figure, Image: image, Template: template})


def section(sec: Section, depth: int) -> str:
    out = [f"{'#' * (depth + 2)} {sec.number} {sec.title}", ""]
    out += [block(b) for b in sec.blocks]
    out += [section(child, depth + 1) for child in sec.children]
    return "\n".join(out)


def render(doc: Document) -> str:
    out = [f"# {doc.title}", ""] + [block(b) for b in doc.intro] + [section(s, 0) for s in doc.sections]
    return "\n".join(out).rstrip("\n") + "\n"


def render_document(derivations) -> str:
    from ..answer import build

    return render(build(derivations))


def render_derivation(der: Derivation) -> str:
    """One derivation as Markdown (a notebook's view of it): its log, step by step."""
    from ..answer import verification_log

    log = verification_log([der], der.name)
    log.title = der.title
    return section(log, 0)
