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
    #: d of the written-out Jacobian (None: not written out)
    explicit_dim: int | None = 4
    #: the user's own conditioners and scales, as text (see derive.custom)
    F: str | None = None
    G: str | None = None
    s: str | None = None
    #: the prior N(prior_mean, prior_std^2) of 2.2-2.4, as SymPy numbers
    prior_mean: object = 0
    prior_std: object = 1
    #: a worked example (mu, sigma) for the KL, as SymPy numbers
    example: tuple | None = None
    #: derive all: the flow-layer catalogue too (catalogue.{tex,md,html,pdf}, its code and JSON)
    catalogue: bool = True
    #: derive all: your own layers and flows, as (kind, path) of their TOML files (already read and checked)
    own: tuple = ()

    @property
    def custom_block(self) -> bool:
        return any(v is not None for v in (self.F, self.G, self.s))


@dataclass(frozen=True)
class Entry:
    name: str
    question: str
    description: str
    build: Callable[[Options], object]
    check: Callable[[object, Options], list]
    #: what else the derivation depends on, for the cache key (an own layer's file, as read)
    key_extra: str = ""

    def cross_checks(self, der, opts: Options) -> list:
        """The numeric cross-checks, with floating-point trouble reported as a failed check (never on stderr)."""
        from .numeric.guard import guarded

        return guarded(lambda: self.check(der, opts))


def _coupling_build(opts: Options):
    if opts.custom_block:
        from .custom import BlockSpec, derive_user_block

        return derive_user_block(BlockSpec(opts.variant, opts.dim, opts.F, opts.G, opts.s))
    from .coupling import derive_coupling

    return derive_coupling(opts.variant, explicit_dim=opts.explicit_dim)


def _coupling_check(der, opts: Options):
    from .numeric.coupling import cross_checks

    return cross_checks(der, k=opts.dim // 2, seed=opts.seed, batch=16 if opts.dim <= 256 else 4)


def _vfe_build(opts):
    from .freeenergy import derive_free_energy

    return derive_free_energy()


def _vfe_check(der, opts):
    from .numeric.variational import vfe_checks

    return vfe_checks(der, seed=opts.seed)


def _kl_build(opts):
    from .kl_gaussian import derive_kl

    return derive_kl(opts.prior_mean, opts.prior_std, example=opts.example)


def _kl_check(der, opts):
    from .numeric.variational import kl_checks

    return kl_checks(der, seed=opts.seed)


def _reparam_build(opts):
    from .reparam import derive_reparam

    return derive_reparam(opts.prior_mean, opts.prior_std)


def _reparam_check(der, opts):
    from .numeric.variational import reparam_checks

    return reparam_checks(der, seed=opts.seed)


def _estimators_build(opts):
    from .estimators import derive_estimators_comparison

    return derive_estimators_comparison(opts.prior_mean, opts.prior_std)


def _estimators_check(der, opts):
    from .numeric.estimator_checks import estimator_checks

    return estimator_checks(der, seed=opts.seed)


ENTRIES: dict[str, Entry] = {
    "coupling": Entry("coupling", "1.1-1.3", "affine coupling block: inverse, Jacobian, determinant, volume",
                      _coupling_build, _coupling_check),
    "vfe": Entry("vfe", "2.1", "variational free energy: F(q) = log p(x) - KL(q || p(z|x))", _vfe_build, _vfe_check),
    "kl": Entry("kl", "2.2-2.3", "KL of factorised Gaussians: sum over dimensions, closed form", _kl_build, _kl_check),
    "reparam": Entry("reparam", "2.4", "reparameterisation gradient by backpropagation", _reparam_build,
                     _reparam_check),
}

#: beyond the sheet, derived by ``derive all`` with the catalogues (``--no-catalogue`` leaves them out)
EXTRAS: dict[str, Entry] = {
    "estimators": Entry("estimators", "beyond", "three gradient estimators of the KL compared: pathwise, score "
                        "function (with the optimal baseline), path derivative", _estimators_build,
                        _estimators_check),
}


def names() -> list[str]:
    return list(ENTRIES)


def _layer_build(name: str):
    def build(opts: Options):
        from . import flows

        return flows.derive(name)
    return build


def _layer_check(der, opts: Options):
    from .flows.crosscheck import cross_checks

    return cross_checks(der, dim=max(2, opts.dim - opts.dim % 2), seed=opts.seed)


def catalogue() -> dict[str, Entry]:
    """The flow layers of the catalogue, by name (derived on demand)."""
    from . import flows

    return {n: Entry(n, "layer", flows.describe(n), _layer_build(n), _layer_check) for n in flows.names()}


def _kl_pair_build(name: str):
    def build(opts: Options):
        from .divergence.catalogue import derive

        return derive(name, seed=opts.seed)
    return build


def _kl_pair_check(der, opts: Options):
    from .divergence.crosscheck import cross_checks

    return cross_checks(der, seed=opts.seed)


def kl_pairs() -> dict[str, Entry]:
    """The KL catalogue's pairs, by name (``kl-gamma-gamma``; derived on demand)."""
    from .divergence import catalogue as kl

    return {n: Entry(n, "KL pair", kl.describe(n), _kl_pair_build(n), _kl_pair_check) for n in kl.names()}


def _own_build(kind: str, item, file_dim):
    """Build the derivation of an own layer or flow from what was read (the file is not read again)."""
    def build(opts: Options):
        from .flows.compose import derive_flow
        from .flows.driver import derive_layer

        if kind == "layer":
            return derive_layer(item, file_dim)
        return derive_flow(item, lambda layer: derive_layer(layer, file_dim if layer.source else None))
    return build


def own(kind: str, path: str, dim: int | None = None) -> Entry:
    """Your own layer (``kind`` "layer") or flow ("flow") from the TOML file at ``path``; the file is read and
    checked here, once (a :class:`derive.parse.ParseError` if it is refused).  ``dim`` replaces the file's d
    for the numeric checks."""
    import hashlib

    from .flows.user import read_flow, read_layer
    from .tomlfile import recording

    with recording() as read:
        item, own_dim = (read_layer if kind == "layer" else read_flow)(path)
    dim = dim or own_dim
    digest = hashlib.sha256(f"{kind} {dim}".encode())
    for data in read:  # the file and the layer files a flow names, as they were read
        digest.update(hashlib.sha256(data).digest())

    def check(der, opts: Options):
        from .flows.usercheck import cross_checks

        return cross_checks(der, dim=dim, seed=opts.seed)
    return Entry(item.name, kind, item.description, _own_build(kind, item, own_dim), check, digest.hexdigest())
