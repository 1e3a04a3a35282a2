"""The terminal renderer and the JSON text fields: mathematics in Unicode, never raw LaTeX or Python syntax.

Each test renders real derivations (or a small hand-made one) and asserts on the printed text.
"""
import functools
import io
import re

import pytest
import sympy as sp

from derive.model import CrossCheck, Derivation, Given, Result, Step, Verification
from derive.notation import ComponentPartial, JacobianOf, Label
from derive.probability import KL, Density, Expect
from derive.registry import ENTRIES, Options
from derive.render.jsonout import check, derivation_dict
from derive.render.printing import latex_to_text, linear, plain_text, pretty, text
from derive.render.terminal import _equation, checks_table, make_console, render

NAMES = ["coupling", "vfe", "kl", "reparam"]
LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
WIDTH = 100


@functools.lru_cache(maxsize=None)
def build(name):
    return ENTRIES[name].build(Options())


def shown(renderable=None, derivation=None, width=WIDTH) -> str:
    """What the terminal shows, as plain text, for a rich renderable or a whole derivation."""
    console = make_console(file=io.StringIO(), width=width, record=True, soft_wrap=False)
    if derivation is not None:
        render(derivation, console)
    else:
        console.print(renderable)
    return console.export_text()


@functools.lru_cache(maxsize=None)
def shown_derivation(name) -> str:
    return shown(derivation=build(name))


def block_in(output: str, block: str) -> bool:
    """Whether the lines of ``block`` appear one under another, at one column, in ``output``."""
    out, want = output.split("\n"), block.split("\n")
    for n in range(len(out) - len(want) + 1):
        col = out[n].find(want[0])
        while col >= 0:
            if all(out[n + m][col:col + len(w)] == w for m, w in enumerate(want)):
                return True
            col = out[n].find(want[0], col + 1)
    return False


# 1. No raw LaTeX, no Python syntax ----------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def formulas_shown(name) -> str:
    """Only the formulas of a derivation as the terminal prints them (givens, steps, results, figures): the
    model's prose, which may spell maths in ASCII, left out."""
    from derive.render.graph import text_tree

    der = build(name)
    width = WIDTH - 6
    parts = [_equation(g.lhs, g.rhs, width) for g in der.givens]
    parts += [_equation(st.lhs, st.rhs, width, chained=st.continues) for st in der.steps]
    parts += [_equation(r.lhs, r.value, width) for r in der.results if not hasattr(r.value, "holds")]
    parts += [pretty(r.value.condition, width) for r in der.results if hasattr(r.value, "holds")]
    parts += [pretty(e, width) for row in der.figures.get("adjoints", []) for e in row]
    if "graph" in der.figures:
        parts.append(text_tree(*der.figures["graph"]))
    return "\n".join(shown(p) if not isinstance(p, str) else p for p in parts)


@pytest.mark.parametrize("name", NAMES)
def test_terminal_prints_no_latex(name):
    out = shown_derivation(name)
    assert not LATEX_COMMAND.search(out), LATEX_COMMAND.findall(out)


@pytest.mark.parametrize("name", NAMES)
def test_terminal_formulas_are_mathematics_not_python(name):
    out = formulas_shown(name)
    assert not LATEX_COMMAND.search(out), LATEX_COMMAND.findall(out)
    for python in ("**", "sqrt(", "Determinant(", "Derivative(", "epsilon", "[j]", "[i]", "E_q(z)[", "dG_", "||",
                   "x_1,", "x_2,", "y_1,", "y_2,", "d t/d"):
        assert python not in out, python


