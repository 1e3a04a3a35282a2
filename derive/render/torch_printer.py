"""SymPy's torch code printer with the functions the derived formulas use that it lacks (log1p, expm1)."""
from __future__ import annotations

from sympy.printing.pytorch import TorchPrinter


class Printer(TorchPrinter):
    """SymPy's torch printer, with the functions it lacks."""

    def _print_log1p(self, expr):
        return f"torch.log1p({self._print(expr.args[0])})"

    def _print_expm1(self, expr):
        return f"torch.expm1({self._print(expr.args[0])})"
