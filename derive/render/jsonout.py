"""The JSON renderer: every expression as LaTeX, plain text and SymPy ``srepr``."""
from __future__ import annotations

import json
import math

import sympy as sp

from ..model import CrossCheck, Derivation, Verdict, Verification
from .printing import latex, text

SCHEMA_VERSION = 2


def expression(expr) -> dict:
    return {"latex": latex(expr), "text": text(expr), "srepr": sp.srepr(expr)}


def number(x: float | None) -> float | None:
    """A float for JSON: NaN and infinities, which JSON cannot hold, become null (a failed check)."""
    return x if x is None or math.isfinite(x) else None


def verification(v: Verification) -> dict:
    return {"method": v.method, "passed": v.passed, "label": v.label, "scope": v.scope, "detail": v.detail,
            "residual": number(v.residual), "tolerance": number(v.tolerance), "points": v.points}


def check(c: CrossCheck) -> dict:
    return {"name": c.name, "compared_with": c.method, "residual": number(c.residual),
            "tolerance": number(c.tolerance), "passed": c.passed}


def _value(value) -> dict:
    if isinstance(value, Verdict):
        return {"verdict": value.answer, "question": value.question, "reason": value.reason,
                "condition": expression(value.condition),
                "evidence": json.loads(json.dumps(value.evidence, default=str))}
    return expression(value)


def derivation_dict(der: Derivation, include_checks: bool = True) -> dict:
    out = {
        "name": der.name,
        "title": der.title,
        "summary": der.summary,
        "givens": [{"lhs": expression(g.lhs), "rhs": expression(g.rhs), "note": g.note} for g in der.givens],
        "sections": [
            {"question": s.question, "title": s.title, "text": s.text,
             "steps": [{"lhs": expression(st.lhs), "rhs": expression(st.rhs), "justification": st.justification,
                        "verified": st.verified, "verification": verification(st.verification)}
                       for st in s.steps]}
            for s in der.sections
        ],
        "results": [{"name": r.name, "description": r.description, "lhs": expression(r.lhs), "value": _value(r.value)}
                    for r in der.results],
        "symbols": {name: {"srepr": sp.srepr(obj), "latex": latex(obj)} for name, obj in sorted(der.symbols.items())},
        "all_verified": der.all_verified,
        "figures": _figures(der),
    }
    if "adjoints" in der.figures:
        out["adjoint_table"] = [{"adjoint": expression(b), "chain_rule": expression(r), "value": expression(v)}
                                for b, r, v in der.figures["adjoints"]]
    if include_checks:
        out["checks"] = [check(c) for c in der.checks]
    return out


def _figures(der: Derivation) -> dict:
    """The drawings of a derivation's figures: its computation graph as DOT, TikZ and a text tree."""
    if "graph" not in der.figures:
        return {}
    from .graph import text_tree, to_dot, to_tikz

    graph, output = der.figures["graph"]
    return {"dot": to_dot(graph), "tikz": to_tikz(graph), "tree": text_tree(graph, output)}


def _finite(obj):
    """``obj`` with every float that JSON cannot hold (NaN, infinities) replaced by null."""
    if isinstance(obj, float):
        return number(obj)
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def dumps(payload, ascii_only: bool = False) -> str:
    return json.dumps(_finite(payload), indent=2, sort_keys=True, ensure_ascii=ascii_only, allow_nan=False) + "\n"
