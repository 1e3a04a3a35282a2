"""Renderers: one per output format, all fed by the same derivation model.

Importing the package gives :class:`~derive.model.Derivation` its notebook view:
Jupyter shows a derivation as its Markdown rendering (:func:`derive.render.markdown.render_derivation`).
"""
from ..model import Derivation


def _repr_markdown_(der: Derivation) -> str:
    """A derivation as Jupyter shows it: its Markdown rendering."""
    from .markdown import render_derivation

    return render_derivation(der)


Derivation._repr_markdown_ = _repr_markdown_
