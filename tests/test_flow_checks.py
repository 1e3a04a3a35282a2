"""The comparison of a claimed formula with the generic one at a small size, where |e|, sign(e) and square
roots appear (radial at d = 1: |x - x0| and its derivative sign(x - x0))."""
import pytest
import sympy as sp

from derive.flows.checks import hold_roots, same

x, x0 = sp.symbols("x x0", real=True)
alpha, beta = sp.symbols("alpha beta", positive=True)
r = sp.Abs(x - x0)


def generic_det():
    """d/dx of x + beta h(r) (x - x0) with h(r) = 1/(alpha + r), written as Matrix.jacobian leaves it."""
    y = x + beta * (x - x0) / (alpha + sp.sqrt(sp.expand((x - x0) ** 2)))
    return sp.diff(y, x)


def test_the_generic_derivative_holds_a_sign_and_a_root():
    d = generic_det()
    assert d.has(sp.sign) or d.has(sp.Abs) or any(p.exp == sp.Rational(1, 2) for p in d.atoms(sp.Pow))


def test_abs_sign_and_root_are_held_as_one_symbol():
    held = {}
    left, _ = hold_roots(r + sp.sign(x - x0), held)
    right, roots = hold_roots(sp.sqrt(sp.expand((x - x0) ** 2)), held)
    (rho,) = roots
    assert left == rho + (x - x0) / rho and right == rho
    for a, b in [(3, -2), (-1.5, 4), (0.25, 0.5)]:
        assert abs(float((roots[rho] - r).subs({x: a, x0: b}))) < 1e-12


def test_the_radial_derivative_at_size_one_is_proved_not_sampled():
    claimed = (1 + beta / (alpha + r)) * (1 - beta * r / ((alpha + r) * (alpha + beta + r)))
    v = same(claimed, generic_det(), "d = 1")
    assert v.passed and v.method == "symbolic", v


def test_a_wrong_sign_in_the_claim_is_caught():
    claimed = (1 + beta / (alpha + r)) * (1 + beta * r / ((alpha + r) * (alpha + beta + r)))
    v = same(claimed, generic_det(), "d = 1")
    assert not v.passed


@pytest.mark.slow
def test_every_radial_step_that_is_checked_at_small_sizes_is_proved_at_d_1_2_3():
    """Before |e| and sign(e) were held as roots, radial's log-determinant was only sampled at d = 1 and its
    label read "checked at d = 2, 3"."""
    from derive import flows

    der = flows.derive("radial")
    sized = [s.verification for s in der.steps if s.verification.scope]
    assert len(sized) == 3
    for v in sized:
        assert v.passed and v.method == "symbolic" and v.label == "checked at d = 1, 2, 3", v
