"""The terminal renderer (rich): steps as pretty-printed equations with marks."""
from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..model import CrossCheck, Derivation, Step, Verdict
from .printing import pretty


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


def _equation(lhs, rhs, width: int, chained: bool = False) -> Text:
    if chained:  # the lhs is the previous line's rhs
        right = pretty(rhs, width).split("\n")
        mid = (len(right) - 1) // 2
        return Text("\n".join(("= " if n == mid else "  ") + line for n, line in enumerate(right)))
    left = pretty(lhs, width).split("\n")
    right = pretty(rhs, width).split("\n")
    if len(left) == 1 and len(left[0]) + len(max(right, key=len)) + 3 < width:
        mid = (len(right) - 1) // 2
        pad = " " * (len(left[0]) + 3)
        lines = [(left[0] + " = " if n == mid else pad) + line for n, line in enumerate(right)]
        return Text("\n".join(lines))
    return Text("\n".join(left) + "\n  =\n" + "\n".join(right))


def verification_mark(step: Step) -> Text:
    v = step.verification
    if step.verified:
        return Text(f"✓ verified ({v.label}): {v.detail}", style="green")
    return Text(f"✗ UNVERIFIED: {v.detail}", style="bold red")


def _verdict(verdict: Verdict) -> Text:
    style = {True: "green", False: "yellow", None: "red"}[verdict.holds]
    out = Text(f"{verdict.question}  →  {verdict.answer}\n", style=f"bold {style}")
    out.append(verdict.reason + "\n")
    out.append("condition: " + pretty(verdict.condition) + "\n")
    for key, value in verdict.evidence.items():
        out.append(f"  {key}: {value}\n", style="dim")
    return out


def checks_table(checks: list[CrossCheck], title: str = "Cross-checks against independent numpy") -> Table:
    table = Table(title=title, show_lines=False)
    for col in ("check", "compared with", "residual", "tolerance", "pass"):
        table.add_column(col)
    for c in checks:
        table.add_row(Text(c.name), Text(c.method), f"{c.residual:.3e}", f"{c.tolerance:.0e}",  # text, not markup
                      Text("pass", style="green") if c.passed else Text("FAIL", style="bold red"))
    return table


def render(derivation: Derivation, console: Console, show_checks: bool = True) -> None:
    width = max(60, console.width - 6)
    parts = [Text(derivation.summary, style="italic")]
    if derivation.givens:
        parts.append(Text("\nGiven", style="bold"))
        for g in derivation.givens:
            parts.append(_equation(g.lhs, g.rhs, width))
            parts.append(Text(f"  ({g.note})", style="dim"))
    console.print(Panel(Group(*parts), title=f"[bold]{derivation.title}[/bold]", expand=True))
    for sec, rows in derivation.numbered():
        console.rule(f"[bold]{sec.question} {sec.title}")
        if sec.text:
            console.print(Text(sec.text, style="italic"))
        for label, step in rows:
            console.print(Text(f"[{label}] {step.justification}", style="cyan"))
            console.print(_equation(step.lhs, step.rhs, width, chained=step.continues))
            console.print(verification_mark(step))
    if "adjoints" in derivation.figures:
        table = Table(title="Adjoint table (reverse order)")
        for col in ("adjoint", "chain rule", "value in μ, σ, ε"):
            table.add_column(col)
        for bar, rule, value in derivation.figures["adjoints"]:
            table.add_row(pretty(bar), pretty(rule), pretty(value))
        console.print(table)
    if "graph" in derivation.figures:
        from .graph import text_tree

        console.rule("[bold]Computation graph (output first, inputs last)")
        console.print(Text(text_tree(*derivation.figures["graph"])))
    console.rule("[bold]Results")
    for res in derivation.results:
        console.print(Text(f"{res.name}: {res.description}", style="bold"))
        if isinstance(res.value, Verdict):
            console.print(_verdict(res.value))
        else:
            console.print(_equation(res.lhs, res.value, width))
    if show_checks and derivation.checks:
        console.print(checks_table(derivation.checks))
    steps = derivation.steps
    ok = sum(s.verified for s in steps)
    style = "green" if ok == len(steps) else "bold red"
    console.print(Text(f"{ok}/{len(steps)} steps verified", style=style))
