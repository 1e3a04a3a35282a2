"""The shape of the code in derive/: no import cycles, no function longer than a screen, a docstring per module.

Read from the source with ``ast``; nothing is imported.  Every import counts, at module level and inside
functions alike (a lazy import still makes the two modules depend on each other).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "derive"
MAX_FUNCTION_LINES = 60


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """{dotted module name: file} for every module of the package (a package is its ``__init__``)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imported(node: ast.AST, module: str, is_package: bool, modules) -> set[str]:
    """The modules of the package that one import statement names."""
    root = module.split(".")[0]
    found = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            name = alias.name
            while name and name not in modules:  # import derive.render.printing as ...: the longest known prefix
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
        return found
    if node.level:  # relative: from . import x, from ..model import Derivation
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target != root and not target.startswith(root + "."):
        return found
    for alias in node.names:  # from .render import html: the submodule html, where it is one
        sub = f"{target}.{alias.name}"
        found.add(sub if sub in modules else target)
    return {name for name in found if name in modules}


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """{module: the package's modules it imports}, from every import statement anywhere in its source."""
    modules = module_files(package)
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= _imported(node, module, path.name == "__init__.py", modules)
        edges.discard(module)
        graph[module] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph as [a, b, ..., a], or None; depth first, in sorted order."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def long_functions(package: Path = PACKAGE, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``file:line name (n lines)`` for every function or method longer than ``limit`` lines."""
    out = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    out.append(f"{path.relative_to(package.parent)}:{node.lineno} {node.name} ({length} lines)")
    return out


def missing_docstrings(package: Path = PACKAGE) -> list[str]:
    """The modules whose file does not open with a docstring."""
    return [name for name, path in module_files(package).items()
            if not (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").strip()]


# ---- the package ----------------------------------------------------------------------------------------

def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_function_is_longer_than_a_screen():
    assert long_functions() == [], f"functions over {MAX_FUNCTION_LINES} lines: " + "; ".join(long_functions())


def test_every_module_has_a_docstring():
    assert missing_docstrings() == [], f"modules without a docstring: {', '.join(missing_docstrings())}"


def test_the_model_knows_no_renderer_and_the_numeric_checks_no_derivation():
    graph = import_graph()
    assert not {m for m in graph["derive.model"] if m.startswith("derive.render")}, graph["derive.model"]
    derivations = {"derive.coupling", "derive.volume", "derive.freeenergy", "derive.kl_gaussian", "derive.reparam",
                   "derive.custom"}
    for module, edges in graph.items():
        if module.startswith("derive.numeric"):
            assert not edges & derivations, (module, sorted(edges & derivations))


def test_a_derivation_still_shows_itself_in_a_notebook():
    from derive.model import Derivation

    assert callable(getattr(Derivation, "_repr_markdown_", None))


# ---- the finder finds what it is there to find ----------------------------------------------------------

@pytest.mark.parametrize("graph,cycle", [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b"}, "b": {"b"}}, ["b", "b"]),
    ({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}, None),   # a diamond is not a cycle
    ({"a": {"b"}, "b": set(), "c": {"d"}, "d": {"c"}}, ["c", "d", "c"]),
    ({}, None),
])
def test_the_cycle_finder_on_small_graphs(graph, cycle):
    assert find_cycle(graph) == cycle


def _package(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "derive"
    for name, text in files.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text, encoding="utf-8")
    return pkg


def test_a_lazy_cycle_through_a_subpackage_is_found(tmp_path):
    # the shape the coupling block once had: a module-level import one way, a lazy one back, and a
    # third module reaching in through ``from .. import``
    pkg = _package(tmp_path, {
        "__init__.py": '"""p"""\n',
        "coupling.py": '"""c"""\nfrom .model import Step\n\ndef f():\n    from .volume import part\n',
        "volume.py": '"""v"""\nfrom .coupling import SYMBOLS\n',
        "model.py": '"""m"""\n',
        "numeric/__init__.py": '"""n"""\n',
        "numeric/coupling.py": '"""nc"""\nfrom .. import coupling\nfrom . import reference\n',
        "numeric/reference.py": '"""r"""\nimport numpy\n',
    })
    graph = import_graph(pkg)
    assert graph["derive.coupling"] == {"derive.model", "derive.volume"}
    assert graph["derive.numeric.coupling"] == {"derive.coupling", "derive.numeric.reference"}
    assert graph["derive.numeric.reference"] == set()
    assert find_cycle(graph) == ["derive.coupling", "derive.volume", "derive.coupling"]
    (pkg / "coupling.py").write_text('"""c"""\nfrom .model import Step\n', encoding="utf-8")
    assert find_cycle(import_graph(pkg)) is None


def test_absolute_imports_and_a_package_importing_its_module_are_edges(tmp_path):
    pkg = _package(tmp_path, {
        "__init__.py": '"""p"""\nfrom . import render\n',
        "model.py": '"""m"""\nclass Derivation:\n    def show(self):\n        import derive.render.markdown\n',
        "render/__init__.py": '"""r"""\nfrom .markdown import render\n',
        "render/markdown.py": '"""md"""\nfrom derive.model import Derivation\nfrom ..render import shared\n',
        "render/shared.py": '"""s"""\n',
    })
    graph = import_graph(pkg)
    assert graph["derive"] == {"derive.render"}
    assert graph["derive.render"] == {"derive.render.markdown"}
    assert graph["derive.render.markdown"] == {"derive.model", "derive.render.shared"}
    cycle = find_cycle(graph)
    assert cycle[0] == cycle[-1] and sorted(cycle[1:]) == ["derive.model", "derive.render.markdown"]


def test_a_long_function_and_a_module_without_docstring_are_named(tmp_path):
    body = "\n".join(f"    x{n} = {n}" for n in range(MAX_FUNCTION_LINES - 1))
    pkg = _package(tmp_path, {"__init__.py": '"""p"""\n', "blank.py": '\n"""  """\n',
                              "long.py": f"def fits():\n{body}\n\n\ndef over():\n{body}\n    return 0\n"})
    assert long_functions(pkg) == [f"derive/long.py:{MAX_FUNCTION_LINES + 3} over ({MAX_FUNCTION_LINES + 1} lines)"]
    assert missing_docstrings(pkg) == ["derive.blank", "derive.long"]
