"""Your own layers and flows: `derive show/check --layer FILE.toml` and `--flow FILE.toml`.

The expected values come from the mathematics, not from the implementation:

* the log-determinant the derivation reports (its sympy ``srepr`` in ``show --json``) is
  evaluated here at a concrete d and random parameters, and compared with ``slogdet`` of a
  central-difference Jacobian of the layer written out in numpy in this file;
* the networks a layer leaves open (coupling F, G; autoregressive mu) are given concrete
  numpy networks here, so the formula is checked for "any network", not for the one the
  tool happens to pick;
* the inverses it reports are evaluated at y = f(x) and must give x back;
* the structure it names is the one the Jacobian has: planar is diagonal + rank one
  (matrix determinant lemma), a coupling is block triangular, an autoregressive layer is
  lower triangular, and x + u*tanh(W x) has none of these.
"""
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import sympy
from sympy.core.function import AppliedUndef


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


# ---------------------------------------------------------------------------------------------
# layer files

PLANAR = """\
name = "my-planar"
dim = 16
[parameters]
u = "vector"
w = "vector"
b = "scalar"
[equations]
y = "x + u*{h}(dot(w, x) + b)"
"""

COUPLING = """\
name = "my-coupling"
dim = 8
[conditioners]
F = "coupling"
G = "coupling"
[equations]
y1 = "x1*softplus(G(x2)) + F(x2)"
y2 = "x2"
"""

AUTOREGRESSIVE = """\
name = "my-ar"
dim = 8
[parameters]
c = "positive vector"
[conditioners]
mu = "autoregressive"
[equations]
y = "c*x + mu(x)"
"""

DENSE = """\
name = "{name}"
dim = {dim}
[parameters]
u = "vector"
W = "matrix"
[equations]
y = "x + u*tanh(matvec(W, x))"
"""

MEAN_SHIFT = """\
name = "mean-shift"
dim = 32
[parameters]
u = "vector"
[equations]
y = "x + u*tanh(mean(x))"
"""

SUM_SHIFT = """\
name = "sum-shift"
dim = 32
[parameters]
w = "vector"
[equations]
y = "x + tanh(dot(w, x))"
"""

LAYERS = {
    "planar": PLANAR.format(h="tanh"),
    # rank one with a constant column factor (1/d, every j) and with a constant row factor (every i)
    "mean-shift": MEAN_SHIFT,
    "sum-shift": SUM_SHIFT,
    "coupling": COUPLING,
    "ar": AUTOREGRESSIVE,
    "dense": DENSE.format(name="my-dense", dim=4),
    "bigdense": DENSE.format(name="big-dense", dim=32),
    # the planar layer with tanh replaced; no name, so the default name 'mine'
    "planar-exp": PLANAR.format(h="exp").replace('name = "my-planar"\n', ""),
    "planar-sigmoid": PLANAR.format(h="sigmoid").replace('name = "my-planar"\n', ""),
    "planar-sin": PLANAR.format(h="sin").replace('name = "my-planar"\n', ""),
    # for the flow (d = 8)
    "planar-file": PLANAR.format(h="tanh").replace("dim = 16", "dim = 8"),
}

FLOW = """\
name = "my-flow"
dim = 8
layers = ["actnorm", "planar-file.toml", "reverse", "realnvp", "realnvp"]
"""

