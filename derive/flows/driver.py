"""The driver: a layer's definition in, its verified derivation out.

:func:`derive_layer` differentiates the component equations (index form),
finds the Jacobian's structure (:mod:`derive.flows.find`), applies that
structure's rule for the log-determinant (:mod:`derive.flows.rules`), solves
for the inverse (:mod:`derive.flows.inverse`), derives the invertibility
condition (:mod:`derive.flows.condition`) and decides volume preservation.
Nothing here knows any particular layer.
"""
from __future__ import annotations

import random

import sympy as sp
from sympy.core.function import AppliedUndef

from ..model import Derivation, Given, Result, Step, Verdict, Verification
from ..verify import combine, decide_zero
from . import condition as cond
from .checks import Checks
from .find import Structure, apply_rule, find_structure
from .index import I, J, canonical, entry, settle
from .inverse import NONE, inverse_steps
from .rules import LOGDET, MAX_EXPLICIT, explicit_logdet, gram


def derive_layer(layer, explicit_dim: int | None = None) -> Derivation:
    """Inverse, Jacobian structure, log-determinant, invertibility and volume of ``layer``, each step checked.

    Where no structure rule applies, a layer of one block is given the log-determinant of its Jacobian as a
    matrix, written out and checked at d = ``explicit_dim`` when that is at most 16 (else not derived)."""
    der = Derivation(name=layer.name, title=layer.title, summary=layer.description)
    checks = Checks(layer)
    _givens(der, layer)
    entries = _jacobian(der, checks)
    structure, logdet = _logdet(der, checks, entries, explicit_dim)
    _inverse(der, checks, structure, entries)
    _condition(der, checks, structure)
    _volume(der, checks, logdet)
    return der


def _givens(der: Derivation, layer) -> None:
    for out, eq in zip(layer.outputs, layer.equations):
        der.givens.append(Given(out[I], eq, f"component i = 1..{layer.size} of the output"))
    for p in layer.params:
        der.givens.append(Given(p.symbol, sp.S.true, p.note or "a parameter"))
    for c in layer.conditioners:
        der.givens.append(Given(c.symbol, sp.S.true, c.note))
    der.data["layer"] = layer


def _name(base, index):
    return sp.Indexed(base, index)


def _jacobian(der: Derivation, checks: Checks) -> dict:
    layer = checks.layer
    sec = der.section("Jacobian", "jacobian", "Differentiate component i of each output with respect to entry j "
                                              "of each input; δ_ij is Kronecker's delta.")
    entries = {}
    for a, (out, eq) in enumerate(zip(layer.outputs, layer.equations)):
        for b, inp in enumerate(layer.inputs):
            e = entries[(a, b)] = entry(eq, inp, layer.sizes())
            sec.steps.append(Step(sp.Derivative(_name(out, I), _name(inp, J), evaluate=False), e,
                                  f"differentiate the definition of {out.label}_i with respect to {inp.label}_j",
                                  checks.entry(e, a, b, "equals the directly differentiated Jacobian of the "
                                                        "written-out layer")))
    return entries


def _is_orthogonal(layer):
    def test(e):
        if e.has(*layer.inputs):
            return False
        return sp.simplify(gram(e, layer.size) - sp.KroneckerDelta(I, J)) == 0
    return test


