"""The JSON renderer: every expression as LaTeX, plain text and SymPy ``srepr``."""
from __future__ import annotations

import json
import math

import sympy as sp

from ..model import CrossCheck, Derivation, Verdict, Verification
from .printing import latex, plain_text, text

SCHEMA_VERSION = 3


def expression(expr) -> dict:
    return {"latex": latex(expr), "text": text(expr), "srepr": sp.srepr(expr)}


def number(x: float | None) -> float | None:
    """A float for JSON: NaN and infinities, which JSON cannot hold, become null (a failed check)."""
    return x if x is None or math.isfinite(x) else None


def bound(x: float | None) -> float | None:
    """A residual rounded up (:func:`derive.model.upper_bound`): what is recorded reads the same on every
    machine, where the last digits of a residual do not."""
    from ..model import upper_bound

    return None if x is None else upper_bound(x)


def prose(value):
    """A text field for readers: any LaTeX command in it turned into Unicode (formulas keep their own
    ``latex`` fields), in strings nested in lists and dicts too."""
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, dict):
        return {k: prose(v) for k, v in value.items()}
    if isinstance(value, list):
        return [prose(v) for v in value]
    return value


def verification(v: Verification) -> dict:
    return {"method": v.method, "passed": v.passed, "label": prose(v.label), "scope": prose(v.scope),
            "detail": prose(v.detail),
            "residual": bound(v.residual), "tolerance": number(v.tolerance), "points": v.points}


def check(c: CrossCheck) -> dict:
    return {"name": prose(c.name), "compared_with": prose(c.method), "residual": bound(c.residual),
            "tolerance": number(c.tolerance), "passed": c.passed}


def _value(value) -> dict:
    if isinstance(value, Verdict):
        return {"verdict": value.answer, "question": prose(value.question), "reason": prose(value.reason),
                "condition": expression(value.condition),
                "evidence": prose(json.loads(json.dumps(value.evidence, default=str)))}
    return expression(value)


def derivation_dict(der: Derivation, include_checks: bool = True) -> dict:
    out = {
        "name": der.name,
        "title": prose(der.title),
        "summary": prose(der.summary),
        "givens": [{"lhs": expression(g.lhs), "rhs": expression(g.rhs), "note": prose(g.note)}
                   for g in der.givens],
        "sections": [
            {"question": s.question, "title": prose(s.title), "text": prose(s.text),
             "steps": [{"lhs": expression(st.lhs), "rhs": expression(st.rhs),
                        "justification": prose(st.justification), "verified": st.verified,
                        "verification": verification(st.verification)}
                       for st in s.steps]}
            for s in der.sections
        ],
        "results": [{"name": r.name, "description": prose(r.description), "lhs": expression(r.lhs),
                     "value": _value(r.value)} for r in der.results],
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