FLOW_SAME_FILE_TWICE = """\
name = "two-planar"
dim = 4
layers = ["planar-file.toml", "reverse", "planar-file.toml", "actnorm"]
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("layers")
    for name, text in LAYERS.items():
        (d / f"{name}.toml").write_text(text)
    (d / "flow.toml").write_text(FLOW)
    (d / "flow-twice.toml").write_text(FLOW_SAME_FILE_TWICE)
    return d


@pytest.fixture(scope="module")
def cli(folder):
    """Run `derive ARGS` once per module; a '{}' in an argument is the layer folder."""
    cache = {}

    def go(*args):
        args = tuple(a.replace("{}", str(folder)) for a in args)
        if args not in cache:
            cache[args] = run(*args)
        return cache[args]

    return go


def show(cli, kind, name):
    out = cli("show", f"--{kind}", f"{{}}/{name}.toml", "--json")
    assert out.returncode == 0, (out.stdout[-2000:], out.stderr)
    assert out.stderr == ""
    return json.loads(out.stdout)


def check(cli, kind, name):
    return cli("check", f"--{kind}", f"{{}}/{name}.toml", "--json")


def section(data, question):
    return next(s for s in data["sections"] if s.get("question") == question)


def section_text(data, question):
    s = section(data, question)
    return " ".join([s.get("title") or "", s.get("text") or ""] + [st["justification"] for st in s["steps"]])


def result(data, what):
    return next(r for r in data["results"] if r["name"] == f"{data['name']}.{what}")


# ---------------------------------------------------------------------------------------------
# evaluating the reported formulas (sympy srepr) at a concrete d


class Formula:
    """A formula from `show --json`, parsed from its srepr.

    A network output F_i(x2) / mu_i(x_<i) becomes an undefined function F(i) / mu(i) whose
    value is taken from `values[name][i-1]`; the input the formula says the network sees is
    kept in `inputs[name]`. An explicit determinant det([entry]_(i,j=1..d)) is evaluated
    numerically entry by entry.
    """

    def __init__(self, srepr, D=None, values=None):
        self.inputs = {}
        ns = {n: getattr(sympy, n) for n in dir(sympy) if not n.startswith("_")}

        def component(name, i, base):
            self.inputs[str(name)] = str(getattr(base, "label", base))
            return sympy.Function(str(name))(i)

        def tabled(entry, i, j, dim):
            return np.array([[numeric(entry.subs({i: r, j: c}), D, values) for c in range(1, D + 1)]
                             for r in range(1, D + 1)])

        ns.update(Component=component, Prefix=component, Tabled=tabled,
                  Det=lambda m: sympy.Float(np.linalg.det(m)))
        self.expr = eval(srepr, {"__builtins__": {}}, ns)  # trusted: our own subprocess's output

    def names(self):
        e = self.expr
        bases = {str(a.base.label) for a in e.atoms(sympy.Indexed)}
        funcs = {f.func.__name__ for f in e.atoms(AppliedUndef)}
        scalars = {s.name for s in e.free_symbols if isinstance(s, sympy.Symbol)} - bases - {"d", "k", "i", "j", "l"}
        return bases, funcs, scalars


def substitute(expr, D, values, **index):
    expr = sympy.sympify(expr)
    sizes = {"d": D, "k": D // 2, **index}
    expr = expr.subs({s: sizes[s.name] for s in expr.free_symbols if s.name in sizes}).doit()
    rep = {}
    for a in expr.atoms(sympy.Indexed):
        arr = np.asarray(values[str(a.base.label)], dtype=float)
        rep[a] = sympy.Float(arr[tuple(int(t) - 1 for t in a.indices)])
    for f in expr.atoms(AppliedUndef):
        rep[f] = sympy.Float(values[f.func.__name__][int(f.args[0]) - 1])
    expr = expr.xreplace(rep)
    return expr.xreplace({s: sympy.Float(values[s.name]) for s in expr.free_symbols})


def numeric(expr, D, values, **index):
    e = substitute(expr, D, values, **index)
    assert not e.free_symbols, e.free_symbols
    v = complex(sympy.N(e, 30))
    assert abs(v.imag) < 1e-12
    return v.real


def fd_logdet(f, x, h=1e-6):
    n = x.size
    J = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        J[:, j] = (f(x + e) - f(x - e)) / (2 * h)
    sign, ld = np.linalg.slogdet(J)
    assert sign != 0
    return ld


def softplus(t):
    return np.log1p(np.exp(t))


def sigmoid(t):
    return 1 / (1 + np.exp(-t))


ACTIVATIONS = {"tanh": np.tanh, "exp": np.exp, "sigmoid": sigmoid, "sin": np.sin}


def planar_values(rng, D, scale=0.6):
    return {"u": rng.normal(size=D) * scale, "w": rng.normal(size=D) * scale, "b": float(rng.normal()),
            "x": rng.normal(size=D)}


def planar_map(v, h):
    return lambda x: x + v["u"] * h(v["w"] @ x + v["b"])


def assert_planar_logdet(data, h, D=5, seeds=range(3)):
    ld = Formula(result(data, "logdet")["value"]["srepr"])
    for seed in seeds:
        v = planar_values(np.random.default_rng(seed), D)
        got = numeric(ld.expr, D, v)
        want = fd_logdet(planar_map(v, h), v["x"])
        assert got == pytest.approx(want, abs=1e-6), (seed, got, want)


def assert_check_passes(out, name, inverse):
    assert out.returncode == 0, (out.stdout[-2000:], out.stderr)
    data = json.loads(out.stdout)
    assert data["name"] == name and data["all_verified"] is True
    assert data["checks"]
    for c in data["checks"]:
        assert {"name", "passed", "residual", "tolerance", "compared_with"} <= set(c)
        assert c["passed"] is True and c["residual"] <= c["tolerance"], c
    names = " ".join(c["name"] for c in data["checks"])
    assert "log-determinant" in names
    assert ("inverse" in names) == inverse


def assert_all_steps_verified(data):
    assert data["all_verified"] is True
    for s in data["sections"]:
        for st in s["steps"]:
            assert st["verified"] and st["verification"]["passed"], (s["title"], st["verification"])


# ---------------------------------------------------------------------------------------------
# 1. four layers: structure, log-determinant, inverse


@pytest.mark.parametrize("layer, name, inverse", [("planar", "my-planar", False), ("coupling", "my-coupling", True),
                                                   ("ar", "my-ar", True), ("dense", "my-dense", False)])
def test_check_layer_passes(cli, layer, name, inverse):
    """check --layer --json: exit 0, every cross-check passed; an inverse is checked only when there is one."""
    assert_check_passes(check(cli, "layer", layer), name, inverse)


@pytest.mark.parametrize("layer", ["planar", "coupling", "ar", "dense"])
def test_show_layer_verifies_every_step(cli, layer):
    data = show(cli, "layer", layer)
    assert_all_steps_verified(data)
    names = {r["name"] for r in data["results"]}
    assert {f"{data['name']}.{w}" for w in ("logdet", "condition", "volume")} <= names


def test_planar_is_diagonal_plus_rank_one_with_the_determinant_lemma(cli):
    data = show(cli, "layer", "planar")
    assert data["name"] == "my-planar"
    assert "diagonal plus rank one" in section_text(data, "logdet")
    # log|1 + (1 - tanh²(w·x + b)) u·w|: a scalar function of w·x + b and u·w, no d×d determinant
    text = result(data, "logdet")["value"]["text"]
    assert "tanh" in text and "Sum(u[l]*w[l]" in text and "det(" not in text
    assert_planar_logdet(data, np.tanh)
    assert "no closed form" in section(data, "inverse")["text"]
    assert not any(r["name"] == "my-planar.inverse" for r in data["results"])


def test_planar_invertibility_condition_is_u_dot_w_at_least_minus_one(cli):
    """tanh' takes every value in (0, 1], so t + ρ tanh(t + b) is injective iff ρ = u·w ≥ -1."""
    data = show(cli, "layer", "planar")
    cond = Formula(result(data, "condition")["value"]["condition"]["srepr"]).expr
    D = 4
    w = np.array([1.0, 0.0, 0.0, 0.0])
    for rho, expected in [(-0.5, True), (-1.0, True), (3.0, True), (-1.01, False), (-4.0, False)]:
        u = np.array([rho, 0.3, -0.2, 0.7])
        assert bool(substitute(cond, D, {"u": u, "w": w})) is expected, rho


