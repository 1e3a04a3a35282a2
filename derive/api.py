"""derive from Python: layers, flows, the sheet and KL pairs as objects that derive, display and export themselves.

Each call derives with SymPy from the definitions (the same code as the command line), runs the numeric
cross-checks, and returns a :class:`Derived`: the results as SymPy objects by name, the steps with their
verification, views for a notebook, the same exports as ``derive all`` and callables printed by the same code
printer as ``derive_numeric.py`` and ``derive_torch.py``.  Refusals are exceptions rooted at
:class:`derive.DeriveError`, never an exit of the process.

>>> import derive
>>> d = derive.layer("planar", dim=4)
>>> d.all_verified, d.all_checks_pass
(True, True)
>>> sorted(d.results)
['condition', 'logdet', 'volume']
"""
from __future__ import annotations

import os
from contextlib import contextmanager

from .errors import DeriveError, InputError, TimeLimitError, UnverifiedError

#: the seconds a call may take, as the command line's --time-limit (the derivation and its checks together)
DEFAULT_TIME_LIMIT = 300.0
MAX_DIM = 4096


class Derived:
    """Derivations with their numeric cross-checks, as one object.

    ``results`` maps short names (``logdet``, ``inverse``, ``condition``, ``volume``; ``closed_form`` …) to
    SymPy objects, also readable as attributes (``d.logdet``); :meth:`result` takes the full name of the JSON
    export as well (``"planar.logdet"``).  A yes/no answer (is the layer invertible? volume preserving?) is
    given by its condition, a SymPy relation; :attr:`verdicts` holds the whole answer (holds, reason).
    """

    def __init__(self, derivations: list, title: str, kind: str):
        self.derivations, self.title, self.kind = list(derivations), title, kind

    # -- results and verification --------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.derivations[0].name if len(self.derivations) == 1 else self.kind

    @property
    def results(self) -> dict:
        """Short name -> SymPy object, for every result (first derivation first, on a clash of short names)."""
        out = {}
        for der in self.derivations:
            for res in der.results:
                out.setdefault(res.name.split(".", 1)[-1], _sympy(res.value))
        return out

    @property
    def verdicts(self) -> dict:
        """Short name -> :class:`derive.model.Verdict` (``holds``: True, False or None; ``condition``; ``reason``)."""
        from .model import Verdict

        return {res.name.split(".", 1)[-1]: res.value for der in self.derivations for res in der.results
                if isinstance(res.value, Verdict)}

    def result(self, name: str):
        """The result ``name``: a full name (``"kl.closed_form"``) or a short one (``"closed_form"``)."""
        for der in self.derivations:
            for res in der.results:
                if name in (res.name, res.name.split(".", 1)[-1]):
                    return _sympy(res.value)
        raise KeyError(f"no result {name!r}; there are {', '.join(r.name for d in self.derivations for r in d.results)}")

    def __getattr__(self, name: str):
        if name.startswith("_") or name == "derivations":
            raise AttributeError(name)
        try:
            return self.result(name)
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no attribute or result {name!r}") from None

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.results))

    @property
    def steps(self) -> list:
        return [step for der in self.derivations for step in der.steps]

    @property
    def checks(self) -> list:
        return [c for der in self.derivations for c in der.checks]

    @property
    def all_verified(self) -> bool:
        """Every step checked independently (no step shown ``unverified``)."""
        return all(der.all_verified for der in self.derivations)

    @property
    def all_checks_pass(self) -> bool:
        """Every numeric cross-check against independent numpy passed."""
        return all(der.all_checks_pass for der in self.derivations)

    def __repr__(self) -> str:
        verified = sum(s.verified for s in self.steps)
        return (f"<derive {self.kind} {self.name!r}: {verified}/{len(self.steps)} steps verified, "
                f"{sum(c.passed for c in self.checks)}/{len(self.checks)} cross-checks pass>")

    # -- documents ----------------------------------------------------------------------------------------
    def document(self):
        """The document model every export renders (one renderer per format)."""
        from .answer import build, checks_table, verification_log
        from .document import Document

        if self.kind == "sheet":
            return build(self.derivations)
        if self.kind in ("layer", "flow"):
            from .catalogue_document import layer_page

            return Document(self.title, [], [layer_page(der, str(n)) for n, der in enumerate(self.derivations, 1)])
        return Document(self.title, [], [verification_log(self.derivations, "1"),
                                         checks_table(self.derivations, "2")])

    def to_latex(self) -> str:
        """A standalone LaTeX document (compile with pdflatex)."""
        from .render import latex

        return latex.render(self.document())

    def to_markdown(self) -> str:
        from .render import markdown

        return markdown.render(self.document())

    def to_html(self) -> str:
        """A standalone HTML page (formulas as MathML)."""
        from .render import html

        return html.render(self.document())

    def to_json(self) -> str:
        """The JSON of ``derive all`` for these derivations (``srepr`` of every expression rebuilds it)."""
        from .render.jsonout import derivation_dict, dumps

        return dumps({"derivations": [derivation_dict(der) for der in self.derivations]})

    def _repr_markdown_(self) -> str:
        from .render.markdown import render_derivation

        return "\n\n".join(render_derivation(der) for der in self.derivations)

    def _repr_html_(self) -> str:
        from .answer import verification_log
        from .render import html

        return "".join(html.section(verification_log([der], der.name), 0) for der in self.derivations)

    def _repr_latex_(self) -> str:
        from .render.printing import latex

        rows = [rf"\text{{{name.replace('_', ' ')}}} &= {latex(value)}" for name, value in self.results.items()
                if hasattr(value, "free_symbols")]
        return "$$\\begin{aligned}" + r"\\ ".join(rows) + r"\end{aligned}$$"

    # -- code ----------------------------------------------------------------------------------------------
    def source(self, backend: str = "numpy") -> str:
        """The module text ``derive all`` writes for these derivations (``derive_numeric.py`` or
        ``derive_torch.py``), printed by the same code printer."""
        if backend == "numpy":
            from .render.numpy_module import render_module
        elif backend == "torch":
            from .render.torch_module import render_module
        else:
            raise InputError(f"backend must be 'numpy' or 'torch', got {backend!r}")
        return render_module(self.derivations)

    def lambdify(self, backend: str = "numpy"):
        """The functions of :meth:`source` as a module object (``f = d.lambdify(); f.planar_logdet(x, u, w, b)``)."""
        import types

        text = self.source(backend)
        if backend == "torch":
            try:
                import torch  # noqa: F401
            except ImportError:
                raise InputError("backend 'torch' needs torch (pip install -e '.[torch]')") from None
        module = types.ModuleType(f"derive_{self.name.replace('-', '_')}_{backend}")
        exec(compile(text, f"<derive {self.name} {backend}>", "exec"), module.__dict__)  # code printed by derive
        return module


