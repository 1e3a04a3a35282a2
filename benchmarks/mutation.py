"""Mutation testing: how many small deliberate bugs do the tests catch?

Run with ``python benchmarks/mutation.py`` (``--help`` lists the options).
Each *mutant* is a copy of one source file with exactly one small change.
The chosen pytest selection is run against every mutant; a mutant is
*killed* when the tests fail and *survives* when they still pass.

Operators, applied inside function and method bodies only (module- and
class-level code, docstrings, annotations, decorators and default values of
functions defined at module or class level, f-strings, and everything under
``if __name__ == "__main__"`` are left alone, as is any line carrying the
comment ``# pragma: no mutate``):

* ``cmp``      comparisons: ``==``/``!=``, ``<``/``<=``, ``>``/``>=``,
  ``<``/``>``, ``is``/``is not``, ``in``/``not in`` (one operator of a
  chain ``a < b < c`` at a time);
* ``logic``    ``and``/``or`` (all operators of one ``a and b and c``);
* ``not``      ``not x`` -> ``x``;
* ``arith``    ``+``/``-``, ``*``/``/``, ``**`` -> ``*``, also in augmented
  assignments (``+=`` -> ``-=`` ...);
* ``neg``      unary minus removed (``-x`` -> ``x``);
* ``num``      integer constants 0 -> 1, 1 -> 0, n -> n+1; floats x -> 10x
  (0.0 -> 1.0); strings are never changed;
* ``bool``     ``True``/``False``;
* ``builtin``  calls of the builtins ``all``/``any`` and ``min``/``max``;
* ``return``   ``return <expr>`` -> ``return None`` in functions that return
  a value;
* ``loop``     ``break``/``continue``;
* ``iter``     one element dropped from a tuple or list literal of length
  >= 2 that a ``for`` loop or comprehension iterates over.

The change is made in the source text (comments, layout and line numbers
are kept) and checked against the same change made on the syntax tree; an
edit that does not reproduce it exactly is dropped and counted.  Mutant ids
read ``FILE:LINE:OPERATOR:N`` (``verify.py:97:cmp:1``); N counts mutants of
one operator on one line.  Ids are stable while the file is unchanged.

Every worker runs ``python -m pytest <tests>`` in its own copy of the
repository.  Outcomes: ``killed`` (pytest exit 1), ``survived`` (exit 0),
``timeout`` (past ``--timeout``), ``error`` (exit 2, 3, 4 or a crash: the
mutant broke collection or the import) and ``no-tests`` (exit 5, a harness
problem, listed apart and counted as not killed).  The score counts killed,
timeout and error as killed:

    mutation score: K/T killed (P%)

is the raw score over all T mutants run.  Some survivors are *equivalent*:
the change cannot alter behaviour (``x <= 0`` vs ``x < 0`` where x is never
0 ...).  Listed with a one-line reason in ``--equivalent`` (a JSON object
``{"mutant id": "reason"}``), they are shown with that reason and removed from
the total in a second, adjusted score line.  Every other survivor is a
behaviour the selected tests do not pin down.

After tests are added for some survivors, ``--update`` re-runs the
non-equivalent survivors of the results file (or the ``--only`` ids) in the
same way and writes the merged run back, scored over all its mutants; the
source must be unchanged since the full run (every id must still name the
same edit).
"""
from __future__ import annotations

import argparse
import ast
import bisect
import concurrent.futures
import copy
import fnmatch
import io
import json
import math
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tokenize
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = ["derive/verify.py", "derive/model.py", "derive/numeric/reference.py",
                 "derive/block.py", "derive/coupling.py", "derive/volume.py", "derive/freeenergy.py", "derive/kl_gaussian.py",
                 "derive/reparam.py", "derive/graph.py", "derive/probability.py", "derive/gaussian.py",
                 "derive/independent.py"]
#: the tests each file's mutants are run against (the first matching pattern); ``--tests`` overrides them all
SELECTIONS = [
    ("derive/verify.py", "-x -q -p no:cacheprovider -m mutation tests"),
    ("derive/numeric/reference.py", "-x -q -p no:cacheprovider -m mutation tests"),
    ("derive/model.py", "-x -q -p no:cacheprovider -m 'mutation or mutation_model' tests"),
    ("derive/block.py", "-x -q -p no:cacheprovider -m mutation_coupling tests"),
    ("derive/coupling.py", "-x -q -p no:cacheprovider -m mutation_coupling tests"),
    ("derive/volume.py", "-x -q -p no:cacheprovider -m mutation_coupling tests"),
    ("derive/*.py", "-x -q -p no:cacheprovider -m mutation_variational tests"),
]
DEFAULT_TESTS = None
PRAGMA = "pragma: no mutate"
KINDS = ("cmp", "logic", "not", "arith", "neg", "num", "bool", "builtin", "return", "loop", "iter")
COPY_SKIP_NAMES = {".git", ".venv", "__pycache__", ".hypothesis", ".pytest_cache"}
COPY_SKIP_PATHS = ("outputs/*.pdf", "benchmarks/*.png")
RUN_STATE = (".hypothesis", ".pytest_cache")  # removed before every run of a copy
COUNTED_KILLED = ("killed", "timeout", "error")
OUTCOMES = ("killed", "timeout", "error", "survived", "no-tests")

