"""What the LaTeX, Markdown and HTML renderers of the writeup share: the LaTeX of a displayed
equation and of a piece of prose mathematics, prose assembled piece by piece, the dispatch of a
block to the renderer's own function, and a graph node's glyph."""
from __future__ import annotations

from ..document import Display, Math, TeX
from .printing import latex


def equation(d: Display, boxed: bool | None = None) -> str:
    """``lhs = rhs = also...`` (``= rhs`` when chained) in LaTeX, boxed as the display says unless told."""
    body = f"{d.relation} {latex(d.rhs)}" if d.chained else f"{latex(d.lhs)} {d.relation} {latex(d.rhs)}"
    body += "".join(f" = {latex(x)}" for x in d.also)
    return rf"\boxed{{{body}}}" if (d.boxed if boxed is None else boxed) else body


def inline(parts, math, text) -> str:
    """Prose as one string: each piece of mathematics through ``math`` (given its LaTeX), words through ``text``."""
    out = []
    for piece in parts:
        if isinstance(piece, Math):
            out.append(math(latex(piece.expr)))
        elif isinstance(piece, TeX):
            out.append(math(piece.latex))
        else:
            out.append(text(piece))
    return "".join(out)


def block(b, handlers: dict) -> str:
    """A block of the document through the renderer's function for its kind."""
    for kind, handler in handlers.items():
        if isinstance(b, kind):
            return handler(b)
    raise TypeError(f"no renderer for {type(b).__name__}")


def glyph(node) -> str:
    """A graph node's name as a reader sees it: μ for \\mu."""
    from .prose import GREEK

    return {tex: uni for uni, tex in GREEK.items()}.get(node.latex, node.latex)