def test_planar_volume_is_not_preserved(cli):
    data = show(cli, "layer", "planar")
    assert result(data, "volume")["value"]["verdict"] == "no"


@pytest.mark.parametrize("layer, h_of", [
    ("mean-shift", lambda v: (lambda x: x + v["u"] * np.tanh(x.mean()))),
    ("sum-shift", lambda v: (lambda x: x + np.tanh(v["w"] @ x))),
])
def test_a_rank_one_term_with_a_constant_factor_gets_the_determinant_lemma(cli, layer, h_of):
    """∂y_i/∂x_j = δ_ij + u_i h'(mean x)/d (column factor 1 for every j) or δ_ij + h'(w·x) w_j (row factor 1):
    both are rank one, so the log-det is one scalar log|1 + ...|, not a d×d determinant, even above d = 16."""
    data = show(cli, "layer", layer)
    assert_all_steps_verified(data)
    text = section_text(data, "logdet")
    assert "rank one" in text and "explicit Jacobian" not in text
    ld = Formula(result(data, "logdet")["value"]["srepr"])
    assert "Det(" not in result(data, "logdet")["value"]["srepr"]
    for D in (3, 7):
        for seed in range(3):
            rng = np.random.default_rng(seed)
            v = {"u": rng.normal(size=D) * 0.8, "w": rng.normal(size=D) * 0.8, "x": rng.normal(size=D)}
            assert numeric(ld.expr, D, v) == pytest.approx(fd_logdet(h_of(v), v["x"]), abs=1e-6), (layer, D, seed)


