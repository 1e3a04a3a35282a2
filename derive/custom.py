"""Your own coupling block: F, G and s given as text, checked, then derived.

``--F`` / ``--G`` take either one element-wise expression in ``x`` (applied
to each component of x2: ``tanh(x)``) or a list of k expressions in the
components ``x2_1, ..., x2_k`` (``[tanh(x2_1 - x2_2), sin(x2_2)]`` for k = 2).
``--s`` takes k numbers, or one number used for every component.  The text
goes through :mod:`derive.parse` only.

The general derivation of the chosen variant is then instantiated on the
block and every instantiated result is checked again on it: the round trip,
the Jacobian against ``Matrix.jacobian``, the log-determinant against the log
of the generic determinant, and the volume verdict.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .numeric.conditioners import ExpressionConditioner  # noqa: F401  (re-exported)
from .coupling import VARIANTS, ExplicitBlock, assemble_jacobian, derive_coupling
from .model import Derivation, Given, Result, Step
from .notation import Label
from .parse import ParseError, parse, parse_numbers
from .verify import prove_equal
from .volume import decide_block

MAX_CUSTOM_DIM = 16


@dataclass(frozen=True)
class BlockSpec:
    """The user's block as text (validated by :func:`build_block`)."""

    variant: str = "seed"
    dim: int = 4
    F: str | None = None
    G: str | None = None
    s: str | None = None

    @property
    def is_custom(self) -> bool:
        return any(v is not None for v in (self.F, self.G, self.s))


def _components(text: str, name: str, blk: ExplicitBlock) -> list:
    k = blk.k
    x = sp.Symbol("x", real=True)
    names = {f"x2_{n}": blk.x2[n - 1] for n in range(1, k + 1)}
    stripped = text.strip()
    if stripped.startswith("["):
        parts = parse(text, names, what=f"--{name}", allow_list=True)
        if len(parts) != k:
            raise ParseError(f"--{name}: expected a list of k = {k} expressions (d = {2 * k}), got {len(parts)}")
        return [sp.sympify(p) for p in parts]
    expr = parse(text, {"x": x}, what=f"--{name}")
    return [expr.subs(x, v) for v in blk.x2]


def _check_defined(comps: list, name: str, blk: ExplicitBlock, points: int = 12) -> None:
    """Refuse conditioners that are not continuous on all of R^k (SymPy's continuous_domain,
    one variable at a time) or not finite and real at random points."""
    from sympy.calculus.util import continuous_domain

    from .verify import within

    for n, comp in enumerate(comps, 1):
        for var in sorted(sp.sympify(comp).free_symbols, key=str):
            try:
                domain = within(5, "domain check", continuous_domain, comp, var, sp.S.Reals)
            except (NotImplementedError, ValueError, TypeError):
                domain = None
            if domain != sp.S.Reals:
                where = f"only on {domain}" if domain is not None else "on a domain SymPy could not decide"
                raise ParseError(f"--{name}: component {n} ({comp}) is defined {where} in {var}, not on every "
                                 "real value: the block would be undefined there")
    rng = random.Random(7)
    fns = sp.lambdify(blk.x2, comps, "mpmath")
    for _ in range(points):
        pt = [rng.uniform(-3, 3) for _ in blk.x2]
        where = ", ".join(f"{s} = {p:.3g}" for s, p in zip(blk.x2, pt))
        try:
            values = [complex(v) for v in fns(*pt)]
        except OverflowError:
            values = [complex("inf")]
        except (ZeroDivisionError, ValueError, TypeError):
            values = [complex("nan")]
        if any(np.isinf(v) for v in values):
            raise ParseError(f"--{name}: its value at {where} is too large for a float (above about 1.8e308), "
                             "and derive's numeric checks evaluate it there")
        if any(not np.isfinite(v) or abs(v.imag) > 1e-12 for v in values):
            raise ParseError(f"--{name}: not a finite real value at {where}: the block is undefined there")


