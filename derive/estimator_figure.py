"""The variances of the KL gradient estimators against the scale of q, drawn as a PNG.

Three panels: the μ- and σ-components for q = N(1, σ²) against σ in [0.1, 3], and the λ-component for
q = Exponential(λ) against λ in [0.1, 3], each against the derivation's prior.  Curves are the derived
variances (reparameterisation, path derivative, score function without baseline and with the optimal
baseline), lambdified; markers are Monte Carlo variances of the numpy reference
(:mod:`derive.numeric.estimator_reference`) at a few points.  Log y; a variance of 0 (the path derivative at
q = p) drops out of the log axis.

matplotlib is imported when the figure is drawn, with its Agg canvas and no pyplot state, and the PNG
carries no software or date metadata, so the same derivation always gives the same bytes.
"""
from __future__ import annotations

import io

import numpy as np
import sympy as sp

MU = 1.0
GRID = np.linspace(0.1, 3.0, 300)
MC_POINTS = (0.3, 0.6, 1.5, 2.5)
MC_DRAWS = 20_000
SIZE = (13.5, 4.2)
DPI = 100
Y_FLOOR = 1e-3

#: (legend, result suffix of the variance, reference kind, whether the optimal baseline is used, colour)
CURVES = [("reparameterisation", "reparam.variance", "reparam", False, "tab:blue"),
          ("path derivative", "path.variance", "path", False, "tab:green"),
          ("score function, no baseline", "score.variance", "score", False, "tab:red"),
          ("score function, optimal baseline", "score_baseline.variance", "score", True, "tab:orange")]


def variance_figure(der, seed: int = 0) -> bytes:
    """The PNG bytes of the three panels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    rng = np.random.default_rng(seed)
    prior = tuple(float(v) for v in der.data["gaussian"]["prior"])
    rate = float(der.data["exponential"]["prior"][0])
    for k, (ax, name) in enumerate(zip(axes[:2], ("μ", "σ"))):
        _panel(ax, der, "gaussian", k, lambda s: (MU, s), _gaussian_draws(rng, prior), "σ")
        ax.set_title(f"Gaussian q = N({MU:g}, σ²), prior N({prior[0]:g}, {prior[1]:g}²): {name} component")
    _panel(axes[2], der, "exponential", 0, lambda lam: (lam,), _exponential_draws(rng, rate), "λ")
    axes[2].set_title(f"Exponential q (rate λ), prior rate {rate:g}")
    axes[0].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _derived(der, family: str, suffix: str, k: int):
    """Component k of the printed result as a numpy function of (θ..., baseline...)."""
    data = der.data[family]
    value = der.result(f"estimators.{family}.{suffix}").value
    component = value[k] if isinstance(value, sp.MatrixBase) else value
    return sp.lambdify((*data["theta"], *data["baseline"]), component, "numpy")


def _panel(ax, der, family: str, k: int, theta_of, draws, xlabel: str) -> None:
    """One component's curves over GRID and Monte Carlo markers at MC_POINTS."""
    zero = (0.0,) * len(der.data[family]["baseline"])
    best = [_derived(der, family, "score.optimal_baseline", j) for j in range(len(zero))]
    for label, suffix, kind, optimal, colour in CURVES:
        curve = _derived(der, family, suffix, k)
        values = np.broadcast_to(np.asarray(curve(*theta_of(GRID), *zero), dtype=float), GRID.shape)
        ax.plot(GRID, np.where(values > 0, values, np.nan), color=colour, label=label, linewidth=1.5)
        points = []
        for x in MC_POINTS:
            theta = theta_of(x)
            baseline = tuple(float(b(*theta, *zero)) for b in best) if optimal else zero
            points.append(np.var(draws(kind, theta, baseline)[:, k], ddof=1))
        points = np.asarray(points)
        ax.plot(np.asarray(MC_POINTS)[points > 0], points[points > 0], "o", color=colour, markersize=5,
                markerfacecolor="none")
    ax.set_yscale("log")
    ax.set_ylim(bottom=Y_FLOOR)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("variance (lines: derived, circles: Monte Carlo)")
    ax.grid(True, which="major", alpha=0.3)


def _gaussian_draws(rng, prior: tuple):
    from .numeric import estimator_reference as ref

    eps = rng.normal(size=MC_DRAWS)
    return lambda kind, theta, baseline: ref.gaussian_samples(kind, *theta, eps, baseline=baseline, prior=prior)


def _exponential_draws(rng, rate: float):
    from .numeric import estimator_reference as ref

    u = 1.0 - rng.random(MC_DRAWS)
    return lambda kind, theta, baseline: ref.exponential_samples(kind, *theta, u, baseline=baseline[0],
                                                                 prior_rate=rate).reshape(-1, 1)
