"""The PyTorch code (``derive_torch.py``): every function and module against autograd and the numpy code.

Expected values do not come from the printed torch code itself:

* the log-determinant of every catalogue layer and stack is compared with ``slogdet`` of the Jacobian that
  ``torch.autograd.functional.jacobian`` takes of the printed *forward map* (autodiff, not the derivation);
* forward, inverse and log-det are compared with the printed numpy functions, which the numpy
  cross-checks already hold against the hand-written references of ``derive.numeric.flow_reference``;
* ``torch.autograd.gradcheck`` compares autograd's gradients of forward-and-log-det with finite differences;
* float32 results are compared with the float64 ones at float32 tolerances, and must stay float32.

The conditioners are torch copies of the reference networks (same weights), so the numpy and torch code
compute the same function.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")

from derive import flows  # noqa: E402
from derive.flows.crosscheck import RENAME  # noqa: E402
from derive.flows.numeric import NUMPY, TORCH, ident, namespace, sources  # noqa: E402
from derive.numeric import flow_reference as ref  # noqa: E402
from derive.render.torch_module import class_name, module_source  # noqa: E402
from tests.isolated import run_without_derive  # noqa: E402

torch.set_num_threads(1)


class Net(torch.nn.Module):
    """A torch copy of a reference conditioner: scale·tanh(x Wᵀ + c), or with one hidden layer."""

    def __init__(self, cond, dtype=torch.float64):
        super().__init__()
        t = lambda a: torch.nn.Parameter(torch.as_tensor(a, dtype=dtype))  # noqa: E731
        self.scale = cond.scale
        if hasattr(cond, "W1"):
            self.W1, self.b1, self.W2, self.b2 = t(cond.W1), t(cond.b1), t(cond.W2), t(cond.b2)
        else:
            self.W, self.c = t(cond.W), t(cond.c)

    def forward(self, x):
        if hasattr(self, "W1"):
            return self.scale * torch.tanh(torch.tanh(x @ self.W1.T + self.b1) @ self.W2.T + self.b2)
        return self.scale * torch.tanh(x @ self.W.T + self.c)


class Printed(dict):
    """name -> (numpy namespace, torch namespace) of a catalogue entry, printed when first asked for."""

    def __missing__(self, name):
        der = flows.derive(name)
        self[name] = (namespace(sources(der), NUMPY), namespace(sources(der, TORCH) + [module_source(der)], TORCH))
        return self[name]


@pytest.fixture(scope="module")
def code():
    return Printed()


def _case(name, d=6, rows=5, seed=0, dtype=torch.float64):
    """Parameters (numpy and torch) and an input batch for layer ``name``."""
    ref_name = name.replace("-", "_")
    rng = np.random.default_rng(seed)
    params = ref.LAYERS[ref_name](rng, d if ref_name != "conv1x1" else 4)
    mine = {RENAME.get(k, k): v for k, v in params.items()}
    shape = (rows, d) if ref_name != "conv1x1" else (rows, 2, 3, 4)
    x = rng.normal(size=shape) * 0.8

    def tensor(v):
        return Net(v, dtype) if callable(v) else torch.as_tensor(np.asarray(v, dtype=float), dtype=dtype)

    return mine, {k: tensor(v) for k, v in mine.items()}, x


NAMES = flows.names()
FAST = ("seed", "maf", "lu-linear", "planar", "conv1x1")


def sweep(names):
    """Every name, the ones outside FAST marked slow (CI runs both)."""
    return [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in names]


@pytest.mark.parametrize("name", sweep(NAMES))
def test_torch_functions_equal_the_numpy_ones(code, name):
    np_ns, t_ns = code[name]
    mine, tmine, x = _case(name)
    base = ident(name)
    xt = torch.as_tensor(x)
    y, ld = t_ns[f"{base}_forward_and_logdet"](xt, **tmine)
    np.testing.assert_allclose(y.detach().numpy(), np_ns[f"{base}_forward"](x, **mine), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ld.detach().numpy(), np_ns[f"{base}_logdet"](x, **mine), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(t_ns[f"{base}_logdet"](xt, **tmine).detach().numpy(), ld.detach().numpy(),
                               rtol=1e-13, atol=1e-13)
    if f"{base}_inverse_and_logdet" in t_ns:
        back, ld_inv = t_ns[f"{base}_inverse_and_logdet"](y.detach(), **tmine)
        np.testing.assert_allclose(back.detach().numpy(), x, atol=1e-8)
        np.testing.assert_allclose(ld_inv.detach().numpy(), -ld.detach().numpy(), atol=1e-8)


@pytest.mark.parametrize("name", sweep([n for n in NAMES if n != "conv1x1"]))
def test_torch_logdet_is_slogdet_of_the_autograd_jacobian(code, name):
    """log|det| from the printed formula against autodiff of the printed forward map, row by row."""
    _, t_ns = code[name]
    _, tmine, x = _case(name, seed=1)
    base = ident(name)
    fwd = t_ns[f"{base}_forward"]
    ld = t_ns[f"{base}_logdet"](torch.as_tensor(x), **tmine).detach()
    for row in range(x.shape[0]):
        jac = torch.autograd.functional.jacobian(lambda v: fwd(v, **tmine), torch.as_tensor(x[row]))
        sign, want = torch.linalg.slogdet(jac)
        assert sign != 0
        assert float(ld[row]) == pytest.approx(float(want), abs=1e-10), (name, row)


@pytest.mark.parametrize("name", sweep(["seed", "glow", "maf", "planar", "radial", "sylvester", "lu-linear",
                                        "glow-step", "sinh-arcsinh", "householder"]))
def test_gradcheck_of_forward_and_logdet(code, name):
    """autograd's gradients of (y, log|det|) with respect to x and every parameter, against finite
    differences (torch.autograd.gradcheck, float64)."""
    _, t_ns = code[name]
    _, tmine, x = _case(name, d=4, rows=3, seed=2)
    base = ident(name)
    params = {k: v.detach().clone().requires_grad_(True) for k, v in tmine.items() if not callable(v)}
    nets = {k: v for k, v in tmine.items() if callable(v)}
    keys = list(params)

    def f(xx, *ps):
        return t_ns[f"{base}_forward_and_logdet"](xx, **dict(zip(keys, ps)), **nets)

    xt = torch.as_tensor(x).requires_grad_(True)
    assert torch.autograd.gradcheck(f, (xt, *params.values()), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sweep(NAMES))
def test_float32_in_float32_out(code, name):
    """float32 input, parameters and networks: float32 results within float32 tolerances of float64."""
    _, t_ns = code[name]
    _, t64, x = _case(name, seed=3)
    _, t32, _ = _case(name, seed=3, dtype=torch.float32)
    base = ident(name)
    y64, ld64 = (t.detach() for t in t_ns[f"{base}_forward_and_logdet"](torch.as_tensor(x), **t64))
    y32, ld32 = (t.detach() for t in t_ns[f"{base}_forward_and_logdet"](torch.as_tensor(x, dtype=torch.float32), **t32))
    assert y32.dtype == torch.float32 and ld32.dtype == torch.float32
    scale = 1 + float(y64.abs().max())
    assert float((y32.double() - y64).abs().max()) < 1e-5 * scale
    assert float((ld32.double() - ld64).abs().max()) < 1e-4 * (1 + float(ld64.abs().max()))


def test_the_module_trains_its_parameters_and_networks(code):
    """The seed block as an nn.Module: parameters and the conditioners' weights get gradients, and a few
    steps of gradient descent on −log p(x) lower it."""
    _, t_ns = code["seed"]
    _, tmine, x = _case("seed", d=8, rows=64, seed=4)
    layer = t_ns[class_name("seed")](tmine["s"], tmine["F"], tmine["G"])
    names = {n for n, _ in layer.named_parameters()}
    assert {"s", "F.W", "F.c", "G.W", "G.c"} <= names
    opt = torch.optim.SGD(layer.parameters(), lr=0.05)
    xt = torch.as_tensor(x) * 3.0

    def nll():
        z, ld = layer(xt)
        return (0.5 * (z ** 2).sum(dim=-1) - ld).mean()

    first = nll().item()
    for _ in range(20):
        opt.zero_grad()
        loss = nll()
        loss.backward()
        opt.step()
    assert nll().item() < first - 0.1
    back, ld_inv = layer.inverse(layer(xt)[0])
    assert torch.allclose(back, xt, atol=1e-8)


def test_a_layer_without_inverse_has_no_inverse_method(code):
    assert not hasattr(code["planar"][1][class_name("planar")], "inverse")
    assert hasattr(code["lu-linear"][1][class_name("lu-linear")], "inverse")


def test_the_written_module_needs_only_torch_and_matches_the_sheet():
    """outputs/derive_torch.py (what `derive all` wrote; `derive all --check` holds it current) imports torch
    alone and runs with derive and sympy blocked; its sheet functions give the values worked out here by hand."""
    import ast
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "outputs"
    tree = ast.parse((folder / "derive_torch.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported == {"torch"}
    assert "np." not in (folder / "derive_torch.py").read_text()
    out = run_without_derive(folder, """
        import torch, derive_torch as dt
        g = torch.Generator().manual_seed(0)
        W = torch.randn(3, 3, generator=g, dtype=torch.float64); s = torch.randn(3, generator=g, dtype=torch.float64)
        F = lambda v: torch.tanh(v @ W.T); G = lambda v: torch.sin(v @ W)
        def boom(v): raise RuntimeError('F called')
        x = torch.randn(4, 6, generator=g, dtype=torch.float64)
        y, ld = dt.coupling_forward_and_logdet(x, F, G, s)
        back, ld_inv = dt.coupling_inverse_and_logdet(y, F, G, s)
        out = dict(x=x.tolist(), y=y.tolist(), W=W.tolist(), s=s.tolist(), ld=ld.tolist(),
                   ld_noF=dt.coupling_logdet(x, boom, G, s).tolist(), back=back.tolist(), ld_inv=ld_inv.tolist(),
                   kl=float(dt.kl_gaussian_standard(torch.tensor(1.0, dtype=torch.float64),
                                                    torch.tensor(2.0, dtype=torch.float64))),
                   modules=sorted(n for n in dir(dt) if isinstance(getattr(dt, n), type)
                                  and issubclass(getattr(dt, n), torch.nn.Module)))
        print(json.dumps(out))
    """)
    x, y, W, s = (np.array(out[k]) for k in ("x", "y", "W", "s"))
    x1, x2 = x[:, :3], x[:, 3:]
    G = np.sin(x2 @ W)
    np.testing.assert_allclose(y, np.concatenate([np.exp(G) * x1 + np.tanh(x2 @ W.T), np.exp(s) * x2], 1),
                               rtol=1e-13)  # equation (1), by hand
    np.testing.assert_allclose(out["ld"], G.sum(1) + s.sum(), rtol=1e-13)
    np.testing.assert_allclose(out["ld_noF"], out["ld"], rtol=0)
    np.testing.assert_allclose(out["back"], x, atol=1e-12)
    np.testing.assert_allclose(out["ld_inv"], -np.array(out["ld"]), rtol=1e-13)
    assert abs(out["kl"] - (0.5 * (1 + 4 - 1) - np.log(2))) < 1e-12
    assert {class_name(n) for n in flows.names()} <= set(out["modules"])


@pytest.mark.parametrize("name", ["lu-linear", "glow-step", "upper"])
def test_the_matrix_path_of_affine_layers_equals_numpy(code, name):
    """More rows than features: an affine layer or run (with actnorm's offset in the Glow step) goes through
    its matrix; forward and inverse still equal the numpy code's."""
    np_ns, t_ns = code[name]
    mine, tmine, x = _case(name, rows=9)
    base = ident(name)
    y = t_ns[f"{base}_forward"](torch.as_tensor(x), **tmine).detach()
    np.testing.assert_allclose(y.numpy(), np_ns[f"{base}_forward"](x, **mine), rtol=1e-12, atol=1e-12)
    back = t_ns[f"{base}_inverse"](y, **tmine).detach()
    np.testing.assert_allclose(back.numpy(), x, atol=1e-8)


def _printed(exprs, lib, names, sizes):
    from derive.flows.codegen import Printer
    from derive.flows.index import I, K

    pr = Printer(names, sizes, None, lib)
    pr.index_sizes, pr.batched = {I: list(sizes)[0], K: list(sizes)[0]}, {next(iter(names))}
    codes = pr.print_all(exprs)
    return [c.text for c in codes], dict(pr.hoisted)


def _run(texts, hoisted, env):
    ns = dict(env)
    for call, name in hoisted.items():
        exec(f"{name} = {call}", ns)  # code printed by derive's printer, in a test
    return [eval(t, ns) for t in texts]


def test_a_sum_with_a_product_is_one_addcmul_and_equals_the_plain_sum():
    """The torch printer's fused multiply-add, with coefficients other than 1 and terms on different axes (rows
    = d, so that a misaligned operand would broadcast silently), against the same expressions printed plain;
    a sum whose rest does not depend on the batch, or a multiplied sum (spreading it would cancel digits in
    float32), stays as it is; numpy code is never fused."""
    import sympy as sp

    from derive.flows.codegen import Torch
    from derive.flows.index import I, K

    class Plain(Torch):
        fused = False

    x, b, ell, W, v = (sp.IndexedBase(n) for n in ("x", "b", "ell", "W", "v"))
    d = sp.Symbol("d", integer=True, positive=True)
    row = sp.Sum(x[K] * v[K], (K, 1, d))
    fused = [sp.sin(x[I]) - 2 * x[I] * sp.exp(ell[I]), sp.tanh(x[I]) + x[I] * ell[I] * b[I] / 5,
             x[K] + x[I] * W[I, K], row + x[I] * ell[I], x[I] + row * ell[I] * x[K], x[I] * v[I] + 2 * x[I] * ell[I]]
    plain = [b[I] + x[I] * W[I, K], 3 * (b[I] + x[I]) * sp.exp(ell[I]), b[I] - 2 * x[I] * sp.exp(ell[I])]
    names, sizes = {x: "x", b: "b", ell: "ell", W: "W", v: "v"}, {d: "d"}
    rng = np.random.default_rng(0)
    env = {"torch": torch, "d": 4, **{k: torch.tensor(rng.normal(size=s)) for k, s in
                                     (("x", (4, 4)), ("b", 4), ("ell", 4), ("W", (4, 4)), ("v", 4))}}
    for exprs, is_fused in ((fused, True), (plain, False)):
        texts, hoisted = _printed(exprs, Torch("x"), names, sizes)
        assert all(t.startswith("torch.addcmul(") == is_fused for t in texts), texts
        want = _run(*_printed(exprs, Plain("x"), names, sizes), env)
        for text, got, expected in zip(texts, _run(texts, hoisted, env), want):
            torch.testing.assert_close(got, expected, rtol=1e-13, atol=1e-13, msg=text)
    texts = _printed(fused, Torch("x"), names, sizes)[0]
    assert "value=-2.0" in texts[0] and "value=0.2" in texts[1]
    assert not any("addcmul" in t for t in _printed(fused, None, names, sizes)[0])


def test_the_fused_torch_code_keeps_accuracy_and_takes_parameters_as_numbers(code):
    """ActNorm on data far from 0 (what its initialisation centres) in float32 is as accurate as (x + b)·exp(ℓ)
    rounded once per operation, and a parameter given as a Python number still works."""
    ns = code["actnorm"][1]
    rng = np.random.default_rng(2)
    x = torch.tensor(1000 + rng.normal(size=(64, 5)), dtype=torch.float32)
    b, ell = -x.mean(0), -torch.log(x.std(0))                          # float32 parameters
    y = ns["actnorm_forward"](x, b, ell)
    reference = (x.double() + b.double()) * torch.exp(ell.double())   # the same numbers, in float64
    assert float((y.double() - reference).abs().max()) < 3e-6   # spread into b·e^ℓ + x·e^ℓ: about 2e-5
    back, ld = ns["actnorm_inverse_and_logdet"](y, 0.5, ell)
    assert back.dtype == torch.float32 and ld.shape == (64,)
    assert code["affine"][1]["affine_forward"](x, 2.0, 0.5).shape == x.shape


# -- the KL catalogue's functions in derive_torch.py -------------------------------------------------------------

KL_ARGS = {"kl_normal_normal": (0.3, 1.2, -0.4, 0.8), "kl_gamma_gamma": (2.5, 1.5, 1.7, 0.9),
           "kl_beta_beta": (2.0, 3.0, 1.5, 0.7), "kl_gumbel_gumbel": (0.2, 1.3, -0.1, 0.9),
           "kl_bernoulli_bernoulli": (0.3, 0.6), "kl_uniform_beta": (0.1, 0.8, 2.0, 1.5),
           "kl_cauchy_cauchy": (0.0, 1.0, 0.5, 2.0), "kl_poisson_poisson": (2.5, 4.0),
           "kl_laplace_laplace": (0.2, 1.1, -0.3, 0.7), "kl_exponential_exponential": (1.7, 0.6),
           "kl_lognormal_lognormal": (0.1, 0.5, -0.2, 0.9), "kl_halfnormal_halfnormal": (1.3, 0.8),
           "kl_uniform_uniform": (0.1, 0.9, -0.2, 1.4), "kl_geometric_geometric": (0.35, 0.6)}


def _written(name: str):
    from pathlib import Path

    import importlib.util

    path = Path(__file__).resolve().parent.parent / "outputs" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"written_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("fn", sorted(KL_ARGS))
def test_the_kl_functions_equal_numpy_follow_the_dtype_and_differentiate(fn):
    """derive_torch.py's kl_<p>_<q> against derive_numeric.py's, in float64 and float32, and autograd's gradient
    against central finite differences of the numpy function."""
    tm, nm = _written("derive_torch"), _written("derive_numeric")
    args = KL_ARGS[fn]
    expected = float(getattr(nm, fn)(*args))
    xs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args]
    got = getattr(tm, fn)(*xs)
    assert got.dtype == torch.float64 and got.item() == pytest.approx(expected, rel=1e-12)
    got.backward()
    for k, a in enumerate(args):
        h = 1e-6 * max(1.0, abs(a))
        up, down = list(args), list(args)
        up[k], down[k] = a + h, a - h
        fd = (float(getattr(nm, fn)(*up)) - float(getattr(nm, fn)(*down))) / (2 * h)
        assert xs[k].grad.item() == pytest.approx(fd, rel=1e-5, abs=1e-7), (fn, k)
    single = getattr(tm, fn)(*[torch.tensor(a, dtype=torch.float32) for a in args])
    assert single.dtype == torch.float32 and single.item() == pytest.approx(expected, rel=1e-5)
