"""Concrete conditioner networks F, G: R^k -> R^k for numeric work.

:class:`ExpressionConditioner` is a conditioner given by k SymPy expressions
(the user's own F or G); its Jacobian is derived by SymPy.

A :class:`Layer` is ``act(W x + b)`` with a fixed weight matrix.  The
activation is a SymPy function of one variable; its derivative is derived by
SymPy (``diff``) and both are lambdified, so the layer's Jacobian
``diag(act'(W x + b)) W`` is evaluated without expanding ``W x`` symbolically.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

_U = sp.Symbol("u", real=True)

ACTIVATIONS = {
    "tanh": sp.tanh(_U),
    "sin": sp.sin(_U),
    "softplus": sp.log(1 + sp.exp(_U)),
    "identity": _U,
}


class Layer:
    """act(W x + b) applied along the last axis of a batch of vectors."""

    def __init__(self, W, b, activation: str = "tanh"):
        self.W = np.asarray(W, dtype=float)
        self.b = np.asarray(b, dtype=float)
        if self.W.ndim != 2 or self.W.shape[0] != self.W.shape[1] or self.b.shape != (self.W.shape[0],):
            raise ValueError("W must be k×k and b of length k")
        self.activation = activation
        expr = ACTIVATIONS[activation]
        self.expr = expr
        self._act = sp.lambdify(_U, expr, "numpy")
        self._dact = sp.lambdify(_U, sp.diff(expr, _U), "numpy")

    @property
    def k(self) -> int:
        return self.W.shape[0]

    @staticmethod
    def random(k: int, rng: np.random.Generator, scale: float = 1.0, activation: str = "tanh") -> "Layer":
        """Fixed random weights with O(1) pre-activations (never zero-initialised)."""
        W = rng.normal(size=(k, k)) * scale / np.sqrt(k)
        b = rng.normal(size=k) * 0.5
        return Layer(W, b, activation)

    def _pre(self, x2):
        return x2 @ self.W.T + self.b

    def __call__(self, x2):
        u = self._pre(x2)
        out = self._act(u)
        return out if np.shape(out) == u.shape else np.broadcast_to(out, u.shape)

    def jacobian(self, x2):
        """dF/dx2 with shape (..., k, k)."""
        u = self._pre(x2)
        return np.broadcast_to(self._dact(u), u.shape)[..., :, None] * self.W

    def sympy_components(self, x2_symbols) -> list:
        """The k component expressions act(sum_m W[n, m] x2_m + b[n]) (for small k)."""
        rows = []
        for n in range(self.k):
            pre = sum(sp.Float(self.W[n, m]) * x2_symbols[m] for m in range(self.k)) + sp.Float(self.b[n])
            rows.append(self.expr.subs(_U, pre))
        return rows


class ExpressionConditioner:
    """A conditioner given by k SymPy expressions in x2: value and derived Jacobian, vectorised."""

    def __init__(self, comps, x2_symbols):
        self.k = len(comps)
        self._value = sp.lambdify(x2_symbols, list(comps), "numpy")
        self._jac = sp.lambdify(x2_symbols, sp.Matrix(comps).jacobian(sp.Matrix(x2_symbols)).tolist(), "numpy")

    def __call__(self, x2):
        cols = self._value(*np.moveaxis(x2, -1, 0))
        return np.stack([np.broadcast_to(c, x2.shape[:-1]) for c in cols], axis=-1).astype(float)

    def jacobian(self, x2):
        rows = self._jac(*np.moveaxis(x2, -1, 0))
        return np.stack([np.stack([np.broadcast_to(c, x2.shape[:-1]) for c in row], axis=-1) for row in rows],
                        axis=-2).astype(float)
