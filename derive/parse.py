"""A safe parser for user expressions: Python's ``ast`` with a whitelist.

User text never reaches ``eval``, ``exec``, ``sympify`` or ``parse_expr``.  It
is parsed by :func:`ast.parse` (which only builds a tree; it runs nothing),
every node is checked against a whitelist, and the SymPy expression is built
directly from the checked tree.

Allowed: numbers, the caller's variable names, ``pi`` and ``e``, the binary
operators + - * / **, unary + and -, parentheses, and calls of the functions
in :data:`FUNCTIONS` with the right number of positional arguments.
Refused with a :class:`ParseError` naming the column: anything else, and
inputs past the limits (length, nesting depth, literal size, exponent size).
"""
from __future__ import annotations

import ast
import math

import sympy as sp

from .errors import InputError

MAX_LENGTH = 2000
MAX_DEPTH = 40
MAX_LITERAL_DIGITS = 20
MAX_EXPONENT = 64
MAX_NODES = 2000


class ParseError(InputError):
    """User input refused; ``str()`` is one line naming the problem and where it is."""


def _sigmoid(u):
    return 1 / (1 + sp.exp(-u))


def _softplus(u):
    return sp.log(1 + sp.exp(u))


FUNCTIONS = {
    "exp": (1, sp.exp), "log": (1, sp.log), "sin": (1, sp.sin), "cos": (1, sp.cos), "tanh": (1, sp.tanh),
    "sigmoid": (1, _sigmoid), "softplus": (1, _softplus), "sqrt": (1, sp.sqrt), "abs": (1, sp.Abs),
}
CONSTANTS = {"pi": sp.pi, "e": sp.E}


def _where(node, source: str) -> str:
    col = getattr(node, "col_offset", None)
    if col is None:
        return ""
    token = ast.get_source_segment(source, node) or ""
    token = token if len(token) <= 30 else token[:27] + "..."
    return f" at column {col + 1} ({token!r})"


def _readable(text: str) -> str:
    """``text`` with bytes that a non-UTF-8 locale could not decode (surrogate escapes) read as UTF-8 where
    they are, so that a refusal names the character the user typed."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:
        return text


def _prescan(text: str, what: str) -> None:
    text = _readable(text)
    if not text.strip():
        raise ParseError(f"{what}: empty expression")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"{what}: expression is {len(text)} characters long, the limit is {MAX_LENGTH}")
    for pos, ch in enumerate(text):
        if ch == "#":
            raise ParseError(f"{what}: comments ('#' at column {pos + 1}) are not allowed")
        if 0xDC80 <= ord(ch) <= 0xDCFF:  # a byte that is not UTF-8
            raise ParseError(f"{what}: byte 0x{ord(ch) - 0xDC00:02X} at column {pos + 1} is not UTF-8 text")
        if not (ch.isascii() and (ch.isprintable() or ch == " ")):
            raise ParseError(f"{what}: character {ch!r} (U+{ord(ch):04X}) at column {pos + 1} is not allowed")
    depth = 0
    for pos, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth > MAX_DEPTH:
            raise ParseError(f"{what}: brackets nested deeper than {MAX_DEPTH} at column {pos + 1}")


class Scope(dict):
    """Variables (name -> SymPy object) with functions of the caller's own (name -> (arity, fn)); a function
    may raise :class:`ParseError`, which is reported at the call's column."""

    def __init__(self, variables: dict, functions: dict | None = None):
        super().__init__(variables)
        self.functions = dict(functions or {})


def _functions(variables) -> dict:
    return {**FUNCTIONS, **getattr(variables, "functions", {})}


