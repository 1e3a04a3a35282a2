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