def _sympy(value):
    """A result's SymPy object: a verdict's condition, or the value itself."""
    return getattr(value, "condition", value) if type(value).__name__ == "Verdict" else value


@contextmanager
def _limits(seconds, what: str):
    """One time budget for a call; a time-out and the internal refusals become :class:`DeriveError`\\ s."""
    from .verify import DerivationTimeout, time_limit

    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 < seconds <= 86400:
        raise InputError(f"time_limit must be a number of seconds between 0 and 86400, got {seconds!r}")
    try:
        with time_limit(float(seconds), what) as mine:
            yield
    except DerivationTimeout as exc:
        if exc.token is not mine:
            raise
        raise TimeLimitError(f"{what} ran out of time after {seconds:g} s") from None


def _dim(dim, even: bool = False) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= MAX_DIM:
        raise InputError(f"dim must be a whole number from 1 to {MAX_DIM}, got {dim!r}")
    if even and dim % 2:
        raise InputError(f"dim must be even for a layer on halves (x1, x2), got {dim}")
    return dim


def _finish(derived: Derived, strict: bool) -> Derived:
    if strict:
        bad = [s for s in derived.steps if not s.verified]
        if bad:
            raise UnverifiedError(f"{derived.name}: {len(bad)} step(s) not verified independently, the first: "
                                  f"{bad[0].justification}")
        failed = [c for c in derived.checks if not c.passed]
        if failed:
            raise UnverifiedError(f"{derived.name}: the cross-check {failed[0].name!r} failed "
                                  f"(residual {failed[0].residual:.3g} > {failed[0].tolerance:g})")
    return derived


def _checked(der, check) -> object:
    """A copy of the (possibly shared) derivation with its cross-checks."""
    import copy

    der = copy.copy(der)
    der.checks = check(der)
    return der


