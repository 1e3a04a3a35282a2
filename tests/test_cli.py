"""The command line: exit codes, one-line errors, JSON."""
import json
import subprocess
import sys

import pytest


def run(*args):
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True, timeout=600)


def test_list_names_the_derivations():
    out = run("list")
    assert out.returncode == 0
    for name in ("coupling", "vfe", "kl", "reparam"):
        assert name in out.stdout


def test_show_and_check_coupling_pass():
    show = run("show", "coupling", "--dim", "4")
    assert show.returncode == 0, show.stderr
    assert "UNVERIFIED" not in show.stdout and "✓ verified" in show.stdout
    check = run("check", "coupling", "--json")
    assert check.returncode == 0
    data = json.loads(check.stdout)
    assert data["checks"] and all(c["passed"] for c in data["checks"])


def test_show_json_schema():
    out = run("show", "coupling", "--json", "--variant", "nice")
    data = json.loads(out.stdout)
    assert data["all_verified"] is True
    names = [r["name"] for r in data["results"]]
    assert {"coupling.inverse", "coupling.jacobian", "coupling.det", "coupling.logdet", "coupling.volume"} <= set(names)
    for sec in data["sections"]:
        for step in sec["steps"]:
            assert step["verification"]["method"] in ("symbolic", "exact", "numeric")
            assert step["rhs"]["srepr"] and step["rhs"]["latex"]


@pytest.mark.parametrize("dim", ["3", "0", "-4", "nan", "inf", "1e3", "99999999", "", "4.0", "four"])
def test_bad_dim_is_one_line_exit_2(dim):
    out = run("show", "coupling", "--dim", dim)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize("args", [("show", "nosuch"), ("show", "coupling", "--variant", "x"), ("frobnicate",),
                                  ("show",), ("check", "coupling", "--bogus")])
def test_bad_arguments_are_one_line_exit_2(args):
    out = run(*args)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


@pytest.mark.parametrize("name", ["vfe", "kl", "reparam"])
def test_show_and_check_variational(name):
    show = run("show", name)
    assert show.returncode == 0, show.stderr
    assert "UNVERIFIED" not in show.stdout
    check = run("check", name, "--json")
    assert check.returncode == 0
    assert all(c["passed"] for c in json.loads(check.stdout)["checks"])


@pytest.mark.parametrize("name", ["coupling", "vfe", "kl", "reparam"])
def test_every_verified_step_names_its_independent_check(name):
    """`derive show NAME --json`: every ✓ says what was computed, and 'proof' only without a scope."""
    out = run("show", name, "--json")
    assert out.returncode == 0, out.stderr
    for sec in json.loads(out.stdout)["sections"]:
        for step in sec["steps"]:
            v = step["verification"]
            assert step["verified"] and v["passed"]
            assert v["detail"] != "simplify(lhs - rhs) = 0" and len(v["detail"]) > 20, v
            if v["scope"] is None:
                assert v["label"] == "proof" and v["method"] in ("symbolic", "exact")
            else:
                assert v["label"] == f"checked at {v['scope']}"
