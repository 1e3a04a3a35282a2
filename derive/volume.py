"""Is a coupling block volume preserving?  Decided from its log-determinant, analytically.

A map preserves volume iff |det ∂y/∂x| = 1 at every x, i.e. iff its
log-determinant is identically 0.  :func:`volume_part` answers for a variant
with arbitrary conditioners and scale, as verified steps and a verdict:

* a counterexample: simple values (each conditioner ≡ 0 or ≡ (1, 0, …, 0),
  s = 0 or (1, 0, …, 0)) put into the derived log-determinant until it is a
  nonzero number; checked on the generic determinant of the block written out
  from its definition at small k;
* the condition, split into the part of the log-determinant that depends on
  the input and the part that does not, and a block that satisfies it;
* det > 0 everywhere, and which inputs the log-determinant does not involve.

:func:`decide_block` answers for a specific explicit block (the user's).
"""
from __future__ import annotations

import itertools
import math
import random
import re
from dataclasses import dataclass

import sympy as sp
from sympy.core.function import AppliedUndef

from .block import SYMBOLS, VARIANTS, ExplicitBlock
from .model import Step, Verdict, Verification
from .notation import Component, ComponentPartial, Hadamard, Label, VectorFunction, to_vector
from .verify import _random_function, combine, decide_zero, exact, prove_equal, within

QUESTION = "Is the block volume preserving (|det ∂y/∂x| = 1 for every x)?"


def _simplifies_to_zero(expr, seconds: float = 20.0) -> bool:
    return within(seconds, "volume-preservation proof", lambda: sp.simplify(sp.expand(expr.doit())) == 0,
                  on_timeout=False)


# ---- one-line maths for prose ---------------------------------------------------------------------------

def _short(name: str) -> str:
    """x_2 -> x2, x_2_1 -> x2_1 (the prose's names for the vectors and their entries)."""
    return re.sub(r"^([xy])_([12])(?=_|$)", r"\1\2", name)


def _sum_text(expr: sp.Sum) -> str:
    """f(1) + … + f(k) for a sum over i = 1..k (with the second term where the first differs from the rest)."""
    (i, _, top), = expr.limits
    first, second, third = (expr.function.subs(i, n) for n in (1, 2, 3))
    if first == second == third:
        return "0" if first == 0 else f"{text(first)} + … + {text(first)}"
    if second == third:
        return f"{text(first)} + {text(second)} + … + {text(second)}"
    return f"{text(first)} + … + {text(expr.function.subs(i, top))}"


def _term_text(term, alone: bool) -> str:
    out = text(term)
    return f"({out})" if not alone and isinstance(term, sp.Sum) and " + " in out else out


def _add_text(expr: sp.Add) -> str:
    terms = expr.as_ordered_terms()
    out = _term_text(terms[0], len(terms) == 1)
    for term in terms[1:]:
        if term.could_extract_minus_sign():
            out += " − " + _term_text(-term, False)
        else:
            out += " + " + _term_text(term, False)
    return out


def text(expr) -> str:
    """``expr`` as one line of Unicode maths: G_1(x2) + … + G_k(x2), −(s_1 + … + s_k), e, exp(s_i)."""
    expr = sp.sympify(expr)
    if expr is sp.E:
        return "e"
    if isinstance(expr, sp.Sum):
        return _sum_text(expr)
    if isinstance(expr, sp.Add):
        return _add_text(expr)
    if isinstance(expr, sp.Mul) and expr.could_extract_minus_sign():
        inner = -expr
        return "−" + (f"({text(inner)})" if isinstance(inner, (sp.Add, sp.Sum)) and " " in text(inner) else text(inner))
    if isinstance(expr, sp.exp):
        return "e" if expr.args[0] == 1 else f"exp({text(expr.args[0])})"
    if isinstance(expr, Component):
        fn, idx, arg = expr.args
        return f"{fn}_{text(idx)}({text(arg)})"
    if isinstance(expr, VectorFunction):
        return f"{expr.args[0]}({text(expr.args[1])})"
    if isinstance(expr, Hadamard):
        return " ∘ ".join(text(a) for a in expr.args)
    if isinstance(expr, sp.Indexed):
        return f"{_short(expr.base.name)}_{text(expr.indices[0])}"
    if isinstance(expr, (sp.Symbol, sp.IndexedBase)):
        return _short(expr.name)
    if isinstance(expr, sp.KroneckerDelta):
        return f"δ_{text(expr.args[0])}{text(expr.args[1])}"
    if expr.is_Number and expr.is_negative:
        return "−" + text(-expr)
    if isinstance(expr, sp.Float):
        return f"{float(expr):.6g}"
    return sp.sstr(expr).replace("**", "^").replace("*", "·")


