"""Run a snippet in a fresh interpreter in which derive and sympy cannot be imported (what a user of the
exported modules has), with ``folder`` on the path; the snippet prints one JSON object, returned here."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

BLOCK = """
import importlib.abc, sys, json
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('derive', 'sympy'):
            raise ImportError('blocked ' + name)
sys.meta_path.insert(0, Block())
"""


def run_without_derive(folder, body: str) -> dict:
    script = BLOCK + f"sys.path.insert(0, {str(folder)!r})\n" + textwrap.dedent(body)
    res = subprocess.run([sys.executable, "-I", "-B", "-c", script], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)
