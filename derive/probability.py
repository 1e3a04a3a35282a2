"""Probability notation as SymPy objects: densities, expectations under q, KL.

``Density("p", x, z)`` is p(x, z); ``Density("p", x, given=z)`` is p(x | z);
``Expect(f)`` is E_q[f] (expectation under the variational density q(z));
``KL(a, b)`` is D_KL(a || b) for two densities of z.  All densities are
positive, so ``expand_log`` splits their logarithms.

The rewrite rules here (definition of KL, linearity, E_q[1] = 1, folding a
KL back) are what the derivation of 2.1 applies; its checks compare
integrands computed apart from them (:mod:`derive.independent`).
"""
from __future__ import annotations

import sympy as sp

from .notation import pretty_as_text


class Density(sp.Function):
    """p(args | given): args and conditioning symbols; printed p(x | z)."""

    is_positive = True
    is_real = True

    @classmethod
    def make(cls, name: str, *args, given=()):
        given = tuple(given) if isinstance(given, (tuple, list)) else (given,)
        return cls(sp.Symbol(name), sp.Tuple(*args), sp.Tuple(*given))

    @property
    def label(self):
        return self.args[0]

    def _eval_is_positive(self):
        return True

    def _text(self, pr):
        name, args, given = self.args
        inner = ", ".join(pr(a) for a in args)
        if len(given):
            inner += " | " + ", ".join(pr(g) for g in given)
        return f"{pr(name)}({inner})"

    def _latex(self, printer, exp=None):
        name, args, given = self.args
        inner = ", ".join(printer._print(a) for a in args)
        if len(given):
            inner += r" \mid " + ", ".join(printer._print(g) for g in given)
        out = rf"{printer._print(name)}\left({inner}\right)"
        return rf"{out}^{{{exp}}}" if exp else out

    def _sympystr(self, printer):
        return self._text(printer._print)

    def _pretty(self, printer):
        return pretty_as_text(self)


class Expect(sp.Function):
    """E_q[f]: the expectation of f(z) under q(z)."""

    nargs = 2  # (f, q)

    def _latex(self, printer, exp=None):
        f, q = self.args
        out = rf"\mathbb{{E}}_{{{printer._print(q)}}}\left[{printer._print(f)}\right]"
        return rf"\left({out}\right)^{{{exp}}}" if exp else out

    def _sympystr(self, printer):
        f, q = self.args
        return f"E_{printer._print(q)}[{printer._print(f)}]"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        from sympy.printing.str import StrPrinter

        f, q = self.args
        body = prettyForm(*printer._print(f).parens("[", "]"))
        return prettyForm(*body.left(prettyForm(f"E_{StrPrinter().doprint(q)}")))


class KL(sp.Function):
    """D_KL(a || b) for densities a, b of the same variable."""

    nargs = 2

    def _latex(self, printer, exp=None):
        a, b = self.args
        return rf"D_{{\mathrm{{KL}}}}\left({printer._print(a)} \,\|\, {printer._print(b)}\right)"

    def _sympystr(self, printer):
        a, b = self.args
        return f"KL({printer._print(a)} || {printer._print(b)})"

    def _pretty(self, printer):
        return pretty_as_text(self)


def kl_definition(expr):
    """Replace every KL(a || b) by its definition E_a[log a - log b]."""
    return expr.replace(KL, lambda a, b: Expect(sp.log(a) - sp.log(b), a))


def merge_expectations(expr):
    """Linearity: sum_n c_n E_q[f_n] -> E_q[sum_n c_n f_n] (the same q)."""
    total, rest = {}, sp.S.Zero
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, factors = term.as_coeff_mul()
        ex = [f for f in factors if isinstance(f, Expect)]
        if len(ex) == 1 and len(factors) == 1:
            f, q = ex[0].args
            total[q] = total.get(q, 0) + coeff * f
        else:
            rest += term
    return rest + sp.Add(*[Expect(sp.expand(f), q) for q, f in total.items()])


def split_constants(expr, z):
    """Linearity: E_q[c + f] -> c E_q[1] + E_q[f] for every term c free of z."""
    def split(f, q):
        const = sp.Add(*[t for t in sp.Add.make_args(sp.expand(f)) if not t.has(z)])
        return const * Expect(sp.S.One, q) + Expect(sp.expand(f - const), q) if const != 0 else Expect(f, q)

    return expr.replace(Expect, split)


def normalise(expr):
    """E_q[1] = 1: a density integrates to one."""
    return expr.replace(lambda e: isinstance(e, Expect) and e.args[0] == 1, lambda e: sp.S.One)


def fold_kl(expr):
    """Definition of KL, read backwards: E_a[log b - log a] -> -KL(a || b)."""
    def fold(f, q):
        logs = {}
        for term in sp.Add.make_args(sp.expand(f)):
            coeff, rest = term.as_coeff_Mul()
            if not isinstance(rest, sp.log):
                return Expect(f, q)
            logs[rest.args[0]] = logs.get(rest.args[0], 0) + coeff
        if len(logs) == 2 and logs.get(q) == -1:
            (other,) = [d for d in logs if d != q]
            if logs[other] == 1:
                return -KL(q, other)
        return Expect(f, q)

    return expr.replace(Expect, fold)
