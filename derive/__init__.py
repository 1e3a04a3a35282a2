"""derive: verified symbolic derivations for coupling flows and VAEs.

From Python::

    import derive
    d = derive.layer("planar", dim=4)      # also derive.flow([...]), derive.kl("gamma", "gamma"), derive.sheet()
    d.all_verified, d.logdet               # True, the log-determinant as a SymPy expression
    f = d.lambdify("numpy")                # the printed functions, as in derive_numeric.py

Importing the package is cheap; SymPy and numpy load when a derivation runs.
"""
__version__ = "0.1.0"

from . import render  # a derivation's notebook view (loads no SymPy)
from .api import Derived, estimators, flow, kl, layer, sheet
from .errors import DeriveError, InputError, TimeLimitError, UnverifiedError

__all__ = ["Derived", "DeriveError", "InputError", "TimeLimitError", "UnverifiedError", "estimators", "flow", "kl",
           "layer", "sheet"]