def test_coupling_block_determinants_print_as_det_of_partial_fractions():
    """The diagonal blocks' determinants: det(∂y₁/∂x₁)⋅det(∂y₂/∂x₂), not │\\frac{...}│."""
    out = shown_derivation("coupling")
    assert block_in(out, "   ⎛∂y⎞      ⎛∂y₁⎞    ⎛∂y₂⎞\n"
                         "det⎜──⎟ = det⎜───⎟⋅det⎜───⎟\n"
                         "   ⎝∂x⎠      ⎝∂x₁⎠    ⎝∂x₂⎠"), out
    assert "│\\frac" not in out and "│∂" not in out  # a determinant is not printed as an absolute value
    # |·| where the model means an absolute value: log|det ∂y/∂x|
    assert block_in(out, "   ⎛│   ⎛∂y⎞│⎞\nlog⎜│det⎜──⎟│⎟\n   ⎝│   ⎝∂x⎠│⎠")


def test_coupling_derivatives_are_partial_fractions_everywhere():
    """∂Gᵢ/∂x₂,ⱼ beside ∂y₁,ᵢ/∂x₂,ⱼ: no dG_i/dx_2[j] next to a pretty ∂."""
    out = shown_derivation("coupling")
    assert block_in(out, "∂y₁,ᵢ    Gᵢ(x₂)  ∂Gᵢ          ∂Fᵢ \n"
                         "───── = ℯ      ⋅─────⋅x₁,ᵢ + ─────\n"
                         "∂x₂,ⱼ           ∂x₂,ⱼ        ∂x₂,ⱼ"), out
    assert block_in(out, "∂y₁,ᵢ    Gᵢ(x₂)    \n───── = ℯ      ⋅δᵢⱼ\n∂x₁,ⱼ              ")
    formulas = formulas_shown("coupling")
    for ascii_derivative in ("dG_", "dF_", "dG/d", "dF/d", "/dx", "x_2", "y_1,i"):
        assert ascii_derivative not in formulas, ascii_derivative


def test_component_partial_and_jacobian_print_as_partials():
    F, x2, i, j = sp.Symbol("F"), sp.IndexedBase("x_2"), sp.Symbol("i"), sp.Symbol("j")
    assert pretty(ComponentPartial(F, i, j, x2)) == " ∂Fᵢ \n─────\n∂x₂,ⱼ"
    assert pretty(JacobianOf(sp.Symbol("G"), sp.Symbol("x_2"))) == "∂G \n───\n∂x₂"


def test_coupling_written_out_jacobian_fits_100_columns():
    """The 4×4 Jacobian at d = 4 is shown whole, every entry with ∂ fractions, and no line is over 100."""
    out = shown_derivation("coupling")
    assert max(len(line) for line in out.split("\n")) <= WIDTH
    assert "↪" not in out  # nothing wrapped by SymPy either
    assert block_in(out, "      G₁(x₂)  ∂G₁     ∂F₁         G₁(x₂)  ∂G₁     ∂F₁ ⎤\n"
                         "x₁,₁⋅ℯ      ⋅───── + ─────  x₁,₁⋅ℯ      ⋅───── + ─────⎥\n"
                         "             ∂x₂,₁   ∂x₂,₁               ∂x₂,₂   ∂x₂,₂⎥"), out


def test_a_matrix_too_wide_is_printed_by_labelled_blocks():
    """At 60 columns the written-out Jacobian no longer fits: it is printed by 2×2 blocks, each labelled."""
    der = build("coupling")
    step = next(st for st in der.steps if isinstance(st.rhs, sp.MatrixBase) and st.rhs.shape == (4, 4))
    out = shown(_equation(step.lhs, step.rhs, 60), width=60)
    assert max(len(line) for line in out.split("\n")) <= 60
    assert "the 4×4 matrix, too wide to print whole, by 2×2 blocks:" in out
    labels = [line for line in out.split("\n") if line.startswith(("rows", "row "))]
    assert labels == ["rows 1–2, columns 1–2:", "rows 1–2, columns 3–4:", "rows 3–4, columns 1–2:",
                      "rows 3–4, columns 3–4:"]
    assert "↪" not in out


# 2. The computation graph ------------------------------------------------------------------------------

