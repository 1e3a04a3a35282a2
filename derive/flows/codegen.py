"""Numpy code from index-form results: every index becomes an array axis.

An index-form expression (component i of a block, sums over k, r, ...) is
printed as numpy code in which each index is an axis of an array, in a fixed
order after the batch axes: ``x[i]`` is the array ``x`` itself, ``w[k]`` a
vector, ``W[i, k]`` a matrix, ``Σ_k (product)`` one ``np.einsum`` (so that
``Σ_k W_ik x_k`` is a matrix product done by BLAS), a sum up to i − 1 a
masked one, ``F_i(x_2)`` a call of the user's ``F``, ``det`` of an m×m table a
batched ``np.linalg.det``.  The index i may instead be a loop variable ``t``
(one component at a time), for the recursions of a sequential inverse.

The output is code text; :mod:`derive.flows.numeric` assembles it into a
module that needs only numpy.
"""
from __future__ import annotations

import sympy as sp

from ..notation import Component
from .index import Det, I, J, K, Prefix, R, S, Tabled, canonical

N = "n"  # the batch axes (any number, in front)
LETTERS = "abcdefghpqrstuvw"


class Unsupported(ValueError):
    """An expression the generator has no numpy form for."""


class Code:
    """Numpy code for one expression: its text and its index axes (after the batch axes)."""

    def __init__(self, text: str, axes: tuple = (), batch: bool = False):
        self.text, self.axes, self.batch = text, tuple(axes), batch


def _rank(ax) -> tuple:
    order = [I, J, R, S, K]
    return (order.index(ax), "") if ax in order else (len(order), str(ax))


