"""Typeset the mathematics inside a sentence of the derivation model.

The model's words (a step's reason, a check's description) are plain text
with mathematics written in Unicode (``z = μ + σε``, ``∂y₂/∂x₁``) or in a
few ASCII forms (``x_2,i``, ``y1``, ``mu_1``, ``sigma^2``, ``E_q[...]``).
:func:`typeset` splits such a sentence into text and inline LaTeX
(:class:`derive.document.TeX`), so that every format typesets the
mathematics instead of printing it as text.

A run of mathematics is a maximal span of mathematical tokens (symbols,
Greek letters, indexed names, operators, brackets, single letters and
numbers, and the spaces between them) holding at least one token that is
mathematics beyond doubt (an operator, a Greek letter, an index ...); an
English word ends it.
"""
from __future__ import annotations

import re

from ..document import TeX

GREEK = {"α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\epsilon", "θ": r"\theta",
         "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu", "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau",
         "φ": r"\phi", "ψ": r"\psi", "ω": r"\omega", "Σ": r"\Sigma", "Π": r"\Pi", "Γ": r"\Gamma", "Δ": r"\Delta", "∇": r"\nabla", "ℓ": r"\ell"}
ASCII_GREEK = {"mu": r"\mu", "sigma": r"\sigma", "epsilon": r"\epsilon", "eps": r"\epsilon", "tau": r"\tau",
               "lambda": r"\lambda", "theta": r"\theta", "delta": r"\delta", "pi": r"\pi"}
SYMBOLS = {"∂": r"\partial ", "∘": r"\circ ", "≠": r"\neq ", "→": r"\to ", "×": r"\times ", "≡": r"\equiv ",
           "≤": r"\leq ", "≥": r"\geq ", "√": r"\sqrt ", "∫": r"\int ", "∑": r"\sum ", "∏": r"\prod ",
           "∈": r"\in ", "≈": r"\approx ", "·": r"\cdot ", "−": "-", "‖": r"\| ", "…": r"\dots ", "∞": r"\infty ",
           "ℝ": r"\mathbb{R}", "~": r"\sim ", "⊙": r"\odot ", "|": "|", "%": r"\%"}
SUB = {"₀": "0", "₁": "1", "₂": "2", "₃": "3", "₄": "4", "ᵢ": "i", "ⱼ": "j", "ₖ": "k", "ₗ": "l"}
SUP = {"²": "2", "³": "3", "⁻": "-", "⁺": "+", "¹": "1", "ᵀ": "T"}
FUNCTIONS = {"log": r"\log", "exp": r"\exp", "det": r"\det", "diag": r"\operatorname{diag}", "KL": r"D_{\mathrm{KL}}",
             "Var": r"\operatorname{Var}", "tanh": r"\tanh", "slogdet": None, "E": r"\mathbb{E}", "N": r"\mathcal{N}",
             "sqrt": r"\sqrt", "log1p": r"\operatorname{log1p}"}

_TOKEN = re.compile(r"""
    (?P<abbr>\b(?:i\.e|e\.g|cf)\.)
  | (?P<ident>\b[A-Za-z]{2,}(?:_[A-Za-z0-9]+){2,}\b)   # a function's name: kl_gamma_gamma
  | (?P<space>\s+)
  | (?P<indexed>(?:[A-Za-z]+[0-9]*|[α-ωℓ])_\{?[A-Za-z0-9]+(?:,[A-Za-z0-9]+)?\}?(?:\^[0-9]+)?)   # x_2,i  y1_i  mu_1  E_q
  | (?P<bar>[A-Za-z]\u0304)
  | (?P<poss>[A-Za-z]+['’]s\b)
  | (?P<num>[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?)
  | (?P<word>log1p|[A-Za-z]+[0-9]*(?:\^[0-9]+)?)
  | (?P<greek>[α-ωΑ-Ω∇ℓ]\u0304?)
  | (?P<op>[=+*/^<>(){}\[\]|∂∘≠→×≡≤≥√∫∑∏∈≈·−‖…∞ℝ~⊙²³¹⁻⁺ᵀ₀₁₂₃₄ᵢⱼₖₗ-])
  | (?P<other>.)
""", re.VERBOSE)