# ---- simple values for the conditioners and the scale ---------------------------------------------------

@dataclass(frozen=True)
class Choice:
    """Values for some of the block's parameters (F, G: constant in x2; s): each 0 or e_1 = (1, 0, …, 0)."""

    values: tuple  # ((parameter, 0 or 1), ...), parameter SYMBOLS.F, SYMBOLS.G or SYMBOLS.s

    def value(self, parameter, index):
        """Component ``index`` of the parameter: its e_1 coefficient times Kronecker's δ_{index,1}."""
        return dict(self.values)[parameter] * sp.KroneckerDelta(index, 1)

    def explicit(self, k: int) -> dict:
        """The values at a concrete k, as keyword arguments of :class:`ExplicitBlock`."""
        return {str(p): [sp.Integer(v if n == 0 else 0) for n in range(k)] for p, v in self.values}

    def parts(self) -> list[str]:
        relation = {SYMBOLS.F: "≡", SYMBOLS.G: "≡"}
        return [f"{p} {relation.get(p, '=')} {'0' if v == 0 else '(1, 0, …, 0)'}" for p, v in self.values]

    def describe(self) -> str:
        parts = self.parts()
        return "".join(parts) if len(parts) <= 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

    def latex(self) -> str:
        return r",\ ".join(p.replace("≡", r"\equiv").replace("…", r"\dots") for p in self.parts())


def parameters(expr, S=SYMBOLS) -> list:
    """The block's parameters that ``expr`` involves: conditioners F, G and the scale s."""
    found = {c.args[0] for c in expr.atoms(Component, ComponentPartial)}
    if expr.has(S.s):
        found.add(S.s)
    return sorted(found, key=str)


def choices(params) -> list[Choice]:
    """Every assignment of 0 or e_1 to ``params``, fewest nonzero values first (a nonzero s before a
    nonzero conditioner, whose constant value is a less plain example)."""
    cost = {SYMBOLS.s: 1}
    every = [Choice(tuple(zip(params, vals))) for vals in itertools.product((0, 1), repeat=len(params))]
    return sorted(every, key=lambda c: sum(v * cost.get(p, 2) for p, v in c.values))


def substitute(expr, choice: Choice, S=SYMBOLS):
    """``expr`` (index form) with the chosen parameters put in; a constant conditioner has zero partials."""
    chosen = dict(choice.values)
    expr = sp.sympify(expr).replace(
        ComponentPartial, lambda fn, i, j, a: sp.S.Zero if fn in chosen else ComponentPartial(fn, i, j, a))
    expr = expr.replace(Component, lambda fn, i, a: choice.value(fn, i) if fn in chosen else Component(fn, i, a))
    if S.s in chosen:
        expr = expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == S.s,
                            lambda e: choice.value(S.s, e.indices[0]))
    return expr


def value_at(logdet, choice: Choice):
    """The log-determinant at ``choice`` (every k), summed out."""
    return sp.simplify(substitute(logdet, choice).doit())


def _nonzero_constant(value, S=SYMBOLS) -> bool:
    """A finite value, free of the input and of the parameters, that is nonzero (for every k where it holds k)."""
    if not value.free_symbols <= {S.k} or value.has(sp.zoo, sp.nan) or value.is_finite is not True:
        return False
    return decide_zero(value) is False if value.is_number else value.is_zero is False


def find_counterexample(logdet):
    """The first choice at which the log-determinant is a nonzero constant: (choice, value), or None."""
    for choice in choices(parameters(logdet)):
        value = value_at(logdet, choice)
        if _nonzero_constant(value):
            return choice, value
    return None


def find_preserving(logdet):
    """The first choice at which the log-determinant is exactly 0, or None."""
    for choice in choices(parameters(logdet)):
        if choice.values and value_at(logdet, choice) == 0:
            return choice
    return None


