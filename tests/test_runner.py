"""derive all's worker processes, its cache of verified derivations and its profile.

The whole-command tests run the sheet's four derivations (--no-catalogue): serially and in two worker
processes, without and with a cache folder of their own, and compare every byte written and printed.
"""
import hashlib
import os
import signal
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sympy as sp

from derive import cache as cache_mod
from derive import serial
from derive.registry import Entry, Options
from derive.runner import Run, WorkerFailed

SHEET = ("all", "--no-catalogue", "--no-pdf")


def derive(*args, cache_dir=None, timeout=600):
    env = dict(os.environ)
    env.pop("DERIVE_DEBUG", None)
    if cache_dir is not None:
        env.update(DERIVE_NO_CACHE="", DERIVE_CACHE_DIR=str(cache_dir))
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def files(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The sheet derived serially without a cache, in two workers without a cache, then twice with one."""
    base = tmp_path_factory.mktemp("runs")
    cache_dir = base / "cache"
    out = {}
    for name, args, cdir in [("serial", ("--jobs", "1", "--no-cache"), base / "untouched"),
                             ("parallel", ("--jobs", "2", "--no-cache"), None),
                             ("cold", ("--jobs", "2", "--profile"), cache_dir),
                             ("warm", ("--jobs", "2", "--profile"), cache_dir)]:
        res = derive(*SHEET, "--out", str(base / name), *args, cache_dir=cdir)
        assert res.returncode == 0, res.stderr
        printed = "".join(ln for ln in res.stdout.splitlines(True) if not ln.startswith("wrote "))
        out[name] = (files(base / name), printed)
    return out, cache_dir


def test_parallel_and_serial_runs_write_and_print_the_same_bytes(runs):
    out, _ = runs
    assert out["parallel"][0] == out["serial"][0]
    assert out["parallel"][1] == out["serial"][1]  # the derivations printed in the terminal
    assert "1.1" in out["serial"][1] and "KL" in out["serial"][1]


def test_a_run_from_the_cache_writes_and_prints_what_a_run_without_it_does(runs):
    out, cache_dir = runs
    for name in ("cold", "warm"):
        assert out[name][0] == out["serial"][0], name
        printed = out[name][1]
        assert printed.split("Where the time went")[0] == out["serial"][1], name
    assert len(list((cache_dir / "derivations").glob("*.bin"))) == 4


def test_the_profile_names_every_derivation_and_where_it_came_from(runs):
    out, _ = runs
    cold = out["cold"][1].split("Where the time went")[1]
    warm = out["warm"][1].split("Where the time went")[1]
    for name in ("coupling", "vfe", "kl", "reparam"):
        assert name in cold and name in warm
    assert cold.count("worker") == 4 and "cache" not in cold
    assert warm.count("│ cache") == 4 and "worker" not in warm and "4 read from the cache" in warm
    assert "deriving, checking" in warm and "printing, rendering" in warm


@pytest.mark.slow
def test_check_never_reads_the_cache(runs, tmp_path):
    """A cache entry replaced by a wrong derivation (with a valid checksum) is used by a plain run, so the
    planted entry is live; --check and --no-cache still recompute and see the right outputs."""
    out, cache_dir = runs
    poisoned = tmp_path / "cache"
    shutil.copytree(cache_dir, poisoned)
    entry = _entry_of(poisoned, "kl")
    hit = cache_mod.Cache(poisoned).get(entry.stem)
    der = hit.derivation
    import dataclasses

    der.results[0] = dataclasses.replace(der.results[0], value=der.results[0].value + 1)
    cache_mod.Cache(poisoned).put(entry.stem, cache_mod.record(serial.dumps(der), 1.0, 1.0))
    good = tmp_path / "good"
    good.mkdir()
    for name, data in out["serial"][0].items():
        (good / name).write_bytes(data)
    res = derive(*SHEET, "--out", str(tmp_path / "from-cache"), "--quiet", cache_dir=poisoned)
    assert res.returncode == 0, res.stderr
    assert files(tmp_path / "from-cache") != out["serial"][0]  # the plain run trusted the planted entry
    res = derive("all", "--no-catalogue", "--no-pdf", "--check", "--quiet", "--out", str(good), cache_dir=poisoned)
    assert res.returncode == 0, res.stderr + res.stdout


def _entry_of(cache_dir: Path, name: str) -> Path:
    for path in (cache_dir / "derivations").glob("*.bin"):
        hit = cache_mod.Cache(cache_dir).get(path.stem)
        if hit is not None and hit.derivation.name == name:
            return path
    raise AssertionError(f"no entry for {name}")


# -- the cache, entry by entry ------------------------------------------------------------------------------------

class Counter:
    def __init__(self):
        self.calls = 0


def _entry(name: str, counter: Counter, value=1):
    from derive.model import Derivation, Result

    def build(opts):
        counter.calls += 1
        d = Derivation(name, name, "a derivation for the tests")
        d.results.append(Result(f"{name}.value", sp.Symbol("a"), sp.Mul(sp.Rational(1, 2), sp.Symbol("b") + value,
                                                                        evaluate=False), "a value"))
        return d
    return Entry(name, "test", name, build, lambda der, opts: [])


def test_an_entry_is_read_back_instead_of_derived_again(tmp_path):
    c, n = cache_mod.Cache(tmp_path), Counter()
    first = Run([_entry("one", n)], Options(), cache=c).go()
    again = Run([_entry("one", n)], Options(), cache=c).go()
    assert n.calls == 1 and again.timings[0].source == "cache"
    assert sp.srepr(again.derivations[0].results[0].value) == sp.srepr(first.derivations[0].results[0].value)


def test_a_derivation_with_an_unverified_step_or_failed_check_is_not_kept(tmp_path):
    from derive.model import CrossCheck, Step, Verification

    c, n = cache_mod.Cache(tmp_path), Counter()
    plain = _entry("one", n)

    def unverified(opts):
        der = plain.build(opts)
        der.section("s", "1").steps.append(Step(sp.Symbol("a"), sp.Symbol("b"), "a step",
                                                Verification("unverified", False, "ran out of time")))
        return der
    failing = Entry("two", "test", "two", plain.build,
                    lambda der, opts: [CrossCheck.compare("two", "a planted failure", 1.0, 1e-9)])
    Run([Entry("one", "test", "one", unverified, plain.check), failing], Options(), cache=c).go()
    assert n.calls == 2 and not list(tmp_path.glob("derivations/*.bin"))


def test_a_changed_option_or_source_or_library_never_reuses_an_entry(tmp_path, monkeypatch):
    c, n = cache_mod.Cache(tmp_path), Counter()
    Run([_entry("one", n)], Options(), cache=c).go()
    Run([_entry("one", n)], Options(dim=8), cache=c).go()
    assert n.calls == 2
    monkeypatch.setattr(cache_mod, "source_digest", lambda: "another source")
    Run([_entry("one", n)], Options(), cache=c).go()
    assert n.calls == 3
    monkeypatch.setattr(cache_mod, "environment", lambda: "another sympy")
    Run([_entry("one", n)], Options(), cache=c).go()
    assert n.calls == 4


def test_the_source_digest_changes_with_any_file_of_the_package(tmp_path):
    pkg = tmp_path / "derive"
    shutil.copytree(cache_mod.PACKAGE, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    before = cache_mod.digest_of(pkg)
    assert before == cache_mod.source_digest()
    with open(pkg / "flows" / "rules.py", "a") as fh:
        fh.write("\n# a comment\n")
    changed = cache_mod.digest_of(pkg)
    (pkg / "extra.py").write_text("")
    assert len({before, changed, cache_mod.digest_of(pkg)}) == 3


def test_own_layer_files_are_part_of_the_key(tmp_path):
    from derive.registry import own

    path = tmp_path / "layer.toml"
    text = 'name = "mine"\ndim = 4\n[equations]\ny = "x * exp(a)"\n[parameters]\na = "vector"\n'
    path.write_text(text)
    first = own("layer", str(path)).key_extra
    assert own("layer", str(path)).key_extra == first
    path.write_text(text.replace("exp(a)", "exp(2*a)"))
    assert own("layer", str(path)).key_extra != first
    flow = tmp_path / "flow.toml"
    flow.write_text('name = "both"\nlayers = ["layer.toml", "actnorm"]\n')
    before = own("flow", str(flow)).key_extra
    path.write_text(text)  # the layer file the flow names changes: so does the flow's key
    assert own("flow", str(flow)).key_extra != before


def test_an_own_layer_is_derived_from_the_bytes_its_key_was_made_of(tmp_path):
    """The file changed after it was read (while the run goes on): the derivation is still of what was read,
    so the entry stored under that key is right."""
    from derive.registry import own

    path = tmp_path / "layer.toml"
    text = 'name = "mine"\ndim = 4\n[equations]\ny = "x * exp(a)"\n[parameters]\na = "vector"\n'
    path.write_text(text)
    entry = own("layer", str(path))
    path.write_text(text.replace("exp(a)", "exp(2*a)"))
    der = entry.build(Options())
    values = " ".join(str(r.value) for r in der.results)
    assert "a" in values and "2*a" not in values, values
    path.write_text(text)
    assert own("layer", str(path)).key_extra == entry.key_extra


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_damaged_entry_is_detected_and_derived_again(tmp_path, damage):
    c, n = cache_mod.Cache(tmp_path), Counter()
    Run([_entry("one", n)], Options(), cache=c).go()
    (path,) = (tmp_path / "derivations").glob("*.bin")
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2],
                      "flip": data[:-5] + bytes([data[-5] ^ 1]) + data[-4:],
                      "garbage": cache_mod._wrap(b"not a pickle"),
                      "empty": b""}[damage])
    c2 = cache_mod.Cache(tmp_path)
    again = Run([_entry("one", n)], Options(), cache=c2).go()
    assert n.calls == 2 and again.timings[0].source == "computed here"
    assert c2.recomputed == [path.stem] or damage == "empty" and c2.recomputed
    assert Run([_entry("one", n)], Options(), cache=cache_mod.Cache(tmp_path)).go().timings[0].source == "cache"


def test_an_entry_comes_back_exactly_in_a_fresh_process(tmp_path):
    """Unevaluated products and labels with their LaTeX form print the same after the trip (in the same
    process SymPy's caches would hide a loss)."""
    from derive.notation import Label

    a = sp.Symbol("a", positive=True)
    expr = sp.Mul(sp.Rational(1, 2), a - sp.log(a) - 1, evaluate=False)
    label = Label("F(q) test", r"\mathcal{F}_{test}")
    (tmp_path / "x.bin").write_bytes(serial.dumps((expr, label)))
    code = ("import sys, sympy as sp; from derive import serial; "
            "e, l = serial.loads(open(sys.argv[1], 'rb').read()); print(sp.latex(e)); print(sp.latex(l))")
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.bin")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [sp.latex(expr), r"\mathcal{F}_{test}"]
    assert sp.latex(expr) == r"\frac{a - \log{\left(a \right)} - 1}{2}"


def test_entries_unused_for_a_month_are_removed_and_used_ones_kept(tmp_path):
    c, n = cache_mod.Cache(tmp_path), Counter()
    Run([_entry("old", n), _entry("used", n)], Options(), cache=c).go()
    entries = {cache_mod.Cache(tmp_path).get(p.stem).derivation.name: p
               for p in (tmp_path / "derivations").glob("*.bin")}
    long_ago = time.time() - 40 * 86400
    for path in entries.values():
        os.utime(path, (long_ago, long_ago))
    Run([_entry("used", n), _entry("new", n)], Options(), cache=cache_mod.Cache(tmp_path)).go()
    assert not entries["old"].exists() and entries["used"].exists()
    assert len(list((tmp_path / "derivations").glob("*.bin"))) == 2


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "not a derivation", "another derivation"])
def test_something_else_in_place_of_an_entry_is_never_used_and_never_blocks(tmp_path, kind):
    c, n = cache_mod.Cache(tmp_path), Counter()
    Run([_entry("one", n), _entry("two", n)], Options(), cache=c).go()
    paths = {cache_mod.Cache(tmp_path).get(p.stem).derivation.name: p for p in (tmp_path / "derivations").glob("*.bin")}
    target = paths["one"]
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        target.symlink_to("/dev/zero")
    elif kind == "folder":
        target.mkdir()
    elif kind == "not a derivation":
        target.write_bytes(cache_mod._wrap(serial.dumps({"derivation": 42, "build_s": 1, "check_s": 1})))
    else:  # a well-formed entry of another derivation under this key
        shutil.copy(paths["two"], target)
    (tmp_path / "timings.json").unlink()
    os.mkfifo(tmp_path / "timings.json")
    run = Run([_entry("one", n), _entry("two", n)], Options(), cache=cache_mod.Cache(tmp_path)).go()
    assert [d.name for d in run.derivations] == ["one", "two"]
    assert [t.source for t in run.timings] == ["computed here", "cache"]


