"""SymPy printers tuned for the project's notation.

Indexed entries print as x_{1,i} (LaTeX) and x₁,ᵢ (pretty) rather than
SymPy's ``{x_{1}}_{i}`` and ``x_1[i]``; everything else is SymPy's own printer.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.str import StrPrinter


def _split(name: str):
    head, _, sub = name.partition("_")
    return head, sub


_DOUBLE_INDEX = re.compile(r"^([A-Za-z]+)_(\d+)_(\d+)$")


class DeriveLatexPrinter(LatexPrinter):
    def _print_Symbol(self, expr, style="plain"):
        match = _DOUBLE_INDEX.match(expr.name)
        if match:  # explicit components x_1_3 -> x_{1,3}
            return f"{match.group(1)}_{{{match.group(2)},{match.group(3)}}}"
        return super()._print_Symbol(expr, style=style)

    def _print_Indexed(self, expr):
        head, sub = _split(expr.base.name)
        idx = ",".join(self._print(i) for i in expr.indices)
        return f"{head}_{{{sub + ',' if sub else ''}{idx}}}"

    def _print_IndexedBase(self, expr):
        head, sub = _split(expr.name)
        return f"{head}_{{{sub}}}" if sub else head

    def _print_Derivative(self, expr):
        # a derivative of a named quantity (a graph node, an indexed entry) is always partial here
        if len(expr.variables) == 1 and isinstance(expr.expr, (sp.Symbol, sp.Indexed)):
            return (rf"\frac{{\partial {self._print(expr.expr)}}}{{\partial {self._print(expr.variables[0])}}}")
        return super()._print_Derivative(expr)


class DerivePrettyPrinter(PrettyPrinter):
    def _print_Indexed(self, expr):
        head, sub = _split(expr.base.name)
        idx = ",".join(StrPrinter().doprint(i) for i in expr.indices)
        return self._print(sp.Symbol(f"{head}_{sub + ',' if sub else ''}{idx}"))

    def _print_IndexedBase(self, expr):
        return self._print(sp.Symbol(expr.name))


class DeriveStrPrinter(StrPrinter):
    def _print_Indexed(self, expr):
        head, sub = _split(expr.base.name)
        idx = ",".join(self._print(i) for i in expr.indices)
        return f"{head}{sub}[{idx}]"


def latex(expr) -> str:
    return DeriveLatexPrinter({"mat_delim": "("}).doprint(expr)


def pretty(expr, width: int = 100) -> str:
    return DerivePrettyPrinter({"use_unicode": True, "wrap_line": True, "num_columns": width}).doprint(expr)


def text(expr) -> str:
    return DeriveStrPrinter().doprint(expr)