def split(logdet, S=SYMBOLS):
    """(the terms that depend on the input x1, x2; the terms that do not)."""
    terms = sp.Add.make_args(logdet)
    varies = [t for t in terms if t.has(S.x1) or t.has(S.x2)]
    return sp.Add(*varies), sp.Add(*[t for t in terms if t not in varies])


def condition_sides(logdet):
    """log|det| = 0 as (varying part, −constant part), or (constant part, 0) when nothing varies."""
    varies, constant = split(logdet)
    return (varies, -constant) if varies != 0 else (constant, sp.S.Zero)


# ---- the checks (each independent of the computation it checks) ---------------------------------------

def _values_as_symbols(expr):
    """``expr`` with every value and partial derivative of an undefined conditioner a real symbol.

    Returns the new expression and {symbol: conditioner letter ("F", "G")}.
    """
    table, owner = {}, {}
    for node in sorted(expr.atoms(sp.Derivative), key=str):
        table[node] = sp.Symbol(f"∂{node.expr.func}/∂{'∂'.join(map(str, node.variables))}", real=True)
        owner[table[node]] = str(node.expr.func).split("_")[0]
    expr = expr.xreplace(table)
    values = {f: sp.Symbol(str(f.func), real=True) for f in expr.atoms(AppliedUndef)}
    owner.update({sym: str(f.func).split("_")[0] for f, sym in values.items()})
    return expr.xreplace(values), owner


def generic_dets(blocks: dict) -> dict:
    """{k: the generic determinant of the Jacobian of the block written out at k}."""
    return {n: blk.jacobian().det(method="berkowitz") for n, blk in blocks.items()}


def check_counterexample(variant, choice: Choice, value, dims, undefined=("F",)) -> Verification:
    """det of the block written out from its definition with ``choice`` put in must be exp(value)."""
    checks = [exact(f"k = {n}", ExplicitBlock(variant, n, **choice.explicit(n)).jacobian().det(method="berkowitz"),
                    sp.exp(value).subs(SYMBOLS.k, n), scope=f"k = {n}") for n in dims]
    return combine(checks, f"the generic determinant of the Jacobian of the block written out from its "
                           "definition" + (f" with {choice.describe()}" if choice.values else "")
                           + (f", {' and '.join(undefined)} left undefined," if undefined else "")
                           + f" is {text(sp.exp(value))}")


def check_positive(dets: dict) -> Verification:
    """Each determinant, its conditioners' values real symbols, must be positive by SymPy's assumptions."""
    checks = []
    for n, det in dets.items():
        det = _values_as_symbols(det)[0]
        positive = det.is_positive or within(20, "positivity", lambda: sp.simplify(det).is_positive)
        checks.append(Verification("exact", True, f"k = {n}", scope=f"k = {n}") if positive is True else
                      Verification.unverified(f"at k = {n} SymPy does not find {sp.sstr(det)[:60]} positive"))
    return combine(checks, "SymPy's assumptions find the generic determinant of the Jacobian positive, with "
                           "every value and partial derivative of the conditioners a real symbol and s real")


def check_independent(dets: dict, blocks: dict, letters) -> Verification:
    """log det must have zero derivative with respect to every x1 entry and every value of ``letters``."""
    checks = []
    for n, det in dets.items():
        det, owner = _values_as_symbols(det)
        log = sp.log(det)
        wrt = list(blocks[n].x1) + [sym for sym, letter in owner.items() if letter in letters]
        bad = [v for v in wrt if within(20, "independence", lambda: sp.simplify(sp.diff(log, v)), on_timeout=1) != 0]
        checks.append(Verification("exact", True, f"k = {n}", scope=f"k = {n}") if not bad else
                      Verification.unverified(f"at k = {n} the log-determinant changes with {bad[0]}"))
    return combine(checks, "the log of the generic determinant of the Jacobian has zero derivative with respect "
                           f"to every entry of x1 and every value and partial derivative of {', '.join(letters)}")