def _catalogue_layer(name: str, dim: int):
    from . import flows
    from .registry import Options, _layer_check

    return _checked(flows.derive(name), lambda der: _layer_check(der, Options(dim=dim)))


def layer(spec, inputs=None, *, dim: int | None = None, time_limit: float = DEFAULT_TIME_LIMIT,
          strict: bool = False, **definition) -> Derived:
    """A flow layer's derivation: inverse, log-determinant, invertibility condition, volume, each step verified.

    ``spec`` is a catalogue name (``derive.layer("planar", dim=4)``; ``dim`` is the d of the numeric
    cross-checks, 16 by default) or your own layer as SymPy expressions (see :mod:`derive.own`)::

        x, u, w, b = own.vector("x"), own.vector("u"), own.vector("w"), own.scalar("b")
        d = derive.layer({"y": x + u * sympy.tanh(own.dot(w, x) + b)}, inputs=x, name="my-planar")

    ``strict=True`` raises :class:`UnverifiedError` where a step is unverified or a cross-check fails.
    """
    from . import flows

    with _limits(time_limit, "derive.layer"):
        if isinstance(spec, str):
            if inputs is not None or definition:
                raise InputError("a catalogue layer takes only dim, time_limit and strict")
            if spec not in flows.names():
                raise InputError(f"unknown layer {spec!r}; the catalogue has {', '.join(flows.names())}")
            der = _catalogue_layer(spec, _dim(16 if dim is None else dim, even=True))
            return _finish(Derived([der], der.title, "flow" if "flow" in der.data else "layer"), strict)
        unknown = sorted(set(definition) - {"name", "title"})
        if unknown:
            raise InputError(f"derive.layer: unknown argument {unknown[0]!r}; your own layer takes name and title")
        return _finish(_own_layer(spec, inputs, dim=dim, **definition), strict)


def _own_layer(equations, inputs, *, name: str = "mine", dim: int | None = None, title: str | None = None):
    """A layer given as SymPy expressions (:mod:`derive.own`): read as its layer file would be, then derived."""
    from .flows.driver import derive_layer
    from .flows.user import layer_from_table
    from .flows.usercheck import cross_checks
    from .own import table

    spec = table(equations, inputs, name=name, dim=dim)
    if title is not None:
        spec["title"] = title
    item, file_dim = layer_from_table(spec, "derive.layer")
    der = _checked(derive_layer(item, file_dim), lambda d: cross_checks(d, dim=file_dim, seed=0))
    return Derived([der], der.title, "layer")


def flow(layers, *, name: str = "my-flow", dim: int | None = None, time_limit: float = DEFAULT_TIME_LIMIT,
         strict: bool = False) -> Derived:
    """A composition of layers, applied in order: catalogue names, paths of layer files (``.toml``) or
    :func:`layer` results of your own.  Its log-determinant is derived as the sum over the stages."""
    from .flows.compose import Flow, derive_flow
    from .flows.driver import derive_layer
    from .flows.user import _distinct, _own_names

    with _limits(time_limit, "derive.flow"):
        found = [_flow_member(item, pos) for pos, item in enumerate(_listed(layers), 1)]
        seen = {}
        for la in found:
            seen[la.name] = seen.get(la.name, 0) + 1
        found = _own_names(found, seen)
        if not isinstance(name, str) or not name or len(name) > 32:
            raise InputError(f"name must be a short text, got {name!r}")
        _distinct([name] + [la.name for la in found], "derive.flow")
        halves = any(len(la.inputs) > 1 for la in found)
        item = Flow(name, f"Your flow {name}", " → ".join(la.name for la in found), tuple(found))
        der = derive_flow(item, lambda la: derive_layer(la, None))
        from .flows.usercheck import cross_checks

        checked = _checked(der, lambda d: cross_checks(d, dim=_dim(dim or (8 if halves else 4), even=halves), seed=0))
        return _finish(Derived([checked], checked.title, "flow"), strict)


def _listed(layers) -> list:
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise InputError("layers must be a list of catalogue names, .toml files or derive.layer(...) results")
    items = list(layers)
    if not 1 <= len(items) <= 32:
        raise InputError(f"a flow has 1 to 32 layers, got {len(items)}")
    return items