_STRONG_OPS = set("=+*/^<>∂∘≠→×≡≤≥√∫∑∏∈≈·−‖…∞ℝ~⊙²³¹⁺ᵀ₀₁₂₃₄ᵢⱼₖₗ|")


def _kind(kind: str, value: str) -> tuple[bool, bool]:
    """(mathematical, beyond doubt) for one token."""
    if kind in ("indexed", "greek", "bar"):
        return True, True
    if kind == "num":
        return True, "e" in value
    if kind == "word" and value == "oo":
        return True, True
    if kind == "op":
        return True, value in _STRONG_OPS
    if kind == "word":
        base = value.split("^")[0]
        if base in ASCII_GREEK:
            return True, base not in ("delta", "pi", "lambda")
        if base == "log1p":
            return True, True
        if re.fullmatch(r"[A-Za-z][0-9]+", base):          # x1, y2, F_n written x2 ...
            return True, True
        if base in FUNCTIONS and base not in ("E", "N"):
            return True, False
        return len(base) == 1, False
    return False, False


def _tokens(text: str):
    return [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text)]


def _word_tex(value: str) -> str:
    if value == "oo":
        return r"\infty"
    base, _, power = value.partition("^")
    prime = ""
    if base in ASCII_GREEK:
        out = ASCII_GREEK[base]
    elif base in FUNCTIONS and FUNCTIONS[base]:
        out = FUNCTIONS[base]
    elif re.fullmatch(r"[A-Za-z][0-9]+", base):
        out = f"{base[0]}_{{{base[1:]}}}"
    elif len(base) > 1:
        out = rf"\mathrm{{{base}}}"
    else:
        out = base
    return out + prime + (f"^{{{power}}}" if power else "")


def _indexed_tex(value: str) -> str:
    value, _, power = value.partition("^")
    name, _, index = value.partition("_")
    index = index.strip("{}")
    head = name
    if name in ASCII_GREEK:
        head = ASCII_GREEK[name]
    elif name in GREEK:
        head = GREEK[name]
    elif name == "E":
        head = r"\mathbb{E}"
    elif re.fullmatch(r"[A-Za-z][0-9]+", name):          # y1_i: component i of y_1
        head, index = name[0], f"{name[1:]},{index}"
    elif len(name) > 1:
        head = rf"\mathrm{{{name}}}"
    index = ",".join(ASCII_GREEK.get(part, part) for part in index.split(","))
    return f"{head}_{{{index}}}" + (f"^{{{power}}}" if power else "")


def _tex(tokens) -> str:
    out = []
    for kind, value in tokens:
        if kind == "space":
            out.append(" ")
        elif kind == "indexed":
            out.append(_indexed_tex(value))
        elif kind == "word":
            out.append(_word_tex(value))
        elif kind == "num" and "e" in value:          # 1e-8 -> 10^{-8}
            mantissa, _, power = value.partition("e")
            power = str(int(power))
            out.append(f"10^{{{power}}}" if mantissa == "1" else rf"{mantissa}\times 10^{{{power}}}")
        elif kind == "bar":
            out.append(rf"\bar{{{value[0]}}}")
        elif kind == "greek":
            tex = GREEK.get(value[0], value[0])
            out.append(rf"\bar{{{tex}}}" if value.endswith("\u0304") else tex + " ")
        elif value in SUB:
            out.append(f"_{{{SUB[value]}}}")
        elif value in SUP:
            out.append(f"^{{{SUP[value]}}}")
        elif value in "{}":
            out.append("\\" + value)
        else:
            out.append(SYMBOLS.get(value, value))
    tex = re.sub(r" +", " ", "".join(out).replace("||", r"\,\|\,")).strip()
    tex = re.sub(r"\^\{([^{}]*)\}\^\{([^{}]*)\}", r"^{\1\2}", tex)  # ⁻¹: one superscript, -1
    return re.sub(r"\\sqrt\s*\(([^()]*)\)", r"\\sqrt{\1}", tex)