def check_condition(lhs, rhs, logdet, blocks: dict, dets: dict, S=SYMBOLS) -> Verification:
    """lhs − rhs is the log-determinant, and rhs does not change with the input (index form and at each k)."""
    general = [prove_equal(lhs - rhs, logdet, allow_numeric=False, detail="lhs − rhs is the log-determinant")]
    general += [prove_equal(sp.diff(rhs, base[S.j]), 0, allow_numeric=False) for base in (S.x1, S.x2)]
    at_k = []
    for n, blk in blocks.items():
        at_k.append(exact(f"k = {n}", blk.instantiate(lhs - rhs), sp.log(dets[n]), scope=f"k = {n}"))
        at_k.append(exact(f"k = {n}", sp.Matrix([blk.instantiate(rhs)]).jacobian(blk.x), sp.zeros(1, 2 * n),
                          scope=f"k = {n}"))
    return combine(general + at_k, "lhs − rhs is the log-determinant and rhs has zero derivative with respect to "
                                   "every entry of x1 and x2 (index form, every k; and written out at each k, "
                                   "against the log of the generic determinant)")


# ---- the steps -------------------------------------------------------------------------------------------

def _left_general(der, choice: Choice) -> list[str]:
    """The conditioners of the definition that ``choice`` leaves arbitrary."""
    defined = {c.args[0] for d in (der.data["y1_definition"], der.data["y2_definition"]) for c in d.atoms(Component)}
    return sorted(map(str, defined - {p for p, _ in choice.values}))


def _every(der) -> str:
    """'F, G and s': the parameters the block's definition involves, in words."""
    names = [str(p) for p in parameters(der.data["y1_definition"] + der.data["y2_definition"])]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _whatever(der, choice: Choice) -> str:
    left = _left_general(der, choice)
    return f" whatever {' and '.join(left)} {'is' if len(left) == 1 else 'are'}" if left else ""


def counterexample_step(der, blocks: dict, found) -> Step:
    choice, value = found
    det = sp.exp(value)
    variant = next(iter(blocks.values())).variant
    where = (f" at {', '.join(choice.parts())}", rf"\right|_{{{choice.latex()}}}") if choice.values else ("", r"\right.")
    label = Label(f"det ∂y/∂x{where[0]}", rf"\left.\det\frac{{\partial y}}{{\partial x}}{where[1]}")
    why = (f"put {choice.describe()} into the log-determinant (every k): it becomes "
           f"{text(substitute(der.data['logdet'], choice))} = {text(value)}" if choice.values else
           f"the log-determinant is the constant {text(value)}")
    why += f", so det ∂y/∂x = {text(det)} ≠ 1{_whatever(der, choice)}: the block is not volume preserving"
    return Step(label, det, why, check_counterexample(variant, choice, value, blocks.keys(),
                                                      _left_general(der, choice)))


def condition_step(der, blocks: dict, dets: dict) -> Step:
    logdet = der.data["logdet"]
    lhs, rhs = condition_sides(logdet)
    varies, constant = split(logdet)
    over = "x" if varies.has(SYMBOLS.x1) else "x2"
    why = "|det ∂y/∂x| = 1 for every x exactly when log|det ∂y/∂x| = 0 for every x"
    if varies == 0:
        why += (f"; no part of the log-determinant depends on the input: the block is volume preserving exactly "
                f"when {text(constant)} = 0")
    elif constant == 0:
        why += (f"; all of the log-determinant depends on {over}: the block is volume preserving exactly when "
                f"{text(varies)} = 0 for every {over}")
    else:
        why += (f". Split the log-determinant into the part that depends on {over} ({text(varies)}) and the part "
                f"that does not ({text(constant)}): the block is volume preserving exactly when {text(lhs)} = "
                f"{text(rhs)} for every {over}, i.e. when {text(varies)} is a constant, namely {text(rhs)}")
    return Step(lhs, rhs, why, check_condition(lhs, rhs, logdet, blocks, dets))


def _reduced_definition(der, choice: Choice, S=SYMBOLS):
    """The block's definition with ``choice`` put in, its name, and its text in vector notation."""
    y1, y2 = (substitute(der.data[f"{n}_definition"], choice) for n in ("y1", "y2"))
    nice = VARIANTS["nice"]
    name = "the additive (NICE) block" if (y1, y2) == (nice.y1(S), nice.y2(S)) else "the block"
    words = f"y1 = {text(to_vector(y1, S.vectors))}, y2 = {text(to_vector(y2, S.vectors))}"
    return sp.Matrix([y1, y2]), name, words


