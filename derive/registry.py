"""The derivations the CLI knows, by name: how to build each and how to check it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Options:
    """User options shared by all derivations (already validated)."""

    dim: int = 16
    variant: str = "seed"
    seed: int = 0


@dataclass(frozen=True)
class Entry:
    name: str
    question: str
    description: str
    build: Callable[[Options], object]
    check: Callable[[object, Options], list]


def _coupling_build(opts: Options):
    from .coupling import derive_coupling

    return derive_coupling(opts.variant, explicit_dim=opts.dim)


def _coupling_check(der, opts: Options):
    from .numeric.coupling import cross_checks

    return cross_checks(der, k=opts.dim // 2, seed=opts.seed)


ENTRIES: dict[str, Entry] = {
    "coupling": Entry("coupling", "1.1-1.3", "affine coupling block: inverse, Jacobian, determinant, volume",
                      _coupling_build, _coupling_check),
}


def names() -> list[str]:
    return list(ENTRIES)
