"""The catalogue of flow layers: each entry is only its definition.

Every layer is given by the component equations of its outputs in index
notation; the driver (:mod:`derive.flows.driver`) finds the structure and
derives everything else.  Conventions follow the sheet's block where a layer
has halves: x = (x_1, x_2) with d = 2k, x_1 transformed, x_2 conditioning.
Adding a layer is adding a definition here and one line to ``CATALOGUE``.
"""
from __future__ import annotations

import sympy as sp

from ..notation import Component
from .index import I, K, R, Prefix
from .layer import Conditioner, Layer, Param

d = sp.Symbol("d", integer=True, positive=True)
k = sp.Symbol("k", integer=True, positive=True)
m = sp.Symbol("m", integer=True, positive=True)


def _vec(name, positive=False):
    return sp.IndexedBase(name, real=True, positive=positive or None)


x, y = _vec("x"), _vec("y")
x1, x2, y1, y2 = _vec("x_1"), _vec("x_2"), _vec("y_1"), _vec("y_2")
F, G = sp.Symbol("F"), sp.Symbol("G")


def elementwise(name, title, h, params=(), description=""):
    """y_i = h(x_i) with per-component parameters."""
    import re

    written = re.sub(r"([A-Za-z]+)\[i\]", r"\1_i", str(h))  # a[i]*x[i] + b[i] -> a_i*x_i + b_i
    return Layer(name, title, description or f"element-wise: y_i = {written}", d, (x,), (y,), (h,), params)


def _p(name, note="", positive=False):
    base = _vec(name, positive)
    return base, Param(base, (d,), note + (" (positive)" if positive else ""))


a, A_p = _p("a", "scale")
b, B_p = _p("b", "shift")
eps, EPS_p = _p("epsilon", "skew")
delta, DELTA_p = _p("delta", "tail weight")
logs, LOGS_p = _p("ell", "log-scale")
ELEMENTWISE = [
    elementwise("affine", "Element-wise affine", a[I] * x[I] + b[I], (A_p, B_p)),
    elementwise("exp", "Element-wise exp", sp.exp(x[I])),
    elementwise("softplus", "Element-wise softplus", sp.log(1 + sp.exp(x[I]))),
    elementwise("sigmoid", "Element-wise sigmoid", 1 / (1 + sp.exp(-x[I]))),
    elementwise("tanh", "Element-wise tanh", sp.tanh(x[I])),
    elementwise("arcsinh", "Element-wise arcsinh", sp.asinh(x[I])),
    elementwise("sinh-arcsinh", "Sinh-arcsinh", sp.sinh(delta[I] * sp.asinh(x[I]) - eps[I]), (EPS_p, DELTA_p)),
    elementwise("actnorm", "ActNorm", (x[I] + b[I]) * sp.exp(logs[I]), (B_p, LOGS_p),
                "ActNorm (Glow): y_i = (x_i + b_i) exp(ℓ_i), per-channel shift and log-scale"),
]


def coupling(name, title, eq1, eq2=None, conds=(F, G), params=(), description=""):
    """A coupling block: y_1 from x_1 given x_2, y_2 from x_2 alone."""
    conditioners = tuple(Conditioner(c, "coupling", f"{c}: R^k → R^k, a network of x_2") for c in conds)
    return Layer(name, title, description, k, (x1, x2), (y1, y2), (eq1, eq2 if eq2 is not None else x2[I]),
                 params, conditioners, check_sizes=(1, 2, 3))


Fi, Gi = Component(F, I, x2), Component(G, I, x2)
s_, S_p = _vec("s"), Param(_vec("s"), (k,), "log-scale of the second half")
COUPLINGS = [
    coupling("nice", "NICE additive coupling", x1[I] + Fi, conds=(F,),
             description="NICE: y_1 = x_1 + F(x_2), y_2 = x_2"),
    coupling("realnvp", "RealNVP affine coupling", sp.exp(Gi) * x1[I] + Fi,
             description="RealNVP: y_1 = exp(G(x_2)) ∘ x_1 + F(x_2), y_2 = x_2"),
    coupling("glow", "Glow affine coupling", (x1[I] + Fi) / (1 + sp.exp(-(Gi + 2))),
             description="Glow (as in its code): y_1 = sigmoid(G(x_2) + 2) ∘ (x_1 + F(x_2)), y_2 = x_2"),
    coupling("seed", "The sheet's block", sp.exp(Gi) * x1[I] + Fi, sp.exp(s_[I]) * x2[I], params=(S_p,),
             description="the sheet's equation (1): y_1 = exp(G(x_2)) ∘ x_1 + F(x_2), y_2 = exp(s) ∘ x_2"),
    coupling("scaled-nice", "Additive coupling with a fixed scale", x1[I] + Fi, sp.exp(s_[I]) * x2[I], conds=(F,),
             params=(S_p,), description="y_1 = x_1 + F(x_2), y_2 = exp(s) ∘ x_2"),
    coupling("gin", "GIN volume-preserving coupling",
             sp.exp(Gi - sp.Sum(Component(G, K, x2), (K, 1, k)) / k) * x1[I] + Fi,
             description="GIN: y_1 = exp(G(x_2) − mean G(x_2)) ∘ x_1 + F(x_2), y_2 = x_2"),
]

