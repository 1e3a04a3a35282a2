"""The KL catalogue: KL(p ‖ q) for pairs of distribution families, derived from their densities and
verified (:mod:`derive.divergence.pair`, :mod:`derive.divergence.multivariate`)."""
