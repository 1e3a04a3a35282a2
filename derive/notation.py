"""SymPy objects for index notation and vector notation.

Index notation (general dimension k): component ``i`` of a vector function
``F: R^k -> R^k`` applied to the vector ``x2`` is ``Component(F, i, x2)``,
printed F_i(x_2).  SymPy differentiates it with respect to an entry ``x2[j]``
into ``ComponentPartial(F, i, j, x2)`` = dF_i/dx_{2,j}, and with respect to
anything else into 0: F_i depends on x2 only.

Vector notation (the seed's): ``Hadamard(a, b)`` is the element-wise product
a ∘ b, ``VectorFunction(F, x2)`` is F(x_2), ``Diag(v)`` the diagonal matrix
with v on its diagonal and ``JacobianOf(F, x2)`` the k×k matrix dF/dx_2.
:func:`to_vector` turns an element-wise index expression into vector form.
"""
from __future__ import annotations

import sympy as sp


def _name(printer, obj) -> str:
    return printer._print(obj)


def pretty_as_text(obj):
    """Pretty form of ``obj`` as its plain ``str()`` text (for notation with no 2-D layout)."""
    from sympy.printing.pretty.stringpict import prettyForm
    from sympy.printing.str import StrPrinter

    return prettyForm(StrPrinter().doprint(obj))


def _pretty_call(printer, fn, arg):
    """Pretty form ``fn(arg)``."""
    from sympy.printing.pretty.stringpict import prettyForm

    return prettyForm(*prettyForm(*printer._print(arg).parens()).left(printer._print(fn)))


def _pad(form, left: int = 0, right: int = 0):
    from sympy.printing.pretty.stringpict import prettyForm

    if not left and not right:
        return form
    lines = [" " * left + ln + " " * right for ln in form.picture]
    return prettyForm("\n".join(lines), baseline=form.baseline, binding=form.binding)


