"""The verification machinery reports honestly."""
import pytest
import sympy as sp

from derive.model import Verification
from derive.verify import prove_equal


def test_true_identity_is_symbolic():
    x = sp.Symbol("x", real=True)
    v = prove_equal(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1)
    assert v.passed and v.method == "symbolic"


def test_false_identity_is_unverified():
    x = sp.Symbol("x", real=True)
    v = prove_equal(sp.sin(x) ** 2, 1)
    assert not v.passed and v.method == "unverified"


def test_undefined_functions_are_checked_with_random_functions():
    x = sp.Symbol("x", real=True)
    f = sp.Function("f")
    assert not prove_equal(f(x) * 2, f(x) + 1).passed
    assert prove_equal(sp.diff(f(x) ** 2, x), 2 * f(x) * sp.diff(f(x), x)).passed


def test_unverified_cannot_be_marked_passed():
    with pytest.raises(ValueError):
        Verification("unverified", True, "no")


def test_time_limits_nest_and_the_outer_one_is_not_swallowed():
    import gc
    import time as _time

    from derive.verify import DerivationTimeout, time_limit

    gc.disable()  # keep the alarm out of other libraries' gc callbacks during this test
    try:
        _nested_limits(_time, DerivationTimeout, time_limit)
    finally:
        gc.enable()


def _nested_limits(_time, DerivationTimeout, time_limit):
    # the inner limit expires first and is caught by its owner
    with time_limit(5, "outer"):
        with pytest.raises(DerivationTimeout) as inner:
            with time_limit(0.05, "inner"):
                _time.sleep(1)
        assert inner.value.what == "inner"
    # an outer limit expiring inside prove_equal's own limit reaches the outer caller
    x = sp.Symbol("x", real=True)
    with pytest.raises(DerivationTimeout) as outer:
        with time_limit(0.2, "whole derivation"):
            while True:
                prove_equal(sp.sin(x) ** 2, 1, seconds=30)
    assert outer.value.what == "whole derivation"
