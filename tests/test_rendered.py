"""The printed formulas: JSON, writeup.md, writeup.tex and the terminal say what the mathematics says.

Every expected formula here is written from the sheet's mathematics (not taken from the derivation
modules); the printers of ``derive.render.printing`` only turn those expectations into strings.
Where the printer itself could be wrong (index order, signs), the expected LaTeX is also spelled out
by hand.  Each test names the rendering bug it catches.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp
from sympy.core.symbol import Str

from derive.notation import (Component, ComponentPartial, Diag, Hadamard, IdentityBlock, JacobianOf, Label,
                             VectorFunction, ZeroBlock)
from derive.probability import KL, Density, Expect
from derive.render.latex import esc, inline
from derive.render.prose import typeset
from derive.render.printing import DerivePrettyPrinter, latex, pretty, text

pytestmark = [pytest.mark.mutation_coupling, pytest.mark.mutation_variational, pytest.mark.mutation_model]

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 120 - 6  # the terminal renderer prints at the console width less the panel margin

NAMESPACE = {name: getattr(sp, name) for name in dir(sp) if not name.startswith("_")}
NAMESPACE["Str"] = Str
NAMESPACE.update({cls.__name__: cls for cls in (Component, ComponentPartial, VectorFunction, Hadamard, Diag,
                                                 JacobianOf, ZeroBlock, IdentityBlock, Label, Density, Expect, KL)})

# The expected LaTeX of three results, spelled out by hand (guards against a wrong printer).
LITERAL = {
    "kl.closed_form": (r"\frac{\mu_{i}^{2}}{2} + \frac{\sigma_{i}^{2}}{2} - \log{\left(\sigma_{i} \right)}"
                       r" - \frac{1}{2}"),
    "reparam.grad_mu": r"\epsilon \sigma + \mu",
    "coupling.logdet": r"\sum_{i=1}^{k} G_{i}\left(x_{2}\right) + \sum_{i=1}^{k} s_{i}",
}
LITERAL_LHS = {  # KL(q || p) in that order, d t / d mu, log |det dy/dx|
    "kl.closed_form": r"D_{\mathrm{KL}}\left(q_{i}\left(z\right) \,\|\, p_{i}\left(z\right)\right)",
    "reparam.grad_mu": r"\frac{\partial t}{\partial \mu}",
    "coupling.logdet": (r"\log{\left(\left|{\operatorname{det}{\left(\frac{\partial y}{\partial x} \right)}}"
                        r"\right| \right)}"),
}


def rebuild(srepr: str):
    """The SymPy object behind an ``srepr`` string (only ever of files this module produced)."""
    return eval(srepr, dict(NAMESPACE))  # noqa: S307


def _derive(*args):
    return subprocess.Popen([sys.executable, "-m", "derive", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": str(WIDTH + 6)})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``derive all`` into a tmp folder and ``derive show kl`` / ``show reparam``, run side by side."""
    out = tmp_path_factory.mktemp("rendered")
    procs = {"all": _derive("all", "--no-catalogue", "--quiet", "--no-pdf", "--out", str(out)),
             "kl": _derive("show", "kl"), "reparam": _derive("show", "reparam")}
    done = {}
    for key, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=900)
        assert proc.returncode == 0, (key, stderr)
        done[key] = stdout
    done["out"] = out
    return done