mu, alpha_c, mm, sg = sp.Symbol("mu"), sp.Symbol("alpha"), sp.Symbol("m"), sp.Symbol("s")


def autoregressive(name, title, eq, conds, description):
    conditioners = tuple(Conditioner(c, "autoregressive", f"{c}: R^d → R^d, output i a function of x_1..x_(i-1)")
                         for c in conds)
    return Layer(name, title, description, d, (x,), (y,), (eq,), (), conditioners)


def _sigmoid(z):
    return 1 / (1 + sp.exp(-z))


AUTOREGRESSIVE = [
    autoregressive("maf", "Masked autoregressive flow (MAF)",
                   (x[I] - Prefix(mu, I, x)) * sp.exp(-Prefix(alpha_c, I, x)), (mu, alpha_c),
                   "MAF: y_i = (x_i − μ_i(x_<i)) exp(−α_i(x_<i))"),
    autoregressive("iaf", "Inverse autoregressive flow (IAF)",
                   _sigmoid(Prefix(sg, I, x)) * x[I] + (1 - _sigmoid(Prefix(sg, I, x))) * Prefix(mm, I, x), (mm, sg),
                   "IAF: y_i = σ_i x_i + (1 − σ_i) m_i(x_<i), σ_i = sigmoid(s_i(x_<i))"),
]

u, w, v, x0 = _vec("u"), _vec("w"), _vec("v"), _vec("x_0")
bb = sp.Symbol("b", real=True)
alpha = sp.Symbol("alpha", positive=True)
beta = sp.Symbol("beta", real=True)
U_, L_, A_, B_, c_ = (sp.IndexedBase(n, real=True) for n in ("U", "L", "A", "B", "c"))
r = sp.sqrt(sp.Sum((x[K] - x0[K]) ** 2, (K, 1, d)))


def single(name, title, eq, params, description, **kw):
    return Layer(name, title, description, d, (x,), (y,), (eq,), params, **kw)


LOW_RANK = [
    single("planar", "Planar flow", x[I] + u[I] * sp.tanh(sp.Sum(w[K] * x[K], (K, 1, d)) + bb),
           (Param(u, (d,)), Param(w, (d,)), Param(bb, ())), "planar: y = x + u tanh(wᵀx + b)"),
    single("radial", "Radial flow", x[I] + beta * (x[I] - x0[I]) / (alpha + r),
           (Param(x0, (d,), "centre"), Param(alpha, (), "positive"), Param(beta, ())),
           "radial: y = x + β (x − x_0)/(α + r), r = ‖x − x_0‖, α > 0", check_sizes=(1, 2, 3)),
    single("sylvester", "Sylvester flow",
           x[I] + sp.Sum(A_[I, R] * sp.tanh(sp.Sum(B_[R, K] * x[K], (K, 1, d)) + c_[R]), (R, 1, m)),
           (Param(A_, (d, m)), Param(B_, (m, d)), Param(c_, (m,))), "Sylvester: y = x + A tanh(B x + c), A d×m, "
           "B m×d", latent=m, check_sizes=(1, 2, 3)),
    single("householder", "Householder reflection",
           x[I] - 2 * v[I] * sp.Sum(v[K] * x[K], (K, 1, d)) / sp.Sum(v[K] ** 2, (K, 1, d)),
           (Param(v, (d,)),), "Householder: y = x − 2 v (vᵀx)/(vᵀv)"),
    single("reverse", "Permutation (reverse order)", x[d + 1 - I], (), "permutation: y_i = x_(d+1−i)"),
    single("upper", "Upper-triangular linear", s_[I] * x[I] + sp.Sum(U_[I, K] * x[K], (K, I + 1, d)),
           (Param(s_, (d,)), Param(U_, (d, d))), "y = (U + diag s) x, U strictly upper triangular"),
    single("unit-lower", "Unit lower-triangular linear", x[I] + sp.Sum(L_[I, K] * x[K], (K, 1, I - 1)),
           (Param(L_, (d, d)),), "y = L x, L unit lower triangular"),
]

LAYERS = {layer.name: layer for layer in ELEMENTWISE + COUPLINGS + AUTOREGRESSIVE + LOW_RANK}


def _flow(name, title, description, names, **kw):
    from .compose import Flow

    return Flow(name, title, description, tuple(LAYERS[n] for n in names), **kw)


H, W_ = sp.symbols("H W", integer=True, positive=True)
FLOWS = {f.name: f for f in (
    _flow("lu-linear", "Invertible linear layer, LU parametrised",
          "y = W x with W = P L (U + diag s): P the reversal, L unit lower triangular, U strictly upper",
          ("upper", "unit-lower", "reverse")),
    _flow("conv1x1", "Invertible 1×1 convolution (Glow)", "the LU-parametrised W applied to the channel vector at "
          "each of the H·W positions of an image", ("upper", "unit-lower", "reverse"), positions=H * W_),
    _flow("glow-step", "A Glow step", "ActNorm, then the LU-parametrised linear layer, then the Glow coupling",
          ("actnorm", "upper", "unit-lower", "reverse", "glow")),
)}
