"""The three gradient estimators compared: variances against values worked out by hand and by quadrature
written here, the Monte Carlo checks, planted bugs, the figure and the documents that show them.  Deriving the
comparison takes a few seconds: the tests that do are marked slow (CI runs them in parallel)."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from derive.estimators import derive_estimators_comparison
from derive.numeric.estimator_checks import estimator_checks

OUTPUTS = Path(__file__).resolve().parent.parent / "outputs"


@pytest.fixture(scope="module")
def der():
    return derive_estimators_comparison()


def at(der, name, **values):
    value = der.result(f"estimators.{name}").value
    syms = {s.name: s for s in value.free_symbols}
    out = value.subs({syms[k]: v for k, v in values.items() if k in syms})
    return [float(v) for v in out] if isinstance(out, sp.MatrixBase) else float(out)


@pytest.mark.slow
def test_every_step_is_verified(der):
    assert der.all_verified, [s.justification for s in der.steps if not s.verified]


@pytest.mark.slow
def test_the_pathwise_and_path_derivative_variances_by_hand(der):
    """z = mu + sigma eps, t = log q(z) - log N(z; 0, 1): g_RP = (z, -1/sigma + eps z); the score is
    (eps/sigma, (eps^2 - 1)/sigma); g_PD = g_RP - score.  Their variances over eps ~ N(0, 1), by hand."""
    mu, sigma = 1.0, 0.7
    rp = at(der, "gaussian.reparam.variance", mu=mu, sigma=sigma)
    assert rp == pytest.approx([sigma ** 2, mu ** 2 + 2 * sigma ** 2], rel=1e-14)
    pd = at(der, "gaussian.path.variance", mu=mu, sigma=sigma)
    assert pd == pytest.approx([(sigma - 1 / sigma) ** 2, mu ** 2 + 2 * (sigma - 1 / sigma) ** 2], rel=1e-13)
    # Exponential: z = -log(u)/lam, t = log lam - (lam - 1) z; dt/dlam = (1 - z)/lam; Var z = 1/lam^2
    lam = 2.5
    assert at(der, "exponential.reparam.variance", **{"lambda": lam}) == pytest.approx(lam ** -4, rel=1e-14)
    assert at(der, "exponential.path.variance", **{"lambda": lam}) == pytest.approx((lam - 1) ** 2 / lam ** 4,
                                                                                   rel=1e-14)


def _hermite(f, n=80):
    """E f(eps) for eps ~ N(0, 1) by Gauss-Hermite quadrature."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return float(np.sum(w * f(x)) / math.sqrt(2 * math.pi))


@pytest.mark.slow
def test_the_score_function_variances_and_optimal_baseline_by_quadrature(der):
    mu, sigma = 1.0, 0.6
    z = lambda e: mu + sigma * e  # noqa: E731
    t = lambda e: -math.log(sigma) - e ** 2 / 2 + z(e) ** 2 / 2  # log q(z) - log N(z; 0, 1)  # noqa: E731
    scores = (lambda e: e / sigma, lambda e: (e ** 2 - 1) / sigma)
    grad = [_hermite(lambda e, s=s: t(e) * s(e)) for s in scores]
    var0 = [_hermite(lambda e, s=s, g=g: (t(e) * s(e) - g) ** 2) for s, g in zip(scores, grad)]
    best = [_hermite(lambda e, s=s: t(e) * s(e) ** 2) / _hermite(lambda e, s=s: s(e) ** 2) for s in scores]
    assert at(der, "gaussian.kl_gradient", mu=mu, sigma=sigma) == pytest.approx(grad, rel=1e-12)
    assert at(der, "gaussian.score.variance", mu=mu, sigma=sigma) == pytest.approx(var0, rel=1e-10)
    assert at(der, "gaussian.score.optimal_baseline", mu=mu, sigma=sigma) == pytest.approx(best, rel=1e-10)
    at_best = at(der, "gaussian.score_baseline.variance", mu=mu, sigma=sigma)
    direct = [_hermite(lambda e, s=s, b=b, g=g: ((t(e) - b) * s(e) - g) ** 2)
              for s, b, g in zip(scores, best, grad)]
    assert at_best == pytest.approx(direct, rel=1e-10)
    assert all(a < v for a, v in zip(at_best, var0))


@pytest.mark.slow
def test_the_monte_carlo_checks_pass_and_a_wrong_variance_fails_them(der):
    checks = estimator_checks(der, n=100_000)
    assert checks and all(c.passed for c in checks), [c for c in checks if not c.passed][:3]
    wrong = dataclasses.replace(der, results=[
        dataclasses.replace(r, value=r.value * sp.Rational(11, 10)) if r.name == "estimators.gaussian.path.variance"
        else r for r in der.results])
    failed = [c for c in estimator_checks(wrong, n=100_000) if not c.passed]
    assert failed and all("path" in c.name for c in failed)


@pytest.mark.slow
def test_the_figure_is_a_deterministic_png(der):
    from derive.estimator_figure import variance_figure

    one, two = variance_figure(der), variance_figure(der)
    assert one[:8] == b"\x89PNG\r\n\x1a\n" and one == two and len(one) > 20_000


def test_the_committed_documents_show_the_table_and_the_figure():
    writeup = (OUTPUTS / "writeup.md").read_text(encoding="utf-8")
    catalogue = (OUTPUTS / "kl-catalogue.md").read_text(encoding="utf-8")
    for text in (writeup, catalogue):
        assert "Gradient estimators compared" in text and "(estimator-variance.png)" in text
        assert "| Gaussian | reparameterisation (pathwise) | $\\mu$ | $\\sigma^{2}$ |" in text
        assert "| Exponential | reparameterisation (pathwise) | $\\lambda$ | $\\frac{1}{\\lambda^{4}}$ |" in text
    assert (OUTPUTS / "estimator-variance.png").read_bytes()[:4] == b"\x89PNG"
    assert "\\includegraphics[width=\\linewidth]{estimator-variance.png}" in (OUTPUTS / "writeup.tex").read_text()