OP_TEXT = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
    ast.And: "and", ast.Or: "or",
}
CMP_SWAPS = {
    ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,), ast.Lt: (ast.LtE, ast.Gt), ast.LtE: (ast.Lt,),
    ast.Gt: (ast.GtE, ast.Lt), ast.GtE: (ast.Gt,), ast.Is: (ast.IsNot,), ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,), ast.NotIn: (ast.In,),
}
ARITH_SWAPS = {ast.Add: (ast.Sub,), ast.Sub: (ast.Add,), ast.Mult: (ast.Div,), ast.Div: (ast.Mult,),
               ast.Pow: (ast.Mult,)}
LOGIC_SWAPS = {ast.And: ast.Or, ast.Or: ast.And}
BUILTIN_SWAPS = {"all": "any", "any": "all", "min": "max", "max": "min"}


class UsageError(Exception):
    """Bad command-line arguments or a run that cannot start (exit code 2)."""


# ---------------------------------------------------------------- source text

class Source:
    """The text of one file, with AST positions turned into string offsets."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def offset(self, lineno: int, col: int) -> int:
        start = self.starts[lineno - 1]
        end = self.starts[lineno] if lineno < len(self.starts) else len(self.text)
        line = self.text[start:end]
        if line.isascii():
            return start + col
        return start + len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))

    def start(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)

    def end(self, node: ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)

    def segment(self, node: ast.AST) -> str:
        return self.text[self.start(node):self.end(node)]

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)


def line_text(text: str, lineno: int) -> str:
    lines = re.split(r"\r\n|\r|\n", text)
    return lines[lineno - 1] if 0 < lineno <= len(lines) else ""


def pragma_lines(text: str) -> set[int]:
    """Line numbers whose comment carries ``# pragma: no mutate``."""
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT and PRAGMA in tok.string:
            lines.add(tok.start[0])
    return lines


# ---------------------------------------------------------------- AST helpers

def is_docstring(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


def is_main_guard(stmt: ast.stmt) -> bool:
    test = getattr(stmt, "test", None)
    return (isinstance(stmt, ast.If) and isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name) and test.left.id == "__name__")


def is_none(node: ast.AST | None) -> bool:
    return node is None or (isinstance(node, ast.Constant) and node.value is None)


def child_statement_lists(stmt: ast.stmt):
    """The statement lists nested in a compound statement (bodies, handlers, cases)."""
    for _, value in ast.iter_fields(stmt):
        if not isinstance(value, list):
            continue
        if value and isinstance(value[0], ast.stmt):
            yield value
        for item in value:
            if isinstance(item, (ast.excepthandler, ast.match_case)):
                yield item.body