def test_the_mean_shift_condition_is_the_sum_of_u_at_least_minus_d(cli):
    """det = 1 + (Σu) tanh'(mean x)/d with tanh' taking every value in (0, 1]: invertible iff Σu ≥ −d."""
    data = show(cli, "layer", "mean-shift")
    cond = Formula(result(data, "condition")["value"]["condition"]["srepr"]).expr
    for D, total, expected in [(4, -3.9, True), (4, -4.0, True), (4, -4.1, False), (10, -9.5, True),
                               (10, -10.5, False), (4, 50.0, True)]:
        u = np.full(D, total / D)
        assert bool(substitute(cond, D, {"u": u})) is expected, (D, total)


def _coupling_networks(k, seed=0):
    rng = np.random.default_rng(seed)
    A, a, B, bb = rng.normal(size=(k, k)), rng.normal(size=k), rng.normal(size=(k, k)), rng.normal(size=k)
    return (lambda x2: np.tanh(A @ x2 + a)), (lambda x2: np.sin(B @ x2) + bb)


def test_coupling_is_block_triangular_with_sum_of_log_softplus(cli):
    data = show(cli, "layer", "coupling")
    assert data["name"] == "my-coupling"
    assert "block triangular" in section_text(data, "logdet")
    ld = Formula(result(data, "logdet")["value"]["srepr"])
    # Σ_i log softplus(G_i(x2)): depends on G only, not on F, and on no x1
    bases, funcs, scalars = ld.names()
    assert funcs == {"G"} and not scalars and not bases, (bases, funcs, scalars)
    assert ld.inputs["G"] in ("x_2", "x2")
    text = result(data, "logdet")["value"]["text"]
    assert text.startswith("Sum(log(") and ("softplus" in text or "log(exp(G" in text)
    for D in (2, 6, 8):
        k = D // 2
        F, G = _coupling_networks(k, seed=D)
        x = np.random.default_rng(D).normal(size=D)

        def f(z):
            z1, z2 = z[:k], z[k:]
            return np.concatenate([z1 * softplus(G(z2)) + F(z2), z2])

        got = numeric(ld.expr, D, {"G": G(x[k:])})
        assert got == pytest.approx(fd_logdet(f, x), abs=1e-6)
        assert got == pytest.approx(np.sum(np.log(softplus(G(x[k:])))), abs=1e-12)


def test_coupling_inverse_is_closed_form_and_inverts(cli):
    data = show(cli, "layer", "coupling")
    assert "closed form" in section(data, "inverse")["text"]
    assert "no closed form" not in section(data, "inverse")["text"]
    inv = result(data, "inverse")
    assert "closed form" in inv["description"]
    lhs = Formula(inv["lhs"]["srepr"]).expr
    rhs = Formula(inv["value"]["srepr"]).expr
    D = 6
    k = D // 2
    F, G = _coupling_networks(k, seed=7)
    x = np.random.default_rng(7).normal(size=D)
    x1, x2 = x[:k], x[k:]
    y1, y2 = x1 * softplus(G(x2)) + F(x2), x2
    values = {"y_1": y1, "y_2": y2, "F": F(x2), "G": G(x2)}
    truth = {"x_1": x1, "x_2": x2}
    assert len(lhs) == 2
    for row in range(2):
        target = truth[str(lhs[row].base.label)]
        for i in range(1, k + 1):
            assert numeric(rhs[row], D, values, i=i) == pytest.approx(target[i - 1], abs=1e-10)
    assert result(data, "condition")["value"]["verdict"] == "yes"  # softplus > 0