def pretty_fraction(num, den, unicode: bool = True):
    """num over den with a rule between them (both prettyForms), the rule on the baseline."""
    from sympy.printing.pretty.stringpict import prettyForm, stringPict

    width = max(num.width(), den.width())
    num = _pad(num, (width - num.width()) // 2, width - num.width() - (width - num.width()) // 2)
    den = _pad(den, (width - den.width()) // 2, width - den.width() - (width - den.width()) // 2)
    rule = stringPict(("─" if unicode else "-") * width)
    pict, _ = num.below(rule, den)
    return prettyForm(pict, baseline=num.height(), binding=prettyForm.DIV)


def pretty_partial(num, den, unicode: bool = True):
    """∂num/∂den as a 2-D fraction (num, den prettyForms of the differentiated and the variable)."""
    from sympy.printing.pretty.stringpict import prettyForm

    d = "∂" if unicode else "d"
    return pretty_fraction(prettyForm(*num.left(d)), prettyForm(*den.left(d)), unicode)


def entry_derivative(component, var, partial):
    """d/d var of a component fn_i(arg): ``partial(fn, i, j, arg)`` for var = arg[j], else 0 (a function of
    arg only); left unevaluated for a derivative by a name or an index."""
    fn, idx, arg = component.args
    if isinstance(var, sp.Indexed) and var.base == arg:
        return partial(fn, idx, var.indices[0], arg)
    if var in component.free_symbols:
        return None
    return sp.S.Zero


class Component(sp.Function):
    """F_i(x2): component ``i`` of vector function ``F`` at vector ``x2``."""

    nargs = 3
    is_real = True

    def _eval_derivative(self, var):
        return entry_derivative(self, var, ComponentPartial)

    def _latex(self, printer, exp=None):
        fn, idx, arg = self.args
        out = rf"{_name(printer, fn)}_{{{_name(printer, idx)}}}\left({_name(printer, arg)}\right)"
        return rf"{out}^{{{exp}}}" if exp else out

    def _sympystr(self, printer):
        fn, idx, arg = self.args
        return f"{printer._print(fn)}_{printer._print(idx)}({printer._print(arg)})"

    def _pretty(self, printer):
        fn, idx, arg = self.args
        return _pretty_call(printer, sp.Symbol(f"{fn}_{idx}"), arg)


class ComponentPartial(sp.Function):
    """dF_i/dx_{2,j}: entry (i, j) of the Jacobian of ``F`` at ``x2``."""

    nargs = 4
    is_real = True

    def _eval_derivative(self, var):
        fn, i, j, arg = self.args
        if isinstance(var, sp.Indexed) and var.base == arg:
            return sp.Derivative(self, var, evaluate=False)
        if var in self.free_symbols:
            return None
        return sp.S.Zero

    def _latex(self, printer, exp=None):
        fn, i, j, arg = self.args
        out = (rf"\frac{{\partial {_name(printer, fn)}_{{{_name(printer, i)}}}}}"
               rf"{{\partial {_name(printer, sp.Indexed(arg, j))}}}")
        return rf"\left({out}\right)^{{{exp}}}" if exp else out

    def _sympystr(self, printer):
        fn, i, j, arg = self.args
        return f"d{printer._print(fn)}_{printer._print(i)}/d{printer._print(arg)}[{printer._print(j)}]"

    def _pretty(self, printer):  # ∂Gᵢ/∂x₂,ⱼ as a 2-D fraction, like the printed derivatives beside it
        fn, i, j, arg = self.args
        return pretty_partial(printer._print(sp.Symbol(f"{fn}_{i}")), printer._print(sp.Indexed(arg, j)),
                              printer._use_unicode)


class VectorFunction(sp.Function):
    """F(x2): a vector function applied to a vector (vector notation)."""

    nargs = 2
    is_real = True

    def _latex(self, printer, exp=None):
        fn, arg = self.args
        return rf"{_name(printer, fn)}\left({_name(printer, arg)}\right)"

    def _sympystr(self, printer):
        fn, arg = self.args
        return f"{printer._print(fn)}({printer._print(arg)})"

    def _pretty(self, printer):
        fn, arg = self.args
        return _pretty_call(printer, fn, arg)


class Hadamard(sp.Function):
    """a ∘ b ∘ ...: the element-wise product of vectors."""

    is_real = True

    def _latex(self, printer, exp=None):
        parts = [printer.parenthesize(a, sp.printing.precedence.PRECEDENCE["Mul"]) for a in self.args]
        return r" \circ ".join(parts)

    def _sympystr(self, printer):
        parts = [printer.parenthesize(a, sp.printing.precedence.PRECEDENCE["Mul"]) for a in self.args]
        return " ∘ ".join(parts)

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        out = None
        for a in self.args:
            piece = printer._print(a)
            if isinstance(a, sp.Add):
                piece = prettyForm(*piece.parens())
            out = piece if out is None else prettyForm(*out.right(" ∘ ", piece))
        return out


class Diag(sp.Function):
    """diag(v): the diagonal matrix whose diagonal is the vector ``v``."""

    nargs = 1
    is_commutative = False

    def _latex(self, printer, exp=None):
        return rf"\operatorname{{diag}}\left({_name(printer, self.args[0])}\right)"

    def _sympystr(self, printer):
        return f"diag({printer._print(self.args[0])})"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        inner = printer._print(self.args[0])
        return prettyForm(*prettyForm(*inner.parens()).left("diag"))


class JacobianOf(sp.Function):
    """dF/dx2: the k×k Jacobian matrix of vector function ``F`` at ``x2``."""

    nargs = 2
    is_commutative = False

    def _latex(self, printer, exp=None):
        fn, arg = self.args
        return rf"\frac{{\partial {_name(printer, fn)}}}{{\partial {_name(printer, arg)}}}"

    def _sympystr(self, printer):
        fn, arg = self.args
        return f"d{printer._print(fn)}/d{printer._print(arg)}"

    def _pretty(self, printer):  # ∂F/∂x₂ as a 2-D fraction
        fn, arg = self.args
        return pretty_partial(printer._print(fn), printer._print(arg), printer._use_unicode)


class ZeroBlock(sp.Symbol):
    """The k×k zero matrix (printed as a bold 0)."""

    def __new__(cls, name: str = "0_block"):  # the name is fixed; srepr passes it back
        return super().__new__(cls, "0_block")

    def _latex(self, printer, exp=None):
        return r"\mathbf{0}"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        return prettyForm("0")

    def _sympystr(self, printer):
        return "0"


class IdentityBlock(sp.Symbol):
    """The k×k identity matrix."""

    def __new__(cls, name: str = "I"):  # the name is fixed; srepr passes it back
        return super().__new__(cls, "I")

    def _latex(self, printer, exp=None):
        return r"I"


def to_vector(expr, vectors: dict):
    """Rewrite an element-wise index expression in vector notation.

    ``vectors`` maps each IndexedBase to the Symbol standing for the whole
    vector (``x1 -> x_1``).  Component(F, i, x2) becomes F(x_2); a product of
    two or more vector factors becomes their Hadamard product.
    """
    expr = sp.sympify(expr)
    if isinstance(expr, sp.Indexed):
        return vectors[expr.base]
    if isinstance(expr, Component):
        fn, _, arg = expr.args
        return VectorFunction(fn, vectors[arg])
    if isinstance(expr, sp.Mul):
        coeff, factors = expr.as_coeff_mul()
        factors = [to_vector(f, vectors) for f in factors]
        body = factors[0] if len(factors) == 1 else Hadamard(*factors)
        return coeff * body if coeff != 1 else body
    if expr.args:
        return expr.func(*[to_vector(a, vectors) for a in expr.args])
    return expr


def decompose_entry(entry, i, j):
    """Split a Jacobian entry into ``c * delta_ij + sum_H c_H * dH_i/dx_j``.

    Returns ``(c, {H: c_H})`` with element-wise coefficients in index i.
    Raises ValueError when the entry has another shape.
    """
    diagonal = sp.S.Zero
    partials: dict = {}
    for term in sp.Add.make_args(sp.expand(entry)):
        if term == 0:
            continue
        deltas = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.KroneckerDelta)]
        parts = [f for f in sp.Mul.make_args(term) if isinstance(f, ComponentPartial)]
        if len(deltas) == 1 and not parts and set(deltas[0].args) == {i, j}:
            diagonal += term / deltas[0]
        elif len(parts) == 1 and not deltas and parts[0].args[1] == i and parts[0].args[2] == j:
            partials[parts[0].args[0]] = partials.get(parts[0].args[0], 0) + term / parts[0]
        else:
            raise ValueError(f"Jacobian entry term {term} is neither diagonal nor a conditioner partial")
    return sp.factor_terms(diagonal), {h: sp.factor_terms(c) for h, c in partials.items()}