class Printer:
    """Prints index-form expressions as numpy code over arrays named after the bases.

    ``names`` maps an IndexedBase or Symbol to the variable holding it; ``sizes`` maps a size
    symbol to the code for its value; ``scalar`` is the name of the loop variable standing for
    i, or None when i is an axis.
    """

    def __init__(self, names: dict, sizes: dict, scalar: str | None = None, lib=None):
        self.names, self.sizes, self.scalar = names, sizes, scalar
        self.lib = lib or Numpy()

    # -- alignment -------------------------------------------------------------------------
    def align(self, c: Code, axes: tuple, batch: bool) -> str:
        """``c`` broadcast to index axes ``axes`` (a superset, canonical order); batch axes lead, so an
        array without them broadcasts against one with them."""
        if not c.axes:
            return f"({c.text})[..., {', '.join(['None'] * len(axes))}]" if c.batch and axes else c.text
        present = [a for a in axes if a in c.axes]
        text = c.text
        if list(c.axes) != present:
            perm = [c.axes.index(a) for a in present]
            n = len(perm)
            text = (self.lib.moveaxis(text, list(range(-n, 0)), [-n + p for p in perm]) if c.batch
                    else self.lib.transpose(text, perm))
        if len(present) == len(axes):
            return text
        slots = ", ".join(":" if a in c.axes else "None" for a in axes)
        return f"({text})[..., {slots}]" if c.batch else f"({text})[{slots}]"

    def merged(self, parts: list) -> tuple:
        axes = tuple(sorted({a for p in parts for a in p.axes}, key=_rank))
        batch = any(p.batch for p in parts)
        return axes, batch

    # -- shared subexpressions ---------------------------------------------------------------
    #: counting pass: the text of each batch-dependent array expression and how often each text is met;
    #: printing pass: a text met more than once is computed once into a variable (kept, in order, with the
    #: conditioner calls in ``hoisted``: code text -> variable)
    counts = None
    plain: dict = {}
    shared: dict = {}

    def print_all(self, exprs: list, known=None) -> list:
        """Print ``exprs`` (one function's expressions) with every repeated array expression computed once;
        ``known`` (code -> variable) holds what the function computed before them."""
        from collections import Counter

        self.counts, self.plain, self.hoisted = Counter(), {}, dict(known or {})
        for e in exprs:
            self(e)
        self.shared = {text: None for text, n in self.counts.items() if n > 1}
        self.counts, self.hoisted = None, dict(known or {})
        return [self(e) for e in exprs]

    def __call__(self, expr) -> Code:
        code = self._print(expr)
        if self.hoisted is None or self.scalar or not code.batch or not (isinstance(expr, sp.Sum) or code.axes) \
                or isinstance(expr, (sp.Indexed, sp.Symbol, Component, Prefix)):
            return code
        if self.counts is not None:
            self.counts[code.text] += 1
            self.plain[expr] = code.text
            return code
        text = self.plain.get(expr)
        if text not in self.shared:
            return code
        if self.shared[text] is None:
            self.shared[text] = self.hoisted.get(code.text) or \
                f"_e{sum(v.startswith('_e') for v in self.hoisted.values())}"
            self.hoisted[code.text] = self.shared[text]
        return Code(self.shared[text], code.axes, code.batch)

    # -- printing --------------------------------------------------------------------------
    def _print(self, expr) -> Code:
        method = getattr(self, f"_{type(expr).__name__}", None)
        if method is not None:
            return method(expr)
        if isinstance(expr, Component):
            return self._component(expr)
        if isinstance(expr, Prefix):
            return self._component(expr)
        if isinstance(expr, sp.Function) and type(expr).__name__ in self.lib.functions:
            inner = self(expr.args[0])
            return Code(f"{self.lib.functions[type(expr).__name__]}({inner.text})", inner.axes, inner.batch)
        if expr.is_Number or expr is sp.pi:
            return Code(repr(float(expr)) if not expr.is_Integer else str(int(expr)))
        raise Unsupported(f"no numpy form for {type(expr).__name__}: {expr}")

    def _Symbol(self, expr):
        if expr == I and self.scalar:
            return Code(f"({self.scalar} + 1)")
        if expr in self.sizes:
            return Code(self.sizes[expr])
        if expr in self.names:
            return Code(self.names[expr])
        raise Unsupported(f"unknown symbol {expr}")

    def _Dummy(self, expr):
        return self._Symbol(expr)

    def _Add(self, expr):
        parts = [self(a) for a in expr.args]
        axes, batch = self.merged(parts)
        fused = self._addcmul(expr.args, parts, axes, batch) if self._fusing() else None
        return fused or Code("(" + " + ".join(self.align(p, axes, batch) for p in parts) + ")", axes, batch)

    def _Mul(self, expr):
        parts = [self(a) for a in expr.args]
        axes, batch = self.merged(parts)
        return Code("(" + " * ".join(self.align(p, axes, batch) for p in parts) + ")", axes, batch)

    # -- fused multiply-add (torch): rest + c·a·b in one pass over the batch, with no temporary ---------------
    def _fusing(self) -> bool:
        return getattr(self.lib, "fused", False) and not self.scalar and self.counts is None

    def _addcmul(self, terms, parts, axes, batch):
        """``torch.addcmul(rest, a, b, value=c)`` for rest + c·a·b where the rest and a depend on the batch (so
        both are tensors whatever the parameters were given as; b, if it does not, is made one).  A sum that
        is multiplied, (p + x)·q, is left as it is: spreading it would cancel digits in float32."""
        hoisted = (self.hoisted or {}).values()
        for n, term in enumerate(terms):
            coeff, factors = term.as_coeff_mul() if isinstance(term, sp.Mul) else (1, ())
            if not parts[n].batch or len(factors) < 2 or parts[n].text in hoisted:
                continue   # (a product computed once into a variable for other uses is added as it is)
            others = [p for m, p in enumerate(parts) if m != n]
            if len(others) != len([p for p in others if p.batch]) or not others:
                continue
            codes = [self(f) for f in factors]
            first = next((m for m, c in enumerate(codes) if c.batch), None)
            if first is None:
                continue
            second = [self.align(c, axes, batch) for m, c in enumerate(codes) if m != first]
            product = " * ".join(second)
            if not any(c.batch for m, c in enumerate(codes) if m != first):
                product = f"torch.as_tensor({product}, dtype={self.lib.like}.dtype, device={self.lib.like}.device)"
            text = (f"torch.addcmul({' + '.join(self.align(r, axes, batch) for r in others)}, "
                    f"{self.align(codes[first], axes, batch)}, ({product})"
                    + (f", value={float(coeff)!r})" if coeff != 1 else ")"))
            return Code(text, axes, batch)
        return None

    def _Pow(self, expr):
        base = self(expr.base)
        if expr.exp == sp.Rational(1, 2):
            return Code(f"{self.lib.functions['sqrt']}({base.text})", base.axes, base.batch)
        exp = self(expr.exp)
        if exp.axes:
            raise Unsupported("an exponent that depends on an index")
        return Code(f"({base.text}) ** ({exp.text})", base.axes, base.batch)

    def _exp(self, expr):
        inner = self(expr.args[0])
        return Code(f"{self.lib.functions['exp']}({inner.text})", inner.axes, inner.batch)

    def _log(self, expr):
        arg = expr.args[0]
        if isinstance(arg, sp.Abs) and isinstance(arg.args[0], Det):
            table = arg.args[0].args[0]
            matrix = self.align(self(table.args[0]), (table.args[1], table.args[2]), True)
            return Code(f"{self.lib.functions['slogdet']}({matrix})[1]", (), True)
        inner = self(expr.args[0])
        return Code(f"{self.lib.functions['log']}({inner.text})", inner.axes, inner.batch)

    def _KroneckerDelta(self, expr):
        a, b = expr.args
        if {a, b} == {R, S} or {a, b} == {I, J}:
            size = self.sizes[self._size_of(a)]
            return Code(self.lib.eye(size), tuple(sorted((a, b), key=_rank)))
        raise Unsupported(f"Kronecker delta {expr}")

    def _size_of(self, index):
        return self.index_sizes[index]

    def _Indexed(self, expr):
        base = self.names[expr.base]
        axes, picks = [], []
        for idx in expr.indices:
            if idx == I and self.scalar:
                picks.append(self.scalar)
            elif idx.is_Symbol:
                picks.append(":")
                axes.append(idx)
            else:
                picks.append(self._shifted(idx))
                axes.append(next(iter(idx.free_symbols & {I, J, K, R, S})))
        batch = expr.base in self.batched
        text = self.lib.index(base, picks, batch)
        code = Code(text, tuple(axes), batch)
        ordered = tuple(sorted(axes, key=_rank))
        return Code(self.align(code, ordered, batch), ordered, batch) if ordered != tuple(axes) else code

    def _shifted(self, idx) -> str:
        """An index of the form size + 1 − v: the axis reversed."""
        (v,) = idx.free_symbols & {I, J, K, R, S}
        rest = sp.expand(idx + v)
        if rest == sp.expand(self._size_of(v) + 1):
            return "::-1" if not (v == I and self.scalar) else f"-1 - {self.scalar}"
        raise Unsupported(f"index {idx}")

    #: when a dict, each conditioner call is made once: call text -> the variable that holds its value
    hoisted = None

    def _component(self, expr):
        fn, idx, arg = expr.args
        call = f"{self.names[fn]}({self.names[arg]})"
        if self.hoisted is not None and not self.scalar:
            call = self.hoisted.setdefault(call, f"_{self.names[fn]}_{self.names[arg]}")
        if idx == I and self.scalar:
            return Code(f"{call}[..., {self.scalar}]", (), True)
        if idx.is_Symbol:
            return Code(call, (idx,), True)
        raise Unsupported(f"component {expr}")

    def _Sum(self, expr):
        if len(expr.limits) != 1:
            raise Unsupported("a sum over several indices")
        (v, lo, hi), body = expr.limits[0], expr.function
        if v not in self.index_sizes and hi in self.sizes:
            self.index_sizes[v] = hi
        factors = [self(f) for f in sp.Mul.make_args(body)]
        mask = self._mask(v, lo, hi)
        if mask is not None:
            factors.append(mask)
        return self._einsum(factors, v)

    def _mask(self, v, lo, hi):
        size = self._size_of(v)
        if lo == 1 and hi == size:
            return None
        n = self.sizes[size]
        if lo == 1 and hi == I - 1:
            text = f"({self.lib.arange(n)} < {self.scalar})" if self.scalar else self.lib.tri(n)
        elif lo == I + 1 and hi == size:
            text = f"({self.lib.arange(n)} > {self.scalar})" if self.scalar else f"{self.lib.tri(n)}.T"
        else:
            raise Unsupported(f"sum limits {lo}..{hi}")
        return Code(text, (v,) if self.scalar else (I, v))

    def _einsum(self, factors, v):
        scalars = [f for f in factors if not f.axes]
        factors = [f for f in factors if f.axes]
        core = self._matmul(factors, v) or self._contract(factors, v)
        if not scalars:
            return core
        axes, batch = self.merged(scalars + [core])
        text = " * ".join([self.align(f, axes, batch) for f in scalars] + [self.align(core, axes, batch)])
        return Code(f"({text})", axes, batch)

    def _contract(self, factors, v):
        axes, batch = self.merged(factors)
        letters = {a: LETTERS[n] for n, a in enumerate(axes)}
        subs = [("..." if f.batch else "") + "".join(letters[a] for a in f.axes) for f in factors]
        out_axes = tuple(a for a in axes if a != v)
        out = ("..." if batch else "") + "".join(letters[a] for a in out_axes)
        if len(factors) == 1 and out == ("..." if batch else "") + "".join(letters[a] for a in factors[0].axes if a != v):
            return Code(self.lib.sum(factors[0].text, factors[0].axes.index(v) - len(factors[0].axes)),
                        out_axes, batch)
        args = ", ".join(f.text for f in factors)
        return Code(self.lib.einsum(f"{','.join(subs)}->{out}", args), out_axes, batch)

    def _matmul(self, factors, v):
        """x @ M for one batch factor over v alone and parameter factors over v and at most one other axis."""
        batched = [f for f in factors if f.batch]
        params = [f for f in factors if not f.batch]
        if len(batched) != 1 or batched[0].axes != (v,) or not params:
            return None
        others = {a for f in params for a in f.axes} - {v}
        if len(others) > 1 or any(v not in f.axes for f in params[:1]):
            return None
        axes = tuple(sorted(others | {v}, key=_rank))
        matrix = " * ".join(self.align(f, axes, False) for f in params)
        if len(params) > 1:
            matrix = f"({matrix})"
        if not others:
            return Code(f"({batched[0].text} @ {matrix})", (), True)
        (o,) = others
        transposed = f"{matrix}.T" if axes == (o, v) else matrix
        return Code(f"({batched[0].text} @ {transposed})", (o,), True)

    def _Det(self, expr):
        table = expr.args[0]
        entry, r, s, m = table.args
        inner = self(entry)
        return Code(f"{self.lib.functions['det']}({self.align(inner, (R, S), True)})", (), True)

    def _Abs(self, expr):
        inner = self(expr.args[0])
        return Code(f"{self.lib.functions['abs']}({inner.text})", inner.axes, inner.batch)


