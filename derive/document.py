"""The writeup as data: sections of prose, displayed equations, tables and figures.

The document knows nothing about formats.  :mod:`derive.answer` builds one
from the derivations (every formula in it is a SymPy object taken from them);
the renderers in :mod:`derive.render` (LaTeX, Markdown, HTML) each print the
same document.  Prose is a tuple of plain strings and :class:`Math` pieces,
so that every piece of mathematics in a sentence is typeset by the format's
own means, never written as ASCII.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class Math:
    """Inline mathematics: a SymPy object (printed by the format's printer)."""

    expr: Any


@dataclass(frozen=True)
class TeX:
    """Inline mathematics already in LaTeX: a step's own wording, typeset by :mod:`derive.render.prose`."""

    latex: str


Piece = Union[str, Math, TeX]
Prose = tuple  # of Piece


@dataclass(frozen=True)
class Mark:
    """A reference from an equation to the appendix entry that says how it was checked."""

    label: str
    verified: bool

    @property
    def anchor(self) -> str:
        return "v-" + self.label.replace(".", "-")


@dataclass(frozen=True)
class Para:
    parts: Prose
    #: a one-line statement of what the next equations do, set in bold where the format can
    lead: str | None = None


@dataclass(frozen=True)
class Display:
    """A displayed ``lhs = rhs`` (or ``= rhs`` when ``chained``), boxed when it is a final answer."""

    lhs: Any
    rhs: Any
    marks: tuple = ()
    boxed: bool = False
    chained: bool = False
    #: set on the appendix's entries: the target the marks point to
    anchor: str | None = None
    relation: str = "="
    #: further right-hand sides on the same line: lhs = rhs = also[0] = ...
    also: tuple = ()


@dataclass(frozen=True)
class Table:
    """A table: ``header`` of strings, ``rows`` of cells (each a :data:`Prose` tuple)."""

    header: tuple
    rows: tuple
    #: column alignment, one letter per column (l, r, c), and relative widths for wrapped columns
    align: str = ""
    widths: tuple = ()


@dataclass(frozen=True)
class GraphFigure:
    """The computation graph of equations (2), drawn by each format."""

    graph: Any
    caption: Prose


@dataclass(frozen=True)
class Image:
    """A figure drawn from the derivations' results (a PNG made by :mod:`derive.estimator_figure`): ``name`` is
    the file written beside the document, ``data`` its bytes."""

    name: str
    data: bytes
    caption: Prose


@dataclass(frozen=True)
class Template:
    """A part for the author to fill in: a notice and numbered questions, nothing generated."""

    notice: str
    questions: tuple


Block = Union[Para, Display, Table, GraphFigure, Image, Template]


@dataclass
class Section:
    number: str
    title: str
    blocks: list = field(default_factory=list)
    children: list = field(default_factory=list)
    #: "answer" (sections 1-3) or "appendix"
    part: str = "answer"
    #: start on a new page where the format has pages
    new_page: bool = False

    @property
    def anchor(self) -> str:
        return "s-" + self.number.replace(".", "-")

    def add(self, *blocks) -> "Section":
        self.blocks.extend(blocks)
        return self


@dataclass
class Document:
    title: str
    intro: list = field(default_factory=list)
    sections: list = field(default_factory=list)

    def walk(self):
        """(depth, section) for every section and subsection, in order."""
        def visit(sec, depth):
            yield depth, sec
            for child in sec.children:
                yield from visit(child, depth + 1)
        for sec in self.sections:
            yield from visit(sec, 0)