def test_no_cache_leaves_the_cache_folder_alone(runs):
    _, cache_dir = runs
    assert not (cache_dir.parent / "untouched").exists()  # the serial run was given it, with --no-cache


def test_an_unwritable_cache_folder_is_skipped(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    n = Counter()
    run = Run([_entry("one", n)], Options(), cache=cache_mod.Cache(blocker)).go()
    assert n.calls == 1 and run.derivations[0].name == "one"


# -- worker processes -------------------------------------------------------------------------------------------

def _failing(opts):
    raise ValueError("a planted failure")


def test_a_failing_derivation_in_a_worker_fails_the_run_and_leaves_no_worker(tmp_path):
    n = Counter()
    entries = [_entry("one", n), Entry("bad", "test", "bad", _failing, lambda d, o: []), _entry("two", n)]
    with pytest.raises(ValueError, match="planted failure"):
        Run(entries, Options(), jobs=2).go()
    assert not _children(os.getpid())


def test_a_derivation_that_cannot_travel_is_computed_here_and_not_kept(tmp_path):
    """A derivation holding a function made on the fly (as a block with your own F does) cannot be sent back
    by a worker: it is derived in the main process instead, and not cached."""
    n = Counter()
    plain = _entry("local", n)

    def with_lambda(opts):
        der = plain.build(opts)
        der.data["f"] = lambda v: v + 1
        return der
    entries = [Entry("local", "test", "local", with_lambda, plain.check), _entry("other", n)]
    run = Run(entries, Options(), jobs=2, cache=cache_mod.Cache(tmp_path)).go()
    assert [d.name for d in run.derivations] == ["local", "other"]
    assert [t.source for t in run.timings] == ["computed here", "worker"]
    assert run.derivations[0].data["f"](1) == 2
    assert len(list((tmp_path / "derivations").glob("*.bin"))) == 1


def test_a_block_of_your_own_runs_with_workers_and_the_cache(tmp_path):
    res = derive(*SHEET, "--quiet", "--F", "tanh(x)", "--out", str(tmp_path / "o"), cache_dir=tmp_path / "c")
    assert res.returncode == 0 and not res.stderr, res.stderr
    again = derive(*SHEET, "--quiet", "--F", "tanh(x)", "--out", str(tmp_path / "p"), cache_dir=tmp_path / "c")
    assert again.returncode == 0 and files(tmp_path / "o") == files(tmp_path / "p")


def test_results_come_back_in_the_entries_order_whatever_finishes_first():
    n = Counter()
    entries = [_entry(f"e{i}", n, value=i) for i in range(5)]
    run = Run(entries, Options(), jobs=2).go()
    assert [d.name for d in run.derivations] == [f"e{i}" for i in range(5)]
    assert all(t.source == "worker" for t in run.timings)


def _children(pid: int) -> list:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the worker processes")
def test_a_killed_worker_fails_the_command_and_leaves_the_old_outputs(runs, tmp_path):
    out, _ = runs
    target = tmp_path / "out"
    target.mkdir()
    for name, data in out["serial"][0].items():
        (target / name).write_bytes(data)
    proc, _, workers = _start_with_workers(target)
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode not in (0, 2), err
    assert err.count("\n") == 1 and "worker process" in err and "nothing was written" in err, err
    assert "Traceback" not in err
    assert files(target) == out["serial"][0]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left beside it


def _start_with_workers(target: Path):
    proc = subprocess.Popen([sys.executable, "-m", "derive", *SHEET, "--quiet", "--jobs", "2", "--no-cache",
                             "--out", str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        middle = _children(proc.pid)
        workers = [w for c in middle for w in _children(c)]
        if len(workers) >= 2:
            return proc, middle, workers
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the workers never started")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the worker processes")
def test_workers_end_with_the_work_process_when_it_is_killed(tmp_path):
    """The process the workers were forked from killed from outside (as an out-of-memory kill does): the
    command ends at once with its one line, and no worker runs on."""
    proc, middle, workers = _start_with_workers(tmp_path / "out")
    started = time.monotonic()
    os.kill(middle[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 137 and err.count("\n") == 1 and "killed by SIGKILL" in err, err
    assert time.monotonic() - started < 30  # not held until the time limit by a worker keeping the pipe open
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("jobs", ["0", "x", "65", "-1", "1.5", "064", "2\n", " 2", "٢"])
def test_bad_jobs_are_refused_in_one_line(tmp_path, jobs):
    res = derive(*SHEET, "--jobs", jobs, "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "--jobs" in res.stderr
    assert not (tmp_path / "o").exists()
