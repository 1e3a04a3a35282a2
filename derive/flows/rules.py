"""Structure rules: each turns a Jacobian structure into its determinant, as verified steps.

Each rule has one job and returns ``(steps, logdet)``; its steps claim a
general formula (any size) and are checked against the generic determinant of
``Matrix.jacobian`` of the layer written out at small sizes
(:class:`derive.flows.checks.Checks`).

* :func:`elementwise_logdet`: a diagonal Jacobian, log|det| = Σ_i log|D_i|;
* :func:`triangular_determinant`: a triangular Jacobian, det = Π_i D_i;
* :func:`block_triangular_determinant`: a zero block off the diagonal, det = Π_b det J_bb;
* :func:`determinant_lemma`: diag(D) + c a bᵀ, det = Π D_i (1 + c Σ_j a_j b_j / D_j);
* :func:`sylvester_identity`: diag(D) + A C B of rank m, det = Π D_i det(I_m + C B D⁻¹ A);
* :func:`orthogonal_det`: Jᵀ J = I (proved in index form), |det| = 1;
* :func:`permutation_det`: ∂y_i/∂x_j = δ_{j,p(i)} with p a bijection, |det| = 1;
* :func:`explicit_logdet`: no rule applies; log|det| of the Jacobian as a d×d matrix, written out only at a
  small d (≤ 16) and marked as such;
* :func:`composition_logdet` (in :mod:`derive.flows.compose`): the log-dets of a stack add.
"""
from __future__ import annotations

import sympy as sp

from ..model import Step, Verification
from ..notation import Label
from ..verify import combine, prove_equal
from .index import I, J, K, R, S, Det, Tabled, canonical, pull_constants, settle

JAC = Label("∂y/∂x", r"\frac{\partial y}{\partial x}")
DET = sp.Function("det")(JAC)
LOGDET = sp.log(sp.Abs(DET))


def log_abs(f):
    """log|f| with the logs of a product's factors split (|f| = f where f is known positive)."""
    return sp.expand_log(sp.log(sp.Abs(f)), force=False)


def sum_of_logs(D, size):
    """Σ_{i=1}^{size} log|D_i|, evaluated when D does not depend on i."""
    terms = [sp.Sum(t, (I, 1, size)) if t.has(I) else size * t for t in sp.Add.make_args(log_abs(D))]
    return canonical(sp.Add(*terms), first=I)


def _product(D, size):
    return sp.Product(D, (I, 1, size)) if D.has(I) else D ** size


def _diagonal_steps(checks, D, size, why: str):
    prod = _product(D, size)
    det_step = Step(DET, prod, why, checks.determinant(prod, "equals the generic determinant of the directly "
                                                             "differentiated Jacobian"))
    logdet = sum_of_logs(D, size)
    log_step = Step(LOGDET, logdet, "the log of a product is the sum of the logs of its factors' absolute values",
                    checks.logdet(logdet, "equals log|generic determinant|"))
    return [det_step, log_step], logdet


def elementwise_logdet(checks, D, size):
    """A diagonal Jacobian: det = Π_i D_i, log|det| = Σ_i log|D_i|."""
    return _diagonal_steps(checks, D, size, "∂y_i/∂x_j = 0 for j ≠ i: the Jacobian is diagonal, so its "
                                            "determinant is the product of the diagonal entries")


def triangular_determinant(checks, D, side: str, size):
    """A triangular Jacobian (entries only below, or only above, the diagonal): det = Π_i D_i."""
    where = "j > i" if side == "lower" else "j < i"
    return _diagonal_steps(checks, D, size, f"∂y_i/∂x_j = 0 for {where}: the Jacobian is {side} triangular, "
                                            "so its determinant is the product of the diagonal entries")