def reduced_block_step(der, blocks: dict, choice: Choice, S=SYMBOLS) -> Step:
    reduced, name, words = _reduced_definition(der, choice)
    variant = next(iter(blocks.values())).variant
    checks = []
    for n in blocks:
        blk = ExplicitBlock(variant, n, **choice.explicit(n))
        mine = sp.Matrix([blk.component(reduced[r], m) for r in (0, 1) for m in range(1, n + 1)])
        checks.append(prove_equal(mine, blk.forward(), allow_numeric=False, scope=f"k = {n}"))
        checks.append(exact(f"k = {n}", blk.jacobian().det(method="berkowitz"), 1, scope=f"k = {n}"))
    plural = len(choice.values) > 1
    why = (f"for example {choice.describe()} {'satisfy' if plural else 'satisfies'} the condition; put into the "
           f"definition, {'they give' if plural else 'it gives'} {name} {words}, whose determinant is 1")
    return Step(sp.Matrix([S.y1[S.i], S.y2[S.i]]), reduced, why,
                combine(checks, f"written out at each k it equals the definition with {choice.describe()} put in, "
                                "and the generic determinant of its Jacobian is 1"))


def positivity_step(der, dets: dict):
    """det > 0 everywhere, when every diagonal entry of the Jacobian is positive (no step for a constant det)."""
    diagonal = der.data["diagonal"]  # the diagonal entries of the two diagonal blocks (1.3)
    if der.result("coupling.det").value.is_number or not all(entry.is_positive for entry in diagonal):
        return None
    det_J = der.result("coupling.det").lhs
    why = (f"det ∂y/∂x is the product of the diagonal entries of the Jacobian ({' and '.join(map(text, diagonal))}), "
           f"each positive for every x and every {_every(der)}: so det ∂y/∂x > 0 everywhere, "
           "|det ∂y/∂x| = det ∂y/∂x, and the block never reverses orientation")
    return Step(sp.sign(det_J), sp.S.One, why, check_positive(dets))


def _cost_text(logdet) -> str:
    sums = [t for t in sp.Add.make_args(logdet) if isinstance(t, sp.Sum)]
    count = {1: "k = d/2", 2: "d = 2k"}.get(len(sums), f"{len(sums)}k")
    terms = " and ".join(f"the k terms {text(t.function)}" for t in sums)
    return f"a sum of {count} numbers ({terms})" if sums else "a sum of a few numbers"


def independence_step(der, blocks: dict, dets: dict, S=SYMBOLS):
    """The log-determinant involves neither x1 nor the conditioners it leaves out (else no step)."""
    logdet = der.data["logdet"]
    defined = {c.args[0] for c in der.data["y1_definition"].atoms(Component)}
    absent = sorted(map(str, defined - set(parameters(logdet))))
    if logdet == 0 or logdet.has(S.x1) or not absent:
        return None
    ld = sp.log(sp.Abs(der.result("coupling.det").lhs))
    lhs = sp.Matrix([[sp.Derivative(ld, S.x1[S.j], evaluate=False)]
                     + [sp.Derivative(ld, Label(f"{a}_j", f"{a}_{{j}}"), evaluate=False) for a in absent]])
    why = (f"the log-determinant involves neither {' nor '.join(absent)} nor x1: it is {_cost_text(logdet)}, "
           "so it costs O(d) to evaluate, against O(d³) for the determinant of a dense d×d Jacobian")
    return Step(lhs, sp.zeros(*lhs.shape), why, check_independent(dets, blocks, absent))


def zero_step(der, dets: dict):
    """The log-determinant is 0 (a step only when that needed simplifying)."""
    logdet = der.data["logdet"]
    if logdet == 0:
        return None
    checks = [prove_equal(logdet, 0, allow_numeric=False, detail="the log-determinant simplifies to 0")]
    checks += [exact(f"k = {n}", det, 1, scope=f"k = {n}") for n, det in dets.items()]
    return Step(sp.log(sp.Abs(der.result("coupling.det").lhs)), sp.S.Zero,
                f"the log-determinant is 0 for every x, k and every {_every(der)}: the block is volume preserving",
                combine(checks, "simplifies to 0, and the generic determinant of the Jacobian is 1 at each k"))


# ---- the verdict -----------------------------------------------------------------------------------------

