"""Index notation for flow layers of any dimension.

A layer's component equations are written for component ``i`` of a vector of
symbolic size (``d``, or ``k`` per half of a coupling block) with SymPy's
``Indexed`` objects and ``Sum``.  Two kinds of conditioner appear besides the
coupling block's ``Component(F, i, x2)`` (a function of the whole other half):

* ``Prefix(mu, i, x)``: mu_i(x_{<i}), the i-th output of an autoregressive
  network, a function of x_1, ..., x_{i-1} only.  Its derivative with respect to
  x_j is ``PrefixPartial(mu, i, j, x)``, zero unless j < i.
* ``Tabled(entry, r, s, m)``: the m×m matrix whose (r, s) entry is ``entry``
  (used for a determinant of a small matrix, as in Sylvester's identity).

:func:`settle` removes the case distinctions SymPy introduces when it
differentiates a sum (``Piecewise((w_j, j <= d), (0, True))``) where the index
range makes them trivial, and keeps the ones that carry structure (j < i).
"""
from __future__ import annotations

import sympy as sp

from ..notation import ComponentPartial, _name, _pretty_call, entry_derivative

I, J = sp.symbols("i j", integer=True, positive=True)
K = sp.Symbol("l", integer=True, positive=True)  # summation dummy of the definitions
R, S = sp.symbols("r s", integer=True, positive=True)  # indices of a latent vector


class Prefix(sp.Function):
    """mu_i(x_{<i}): component ``i`` of an autoregressive function ``mu`` of ``x``."""

    nargs = 3
    is_real = True

    def _eval_derivative(self, var):
        return entry_derivative(self, var, PrefixPartial)

    def _latex(self, printer, exp=None):
        fn, idx, arg = self.args
        out = rf"{_name(printer, fn)}_{{{_name(printer, idx)}}}\left({_name(printer, arg)}_{{<{_name(printer, idx)}}}\right)"
        return rf"{out}^{{{exp}}}" if exp else out

    def _sympystr(self, printer):
        fn, idx, arg = self.args
        return f"{printer._print(fn)}_{printer._print(idx)}({printer._print(arg)}_<{printer._print(idx)})"

    def _pretty(self, printer):
        fn, idx, arg = self.args
        return _pretty_call(printer, sp.Symbol(f"{fn}_{idx}"), sp.Symbol(f"{arg}_<{idx}"))


class PrefixPartial(sp.Function):
    """d mu_i / d x_j for an autoregressive ``mu``: zero unless j < i."""

    nargs = 4
    is_real = True

    _eval_derivative = ComponentPartial._eval_derivative
    _latex = ComponentPartial._latex  # printed as ∂mu_i/∂x_j, like a coupling conditioner's partial
    _sympystr = ComponentPartial._sympystr


class Tabled(sp.Function):
    """The m×m matrix [entry]_{r,s = 1..m} (entry an expression in r and s)."""

    nargs = 4
    is_commutative = False

    def explicit(self, size: int) -> sp.Matrix:
        entry, r, s, m = self.args
        return sp.Matrix(size, size, lambda a, b: entry.subs({r: a + 1, s: b + 1}, simultaneous=True).doit())

    def _latex(self, printer, exp=None):
        entry, r, s, m = self.args
        return (rf"\left[{_name(printer, entry)}\right]_{{{_name(printer, r)},{_name(printer, s)}"
                rf"=1,\ldots,{_name(printer, m)}}}")

    def _sympystr(self, printer):
        entry, r, s, m = self.args
        return f"[{printer._print(entry)}]_({r},{s}=1..{printer._print(m)})"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        entry, r, s, m = self.args
        body = prettyForm(*printer._print(entry).parens("[", "]"))
        below = printer._print(sp.Symbol(f"{r},{s}=1..{m}"))
        return prettyForm(*body.right(prettyForm(*below.below(""))))


class Det(sp.Function):
    """det(M) of a :class:`Tabled` matrix, kept unevaluated until the size is known."""

    nargs = 1
    is_real = True

    def _latex(self, printer, exp=None):
        out = rf"\det{_name(printer, self.args[0])}"
        return rf"\left({out}\right)^{{{exp}}}" if exp else out

    def _sympystr(self, printer):
        return f"det({printer._print(self.args[0])})"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        return prettyForm(*printer._print(self.args[0]).left("det"))


def _trivially_true(rel, sizes: dict) -> bool:
    """Whether ``rel`` holds because each index lies in 1..size (``sizes``: index -> size)."""
    idx = [s for s in rel.free_symbols if s in sizes]
    if len(idx) != 1:
        return False
    (ix,) = idx
    size = sizes[ix]
    if not rel.free_symbols <= {ix} | set(getattr(size, "free_symbols", set())):
        return False
    a, b = sp.symbols("a_ b_", integer=True, nonnegative=True)
    shifted = rel.subs({size: 1 + a + b}, simultaneous=True).subs(ix, 1 + a)
    return shifted is sp.true


def settle(expr, sizes: dict):
    """``expr`` with each Piecewise reduced where its index range decides it.

    ``sizes`` maps each free index to its range's upper end (the lower end is 1).
    A condition such as ``j <= d`` or ``1 <= j`` is then true; ``j <= i - 1`` is
    kept (it is structure: the entry is strictly below the diagonal).
    """
    def reduce_condition(cond):
        if isinstance(cond, sp.And):
            parts = [c for c in cond.args if not _trivially_true(c, sizes)]
            return sp.And(*parts) if parts else sp.true
        return sp.true if isinstance(cond, sp.core.relational.Relational) and _trivially_true(cond, sizes) else cond

    def reduce(pw):
        pieces = []
        for value, cond in pw.args:
            cond = reduce_condition(cond)
            if cond is sp.true:
                return value if not pieces else sp.Piecewise(*pieces, (value, True))
            pieces.append((value, cond))
        return sp.Piecewise(*pieces)

    return expr.replace(lambda e: isinstance(e, sp.Piecewise), reduce)


def entry(y_def, x_base, sizes: dict):
    """The Jacobian entry d y_i / d x_j of a component equation, in index form."""
    return settle(sp.diff(y_def, x_base[J]).doit(), sizes)


def canonical(expr, first=None):
    """``expr`` with the bound index of every sum renamed by depth (k, then k2, ...), so that two
    sums over the same summand written with different dummies compare equal."""
    def walk(e, depth):
        if isinstance(e, sp.Sum) and len(e.limits) == 1:
            var, lo, hi = e.limits[0]
            new = (first or K) if depth == 0 else sp.Symbol(f"l{depth + 1}", integer=True, positive=True)
            body = walk(e.function.xreplace({var: new}) if var != new else e.function, depth + 1)
            return sp.Sum(body, (new, walk(lo, depth), walk(hi, depth)))
        if not e.args or isinstance(e, (sp.Symbol, sp.Number, sp.Indexed)):
            return e
        return e.func(*[walk(a, depth) for a in e.args])

    return walk(sp.sympify(expr), 0)


def pull_constants(total):
    """Σ_k c f(k) -> c Σ_k f(k) for the factors c that do not involve the bound index."""
    def pull(s):
        (var, lo, hi), body = s.limits[0], sp.factor_terms(s.function)
        const, rest = body.as_independent(var, as_Add=False) if isinstance(body, sp.Mul) else (sp.S.One, body)
        return const * sp.Sum(rest, (var, lo, hi)) if const != 1 else s

    return total.replace(lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1, pull)
