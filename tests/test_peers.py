"""The mapping of the benchmark's peers (``benchmarks/peers.py``, ``benchmarks/peer_layers.py``): each flow
library, set as documented, computes the same function as the exported code, and a wrong convention is seen.

Skipped where torch or a library is not installed (``pip install torch==2.13.0 -e '.[peers]'``).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name):
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


peers = _load("peers")
CASES = {case.name: case for case in peers.cases()}
PAIRS = [(name, lib) for name, case in CASES.items() for lib in case.peers]


@pytest.fixture(scope="module")
def mods():
    """The committed exported modules, which CI holds current with ``derive all --check``."""
    return {"torch": peers.load(peers.OUTPUTS / "derive_torch.py"),
            "numpy": peers.load(peers.OUTPUTS / "derive_numeric.py")}


def _available(lib):
    module = {"pyro": "pyro"}.get(lib, lib)
    try:
        __import__(module)
    except ImportError:
        pytest.skip(f"{lib} is not installed (pip install -e '.[peers]')")


def _agreement(case, mods, lib, d=8, n=300, dtype="float64"):
    rng = np.random.default_rng(3)
    p = case.params(d, rng)
    reference = peers.implementations(case, mods, p, "float64")["derive torch"]
    impls = peers.implementations(case, mods, p, dtype)
    x = rng.normal(size=(n, d))
    gaps = {}
    for direction, index in (("forward", 0), ("inverse", 1)):
        ours, theirs = reference[index], impls[lib][index]
        if ours is None or theirs is None:
            continue
        if direction == "inverse":
            x = peers._call("derive torch", reference[0], x, None)[0]
        ref = peers._call("derive torch", ours, x, None)
        assert np.std(ref[1]) > 1e-3 or abs(np.mean(ref[1])) > 1e-2, "a trivial log-det tests nothing"
        gaps[direction] = peers.agreement([(lib, theirs, impls[lib][2])], x.astype(dtype), ref)[lib]
    return gaps


@pytest.mark.parametrize("name,lib", PAIRS)
def test_peer_computes_the_same_function(mods, name, lib):
    _available(lib)
    gaps = _agreement(CASES[name], mods, lib)
    assert gaps, "nothing compared"
    for direction, gap in gaps.items():
        assert gap["output"] < 1e-12 and gap["logdet"] < 1e-12, (direction, gap)


@pytest.mark.parametrize("name,lib", [("coupling", "nflows"), ("coupling", "zuko"), ("coupling", "pyro")])
def test_peer_float32_is_close_to_float64(mods, name, lib):
    _available(lib)
    for direction, gap in _agreement(CASES[name], mods, lib, dtype="float32").items():
        assert gap["output"] < 1e-5 and gap["logdet"] < 1e-5, (direction, gap)


def test_a_peer_scale_convention_ignored_is_caught(mods, monkeypatch):
    """nflows given G as its raw scale (its sigmoid(u + 2) + 1e-3 not inverted) computes another function."""
    _available("nflows")
    real = peers._Joint

    class Raw(real):
        def __init__(self, p, dtype, raw):
            super().__init__(p, dtype, lambda F, G: torch.cat([F, G], dim=-1))

    monkeypatch.setattr(peers, "_Joint", Raw)
    gaps = _agreement(CASES["coupling"], mods, "nflows")
    assert gaps["forward"]["logdet"] > 1e-2 and gaps["forward"]["output"] > 1e-3


def test_a_swapped_half_is_caught(mods, monkeypatch):
    """Pyro given x in derive's layout (not the halves swapped) conditions on x1: another function."""
    _available("pyro")
    monkeypatch.setattr(peers.Coupling, "layout", {})
    gaps = _agreement(CASES["coupling"], mods, "pyro")
    assert gaps["forward"]["output"] > 1e-2