def own_nodes(fn: ast.AST):
    """Nodes of a function body, not descending into nested scopes."""
    stack = list(fn.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def returns_value(fn: ast.AST) -> bool:
    return any(isinstance(n, ast.Return) and not is_none(n.value) for n in own_nodes(fn))


def bound_names(tree: ast.AST) -> set[str]:
    """Every name the module binds somewhere (a rebound ``min`` is not the builtin)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def replace_in_parent(root: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(root):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return
    raise ValueError("node not found in its tree")


def mutated_constant(value):
    """The mutated value of a constant, or None where constants of its type are kept."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return {0: 1, 1: 0}.get(value, value + 1)
    if isinstance(value, float) and math.isfinite(value):
        return 1.0 if value == 0 else float(Decimal(repr(value)) * 10)
    return None


# ---------------------------------------------------------------- enumeration

@dataclass
class Candidate:
    """One intended change: text edits plus the same change on a copy of the tree."""

    kind: str
    node_index: int  # position of the changed node in ast.walk order
    edits: list  # [(start, end, replacement)] in the file's text
    old: str
    new: str
    apply: Callable[[ast.AST, ast.AST], None]  # (tree copy, node in it) -> None
    groups: list = field(default_factory=list)  # spans to parenthesise if precedence needs it


class Collector(ast.NodeVisitor):
    """Walks function bodies and records every candidate mutation."""

    def __init__(self, source: Source, tree: ast.Module):
        self.src = source
        self.index = {id(node): i for i, node in enumerate(ast.walk(tree))}
        self.shadowed = bound_names(tree)
        self.returning: list[bool] = []
        self.found: list[Candidate] = []

    def add(self, kind, node, edits, old, new, apply, operands=()):
        spans = [(self.src.start(n), self.src.end(n)) for n in (node, *operands)]
        self.found.append(Candidate(kind, self.index[id(node)], edits, old, new, apply, spans))

    def scan(self, stmts) -> None:
        """Find the functions among module- or class-level statements."""
        for stmt in stmts:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.function(stmt)
            elif isinstance(stmt, ast.ClassDef):
                self.scan(stmt.body)
            elif not is_main_guard(stmt):
                for body in child_statement_lists(stmt):
                    self.scan(body)

    def function(self, fn) -> None:
        self.returning.append(returns_value(fn))
        for stmt in fn.body[1:] if is_docstring(fn.body[0]) else fn.body:
            self.visit(stmt)
        self.returning.pop()

    def visit_FunctionDef(self, node) -> None:  # nested: its defaults run in the outer body
        for expr in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if expr is not None:
                self.visit(expr)
        self.function(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_arg(self, node) -> None:  # annotations are not behaviour
        pass

    def visit_AnnAssign(self, node) -> None:
        self.visit(node.target)
        if node.value is not None:
            self.visit(node.value)

    def visit_JoinedStr(self, node) -> None:  # f-strings: message text
        pass

    def op_span(self, left, right, expected):
        """Offsets of the operator token between two operands, if it reads ``expected``."""
        a, b = self.src.end(left), self.src.start(right)
        gap = re.sub(r"#[^\r\n]*", lambda m: " " * len(m.group()), self.src.text[a:b])
        m = re.search(r"[^()\s\\](?:.*[^()\s\\])?", gap, re.S)
        if m is None or " ".join(m.group().split()) != expected:
            return None
        return a + m.start(), a + m.end()

    def visit_Compare(self, node) -> None:
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            old = OP_TEXT[type(op)]
            span = self.op_span(operands[i], operands[i + 1], old)
            for alt in CMP_SWAPS[type(op)] if span else ():
                self.add("cmp", node, [(*span, OP_TEXT[alt])], old, OP_TEXT[alt],
                         lambda r, n, i=i, alt=alt: n.ops.__setitem__(i, alt()), operands)
        self.generic_visit(node)

    def arith(self, node, left, right, suffix: str) -> None:
        old = OP_TEXT.get(type(node.op))
        span = old and self.op_span(left, right, old + suffix)
        for alt in ARITH_SWAPS.get(type(node.op), ()) if span else ():
            new = OP_TEXT[alt] + suffix
            self.add("arith", node, [(*span, new)], old + suffix, new,
                     lambda r, n, alt=alt: setattr(n, "op", alt()), (left, right))

    def visit_BinOp(self, node) -> None:
        self.arith(node, node.left, node.right, "")
        self.generic_visit(node)

    def visit_AugAssign(self, node) -> None:
        self.arith(node, node.target, node.value, "=")
        self.generic_visit(node)

    def visit_BoolOp(self, node) -> None:
        old, alt = OP_TEXT[type(node.op)], LOGIC_SWAPS[type(node.op)]
        spans = [self.op_span(a, b, old) for a, b in zip(node.values, node.values[1:])]
        if all(spans):
            self.add("logic", node, [(*s, OP_TEXT[alt]) for s in spans], old, OP_TEXT[alt],
                     lambda r, n: setattr(n, "op", alt()), node.values)
        self.generic_visit(node)

    def visit_UnaryOp(self, node) -> None:
        token = {ast.Not: "not", ast.USub: "-"}.get(type(node.op))
        text, a = self.src.text, self.src.start(node)
        if token and text.startswith(token, a):
            b = a + len(token)
            while text[b] in " \t":
                b += 1
            glue = " " if a and (text[a - 1].isalnum() or text[a - 1] == "_") else ""
            end = self.src.end(node)
            self.add("not" if token == "not" else "neg", node, [(a, b, glue)], text[a:end], text[b:end],
                     lambda r, n: replace_in_parent(r, n, n.operand))
        self.generic_visit(node)

    def visit_Constant(self, node) -> None:
        new = mutated_constant(node.value)
        if new is not None:
            kind = "bool" if isinstance(node.value, bool) else "num"
            a, b = self.src.start(node), self.src.end(node)
            self.add(kind, node, [(a, b, repr(new))], self.src.text[a:b], repr(new),
                     lambda r, n: setattr(n, "value", new))

    def visit_Call(self, node) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in BUILTIN_SWAPS and func.id not in self.shadowed:
            new = BUILTIN_SWAPS[func.id]
            self.add("builtin", func, [(self.src.start(func), self.src.end(func), new)], func.id, new,
                     lambda r, n: setattr(n, "id", new))
        self.generic_visit(node)

    def visit_Return(self, node) -> None:
        if self.returning and self.returning[-1] and not is_none(node.value):
            a, b = self.src.start(node.value), self.src.end(node.value)
            self.add("return", node, [(a, b, "None")], "return " + self.src.text[a:b], "return None",
                     lambda r, n: setattr(n, "value", ast.Constant(None)))
        self.generic_visit(node)

    def loop_control(self, node, new: str, cls) -> None:
        a, b = self.src.start(node), self.src.end(node)
        self.add("loop", node, [(a, b, new)], self.src.text[a:b], new,
                 lambda r, n: replace_in_parent(r, n, cls()))

    def visit_Break(self, node) -> None:
        self.loop_control(node, "continue", ast.Continue)

    def visit_Continue(self, node) -> None:
        self.loop_control(node, "break", ast.Break)

    def iterable(self, it) -> None:
        if not isinstance(it, (ast.Tuple, ast.List)) or len(it.elts) < 2:
            return
        if any(isinstance(e, ast.Starred) for e in it.elts):
            return
        a, b = self.src.start(it), self.src.end(it)
        for i in range(len(it.elts)):
            smaller = copy.deepcopy(it)
            del smaller.elts[i]
            new = ast.unparse(smaller)
            self.add("iter", it, [(a, b, new)], self.src.text[a:b], new,
                     lambda r, n, i=i: n.elts.pop(i))

    def visit_For(self, node) -> None:
        self.iterable(node.iter)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_comprehension(self, node) -> None:
        self.iterable(node.iter)
        self.generic_visit(node)


@dataclass
class Mutant:
    """One mutated version of one file, and (after the run) what the tests made of it."""

    id: str
    path: str
    line: int
    kind: str
    description: str
    original_line: str
    mutated_line: str
    source: str = field(repr=False)
    position: tuple = field(repr=False, default=())
    outcome: str | None = None
    exit_code: int | None = None
    seconds: float | None = None
    equivalent: str | None = None
    output_tail: str | None = None

    JSON_FIELDS = ("id", "path", "line", "kind", "description", "original_line", "mutated_line",
                   "outcome", "exit_code", "seconds", "equivalent", "output_tail")

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.JSON_FIELDS}


def apply_edits(text: str, edits, pad: bool) -> str:
    """Apply text edits; with ``pad``, keep the line count of multi-line spans."""
    for a, b, new in sorted(edits, reverse=True):
        breaks = len(re.findall(r"\r\n|\r|\n", text[a:b])) if pad else 0
        if breaks and "\n" not in new:
            fill = "\n" * breaks
            new = new[:-1] + fill + new[-1] if new[-1:] in (")", "]") else new + fill
        text = text[:a] + new + text[b:]
    return text


def edit_variants(cand: Candidate):
    """The plain edit, then with parentheses around the changed node, its operands, or both.

    Parentheses keep the intended tree where the new operator binds differently
    (``a / b ** 2`` -> ``a / (b * 2)``, not ``a / b * 2``).
    """
    yield cand.edits
    if cand.kind not in ("cmp", "logic", "arith"):
        return
    node, operands = cand.groups[:1], cand.groups[1:]
    for spans in (node, operands, node + operands):
        yield cand.edits + [e for a, b in spans for e in ((a, a, "("), (b, b, ")"))]


def realize(text: str, original_dump: str, cand: Candidate) -> str | None:
    """The mutated file text, or None if no edit gives exactly the intended tree."""
    expected = ast.parse(text)
    cand.apply(expected, list(ast.walk(expected))[cand.node_index])
    wanted = ast.dump(expected)
    if wanted == original_dump:
        return None
    for edits in edit_variants(cand):
        for pad in (True, False):
            mutated = apply_edits(text, edits, pad)
            try:
                compile(mutated, "<mutant>", "exec", dont_inherit=True)
                if ast.dump(ast.parse(mutated)) == wanted:
                    return mutated
            except (SyntaxError, ValueError):
                continue
    return None


def shorten(snippet: str, width: int = 48) -> str:
    snippet = " ".join(snippet.split())
    return snippet if len(snippet) <= width else snippet[:width - 3] + "..."


def read_text(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


def enumerate_file(root: Path, rel: str, label: str) -> tuple[list[Mutant], int]:
    """All mutants of one file in position order, and the count of dropped edits."""
    text = read_text(root / rel)
    source, tree = Source(text), ast.parse(text, filename=rel)
    collector = Collector(source, tree)
    collector.scan(tree.body)
    skip, dump = pragma_lines(text), ast.dump(tree)
    mutants, dropped = [], 0
    for order, cand in enumerate(collector.found):
        first, last = min(e[0] for e in cand.edits), max(e[1] for e in cand.edits)
        line = source.line_of(first)
        if skip & set(range(line, source.line_of(last) + 1)):
            continue
        mutated = realize(text, dump, cand)
        if mutated is None:
            dropped += 1
            continue
        desc = f"line {line}: {shorten(cand.old)!r} -> {shorten(cand.new)!r}"
        mutants.append(Mutant("", rel, line, cand.kind, desc, line_text(text, line).strip(),
                              line_text(mutated, line).strip(), mutated,
                              (first, KINDS.index(cand.kind), order)))
    mutants.sort(key=lambda m: m.position)
    assign_ids(mutants, label)
    return mutants, dropped


def assign_ids(mutants: list[Mutant], label: str) -> None:
    counts: dict[tuple, int] = {}
    for m in mutants:
        key = (m.line, m.kind)
        counts[key] = counts.get(key, 0) + 1
        m.id = f"{label}:{m.line}:{m.kind}:{counts[key]}"


def file_labels(files: list[str]) -> dict[str, str]:
    """The shortest path suffix that tells each file apart (``verify.py``)."""
    labels = {}
    for f in files:
        parts = Path(f).parts
        for depth in range(1, len(parts) + 1):
            label = "/".join(parts[-depth:])
            if not any(g != f and "/".join(Path(g).parts[-depth:]) == label for g in files):
                break
        labels[f] = label
    return labels


def enumerate_all(root: Path, files: list[str]) -> tuple[list[Mutant], dict[str, int]]:
    labels, mutants, dropped = file_labels(files), [], {}
    for rel in files:
        found, dropped[rel] = enumerate_file(root, rel, labels[rel])
        mutants.extend(found)
    return mutants, dropped


# ---------------------------------------------------------------- running

_running: set = set()
_running_lock = threading.Lock()


def copy_tree(root: Path, dest: Path) -> None:
    def ignore(folder, names):
        rel = Path(folder).relative_to(root).as_posix()
        paths = {n: n if rel == "." else f"{rel}/{n}" for n in names}
        return {n for n in names if n in COPY_SKIP_NAMES
                or any(fnmatch.fnmatch(paths[n], pat) for pat in COPY_SKIP_PATHS)}

    shutil.copytree(root, dest, ignore=ignore, symlinks=True)


@contextmanager
def workspaces(root: Path, count: int):
    """``count`` private copies of the repository, handed out through a queue."""
    base = Path(tempfile.mkdtemp(prefix="mutation-"))
    free: queue.Queue = queue.Queue()
    try:
        for i in range(count):
            copy_tree(root, base / f"w{i}")
            free.put(base / f"w{i}")
        yield free
    finally:
        shutil.rmtree(base, ignore_errors=True)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_python(work: Path, args: list[str], timeout: float) -> tuple[int | None, float, str]:
    """Run ``python ARGS`` in a copy; exit code (None on time-out), seconds, output."""
    for name in RUN_STATE:
        shutil.rmtree(work / name, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(work), PYTHONDONTWRITEBYTECODE="1")
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, *args], cwd=work, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    with _running_lock:
        _running.add(proc)
    try:
        out, _ = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, _ = proc.communicate()
        code = None
    finally:
        with _running_lock:
            _running.discard(proc)
    return code, time.monotonic() - start, out.decode("utf-8", errors="replace")


def drop_bytecode(path: Path) -> None:
    for pyc in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
        pyc.unlink(missing_ok=True)


def classify(code: int | None) -> str:
    if code is None:
        return "timeout"
    return {0: "survived", 1: "killed", 5: "no-tests"}.get(code, "error")


def tail(output: str, lines: int = 15) -> str:
    return "\n".join(output.rstrip().splitlines()[-lines:])


def run_mutant(mutant: Mutant, free: queue.Queue, tests: dict, timeout: float) -> Mutant:
    """Swap the mutated file into a free copy, run the tests, put the original back."""
    work = free.get()
    target = work / mutant.path
    original = target.read_bytes()
    try:
        target.write_bytes(mutant.source.encode("utf-8"))
        drop_bytecode(target)
        code, seconds, output = run_python(work, ["-m", "pytest", *tests[mutant.path]], timeout)
    finally:
        target.write_bytes(original)
        drop_bytecode(target)
        free.put(work)
    mutant.exit_code, mutant.seconds, mutant.outcome = code, round(seconds, 2), classify(code)
    if mutant.outcome in ("error", "no-tests"):
        mutant.output_tail = tail(output)
    return mutant


def module_name(rel: str) -> str:
    parts = list(Path(rel).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


IMPORT_PROBE = """import importlib.util, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = importlib.util.find_spec(name).origin
    except Exception as exc:
        found[name] = None
print(json.dumps(found))
"""


def check_imports(work: Path, files: list[str], timeout: float) -> list[str]:
    """Problems with the copy: a mutated file that Python would import from elsewhere."""
    names = {module_name(rel): rel for rel in files}
    code, _, out = run_python(work, ["-c", IMPORT_PROBE, *names], timeout)
    if code != 0:
        return [f"could not check where the modules are imported from:\n{tail(out)}"]
    found = json.loads(out.strip().splitlines()[-1])
    problems = []
    for name, rel in names.items():
        origin = found.get(name)
        if origin is not None and Path(origin).resolve() != (work / rel).resolve():
            problems.append(f"{rel}: module {name} is imported from {origin}, not from the copy")
    return problems


def run_baseline(free: queue.Queue, files: list[str], tests: dict, timeout: float) -> float:
    """Run each distinct selection of unmutated tests once; raise UsageError unless they all pass."""
    work = free.get()
    total = 0.0
    try:
        problems = check_imports(work, files, timeout)
        if problems:
            raise UsageError("mutants would not be tested:\n  " + "\n  ".join(problems))
        for selection in dict.fromkeys(tuple(tests[f]) for f in files):
            code, seconds, output = run_python(work, ["-m", "pytest", *selection], timeout)
            total += seconds
            if code != 0:
                why = {None: f"timed out after {timeout:g} s", 5: "selected no tests (pytest exit 5)"}.get(
                    code, f"failed (pytest exit {code})")
                raise UsageError(f"baseline: the unmutated tests {' '.join(selection)!r} {why}; fix that first\n"
                                 f"{tail(output, 30)}")
    finally:
        free.put(work)
    return total


def run_all(mutants: list[Mutant], free: queue.Queue, tests: dict, timeout: float,
            jobs: int) -> None:
    """Run every mutant on ``jobs`` threads, printing one line as each finishes."""
    width = max(len(m.id) for m in mutants)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [pool.submit(run_mutant, m, free, tests, timeout) for m in mutants]
        for done, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            m = fut.result()
            print(f"[{done:>{len(str(len(mutants)))}}/{len(mutants)}] {m.id:<{width}}  "
                  f"{m.outcome:<8}  {m.seconds:7.1f} s", flush=True)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        with _running_lock:
            for proc in list(_running):
                kill_group(proc)
        raise
    pool.shutdown()


# ---------------------------------------------------------------- reporting

def counts(mutants: list[Mutant]) -> dict:
    c = {"total": len(mutants), **{o: 0 for o in OUTCOMES}}
    for m in mutants:
        c[m.outcome] += 1
    c["equivalent"] = sum(1 for m in mutants if m.outcome == "survived" and m.equivalent)
    c["score_killed"] = sum(c[o] for o in COUNTED_KILLED)
    return c


def percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 100.0


def score(c: dict) -> dict:
    adjusted = c["total"] - c["equivalent"]
    return {"killed": c["score_killed"], "total": c["total"],
            "percent": percent(c["score_killed"], c["total"]),
            "equivalent_survivors": c["equivalent"], "adjusted_total": adjusted,
            "adjusted_percent": percent(c["score_killed"], adjusted)}


def print_table(files: list[str], by_file: dict, overall: dict) -> None:
    cols = ["total", "killed", "timeout", "error", "survived", "equivalent"]
    if overall["no-tests"]:
        cols.append("no-tests")
    width = max(len(f) for f in [*files, "all"])
    print(f"\n{'file':<{width}}  " + "  ".join(f"{c:>8}" for c in cols) + "     score")
    for name, c in [*by_file.items(), ("all", overall)]:
        cells = "  ".join(f"{c[col]:>8}" for col in cols)
        pct = f"{percent(c['score_killed'], c['total']):7.1f}%" if c["total"] else f"{'-':>8}"
        print(f"{name:<{width}}  {cells}  {pct}")
    print("(timeout and error count as killed; equivalent = survivors annotated as equivalent)")


def print_score(s: dict) -> None:
    print(f"\nmutation score: {s['killed']}/{s['total']} killed ({s['percent']:.1f}%)")
    print(f"mutation score without the {s['equivalent_survivors']} annotated-equivalent survivors: "
          f"{s['killed']}/{s['adjusted_total']} killed ({s['adjusted_percent']:.1f}%)")


def print_mutant(m: Mutant, indent: str = "  ") -> None:
    print(f"{indent}{m.id}  {m.path}:{m.line}  {m.description}")
    print(f"{indent}    {m.mutated_line}")


def print_survivors(mutants: list[Mutant]) -> None:
    survivors = [m for m in mutants if m.outcome == "survived"]
    print(f"\nsurvivors ({len(survivors)}):" if survivors else "\nno survivors")
    for m in survivors:
        print_mutant(m)
        if m.equivalent:
            print(f"      equivalent: {m.equivalent}")
    broken = [m for m in mutants if m.outcome == "no-tests"]
    if broken:
        print(f"\nharness errors: {len(broken)} mutant run(s) selected no tests (pytest exit 5):")
        for m in broken:
            print_mutant(m)


def print_equivalence_notes(mutants: list[Mutant], all_ids: set, equivalent: dict) -> None:
    stale = sorted(set(equivalent) - all_ids)
    killed = [m.id for m in mutants if m.equivalent and m.outcome != "survived"]
    if stale:
        print(f"\nnote: {len(stale)} id(s) in the equivalence file name no mutant: {', '.join(stale)}")
    if killed:
        print(f"note: annotated as equivalent but not surviving: {', '.join(killed)}")


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path}")


# ---------------------------------------------------------------- command line

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=ROOT,
                    help="repository to mutate (default: the parent of this script's folder)")
    ap.add_argument("--files", nargs="+", default=DEFAULT_FILES, metavar="F",
                    help="source files to mutate, relative to the root (default: %(default)s)")
    ap.add_argument("--tests", default=DEFAULT_TESTS,
                    help="pytest arguments, one shell-quoted string, for every file (default: each file's "
                         "selection in SELECTIONS)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel workers (default: 2)")
    ap.add_argument("--timeout", type=float, default=240.0,
                    help="seconds per test run before it is killed (default: 240)")
    ap.add_argument("--limit", type=int, help="run at most N mutants: an evenly spaced sample")
    ap.add_argument("--list", action="store_true", help="print the mutants and exit")
    ap.add_argument("--only", nargs="+", metavar="ID", help="run only these mutant ids")
    ap.add_argument("--json", type=Path, help="results file (default: ROOT/benchmarks/mutation.json)")
    ap.add_argument("--update", action="store_true",
                    help="re-run mutants of an earlier results file (--json; its non-equivalent survivors "
                         "unless --only names others) and merge: the score is over the whole earlier run")
    ap.add_argument("--equivalent", type=Path,
                    help="JSON {mutant id: reason} of equivalent mutants "
                         "(default: ROOT/benchmarks/mutation_equivalent.json if it exists)")
    return ap.parse_args(argv)