def _condition_text(logdet) -> str:
    lhs, rhs = condition_sides(logdet)
    varies, constant = split(logdet)
    if varies == 0:
        return f"exactly when {text(constant)} = 0"
    over = "x" if varies.has(SYMBOLS.x1) else "x2"
    out = f"exactly when {text(lhs)} = {text(rhs)} for every {over}"
    return out if constant == 0 else out + f", i.e. when {text(varies)} is a constant, namely {text(rhs)}"


def _example_text(der, logdet) -> str:
    """For example: the conditioners ≡ 0 (with what that leaves of the condition); the block of a choice."""
    lhs, rhs = condition_sides(logdet)
    conditioners = [p for p in parameters(logdet) if p != SYMBOLS.s]
    out = ""
    if conditioners and parameters(logdet) != conditioners:
        zero = Choice(tuple((p, 0) for p in conditioners))
        rest = sp.simplify(substitute(lhs - rhs, zero))
        out = f": for example {zero.describe()} with {text(rest)} = 0" if rest != 0 else ""
    preserving = find_preserving(logdet)
    if preserving is not None:
        _, name, words = _reduced_definition(der, preserving)
        out += f". With {preserving.describe()} it is {name} {words}"
    return out


def no_verdict(der, found, condition, scope: str) -> Verdict:
    choice, value = found
    logdet = der.data["logdet"]
    det = text(sp.exp(value))
    reason = (f"No: {'with ' + choice.describe() + ', ' if choice.values else ''}log|det ∂y/∂x| = {text(value)}, so det ∂y/∂x = {det} ≠ 1"
              f"{_whatever(der, choice)}. The block is volume preserving {_condition_text(logdet)}"
              f"{_example_text(der, logdet)}.")
    left = [f"{name} arbitrary" for name in _left_general(der, choice)]
    evidence = {"counterexample": ", ".join(choice.parts() + left), "log|det ∂y/∂x|": text(value),
                "det ∂y/∂x": f"{det} ≠ 1",
                "check": f"the determinant of the Jacobian of the block written out from its definition is {det} "
                         f"at {scope}"}
    return Verdict(QUESTION, False, condition, reason, evidence)


def volume_part(der, blocks: dict) -> tuple[list, Verdict]:
    """The steps of the volume question and its verdict, for a variant with arbitrary F, G and s.

    ``blocks``: {k: the block written out at k with undefined conditioners}, where the checks run.
    """
    logdet = der.data["logdet"]
    dets = generic_dets(blocks)
    condition = sp.Eq(*condition_sides(logdet), evaluate=False)
    if _simplifies_to_zero(logdet):
        steps = [zero_step(der, dets)]
        verdict = Verdict(QUESTION, True, condition, f"Yes: the log-determinant is 0 for every k and every "
                          f"{_every(der)}, so det ∂y/∂x = 1 for every x.",
                          {"proof": "the log-determinant simplifies to 0"})
    else:
        found = find_counterexample(logdet)
        steps = [counterexample_step(der, blocks, found)] if found else []
        steps.append(condition_step(der, blocks, dets))
        preserving = find_preserving(logdet)
        steps.append(reduced_block_step(der, blocks, preserving) if preserving else None)
        verdict = (no_verdict(der, found, condition, steps[0].verification.scope or "every k")
                   if found and steps[0].verified else
                   Verdict(QUESTION, None, condition, "Undetermined: the log-determinant does not simplify to 0, "
                           "and no simple values of the conditioners and s (each 0 or (1, 0, …, 0)) give a checked "
                           "nonzero value.", {}))
    steps += [positivity_step(der, dets), independence_step(der, blocks, dets)]
    return [s for s in steps if s is not None], verdict


# ---- a specific block ------------------------------------------------------------------------------------

def _sig(value, digits: int = 10) -> float:
    """A float rounded to ``digits`` significant digits (stable across numpy builds)."""
    return float(f"{float(value):.{digits}g}")


def _exp_text(value: float) -> str:
    """exp(value) for a message, without a float overflow."""
    return f"{math.exp(value):.6g}" if value < 700 else f"exp({value:.6g})"


