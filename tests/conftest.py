import functools

import pytest


@functools.lru_cache(maxsize=None)
def _coupling(variant):
    from derive.coupling import derive_coupling

    return derive_coupling(variant)


@pytest.fixture(scope="session")
def coupling():
    """The derived coupling block of a named variant (built once per session)."""
    return _coupling
