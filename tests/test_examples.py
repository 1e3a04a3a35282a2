"""The layer and flow files of ``examples/`` (the README's examples) derive, verify and pass their checks."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SLOW = {"planar-sigmoid.toml"}  # its lemma step is checked at d = 1, 2, 3 with a sigmoid: about 30 s


def _derive(*args):
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("name", [pytest.param(p.name, marks=pytest.mark.slow) if p.name in SLOW else p.name
                                  for p in sorted(EXAMPLES.glob("*.toml"))])
def test_every_example_verifies_and_passes_its_checks(name):
    kind = "flow" if "layers" in (EXAMPLES / name).read_text() else "layer"
    out = _derive("check", f"--{kind}", str(EXAMPLES / name), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["all_verified"] and data["checks"] and all(c["passed"] for c in data["checks"])
    assert any("log-determinant" in c["name"] for c in data["checks"])


def test_the_readme_shows_the_example_files_it_names():
    readme = (EXAMPLES.parent / "README.md").read_text()
    for name in ("planar-sigmoid.toml", "softplus-coupling.toml", "my-flow.toml"):
        assert f"examples/{name}" in readme and (EXAMPLES / name).is_file()