def test_reparam_graph_tree_prints_mathematics():
    from derive.render.graph import text_tree

    tree = text_tree(*build("reparam").figures["graph"])
    assert tree.split("\n")[:8] == [
        "t = r - s",
        "  r = -μ²/(2⋅σ²) + μ⋅z/σ² - log(σ) - log(π)/2 - log(2)/2 - z²/(2⋅σ²)",
        "    μ (input)",
        "    σ (input)",
        "    z = ε⋅σ + μ",
        "      μ (input)",
        "      σ (input)",
        "      ε (input)",
    ]
    assert "  s = -z²/2 - log(π)/2 - log(2)/2" in tree.split("\n")
    for python in ("**", "mu", "sigma", "epsilon", "*"):
        assert python not in tree.replace("⋅", ""), python
    out = shown_derivation("reparam")
    assert "    z = ε⋅σ + μ\n      μ (input)" in out


def test_linear_printer():
    x, mu = sp.symbols("x mu")
    assert linear(sp.sqrt(x) + 1 / sp.sqrt(2 * x) + x ** 3 + mu ** sp.Symbol("k")) == "μ^k + √x + x³ + √2/(2⋅√x)"


# 3. Notation: labels, probability, indices -------------------------------------------------------------

def test_labels_print_their_latex_as_unicode_maths():
    assert pretty(Label("d t/d mu", r"\frac{\partial t}{\partial \mu}")) == "∂t\n──\n∂μ"
    assert pretty(Label("E[d t/d mu]", r"\mathbb{E}_{\epsilon}\left[\frac{\partial t}{\partial \mu}\right]")) == \
        "  ⎡∂t⎤\nE ⎢──⎥\n ε⎣∂μ⎦"
    assert pretty(Label("volume preserving?", r"\text{volume preserving?}")) == "volume preserving?"


def test_reparam_gradients_are_written_with_partials():
    out = shown_derivation("reparam")
    assert block_in(out, "∂t          \n── = ε⋅σ + μ\n∂μ          "), out
    assert "d t/d mu =" not in out and "E[d t/d" not in out


def test_probability_notation():
    z = sp.Symbol("z")
    q, p = Density.make("q_i", z), Density.make("p_i", z)
    assert pretty(KL(q, p)) == "KL(qᵢ(z) ‖ pᵢ(z))"
    expect = pretty(Expect(sp.log(Density.make("q", z)), Density.make("q", z)))
    assert [line.rstrip() for line in expect.split("\n")] == ["E    [log(q(z))]", " q(z)"]
    zi = sp.IndexedBase("z")[sp.Symbol("i")]
    assert pretty(Density.make("p", zi)) == "p(zᵢ)"
    assert text(KL(q, p)) == "KL(q_i(z) || p_i(z))"  # the JSON text form is unchanged


def test_kl_closed_form_line():
    """KL(qᵢ ‖ pᵢ) = the closed form, the "=" on the fraction bars (the baseline), not on the numerators."""
    out = shown_derivation("kl")
    lines = [line for line in out.split("\n") if line.startswith("KL(qᵢ(z) ‖ pᵢ(z)) = ")]
    assert lines and all(line[len("KL(qᵢ(z) ‖ pᵢ(z)) = "):].startswith("─") for line in lines), out


# 4. LaTeX in prose, and JSON text fields ---------------------------------------------------------------

def test_plain_text_turns_latex_in_prose_into_unicode():
    assert plain_text(r"with $\mu$ and $\sigma^2$") == "with μ and σ²"
    assert plain_text(r"the block \frac{\partial y_1}{\partial x_1} is diagonal") == "the block ∂y₁/∂x₁ is diagonal"
    assert plain_text("E[d t/d mu] (no LaTeX) stays") == "E[d t/d mu] (no LaTeX) stays"
    assert latex_to_text(r"\left.\frac{\partial y}{\partial x}\right|_{d=4}") == "∂y/∂x|_(d=4)"