def _balanced(tokens) -> bool:
    depth = 0
    for _, v in tokens:
        depth += v in "([{"
        depth -= v in ")]}"
        if depth < 0:
            return False
    return depth == 0


def _trim(run):
    """Split unmatched brackets and trailing spaces off the ends of a run: (lead, run, tail)."""
    lead, tail = [], []
    while run and (run[0][0] == "space" or (run[0][1] in "([" and not _balanced(run))):
        lead.append(run.pop(0))
    while run and (run[-1][0] == "space" or (run[-1][1] in ")]" and not _balanced(run))
                   or run[-1][1] in ",."):
        tail.insert(0, run.pop())
    return lead, run, tail


def _runs(tokens):
    """Group tokens into (is_math, tokens) runs."""
    groups, current, math = [], [], False
    for index, (kind, value) in enumerate(tokens):
        is_math, _ = _kind(kind, value)
        if kind == "space" and math and index + 1 < len(tokens) and tokens[index + 1][1] == "(" \
                and _ends_a_term(current):
            groups.append((math, current))         # "d = 4 (k = 2)": a remark in brackets stands apart
            current, math = [(kind, value)], False
            continue
        if kind == "space" or (kind == "other" and value in ",;" and math and _continues(current, tokens, index)):
            current.append((kind, value))
            continue
        if is_math != math and current:
            groups.append((math, current))
            current = []
            math = is_math
        math = is_math if not current else math
        current.append((kind, value))
    if current:
        groups.append((math, current))
    return groups


def _continues(current, tokens, index) -> bool:
    """A comma inside a run of mathematics: inside brackets, or in a list of numbers (k = 1, 2, 3)."""
    if _open(current):
        return True
    after = [t for t in tokens[index + 1:index + 3] if t[0] != "space"]
    return bool(after) and after[0][0] == "num" and any(v == "=" for _, v in current)


def _ends_a_term(tokens) -> bool:
    """Whether the mathematics so far ends a term (so that a bracket after a space is a remark, not an
    argument or a factor): it does not end in an operator."""
    last = [v for k, v in tokens if k != "space"]
    return bool(last) and last[-1] not in "=+-*/<>≤≥≠≈−·×(,;:∘"


def _open(tokens) -> bool:
    depth = 0
    for _, v in tokens:
        depth += v in "(["
        depth -= v in ")]"
    return depth > 0


def _unmatched(run) -> int | None:
    """The index of a bracket in ``run`` that has no partner, if any."""
    stack = []
    for n, (_, v) in enumerate(run):
        if v in "([":
            stack.append(n)
        elif v in ")]":
            if not stack:
                return n
            stack.pop()
    return stack[0] if stack else None


def _math_pieces(run) -> list:
    """A run of mathematical tokens as pieces, split at brackets without a partner."""
    cut = _unmatched(run)
    if cut is not None:
        return _math_pieces(run[:cut]) + [run[cut][1]] + _math_pieces(run[cut + 1:])
    words = [v for k, v in run if k == "word"]
    letters = [w for w in words if len(w) == 1 and w not in "aAI"]
    symbolic = bool(letters) and all(len(w) == 1 and w not in "aAI" or w in FUNCTIONS for w in words)
    if not symbolic and not any(_kind(k, v)[1] for k, v in run):
        return ["".join(v for _, v in run)]
    lead, core, tail = _trim(list(run))
    middle = [TeX(_tex(core))] if core else []
    return ["".join(v for _, v in lead)] + middle + ["".join(v for _, v in tail)]


def typeset(text: str) -> tuple:
    """``text`` as prose pieces: plain strings and :class:`TeX` for each run of mathematics."""
    pieces: list = []
    for math, run in _runs(_tokens(text)):
        pieces += _math_pieces(run) if math else ["".join(v for _, v in run)]
    return tuple(_merge(p for p in pieces if p != ""))


def _merge(pieces):
    out = []
    for p in pieces:
        if out and isinstance(p, str) and isinstance(out[-1], str):
            out[-1] += p
        else:
            out.append(p)
    return out