def test_autoregressive_is_lower_triangular_with_sum_of_log_c(cli):
    data = show(cli, "layer", "ar")
    assert data["name"] == "my-ar"
    assert "lower triangular" in section_text(data, "logdet")
    ld = Formula(result(data, "logdet")["value"]["srepr"])
    bases, funcs, scalars = ld.names()
    assert bases == {"c"} and not funcs and not scalars, (bases, funcs, scalars)  # no mu, no x
    assert "mu" not in result(data, "logdet")["value"]["text"]
    for D in (3, 8):
        rng = np.random.default_rng(D)
        c = np.exp(rng.normal(size=D))
        M = np.tril(rng.normal(size=(D, D)), -1)
        x = rng.normal(size=D)

        def f(z):
            return c * z + np.tanh(M @ z) ** 2  # mu_i depends on z_1..z_{i-1} only

        got = numeric(ld.expr, D, {"c": c})
        assert got == pytest.approx(np.sum(np.log(c)), abs=1e-12)
        assert got == pytest.approx(fd_logdet(f, x), abs=1e-6)
    # the log-determinant is constant: volume preserved exactly when Σ log c_i = 0
    assert result(data, "volume")["value"]["verdict"] in ("undetermined", "depends")


def test_autoregressive_inverse_is_a_recursion_and_inverts(cli):
    data = show(cli, "layer", "ar")
    assert "recursion" in section(data, "inverse")["text"]
    inv = result(data, "inverse")
    assert "recursion" in inv["description"]
    lhs = Formula(inv["lhs"]["srepr"]).expr
    rhs = Formula(inv["value"]["srepr"]).expr
    assert str(lhs[0].base.label) == "x"
    D = 5
    rng = np.random.default_rng(3)
    c, M, x = np.exp(rng.normal(size=D)), np.tril(rng.normal(size=(D, D)), -1), rng.normal(size=D)
    mu = np.tanh(M @ x)
    y = c * x + mu
    for i in range(1, D + 1):
        assert numeric(rhs[0], D, {"y": y, "c": c, "mu": mu}, i=i) == pytest.approx(x[i - 1], abs=1e-12)
    assert result(data, "condition")["value"]["verdict"] == "yes"  # c > 0


def test_dense_layer_falls_back_to_the_explicit_jacobian(cli):
    data = show(cli, "layer", "dense")
    assert data["name"] == "my-dense"
    text = section_text(data, "logdet")
    assert "explicit Jacobian" in text
    assert "rank one" not in text and "triangular" not in text
    D = 4
    for seed in range(3):
        rng = np.random.default_rng(seed)
        v = {"u": rng.normal(size=D), "W": rng.normal(size=(D, D)) * 0.7, "x": rng.normal(size=D)}
        ld = Formula(result(data, "logdet")["value"]["srepr"], D=D, values=v)
        got = numeric(ld.expr, D, v)
        want = fd_logdet(lambda z: z + v["u"] * np.tanh(v["W"] @ z), v["x"])
        assert got == pytest.approx(want, abs=1e-6)
    assert "no closed form" in section(data, "inverse")["text"]


# ---------------------------------------------------------------------------------------------
# 2. change the definition


def test_changing_tanh_to_exp_changes_the_logdet_and_still_verifies(cli):
    tanh_ld = result(show(cli, "layer", "planar"), "logdet")["value"]["text"]
    data = show(cli, "layer", "planar-exp")
    assert data["name"] == "mine"  # the default name
    assert_all_steps_verified(data)
    exp_ld = result(data, "logdet")["value"]["text"]
    assert exp_ld != tanh_ld and "tanh" not in exp_ld and "exp(" in exp_ld
    assert "diagonal plus rank one" in section_text(data, "logdet")
    assert_planar_logdet(data, np.exp)
    assert_check_passes(check(cli, "layer", "planar-exp"), "mine", inverse=False)