def check_args(args) -> None:
    """Normalise paths and reject bad values (raises UsageError)."""
    args.root = args.root.resolve()
    if not args.root.is_dir():
        raise UsageError(f"--root {args.root} is not a folder")
    for name in ("jobs", "limit"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name} must be at least 1")
    if not args.timeout > 0:
        raise UsageError("--timeout must be positive")
    try:
        args.files = list(dict.fromkeys(relative_file(args.root, f) for f in args.files))
        args.test_args = {f: shlex.split(args.tests if args.tests is not None else selection_for(f))
                          for f in args.files}
    except ValueError as exc:
        raise UsageError(f"--tests {args.tests!r}: {exc}") from None


def selection_for(rel: str) -> str:
    for pattern, tests in SELECTIONS:
        if fnmatch.fnmatch(rel, pattern):
            return tests
    raise UsageError(f"{rel}: no test selection; give --tests")


def relative_file(root: Path, name: str) -> str:
    path = Path(name) if Path(name).is_absolute() else root / name
    path = path.resolve()
    if path.suffix != ".py" or not path.is_file():
        raise UsageError(f"{name}: not a Python file under {root}")
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        raise UsageError(f"{name}: not inside the root {root}") from None


def load_equivalent(args) -> tuple[dict, Path | None]:
    path = args.equivalent
    if path is None:
        path = args.root / "benchmarks" / "mutation_equivalent.json"
        if not path.exists():
            return {}, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--equivalent {path}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise UsageError(f"--equivalent {path}: expected a JSON object {{mutant id: reason}}")
    return data, path


