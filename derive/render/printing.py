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

    def _vector_call(self, expr):
        """F_1(x_2_1, ..., x_2_k) -> 'F_{1}', 'x_{2}' when the arguments are all of one vector."""
        from sympy.core.function import AppliedUndef

        if not isinstance(expr, AppliedUndef) or len(expr.args) < 2:
            return None
        heads = {_DOUBLE_INDEX.match(a.name).group(1, 2) if isinstance(a, sp.Symbol) and _DOUBLE_INDEX.match(a.name)
                 else None for a in expr.args}
        if len(heads) != 1 or None in heads:
            return None
        (head, sub), = heads
        return self._print(sp.Symbol(expr.func.__name__)), f"{head}_{{{sub}}}"

    def _print_Function(self, expr, exp=None):
        parts = self._vector_call(expr)
        if parts is not None:  # a function of a whole vector: G_1(x_2)
            out = rf"{parts[0]}\left({parts[1]}\right)"
            return rf"{out}^{{{exp}}}" if exp else out
        return super()._print_Function(expr, exp=exp)

    def _print_Derivative(self, expr):
        parts = self._vector_call(expr.expr)
        if parts is not None and len(expr.variables) == 1:
            return rf"\frac{{\partial {parts[0]}}}{{\partial {self._print(expr.variables[0])}}}"
        # a derivative of a named quantity (a graph node, an indexed entry) is always partial here
        if len(expr.variables) == 1 and isinstance(expr.expr, (sp.Symbol, sp.Indexed)):
            return (rf"\frac{{\partial {self._print(expr.expr)}}}{{\partial {self._print(expr.variables[0])}}}")
        return super()._print_Derivative(expr)


_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


class DerivePrettyPrinter(PrettyPrinter):
    def _print_Symbol(self, expr, bold_name=False):
        match = _DOUBLE_INDEX.match(expr.name)
        if match and self._use_unicode:  # explicit components x_1_3 -> x₁,₃
            from sympy.printing.pretty.stringpict import prettyForm

            head, a, b = match.groups()
            return prettyForm(f"{head}{a.translate(_SUBSCRIPT)},{b.translate(_SUBSCRIPT)}")
        return super()._print_Symbol(expr, bold_name)
    def _print_Derivative(self, expr):
        if len(expr.variables) == 1 and isinstance(expr.expr, sp.Symbol):  # ∂t/∂s for named quantities
            from sympy.printing.pretty.stringpict import prettyForm

            num = prettyForm(*self._print(expr.expr).left("∂"))
            den = prettyForm(*self._print(expr.variables[0]).left("∂"))
            text, _ = num.below("─" * max(num.width(), den.width()), den)
            return prettyForm(text, baseline=num.height(), binding=prettyForm.MUL)
        return super()._print_Derivative(expr)

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


#: set when the terminal cannot encode Unicode: pretty-printing then uses ASCII art
ASCII = False


def pretty(expr, width: int = 100) -> str:
    return DerivePrettyPrinter({"use_unicode": not ASCII, "wrap_line": True, "num_columns": width}).doprint(expr)


_ASCII_TEXT = {"✓": "ok", "✗": "x", "→": "->", "←": "<-", "∘": "o", "‖": "||", "·": "*", "−": "-", "≤": "<=",
               "≥": ">=", "≠": "!=", "≈": "~", "∂": "d", "∇": "grad ", "∑": "sum", "∏": "prod", "√": "sqrt",
               "×": "x", "…": "...", "⊥": "_|_", "–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"',
               "μ": "mu", "σ": "sigma", "λ": "lambda", "ε": "eps", "θ": "theta", "φ": "phi", "ν": "nu",
               "∞": "oo", "²": "^2", "ᵢ": "_i", "ⱼ": "_j", "₁": "1", "₂": "2", "─": "-", "│": "|", "█": "#"}


class AsciiWriter:
    """A text stream that writes ASCII only: common symbols spelled out, anything else as '?'."""

    encoding = "ascii"

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        out = "".join(_ASCII_TEXT.get(ch, ch) for ch in text)
        self._stream.write(out.encode("ascii", "replace").decode("ascii"))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()


def text(expr) -> str:
    return DeriveStrPrinter().doprint(expr)
