"""The terminal renderer (rich): steps as pretty-printed equations with marks."""
from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
import sympy as sp

from ..model import CrossCheck, Derivation, Step, Verdict
from .printing import plain_text, pretty, pretty_beside, pretty_width


class QuietConsole(Console):
    """A rich console whose broken pipe ends the command quietly (the CLI exits 141, no traceback)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError()


def make_console(**kwargs) -> QuietConsole:
    from . import printing

    import os
    import sys

    if printing.ASCII and "file" not in kwargs:
        kwargs.update(file=printing.AsciiWriter(sys.stdout), emoji=False)
    columns = os.environ.get("COLUMNS", "")
    if "width" not in kwargs and columns and not (columns.isdigit() and 40 <= int(columns) <= 10000):
        kwargs["width"] = 80  # a width of 0, a negative or silly one: print at 80 columns rather than not at all
    return QuietConsole(highlight=False, **kwargs)


def _equation(lhs, rhs, width: int, chained: bool = False):
    """``lhs = rhs`` with the ``=`` on the right side's baseline; stacked where the two do not fit side by side,
    and a matrix too wide for ``width`` printed by blocks."""
    if isinstance(rhs, sp.MatrixBase) and pretty_width(rhs) > width:
        return _matrix_by_blocks(None if chained else lhs, rhs, width)
    line = pretty_beside("= ", rhs, width) if chained else pretty_beside(lhs, rhs, width)
    if line is not None:
        return Text(line)
    if chained:  # the lhs is the previous line's rhs
        return Text("=\n" + pretty(rhs, width))
    return Text(pretty(lhs, width) + "\n  =\n" + pretty(rhs, width))


def _halves(n: int) -> list[tuple[int, int]]:
    return [(0, n)] if n < 2 else [(0, n // 2), (n // 2, n)]


def _blocks(matrix, width: int) -> list[tuple[int, int, int, int]]:
    """(first row, end row, first column, end column) of blocks that each print within ``width``: the matrix
    halved each way (the k×k blocks of a 2k×2k Jacobian), a block still too wide cut again by columns."""
    out = []
    todo = [(r0, r1, c0, c1) for r0, r1 in _halves(matrix.rows) for c0, c1 in _halves(matrix.cols)]
    while todo:
        r0, r1, c0, c1 = todo.pop(0)
        if c1 - c0 > 1 and pretty_width(matrix[r0:r1, c0:c1]) > width:
            mid = (c0 + c1) // 2
            todo[:0] = [(r0, r1, c0, mid), (r0, r1, mid, c1)]
        else:
            out.append((r0, r1, c0, c1))
    return out


def _matrix_by_blocks(lhs, matrix, width: int) -> Group:
    n, m = matrix.shape
    blocks = _blocks(matrix, width)
    size = {(r1 - r0, c1 - c0) for r0, r1, c0, c1 in blocks}
    shape = "×".join(map(str, size.pop())) if len(size) == 1 else "smaller"
    note = f"the {n}×{m} matrix, too wide to print whole, by {shape} blocks:"
    head = pretty_beside(lhs if lhs is not None else "= ", note, width)
    if head is None:
        head = (pretty(lhs, width) + "\n  =\n" if lhs is not None else "=\n") + note
    parts = [Text(head)]
    for r0, r1, c0, c1 in blocks:
        rows = f"row {r0 + 1}" if r1 - r0 == 1 else f"rows {r0 + 1}–{r1}"
        cols = f"column {c0 + 1}" if c1 - c0 == 1 else f"columns {c0 + 1}–{c1}"
        parts.append(Text(f"{rows}, {cols}:", style="dim"))
        parts.append(Text(pretty(matrix[r0:r1, c0:c1], width)))
    return Group(*parts)


def verification_mark(step: Step) -> Text:
    v = step.verification
    if step.verified:
        return Text(f"✓ verified ({plain_text(v.label)}): {plain_text(v.detail)}", style="green")
    return Text(f"✗ UNVERIFIED: {plain_text(v.detail)}", style="bold red")


def _verdict(verdict: Verdict, width: int = 100) -> Text:
    style = {True: "green", False: "yellow", None: "red"}[verdict.holds]
    out = Text(f"{plain_text(verdict.question)}  →  {plain_text(verdict.answer)}\n", style=f"bold {style}")
    out.append(plain_text(verdict.reason) + "\n")
    condition = pretty_beside("condition: ", verdict.condition, width)
    out.append((condition if condition is not None else "condition:\n" + pretty(verdict.condition, width)) + "\n")
    for key, value in verdict.evidence.items():
        out.append(f"  {plain_text(str(key))}: {plain_text(str(value))}\n", style="dim")
    return out


def checks_table(checks: list[CrossCheck], title: str = "Cross-checks against independent numpy") -> Table:
    """The cross-checks, one row each; names and methods are text, never rich markup ("E[...]" stays)."""
    table = Table(title=Text(plain_text(title), style="italic"), show_lines=False)
    for col in ("check", "compared with", "residual", "tolerance", "pass"):
        table.add_column(Text(col))
    for c in checks:
        table.add_row(Text(plain_text(c.name)), Text(plain_text(c.method)), Text(f"{c.residual:.3e}"),
                      Text(f"{c.tolerance:.0e}"),
                      Text("pass", style="green") if c.passed else Text("FAIL", style="bold red"))
    return table


def _rule(console: Console, title: str) -> None:
    console.rule(Text(plain_text(title), style="bold"))


def render(derivation: Derivation, console: Console, show_checks: bool = True) -> None:
    """Print a derivation.  Every text that comes from the model is a rich ``Text`` (never parsed as markup),
    with any LaTeX in it turned into Unicode; every formula is pretty-printed."""
    width = max(60, console.width - 6)
    parts = [Text(plain_text(derivation.summary), style="italic")]
    if derivation.givens:
        parts.append(Text("\nGiven", style="bold"))
        for g in derivation.givens:
            parts.append(_equation(g.lhs, g.rhs, width))
            parts.append(Text(f"  ({plain_text(g.note)})", style="dim"))
    console.print(Panel(Group(*parts), title=Text(plain_text(derivation.title), style="bold"), expand=True))
    for sec, rows in derivation.numbered():
        _rule(console, f"{sec.question} {sec.title}")
        if sec.text:
            console.print(Text(plain_text(sec.text), style="italic"))
        for label, step in rows:
            console.print(Text(f"[{label}] {plain_text(step.justification)}", style="cyan"))
            console.print(_equation(step.lhs, step.rhs, width, chained=step.continues))
            console.print(verification_mark(step))
    if "adjoints" in derivation.figures:
        table = Table(title=Text("Adjoint table (reverse order)", style="italic"))
        for col in ("adjoint", "chain rule", "value in μ, σ, ε"):
            table.add_column(Text(col))
        for bar, rule, value in derivation.figures["adjoints"]:
            table.add_row(Text(pretty(bar)), Text(pretty(rule)), Text(pretty(value)))
        console.print(table)
    if "graph" in derivation.figures:
        from .graph import text_tree

        _rule(console, "Computation graph (output first, inputs last)")
        console.print(Text(text_tree(*derivation.figures["graph"])))
    _rule(console, "Results")
    for res in derivation.results:
        console.print(Text(f"{plain_text(res.name)}: {plain_text(res.description)}", style="bold"))
        if isinstance(res.value, Verdict):
            console.print(_verdict(res.value, width))
        else:
            console.print(_equation(res.lhs, res.value, width))
    if show_checks and derivation.checks:
        console.print(checks_table(derivation.checks))
    steps = derivation.steps
    ok = sum(s.verified for s in steps)
    style = "green" if ok == len(steps) else "bold red"
    console.print(Text(f"{ok}/{len(steps)} steps verified", style=style))
