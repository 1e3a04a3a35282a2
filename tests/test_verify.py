"""The verification machinery reports honestly."""
import pytest
import sympy as sp

from derive.model import Verification
from derive.verify import prove_equal

pytestmark = pytest.mark.mutation


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


# ---- the verifier kernel against wrong identities ---------------------------

X = sp.Symbol("x", real=True)
Y = sp.Symbol("y", real=True)


def test_matrix_identity_with_one_agreeing_entry_is_refused():
    """A wrong matrix whose zero block agrees with the right one (like ∂y2/∂x1) is not accepted."""
    right = sp.Matrix([[sp.exp(X), 1], [0, sp.exp(Y)]])
    wrong = sp.Matrix([[sp.exp(X), 1], [0, sp.exp(X)]])   # every entry agrees but one
    assert not prove_equal(wrong, right).passed
    assert not prove_equal(sp.Matrix([[X, 0]]), sp.Matrix([[Y, 0]])).passed
    assert prove_equal(right, right.T.T).passed


def test_false_matrix_identity_with_undefined_functions_fails_numerically():
    f = sp.Function("f")
    v = prove_equal(sp.Matrix([0, f(X) + 1]), sp.Matrix([0, f(X)]))
    assert not v.passed and v.method == "unverified" and v.residual == pytest.approx(1.0)


def test_matrices_of_different_shapes_are_not_compared():
    with pytest.raises(ValueError):
        prove_equal(sp.Matrix([X, Y]), sp.Matrix([[X, Y]]))


def _passed(label="p", scope=None):
    return Verification("symbolic", True, label, scope=scope)


def test_combine_fails_when_any_member_fails_wherever_it_stands():
    from derive.verify import combine

    bad = Verification.unverified("entry (2, 1) differs")
    for members in ([bad, _passed()], [_passed(), bad], [_passed(), _passed(), bad, _passed()]):
        v = combine(members, "at k = 1, 2")
        assert not v.passed and v.method == "unverified" and "entry (2, 1) differs" in v.detail
    assert not combine([], "nothing").passed


def test_combine_says_what_was_established():
    from derive.verify import combine

    at_k = [_passed(scope=f"k = {n}") for n in (1, 2, 3)]
    v = combine(at_k, "equals Matrix.jacobian")
    assert v.passed and v.scope == "k = 1, 2, 3" and v.label == "checked at k = 1, 2, 3"
    assert combine([*at_k, _passed()], "index form").label == "proof"
    numeric = Verification("numeric", True, "n", residual=3e-12, tolerance=1e-9, points=24)
    worse = Verification("numeric", True, "n", residual=5e-11, tolerance=1e-9, points=24)
    v = combine([numeric, worse], "random points")
    assert v.method == "numeric" and v.residual == 5e-11
    assert v.label == "numeric at 24 random points, tol 1e-09"


def test_labels_claim_a_proof_only_for_the_general_case():
    assert _passed().label == "proof"
    assert _passed(scope="D = 1, 2, 3").label == "checked at D = 1, 2, 3"
    assert Verification.unverified("why").label == "unverified"
    assert not Verification.unverified("why").passed
    with pytest.raises(ValueError):
        Verification("numeric", True, "no points stated")


def test_a_time_out_is_never_a_pass(monkeypatch):
    import time as _time

    import derive.verify as verify

    def slow(expr, *args, **kwargs):
        _time.sleep(5)
        return sp.S.Zero   # would "prove" anything, had it finished in time

    monkeypatch.setattr(verify.sp, "simplify", slow)
    f = sp.Function("f")
    # expand does not reduce this to 0; simplify would, but runs out of time
    lhs, rhs = f(X) * (X + 1) ** 2, f(X) * (X ** 2 + 2 * X + 1) + (sp.sin(X) ** 2 + sp.cos(X) ** 2 - 1)
    v = verify.prove_equal(lhs, rhs, seconds=0.2, allow_numeric=False)
    assert not v.passed and v.method == "unverified"
    assert not verify.exact("by integration", lhs, rhs, seconds=0.2).passed


def test_numeric_check_that_runs_out_of_time_is_unverified(monkeypatch):
    import time as _time

    import derive.verify as verify

    monkeypatch.setattr(verify, "numeric_residual", lambda *a, **k: _time.sleep(5) or 0.0)
    f = sp.Function("f")
    v = verify.prove_equal(f(X), f(X) + sp.Float(1e-30), seconds=0.2)
    assert not v.passed and "ran out of time" in v.detail


