"""Stacks of layers: the composition rule and a layer repeated over positions.

* :class:`Flow` is a list of layers applied in turn, x → h^(1) → … → y.  By the
  chain rule its Jacobian is the product J_L ⋯ J_1, so (:func:`composition_logdet`)
  log|det J| = Σ_l log|det J_l| evaluated at each layer's own input, and the
  flow's density is log p_x(x) = log p_z(f(x)) + Σ_l log|det J_l|.
* A flow with ``positions`` (a 1×1 convolution over an H×W image) applies the
  same map to the channel vector at every position: the Jacobian is block
  diagonal, one block per position, and for a linear map every block is the
  same matrix: log|det| = H·W · log|det W| (:func:`repeated_logdet`).

Both are checked on the flow written out at a small size: the composed map is
built by substituting each layer's explicit outputs into the next, and its
generic determinant is compared with the rule's sum.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..model import Derivation, Given, Result, Step, Verdict, Verification
from ..verify import combine, prove_equal, rational_zero
from .checks import hold_roots, same
from .layer import Explicit
from .rules import LOGDET


@dataclass(frozen=True)
class Flow:
    """Layers applied in order; ``positions`` > 1 repeats the whole stack at each position."""

    name: str
    title: str
    description: str
    layers: tuple
    positions: sp.Expr | None = None
    check_dims: tuple = (2,)


def _stage_bases(flow: Flow, l: int, layer):
    """Layer l's inputs renamed h^(l-1) (x for the first layer)."""
    if l == 0:
        return {}
    return {b: sp.IndexedBase(f"{b.label}^({l})", real=True) for b in layer.inputs}


def stage_logdets(flow: Flow, derivations: list) -> list:
    """Each layer's log-determinant at its own input h^(l-1)."""
    out = []
    for l, (layer, der) in enumerate(zip(flow.layers, derivations)):
        out.append(der.data["logdet"].xreplace(_stage_bases(flow, l, layer)))
    return out


def explicit_flow(flow: Flow, dim: int):
    """(x symbols, composed output, per-layer (input values, Explicit)) written out at dimension ``dim``."""
    x = list(sp.symbols(f"x_1:{dim + 1}", real=True))
    current = list(x)
    stages = []
    for l, layer in enumerate(flow.layers):
        n = dim // len(layer.inputs)
        ex = Explicit(layer, n, m=min(n, 2), tag=f"^({l + 1})")
        stages.append((list(current), ex))
        current = list(ex.forward().xreplace(dict(zip(ex.x, current))))
    return x, current, stages


def explicit_total(flow: Flow, logdets: list, dim: int):
    """(x, composed output, Σ_l logdet_l along the flow) written out at dimension ``dim``."""
    x, y, stages = explicit_flow(flow, dim)
    total = sp.Add(*[ex.instantiate(ld).xreplace(dict(zip(ex.x, inputs))) for (inputs, ex), ld in zip(stages, logdets)])
    return x, y, total


def _against(total, det, scope: str):
    if rational_zero(sp.exp(2 * total) - det ** 2):
        return Verification("symbolic", True, "exp(2 Σ log|det J_l|) − det² cancels to 0 as a rational function "
                            "of the function values", scope=scope)
    square = sp.expand_power_exp(sp.exp(2 * total))
    if not square.has(sp.log, sp.exp):
        return same(square, det ** 2, scope)
    return prove_equal(total, sp.log(sp.Abs(det)), scope=scope)


