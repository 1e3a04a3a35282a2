"""Independent numpy references.  Nothing here uses a derived formula.

* :func:`reference_forward`: each coupling variant's forward map, written by
  hand from its definition;
* :func:`fd_jacobian`: a fourth-order central finite-difference Jacobian
  (error O(h^4));
* :func:`slogdet`: numpy's LU-based sign and log|det|;
* Gaussian log-densities and Monte Carlo means with their standard errors.
"""
from __future__ import annotations

import numpy as np


HAND_WRITTEN = ("seed", "realnvp", "nice", "scaled-nice")


def reference_forward(variant: str, x, F, G, s):
    """y = f(x) for the named coupling variant; x has shape (..., 2k)."""
    k = x.shape[-1] // 2
    x1, x2 = x[..., :k], x[..., k:]
    if variant == "seed":
        y1, y2 = np.exp(G(x2)) * x1 + F(x2), np.exp(s) * x2
    elif variant == "realnvp":
        y1, y2 = np.exp(G(x2)) * x1 + F(x2), x2
    elif variant == "nice":
        y1, y2 = x1 + F(x2), x2
    elif variant == "scaled-nice":
        y1, y2 = x1 + F(x2), np.exp(s) * x2
    else:
        raise KeyError(f"no hand-written reference for variant {variant!r}")
    return np.concatenate([y1, np.broadcast_to(y2, x2.shape)], axis=-1)


def fd_jacobian(f, x, h: float = 1e-3):
    """Jacobian of f at a batch x (..., n) by the 5-point central stencil."""
    x = np.asarray(x, dtype=float)
    n = x.shape[-1]
    cols = []
    for col in range(n):
        e = np.zeros(n)
        e[col] = h
        d = (-f(x + 2 * e) + 8 * f(x + e) - 8 * f(x - e) + f(x - 2 * e)) / (12 * h)
        cols.append(d)
    return np.stack(cols, axis=-1)


def slogdet(J):
    """(sign, log|det|) by numpy's LU factorisation."""
    return np.linalg.slogdet(J)


def gaussian_logpdf(z, mean, std):
    """log N(z; mean, std^2), written out in numpy."""
    return -0.5 * np.log(2 * np.pi) - np.log(std) - 0.5 * ((z - mean) / std) ** 2


def mc_mean(samples, axis: int = 0):
    """Monte Carlo mean and its standard error."""
    samples = np.asarray(samples, dtype=float)
    n = samples.shape[axis]
    return samples.mean(axis=axis), samples.std(axis=axis, ddof=1) / np.sqrt(n)
