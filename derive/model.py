"""The derivation model: steps, verifications, results and cross-checks.

A derivation is data.  It holds SymPy objects, never formatted text: the
renderers in :mod:`derive.render` turn the same model into terminal output,
LaTeX, Markdown and JSON.

* A :class:`Given` is a definition or an assumption taken from the problem.
* A :class:`Step` claims ``lhs = rhs`` (an equality, or a rewrite of the
  previous right-hand side), says why in words, and carries the
  :class:`Verification` that was actually run on it.
* A :class:`Result` is a named final formula (``coupling.det`` ...).
* A :class:`CrossCheck` compares a numeric lambda of a result with
  independent numpy code and records residual and tolerance.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: How a step was checked.  ``symbolic``: SymPy reduced ``lhs - rhs`` to 0.
#: ``exact``: both sides were computed exactly by independent routes
#: (integration, substitution, a generic determinant) and agree.  ``numeric``:
#: evaluated at random points within a tolerance, used only where an exact
#: check was out of reach.  ``unverified``: no independent check passed.
METHODS = ("symbolic", "exact", "numeric", "unverified")


@dataclass(frozen=True)
class Verification:
    """The record of one check run on one step.

    ``scope`` says where an exact check was computed when that is not the
    general case (``"k = 1, 2, 3, 4"``); ``None`` means it covers every value
    of the symbols, and only then is the check labelled a proof.
    """

    method: str
    passed: bool
    detail: str
    residual: float | None = None
    tolerance: float | None = None
    points: int | None = None
    scope: str | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown verification method {self.method!r}")
        if self.method == "unverified" and self.passed:
            raise ValueError("an unverified step cannot be marked as passed")
        if self.method == "numeric" and self.passed and (self.points is None or self.tolerance is None):
            raise ValueError("a numeric check states its points and tolerance")

    @staticmethod
    def unverified(reason: str) -> "Verification":
        """A step with no independent check (or whose check failed), saying why."""
        return Verification("unverified", False, reason)

    @property
    def general(self) -> bool:
        """True for a passed exact check that covers the general case (a proof)."""
        return self.passed and self.method in ("symbolic", "exact") and self.scope is None

    @property
    def label(self) -> str:
        """What was computed, in a few words: ``proof``, ``checked at k = 1, 2``, ``numeric (...)``."""
        if self.method == "unverified":
            return "unverified"
        if self.method == "numeric":
            return f"numeric at {self.points} random points, tol {self.tolerance:.0e}"
        return f"checked at {self.scope}" if self.scope else "proof"


def decade(value: float) -> int | None:
    """The least n with |value| <= 10**n: a residual's order of magnitude, which (unlike its last digits)
    reads the same on every machine.  None for 0 and NaN."""
    import math

    if value != value or value == 0 or math.isinf(value):
        return None
    n = math.ceil(math.log10(abs(value)))
    return n - 1 if abs(value) <= 10.0 ** (n - 1) else n


def upper_bound(value: float) -> float | None:
    """A residual rounded up to what reads the same on every machine: below 1e-3 the power of ten at
    or above it (3e-16 -> 1e-15); from 1e-3 on one significant digit, rounded up (a Monte Carlo
    z-score 2.37 -> 3).  None for NaN and infinities; 0 stays 0."""
    import math

    if value != value or math.isinf(value):
        return None
    if value == 0:
        return 0.0
    size = abs(value)
    if size < 1e-3:
        return float(f"1e{decade(size)}")
    e = math.floor(math.log10(size))
    return float(f"{math.ceil(round(size / 10.0 ** e, 9))}e{e}")


@dataclass(frozen=True)
class Given:
    """A definition or assumption of the problem: ``lhs = rhs`` or a statement."""

    lhs: Any
    rhs: Any
    note: str


@dataclass(frozen=True)
class Step:
    """One claimed equality ``lhs = rhs`` with its reason and its verification.

    ``continues`` is True when ``lhs`` is the previous step's ``rhs`` so that
    renderers can print a chain ``a = b = c``.
    """

    lhs: Any
    rhs: Any
    justification: str
    verification: Verification
    continues: bool = False

    @property
    def verified(self) -> bool:
        return self.verification.passed and self.verification.method != "unverified"


@dataclass(frozen=True)
class Result:
    """A named final formula.  ``value`` is a SymPy object or a :class:`Verdict`."""

    name: str
    lhs: Any
    value: Any
    description: str


@dataclass(frozen=True)
class Verdict:
    """A yes/no/undetermined answer decided by computation.

    ``holds`` is True, False or None (undetermined).  ``condition`` is the
    SymPy relation under which it would hold; ``evidence`` is a mapping with
    the proof (``{"proof": ...}``) or a counterexample (point and value).
    """

    question: str
    holds: bool | None
    condition: Any
    reason: str
    evidence: dict = field(default_factory=dict)

    @property
    def answer(self) -> str:
        return {True: "yes", False: "no", None: "undetermined"}[self.holds]


@dataclass(frozen=True)
class CrossCheck:
    """A numeric lambda compared with independent numpy code."""

    name: str
    method: str
    residual: float
    tolerance: float
    passed: bool

    @staticmethod
    def compare(name: str, method: str, residual: float, tolerance: float) -> "CrossCheck":
        residual = float(residual)
        passed = bool(residual == residual and residual <= tolerance)  # NaN fails
        return CrossCheck(name, method, residual, float(tolerance), passed)


@dataclass
class Section:
    """A titled group of steps inside a derivation (``Inverse``, ``Jacobian`` ...)."""

    title: str
    question: str
    text: str = ""
    steps: list[Step] = field(default_factory=list)


@dataclass
class Derivation:
    """An ordered derivation: givens, sections of steps, named results, checks."""

    name: str
    title: str
    summary: str
    givens: list[Given] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    checks: list[CrossCheck] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    symbols: dict[str, Any] = field(default_factory=dict)
    #: intermediate SymPy objects other layers build on (e.g. the numeric lambdas)
    data: dict[str, Any] = field(default_factory=dict)

    def section(self, title: str, question: str, text: str = "") -> Section:
        from .budget import stage

        stage(f"deriving {self.name}: {question} {title}")
        sec = Section(title, question, text)
        self.sections.append(sec)
        return sec

    def numbered(self):
        """(section, [(label, step), ...]) with labels such as ``2.1.5``, counted per question."""
        count: dict[str, int] = {}
        out = []
        for sec in self.sections:
            rows = []
            for step in sec.steps:
                count[sec.question] = count.get(sec.question, 0) + 1
                rows.append((f"{sec.question}.{count[sec.question]}", step))
            out.append((sec, rows))
        return out

    @property
    def steps(self) -> list[Step]:
        return [step for sec in self.sections for step in sec.steps]

    def result(self, name: str) -> Result:
        for res in self.results:
            if res.name == name:
                return res
        raise KeyError(name)

    @property
    def all_verified(self) -> bool:
        return all(step.verified for step in self.steps)

    @property
    def all_checks_pass(self) -> bool:
        return all(chk.passed for chk in self.checks)
