"""derive: verified symbolic derivations for coupling flows and VAEs.

Importing the package is cheap; SymPy and numpy load when a derivation runs.
"""
__version__ = "0.1.0"

from . import render  # a derivation's notebook view (loads no SymPy)