def parse(text: str, variables: dict, *, what: str = "expression", allow_list: bool = False):
    """The SymPy expression (or list of expressions, if ``allow_list``) for ``text``.

    ``variables`` maps allowed names to SymPy symbols (a :class:`Scope` adds the caller's functions).
    """
    if not isinstance(text, str):
        raise ParseError(f"{what}: expected text, got {type(text).__name__}")
    _prescan(text, what)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise ParseError(f"{what}: not a valid expression{col}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ParseError(f"{what}: expression too deeply nested") from None
    source = text.strip()
    size = sum(1 for _ in ast.walk(tree))
    if size > MAX_NODES:
        raise ParseError(f"{what}: expression has {size} parts, the size limit is {MAX_NODES}")
    body = tree.body
    if allow_list and isinstance(body, (ast.List, ast.Tuple)):
        if not body.elts:
            raise ParseError(f"{what}: empty list")
        return [_build(e, variables, source, what, 0) for e in body.elts]
    return _build(body, variables, source, what, 0)


def _number(node, source, what):
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParseError(f"{what}: only numbers are allowed as literals{_where(node, source)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ParseError(f"{what}: number too large for a float{_where(node, source)}")
    segment = ast.get_source_segment(source, node) or repr(value)
    mantissa = str(abs(value)) if isinstance(value, int) else segment.lower().split("e")[0]
    digits = len(mantissa.replace(".", "").replace("_", "").lstrip("0"))
    if digits > MAX_LITERAL_DIGITS:
        raise ParseError(f"{what}: number with {digits} significant digits, the limit is {MAX_LITERAL_DIGITS}"
                         f"{_where(node, source)}")
    if abs(value) > 10 ** MAX_LITERAL_DIGITS:
        raise ParseError(f"{what}: number too large (above 1e{MAX_LITERAL_DIGITS}){_where(node, source)}")
    if isinstance(value, int):
        return sp.Integer(value)
    return sp.Rational(segment.replace("_", ""))  # the decimal the user wrote, exactly


_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b}


def _build(node, variables, source, what, depth):
    if depth > MAX_DEPTH:
        raise ParseError(f"{what}: expression nested deeper than {MAX_DEPTH}{_where(node, source)}")
    rec = lambda n: _build(n, variables, source, what, depth + 1)  # noqa: E731
    if isinstance(node, ast.Constant):
        return _number(node, source, what)
    if isinstance(node, ast.Name):
        if node.id in variables:
            return variables[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in _functions(variables):
            raise ParseError(f"{what}: function {node.id!r} used without arguments{_where(node, source)}")
        allowed = ", ".join(sorted(variables))
        raise ParseError(f"{what}: unknown name {node.id!r}{_where(node, source)}; allowed variables: {allowed}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = rec(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        if type(node.op) in _BINOPS:
            return _chain(node, variables, source, what, depth)
        if isinstance(node.op, ast.Pow):
            base, exponent = rec(node.left), rec(node.right)
            if not exponent.is_number:
                raise ParseError(f"{what}: exponents must be numbers{_where(node.right, source)}")
            _exponent_size(exponent, what, node.right, source)
            if base.is_number:
                _base_size(base, what, node, source)
            if exponent.is_negative:
                _nonzero_constant(base, what, node, source, "base of a negative power")
            return _defined(base ** exponent, what, node, source)
        raise ParseError(f"{what}: operator {type(node.op).__name__} is not allowed{_where(node, source)}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ParseError(f"{what}: only calls of named functions are allowed{_where(node, source)}")
        name = node.func.id
        functions = _functions(variables)
        if name not in functions:
            raise ParseError(f"{what}: unknown function {name!r}{_where(node, source)}; allowed: "
                             + ", ".join(sorted(functions)))
        if node.keywords:
            raise ParseError(f"{what}: keyword arguments are not allowed{_where(node, source)}")
        arity, fn = functions[name]
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise ParseError(f"{what}: starred arguments are not allowed{_where(node, source)}")
        if len(node.args) != arity:
            raise ParseError(f"{what}: {name} takes {arity} argument(s), got {len(node.args)}{_where(node, source)}")
        args = [rec(a) for a in node.args]
        if name == "log":
            _nonzero_constant(args[0], what, node, source, "argument of log")
        try:
            value = fn(*args)
        except ParseError as exc:
            raise ParseError(f"{what}: {exc}{_where(node, source)}") from None
        return _defined(value, what, node, source)
    kind = type(node).__name__
    raise ParseError(f"{what}: {kind} is not allowed{_where(node, source)}")


_FAMILY = {ast.Add: (ast.Add, ast.Sub), ast.Sub: (ast.Add, ast.Sub), ast.Mult: (ast.Mult, ast.Div),
           ast.Div: (ast.Mult, ast.Div)}


def _chain(node, variables, source, what, depth):
    """A flat sum or product ``a + b - c + ...`` (nested to the left by ``ast``) at one depth: breadth is not depth."""
    family = _FAMILY[type(node.op)]
    links = []
    while isinstance(node, ast.BinOp) and isinstance(node.op, family):
        links.append(node)
        node = node.left
    value = _build(node, variables, source, what, depth + 1)
    for link in reversed(links):
        right = _build(link.right, variables, source, what, depth + 1)
        if isinstance(link.op, ast.Div):
            _nonzero_constant(right, what, link, source, "divisor")
        value = _defined(_BINOPS[type(link.op)](value, right), what, link, source)
    return value


def _base_size(base, what, node, source) -> None:
    """Refuse a constant base of a power past the literal size limit, without unbounded evaluation."""
    from .bounds import NumberError, approximate

    try:
        size = abs(approximate(base))
    except NumberError as exc:
        raise ParseError(f"{what}: {exc}{_where(node, source)}") from None
    if size > 10 ** MAX_LITERAL_DIGITS:
        raise ParseError(f"{what}: number too large (a power of a constant above 1e{MAX_LITERAL_DIGITS})"
                         f"{_where(node, source)}")


def _nonzero_constant(value, what, node, source, role: str) -> None:
    """Refuse a ``value`` that is, or has a constant factor that is, exactly 0 (a hidden zero too)
    or cannot be told from 0."""
    if not isinstance(value, sp.Basic) or value.is_Number and value.is_zero is False:
        return
    from .verify import decide_zero

    if not value.is_number:  # x*(sin(1)**2 + cos(1)**2 - 1): its constant factor decides
        value = value.as_independent(*value.free_symbols, as_Add=False)[0]
        if value.is_Number and value.is_zero is False:
            return
    zero = decide_zero(value)
    if zero is True:
        raise ParseError(f"{what}: the {role} is exactly 0{_where(node, source)}")
    if zero is None:
        raise ParseError(f"{what}: cannot decide whether the {role} is 0{_where(node, source)}")


def _exponent_size(exponent, what, node, source) -> None:
    """Refuse |exponent| > MAX_EXPONENT, decided exactly (64*(sin(1)**2 + cos(1)**2) is 64)."""
    from .bounds import NumberError, compare

    try:
        over = compare(exponent, sp.Integer(MAX_EXPONENT)) > 0 or compare(exponent, sp.Integer(-MAX_EXPONENT)) < 0
    except NumberError as exc:
        raise ParseError(f"{what}: exponent {exc}{_where(node, source)}") from None
    if over:
        raise ParseError(f"{what}: exponent larger than {MAX_EXPONENT}{_where(node, source)}")


def _defined(value, what, node, source):
    """``value``, unless it is undefined; a constant part is evaluated with bounds (a tower such as
    exp(exp(exp(100))) is refused here, before anything else can try to evaluate it)."""
    if isinstance(value, sp.Basic) and value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ParseError(f"{what}: the expression is undefined (infinite or not a number){_where(node, source)}")
    if isinstance(value, sp.Basic) and value.is_number and not value.is_Rational:
        from .bounds import NumberError, approximate

        try:
            approximate(value)
        except NumberError as exc:
            raise ParseError(f"{what}: constant{_where(node, source)}: {exc}") from None
    return value


def parse_numbers(text: str, *, what: str, count: int) -> list:
    """A comma-separated list of ``count`` numbers (or one number, repeated)."""
    values = parse(text if text.strip().startswith("[") else f"[{text}]", {}, what=what, allow_list=True)
    for v in values:
        if not v.is_number or not v.is_real:
            raise ParseError(f"{what}: expected numbers, got {v}")
    if len(values) == 1:
        values = values * count
    if len(values) != count:
        raise ParseError(f"{what}: expected {count} numbers (k = d/2), got {len(values)}")
    return values