def select(mutants: list[Mutant], only, limit) -> tuple[list[Mutant], str | None]:
    """The mutants to run, and a sentence about the sample when ``--limit`` cut it down."""
    if only:
        known = {m.id for m in mutants}
        unknown = [i for i in only if i not in known]
        if unknown:
            raise UsageError(f"--only: no such mutant id(s): {', '.join(unknown)} (see --list)")
        mutants = [m for m in mutants if m.id in set(only)]
    if not mutants:
        raise UsageError("no mutants to run in the chosen files")
    if limit is None or limit >= len(mutants):
        return mutants, None
    picked = [mutants[(i * len(mutants)) // limit] for i in range(limit)]
    return picked, (f"--limit {limit}: running an evenly spaced sample of {limit} of the "
                    f"{len(mutants)} mutants (every {len(mutants) / limit:.1f}th)")


def print_list(mutants: list[Mutant], files: list[str], dropped: dict, note) -> None:
    for m in mutants:
        print_mutant(m, indent="")
    print()
    for rel in files:
        extra = f" ({dropped[rel]} edit(s) dropped)" if dropped[rel] else ""
        print(f"{rel}: {sum(1 for m in mutants if m.path == rel)} mutants{extra}")
    print(f"total: {len(mutants)} mutants")
    if note:
        print(note)


def report(args, mutants, all_ids, equivalent, eq_path, baseline_s, elapsed, note) -> None:
    by_file = {rel: counts([m for m in mutants if m.path == rel]) for rel in args.files}
    overall = counts(mutants)
    print_table(args.files, by_file, overall)
    s = score(overall)
    print_score(s)
    print_survivors(mutants)
    print_equivalence_notes(mutants, all_ids, equivalent)
    print(f"\nelapsed: {elapsed:.1f} s")
    payload = {
        "root": str(args.root), "files": args.files, "tests": {f: " ".join(t) for f, t in args.test_args.items()}, "jobs": args.jobs,
        "timeout_s": args.timeout, "sample": note, "enumerated": len(all_ids), "run": len(mutants),
        "equivalent_file": str(eq_path) if eq_path else None, "baseline_s": round(baseline_s, 2),
        "elapsed_s": round(elapsed, 1), "totals": {**by_file, "all": overall}, "score": s,
        "mutants": [m.to_json() for m in mutants],
    }
    write_json(args.json or args.root / "benchmarks" / "mutation.json", payload)


def execute(args, mutants, all_ids, equivalent, eq_path, note) -> None:
    start = time.monotonic()
    for m in mutants:
        m.equivalent = equivalent.get(m.id)
    if note:
        print(note)
    jobs = min(args.jobs, len(mutants))
    for selection in dict.fromkeys(" ".join(args.test_args[f]) for f in args.files):
        print(f"tests: pytest {selection}  ({', '.join(f for f in args.files if ' '.join(args.test_args[f]) == selection)})")
    print(f"copying {args.root} for {jobs} worker(s) ...", flush=True)
    baseline_s = run_in_copies(args, mutants, jobs)
    report(args, mutants, all_ids, equivalent, eq_path, baseline_s, time.monotonic() - start, note)


def run_in_copies(args, mutants: list[Mutant], jobs: int) -> float:
    """Check the tests pass unmutated, then run ``mutants`` in ``jobs`` copies of the tree; the baseline's seconds."""
    with workspaces(args.root, jobs) as free:
        baseline_s = run_baseline(free, args.files, args.test_args, args.timeout)
        print(f"baseline: tests pass unmutated ({baseline_s:.1f} s); running {len(mutants)} mutants",
              flush=True)
        run_all(mutants, free, args.test_args, args.timeout, jobs)
    return baseline_s


def load_previous(path: Path, everything: list[Mutant], files: list[str]) -> tuple[dict, list[Mutant]]:
    """An earlier full run and its mutants, which must be exactly the mutants of the source as it is now
    (raises UsageError before anything is re-run)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--update: cannot read the results file {path}: {exc}") from None
    rows = data.get("mutants") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise UsageError(f"--update: {path} holds no list of mutants")
    if data.get("files") != files:
        raise UsageError(f"--update: {path} covers {data.get('files')}; give the same --files")
    if data.get("run") != data.get("enumerated") or data.get("run") != len(rows):
        raise UsageError(f"--update: {path} is not a full run ({len(rows)} rows, {data.get('run')} run of {data.get('enumerated')} "
                         "mutants); update a full run")
    for key in ("baseline_s", "elapsed_s"):
        if not isinstance(data.get(key), (int, float)) or isinstance(data.get(key), bool):
            raise UsageError(f"--update: {path}: {key} is not a number")
    ids = [r.get("id") for r in rows]
    now = {m.id: m for m in everything}
    if not all(isinstance(i, str) for i in ids) or len(set(ids)) != len(ids) or set(ids) != set(now):
        raise UsageError(f"--update: the mutants of {path} are not the mutants of the source as it is now; "
                         "run in full")
    previous = []
    for row in rows:
        m = now[row["id"]]
        if (m.original_line, m.mutated_line) != (row.get("original_line"), row.get("mutated_line")):
            raise UsageError(f"--update: {m.id} of {path} is not the same edit in the source as it is now; "
                             "run in full")
        if row.get("outcome") not in OUTCOMES:
            raise UsageError(f"--update: {m.id} of {path} has no known outcome")
        kept = copy.copy(m)  # what the mutant is comes from the source; what happened from the file
        for key in ("outcome", "exit_code", "seconds", "output_tail"):
            setattr(kept, key, row.get(key))
        previous.append(kept)
    return data, previous


def update(args, everything, equivalent, eq_path) -> None:
    """Re-run some mutants of an earlier run (after tests were added) and report the merged run."""
    path = args.json or args.root / "benchmarks" / "mutation.json"
    data, previous = load_previous(path, everything, args.files)
    unknown = sorted(set(args.only or ()) - {m.id for m in previous})
    if unknown:
        raise UsageError(f"--update: {', '.join(unknown)} not in {path}")
    wanted = set(args.only) if args.only else {m.id for m in previous
                                                 if m.outcome == "survived" and not equivalent.get(m.id)}
    fresh = [m for m in everything if m.id in wanted]
    start = time.monotonic()
    if fresh:
        jobs = min(args.jobs, len(fresh))
        print(f"re-running {len(fresh)} mutant(s) of {path}; copying {args.root} for {jobs} worker(s) ...",
              flush=True)
        run_in_copies(args, fresh, jobs)
    by_id = {m.id: m for m in fresh}
    merged = [by_id.get(m.id, m) for m in previous]
    for m in merged:
        m.equivalent = equivalent.get(m.id)
    note = f"updated: {len(fresh)} mutant(s) re-run after the full run"
    report(args, merged, {m.id for m in everything}, equivalent, eq_path, data.get("baseline_s", 0.0),
           data.get("elapsed_s", 0.0) + time.monotonic() - start, note)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        check_args(args)
        everything, dropped = enumerate_all(args.root, args.files)
        chosen, note = select(everything, args.only, args.limit)
        if args.list:
            print_list(chosen, args.files, dropped, note)
            return 0
        equivalent, eq_path = load_equivalent(args)
        if args.update:
            update(args, everything, equivalent, eq_path)
            return 0
        execute(args, chosen, {m.id for m in everything}, equivalent, eq_path, note)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SyntaxError as exc:
        print(f"error: cannot parse {exc.filename}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into ``head`` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