@pytest.fixture(scope="module")
def data(runs):
    return json.loads((runs["out"] / "derivations.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def docs(runs):
    return {fmt: (runs["out"] / f"writeup.{fmt}").read_text(encoding="utf-8") for fmt in ("md", "tex")}


@pytest.fixture(scope="module")
def results(data):
    return {r["name"]: r for d in data["derivations"] for r in d["results"]}


def _symbols(data, derivation):
    der = next(d for d in data["derivations"] if d["name"] == derivation)
    return {name: rebuild(entry["srepr"]) for name, entry in der["symbols"].items()}


def _scalar(obj):
    """The scalar symbol of a name: the label of an IndexedBase (mu_i -> mu), else the symbol itself."""
    return obj.label if isinstance(obj, sp.IndexedBase) else obj


def normal_pdf(z, mean, std):
    return sp.exp(-(z - mean) ** 2 / (2 * std ** 2)) / (sp.sqrt(2 * sp.pi) * std)


@pytest.fixture(scope="module")
def expected(data):
    """Each result (and the lhs where it carries meaning) from the sheet's mathematics."""
    c = _symbols(data, "coupling")
    G, i, k, s, x2 = c["G"], c["i"], c["k"], c["s"], c["x2"]
    logdet = sp.Sum(Component(G, i, x2), (i, 1, k)) + sp.Sum(s[i], (i, 1, k))  # log|det| = sum G_i(x2) + sum s_i
    X1, X2, Y1, Y2, S = (c[n].label for n in ("x1", "x2", "y1", "y2", "s"))  # whole vectors (vector notation)
    F_, G_ = sp.Function("F")(X2), sp.Function("G")(X2)  # element-wise products become scalar products
    kl = _symbols(data, "kl")
    mu, sigma = kl["mu_i"], kl["sigma_i"]  # the sheet's q_i = N(mu_i, sigma_i^2)
    m1, m2 = sp.symbols("mu_q mu_p", real=True)  # the general KL(N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2))
    s1, s2 = sp.symbols("sigma_q sigma_p", positive=True)
    r = _symbols(data, "reparam")
    rmu, rsig, eps = r["mu"], r["sigma"], r["epsilon"]
    v = _symbols(data, "vfe")
    z = v["z"]
    q, p = Density.make("q", z), Density.make("p", z)
    return {
        "coupling.logdet": logdet,
        "coupling.det": sp.exp(logdet),
        "coupling.inverse": sp.Matrix([Y2 * sp.exp(-S), (Y1 - F_) * sp.exp(-G_)]),
        "coupling.inverse.lhs": sp.Matrix([X2, X1]),
        "coupling.forward": {Y1: sp.exp(G_) * X1 + F_, Y2: sp.exp(S) * X2},
        "kl.closed_form": mu ** 2 / 2 + sigma ** 2 / 2 - sp.log(sigma) - sp.Rational(1, 2),
        "kl.closed_form.lhs": KL(Density.make("q_i", z), Density.make("p_i", z)),
        "kl.gaussian": sp.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - sp.Rational(1, 2),
        # printed form of the same value: eval(srepr) would distribute the -1/2 and print differently
        "kl.gaussian.printed": sp.Add(sp.Mul(sp.Rational(1, 2), 2 * sp.log(s2) - 2 * sp.log(s1) - 1, evaluate=False),
                                      sp.expand(s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2)),
        "kl.gaussian.lhs": KL(q, p),
        "kl.gaussian.q": normal_pdf(z, m1, s1),
        "kl.gaussian.p": normal_pdf(z, m2, s2),
        "reparam.grad_mu": rmu + rsig * eps,
        "reparam.grad_sigma": eps * (rmu + rsig * eps) - 1 / rsig,
        "reparam.mean": sp.Matrix([rmu, rsig - 1 / rsig]),
        "reparam.variance": sp.Matrix([rsig ** 2, rmu ** 2 + 2 * rsig ** 2]),
        "vfe.identity": sp.log(Density.make("p", v["x"])) - KL(q, Density.make("p", z, given=v["x"])),
    }


def scalar_form(expr):
    """Vector notation as scalars: a ∘ b -> a*b, F(x_2) -> F(x_2) as an undefined function."""
    def one(e):
        e = e.replace(lambda a: isinstance(a, Hadamard), lambda a: sp.Mul(*a.args))
        return e.replace(lambda a: isinstance(a, VectorFunction), lambda a: sp.Function(a.args[0].name)(a.args[1]))
    return expr.applyfunc(one) if isinstance(expr, sp.MatrixBase) else one(expr)


def same(a, b) -> bool:
    if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
        return a.shape == b.shape and all(sp.simplify(x - y) == 0 for x, y in zip(a, b))
    return sp.simplify(a - b) == 0


def boxed(doc: str, fmt: str, body: str, plain: bool = False) -> bool:
    """Whether ``body`` is displayed boxed (or, with ``plain``, also unboxed) as a whole equation:
    md: its own $$ block; tex: one display."""
    forms = [rf"\boxed{{{body}}}"] + ([body] if plain else [])
    if fmt == "md":
        return any(f"$$\n{form}\n$$" in doc for form in forms)
    return any(rf"{{$\displaystyle {form}$}}" in doc for form in forms)


def rendered(doc: str, fmt: str, name: str, lhs: str, rhs: str) -> bool:
    """Whether result ``name`` is displayed as exactly ``lhs = rhs``: boxed where it is a question's final
    answer, as a display of its own otherwise."""
    from derive.answer import FINAL

    return boxed(doc, fmt, f"{lhs} = {rhs}", plain=name not in FINAL)


def find_block(output: str, block: str):
    """(line, column) where the lines of ``block`` appear one under another in ``output``, else None."""
    out, want = output.split("\n"), [ln.rstrip() for ln in block.split("\n")]
    for n in range(len(out) - len(want) + 1):
        col = out[n].rstrip().rfind(want[0]) if want[0] else -1
        while col >= 0:
            if all(out[n + m][col:].rstrip() == w for m, w in enumerate(want)):
                return n, col
            col = out[n].rfind(want[0], 0, col)
    return None


RESULTS = ["coupling.logdet", "coupling.det", "coupling.inverse", "kl.closed_form", "kl.gaussian",
           "reparam.grad_mu", "reparam.grad_sigma", "reparam.mean", "reparam.variance", "vfe.identity"]


# 1. JSON ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", RESULTS)
def test_json_value_is_the_expected_formula(name, results, expected):
    """Catches a wrong result in derivations.json: negated, a sign flipped, a symbol lost its assumptions."""
    value = scalar_form(rebuild(results[name]["value"]["srepr"]))
    assert same(value, expected[name]), (name, value)
    assert not same(value, -expected[name])


def printed_object(name, value, expected):
    """The object whose printing the JSON holds: the rebuilt srepr, or (where eval does not give back the
    same tree) the expected printed form, checked to have exactly that srepr and the expected value."""
    obj = rebuild(value["srepr"])
    if sp.srepr(obj) != value["srepr"]:
        obj = expected[f"{name}.printed"]
        assert sp.srepr(obj) == value["srepr"] and same(obj, expected[name])
    return obj


@pytest.mark.parametrize("name", RESULTS)
def test_json_latex_and_text_print_the_srepr_object(name, results, expected):
    """Catches a JSON whose latex or text disagrees with its srepr (e.g. only the latex negated)."""
    value = results[name]["value"]
    obj = printed_object(name, value, expected)
    assert value["latex"] == latex(obj)
    assert value["text"] == text(obj)


@pytest.mark.parametrize("name", ["kl.closed_form", "reparam.grad_mu", "reparam.grad_sigma", "reparam.mean",
                                  "reparam.variance", "coupling.logdet", "coupling.det"])
def test_json_latex_is_the_expected_objects_latex(name, results, expected):
    """Catches a JSON latex/text differing from the printed expected formula (sign, order of indices)."""
    want = expected[name]
    if name == "reparam.grad_sigma":
        want = sp.expand(want)  # printed expanded: eps**2 sigma + eps mu - 1/sigma
    assert results[name]["value"]["latex"] == latex(want)
    assert results[name]["value"]["text"] == text(want)


@pytest.mark.parametrize("name", sorted(LITERAL))
def test_printer_prints_the_hand_written_latex(name, expected):
    """Catches a printer bug (a sign or an index order) that every output would share."""
    assert latex(expected[name]) == LITERAL[name]


@pytest.mark.parametrize("name", ["coupling.inverse", "kl.closed_form", "kl.gaussian"])
def test_json_lhs_is_the_expected_quantity(name, results, expected):
    """Catches a swapped KL direction or an inverse whose rows are paired with the wrong unknown."""
    assert same(rebuild(results[name]["lhs"]["srepr"]), expected[f"{name}.lhs"])


def test_json_inverse_undoes_the_block(results, expected):
    """Catches an inverse that is not one: y = block(x) substituted in must give back (x2, x1)."""
    inverse = scalar_form(rebuild(results["coupling.inverse"]["value"]["srepr"]))
    assert same(inverse.subs(expected["coupling.forward"]), expected["coupling.inverse.lhs"])


def test_json_gaussians_are_q_and_p_in_that_order(data, expected):
    """Catches KL(N1 || N2) rendered with q and p swapped: q(z) must be N(mu_q, sigma_q^2), p(z) N(mu_p, sigma_p^2)."""
    der = next(d for d in data["derivations"] if d["name"] == "kl")
    givens = {g["lhs"]["text"]: rebuild(g["rhs"]["srepr"]) for g in der["givens"]
              if "sigma_q" in g["rhs"]["srepr"] or "sigma_p" in g["rhs"]["srepr"]}
    assert same(givens["q(z)"], expected["kl.gaussian.q"])
    assert same(givens["p(z)"], expected["kl.gaussian.p"])


# 2. writeup.md and writeup.tex --------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["md", "tex"])
def test_every_result_is_displayed_as_in_the_json(fmt, data, docs, expected):
    """Catches a writeup whose displayed result differs from the JSON one (negated, escaped, altered).

    The listed results are printed from their (checked) objects; the others (the Jacobian, whose srepr
    does not rebuild, the verdict, ...) use the JSON latex, so the writeups at least agree with the JSON.
    """
    for der in data["derivations"]:
        for res in der["results"]:
            if res["name"] == "vfe.conjugate":  # a check of 2.1 in one model: in the appendix, as its steps
                continue
            value = res["value"]
            if "verdict" in value:
                assert boxed(docs[fmt], fmt, value["condition"]["latex"]), res["name"]
                continue
            rhs = latex(printed_object(res["name"], value, expected)) if res["name"] in RESULTS else value["latex"]
            assert rendered(docs[fmt], fmt, res["name"], res["lhs"]["latex"], rhs), res["name"]


@pytest.mark.parametrize("fmt", ["md", "tex"])
@pytest.mark.parametrize("name", sorted(LITERAL))
def test_key_results_are_displayed_exactly(fmt, name, results, docs, expected):
    """Catches a negated / re-signed KL closed form, dt/dmu or log-det (or a swapped KL) in the writeups."""
    assert latex(expected[name]) == LITERAL[name] and results[name]["lhs"]["latex"] == LITERAL_LHS[name]
    assert rendered(docs[fmt], fmt, name, LITERAL_LHS[name], LITERAL[name])


@pytest.mark.parametrize("fmt", ["md", "tex"])
def test_checker_rejects_a_negated_closed_form(fmt, results, docs, expected):
    """Planted bug: the KL line replaced by its negation must fail the check used above."""
    lhs, want = results["kl.closed_form"]["lhs"]["latex"], expected["kl.closed_form"]
    planted = docs[fmt].replace(f"{lhs} = {latex(want)}", f"{lhs} = {latex(-want)}")
    assert planted != docs[fmt]
    ok, bad = (rendered(doc, fmt, "kl.closed_form", lhs, latex(want)) for doc in (docs[fmt], planted))
    assert ok and not bad


# 3. Indices ---------------------------------------------------------------------------------------------

def test_written_out_jacobian_prints_vector_index_first(docs):
    """Catches x_{2,1} printed for x_{1,2} in the Jacobian written out at d = 4 (k = 2)."""
    x11, x12, x21, x22 = sp.symbols("x_1_1 x_1_2 x_2_1 x_2_2", real=True)
    G = [sp.Function(f"G_{n}")(x21, x22) for n in (1, 2)]
    F = [sp.Function(f"F_{n}")(x21, x22) for n in (1, 2)]
    s = sp.IndexedBase("s", real=True)
    y = sp.Matrix([sp.exp(G[0]) * x11 + F[0], sp.exp(G[1]) * x12 + F[1], sp.exp(s[1]) * x21, sp.exp(s[2]) * x22])
    jac = latex(y.jacobian([x11, x12, x21, x22]))
    line = next(ln for ln in docs["tex"].splitlines() if r"\right|_{d=4} = " in ln)
    assert rf"\left.\frac{{\partial y}}{{\partial x}}\right|_{{d=4}} = {jac}$" in line
    rows = [row.split(" & ") for row in line.split(r"\begin{matrix}")[1].split(r"\end{matrix}")[0].split(r"\\")]
    # row 2 (y_{1,2}), column 3 (x_{2,1}): d y_{1,2} / d x_{2,1}
    assert rows[1][2] == (r"x_{1,2} e^{G_{2}\left(x_{2}\right)} \frac{\partial G_{2}}{\partial x_{2,1}}"
                          r" + \frac{\partial F_{2}}{\partial x_{2,1}}")


def test_index_notation_prints_vector_index_first(docs, data):
    """Catches x_{i,1} printed for x_{1,i} (vector index first, component index second) in writeup.tex."""
    c = _symbols(data, "coupling")
    i, x1, x2, y1, y2 = c["i"], c["x1"], c["x2"], c["y1"], c["y2"]
    y1_i = sp.exp(Component(c["G"], i, x2)) * x1[i] + Component(c["F"], i, x2)
    y2_i = sp.exp(c["s"][i]) * x2[i]
    first = r"y_{1,i} = e^{G_{i}\left(x_{2}\right)} x_{1,i} + F_{i}\left(x_{2}\right)"
    second = r"y_{2,i} = e^{s_{i}} x_{2,i}"
    assert f"{latex(y1[i])} = {latex(y1_i)}" == first and f"{latex(y2[i])} = {latex(y2_i)}" == second
    assert first in docs["tex"] and second in docs["tex"]
    assert not re.search(r"[xy]_\{[ijk],[12]\}", docs["tex"])


# 4. Terminal --------------------------------------------------------------------------------------------

def results_section(output: str) -> str:
    """The terminal output after the "Results" rule (the steps above may repeat a result)."""
    return output[output.rindex("─ Results ─"):].split("\n", 1)[1]


def test_terminal_kl_shows_the_closed_form(runs, expected):
    """Catches a negated or re-signed closed form in ``derive show kl``."""
    want, shown = expected["kl.closed_form"], results_section(runs["kl"])
    where = find_block(shown, pretty(want, WIDTH))
    assert where is not None, shown
    mid = where[0] + DerivePrettyPrinter({"num_columns": WIDTH})._print(want).baseline  # "=" on the baseline
    assert shown.split("\n")[mid][:where[1]] == "KL(qᵢ(z) ‖ pᵢ(z)) = "
    assert find_block(shown, pretty(-want, WIDTH)) is None


def test_terminal_reparam_shows_the_gradients(runs, expected):
    """Catches a wrong per-sample gradient in ``derive show reparam`` (dt/dmu = mu + sigma eps, dt/dsigma)."""
    shown = results_section(runs["reparam"])
    lines = [ln.rstrip() for ln in shown.split("\n")]
    assert any(ln.endswith(" = " + pretty(expected["reparam.grad_mu"], WIDTH)) for ln in lines)
    assert not any(ln.endswith(" = " + pretty(-expected["reparam.grad_mu"], WIDTH)) for ln in lines)
    assert find_block(shown, pretty(sp.expand(expected["reparam.grad_sigma"]), WIDTH)) is not None


def test_find_block_rejects_a_negated_terminal_formula(runs, expected):
    """Planted bug: the closed form replaced by its negation in the terminal output is not found."""
    want, shown = expected["kl.closed_form"], results_section(runs["kl"])
    good, bad = pretty(want, WIDTH).split("\n"), pretty(-want, WIDTH).split("\n")
    n, col = find_block(shown, pretty(want, WIDTH))
    lines = shown.split("\n")
    planted = lines[:n] + [lines[n + m][:col] + b for m, b in enumerate(bad)] + lines[n + len(good):]
    assert find_block("\n".join(planted), pretty(want, WIDTH)) is None


# 5. Plain-text escaping in writeup.tex ------------------------------------------------------------------

def test_esc_turns_unicode_minus_into_minus_and_escapes_specials():
    """Catches "−" escaped as "+" (or kept as Unicode), and unescaped _ & % or a lost μ."""
    assert esc("a − b") == "a - b"
    assert esc("E[g²] − E[g]²") == r"E[g$^2$] - E[g]$^2$"
    assert esc("x_1 & 5% of μ − σ") == r"x\_1 \& 5\% of $\mu$ - $\sigma$"
    assert "+" not in esc("−−−") and "−" not in esc("−")


def test_tex_prose_keeps_minus_signs(data, docs):
    """Catches a Unicode minus left in writeup.tex, or one turned into "+", in the step justifications."""
    tex = docs["tex"]
    assert "−" not in tex
    prose = [st["justification"] for d in data["derivations"] for sec in d["sections"] for st in sec["steps"]]
    with_minus = [p for p in prose if "−" in p]
    assert with_minus, "the sheet's variance steps say E[g²] − E[g]²"
    for p in with_minus:
        shown = inline(typeset(p))
        assert shown.count("+") == p.count("+") and shown.count("-") == p.count("-") + p.count("−"), shown
        assert shown in tex
    assert r"variance: $\mathbb{E}[g^{2}] - \mathbb{E}[g]^{2}$ by integration over $\epsilon$" in tex


def test_json_text_fields_carry_no_latex(data):
    """Catches raw LaTeX (\\frac, \\partial, ...) in a text field of derivations.json: justifications, notes,
    verification details, titles, summaries and expression texts; formulas keep their own latex fields."""
    def strings(obj, path=()):
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key not in ("latex", "srepr", "tikz"):
                    yield from strings(value, path + (key,))
        elif isinstance(obj, list):
            for n, value in enumerate(obj):
                yield from strings(value, path + (n,))
        elif isinstance(obj, str):
            yield path, obj

    names = {d["name"] for d in data["derivations"]}
    assert {"coupling", "vfe", "kl", "reparam"} <= names
    bad = [(p, v) for p, v in strings(data) if re.search(r"\\[A-Za-z]+", v)]
    assert not bad, bad[:5]


def test_json_jacobian_srepr_rebuilds(results):
    """Catches a JSON srepr that cannot be evaluated back (README: srepr rebuilds the SymPy object)."""
    value = results["coupling.jacobian"]["value"]
    assert sp.srepr(rebuild(value["srepr"])) == value["srepr"]


def test_esc_keeps_the_adjoint_bar():
    """Catches the adjoint bar lost in prose: t̄ = 1 must not become t = 1."""
    assert r"\bar" in esc("t̄ = 1") and r"\bar" in esc("μ̄")
