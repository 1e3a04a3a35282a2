"""The exceptions of derive's Python API, rooted at :class:`DeriveError`.

The command line turns each into its one-line refusal; a Python caller catches them::

    try:
        d = derive.layer("planar", dim=4, strict=True)
    except derive.DeriveError as exc:
        print(exc)          # one line
"""
from __future__ import annotations


class DeriveError(Exception):
    """Anything derive refuses or cannot do; ``str()`` is one line naming the problem."""


class InputError(DeriveError, ValueError):
    """The input is refused: an unknown name, a number out of range, an expression outside what derive reads."""


class TimeLimitError(DeriveError, TimeoutError):
    """The derivation ran past its time limit (a time-out is never taken as a result)."""


class UnverifiedError(DeriveError):
    """With ``strict=True``: a step could not be verified independently, or a numeric cross-check failed."""
