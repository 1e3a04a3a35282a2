"""The functions ``kl_<p>_<q>`` of the numpy and torch modules, printed from each pair's stable result.

The body of each function is the pair's result ``kl.<p>.<q>.stable`` printed by SymPy's SciPy printer (numpy
and scipy.special) or by the torch printer of :mod:`derive.render.torch_module`; the template around it only
names the arguments and, for torch, makes them tensors of the first tensor argument's dtype and device.  The
vector pairs (categorical, multivariate Normal) print their own functions (:mod:`.categorical`,
:mod:`.multivariate`) in the same way.
"""
from __future__ import annotations

import sympy as sp
from sympy.printing.numpy import SciPyPrinter

from .families import FAMILIES, parameters_text, title

NUMPY_PRELUDE = '''

# ---- KL catalogue ------------------------------------------------------------------------------------------
# kl_<p>_<q>(p's parameters, q's parameters): KL(p || q) in nats, element-wise over broadcast arrays; +inf
# where p puts mass where q has none.  The parameterisation of each family is stated in its docstring.
import scipy.constants
import scipy.special


def _kl_arrays(*args):
    """The arguments as float arrays: a division by zero gives inf or NaN, never an exception."""
    return [numpy.asarray(a, dtype=float) for a in args]
'''

TORCH_PRELUDE = '''

# ---- KL catalogue ------------------------------------------------------------------------------------------
# kl_<p>_<q>(p's parameters, q's parameters), as in derive_numeric.py: tensors (or numbers) broadcast
# element-wise; every number follows the dtype and device of the first tensor argument.


def _kl_tensors(*args):
    """The arguments as tensors of the first tensor argument's dtype and device (float64 on the CPU if none)."""
    like = next((a for a in args if isinstance(a, torch.Tensor)), None)
    if like is None:
        return [torch.as_tensor(a, dtype=torch.float64) for a in args]
    dtype = like.dtype if like.is_floating_point() else torch.get_default_dtype()
    return [torch.as_tensor(a, dtype=dtype, device=like.device) for a in args]
'''


class NumpyPrinter(SciPyPrinter):
    """SciPy's printer with fully qualified names (numpy., scipy.special.)."""

    def __init__(self):
        super().__init__({"fully_qualified_modules": True})


class TorchPrinter:
    """The torch printer of the module, with constants printed as numbers."""

    def __init__(self):
        from ..render.torch_printer import Printer

        self.printer = Printer()

    def doprint(self, expr) -> str:
        """Constants such as log 2 evaluated to 17 digits (torch's functions take tensors, not numbers)."""
        constant = (lambda e: e.is_number and e.is_finite and not e.is_Rational and not isinstance(e, sp.Float)
                    and e.is_real)
        return self.printer.doprint(expr.replace(constant, lambda e: sp.Float(e.evalf(20), 17)))


def _vector_module(der):
    """The module that prints a vector pair's function, or None for a pair of scalar parameters."""
    family = der.data["pair"].p
    if family == "categorical":
        from . import categorical

        return categorical
    if family in ("mvnormal", "mvnormal_diag"):
        from . import multivariate

        return multivariate
    return None


def _arguments(der) -> list:
    return [sym for sym, _ in der.data["parameters"]]


def _docstring(der) -> str:
    pair = der.data["pair"]
    args = _arguments(der)
    n = len(args) // 2 if pair.p == pair.q else len(FAMILIES[pair.p].parameters)
    cond = der.data["condition"]
    finite = "" if cond is sp.true else f" It is +inf unless {sp.sstr(cond)}."
    edges = [f"{sym.name} = {e}" for sym, par in der.data["parameters"] for e in getattr(par, "edges", ())]
    if edges:
        finite += (f"\n    At the edges ({', '.join(edges)}) it returns the limit: +inf where p puts mass where q has "
                   "none.")
    p_args, q_args = (", ".join(s.name for s in part) for part in (args[:n], args[n:]))
    return (f'"""KL(p || q) in nats for p = {title(pair.p)}({p_args}), q = {title(pair.q)}({q_args}).\n\n'
            f"    p: {parameters_text(pair.p)}.\n    q: {parameters_text(pair.q)}.\n"
            f"    Arguments broadcast element-wise.{finite}\n    \"\"\"")


def _names(der) -> dict:
    """Each parameter symbol printed under its own name (the printer would otherwise keep assumptions)."""
    return {s: sp.Symbol(s.name) for s in _arguments(der)}


def numpy_source(der) -> str:
    vector = _vector_module(der)
    if vector is not None:
        return vector.numpy_source(der)
    pair, names = der.data["pair"], _names(der)
    body = NumpyPrinter().doprint(der.data["stable"].xreplace(names))
    args = ", ".join(s.name for s in _arguments(der))
    return (f"def {pair.function}({args}):\n    {_docstring(der)}\n"
            f"    {args}, = _kl_arrays({args})\n"
            f"    with numpy.errstate(divide='ignore', invalid='ignore'):\n"
            f"        return numpy.asarray({body}, dtype=float)[()]\n")


def torch_source(der) -> str:
    vector = _vector_module(der)
    if vector is not None:
        return vector.torch_source(der)
    pair, names = der.data["pair"], _names(der)
    body = TorchPrinter().doprint(der.data["stable"].xreplace(names))
    args = ", ".join(s.name for s in _arguments(der))
    return (f"def {pair.function}({args}):\n    {_docstring(der)}\n"
            f"    {args}, = _kl_tensors({args})\n"
            f"    return {body}\n")


def numpy_section(derivations) -> str:
    return NUMPY_PRELUDE + "".join("\n\n" + numpy_source(d) for d in derivations)


def torch_section(derivations) -> str:
    return TORCH_PRELUDE + "".join("\n\n" + torch_source(d) for d in derivations)


def compiled(der, backend: str = "numpy"):
    """The exported function of ``der`` as the module defines it: its source executed with the module's
    imports (the function checked is the function written)."""
    import numpy
    import scipy.constants
    import scipy.special

    space = {"numpy": numpy, "scipy": scipy}
    exec(compile(NUMPY_PRELUDE, "<derive_numeric>", "exec"), space)
    if backend == "torch":
        import torch

        space = {"torch": torch}
        exec(compile(TORCH_PRELUDE, "<derive_torch>", "exec"), space)
        source = torch_source(der)
    else:
        source = numpy_source(der)
    exec(compile(source, f"<{der.data['pair'].function}>", "exec"), space)
    return space[der.data["pair"].function]


__all__ = ["numpy_source", "torch_source", "numpy_section", "torch_section", "compiled"]