class Numpy:
    """The array library the printed code calls: numpy (see :class:`Torch` for the other)."""

    functions = {"tanh": "np.tanh", "sinh": "np.sinh", "cosh": "np.cosh", "asinh": "np.arcsinh",
                 "atanh": "np.arctanh", "sqrt": "np.sqrt", "sign": "np.sign", "sin": "np.sin", "cos": "np.cos",
                 "sigmoid": "_sigmoid", "logcosh": "_logcosh", "softplus": "_softplus", "exp": "np.exp",
                 "log": "np.log", "abs": "np.abs", "det": "np.linalg.det", "slogdet": "np.linalg.slogdet"}

    def __init__(self, like: str = "x"):
        self.like = like  # the input array whose dtype and device new arrays follow (torch)

    @staticmethod
    def moveaxis(text, src, dst) -> str:
        return f"np.moveaxis({text}, {src}, {dst})"

    @staticmethod
    def transpose(text, perm) -> str:
        return f"np.transpose({text}, {perm})"

    def eye(self, n) -> str:  # boolean: it takes the float type of what it meets (float32 stays float32)
        return f"np.eye({n}, dtype=bool)"

    def tri(self, n) -> str:
        return f"np.tri({n}, {n}, -1, dtype=bool)"

    def arange(self, n) -> str:
        return f"np.arange({n})"

    @staticmethod
    def sum(text, axis) -> str:
        return f"np.sum({text}, axis={axis})"

    @staticmethod
    def index(base, picks, batch) -> str:
        """``base`` with an index per axis (":" all, "::-1" reversed, or a position); batch axes lead."""
        return base if all(p == ":" for p in picks) else f"{base}[{'..., ' if batch else ''}{', '.join(picks)}]"

    @staticmethod
    def einsum(spec, args) -> str:
        return f"np.einsum('{spec}', {args}, optimize=True)"


