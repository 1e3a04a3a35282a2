"""Is a coupling block volume preserving?  Decided from its log-determinant.

A map preserves volume iff |det ∂y/∂x| = 1 at every x, i.e. iff its
log-determinant is identically 0.  :func:`decide_general` answers for a
variant with arbitrary F, G, s; :func:`decide_block` for a specific explicit
block.  A "yes" carries a symbolic proof (the log-determinant simplifies to
0); a "no" carries a numeric counterexample, checked with an independent
``slogdet``; anything else is "undetermined".
"""
from __future__ import annotations

import math
import random

import numpy as np
import sympy as sp

from .model import Verdict
from sympy.core.function import AppliedUndef

from .verify import _random_function, within

QUESTION = "Is the block volume preserving (|det ∂y/∂x| = 1 for all x)?"


def _simplifies_to_zero(expr, seconds: float = 20.0) -> bool:
    return within(seconds, "volume-preservation proof", lambda: sp.simplify(sp.expand(expr.doit())) == 0,
                  on_timeout=False)


def decide_general(derivation, logdet) -> Verdict:
    """Verdict for a variant with arbitrary conditioners F, G and scale s.

    ``derivation`` must already hold the derived formulas (its ``data``): the
    counterexample is evaluated with their numeric lambdas and checked against
    an independent slogdet.
    """
    condition = sp.Eq(logdet, 0, evaluate=False)
    if _simplifies_to_zero(logdet):
        return Verdict(QUESTION, True, condition,
                       "Yes: the log-determinant simplifies to 0 for every k, F, G and s, so det ∂y/∂x = 1.",
                       {"proof": "simplify(log|det|) = 0"})
    example = counterexample(derivation)
    if not (abs(example["logdet"]) > 1e-6 and abs(example["logdet"] - example["slogdet_of_fd_jacobian"]) <= 1e-8):
        return Verdict(QUESTION, None, condition,
                       "Undetermined: no symbolic proof and no checked counterexample.", example)
    return Verdict(QUESTION, False, condition,
                   "Not in general: the log-determinant is not identically 0. The block preserves volume "
                   "exactly when the condition holds for all x; the counterexample has "
                   f"|det| = {example['det']:.6g} (slogdet of an independent finite-difference Jacobian agrees).",
                   example)


def _sig(value, digits: int = 10) -> float:
    """A float rounded to ``digits`` significant digits (stable across numpy builds)."""
    return float(f"{float(value):.{digits}g}")


def counterexample(derivation, k: int = 2, seeds=range(1, 9)) -> dict:
    """A concrete F, G, s, x at which |det| differs from 1, checked by slogdet.

    Tries a few fixed seeds (tanh layers with random weights) and keeps the
    one whose |log det| is largest, so the example is plain to see.
    """
    from .numeric.coupling import random_instance, reference_map
    from .numeric import reference

    best = None
    for seed in seeds:
        block, rng = random_instance(derivation, k, seed)
        x = rng.normal(size=(1, 2 * k))
        with np.errstate(all="ignore"):  # a log of a negative entry is NaN here, and no example
            ld = block.logdet(x)
        if not np.isfinite(ld[0]):
            continue
        if best is None or abs(ld[0]) > abs(best[2][0]):
            best = (block, x, ld, seed)
    if best is None:
        return {"k": k, "logdet": float("nan"), "slogdet_of_fd_jacobian": float("nan")}
    block, x, ld, seed = best
    ref = reference_map(derivation, block) or block.forward
    _, ld_ref = reference.slogdet(reference.fd_jacobian(ref, x))
    return {
        "k": k,
        "instance": f"derive.numeric.coupling.random_instance(derivation, k={k}, seed={seed}); numbers below rounded",
        "F": f"tanh(W_F x2 + b_F), W_F = {np.round(block.F.W, 3).tolist()}, b_F = {np.round(block.F.b, 3).tolist()}",
        "G": f"tanh(W_G x2 + b_G), W_G = {np.round(block.G.W, 3).tolist()}, b_G = {np.round(block.G.b, 3).tolist()}",
        "s": np.round(block.s, 3).tolist(),
        "x": np.round(x[0], 3).tolist(),
        "logdet": _sig(ld[0]),
        "det": _sig(np.exp(ld[0])),
        "slogdet_of_fd_jacobian": _sig(ld_ref[0]),
    }


def _exp_text(value: float) -> str:
    """exp(value) for a message, without a float overflow."""
    return f"{math.exp(value):.6g}" if value < 700 else f"exp({value:.6g})"


def decide_block(block, logdet, points: int = 20, seed: int = 0) -> Verdict:
    """Verdict for an explicit block (concrete F, G, s, possibly with parameters)."""
    ld = block.instantiate(logdet)
    condition = sp.Eq(ld, 0, evaluate=False)
    if _simplifies_to_zero(ld):
        return Verdict(QUESTION, True, condition, "Yes: the log-determinant simplifies to 0.",
                       {"proof": "simplify(log|det|) = 0"})
    rng = random.Random(seed)
    symbols = sorted(ld.free_symbols, key=str)
    general = sorted({f.func for f in ld.atoms(AppliedUndef)}, key=str)
    for _ in range(points):
        # conditioners the block leaves general are tried as random smooth functions
        functions = {f: _random_function(rng, len(next(a for a in ld.atoms(AppliedUndef) if a.func == f).args))
                     for f in general}
        point = {sym: sp.Float(rng.uniform(-1.5, 1.5)) for sym in symbols}
        value = float(sp.N(ld.subs(functions).subs(point)))
        if abs(value) > 1e-6:
            return Verdict(QUESTION, False, condition,
                           f"No: at the point below log|det| = {value:.6g}, so |det| = {_exp_text(value)} ≠ 1"
                           + (f" (with {', '.join(map(str, general))} left general, tried as random smooth functions)."
                              if general else "."),
                           {"point": {str(s): _sig(v) for s, v in point.items()}, "logdet": _sig(value)})
    return Verdict(QUESTION, None, condition,
                   f"Undetermined: no symbolic proof, and log|det| vanished at {points} random points.", {})