@pytest.mark.slow
def test_changing_tanh_to_sigmoid_changes_the_logdet_and_still_verifies(cli):
    tanh_ld = result(show(cli, "layer", "planar"), "logdet")["value"]["text"]
    data = show(cli, "layer", "planar-sigmoid")
    assert_all_steps_verified(data)
    sig_ld = result(data, "logdet")["value"]["text"]
    assert sig_ld != tanh_ld and "tanh" not in sig_ld
    assert_planar_logdet(data, sigmoid)
    assert_check_passes(check(cli, "layer", "planar-sigmoid"), "mine", inverse=False)


@pytest.mark.slow
def test_sigmoid_logdet_formula_and_condition_are_right(cli):
    """The formula reported for sigmoid is log|1 + σ'(w·x+b) u·w| and σ' ∈ (0, 1/4] gives u·w ≥ -4."""
    out = cli("show", "--layer", "{}/planar-sigmoid.toml", "--json")
    assert out.returncode in (0, 1) and "Traceback" not in out.stderr
    data = json.loads(out.stdout)
    assert_planar_logdet(data, sigmoid)
    cond = Formula(result(data, "condition")["value"]["condition"]["srepr"]).expr
    w = np.array([1.0, 0.0, 0.0])
    for rho, expected in [(-3.9, True), (-4.0, True), (-4.1, False)]:
        assert bool(substitute(cond, 3, {"u": np.array([rho, 1.0, 1.0]), "w": w})) is expected


def test_changing_tanh_to_sin_still_verifies(cli):
    out = cli("show", "--layer", "{}/planar-sin.toml", "--json")
    assert "internal error" not in out.stderr
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert_all_steps_verified(data)
    assert_planar_logdet(data, np.sin)


# ---------------------------------------------------------------------------------------------
# 3. flows


def _natural(name):
    m = re.search(r"(\d+)\)?$", name)
    return (int(m.group(1)) if m else -1, name)


def _intermediate(name, hs, k):
    """x -> h0, x^(m) -> h_m, x_1^(m) / x_2^(m) -> halves of h_m."""
    m = re.fullmatch(r"x(?:_([12]))?(?:\^\((\d+)\))?", name)
    assert m, name
    h = hs[int(m.group(2) or 0)]
    return h if m.group(1) is None else (h[:k] if m.group(1) == "1" else h[k:])


def test_flow_show_mixes_catalogue_and_file_layers(cli):
    data = show(cli, "flow", "flow")
    assert data["name"] == "my-flow"
    assert_all_steps_verified(data)
    names = [r["name"] for r in data["results"]]
    assert "my-flow.logdet" in names
    assert len(data["givens"]) == 5
    assert "composition" in section_text(data, "logdet")
    ld = Formula(result(data, "logdet")["value"]["srepr"])
    bases, funcs, scalars = ld.names()
    # the two realnvp layers' conditioners are renamed apart
    assert len(funcs) == 2, funcs
    # the chain rule, evaluated on a flow written out here:
    #   actnorm y = exp(ell)*x + m;  planar;  reverse;  realnvp y1 = x1*exp(G(x2)) + F(x2), y2 = x2 (twice)
    D, k = 8, 4
    rng = np.random.default_rng(11)
    ell, m = rng.normal(size=D) * 0.5, rng.normal(size=D)
    u, w, b = rng.normal(size=D) * 0.5, rng.normal(size=D) * 0.5, float(rng.normal())
    nets = [_coupling_networks(k, seed=s) for s in (21, 22)]

    def layers():
        yield lambda z: np.exp(ell) * z + m
        yield lambda z: z + u * np.tanh(w @ z + b)
        yield lambda z: z[::-1]
        for F, G in nets:
            yield (lambda F, G: lambda z: np.concatenate([z[:k] * np.exp(G(z[k:])) + F(z[k:]), z[k:]]))(F, G)

    def flow(z):
        for f in layers():
            z = f(z)
        return z

    x = rng.normal(size=D)
    hs = [x]
    for f in layers():
        hs.append(f(hs[-1]))
    values = {}
    for name in bases:
        stem = re.split(r"[_^]", name)[0]
        values[name] = {"ell": ell, "u": u, "w": w}[stem] if stem in ("ell", "u", "w") else _intermediate(name, hs, k)
    for name in scalars:
        assert re.split(r"[_^]", name)[0] == "b", name
        values[name] = b
    for (F, G), name in zip(nets, sorted(funcs, key=_natural)):
        values[name] = G(_intermediate(ld.inputs[name], hs, k))
    got = numeric(ld.expr, D, values)
    assert got == pytest.approx(fd_logdet(flow, x), abs=1e-6)