def _text_fields(obj, path=()):
    """Every string in the JSON that is not a formula's dedicated LaTeX (or srepr, or the TikZ picture)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key not in ("latex", "srepr", "tikz"):
                yield from _text_fields(value, path + (key,))
    elif isinstance(obj, list):
        for n, value in enumerate(obj):
            yield from _text_fields(value, path + (n,))
    elif isinstance(obj, str):
        yield path, obj


@pytest.mark.parametrize("name", NAMES)
def test_json_text_fields_carry_no_latex(name):
    payload = derivation_dict(build(name), include_checks=False)
    bad = [(path, value) for path, value in _text_fields(payload) if LATEX_COMMAND.search(value)]
    assert not bad, bad[:5]
    assert list(_text_fields(payload))  # the walk saw the text


def test_json_determinant_text_is_det_of_partials():
    payload = derivation_dict(build("coupling"), include_checks=False)
    texts = [st["rhs"]["text"] for sec in payload["sections"] for st in sec["steps"]]
    assert "det(∂y₁/∂x₁)*det(∂y₂/∂x₂)" in texts


def test_json_prose_with_latex_is_converted():
    der = _toy(r"uses $\mu$ [bold]E[x][/bold]")
    payload = derivation_dict(der)
    assert payload["sections"][0]["steps"][0]["justification"] == "uses μ [bold]E[x][/bold]"
    assert payload["checks"][0]["name"] == "E[d t/d mu] (mu=0.4, sigma=0.9)"


# 5. Rich markup never eats model text ------------------------------------------------------------------

def _toy(justification: str) -> Derivation:
    x = sp.Symbol("x")
    der = Derivation("toy", "A [bold]title[/bold] with E[x]", "summary with [red]E[x][/red]")
    der.givens.append(Given(x, sp.Integer(1), "note [dim]E[x][/dim]"))
    sec = der.section("[i]Section[/i] E[x]", "9.9", "text [link]E[x][/link]")
    sec.steps.append(Step(x, sp.Integer(1), justification, Verification("symbolic", True, "detail [b]E[x][/b]")))
    der.results.append(Result("toy.[x]", x, sp.Integer(1), "result [u]E[x][/u]"))
    der.checks = [CrossCheck.compare("E[d t/d mu] (mu=0.4, sigma=0.9)", "MC [x]", 0.1, 4),
                  CrossCheck.compare("Var[d t/d mu] (mu=0.4, sigma=0.9)", "[bold]MC[/bold]", 0.1, 4)]
    return der


def test_model_text_is_never_read_as_markup():
    out = shown(derivation=_toy("why [cyan]E[x][/cyan]"), width=160)
    for verbatim in ("A [bold]title[/bold] with E[x]", "summary with [red]E[x][/red]", "note [dim]E[x][/dim]",
                     "9.9 [i]Section[/i] E[x]", "text [link]E[x][/link]", "[9.9.1] why [cyan]E[x][/cyan]",
                     "detail [b]E[x][/b]", "toy.[x]: result [u]E[x][/u]", "E[d t/d mu] (mu=0.4, sigma=0.9)",
                     "Var[d t/d mu] (mu=0.4, sigma=0.9)", "[bold]MC[/bold]", "MC [x]"):
        assert verbatim in out, verbatim


def _table_names(out: str) -> list[str]:
    """The first column of a rich table printed wide enough for one line a row."""
    return [line.split("│")[1].strip() for line in out.split("\n") if line.startswith("│")]


def test_checks_table_rows_keep_brackets_and_are_distinct():
    der = build("reparam")
    checks = ENTRIES["reparam"].cross_checks(der, Options())
    out = shown(checks_table(checks), width=250)
    names = _table_names(out)
    assert names == [c.name for c in checks]
    assert len(set(names)) == len(names)
    assert "E[∂t/∂μ] (μ = 0.4, σ = 0.9)" in names and "Var[∂t/∂σ] (μ = -1.3, σ = 0.35)" in names
    assert [check(c)["name"] for c in checks] == names


def test_checks_table_survives_markup_like_names():
    checks = [CrossCheck.compare(name, "[red]m[/red]", 0, 1) for name in ("E[x]", "E[y]", "[bold]z[/bold]")]
    out = shown(checks_table(checks), width=120)
    assert _table_names(out) == ["E[x]", "E[y]", "[bold]z[/bold]"]
