"""The KL catalogue: which pairs (p, q) it holds, how each is derived and described.

Every same-family pair of the one-dimensional families (:mod:`derive.divergence.families`), Uniform against
Beta, Categorical against Categorical and the multivariate Normal with full covariance, against itself and
with a diagonal p.  ``derive show kl-<p>-<q>`` prints one; ``derive all`` writes them all into the catalogue
document ``kl-catalogue.{tex,md,html,pdf}``, the JSON (results ``kl.<p>.<q>``) and the functions
``kl_<p>_<q>`` of the numpy and torch modules.
"""
from __future__ import annotations

from .families import FAMILIES, parameters_text, title
from .pair import Pair

#: the vector families, derived by their own modules
VECTOR = ("categorical", "mvnormal", "mvnormal_diag")

PAIRS: tuple = (tuple(Pair(f, f) for f in FAMILIES) + (Pair("uniform", "beta"), Pair("categorical", "categorical"),
                                                        Pair("mvnormal", "mvnormal"), Pair("mvnormal_diag", "mvnormal")))

def names() -> list[str]:
    return [pair.name for pair in PAIRS]


def pair_named(name: str) -> Pair:
    for pair in PAIRS:
        if pair.name == name:
            return pair
    raise KeyError(name)


def find(p: str, q: str) -> Pair | None:
    return next((pair for pair in PAIRS if (pair.p, pair.q) == (p, q)), None)


def describe(name: str) -> str:
    pair = pair_named(name)
    return f"KL({title(pair.p)} ‖ {title(pair.q)}): {parameters_text(pair.p)}" + (
        "" if pair.p == pair.q else f"; q: {parameters_text(pair.q)}")


def derive(name: str, seed: int = 0):
    """The derivation of the pair ``name`` (``kl-gamma-gamma``)."""
    pair = pair_named(name)
    if pair.p == "categorical":
        from .categorical import derive_categorical

        return derive_categorical(seed)
    if pair.p == "mvnormal":
        from .multivariate import derive_mvnormal

        return derive_mvnormal(seed)
    if pair.p == "mvnormal_diag":
        from .multivariate import derive_mvnormal_diag

        return derive_mvnormal_diag(seed)
    from .pair import derive_pair

    return derive_pair(pair, seed)