def _flow_member(item, pos: int):
    from .flows.catalogue import LAYERS
    from .flows.user import read_layer

    if isinstance(item, Derived):
        layer_def = item.derivations[0].data.get("layer")
        if layer_def is None:
            raise InputError(f"layer {pos}: {item.name!r} is a flow, not a layer")
        return layer_def
    if isinstance(item, str) and item in LAYERS:
        return LAYERS[item]
    if isinstance(item, (str, os.PathLike)) and str(item).endswith(".toml"):
        return read_layer(str(item), f"derive.flow: layer {pos}")[0]
    raise InputError(f"layer {pos}: {item!r} is neither a catalogue layer, a .toml file nor a derive.layer result")


def kl(p: str, q: str, *, time_limit: float = DEFAULT_TIME_LIMIT, strict: bool = False) -> Derived:
    """KL(p ‖ q) for a pair of the catalogue, by family name: ``derive.kl("gamma", "gamma")``.

    The parameterisation of each family is stated in the derivation's summary and in the description of its
    results (Gamma: shape and rate; Normal: mean and standard deviation; ...).  The results are
    ``kl.<p>.<q>`` (the closed form, +∞ where p puts mass where q has none), ``kl.<p>.<q>.finite_when`` and
    ``kl.<p>.<q>.stable`` (the form the exported function ``kl_<p>_<q>`` computes).  The sheet's
    KL(N(μ, σ²) ‖ N(0, 1)) of 2.2-2.3 is part of :func:`sheet`.

    >>> d = kl("exponential", "exponential")
    >>> d.all_verified, d.result("kl.exponential.exponential")
    (True, log(lambda_p) - log(lambda_q) - 1 + lambda_q/lambda_p)
    """
    from .divergence.catalogue import PAIRS, find

    pair = find(p, q) if isinstance(p, str) and isinstance(q, str) else None
    if pair is None:
        raise InputError(f"no KL pair ({p!r}, {q!r}) in the catalogue; it has "
                         + ", ".join(f"({x.p!r}, {x.q!r})" for x in PAIRS))
    from .registry import Options, kl_pairs

    entry, opts = kl_pairs()[pair.name], Options()
    with _limits(time_limit, "derive.kl"):
        der = _checked(entry.build(opts), lambda d: entry.cross_checks(d, opts))
        return _finish(Derived([der], der.title, pair.name), strict)


def estimators(*, time_limit: float = DEFAULT_TIME_LIMIT, strict: bool = False) -> Derived:
    """The three gradient estimators of KL(q ‖ p) compared (pathwise, score function with and without the optimal
    constant baseline, path derivative) for q = N(μ, σ²) against N(0, 1) and for q = Exponential(λ) against
    Exponential(1): per-sample gradients, means and variances as formulas (``reparam.variance``,
    ``score.variance``, ``score.optimal_baseline``, ``score_baseline.variance``, ``path.variance``, each under
    ``estimators.gaussian.`` or ``estimators.exponential.``), checked by Monte Carlo."""
    from .registry import EXTRAS, Options

    entry, opts = EXTRAS["estimators"], Options()
    with _limits(time_limit, "derive.estimators"):
        der = _checked(entry.build(opts), lambda d: entry.cross_checks(d, opts))
        return _finish(Derived([der], der.title, "estimators"), strict)


def _sheet_part(name: str) -> Derived:
    from .registry import ENTRIES, Options

    entry, opts = ENTRIES[name], Options()
    der = _checked(entry.build(opts), lambda d: entry.cross_checks(d, opts))
    return Derived([der], der.title, name)


def sheet(*, time_limit: float = DEFAULT_TIME_LIMIT, strict: bool = False) -> Derived:
    """The homework sheet's derivations 1.1-2.4 (coupling block, free energy, KL, reparameterisation gradient)
    as one object; its exports are the writeup's."""
    from .registry import ENTRIES

    with _limits(time_limit, "derive.sheet"):
        ders = [der for name in ENTRIES for der in _sheet_part(name).derivations]
        return _finish(Derived(ders, "Reversible networks and variational autoencoders", "sheet"), strict)


__all__ = ["Derived", "DeriveError", "InputError", "TimeLimitError", "UnverifiedError", "estimators", "flow", "kl",
           "layer", "sheet"]