@pytest.mark.parametrize("offset,passes", [(2e-9, False), (1.5e-9, False), (5e-10, True), (1e-3, False)])
def test_numeric_tolerance_near_misses(offset, passes):
    """Residuals just above the 1e-9 tolerance fail, just below pass (so a looser tolerance is caught)."""
    f = sp.Function("f")
    v = prove_equal(f(X) + sp.Float(offset), f(X))
    assert v.passed is passes
    assert v.residual == pytest.approx(offset, rel=1e-6)
    assert v.method == ("numeric" if passes else "unverified")


def test_non_finite_values_fail_the_numeric_check():
    from derive.verify import numeric_residual

    assert numeric_residual(sp.nan + X) == float("inf")
    f = sp.Function("f")
    assert not prove_equal(f(X) / (X - X), f(X)).passed


@pytest.mark.parametrize("hidden", [sp.sin(1) ** 2 + sp.cos(1) ** 2 - 1, sp.log(2) + sp.log(3) - sp.log(6),
                                    sp.cosh(1) ** 2 - sp.sinh(1) ** 2 - 1])
def test_a_hidden_zero_constant_is_not_verified(hidden):
    from derive.verify import decide_zero

    assert decide_zero(hidden) is True
    v = prove_equal(X / hidden, X / hidden)
    assert not v.passed and "exactly 0" in v.detail
    assert not prove_equal(sp.log(hidden) * X, sp.log(hidden) * X).passed


@pytest.mark.parametrize("value", [sp.pi - sp.Rational(355, 113), sp.E - sp.Float("2.718281828"), sp.sqrt(2) - 1])
def test_non_zero_constants_are_decided(value):
    from derive.verify import decide_zero

    assert decide_zero(value) is False
    assert prove_equal(X / value, X / value).passed


def test_exact_check_refuses_a_wrong_value():
    from derive.verify import exact

    assert exact("integrates to 1", sp.Integer(1), 1).passed
    v = exact("integrates to 1", sp.Rational(1, 2), 1)
    assert not v.passed and v.detail.startswith("integrates to 1")


def test_true_matrix_identities_are_proved_symbolically():
    m = sp.Matrix([[sp.exp(X) * sp.exp(-X), sp.sin(X) ** 2 + sp.cos(X) ** 2], [0, (X + 1) ** 2]])
    v = prove_equal(m, sp.Matrix([[1, 1], [0, X ** 2 + 2 * X + 1]]))
    assert v.passed and v.method == "symbolic" and v.label == "proof"
    assert prove_equal(sp.Matrix([X, Y]), [X, Y]).method == "symbolic"
    with pytest.raises(ValueError):
        prove_equal(sp.Matrix([X, Y]), [[X, Y]])


def test_no_limit_means_no_limit():
    import time as _time

    from derive.verify import time_limit

    with time_limit(None, "unbounded") as token:
        _time.sleep(0.05)
    assert token is not None


