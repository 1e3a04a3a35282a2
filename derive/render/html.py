"""The HTML renderer: the writeup (:mod:`derive.answer`) as one self-contained page.

Mathematics is MathML, converted from SymPy's LaTeX by ``latex2mathml``, so
the page needs no script, font or network: a browser with MathML support
(Chromium, Firefox, Safari) typesets it as it is.  The computation graph is
an inline SVG.
"""
from __future__ import annotations

import html as _html

from ..document import Display, Document, GraphFigure, Image, Para, Section, Table, Template
from . import shared

STYLE = """
body { font-family: "Latin Modern Roman", "CMU Serif", Georgia, serif; max-width: 50rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.45; color: #111; }
h1 { text-align: center; font-weight: normal; }
h2, h3 { margin-top: 1.6em; }
.eq { display: flex; align-items: center; margin: 0.5em 0; }
.eq .body { flex: 1; overflow-x: auto; overflow-y: hidden; text-align: center; padding: 2px 0; }
.eq .marks { font-size: 0.8em; white-space: nowrap; margin-left: 0.8em; }
.boxed { display: inline-block; border: 1px solid #333; padding: 0.3em 0.6em; }
a.ok { color: #2b6e2b; text-decoration: none; }
a.bad { color: #b00; font-weight: bold; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
.template { border: 1px solid #333; padding: 0.5em 1em; font-weight: bold; }
.appendix { border-top: 2px solid #999; }
math[display="block"] { display: block math; }
"""


def mathml(tex: str, block: bool = False) -> str:
    from latex2mathml.converter import convert

    return convert(tex, display="block" if block else "inline")


def inline(parts) -> str:
    return shared.inline(parts, mathml, _html.escape)


def display(d: Display) -> str:
    math = mathml(shared.equation(d, boxed=False), block=True)  # the box is drawn by the page's style
    if d.boxed:
        math = f'<span class="boxed">{math}</span>'
    marks = " ".join(f'<a class="{"ok" if m.verified else "bad"}" href="#{m.anchor}">'
                     f'{"✓" if m.verified else "✗ unverified"} {m.label}</a>' for m in d.marks)
    anchor = f' id="{d.anchor}"' if d.anchor else ""
    return f'<div class="eq"{anchor}><div class="body">{math}</div><div class="marks">{marks}</div></div>\n'


def table(t: Table) -> str:
    head = "".join(f"<th>{_html.escape(h)}</th>" for h in t.header)
    rows = "".join("<tr>" + "".join(f"<td>{inline(c if isinstance(c, tuple) else (c,))}</td>" for c in row)
                   + "</tr>\n" for row in t.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{rows}</tbody></table>\n"


def figure(f: GraphFigure) -> str:
    """The graph as SVG: inputs in the first column, each node one column right of its last parent."""
    depth, place, rows = {}, {}, {}
    for n in f.graph.nodes.values():
        depth[n.name] = 0 if not n.parents else 1 + max(depth[p] for p in n.parents)
        rows[depth[n.name]] = rows.get(depth[n.name], -1) + 1
        place[n.name] = (50 + 120 * depth[n.name], 40 + 70 * rows[depth[n.name]])
    width, height = 100 + 120 * max(depth.values()), 80 + 70 * max(rows.values())
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
             'orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    for n in f.graph.nodes.values():
        for p in n.parents:
            (x1, y1), (x2, y2) = place[p], place[n.name]
            parts.append(f'<line x1="{x1 + 22}" y1="{y1}" x2="{x2 - 22}" y2="{y2}" stroke="#333" '
                         'marker-end="url(#arrow)"/>')
    for n in f.graph.nodes.values():
        x, y = place[n.name]
        shape = (f'<rect x="{x - 20}" y="{y - 20}" width="40" height="40" fill="white" stroke="#333"/>'
                 if n.expr is None else f'<circle cx="{x}" cy="{y}" r="20" fill="white" stroke="#333"/>')
        label = _html.escape(shared.glyph(n))
        parts.append(f'{shape}<text x="{x}" y="{y + 6}" text-anchor="middle" font-style="italic" '
                     f'font-size="18">{label}</text>')
    parts.append("</svg>")
    return f"<figure>{''.join(parts)}<figcaption>{inline(f.caption)}</figcaption></figure>\n"


def template(t: Template) -> str:
    items = "".join(f"<li>{_html.escape(q)}<br><br></li>" for q in t.questions)
    return f'<p class="template">{_html.escape(t.notice)}</p><ol>{items}</ol>\n'


def para(b: Para) -> str:
    lead = f"<strong>{_html.escape(b.lead)}</strong> " if b.lead else ""
    return f"<p>{lead}{inline(b.parts)}</p>\n"


def image(f: Image) -> str:
    """The PNG embedded as a data URI: the page stands alone."""
    import base64

    data = base64.b64encode(f.data).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_html.escape(f.name)}" style="max-width:100%">'
            f"<figcaption>{inline(f.caption)}</figcaption></figure>\n")


def block(b) -> str:
    return shared.block(b, {Para: para, Display: display, Table: table, GraphFigure: figure, Image: image, Template: template})


def section(sec: Section, depth: int) -> str:
    tag = f"h{min(depth + 2, 4)}"
    cls = ' class="appendix"' if sec.part == "appendix" and depth == 0 else ""
    out = [f'<section id="{sec.anchor}"{cls}><{tag}>{sec.number} {_html.escape(sec.title)}</{tag}>\n']
    out += [block(b) for b in sec.blocks]
    out += [section(child, depth + 1) for child in sec.children]
    out.append("</section>\n")
    return "".join(out)


def render(doc: Document) -> str:
    body = [f"<h1>{_html.escape(doc.title)}</h1>\n"] + [block(b) for b in doc.intro]
    body += [section(s, 0) for s in doc.sections]
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_html.escape(doc.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            + "".join(body) + "</body>\n</html>\n")


def render_document(derivations) -> str:
    from ..answer import build

    return render(build(derivations))