def test_flow_check_passes(cli):
    out = check(cli, "flow", "flow")
    assert_check_passes(out, "my-flow", inverse=False)


@pytest.mark.slow
def test_flow_using_one_file_twice_renames_its_parameters_apart(cli):
    data = show(cli, "flow", "flow-twice")
    assert data["name"] == "two-planar"
    assert_all_steps_verified(data)
    ld = Formula(result(data, "logdet")["value"]["srepr"])
    bases, funcs, scalars = ld.names()
    us = sorted((n for n in bases if re.split(r"[_^]", n)[0] == "u"), key=_natural)
    ws = sorted((n for n in bases if re.split(r"[_^]", n)[0] == "w"), key=_natural)
    bs = sorted((n for n in scalars if re.split(r"[_^]", n)[0] == "b"), key=_natural)
    assert len(us) == len(ws) == len(bs) == 2, (bases, scalars)
    D = 4
    rng = np.random.default_rng(5)
    P = [planar_values(rng, D) for _ in range(2)]
    ell, m = rng.normal(size=D) * 0.5, rng.normal(size=D)
    fs = [planar_map(P[0], np.tanh), lambda z: z[::-1], planar_map(P[1], np.tanh), lambda z: np.exp(ell) * z + m]
    x = rng.normal(size=D)
    hs = [x]
    for f in fs:
        hs.append(f(hs[-1]))
    values = {}
    for j in range(2):
        values.update({us[j]: P[j]["u"], ws[j]: P[j]["w"], bs[j]: P[j]["b"]})
    for name in bases - set(us) - set(ws):
        values[name] = ell if re.split(r"[_^]", name)[0] == "ell" else _intermediate(name, hs, D // 2)

    def flow(z):
        for f in fs:
            z = f(z)
        return z

    assert numeric(ld.expr, D, values) == pytest.approx(fd_logdet(flow, x), abs=1e-6)
    assert_check_passes(check(cli, "flow", "flow-twice"), "two-planar", inverse=False)


# ---------------------------------------------------------------------------------------------
# 4. d > 16 with no structure: the log-determinant is not derived


def test_dense_layer_above_16_is_unverified_exit_1(cli):
    out = cli("show", "--layer", "{}/bigdense.toml", "--json")
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    data = json.loads(out.stdout)
    assert data["all_verified"] is False
    assert "big-dense.logdet" not in {r["name"] for r in data["results"]}
    steps = section(data, "logdet")["steps"]
    assert steps and not any(st["verified"] for st in steps)
    assert any(st["rhs"]["text"] == "unknown" for st in steps)
    assert "16" in section_text(data, "logdet")
    text = cli("show", "--layer", "{}/bigdense.toml")
    assert text.returncode == 1
    assert "UNVERIFIED" in text.stdout


def test_check_dense_layer_above_16_reports_instead_of_crashing(cli):
    out = cli("check", "--layer", "{}/bigdense.toml", "--json")
    assert "internal error" not in out.stderr
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert data["name"] == "big-dense" and data["all_verified"] is False


# ---------------------------------------------------------------------------------------------
# 5. refusals

BAD_LAYERS = {
    "matrix-outside-matvec": '[parameters]\nW = "matrix"\n[equations]\ny = "x + W*x"\n',
    "coupling-of-x1": 'dim = 8\n[conditioners]\nF = "coupling"\n[equations]\ny1 = "x1 + F(x1)"\ny2 = "x2"\n',
    "coupling-of-part": 'dim = 8\n[conditioners]\nF = "coupling"\n[equations]\ny1 = "x1 + F(2*x2)"\ny2 = "x2"\n',
    "autoregressive-of-part": '[conditioners]\nmu = "autoregressive"\n[equations]\ny = "x + mu(2*x)"\n',
    "nested-reduction": '[parameters]\nw = "vector"\n[equations]\ny = "x + dot(w, x*sum(x))"\n',
    "y2-depends-on-x1": 'dim = 8\n[equations]\ny1 = "x1"\ny2 = "x2 + x1"\n',
    "odd-dim-with-halves": 'dim = 7\n[equations]\ny1 = "x1*exp(x2)"\ny2 = "x2"\n',
    "dim-too-big": 'dim = 4096\n[equations]\ny = "2*x"\n',
    "unknown-key": 'bogus = 3\n[equations]\ny = "2*x"\n',
    "reserved-x": '[parameters]\nx = "vector"\n[equations]\ny = "x"\n',
    "reserved-dot": '[parameters]\ndot = "scalar"\n[equations]\ny = "x*dot"\n',
    "not-an-identifier": '[parameters]\n"2a" = "scalar"\n[equations]\ny = "x"\n',
    "unknown-function": '[equations]\ny = "x + foo(x)"\n',
    "dunder-import": '[equations]\ny = "x + __import__(\'os\').getcwd()"\n',
    "undeclared-name": '[equations]\ny = "x + q"\n',
    "invalid-toml": 'name = "a\n[equations\n',
}


def assert_refused(out):
    assert out.returncode == 2, (out.returncode, out.stdout[-500:], out.stderr)
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("derive: error:")
    assert out.stderr.count("\n") == 1 and out.stderr.endswith("\n")
    assert out.stdout == ""


@pytest.mark.parametrize("case", sorted(BAD_LAYERS))
def test_bad_layer_is_refused(tmp_path, case):
    f = tmp_path / "bad.toml"
    f.write_text(BAD_LAYERS[case])
    assert_refused(run("show", "--layer", str(f)))


@pytest.mark.parametrize("case", ["y2-depends-on-x1", "invalid-toml"])
def test_bad_layer_is_refused_by_check_json(tmp_path, case):
    f = tmp_path / "bad.toml"
    f.write_text(BAD_LAYERS[case])
    assert_refused(run("check", "--layer", str(f), "--json"))


def test_missing_file_and_folder_are_refused(tmp_path):
    assert_refused(run("show", "--layer", str(tmp_path / "nothere.toml")))
    (tmp_path / "folder.toml").mkdir()
    assert_refused(run("show", "--layer", str(tmp_path / "folder.toml")))


@pytest.mark.parametrize("layers", ['["nosuch"]', '["nothere.toml"]', '["bad.toml", "reverse"]', "[]"])
def test_bad_flow_is_refused(tmp_path, layers):
    (tmp_path / "bad.toml").write_text(BAD_LAYERS["nested-reduction"])
    (tmp_path / "flow.toml").write_text(f'name = "f"\ndim = 4\nlayers = {layers}\n')
    assert_refused(run("show", "--flow", str(tmp_path / "flow.toml")))


@pytest.mark.parametrize("args", [("show", "affine", "--layer", "LAYER"), ("show",), ("check",),
                                  ("show", "--layer", "LAYER", "--flow", "LAYER")])
def test_zero_or_two_sources_are_refused(tmp_path, args):
    f = tmp_path / "ok.toml"
    f.write_text(LAYERS["ar"])
    assert_refused(run(*(str(f) if a == "LAYER" else a for a in args)))


# ---------------------------------------------------------------------------------------------
# 6. nothing is evaluated


def test_equations_are_never_evaluated(tmp_path):
    layer = tmp_path / "evil.toml"
    layer.write_text('[equations]\ny = "x + __import__(\'os\').system(\'touch PWNED\')"\n')
    (tmp_path / "flow.toml").write_text('name = "f"\ndim = 4\nlayers = ["evil.toml"]\n')
    for args in (("show", "--layer", str(layer)), ("check", "--layer", str(layer), "--json"),
                 ("show", "--flow", str(tmp_path / "flow.toml"))):
        assert_refused(run(*args, cwd=tmp_path))
    assert not (tmp_path / "PWNED").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.toml", "flow.toml"]