def test_the_first_limit_of_a_fresh_process_fires():
    """In a new interpreter the very first limit must install its handler (else SIGALRM would kill the process)."""
    import subprocess
    import sys

    code = ("import time\nfrom derive.verify import DerivationTimeout, time_limit\n"
            "try:\n    with time_limit(0.05, 'first'):\n        time.sleep(2)\n"
            "except DerivationTimeout as exc:\n    print('stopped:', exc.what)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout == "stopped: first\n", (res.returncode, res.stderr[-300:])


def test_an_expired_limit_fires_on_time_and_an_inner_one_first():
    import time as _time

    from derive.verify import DerivationTimeout, time_limit

    gc_was = __import__("gc").isenabled()
    __import__("gc").disable()
    try:
        start = _time.monotonic()
        with time_limit(30, "outer"):
            with pytest.raises(DerivationTimeout) as inner:
                with time_limit(0.2, "inner"):
                    _time.sleep(3)
        assert inner.value.what == "inner" and 0.15 < _time.monotonic() - start < 1.0
    finally:
        if gc_was:
            __import__("gc").enable()


@pytest.mark.parametrize("value,zero", [(sp.Integer(0), True), (sp.Float(0.0), True), (sp.Rational(1, 3), False),
                                        (sp.Mul(0, sp.pi, evaluate=False), True),
                                        (sp.sin(1) ** 2 + sp.cos(1) ** 2, False),
                                        (sp.cosh(2) ** 2 - sp.sinh(2) ** 2 - 1, True)])
def test_decide_zero_on_known_constants(value, zero):
    from derive.verify import decide_zero

    assert decide_zero(value) is zero


def test_a_constant_that_cannot_be_decided_in_time_is_undecided(monkeypatch):
    import time as _time

    import derive.verify as verify

    monkeypatch.setattr(verify.sp, "N", lambda *a, **k: _time.sleep(5))
    assert verify.decide_zero(sp.pi - 3, seconds=0.2) is None


@pytest.mark.parametrize("bad", [sp.zoo, sp.nan, sp.oo, sp.S.NegativeInfinity])
def test_undefined_expressions_are_never_verified(bad):
    v = prove_equal(X + bad, X + bad)
    assert not v.passed and "undefined" in v.detail


# ---- each part of the verifier on its own (so that one route cannot hide a slip in another) -----------------

TAU = sp.Symbol("tau", positive=True)
#: SymPy reduces each side of this identity but not their difference (it arises in 2.1's posterior)
SIDES_ONLY = ((2 * TAU ** 4 + 2 * TAU ** 2) * sp.sqrt(4 * TAU ** 4 + 4 * TAU ** 2)
              / (4 * (-1 + (2 * TAU ** 4 + 2 * TAU ** 2) / (2 * TAU ** 2)) ** sp.Rational(3, 2)
                 * sp.sqrt(TAU ** 2 + 1)), TAU ** 2 + 1)


def test_the_difference_route_proves_by_doit_expand_or_simplify():
    from derive.verify import _reduce_now

    i, n = sp.Symbol("i", integer=True), sp.Symbol("n", integer=True, positive=True)
    assert _reduce_now(sp.Sum(i, (i, 1, n)) - n * (n + 1) / 2)           # doit
    assert _reduce_now((X + 1) ** 2 - (X ** 2 + 2 * X + 1))             # expand
    assert _reduce_now(sp.sin(X) ** 2 + sp.cos(X) ** 2 - 1)               # simplify
    assert _reduce_now(sp.Matrix([[X - X, (X + 1) ** 2 - X ** 2 - 2 * X - 1]]))
    assert not _reduce_now(sp.sin(X) ** 2 - 1)
    assert not _reduce_now(sp.Matrix([[0, sp.sin(X)]]))
    assert _reduce_now(SIDES_ONLY[0] - SIDES_ONLY[1]) is False


def test_the_sides_route_simplifies_each_side_first():
    from derive.verify import _sides_reduce

    assert _sides_reduce(*SIDES_ONLY) is True
    assert _sides_reduce(SIDES_ONLY[0], TAU ** 2 + 2) is False
    v = prove_equal(*SIDES_ONLY, allow_numeric=False)
    assert v.passed and v.method == "symbolic" and v.general


def test_within_returns_what_it_is_told_on_its_own_time_out():
    import time as _time

    from derive.verify import within

    assert within(5, "quick", lambda a: a + 1, 1) == 2
    assert within(0.05, "slow", _time.sleep, 2, on_timeout="late") == "late"
    assert within(0.05, "slow", _time.sleep, 2) is None


def test_no_timer_is_left_armed_and_an_armed_one_counts_down_from_the_deadline():
    import signal

    from derive.verify import time_limit

    with time_limit(30, "outer"):
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 29 < remaining <= 30
        with time_limit(10, "inner"):
            assert 9 < signal.getitimer(signal.ITIMER_REAL)[0] <= 10
        assert 29 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_swallowed_time_out_fires_again_soon():
    import time as _time

    from derive.verify import DerivationTimeout, time_limit

    gc = __import__("gc")
    gc_was = gc.isenabled()
    gc.disable()
    fired = []
    try:
        with pytest.raises(DerivationTimeout):
            with time_limit(0.1, "swallowed"):
                end = _time.monotonic() + 5
                while _time.monotonic() < end:
                    try:
                        _time.sleep(0.01)
                    except DerivationTimeout:   # swallowed once, as a gc callback might
                        if fired:
                            raise
                        fired.append(_time.monotonic())
        assert _time.monotonic() - fired[0] < 0.3
    finally:
        if gc_was:
            gc.enable()


def test_a_hidden_zero_on_either_side_is_refused_by_both_checks():
    from derive.verify import exact

    hidden = sp.sin(1) ** 2 + sp.cos(1) ** 2 - 1
    for lhs, rhs in ((X / hidden, X), (X, X / hidden)):
        for v in (prove_equal(lhs, rhs), exact("by integration", lhs, rhs)):
            assert isinstance(v, Verification) and not v.passed and "divides by" in v.detail


def test_a_hidden_zero_factor_of_a_divisor_is_found():
    from derive.verify import undefined_constant

    y = sp.Symbol("y", real=True)
    hidden = sp.sin(1) ** 2 + sp.cos(1) ** 2 - 1
    assert "exactly 0" in undefined_constant(y / (X * hidden))
    assert "exactly 0" in undefined_constant(sp.log(X ** 2 * hidden))
    for fine in (y / X, y / (X + 1), X / (2 * y), sp.log(1 + X ** 2), y / (X * sp.pi), sp.exp(-X) / (X ** 2 + y)):
        assert undefined_constant(fine) is None, fine


def test_the_default_label_says_simplify_and_a_given_detail_replaces_it():
    assert prove_equal(X + X, 2 * X).detail == "simplify(lhs - rhs) = 0"
    assert prove_equal(X + X, 2 * X, detail="back-substitution").detail == "back-substitution"


def test_a_numeric_check_that_cannot_run_is_unverified(monkeypatch):
    import derive.verify as verify

    def broken(*args, **kwargs):
        raise TypeError("cannot evaluate an Indexed")

    monkeypatch.setattr(verify, "numeric_residual", broken)
    f = sp.Function("f")
    v = verify.prove_equal(f(X), f(X) + sp.Float(1e-30))
    assert isinstance(v, Verification) and not v.passed
    assert v.detail == "no symbolic proof; numeric check failed to run (cannot evaluate an Indexed)"


def test_a_residual_equal_to_the_tolerance_passes():
    v = prove_equal(sp.Float("1e-9"), 0, tolerance=1e-9)
    assert v.passed and v.method == "numeric" and v.residual == 1e-9


def test_combine_of_proofs_is_exact_only_when_every_proof_is_exact():
    from derive.verify import combine

    ex, sym = Verification("exact", True, "e"), Verification("symbolic", True, "s")
    assert combine([ex, ex], "d").method == "exact" and combine([ex, sym], "d").method == "symbolic"
    assert combine([sym, sym], "d").method == "symbolic"
    assert all(v.passed and v.general for v in (combine([ex, ex], "d"), combine([ex, sym], "d")))
    at = [Verification("exact", True, "e", scope="k = 1"), Verification("symbolic", True, "s", scope="k = 2")]
    assert combine(at, "d").method == "symbolic" and combine(at[:1], "d").method == "exact"
    assert all(combine(m, "d").passed for m in (at, at[:1]))


def test_combine_of_numeric_checks_keeps_the_worst_residual_even_beside_a_zero():
    from derive.verify import combine

    zero = Verification("numeric", True, "n", residual=0.0, tolerance=1e-9, points=24)
    small = Verification("numeric", True, "n", residual=1e-12, tolerance=1e-9, points=24)
    for members in ([zero, small], [small, zero]):
        v = combine(members, "d")
        assert v.passed and v.method == "numeric" and v.residual == 1e-12


def test_a_numeric_verification_states_both_points_and_tolerance():
    for points, tolerance in ((None, 1e-9), (24, None), (None, None)):
        with pytest.raises(ValueError):
            Verification("numeric", True, "n", residual=0.0, tolerance=tolerance, points=points)


def test_random_functions_are_smooth_bounded_and_depend_on_every_argument():
    import random

    import numpy as np

    from derive.verify import _random_function

    grid = np.linspace(-1.5, 1.5, 601)
    for seed in range(6):
        for nargs in (1, 2, 3):
            fn = _random_function(random.Random(seed), nargs)
            assert isinstance(fn, sp.Lambda) and len(fn.variables) == nargs
            for axis in range(nargs):
                args = list(fn.variables)
                f = sp.lambdify(args[axis], fn(*[a if n == axis else sp.Float(0.3) for n, a in enumerate(args)]))
                df = sp.lambdify(args[axis], sp.diff(fn(*args), args[axis]).subs(
                    {a: 0.3 for n, a in enumerate(args) if n != axis}))
                values, slopes = np.array([f(t) for t in grid]), np.array([df(t) for t in grid])
                assert np.all(np.isfinite(values)) and np.max(np.abs(values)) < 1 + 1.2 * nargs + 1e-12
                assert np.all(np.isfinite(slopes)) and np.max(np.abs(slopes)) < 2 and np.ptp(values) > 1e-3