def build_block(spec: BlockSpec) -> ExplicitBlock:
    """The explicit block for ``spec``; raises ParseError with a one-line message."""
    if spec.variant not in VARIANTS:
        raise ParseError(f"--variant must be one of {', '.join(VARIANTS)}, got {spec.variant!r}")
    if spec.dim > MAX_CUSTOM_DIM:
        raise ParseError(f"--dim {spec.dim}: a block with your own F, G, s is derived up to d = {MAX_CUSTOM_DIM}")
    k = spec.dim // 2
    base = ExplicitBlock(VARIANTS[spec.variant], k)
    F = _components(spec.F, "F", base) if spec.F is not None else None
    G = _components(spec.G, "G", base) if spec.G is not None else None
    s = parse_numbers(spec.s, what="--s", count=k) if spec.s is not None else None
    for name, comps in (("F", F), ("G", G)):
        if comps is not None:
            _check_defined(comps, name, base)
    if s is not None:
        s = [_scale(v, i) for i, v in enumerate(s, start=1)]
    return ExplicitBlock(VARIANTS[spec.variant], k, F=F, G=G, s=s)


#: |s_i| at most this: exp(s_i) and the block's entries stay far from float64 overflow
MAX_SCALE = 100


def _scale(value, i: int):
    from .bounds import NumberError, bounded

    try:
        return bounded(value, magnitude=MAX_SCALE)
    except NumberError as exc:
        raise ParseError(f"--s: s_{i}: {exc}") from None


def derive_user_block(spec: BlockSpec) -> Derivation:
    """The variant's general derivation, then instantiated and re-checked on the user's block."""
    blk = build_block(spec)
    der = derive_coupling(spec.variant)
    der.name = "coupling"
    der.title = f"Affine coupling block ({spec.variant}) with your F, G, s at d = {2 * blk.k}"
    sec = der.section("Your block", "1", "The general results above, with your F, G and s put in, each checked "
                      "again on your block.")
    d = der.data
    for name, comps in (("F", blk.F), ("G", blk.G)):
        der.givens.append(Given(Label(f"{name}(x_2)", rf"{name}\left(x_{{2}}\right)"), sp.Matrix(comps),
                                f"your {name}, component by component"))
    der.givens.append(Given(Label("s", "s"), sp.Matrix(blk.s), "your scales"))
    y = blk.y
    x2_of_y = {blk.x2[n]: blk.component(d["x2_solution"], n + 1) for n in range(blk.k)}
    inverse = sp.Matrix([blk.component(d["x1_solution"], n + 1).subs(x2_of_y, simultaneous=True)
                         for n in range(blk.k)] + [x2_of_y[v] for v in blk.x2])
    fwd = blk.forward()
    roundtrip = fwd.subs(dict(zip(blk.x, inverse)), simultaneous=True)
    sec.steps.append(Step(blk.x, inverse, "the inverse of your block (x2 first, then x1)",
                          prove_equal(roundtrip, y, detail="put into your block's definition, it gives y back")))
    jac = assemble_jacobian(d["entries"], blk)
    sec.steps.append(Step(Label("∂y/∂x", r"\frac{\partial y}{\partial x}"), jac,
                          "the Jacobian of your block from the block formula",
                          prove_equal(jac, fwd.jacobian(blk.x), detail="equals the directly differentiated Jacobian of your block")))
    logdet = sp.expand(blk.instantiate(d["logdet"]))
    sec.steps.append(Step(sp.log(sp.Abs(sp.Function("det")(Label("∂y/∂x", r"\frac{\partial y}{\partial x}")))), logdet,
                          "the log-determinant of your block (a sum of logs)",
                          prove_equal(logdet, sp.log(fwd.jacobian(blk.x).det(method="bareiss")),
                                      detail="equals the log of the generic determinant of your block's Jacobian")))
    verdict = decide_block(blk, d["logdet"])
    der.results += [Result("coupling.user.inverse", blk.x, inverse, "the inverse of your block"),
                    Result("coupling.user.logdet", Label("log|det|", r"\log\left|\det\frac{\partial y}{\partial x}\right|"),
                           logdet, "the log-determinant of your block"),
                    Result("coupling.user.volume", Label("volume preserving?", r"\text{volume preserving?}"), verdict,
                           "is your block volume preserving?")]
    d["user_block"] = blk
    return der