def _logdet(der: Derivation, checks: Checks, entries: dict, explicit_dim=None):
    layer = checks.layer
    structure = find_structure(entries, len(layer.inputs), _is_orthogonal(layer))
    sec = der.section("Log-determinant", "logdet", f"Structure found: {structure.name} ({structure.detail}).")
    out = apply_rule(structure, checks, entries, layer.size)
    if out is None and explicit_dim is not None and len(layer.inputs) == 1:
        out = explicit_logdet(lambda n: Checks(layer, (n,)), entries[(0, 0)], layer.size, explicit_dim)
        if out is not None:
            structure.name, structure.detail = "explicit Jacobian", f"no structure rule applies; d = {explicit_dim}"
            sec.text = f"Structure found: none of the rules applies; the Jacobian is taken as a matrix."
    if out is None:
        why = "no structure rule applies" + (f" and d = {explicit_dim} is above {MAX_EXPLICIT}, the limit of the "
                                             "explicit Jacobian" if explicit_dim else "")
        sec.steps.append(Step(LOGDET, sp.Symbol("unknown"), why + " to this Jacobian" * (not explicit_dim),
                              Verification.unverified(why)))
        logdet = None
    else:
        steps, logdet = out
        sec.steps += steps
        der.results.append(Result(f"{layer.name}.logdet", LOGDET, logdet, "the log-determinant"))
    der.data.update({"structure": structure, "logdet": logdet, "entries": entries})
    return structure, logdet


def _inverse(der: Derivation, checks: Checks, structure: Structure, entries: dict) -> None:
    layer = checks.layer
    kind, solutions, steps = inverse_steps(checks, structure, entries)
    sec = der.section("Inverse", "inverse", f"Inverse: {kind}.")
    sec.steps += steps
    der.data.update({"inverse_kind": kind, "inverse": solutions})
    if kind != NONE:
        lhs = sp.Matrix([_name(layer.inputs[b], I) for b in solutions])
        der.results.append(Result(f"{layer.name}.inverse", lhs, sp.Matrix(list(solutions.values())),
                                  f"the inverse ({kind})"))


def _condition(der: Derivation, checks: Checks, structure: Structure) -> None:
    from .invertible import invertibility

    sec = der.section("Invertibility", "condition", "")
    try:
        v, steps = invertibility(checks, structure)
    except (TypeError, ValueError, NotImplementedError) as exc:  # SymPy could not decide a comparison
        v, steps = cond.verdict(None, sp.Ne(sp.Symbol("det"), 0), "a condition for invertibility could not be "
                                f"derived ({str(exc).splitlines()[0][:80]}): the determinant must not vanish"), []
    sec.steps += steps
    sec.text = v.reason
    der.results.append(Result(f"{checks.layer.name}.condition", sp.Symbol("invertible"), v,
                              "when the layer is invertible"))


def _volume(der: Derivation, checks: Checks, logdet) -> None:
    layer = checks.layer
    sec = der.section("Volume", "volume", "The layer preserves volume exactly when log|det ∂y/∂x| = 0 for every "
                                          "input.")
    if logdet is None:
        v = Verdict("volume preserving?", None, sp.S.true, "the log-determinant was not derived")
    else:
        v = _volume_verdict(checks, logdet)
    sec.text += " " + v.reason
    der.results.append(Result(f"{layer.name}.volume", sp.Symbol("volume"), v, "is the layer volume preserving?"))


def _volume_verdict(checks: Checks, logdet) -> Verdict:
    layer = checks.layer
    tidy = sp.simplify(canonical(sp.expand(logdet)).doit())
    if decide_zero(tidy) is True:
        return Verdict("volume preserving?", True, sp.Eq(LOGDET, 0), "the log-determinant is identically 0",
                       {"proof": "log|det| simplifies to 0"})
    from .condition import _depends

    if not _depends(logdet, layer):
        return Verdict("volume preserving?", None, sp.Eq(logdet, 0), "the log-determinant does not depend on the "
                       "input: volume is preserved exactly when it is 0", {})
    ex = checks.explicit[checks.sizes[0]]
    value = ex.instantiate(logdet).replace(lambda e: isinstance(e, AppliedUndef),
                                           lambda e: sp.Rational(1, 3) + sp.Add(*e.args) / 2)
    rng = random.Random(1)
    point = {s: sp.Rational(rng.randint(1, 9), 10) for s in sorted(value.free_symbols, key=str)}
    at = value.xreplace(point)
    return Verdict("volume preserving?", False, sp.Eq(LOGDET, 0), "the log-determinant depends on the input and "
                   "is not identically 0", {"point": {str(k): str(v) for k, v in point.items()},
                                             "value": str(sp.N(at, 6))})
