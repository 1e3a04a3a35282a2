import functools
import os

import pytest

# the tests compute everything: no derive they start reads or writes the cache of verified derivations
# (the cache's own tests give their commands a cache folder of their own)
os.environ["DERIVE_NO_CACHE"] = "1"


@functools.lru_cache(maxsize=None)
def _coupling(variant):
    from derive.coupling import derive_coupling

    return derive_coupling(variant)


@pytest.fixture(scope="session")
def coupling():
    """The derived coupling block of a named variant (built once per session)."""
    return _coupling