def entry_to_block(entry, i, j, vectors: dict, arg_vector):
    """The block matrix (vector notation) whose (i, j) entry is ``entry``."""
    diagonal, partials = decompose_entry(entry, i, j)
    if diagonal == 0 and not partials:
        return ZeroBlock()
    terms = []
    if diagonal == 1:
        terms.append(IdentityBlock())
    elif diagonal != 0:
        terms.append(Diag(to_vector(diagonal, vectors)))
    for fn in sorted(partials, key=str):
        coeff = partials[fn]
        jac = JacobianOf(fn, arg_vector)
        terms.append(jac if coeff == 1 else sp.Mul(Diag(to_vector(coeff, vectors)), jac, evaluate=False))
    return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)


_LABEL_LATEX: dict[str, str] = {}


class Label(sp.Symbol):
    """A named quantity printed as ``text`` in the terminal and ``latex`` in LaTeX."""

    def __new__(cls, text: str, latex: str | None = None):
        obj = super().__new__(cls, text)
        if latex is not None:
            _LABEL_LATEX[text] = latex
        return obj

    def __getnewargs_ex__(self):  # the LaTeX form travels with the label (to worker processes, the cache)
        return (self.name, _LABEL_LATEX.get(self.name)), {}

    def _latex(self, printer, exp=None):
        return _LABEL_LATEX.get(self.name, self.name)


