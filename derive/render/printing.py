"""SymPy printers tuned for the project's notation.

Indexed entries print as x_{1,i} (LaTeX) and x₁,ᵢ (pretty) rather than
SymPy's ``{x_{1}}_{i}`` and ``x_1[i]``; everything else is SymPy's own printer.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import pretty_symbol, vobj
from sympy.printing.str import StrPrinter

from ..notation import pretty_fraction, pretty_partial


def _split(name: str):
    head, _, sub = name.partition("_")
    return head, sub


_DOUBLE_INDEX = re.compile(r"^([A-Za-z]+)_(\d+)_(\d+)$")


def _whole_vector(expr):
    """(head, sub) = ('x', '2') when ``expr`` is an undefined function of every component x_2_1, ..., x_2_k
    of one vector (F_1(x_2_1, x_2_2) is F_1 of x_2); else None."""
    from sympy.core.function import AppliedUndef

    if not isinstance(expr, AppliedUndef) or len(expr.args) < 2:
        return None
    heads = {_DOUBLE_INDEX.match(a.name).group(1, 2) if isinstance(a, sp.Symbol) and _DOUBLE_INDEX.match(a.name)
             else None for a in expr.args}
    if len(heads) != 1 or None in heads:
        return None
    (whole,) = heads
    return whole


class DeriveLatexPrinter(LatexPrinter):
    def _print_Symbol(self, expr, style="plain"):
        match = _DOUBLE_INDEX.match(expr.name)
        if match:  # explicit components x_1_3 -> x_{1,3}
            return f"{match.group(1)}_{{{match.group(2)},{match.group(3)}}}"
        return super()._print_Symbol(expr, style=style)

    def _print_Indexed(self, expr):
        head, sub = _split(expr.base.name)
        idx = ",".join(self._print(i) for i in expr.indices)
        return f"{head}_{{{sub + ',' if sub else ''}{idx}}}"

    def _print_IndexedBase(self, expr):
        head, sub = _split(expr.name)
        return f"{head}_{{{sub}}}" if sub else head

    def _vector_call(self, expr):
        """F_1(x_2_1, ..., x_2_k) -> 'F_{1}', 'x_{2}' when the arguments are all of one vector."""
        whole = _whole_vector(expr)
        if whole is None:
            return None
        head, sub = whole
        return self._print(sp.Symbol(expr.func.__name__)), f"{head}_{{{sub}}}"

    def _print_Function(self, expr, exp=None):
        parts = self._vector_call(expr)
        if parts is not None:  # a function of a whole vector: G_1(x_2)
            out = rf"{parts[0]}\left({parts[1]}\right)"
            return rf"{out}^{{{exp}}}" if exp else out
        return super()._print_Function(expr, exp=exp)

    def _print_Determinant(self, expr):
        """det(A), never |A|: bars are kept for the absolute value."""
        return rf"\det\left({self._print(expr.arg)}\right)"

    def _print_Derivative(self, expr):
        parts = self._vector_call(expr.expr)
        if parts is not None and len(expr.variables) == 1:
            return rf"\frac{{\partial {parts[0]}}}{{\partial {self._print(expr.variables[0])}}}"
        # a derivative of a named quantity (a graph node, an indexed entry) is always partial here
        if len(expr.variables) == 1 and isinstance(expr.expr, (sp.Symbol, sp.Indexed)):
            return (rf"\frac{{\partial {self._print(expr.expr)}}}{{\partial {self._print(expr.variables[0])}}}")
        return super()._print_Derivative(expr)


_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

# Unicode subscripts and superscripts (a character without one makes the whole index 2-D)
_SUB_CHARS = dict(zip("0123456789+-=()aehijklmnoprstuvxβγρφχ,",
                      "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ,"))
_SUP_CHARS = dict(zip("0123456789+-=()in", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁱⁿ"))


def unicode_sub(text: str):
    """``text`` in Unicode subscript characters, or None where one of them has none."""
    if not text or any(ch not in _SUB_CHARS for ch in text):
        return None
    return "".join(_SUB_CHARS[ch] for ch in text)


def unicode_sup(text: str):
    """``text`` in Unicode superscript characters, or None where one of them has none."""
    if not text or any(ch not in _SUP_CHARS for ch in text):
        return None
    return "".join(_SUP_CHARS[ch] for ch in text)


# ---- a small reader of the LaTeX the project writes for its labels (\frac, \partial, \left( ... \right), _{...}) --

class LatexUnsupported(ValueError):
    """LaTeX the reader below does not know; the caller falls back to its plain name."""


_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\s+|.", re.S)
_LATEX_SYMBOLS = {
    "partial": "∂", "infty": "∞", "cdot": "⋅", "times": "×", "circ": "∘", "|": "‖", "Vert": "‖", "ldots": "…",
    "cdots": "⋯", "dots": "…", "to": "→", "rightarrow": "→", "leftarrow": "←", "le": "≤", "leq": "≤", "ge": "≥",
    "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "pm": "±", "mp": "∓", "nabla": "∇", "sum": "∑",
    "prod": "∏", "int": "∫", "sim": "~", "in": "∈", "propto": "∝", "ell": "ℓ", "mid": " | ", "vert": "|",
    "langle": "⟨", "rangle": "⟩", "{": "{", "}": "}", "_": "_", "%": "%", "&": "&", "#": "#", "$": "$",
    ",": " ", ";": " ", ":": " ", " ": " ", "!": "", "quad": "  ", "qquad": "    ", "varepsilon": "ε",
    "epsilon": "ε", "vartheta": "ϑ", "varphi": "φ", "lambda": "λ", "Lambda": "Λ",
}
_LATEX_OPERATORS = {"log", "ln", "exp", "det", "sin", "cos", "tan", "sinh", "cosh", "tanh", "max", "min", "arg",
                    "lim", "sup", "inf", "dim", "tr", "Var", "Cov", "diag"}
_LATEX_FONTS = {"mathbb", "mathcal", "mathrm", "mathbf", "mathit", "mathsf", "mathtt", "boldsymbol", "bm",
                "operatorname", "mathscr", "mathfrak"}
_LATEX_TEXT = {"text", "textrm", "textit", "textbf", "texttt", "mbox"}
_LATEX_ACCENTS = {"bar": "\u0304", "overline": "\u0304", "hat": "\u0302", "widehat": "\u0302", "tilde": "\u0303",
                  "widetilde": "\u0303", "dot": "\u0307", "ddot": "\u0308", "vec": "\u20d7"}
_LATEX_DELIMS = {"(": "(", ")": ")", "[": "[", "]": "]", "|": "|", ".": "", "\\|": "‖", "\\{": "{", "\\}": "}",
                 "\\langle": "⟨", "\\rangle": "⟩", "\\vert": "|", "\\Vert": "‖", "\\lvert": "|", "\\rvert": "|"}


def _latex_tree(src: str):
    """LaTeX as a list of items: ("t", text), ("frac", a, b), ("sub", a), ("sup", a), ("delim", l, a, r),
    ("accent", mark, a), ("sqrt", a).  Raises LatexUnsupported on anything else."""
    return _LatexReader(src).seq(None)


class _LatexReader:
    """The tokens of one LaTeX source and the position of the next one, read into items."""

    def __init__(self, src: str):
        from sympy.printing.pretty.pretty_symbology import greek_unicode

        self.greek = greek_unicode
        self.tokens = _TOKEN.findall(src)
        self.pos = 0

    def group(self, text_mode=False):
        """One argument: a braced group or a single token."""
        if self.pos >= len(self.tokens):
            raise LatexUnsupported("missing argument")
        tok = self.tokens[self.pos]
        if tok == "{":
            self.pos += 1
            items = self.seq("}", text_mode)
            self.pos += 1
            return items
        if tok.isspace():
            self.pos += 1
            return self.group(text_mode)
        return self.seq(None, text_mode, single=True)

    def seq(self, until, text_mode=False, single=False):
        """Items up to the token ``until`` (not read), the end, or after one item when ``single``."""
        items = []
        while self.pos < len(self.tokens):
            tok = self.tokens[self.pos]
            if tok == until or (until == "\\right" and tok == "\\right"):
                return items
            if tok == "}":
                raise LatexUnsupported("unbalanced }")
            self.pos += 1
            if text_mode:
                self._text_token(tok, items)
            else:
                self._math_token(tok, items)
            if single:
                return items
        if until is not None:
            raise LatexUnsupported(f"missing {until}")
        return items

    def _text_token(self, tok: str, items: list) -> None:
        """A token of text mode (\\text{...}): literal text, a braced group, or a symbol command."""
        if tok == "{":
            items += self.seq("}", True)
            self.pos += 1
        elif tok.startswith("\\") and tok[1:] in _LATEX_SYMBOLS:
            items.append(("x", _LATEX_SYMBOLS[tok[1:]]))
        elif tok.startswith("\\"):
            raise LatexUnsupported(tok)
        else:
            items.append(("x", tok))

    def _math_token(self, tok: str, items: list) -> None:
        """A token of maths: space (dropped), a group, a sub- or superscript, a command or a character."""
        if tok.isspace():
            pass
        elif tok == "{":
            items.append(("group", self.seq("}")))
            self.pos += 1
        elif tok in ("_", "^"):
            items.append(("sub" if tok == "_" else "sup", self.group()))
        elif tok.startswith("\\"):
            items.append(self._command(tok))
        else:
            items.append(("t", tok))

    def _command(self, tok: str):
        """The item of a backslash command, its arguments read."""
        name = tok[1:]
        if name in ("frac", "dfrac", "tfrac"):
            num = self.group()
            return ("frac", num, self.group())
        if name == "sqrt":
            return ("sqrt", self.group())
        if name in _LATEX_FONTS:
            return ("group", self.group())
        if name in _LATEX_TEXT:
            return ("group", self.group(text_mode=True))
        if name in _LATEX_ACCENTS:
            return ("accent", _LATEX_ACCENTS[name], self.group())
        if name == "left":
            left = self._delim()
            inner = self.seq("\\right")
            if self.pos >= len(self.tokens):
                raise LatexUnsupported("\\left without \\right")
            self.pos += 1
            return ("delim", left, inner, self._delim())
        if name in _LATEX_OPERATORS:
            return ("op", name)
        if name in _LATEX_SYMBOLS:
            return ("t", _LATEX_SYMBOLS[name])
        if name in self.greek:
            return ("t", self.greek[name])
        raise LatexUnsupported(tok)

    def _delim(self):
        """The delimiter after ``\\left`` or ``\\right``."""
        while self.pos < len(self.tokens) and self.tokens[self.pos].isspace():
            self.pos += 1
        if self.pos >= len(self.tokens) or self.tokens[self.pos] not in _LATEX_DELIMS:
            raise LatexUnsupported("unknown delimiter")
        self.pos += 1
        return _LATEX_DELIMS[self.tokens[self.pos - 1]]


_RELATIONS = set("=<>≤≥≠≈∈→←~∝:")
_BINARY = set("+-±∓")


def _spaced(items, top: bool):
    """Math spacing as LaTeX sets it: a relation or a binary operator between spaces, a space after a comma
    (not in a subscript or superscript, ``top`` False), literal text (``x`` items) as written."""
    out = []
    for it in items:
        if it[0] == "x":
            out.append(("t", it[1]))
        elif it[0] == "t" and top and it[1] in _RELATIONS:
            out.append(("t", f" {it[1]} "))
        elif it[0] == "t" and top and it[1] == ",":
            out.append(("t", ", "))
        elif it[0] == "t" and top and it[1] in _BINARY and out and not (
                out[-1][0] == "t" and (out[-1][1].strip() in _RELATIONS or out[-1][1].strip() in "([{,")):
            out.append(("t", f" {it[1]} "))
        else:
            out.append(it)
    return out


def _line(items, top: bool = True) -> str:
    """The items as one line of Unicode text: a/b for fractions, Unicode sub- and superscripts where they exist."""
    out = ""
    items = _spaced(items, top)
    for n, it in enumerate(items):
        kind = it[0]
        if kind == "t":
            out += it[1]
        elif kind == "op":
            out += it[1] + (" " if n + 1 < len(items) and items[n + 1][0] in ("t", "x", "group", "frac", "accent", "sqrt") else "")
        elif kind == "group":
            out += _line(it[1], top)
        elif kind == "frac":
            parts = []
            for part in (_line(it[1], top), _line(it[2], top)):
                parts.append(f"({part})" if re.search(r"[\s+\-−/]", part.strip()) else part)
            out += "/".join(parts)
        elif kind in ("sub", "sup"):
            inner = _line(it[1], top=False)
            small = unicode_sub(inner) if kind == "sub" else unicode_sup(inner)
            if small is None:
                small = ("_" if kind == "sub" else "^") + (inner if len(inner) == 1 else f"({inner})")
            out += small
        elif kind == "delim":
            out += it[1] + _line(it[2], top) + it[3]
        elif kind == "accent":
            inner = _line(it[2], top)
            out += inner + it[1] if len(inner) == 1 else f"{inner}{it[1]}"
        elif kind == "sqrt":
            inner = _line(it[1], top)
            out += "√" + (inner if len(inner) == 1 else f"({inner})")
    return out


def latex_to_text(src: str) -> str:
    """LaTeX maths as one line of Unicode text (∂y₁/∂x₁ for \\frac{\\partial y_1}{\\partial x_1})."""
    return _line(_latex_tree(src))


def plain_text(prose: str) -> str:
    """Prose for a reader: any LaTeX command in it ($\\mu$, \\frac{..}{..}) turned into Unicode text.

    Prose without a backslash command is returned unchanged; a command the reader does not know loses its
    backslash rather than being printed raw.
    """
    if not isinstance(prose, str) or not re.search(r"\\[A-Za-z]", prose):
        return prose

    def maths(src: str) -> str:
        try:
            return latex_to_text(src)
        except LatexUnsupported:
            return re.sub(r"\\([A-Za-z]+)", r"\1", src).replace("{", "").replace("}", "")

    parts = re.split(r"(\$[^$]*\$)", prose)
    out = []
    for part in parts:
        if part.startswith("$") and part.endswith("$") and len(part) > 1:
            out.append(maths(part[1:-1]))
        elif re.search(r"\\[A-Za-z]", part):
            out.append(re.sub(r"\\(?:[A-Za-z]+)(?:\{[^{}]*\})*(?:_\{[^{}]*\}|_.)?",
                              lambda m: maths(m.group(0)), part))
        else:
            out.append(part)
    return "".join(out)


def pretty_subscript(base, sub, unicode: bool = True):
    """``base`` with the subscript ``sub`` (both prettyForms): in Unicode subscript characters where ``sub``
    is one line of characters that have them, else written one line lower to the right of ``base``."""
    from sympy.printing.pretty.stringpict import prettyForm

    if unicode and sub.height() == 1 and base.height() == 1:
        small = unicode_sub(sub.picture[0])
        if small is not None:
            return prettyForm(base.picture[0] + small, binding=prettyForm.ATOM)
    # one line below a one-line base; beside the last line of a taller one (a bar |_{d=4})
    start = 1 if base.height() == 1 else base.height() - 1
    rows = max(base.height(), start + sub.height())
    lines = []
    for n in range(rows):
        left = base.picture[n] if n < base.height() else " " * base.width()
        right = sub.picture[n - start] if start <= n < start + sub.height() else " " * sub.width()
        lines.append(left + right)
    return prettyForm("\n".join(lines), baseline=base.baseline, binding=prettyForm.ATOM)


def pretty_superscript(base, sup, unicode: bool = True):
    from sympy.printing.pretty.stringpict import prettyForm, stringPict

    if unicode and sup.height() == 1 and base.height() == 1:
        small = unicode_sup(sup.picture[0])
        if small is not None:
            return prettyForm(base.picture[0] + small, binding=prettyForm.ATOM)
    bottom = stringPict(*base.right(" " * sup.width()))
    top = stringPict(*sup.left(" " * base.width()))
    pict, _ = top.below(bottom)
    return prettyForm(pict, baseline=top.height() + base.baseline, binding=prettyForm.ATOM)


def _hcat(forms):
    from sympy.printing.pretty.stringpict import prettyForm

    if not forms:
        return prettyForm("")
    out = forms[0]
    for f in forms[1:]:
        out = prettyForm(*out.right(f))
    return out


def _delimiter(form, left: str, right: str):
    from sympy.printing.pretty.stringpict import prettyForm, stringPict

    def side(ch):
        if not ch:
            return None
        if form.height() == 1:
            return stringPict(ch)
        if ch == "‖":
            bar = "\n".join(["│"] * form.height())
            return stringPict(*stringPict(bar).right(stringPict(bar)))
        if ch in "⟨⟩{}":
            ch = {"⟨": "(", "⟩": ")"}.get(ch, ch)
        return stringPict(vobj(ch, form.height()))

    out = form
    lp, rp = side(left), side(right)
    if lp is not None:
        lp.baseline = form.baseline
        out = stringPict(*lp.right(out))
    if rp is not None:
        rp.baseline = form.baseline
        out = stringPict(*out.right(rp))
    return prettyForm("\n".join(out.picture), baseline=form.baseline)


def _pretty_items(items, unicode: bool = True, top: bool = True):
    from sympy.printing.pretty.stringpict import prettyForm

    forms = []
    items = _spaced(items, top)
    for n, it in enumerate(items):
        kind = it[0]
        if kind == "t":
            forms.append(prettyForm(it[1]))
        elif kind == "op":
            space = n + 1 < len(items) and items[n + 1][0] in ("t", "x", "group", "frac", "accent", "sqrt")
            forms.append(prettyForm(it[1] + (" " if space else "")))
        elif kind == "group":
            forms.append(_pretty_items(it[1], unicode, top))
        elif kind == "frac":
            num, den = _pretty_items(it[1], unicode, top), _pretty_items(it[2], unicode, top)
            forms.append(pretty_fraction(num, den, unicode))
        elif kind in ("sub", "sup"):
            base = forms.pop() if forms else prettyForm("")
            attach = pretty_subscript if kind == "sub" else pretty_superscript
            forms.append(attach(base, _pretty_items(it[1], unicode, False), unicode))
        elif kind == "delim":
            forms.append(_delimiter(_pretty_items(it[2], unicode, top), it[1], it[3]))
        elif kind == "accent":
            inner = _pretty_items(it[2], unicode, top)
            if inner.height() != 1:
                raise LatexUnsupported("an accent over a 2-D form")
            forms.append(prettyForm(inner.picture[0] + it[1]))
        elif kind == "sqrt":
            inner = _pretty_items(it[1], unicode, top)
            if inner.height() != 1:
                raise LatexUnsupported("a root over a 2-D form")
            text = inner.picture[0]
            forms.append(prettyForm("√" + (text if len(text) == 1 else f"({text})")))
    return _hcat(forms)


def latex_to_pretty(src: str, unicode: bool = True):
    """LaTeX maths as a SymPy prettyForm (2-D fractions, subscripts); LatexUnsupported where it cannot."""
    return _pretty_items(_latex_tree(src), unicode)


class DerivePrettyPrinter(PrettyPrinter):
    """SymPy's pretty printer with the project's notation: indices x₁,ᵢ, ∂ fractions, det(·), E_q[·], KL(·‖·)."""

    def _print(self, expr, **kwargs):
        # the probability notation prints itself as plain text; here it gets 2-D sub- and subscripts
        from ..probability import KL, Density, Expect

        if isinstance(expr, Density):
            return self._print_Density(expr)
        if isinstance(expr, Expect):
            return self._print_Expect(expr)
        if isinstance(expr, KL):
            return self._print_KL(expr)
        return super()._print(expr, **kwargs)

    def _name_form(self, name: str):
        """A symbol name printed as SymPy prints it (greek letters, subscripts), LaTeX names read as LaTeX."""
        from sympy.printing.pretty.stringpict import prettyForm

        if "\\" in name:
            try:
                return latex_to_pretty(name, self._use_unicode)
            except LatexUnsupported:
                pass
        return prettyForm(pretty_symbol(name)) if self._use_unicode else prettyForm(name)

    def _print_Symbol(self, expr, bold_name=False):
        match = _DOUBLE_INDEX.match(expr.name)
        if match and self._use_unicode:  # explicit components x_1_3 -> x₁,₃
            from sympy.printing.pretty.stringpict import prettyForm

            head, a, b = match.groups()
            return prettyForm(f"{head}{a.translate(_SUBSCRIPT)},{b.translate(_SUBSCRIPT)}")
        if "\\" in expr.name:  # a name written in LaTeX (a matrix symbol for a block of the Jacobian)
            return self._name_form(expr.name)
        return super()._print_Symbol(expr, bold_name)

    def _print_MatrixSymbol(self, expr):
        if "\\" in expr.name:
            return self._name_form(expr.name)
        return super()._print_MatrixSymbol(expr)

    def _print_Label(self, expr):
        """A label prints its LaTeX read as maths (∂t/∂μ for \\frac{\\partial t}{\\partial \\mu}); its plain
        name where the LaTeX is beyond the reader here, or in ASCII."""
        from ..notation import _LABEL_LATEX
        from sympy.printing.pretty.stringpict import prettyForm

        src = _LABEL_LATEX.get(expr.name)
        if src and self._use_unicode:
            try:
                return latex_to_pretty(src, True)
            except LatexUnsupported:
                pass
        return prettyForm(expr.name)

    def _print_Determinant(self, expr):
        from sympy.printing.pretty.stringpict import prettyForm

        return prettyForm(*prettyForm(*self._print(expr.arg).parens()).left("det"))

    def _print_KroneckerDelta(self, expr):
        from sympy.printing.pretty.stringpict import prettyForm

        if self._use_unicode and all(isinstance(a, sp.Symbol) for a in expr.args):
            small = unicode_sub("".join(a.name for a in expr.args))
            if small is not None and all(len(a.name) == 1 for a in expr.args):
                return prettyForm("δ" + small)
        return super()._print_KroneckerDelta(expr)

    def _vector_call(self, expr):
        """G_1(x_2_1, ..., x_2_k) -> the prettyForms of G₁ and x₂ when the arguments are one whole vector."""
        whole = _whole_vector(expr)
        if whole is None:
            return None
        head, sub = whole
        return self._print(sp.Symbol(expr.func.__name__)), self._print(sp.Symbol(f"{head}_{sub}"))

    def _print_Function(self, expr, sort=False, func_name=None, left="(", right=")"):
        parts = self._vector_call(expr)
        if parts is not None:  # a function of a whole vector: G₁(x₂)
            from sympy.printing.pretty.stringpict import prettyForm

            return prettyForm(*prettyForm(*parts[1].parens()).left(parts[0]), binding=prettyForm.FUNC)
        return super()._print_Function(expr, sort=sort, func_name=func_name, left=left, right=right)

    def _print_Derivative(self, expr):
        """A first derivative of a named quantity, an entry or a function of a whole vector: ∂y₁,ᵢ/∂x₁,ⱼ."""
        if len(expr.variables) == 1:
            inner, var = expr.expr, expr.variables[0]
            parts = self._vector_call(inner)
            num = None
            if parts is not None:
                num = parts[0]
            elif isinstance(inner, (sp.Symbol, sp.Indexed)):
                num = self._print(inner)
            if num is not None and isinstance(var, (sp.Symbol, sp.Indexed)):
                return pretty_partial(num, self._print(var), self._use_unicode)
        return super()._print_Derivative(expr)

    def _print_Indexed(self, expr):
        from sympy.printing.pretty.stringpict import prettyForm

        head, sub = _split(expr.base.name)
        idx = ",".join(StrPrinter().doprint(i) for i in expr.indices)
        if self._use_unicode:  # x₁,ᵢ: the vector's number, then the component's index
            small = unicode_sub(f"{sub + ',' if sub else ''}{idx}")
            if small is not None:
                return prettyForm(pretty_symbol(head) + small)
        return self._print(sp.Symbol(f"{head}_{sub + ',' if sub else ''}{idx}"))

    def _print_IndexedBase(self, expr):
        return self._print(sp.Symbol(expr.name))

    # -- probability notation (derive.probability) --

    def _print_Density(self, expr):
        from sympy.printing.pretty.stringpict import prettyForm

        name, args, given = expr.args
        inner = self._print_seq(tuple(args), delimiter=", ")
        if len(given):
            inner = prettyForm(*inner.right(" | ", self._print_seq(tuple(given), delimiter=", ")))
        return prettyForm(*prettyForm(*inner.parens()).left(self._print(name)), binding=prettyForm.FUNC)

    def _print_Expect(self, expr):
        from sympy.printing.pretty.stringpict import prettyForm

        f, q = expr.args
        body = prettyForm(*self._print(f).parens("[", "]"))
        return prettyForm(*body.left(pretty_subscript(prettyForm("E"), self._print(q), self._use_unicode)),
                          binding=prettyForm.FUNC)

    def _print_KL(self, expr):
        from sympy.printing.pretty.stringpict import prettyForm

        a, b = expr.args
        bar = " ‖ " if self._use_unicode else " || "
        inner = prettyForm(*self._print(a).right(bar, self._print(b)))
        return prettyForm(*prettyForm(*inner.parens()).left("KL"), binding=prettyForm.FUNC)


class DeriveStrPrinter(StrPrinter):
    def _print_Indexed(self, expr):
        head, sub = _split(expr.base.name)
        idx = ",".join(self._print(i) for i in expr.indices)
        return f"{head}{sub}[{idx}]"

    def _print_Symbol(self, expr):
        if "\\" in expr.name:  # a name written in LaTeX: as Unicode text, never the raw LaTeX
            return plain_text(f"${expr.name}$")
        return super()._print_Symbol(expr)

    _print_MatrixSymbol = _print_Symbol

    def _print_Determinant(self, expr):
        return f"det({self._print(expr.arg)})"


_UNICODE_NAMES = {"epsilon": "ε"}


class LinearPrinter(DeriveStrPrinter):
    """Maths on one line in Unicode: Greek letters, x², √x, ⋅ for products (the text tree of a graph)."""

    def _print_Symbol(self, expr):
        if "\\" in expr.name:
            return super()._print_Symbol(expr)
        match = _DOUBLE_INDEX.match(expr.name)
        if match:
            head, a, b = match.groups()
            return f"{head}{a.translate(_SUBSCRIPT)},{b.translate(_SUBSCRIPT)}"
        return pretty_symbol(expr.name)

    def _print_Indexed(self, expr):
        head, sub = _split(expr.base.name)
        idx = ",".join(StrPrinter().doprint(i) for i in expr.indices)
        small = unicode_sub(f"{sub + ',' if sub else ''}{idx}")
        return pretty_symbol(head) + small if small is not None else super()._print_Indexed(expr)

    def _print_Exp1(self, expr):
        return "e"

    def _print_Pi(self, expr):
        return "π"

    def _print_Infinity(self, expr):
        return "∞"

    def _print_NegativeInfinity(self, expr):
        return "-∞"

    def _print_Pow(self, expr, rational=False):
        from sympy.printing.precedence import PRECEDENCE

        base, exp = expr.base, expr.exp
        if exp in (sp.S.Half, -sp.S.Half):
            inner = self._print(base)
            root = f"√{inner}" if base.is_Atom else f"√({inner})"
            return root if exp is sp.S.Half else f"1/{root}"
        if exp is sp.S.NegativeOne:
            return f"1/{self.parenthesize(base, PRECEDENCE['Pow'], strict=True)}"
        if base is sp.E:
            small = unicode_sup(self._print(exp))
            return f"e{small}" if small is not None else f"exp({self._print(exp)})"
        b = self.parenthesize(base, PRECEDENCE["Pow"], strict=True)
        small = unicode_sup(self._print(exp))
        if small is not None:
            return b + small
        return f"{b}^{self.parenthesize(exp, PRECEDENCE['Pow'], strict=True)}"

    def _print_Mul(self, expr):
        return super()._print_Mul(expr).replace("*", "⋅")


def linear(expr) -> str:
    """``expr`` on one line: Unicode maths (μ + σ⋅ε, z², log(σ)), or SymPy's ASCII text where the terminal
    cannot encode Unicode."""
    if ASCII:
        return text(expr)
    return LinearPrinter().doprint(expr)


def latex(expr) -> str:
    return DeriveLatexPrinter({"mat_delim": "("}).doprint(expr)


#: set when the terminal cannot encode Unicode: pretty-printing then uses ASCII art
ASCII = False


def _pretty_printer(width: int) -> DerivePrettyPrinter:
    return DerivePrettyPrinter({"use_unicode": not ASCII, "wrap_line": True, "num_columns": width})


def pretty(expr, width: int = 100) -> str:
    return _pretty_printer(width).doprint(expr)


def pretty_width(expr) -> int:
    """The width of ``expr`` pretty-printed without line wrapping."""
    return _pretty_printer(10 ** 6)._print(expr).width()


def pretty_beside(head, expr, width: int = 100):
    """``head`` (text, or an expression and " = ") and then ``expr`` (an expression, or text), side by side
    on ``expr``'s baseline: ``lhs = rhs`` with the ``=`` on the fraction bar or a matrix's middle row.  None
    where that is wider than ``width``."""
    from sympy.printing.pretty.stringpict import prettyForm

    printer = _pretty_printer(width)
    left = prettyForm(head) if isinstance(head, str) else prettyForm(*printer._print(head).right(" = "))
    right = prettyForm(expr) if isinstance(expr, str) else printer._print(expr)
    form = prettyForm(*left.right(right))
    if form.width() > width:
        return None
    return form.render(**printer._settings)


_ASCII_TEXT = {"✓": "ok", "✗": "x", "→": "->", "←": "<-", "∘": "o", "‖": "||", "·": "*", "−": "-", "≤": "<=",
               "≥": ">=", "≠": "!=", "≈": "~", "∂": "d", "∇": "grad ", "∑": "sum", "∏": "prod", "√": "sqrt",
               "×": "x", "…": "...", "⊥": "_|_", "–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"',
               "μ": "mu", "σ": "sigma", "λ": "lambda", "ε": "eps", "θ": "theta", "φ": "phi", "ν": "nu",
               "∞": "oo", "²": "^2", "ᵢ": "_i", "ⱼ": "_j", "₁": "1", "₂": "2", "─": "-", "│": "|", "█": "#",
               "⋅": "*", "³": "^3", "⁻": "^-", "ₖ": "_k", "ₗ": "_l", "ₙ": "_n", "₀": "0", "₃": "3", "₄": "4",
               "δ": "delta", "τ": "tau", "π": "pi", "ℯ": "e", "⟨": "<", "⟩": ">", "∈": " in "}


class AsciiWriter:
    """A text stream that writes ASCII only: common symbols spelled out, anything else as '?'."""

    encoding = "ascii"

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        out = "".join(_ASCII_TEXT.get(ch, ch) for ch in text)
        self._stream.write(out.encode("ascii", "replace").decode("ascii"))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()


def text(expr) -> str:
    return DeriveStrPrinter().doprint(expr)
