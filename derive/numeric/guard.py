"""Numeric cross-checks that cannot print warnings: floating-point trouble becomes a failed check."""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..model import CrossCheck


def guarded(run) -> list[CrossCheck]:
    """``run()``'s checks; any floating-point warning or error is added as a failed check naming it."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", invalid="warn", divide="warn",
                                                                     under="ignore"):
        warnings.simplefilter("always")
        try:
            checks = list(run())
        except (FloatingPointError, OverflowError, ZeroDivisionError) as exc:
            checks = [CrossCheck("numeric evaluation", f"stopped by {type(exc).__name__}: {exc}", math.inf, 0.0,
                                 False)]
    if caught:
        first = str(caught[0].message).splitlines()[0][:120]
        checks.append(CrossCheck("floating-point warnings", f"{len(caught)} raised, the first: {first}",
                                 float(len(caught)), 0.0, False))
    return checks