def evaluate_vector(expr, vectors: dict, functions: dict, jacobians: dict):
    """The vector-notation ``expr`` written out at a concrete dimension, as explicit SymPy matrices.

    ``vectors`` maps each vector Symbol (x_1, s, ...) to its column of components;
    ``functions`` each (conditioner name, argument vector) to the column of its
    components, ``jacobians`` to its k×k Jacobian; any other argument is an error.  Element-wise functions act on each
    component, ``∘`` multiplies components, a power of a column is taken component by
    component, a number added to a column is added to each component, ``diag`` builds a diagonal matrix,
    and a product of matrices is a matrix product.  Used to check a printed
    vector formula against the explicit computation, so it shares no code with
    :func:`to_vector`.
    """
    def ev(e):
        if isinstance(e, sp.Symbol) and e in vectors:
            return sp.Matrix(vectors[e])
        if isinstance(e, (VectorFunction, JacobianOf)):
            table = functions if isinstance(e, VectorFunction) else jacobians
            if tuple(e.args) not in table:  # a conditioner of another vector than the one it depends on
                raise ValueError(f"{e} is not one of the block's conditioners at its argument")
            return sp.Matrix(table[tuple(e.args)])
        if isinstance(e, Diag):
            inner = ev(e.args[0])
            if not isinstance(inner, sp.MatrixBase):  # diag of a number: that number on the diagonal
                return inner * sp.eye(len(next(iter(vectors.values()))))
            return sp.diag(*inner)
        if isinstance(e, (ZeroBlock, IdentityBlock)):
            n = len(next(iter(vectors.values())))
            return sp.zeros(n, n) if isinstance(e, ZeroBlock) else sp.eye(n)
        if isinstance(e, Hadamard):
            parts = [ev(a) for a in e.args]
            columns = [p for p in parts if isinstance(p, sp.MatrixBase)]
            numbers = sp.Mul(*[p for p in parts if not isinstance(p, sp.MatrixBase)])  # scale every component
            if not columns:
                return numbers
            return sp.Matrix(columns[0].shape[0], 1, lambda r, _: numbers * sp.Mul(*[p[r] for p in columns]))
        if isinstance(e, sp.Add):
            return _add_broadcast([ev(a) for a in e.args])
        if isinstance(e, sp.Mul):
            out = sp.S.One
            for factor in (ev(a) for a in e.args):
                out = out * factor
            return out
        if isinstance(e, sp.Pow) and e.exp.is_number:  # element-wise power of a column
            base = ev(e.base)
            if isinstance(base, sp.MatrixBase) and base.shape[1] != 1:
                raise ValueError(f"cannot write out the power {e} of a matrix")
            return base.applyfunc(lambda c: c ** e.exp) if isinstance(base, sp.MatrixBase) else base ** e.exp
        if isinstance(e, sp.Function) and len(e.args) == 1:
            inner = ev(e.args[0])
            return inner.applyfunc(e.func) if isinstance(inner, sp.MatrixBase) else e.func(inner)
        if e.is_number:
            return e
        raise ValueError(f"cannot write out {e} at a concrete dimension")

    return ev(expr)


def _add_broadcast(parts):
    """The sum of written-out terms; a number added to a column vector is added to each component."""
    shapes = {p.shape for p in parts if isinstance(p, sp.MatrixBase)}
    if not shapes:
        return sp.Add(*parts)
    if len(shapes) > 1:
        raise ValueError(f"cannot add terms of shapes {sorted(shapes)}")
    shape = shapes.pop()
    scalars = [p for p in parts if not isinstance(p, sp.MatrixBase)]
    if scalars and shape[1] != 1:
        raise ValueError("a number added to a matrix is ambiguous")
    total = sp.ones(*shape) * sp.Add(*scalars)
    for p in parts:
        if isinstance(p, sp.MatrixBase):
            total += p
    return total