def block_triangular_determinant(checks, order: list, zero: list, diagonals: dict, size):
    """det of a block-triangular Jacobian = the product of the diagonal blocks' determinants.

    ``order``: the blocks in the order that makes the Jacobian block triangular; ``zero``: the
    (output, input) block pairs that vanish; ``diagonals``: block -> its diagonal D_{b,i}
    (each diagonal block is itself diagonal).
    """
    blocks = [sp.Function("det")(Label(f"∂y_{b + 1}/∂x_{b + 1}", rf"\frac{{\partial y_{b + 1}}}{{\partial x_{b + 1}}}"))
              for b in order]
    explicit = []
    for n in checks.sizes:
        product = sp.Mul(*[checks.block(n, b, b).det(method="berkowitz") for b in order])
        explicit.append(prove_equal(product, checks.det(n), scope=checks.scope(n)))
    zeros = ", ".join(f"∂y_{a + 1}/∂x_{b + 1}" for a, b in zero)
    first = Step(DET, sp.Mul(*blocks), f"{zeros} = 0: the Jacobian is block triangular, so its determinant is the "
                                       "product of the determinants of the diagonal blocks",
                 combine(explicit, "the generic determinant equals the product of the generic determinants of "
                                   "the diagonal blocks"))
    prod = sp.Mul(*[_product(diagonals[b], size) for b in order])
    second = Step(sp.Mul(*blocks), prod, "each diagonal block is diagonal: its determinant is the product of "
                                         "its diagonal", checks.determinant(prod, "equals the generic determinant"),
                  continues=True)
    logdet = sp.Add(*[sum_of_logs(diagonals[b], size) for b in order])
    third = Step(LOGDET, logdet, "the log of a product is the sum of the logs of its factors' absolute values",
                 checks.logdet(logdet, "equals log|generic determinant|"))
    return [first, second, third], logdet


def tidy_scalar(expr):
    """A scalar with sums in it, simplified with each sum held as one symbol."""
    sums = {s: sp.Dummy(f"sum{n}", real=True) for n, s in enumerate(expr.atoms(sp.Sum))}
    held = expr.xreplace(sums)
    held = sp.factor(sp.cancel(sp.together(held)))
    return held.xreplace({v: k for k, v in sums.items()})


def _hold_sums(*exprs):
    """The sums in ``exprs`` (scalars over the whole input) held as symbols, and the way back."""
    sums = set().union(*[e.atoms(sp.Sum) for e in exprs])
    held = {s: sp.Dummy(f"sigma{n}", real=True) for n, s in enumerate(sums)}
    return [e.xreplace(held) for e in exprs], {v: k for k, v in held.items()}


def lemma_factor(D, a, c, b, size):
    """1 + c Σ_k a_k b_k / D_k, simplified with the input-wide sums held as symbols."""
    (Dh, ah, ch, bh), back = _hold_sums(D, a, c, b)
    inner_sum = pull_constants(sp.Sum(sp.factor(ah.subs(I, K) * bh.subs(J, K) / Dh.subs(I, K)), (K, 1, size)))
    raw = canonical((1 + ch * inner_sum).xreplace(back))
    return min((raw, tidy_scalar(raw)), key=sp.count_ops)


def determinant_lemma(checks, D, a, c, b, size):
    """diag(D) + c a bᵀ: det = (Π_i D_i)(1 + c Σ_j a_j b_j / D_j) (the matrix determinant lemma)."""
    inner = lemma_factor(D, a, c, b, size)
    form = _product(D, size) * inner
    det_step = Step(DET, form, "∂y/∂x = diag(D) + c a bᵀ (rank one added to a diagonal): by the matrix "
                               "determinant lemma det = det(diag D) (1 + c bᵀ diag(D)⁻¹ a)",
                    checks.determinant(form, "equals the generic determinant of the directly differentiated "
                                             "Jacobian"))
    logdet = sum_of_logs(D, size) + log_abs(inner)
    log_step = Step(LOGDET, logdet, "take logs of the absolute value",
                    checks.logdet(logdet, "its exponential squared equals the square of the determinant of the "
                                          "previous step", det_form=form))
    return [det_step, log_step], logdet


def sylvester_identity(checks, D, a, c, b, r, m, size):
    """diag(D) + Σ_r a_{i r} c_r b_{r j}: det = (Π D_i) det(I_m + C B D⁻¹ A) (Sylvester's identity)."""
    a_ks = a.subs({I: K, r: S}, simultaneous=True)
    b_rk = b.subs({J: K, r: R}, simultaneous=True)
    small = sp.KroneckerDelta(R, S) + c.subs(r, R) * pull_constants(sp.Sum(b_rk * a_ks / D.subs(I, K), (K, 1, size)))
    matrix = Tabled(small, R, S, m)
    form = _product(D, size) * Det(matrix)
    det_step = Step(DET, form, "∂y/∂x = diag(D) + A C B with A d×m, C = diag(c_r), B m×d: by Sylvester's "
                               "determinant identity det(I_d + X Y) = det(I_m + Y X), det = det(diag D) "
                               "det(I_m + C B diag(D)⁻¹ A), an m×m determinant",
                    checks.determinant(form, "equals the generic determinant of the directly differentiated Jacobian"
                                             " (m = 1, 2)"))
    logdet = sum_of_logs(D, size) + sp.log(sp.Abs(Det(matrix)))
    log_step = Step(LOGDET, logdet, "take logs of the absolute value",
                    checks.logdet(logdet, "its exponential squared equals the square of the determinant of the "
                                          "previous step", det_form=form))
    return [det_step, log_step], logdet