def _block_choices(ld):
    """Simple values for the conditioners a block leaves general: each one ≡ 0 or ≡ (1, 0, …, 0).

    Yields ({function application: value}, words), fewest nonzero conditioners first.
    """
    general = sorted(ld.atoms(AppliedUndef), key=str)
    letters = sorted({str(f.func).split("_")[0] for f in general})
    size = {a: len({f.func for f in general if str(f.func).split("_")[0] == a}) for a in letters}
    for values in sorted(itertools.product((0, 1), repeat=len(letters)), key=sum):
        chosen = dict(zip(letters, values))
        table = {f: sp.Integer(chosen[str(f.func).split("_")[0]] if str(f.func).endswith("_1") else 0)
                 for f in general}
        words = ", ".join(f"{a} ≡ 0" if v == 0 else f"{a} ≡ ({', '.join(['1'] + ['0'] * (size[a] - 1))})"
                          for a, v in chosen.items())
        yield table, words


def _simple_points(symbols):
    """The origin, then each symbol = 1 with the others 0."""
    yield {sym: sp.S.Zero for sym in symbols}
    for one in symbols:
        yield {sym: sp.S.One if sym == one else sp.S.Zero for sym in symbols}


def _simple_block_example(ld):
    """The block's log-determinant at simple points, its general conditioners ≡ 0 or e_1: the first value
    off 0, as (point words, value), or None."""
    for table, words in _block_choices(ld):
        expr = ld.replace(lambda e: isinstance(e, sp.Derivative) and e.expr in table, lambda e: sp.S.Zero)
        expr = expr.xreplace(table)
        symbols = sorted(expr.free_symbols, key=str)
        for point in _simple_points(symbols):
            value = sp.simplify(expr.xreplace(point))
            if value.is_number and value.is_finite and abs(float(sp.N(value))) > 1e-6:
                at = ", ".join(f"{text(sym)} = {text(v)}" for sym, v in point.items())
                return " ".join(w for w in (f"at {at}" if at else "", f"with {words}" if words else "") if w), value
    return None


def _random_block_example(ld, points: int, seed: int):
    """The log-determinant at random points (general conditioners random smooth functions): the first value
    off 0, as (point words, value), or None."""
    rng = random.Random(seed)
    symbols = sorted(ld.free_symbols, key=str)
    general = sorted({f.func for f in ld.atoms(AppliedUndef)}, key=str)
    for _ in range(points):
        functions = {f: _random_function(rng, len(next(a for a in ld.atoms(AppliedUndef) if a.func == f).args))
                     for f in general}
        point = {sym: sp.Float(rng.uniform(-1.5, 1.5)) for sym in symbols}
        value = sp.N(ld.subs(functions).subs(point))
        if abs(float(value)) > 1e-6:
            words = "at " + ", ".join(f"{text(s)} = {text(sp.Float(_sig(v, 4)))}" for s, v in point.items())
            if general:
                words += f" (with {', '.join(map(str, general))} left general, tried as random smooth functions)"
            return words, value
    return None


def decide_block(block, logdet, points: int = 20, seed: int = 0) -> Verdict:
    """Verdict for an explicit block (concrete F, G, s, possibly with parameters)."""
    ld = block.instantiate(logdet)
    condition = sp.Eq(ld, 0, evaluate=False)
    if _simplifies_to_zero(ld):
        return Verdict(QUESTION, True, condition, "Yes: the log-determinant of this block simplifies to 0, so "
                       "det ∂y/∂x = 1 for every x.", {"proof": "the log-determinant simplifies to 0"})
    found = _simple_block_example(ld) or _random_block_example(ld, points, seed)
    if found is None:
        return Verdict(QUESTION, None, condition, "Undetermined: no symbolic proof, and log|det| vanished at the "
                       f"origin and at {points} random points.", {})
    where, value = found
    number = float(sp.N(value))
    shown = (text(value) if value.is_Rational and len(text(value)) <= 12 else
             f"{text(value)} ≈ {number:.6g}" if not value.is_Float and len(text(value)) <= 20 else f"{number:.6g}")
    return Verdict(QUESTION, False, condition,
                   f"No: {where}, log|det ∂y/∂x| = {shown}, so |det| = {_exp_text(number)} ≠ 1.",
                   {"point": where, "log|det ∂y/∂x|": shown, "|det ∂y/∂x|": f"{_exp_text(number)} ≠ 1"})
