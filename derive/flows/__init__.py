"""Flow layers of any dimension: their definitions, the structure rules and the driver.

``LAYERS`` and ``FLOWS`` (:mod:`derive.flows.catalogue`) hold the definitions;
:func:`derive` returns the verified derivation of one by name (computed once
per process).
"""
from __future__ import annotations

from functools import lru_cache


def names() -> list:
    from .catalogue import FLOWS, LAYERS

    return list(LAYERS) + list(FLOWS)


def describe(name: str) -> str:
    from .catalogue import FLOWS, LAYERS

    item = LAYERS.get(name) or FLOWS[name]
    return item.description or item.title


@lru_cache(maxsize=None)
def derive(name: str):
    """The derivation of catalogue layer or stack ``name``."""
    from .catalogue import FLOWS, LAYERS
    from .compose import derive_flow
    from .driver import derive_layer

    if name in LAYERS:
        return derive_layer(LAYERS[name])
    return derive_flow(FLOWS[name], lambda layer: derive(layer.name) if LAYERS.get(layer.name) is layer
                       else derive_layer(layer))


def _inline(expr) -> str:
    import sympy as sp

    if expr is sp.true:
        return "always"
    text = sp.pretty(expr, use_unicode=True)
    return text if "\n" not in text else sp.sstr(expr)


def table() -> str:
    """The catalogue as a Markdown table: structure found, inverse, invertibility, volume (derived)."""
    import sympy as sp

    rows = ["| layer | structure found | inverse | invertible when | volume preserving |",
            "|---|---|---|---|---|"]
    for name in names():
        der = derive(name)
        structure = der.data["structure"].name if "structure" in der.data else "composition"
        cond = der.result(f"{name}.condition").value
        vol = der.result(f"{name}.volume").value
        when = ("not derived (det ≠ 0 is needed)" if cond.holds is None and cond.condition.has(sp.Symbol("det"))
                else _inline(cond.condition))
        volume = vol.answer if vol.holds is not None else "when the log-determinant (parameters only) is 0"
        rows.append(f"| `{name}` | {structure} | {der.data['inverse_kind']} | {when} | {volume} |")
    return "\n".join(rows)