def gram(entry, size):
    """(Jᵀ J)_ij = Σ_q J_qi J_qj in index form, evaluated."""
    q = sp.Symbol("q", integer=True, positive=True)
    col_i = entry.subs({I: q, J: I}, simultaneous=True)
    col_j = entry.subs({I: q}, simultaneous=True)
    total = sp.Sum(sp.expand(col_i * col_j), (q, 1, size)).doit()
    total = pull_constants(settle(total, {I: size, J: size, q: size}))
    return sp.simplify(canonical(total))


def orthogonal_det(checks, entry, size):
    """Jᵀ J = I, proved in index form: |det J| = 1 and log|det J| = 0 (None when not orthogonal)."""
    if entry.has(*checks.layer.inputs):
        return None
    product = gram(entry, size)
    if sp.simplify(product - sp.KroneckerDelta(I, J)) != 0:
        return None
    q = sp.Symbol("q", integer=True, positive=True)
    lhs = sp.Sum(entry.subs({I: q, J: I}, simultaneous=True) * entry.subs(I, q), (q, 1, size))
    first = Step(lhs, sp.KroneckerDelta(I, J), "(JᵀJ)_ij = Σ_k J_ki J_kj evaluates to δ_ij: the Jacobian is "
                                               "orthogonal", checks.orthogonal("JᵀJ = I for the directly "
                                                                               "differentiated Jacobian"))
    second = Step(sp.Abs(DET), sp.S.One, "det(J)² = det(JᵀJ) = det I = 1",
                  checks.unit_determinant("the square of the generic determinant is 1"))
    third = Step(LOGDET, sp.S.Zero, "log 1 = 0", checks.logdet(sp.S.Zero, "log|generic determinant| = 0"))
    return [first, second, third], sp.S.Zero


def permutation_det(checks, p, size):
    """∂y_i/∂x_j = δ_{j,p(i)} with p a bijection of 1..size: |det J| = 1."""
    if sp.degree(p, I) != 1 or abs(sp.Poly(p, I).LC()) != 1 or {p.subs(I, 1), p.subs(I, size)} != {1, size}:
        return None  # only index maps i -> ±i + c that map 1..size onto itself
    q = sp.solve(sp.Eq(p, J), I)[0]
    both = [prove_equal(p.subs(I, q), J, allow_numeric=False), prove_equal(q.subs(J, p), I, allow_numeric=False)]
    first = Step(sp.Function("p")(I), p, f"∂y_i/∂x_j = δ_(j,p(i)): each row holds a single 1; p is a bijection of "
                                         f"1, …, {size} with inverse j ↦ {q}",
                 combine(both, "p(p⁻¹(j)) = j and p⁻¹(p(i)) = i"))
    second = Step(sp.Abs(DET), sp.S.One, "the Jacobian is a permutation matrix: its determinant is ±1",
                  checks.unit_determinant("the square of the generic determinant is 1"))
    third = Step(LOGDET, sp.S.Zero, "log 1 = 0", checks.logdet(sp.S.Zero, "log|generic determinant| = 0"))
    return [first, second, third], sp.S.Zero


MAX_EXPLICIT = 16


def explicit_logdet(checks_at, entry, size, n: int):
    """No structure rule applies: log|det| of the Jacobian [∂y_i/∂x_j] as a matrix (slogdet, O(d³) numerically).

    Only a layer of one block, and only at d = ``n`` ≤ 16: the matrix of the derived entries is written out
    there and compared with ``Matrix.jacobian`` of the written-out layer (``checks_at(n)``); the step says so.
    """
    if n > MAX_EXPLICIT:
        return None
    logdet = sp.log(sp.Abs(Det(Tabled(entry, I, J, size))))
    check = checks_at(n).entry(entry, 0, 0, f"no structure rule applies: the Jacobian written out at d = {n} "
                               "equals the directly differentiated layer; log|det| is that matrix's, not a formula")
    step = Step(LOGDET, logdet, f"no structure rule applies: the log-determinant of the {size}×{size} Jacobian "
                f"itself (explicit Jacobian, checked only at d = {n}; numerically slogdet, O(d³))", check)
    return [step], logdet