class Torch(Numpy):
    """The same code for torch: new arrays take the dtype and device of the input, so the code runs in
    float32 or float64, on the CPU or a GPU, as its input does; a sum with a product term over the batch is
    one ``torch.addcmul``."""

    fused = True

    functions = {**Numpy.functions, "tanh": "torch.tanh", "sinh": "torch.sinh", "cosh": "torch.cosh",
                 "asinh": "torch.asinh", "atanh": "torch.atanh", "sqrt": "torch.sqrt", "sign": "torch.sign",
                 "sin": "torch.sin", "cos": "torch.cos", "sigmoid": "torch.sigmoid", "exp": "torch.exp",
                 "log": "torch.log", "abs": "torch.abs", "det": "torch.linalg.det",
                 "slogdet": "torch.linalg.slogdet"}

    @staticmethod
    def moveaxis(text, src, dst) -> str:
        return f"torch.movedim({text}, {tuple(src)}, {tuple(dst)})"

    @staticmethod
    def transpose(text, perm) -> str:
        return f"({text}).permute({', '.join(map(str, perm))})"

    def eye(self, n) -> str:
        return f"torch.eye({n}, dtype={self.like}.dtype, device={self.like}.device)"

    def tri(self, n) -> str:
        return f"torch.ones({n}, {n}, dtype={self.like}.dtype, device={self.like}.device).tril(-1)"

    def arange(self, n) -> str:
        return f"torch.arange({n}, device={self.like}.device)"

    @staticmethod
    def sum(text, axis) -> str:
        return f"torch.sum({text}, dim={axis})"

    @staticmethod
    def index(base, picks, batch) -> str:
        """As numpy's, with reversed axes by ``torch.flip`` (torch has no negative steps)."""
        flips = tuple(n - len(picks) for n, p in enumerate(picks) if p == "::-1")
        if flips:
            base = f"torch.flip({base}, {flips})"
            picks = [":" if p == "::-1" else p for p in picks]
        return Numpy.index(base, picks, batch)

    @staticmethod
    def einsum(spec, args) -> str:
        return f"torch.einsum('{spec}', {args})"