def composition_logdet(flow: Flow, derivations: list) -> tuple:
    """(steps, logdet): the log-dets of the layers add, each at its own input."""
    own = [der.data["logdet"] for der in derivations]
    missing = [der.name for der in derivations if der.data["logdet"] is None]
    if missing:
        why = f"no log-determinant was derived for {', '.join(missing)}"
        return [Step(LOGDET, sp.Symbol("unknown"), why, Verification.unverified(why))], None
    logdet = sp.Add(*stage_logdets(flow, derivations))
    checks = []
    for dim in flow.check_dims:
        x, y, total = explicit_total(flow, own, dim)
        jac, roots = hold_roots(sp.Matrix(y).jacobian(sp.Matrix(x)))
        checks.append(_against(total, jac.det(method="berkowitz").xreplace(roots), f"d = {dim}"))
    step = Step(LOGDET, logdet, "the Jacobian of a composition is the product of the layers' Jacobians "
                                "(chain rule), and det is multiplicative: the log-determinants add, each at its "
                                "layer's own input h^(l-1)",
                combine(checks, "the sum of the layers' log-determinants, evaluated along the written-out flow, "
                                "equals log|generic determinant| of the directly differentiated composition"))
    return [step], logdet


def repeated_logdet(flow: Flow, derivations: list, logdet) -> tuple:
    """(steps, logdet) for the stack applied at each of ``positions`` positions (a constant Jacobian)."""
    own = [der.data["logdet"] for der in derivations]
    checks = []
    for dim in flow.check_dims:
        x, y, total = explicit_total(flow, own, dim)
        z = list(sp.symbols(f"z_1:{dim + 1}", real=True))
        both = sp.Matrix(list(y) + [e.xreplace(dict(zip(x, z))) for e in y])
        det = both.jacobian(sp.Matrix(x + z)).det(method="berkowitz")
        checks.append(_against(2 * total, det, f"d = {dim}, two positions"))
    step = Step(LOGDET, flow.positions * logdet, "the same linear map acts on the channel vector at every position: "
                "the Jacobian is block diagonal with one identical block per position, so the log-determinant is "
                "the number of positions times one block's",
                combine(checks, "equals log|generic determinant| of the map written out at two positions"))
    return [step], flow.positions * logdet


def derive_flow(flow: Flow, derive_layer) -> Derivation:
    """The log-determinant, invertibility and volume of a stack of layers."""
    derivations = [derive_layer(layer) for layer in flow.layers]
    der = Derivation(name=flow.name, title=flow.title, summary=flow.description)
    for l, layer in enumerate(flow.layers):
        der.givens.append(Given(sp.Symbol(f"f_{l + 1}"), sp.Symbol(layer.name), f"layer {l + 1}: {layer.title}"))
    sec = der.section("Log-determinant", "logdet", "Structure found: composition of " +
                      ", ".join(layer.name for layer in flow.layers) + ".")
    steps, logdet = composition_logdet(flow, derivations)
    sec.steps += steps
    if flow.positions is not None and logdet is not None:
        more, logdet = repeated_logdet(flow, derivations, logdet)
        sec.steps += more
    if logdet is not None:
        der.results.append(Result(f"{flow.name}.logdet", LOGDET, logdet, "the log-determinant of the stack"))
    _flow_verdicts(der, flow, derivations, logdet)
    der.data.update({"logdet": logdet, "layers": derivations, "flow": flow,
                     "inverse_kind": "composition of the inverses in reverse order"
                     if all(d.data["inverse_kind"] != "no closed form" for d in derivations) else "no closed form"})
    return der


def _flow_verdicts(der, flow: Flow, derivations: list, logdet) -> None:
    conds = [d.result(f"{d.name}.condition").value for d in derivations]
    holds = True if all(c.holds is True for c in conds) else None
    condition = sp.And(*[c.condition for c in conds])
    der.results.append(Result(f"{flow.name}.condition", sp.Symbol("invertible"),
                              Verdict("is the flow invertible?", holds, condition,
                                      "a composition is invertible when every layer is"), "when it is invertible"))
    vols = [d.result(f"{d.name}.volume").value for d in derivations]
    vol = True if all(v.holds is True for v in vols) else (None if all(v.holds is not False for v in vols) else False)
    der.results.append(Result(f"{flow.name}.volume", sp.Symbol("volume"),
                              Verdict("volume preserving?", vol, sp.Eq(LOGDET, 0), "the log-determinants of the "
                                      "layers add" + ("; every layer preserves volume" if vol else "")),
                              "is the stack volume preserving?"))
