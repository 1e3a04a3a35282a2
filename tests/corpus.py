"""The hostile corpus: command lines a careless or hostile user might type, each with the outcome it must have.

Every case is one real ``derive`` command line run in a fresh folder (its working folder, where any stray
write would show), with a wall-clock timeout.  Kinds: ``expression`` (--F/--G text), ``number`` (--s, priors,
the KL example), ``option`` (commands, --dim, --variant, --time-limit), ``config`` (TOML files and special
files), ``output`` (--out folders), ``signal`` (Ctrl-C, SIGTERM), ``locale`` (terminals without Unicode) and
``pipe`` (a reader that goes away).

Outcomes:

* ``refused``: exit 2, exactly one line on stderr that starts ``derive: error:`` (and holds the case's
  needle), nothing on stdout, no traceback, no "internal error", and no file created or changed;
* ``accepted``: the expected exit code, nothing on stderr, and only ``--out`` written (by ``all``);
* ``interrupted``: exit 128 + N for signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP), one line, nothing written;
* ``pipe``: exit 0 or 141 and nothing on stderr when stdout's reader has gone.

``python -m tests.corpus`` runs every case in parallel and prints the outcome counts;
``tests/test_corpus.py`` runs each case as a test (marked slow).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

CASE_TIMEOUT = 120  # seconds; a case past it is a hang, and a failure

REFUSED, ACCEPTED, INTERRUPTED, PIPE = "refused", "accepted", "interrupted", "pipe"


@dataclass(frozen=True)
class Case:
    kind: str
    argv: tuple                       # "{tmp}" stands for the case's folder
    expect: str
    needle: str = ""                  # a refusal's line must contain it
    env: tuple = ()                   # extra environment (name, value) pairs
    files: tuple = ()                 # (relative path, bytes) written before the run
    setup: str = ""                   # a named preparation of the folder (see SETUPS)
    send: tuple = ()                  # (signal, seconds after the start) for kind "signal"
    code: int = 0                     # the exit code of an accepted case
    ascii_only: bool = False          # an accepted case's stdout must be ASCII
    stderr: str = ""                  # an accepted case's one line on stderr must contain it (else: none)
    out: str = ""                     # the folder an accepted ``all`` writes (relative to the case folder)
    label: str = field(default="", compare=False)

    @property
    def id(self) -> str:
        text = self.label or " ".join(self.argv)
        text = text.encode("ascii", "backslashreplace").decode()
        setup = f" [{self.setup}]" if self.setup else ""
        return f"{self.kind}:{text[:70]}{setup}"


# ---------------------------------------------------------------- expressions (--F, --G)

INJECTIONS = [
    "__import__('os').system('touch {tmp}/canary')", "().__class__.__bases__[0].__subclasses__()",
    "x.__class__", "x.real", "x.conjugate()", "exp.__globals__", "sympy.exp(x)", "sp.exp(x)",
    "os.system('touch {tmp}/canary')", "globals()", "locals()", "vars()", "dir()", "breakpoint()", "input()",
    "print(x)", "compile('1', '', 'eval')", "__builtins__", "__debug__", "x.__dict__", "type(x)", "exp(x).func",
    "lambda: 0", "lambda x: x", "[y for y in (1, 2)]", "(y for y in (1, 2))", "{y: 1 for y in (1, 2)}",
    "{1, 2}", "{'a': 1}", "f'{x}'", "(y := 3)", "open('{tmp}/canary', 'w')", "eval('1')",
    "exec('import os')", "getattr(x, 'real')", "x if x else 1", "x[0]", "x[0:1]", "'text'", "b'bytes'",
    "1j", "2 + 3j", "True", "None", "...", "x == 1", "x < 1", "x and 1", "not x", "x % 2", "x // 2",
    "x @ x", "x & 1", "x | 1", "x ^ 1", "~x", "x << 1", "x >> 1", "await x", "yield x", "import os",
    "x = 1", "x; x", "del x", "assert x", "raise", "pass", "x, x", "*x", "x.y.z", "exp(x)(x)",
    "exp(exp)(x)", "exp(x=1)", "exp(*[x])", "exp(**{})", "exp(x, x)", "exp()", "tanh", "foo(x)",
    "Exp(x)", "EXP(x)", "y", "X", "x2_1", "pi(x)", "e(x)", "e.real", "__import__", "x.__class__.__mro__",
    "[].append", "x if 1 else 2",
]

CHARACTERS = [
    "ехр(x)", "x\u200b+1", "x\u00a0+ 1", "x\t+ 1", "x\n+ 1", "x\r", "\uff58", "\U0001d465", "x\u00b2",
    "\u221ax", "x\u22121", "x\u00b72", "\u03b1", "x\x1b[31m", "x\\", "x#", "x # + 1", "`x`", "$x", "x!",
    "x?", "@x", "x'", '"x"',
]

LIMITS = [
    ("9**9**9**9", "exponent"), ("x ** x", "exponents must be numbers"), ("x ** 1000", "exponent larger than 64"),
    ("x**65", "exponent larger than 64"), ("x**-65", "exponent larger than 64"), ("1" * 200, "significant digits"),
    ("1e999", "too large"), ("1e400", "too large"), ("0." + "0" * 30 + "12345678901234567890123", "digits"),
    ("x+" * 50_000 + "x", "characters long"), ("(" * 10_000 + "x" + ")" * 10_000, "characters long"),
    ("(" * 41 + "x" + ")" * 41, "nested deeper than 40"), ("x" + " " * 2001, "characters long"),
    ("+".join(["x"] * 700), "size limit is 2000"), ("-" * 1500 + "x", ""), ("exp(" * 41 + "x" + ")" * 41, "nested"),
    ("(exp(47))**1", "number too large"), ("123456789012345678901", "significant digits"),
    ("1000000000000000000001*x", "significant digits"), ("exp(exp(exp(100)))*x", ""), ("(10**19)**64*x", ""),
    ("(1+x**2)**exp(exp(exp(100)))", "too large to evaluate"), ("tanh(x+exp(exp(exp(100))))", "too large to evaluate"),
    ("abs(x-exp(exp(exp(100))))", "too large to evaluate"), ("(1+x**2)**(64+exp(-700))", "exponent larger than 64"),
    ("exp(exp(exp(x)))", "too large for a float"), ("-(1e19*x)**64", "too large for a float"),
    ("exp(800)*x", "too large to evaluate"), ("sqrt(-1)*x", "not a real number"),
]

SYNTAX = [
    ("", "empty expression"), ("   ", "empty expression"), ("x +", "not a valid expression"), ("(x", ""),
    ("x)", ""), ("[x", ""), ("x,", ""), ("1/0", ""), ("x/0e0", "divisor is exactly 0"), ("x/0", "exactly 0"),
    ("x/(1-1)", "exactly 0"), ("x/(x-x)", ""), ("0**-1", ""), ("(-1)**0.5", ""), ("log(0)", "exactly 0"),
    ("log(-1)", ""), ("x/(sin(1)**2+cos(1)**2-1)", "divisor is exactly 0"),
    ("x/(x*(sin(1)**2+cos(1)**2-1))", "divisor is exactly 0"), ("(log(2)+log(3)-log(6))**-1", "exactly 0"),
    ("x*log(sin(2)**2+cos(2)**2-1)", "argument of log is exactly 0"), ("x/(pi - pi)", "exactly 0"),
    ("x/(e - exp(1))", "exactly 0"), ("x/(sqrt(2)**2 - 2)", "exactly 0"),
]

DOMAIN = ["log(x)", "sqrt(x)", "1/x", "x**-1", "x**0.5", "abs(x)**-1", "tanh(x)/sin(x)", "1/cos(x)",
          "log(x**2)", "log(abs(x))", "sqrt(-1)", "log(sin(x))", "1/tanh(x)", "x**(1/3)"]

GOOD_EXPRESSIONS = [
    "(exp)(x)", "0." + "0" * 30 + "1", "10**30", "1/(1 + x**2)", "x**64", "exp(x)**2", "abs(x)", "sqrt(1 + x**2)",
    "log(1 + x**2)", "softplus(x)", "sigmoid(x)*2 - 1", "+x", "- -x", "1_0*x", "x*1e-20", "1000*x", "-x**2",
    "[x2_1*x2_2, sin(x2_1)]", "[x2_2, x2_1]", "[tanh(x2_1 - x2_2), x2_1*x2_2,]", "  tanh(x)  ",
    "pi*x + e", "exp(-exp(x))", "+".join(["x"] * 300), "(" * 40 + "x" + ")" * 40,
    "(1+x**2)**(64*(sin(1)**2+cos(1)**2))", "(1+x**2)**(-64*(sin(1)**2+cos(1)**2))", "exp(-1000)*x",
]

LISTS = ["[x2_1]", "[x2_1, x2_9]", "[x, x]", "[x2_0, x2_1]", "[x2_1, x2_2, x2_1]", "[]", "[[x2_1], x2_2]",
         "[x2_1, x2_2", "[x2_1 x2_2]", "[x2_1,, x2_2]", "[x2_1; x2_2]", "[x2_1, log(x2_2)]", "[x1_1, x2_2]",
         "[y1_1, x2_2]", "[x2_1, x2_2] + [x2_1]", "[x2_1, x2_2][0]", "[x2_1, 1/x2_2]", "[x2_1, foo(x2_2)]", "(x2_1, x2_2)"]


def _expression_cases() -> list[Case]:
    cases = []
    commands = (("show", "coupling"), ("check", "coupling"), ("show", "coupling", "--json"))
    for n, text in enumerate(INJECTIONS):
        option = ("--F", "--G")[n % 2]
        cases.append(Case("expression", (*commands[n % 3], f"{option}={text}"), REFUSED, f"{option}: "))
    for n, text in enumerate(CHARACTERS):
        cases.append(Case("expression", ("show", "coupling", f"--F={text}"), REFUSED, "--F: ",
                          label=f"--F={text!r}"))
    for text, needle in LIMITS:
        cases.append(Case("expression", ("show", "coupling", f"--G={text}"), REFUSED, needle,
                          label=f"--G={text[:40]!r} ({len(text)} chars)"))
    for text, needle in SYNTAX:
        cases.append(Case("expression", ("show", "coupling", f"--F={text}"), REFUSED, needle))
    for text in DOMAIN:
        for option in ("--F", "--G"):
            cases.append(Case("expression", ("show", "coupling", f"{option}={text}"), REFUSED, option))
    for text in LISTS:
        cases.append(Case("expression", ("show", "coupling", "--dim", "4", f"--F={text}"), REFUSED, "--F"))
    for n, text in enumerate(GOOD_EXPRESSIONS):
        option = ("--F", "--G")[n % 2]
        cases.append(Case("expression", ("show", "coupling", "--json", f"{option}={text}"), ACCEPTED,
                          label=f"{option}={text[:40]!r} ({len(text)} chars)"))
    # through ``all``: the previous outputs must stay as they are
    for text in ("__import__('os').system('touch {tmp}/canary')", "log(x)", "x/0", "[x2_1]", "1e999",
                 "exp(*[x])", "x\u200b"):
        cases.append(Case("expression", ("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", "{tmp}/out", f"--F={text}"),
                          REFUSED, "--F", setup="previous"))
    return cases


# ---------------------------------------------------------------- numbers

BAD_S = [
    ("abc", ""), ("1, 2, 3", "expected 2 numbers"), ("x", ""), ("1000", "outside the limit"), ("nan", ""),
    ("inf", ""), ("-inf", ""), ("oo", ""), ("zoo", ""), ("I", ""), ("1j", ""),
    ("exp(exp(exp(100)))", "too large"), ("700", "outside the limit |value| <= 100"), ("101", "outside the limit"),
    ("-101", "outside the limit"), ("1, exp(101)", "s_2"), ("(10**19)**64", "too large"), ("10**400", ""),
    ("1e400", ""), ("", "empty"), (",1", ""), ("1,,2", ""), ("1 2", ""), ("1;2", ""),
    ("[1, [2]]", ""), ("log(0)", "exactly 0"), ("log(-1)", ""), ("sqrt(-1)", ""), ("0/0", ""), ("1/0", ""),
    ("0x10, 0x100", "outside the limit"), ("1, 2, 3, 4, 5", "expected 2 numbers"), ("exp(690)", ""), ("-exp(exp(100))", "too large"),
    ("(-8)**(1/3)", ""), ("100.0000000000000001", "outside the limit"), ("sin(1)**2 + cos(1)**2 - 1 + 101", ""),
    ("sin(1)**2 + cos(1)**2 - 1", "cannot be evaluated to 30 certain digits"),
    ("100 + exp(-700)", "100 + 9.859677e-305 is outside the limit"), ("-100 - exp(-690)", "outside the limit"),
    ("cos(exp(690))", "cannot be evaluated"),
]
GOOD_S = ["50", "0.1", "-100", "100", "1e-400", "0", "-0", "1_0", "pi", "e, -e", "sqrt(2), -1/3", "2**-3",
          "exp(-700)", "1,", "0x10", "100*(sin(1)**2+cos(1)**2)", "-0.2, 0.1"]

BAD_STD = [
    ("0", "must be positive"), ("-1", "must be positive"), ("abc", ""), ("(10**19)**64", "too large"),
    ("1e-320", "below the limit 1e-12"), ("exp(-40)", "below the limit"), ("1e13", ""), ("1e-13", "below"),
    ("exp(exp(exp(100)))", "too large"), ("nan", ""), ("inf", ""), ("oo", ""), ("-0", ""), ("0.0", ""),
    ("sin(1)**2 + cos(1)**2 - 1", ""), ("sqrt(-1)", ""), ("x", ""), ("1, 2", ""), ("", "empty"),
    ("log(0)", ""), ("1/0", ""), ("-exp(exp(exp(100)))", ""), ("10**13", ""), ("2**-41", "below"),
    ("0.99999999999999999999e-12", "9.9999999999999999999e-13 is below"), ("1e-12 - exp(-700)", "is below"),
]
BAD_MEAN = [
    ("1000001", "outside the limit"), ("exp(exp(exp(100)))", "too large"), ("(10**19)**64", "too large"),
    ("-1e7", ""), ("nan", ""), ("inf", ""), ("x", ""), ("1,2", ""), ("", "empty"), ("1/0", ""),
    ("log(-1)", ""), ("sqrt(-4)", ""), ("exp(700)", ""), ("10**7", ""), ("mu", ""), ("1e1000", ""),
    ("-exp(exp(exp(100)))", "too large"), ("exp(14)", "outside the limit"),
]
GOOD_STD = ["1e-12", "1e12", "2", "0.5", "pi", "exp(-27)", "sqrt(2)", "1/3", "10**12", "2**-39"]
GOOD_MEAN = ["0", "1e6", "-1e6", "1.234567890123456e-300", "-pi", "exp(13)", "0.1", "-2.5"]


def _number_cases() -> list[Case]:
    cases = []
    for text, needle in BAD_S:
        cases.append(Case("number", ("show", "coupling", f"--s={text}"), REFUSED, needle or "--s"))
    for text in GOOD_S:
        cases.append(Case("number", ("show", "coupling", "--json", f"--s={text}"), ACCEPTED))
    for option in ("--prior-std", "--sigma"):
        for text, needle in BAD_STD:
            extra = ("--mu", "0") if option == "--sigma" else ()
            cases.append(Case("number", ("show", "kl", *extra, f"{option}={text}"), REFUSED, needle or option))
    for option in ("--prior-mean", "--mu"):
        for text, needle in BAD_MEAN:
            extra = ("--sigma", "1") if option == "--mu" else ()
            cases.append(Case("number", ("show", "kl", *extra, f"{option}={text}"), REFUSED, needle or option))
    for text in GOOD_STD:
        cases.append(Case("number", ("show", "kl", "--json", "--mu", "0.5", f"--sigma={text}"), ACCEPTED))
    for text in GOOD_MEAN:
        cases.append(Case("number", ("show", "kl", "--json", f"--mu={text}", "--sigma", "2"), ACCEPTED))
    for text in ("2", "0.5", "1e-12"):
        cases.append(Case("number", ("show", "reparam", "--json", f"--prior-std={text}"), ACCEPTED))
    for text in ("1", "-1e6"):
        cases.append(Case("number", ("show", "kl", "--json", f"--prior-mean={text}"), ACCEPTED))
    return cases


# ---------------------------------------------------------------- options and commands

def _option_cases() -> list[Case]:
    cases = []
    for text in ("nan", "inf", "3", "-4", "0", "10" * 20, "", "4.0", "0x10", "2050", "4096", "1e2", "+4",
                 "\u0664", "4 4", "2**4"):
        cases.append(Case("option", ("show", "coupling", f"--dim={text}"), REFUSED, "--dim"))
    cases.append(Case("option", ("show", "coupling", "--dim", "18", "--F", "tanh(x)"), REFUSED, "up to d = 16"))
    cases.append(Case("option", ("show", "coupling", "--dim", "2048", "--s", "0.1"), REFUSED, "up to d = 16"))
    for text in ("evil", "", "SEED", "seed ", "real nvp", "glow"):
        cases.append(Case("option", ("show", "coupling", f"--variant={text}"), REFUSED, "--variant"))
    for text in ("-5", "0", "nan", "inf", "1e3", "86401", "abc", "", "0.0000001", "1,5", "10 s"):
        cases.append(Case("option", ("show", "kl", f"--time-limit={text}"), REFUSED, "--time-limit"))
    cases.append(Case("option", ("show", "kl", "--time-limit=0.000001"), REFUSED, "ran out of time"))
    cases.append(Case("option", ("check", "coupling", "--dim", "2048", "--time-limit", "3"), REFUSED,
                      "ran out of time after 3 s (--time-limit) while "))  # the stage depends on the load
    cases.append(Case("option", ("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", "{tmp}/out", "--time-limit", "2"),
                      REFUSED, "ran out of time after 2 s", setup="previous"))
    for argv, needle in [
        (("show",), "name"), (("show", "nope"), "unknown derivation 'nope'"), (("check", "nope"), "unknown"),
        (("show", "../coupling"), "unknown derivation"), (("frobnicate",), "invalid choice"),
        (("all", "--no-catalogue", "extra"), "unrecognized"), (("--bogus",), "unrecognized"), (("show", "coupling", "--bogus"), ""),
        (("show", "coupling", "--F"), "expected one argument"), (("list", "extra"), "unrecognized"),
        (("show", "coupling", "--dim"), "expected one argument"), (("show", "kl", "--mu", "1"), "go together"),
        (("show", "kl", "--sigma", "1"), "go together"), (("show", "kl", "--json=yes"), ""),
        (("show", "COUPLING"), "unknown derivation"), (("show", ""), "unknown derivation"),
        (("check",), ""),
    ]:
        cases.append(Case("option", argv, REFUSED, needle))
    for argv in (("list",), ("--help",), ("show", "--help"), ()):
        cases.append(Case("option", argv, ACCEPTED))
    cases.append(Case("option", ("show", "coupling", "--dim", " 4 ", "--json"), ACCEPTED))
    cases.append(Case("option", ("check", "kl", "--json"), ACCEPTED))
    cases.append(Case("option", ("all", "--no-catalogue", "--check", "--out", "{tmp}/none", "--quiet"), ACCEPTED, code=1,
                      stderr="is not a folder of outputs"))
    return cases


# ---------------------------------------------------------------- config files

BAD_CONFIGS = [
    (b'F = "tanh(x)"\nevil = 1\n', "unknown key 'evil'"), (b"F = [", "not valid TOML"),
    (b"dim = " + b"1" * 5000 + b"\n", "holds a value TOML cannot read"),
    (b"F = " + b"[" * 30000 + b"]" * 30000 + b"\n", "nested too deeply"), (b"dim = true\n", "string or a number"),
    (b"F = ['x']\n", "string or a number"), (b"[F]\nx = 1\n", "string or a number"),
    (b"F = {a = 1}\n", "string or a number"), (b"dim = 1979-05-27\n", "string or a number"),
    (b"dim = 07:32:00\n", "string or a number"), (b"dim = 4\ndim = 6\n", "not valid TOML"),
    (b'F = "\xff"\n', "not UTF-8"), ("dim = 4\n".encode("utf-16"), ""), (b"dim = 3\n", "--dim"),
    (b"dim = -4\n", "--dim"), (b'variant = "evil"\n', "--variant"), (b'F = "foo(x)"\n', "unknown function"),
    (b'F = "__import__(\'os\').system(\'touch canary\')"\n', ""), (b's = "1000"\n', "outside the limit"),
    (b'prior_std = "0"\n', "must be positive"), (b"prior_std = -1\n", "must be positive"),
    (b"prior_mean = 1e7\n", "outside the limit"), (b"mu = 1\n", "go together"), (b"time_limit = 0\n", "time-limit"),
    (b"time_limit = -1\n", "time-limit"), (b'time_limit = "abc"\n', "time-limit"), (b"time_limit = 1e6\n", ""),
    (b"dim = 99999999999999999999999999999999\n", "number too large"), (b"dim = nan\n", "--dim"),
    (b"dim = inf\n", "--dim"), (b"F = '''tanh(x)\n+ 1'''\n", "not allowed"), (b"dim = 4\x00\n", ""),
    (b"#" * 100_001, "larger than 100000 bytes"), (b'"" = 1\n', "unknown key"), (b'F = ""\n', "empty"),
    (b'F = "x"\nG = "log(x)"\n', "--G"), (b"prior-std = 2\n", "unknown key"), (b"s = 1e999\n", ""),
    (b"sigma = 2\n", "go together"), (b'mu = "1"\nsigma = "0"\n', "--sigma"), (b"dim = 4.5\n", "--dim"),
    (b'F = "tanh(x)"\ndim = 2050\n', "--dim"), (b"variant = 1\n", "--variant"), (b"=\n", "not valid TOML"),
    (b'F = "1e999"\n', "too large"),
    (b'prior_mean = "exp(exp(exp(100)))"\n', "too large"), (b"prior_std = 1e-320\n", ""),
]
GOOD_CONFIGS = [
    b"", b"# only a comment\n", b'variant = "nice"\nF = "sin(x)"\ndim = 4\n',
    b'F = "tanh(x)"\nG = "sin(x)"\ns = "0.3, -0.3"\n', b"prior_std = 2\nprior_mean = 0.5\n",
    b'mu = 0.5\nsigma = "2"\n', b"time_limit = 600\n", b"s = 0.25\n", b'dim = "6"\nF = "tanh(x)"\n',
    b'dim = 0x4\nF = "tanh(x)"\n', b"\xef\xbb\xbfdim = 4\n",  # a byte order mark (some editors write one)
]


def _config_cases() -> list[Case]:
    cases = []
    for n, (data, needle) in enumerate(BAD_CONFIGS):
        name = ("show", "coupling") if n % 2 else ("show", "kl")
        cases.append(Case("config", (*name, "--config", "{tmp}/c.toml"), REFUSED, needle or "--",
                          files=(("c.toml", data),), label=f"--config holding {data[:40]!r}"))
    for n, data in enumerate(GOOD_CONFIGS):
        name = "coupling" if b"F" in data or b"s =" in data or b"variant" in data else "kl"
        cases.append(Case("config", ("show", name, "--json", "--config", "{tmp}/c.toml"), ACCEPTED,
                          files=(("c.toml", data),), label=f"--config holding {data[:40]!r}"))
    cases.append(Case("config", ("show", "coupling", "--config", "{tmp}/c.toml", "--variant", "seed", "--G",
                                 "tanh(x)", "--json"), ACCEPTED,
                      files=(("c.toml", b'variant = "nice"\nF = "sin(x)"\n'),), label="command line over config"))
    for path, needle, setup in [
        ("{tmp}/fifo", "is not a regular file", "fifo"), ("{tmp}", "is a folder, not a file", ""),
        ("/dev/zero", "is not a regular file", ""), ("/dev/null", "is not a regular file", ""),
        ("/proc/self/pagemap", "larger than 100000 bytes", ""), ("{tmp}/missing.toml", "no such file", ""),
        ("", "empty file name", ""), ("{tmp}/link-to-folder", "is a folder", "links"),
        ("{tmp}/loop", "cannot read", "links"), ("{tmp}/dangling", "no such file", "links"),
        ("{tmp}/" + "a" * 5000, "cannot read", ""), ("{tmp}/c.toml/x", "no such file", "config-file"),
        ("/dev/stdin", "not a regular file", ""), ("/proc/self/mem", "", ""),
    ]:
        cases.append(Case("config", ("show", "kl", f"--config={path}"), REFUSED, needle, setup=setup,
                          label=f"--config={path[:60]}"))
    return cases


# ---------------------------------------------------------------- output folders

def _output_cases() -> list[Case]:
    cases = []
    for out, needle, setup in [
        ("{tmp}/file", "is not a folder", "file"), ("{tmp}/file/sub", "is not a folder", "file"),
        ("{tmp}/foreign", "which derive did not write", "foreign"), ("", "empty path", ""),
        (".", "not a folder derive can replace", ""), ("/", "not a folder derive can replace", ""),
        ("..", "not a folder derive can replace", ""), ("{tmp}/dangling", "a link to nothing", "links"),
        ("{tmp}/out", "writeup.md is not a file derive wrote", "odd-dir"),
        ("{tmp}/out", "manifest.json is not a file derive wrote", "odd-link"),
        ("{tmp}/no/such/folder", "does not exist", ""), ("{tmp}/ro/out", "no permission to write", "readonly"),
        ("   ", "empty path", ""), ("{tmp}", "not a folder derive can replace", ""),
        ("{tmp}/link", "is a link; give the folder it points to", "link-out"),
        ("{tmp}/out/inner", "which holds derive's outputs", "nested"), ("{tmp}/no\nsuch/out", "no\\nsuch", ""),
    ]:
        cases.append(Case("output", ("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", out), REFUSED, needle, setup=setup))
    cases.append(Case("output", ("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", "{tmp}/fresh"), ACCEPTED, out="fresh"))
    cases.append(Case("output", ("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", "{tmp}/out", "--F", "tanh(x)"), ACCEPTED,
                      setup="previous", out="out"))
    return cases


# ---------------------------------------------------------------- signals, locales, pipes

def _signal_cases() -> list[Case]:
    cases = []
    heavy = ("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", "{tmp}/out")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        for delay in (0.3, 1.5, 3.0):
            cases.append(Case("signal", heavy, INTERRUPTED, send=(int(sig), delay), setup="previous",
                              label=f"{sig.name} after {delay} s of all"))
        cases.append(Case("signal", ("check", "coupling", "--dim", "1024"), INTERRUPTED, send=(int(sig), 2.0),
                          label=f"{sig.name} after 2 s of check coupling --dim 1024"))
    return cases


LOCALES = [
    (("PYTHONIOENCODING", "ascii"),), (("LC_ALL", "C"), ("LANG", "C"), ("PYTHONUTF8", "0")),
    (("LC_ALL", "POSIX"), ("LANG", "POSIX"), ("PYTHONUTF8", "0")), (("PYTHONIOENCODING", "latin-1"),),
]


def _locale_cases() -> list[Case]:
    cases = []
    for env in LOCALES:
        for argv in (("list",), ("show", "coupling"), ("show", "vfe"), ("show", "kl"), ("show", "reparam"),
                     ("check", "kl"), ("show", "kl", "--json"), ("show", "coupling", "--F", "tanh(x)")):
            cases.append(Case("locale", argv, ACCEPTED, env=env, ascii_only=True,
                              label=" ".join(f"{k}={v}" for k, v in env) + " derive " + " ".join(argv)))
        cases.append(Case("locale", ("show", "coupling", "--F=\u221ax"), REFUSED, "U+221A", env=env,
                          label=" ".join(f"{k}={v}" for k, v in env) + " a refusal naming a non-ASCII character"))
    return cases


def _pipe_cases() -> list[Case]:
    return [Case("pipe", argv, PIPE) for argv in (("list",), ("show", "kl"), ("show", "coupling", "--json"),
                                                    ("check", "kl"), ("show", "reparam"), ("--help",))]


def all_cases() -> list[Case]:
    cases = (_expression_cases() + _number_cases() + _option_cases() + _config_cases() + _output_cases()
             + _signal_cases() + _locale_cases() + _pipe_cases())
    ids = [c.id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, sorted(dup)[:5]
    return cases


# ---------------------------------------------------------------- running a case

PREVIOUS = {"writeup.md": "the previous writeup\n", "derivations.json": "{}\n"}


def _setup(name: str, tmp: Path) -> None:
    if name == "previous":
        (tmp / "out").mkdir()
        for file, text in PREVIOUS.items():
            (tmp / "out" / file).write_text(text)
    elif name == "fifo":
        os.mkfifo(tmp / "fifo")
    elif name == "links":
        (tmp / "folder").mkdir()
        os.symlink(tmp / "folder", tmp / "link-to-folder")
        os.symlink(tmp / "loop", tmp / "loop")
        os.symlink(tmp / "nothing", tmp / "dangling")
    elif name == "config-file":
        (tmp / "c.toml").write_text("dim = 4\n")
    elif name == "file":
        (tmp / "file").write_text("a file\n")
    elif name == "foreign":
        (tmp / "foreign").mkdir()
        (tmp / "foreign" / "notes.txt").write_text("mine\n")
    elif name == "odd-dir":
        (tmp / "out" / "writeup.md").mkdir(parents=True)
    elif name == "odd-link":
        (tmp / "out").mkdir()
        os.symlink(tmp / "nothing", tmp / "out" / "manifest.json")
    elif name == "link-out":
        (tmp / "real").mkdir()
        os.symlink(tmp / "real", tmp / "link")
    elif name == "nested":
        (tmp / "out").mkdir()
        for file in ("manifest.json", "derivations.json"):
            (tmp / "out" / file).write_text("{}\n")
    elif name == "readonly":
        (tmp / "ro").mkdir()
        (tmp / "ro").chmod(0o555)
    elif name:
        raise ValueError(name)


def _listing(folder: Path) -> dict:
    entries = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(root) / name
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                entries[rel] = "link:" + os.readlink(path)
            elif path.is_file():
                entries[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                entries[rel] = "other"
    return entries


def _fill(arg: str, tmp: Path) -> str:
    return arg.replace("{tmp}", str(tmp))


def _env(case: Case) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "DERIVE_DEBUG")}
    env.update(case.env)
    return env


def _readonly_possible(tmp: Path) -> bool:
    return not os.access(tmp / "ro", os.W_OK)


def run_case(case: Case, tmp: Path, timeout: float = CASE_TIMEOUT) -> tuple[str, str]:
    """Run one case in the empty folder ``tmp``: (outcome, detail); outcome is the case's expectation when it
    held, ``skipped`` where the machine cannot set the case up, else ``failure``."""
    for rel, data in case.files:
        (tmp / rel).write_bytes(data)
    _setup(case.setup, tmp)
    if case.setup == "readonly" and not _readonly_possible(tmp):
        return "skipped", "this user can write in a read-only folder (root)"
    before = _listing(tmp)
    argv = [sys.executable, "-m", "derive", *(_fill(a, tmp) for a in case.argv)]
    start = time.monotonic()
    if case.kind == "signal":
        rc, out, err = _run_signalled(argv, tmp, case, timeout)
    elif case.kind == "pipe":
        rc, out, err = _run_closed_stdout(argv, tmp, case, timeout)
    else:
        try:
            res = subprocess.run(argv, cwd=tmp, env=_env(case), capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "failure", f"no answer after {timeout} s"
        rc, out, err = res.returncode, res.stdout, res.stderr
    seconds = time.monotonic() - start
    problem = _judge(case, tmp, before, rc, out, err)
    if problem:
        return "failure", f"{problem} (exit {rc}, {seconds:.1f} s, stderr {err[-300:]!r})"
    outcome = case.expect
    if case.kind == "signal" and rc == 0:
        outcome = ACCEPTED  # the run ended before the signal came
    return outcome, f"exit {rc} in {seconds:.1f} s"


def _run_signalled(argv, tmp, case, timeout):
    proc = subprocess.Popen(argv, cwd=tmp, env=_env(case), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sig, delay = case.send
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return None, out, err + b"\n(no answer to the signal)"
    return proc.returncode, out, err


def _run_closed_stdout(argv, tmp, case, timeout):
    proc = subprocess.Popen(argv, cwd=tmp, env=_env(case), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    try:
        err = proc.stderr.read()
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return None, b"", b"(hang)"
    return rc, b"", err


def _one_line_error(err: bytes) -> str:
    text = err.decode("utf-8", "replace")
    if not text.startswith("derive: error: "):
        return "stderr does not start with 'derive: error: '"
    if text.count("\n") != 1 or not text.endswith("\n"):
        return f"stderr is {text.count(chr(10))} lines, not one"
    return ""


def _judge(case: Case, tmp: Path, before: dict, rc, out: bytes, err: bytes) -> str:
    if rc is None:
        return "hang"
    text = err.decode("utf-8", "replace")
    if "Traceback" in text or "internal error" in text:
        return "a traceback or an internal error"
    after = _listing(tmp)
    if case.expect == REFUSED:
        if rc != 2:
            return f"exit {rc}, not 2"
        problem = _one_line_error(err)
        if problem:
            return problem
        if case.needle and case.needle not in text:
            return f"the refusal does not say {case.needle!r}"
        if out:
            return f"stdout is not empty: {out[:200]!r}"
        if after != before:
            return f"files changed: {_difference(before, after)}"
        return ""
    if case.expect == ACCEPTED:
        if rc != case.code:
            return f"exit {rc}, not {case.code}"
        if case.stderr:
            if text.count("\n") != 1 or case.stderr not in text:
                return f"stderr is not one line saying {case.stderr!r}"
        elif err:
            return "stderr is not empty"
        if case.ascii_only:
            try:
                out.decode("ascii")
            except UnicodeDecodeError:
                return "stdout is not ASCII"
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        stray = sorted(k for k in changed if not (case.out and (k == case.out or k.startswith(case.out + "/"))))
        if stray:
            return f"files changed outside --out: {stray[:5]}"
        if case.out:
            return _complete_set(tmp / case.out)
        return ""
    if case.expect == INTERRUPTED:
        if rc == 0:
            return "" if not _staging_left(tmp) else "staging left behind"
        sig = case.send[0]
        want = 128 + sig
        if rc != want:
            return f"exit {rc}, not {want}"
        if text.count("\n") != 1 or "nothing was written" not in text:
            return "stderr is not one line saying nothing was written"
        if after != before:
            return f"files changed: {_difference(before, after)}"
        return ""
    if case.expect == PIPE:
        if rc not in (0, 141):
            return f"exit {rc}, not 0 or 141"
        return "stderr is not empty" if err else ""
    raise ValueError(case.expect)


def _staging_left(tmp: Path) -> bool:
    return any(".derive-" in p.name for p in tmp.iterdir())


def _complete_set(out: Path) -> str:
    import json

    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        return f"no readable manifest in --out ({exc})"
    names = {p.name for p in out.iterdir()}
    if names != set(manifest["files"]) | {"manifest.json"}:
        return f"--out holds {sorted(names)}"
    for name, entry in manifest["files"].items():
        if hashlib.sha256((out / name).read_bytes()).hexdigest() != entry["sha256"]:
            return f"{name} does not match the manifest"
    if _staging_left(out.parent):
        return "staging left behind"
    return ""


def _difference(before: dict, after: dict) -> str:
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return ", ".join(changed[:5])


def cleanup(tmp: Path) -> None:
    ro = tmp / "ro"
    if ro.exists():
        ro.chmod(0o755)
    shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- the tally

def main(argv=None) -> int:
    import argparse
    import concurrent.futures
    import tempfile

    ap = argparse.ArgumentParser(description="Run the hostile corpus and print the outcome counts.")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--kind", default=None, help="only cases of this kind")
    args = ap.parse_args(argv)
    cases = [c for c in all_cases() if args.kind is None or c.kind == args.kind]

    def one(case):
        tmp = Path(tempfile.mkdtemp(prefix="derive-corpus-"))
        try:
            return case, run_case(case, tmp)
        finally:
            cleanup(tmp)

    tally, failures = {}, []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for case, (outcome, detail) in pool.map(one, cases):
            tally.setdefault(case.kind, {}).setdefault(outcome, 0)
            tally[case.kind][outcome] += 1
            if outcome == "failure":
                failures.append((case, detail))
                print(f"FAILURE {case.id}: {detail}", flush=True)
    outcomes = ("refused", "accepted", "interrupted", "pipe", "skipped", "failure")
    print(f"{'kind':12s}" + "".join(f"{o:>13s}" for o in outcomes) + f"{'total':>8s}")
    for kind, counts in tally.items():
        print(f"{kind:12s}" + "".join(f"{counts.get(o, 0):13d}" for o in outcomes) + f"{sum(counts.values()):8d}")
    totals = {o: sum(c.get(o, 0) for c in tally.values()) for o in outcomes}
    print(f"{'all':12s}" + "".join(f"{totals[o]:13d}" for o in outcomes) + f"{len(cases):8d}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
