"""Nothing hangs, nothing half-written: one time budget, the output set as a unit, --check over every file,
and every bad input a clean refusal (one test per finding, plus the kill, disk-full and unwritable-folder tests)."""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SET = {"derivations.json", "writeup.tex", "writeup.md", "writeup.html", "derive_numeric.py", "derive_torch.py",
       "manifest.json"}


def derive(*args, env=None, timeout=600, **kwargs):
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**os.environ, **(env or {})}, **kwargs)


def timed(*args, **kwargs):
    start = time.monotonic()
    res = derive(*args, **kwargs)
    return res, time.monotonic() - start


def refused(res, needle=None):
    assert res.returncode == 2, (res.returncode, res.stderr[-800:])
    assert res.stderr.startswith("derive: error: ") and res.stderr.count("\n") == 1, res.stderr[-800:]
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    if needle is not None:
        assert needle in res.stderr, res.stderr
    return res.stderr


def listing(folder: Path) -> dict:
    """Every entry under ``folder`` (hidden ones too) with the SHA-256 of each file."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def consistent_set(out: Path) -> str:
    """The manifest's text if ``out`` holds exactly one complete set (every file listed, every hash right)."""
    manifest = json.loads((out / "manifest.json").read_text())
    names = {p.name for p in out.iterdir()}
    assert names == set(manifest["files"]) | {"manifest.json"}, names
    for name, entry in manifest["files"].items():
        assert sha(out / name) == entry["sha256"], name
    return (out / "manifest.json").read_text()


def leftovers(out: Path) -> list:
    beside = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    inside = [p.name for p in out.iterdir() if p.name.startswith(".")] if out.is_dir() else []
    return beside + inside


# ---- 1. a hang the time limit could not stop; numbers from the user --------------------------------------------

def test_a_tower_in_s_is_refused_at_once_and_never_converted_to_a_float():
    res, seconds = timed("show", "coupling", "--s", "exp(exp(exp(100)))", "--time-limit", "2")
    assert refused(res) == ("derive: error: --s: constant at column 6 ('exp(exp(100))'): too large to evaluate "
                            "(exp of 2.688e+43; the limit is exp(690))\n")
    assert seconds < 10


@pytest.mark.parametrize("option,value,message", [
    ("--prior-mean", "exp(exp(exp(100)))", "--prior-mean: constant at column 5 ('exp(exp(100))'): too large to "
                                           "evaluate (exp of 2.688e+43; the limit is exp(690))"),
    ("--prior-mean", "(10**19)**64", "--prior-mean: too large (the limit is |value| <= 1e+06)"),
    ("--prior-mean", "1000001", "--prior-mean: 1000001 is outside the limit |value| <= 1e+06"),
    ("--prior-std", "(10**19)**64", "--prior-std: too large (the limit is value <= 1e+12)"),
    ("--prior-std", "1e-320", "--prior-std: 1.0e-320 is below the limit 1e-12"),
    ("--prior-std", "exp(-40)", "--prior-std: 4.248354e-18 is below the limit 1e-12"),
    ("--prior-std", "sin(1)**2 + cos(1)**2 - 1", "--prior-std: cannot be evaluated to 30 certain digits"),
    ("--prior-std", "-2", "--prior-std: must be positive, got -2"),
    ("--sigma", "exp(exp(exp(100)))", "--sigma: constant at column 5 ('exp(exp(100))'): too large to evaluate"),
    ("--mu", "-exp(exp(exp(100)))", "--mu: constant at column 6 ('exp(exp(100))'): too large to evaluate"),
    ("--prior-mean", "*".join(["1e20"] * 16), "--prior-mean: too large (the limit is |value| <= 1e+06)"),
    ("--mu", "1000000.0000000000001", "--mu: 1000000.0000000000001 is outside the limit |value| <= 1e+06"),
    ("--sigma", "0.99999999999999999999e-12", "--sigma: 9.9999999999999999999e-13 is below the limit 1e-12"),
    ("--sigma", "1e-12 - exp(-700)", "--sigma: 1e-12 - 9.859677e-305 is below the limit 1e-12"),
    ("--s", "100 + exp(-700)", "--s: s_1: 100 + 9.859677e-305 is outside the limit |value| <= 100"),
    ("--s", "700", "--s: s_1: 700 is outside the limit |value| <= 100"),
    ("--s", "1, exp(101)", "--s: s_2: 7.307e+43 is outside the limit |value| <= 100"),
])
def test_numbers_past_their_limits_are_refused_naming_the_limit(option, value, message):
    extra = ["--sigma", "1"] if option == "--mu" else ["--mu", "0"] if option == "--sigma" else []
    name = "coupling" if option == "--s" else "kl"
    res, seconds = timed("show", name, f"{option}={value}", *extra)
    assert refused(res).startswith(f"derive: error: {message}"), res.stderr
    assert seconds < 20


def test_numbers_within_their_limits_are_exact_and_accepted():
    res = derive("show", "kl", "--mu", "1.234567890123456e-300", "--sigma", "1", "--json")
    assert res.returncode == 0 and res.stderr == "", res.stderr
    example = next(r for r in json.loads(res.stdout)["results"] if r["name"] == "kl.example")
    # KL(N(mu, 1) || N(0, 1)) = mu^2 / 2 exactly (by hand), not 0 after a float underflow
    from fractions import Fraction
    import re

    p, q = map(int, re.fullmatch(r"Rational\((\d+), (\d+)\)", example["value"]["srepr"]).groups())
    assert Fraction(p, q) == Fraction(1234567890123456, 10 ** 315) ** 2 / 2
    res = derive("show", "coupling", "--s", "50", "--F", "tanh(x)")
    assert res.returncode == 0 and res.stderr == "", res.stderr


def test_a_numeric_overflow_is_a_failed_check_with_its_reason_not_a_warning():
    from derive.model import CrossCheck
    from derive.numeric.guard import guarded

    import numpy as np

    def overflowing():
        return [CrossCheck.compare("exp", "by hand", float(np.exp(np.float64(800)) - np.inf), 1e-9)]

    checks = guarded(overflowing)
    assert [c.passed for c in checks] == [False, False]
    assert checks[1].name == "floating-point warnings" and "overflow" in checks[1].method


# ---- 2. one budget for the whole command ---------------------------------------------------------------------------

def test_the_time_limit_covers_the_cross_checks(tmp_path):
    res, seconds = timed("check", "coupling", "--dim", "2048", "--time-limit", "5")
    assert refused(res) == ("derive: error: ran out of time after 5 s (--time-limit) while cross-checks of "
                            "coupling; nothing was written\n")
    assert seconds < 9


def test_the_time_limit_covers_derive_all_and_nothing_is_written(tmp_path):
    out = tmp_path / "o"
    res, seconds = timed("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(out), "--time-limit", "2")
    message = refused(res)  # the stage it names depends on the machine's speed: deriving or cross-checking
    assert "ran out of time after 2 s (--time-limit) while " in message and "nothing was written" in message
    assert seconds < 6 and not out.exists() and list(tmp_path.iterdir()) == []


def test_a_time_limit_in_the_config_counts_too(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("time_limit = 1\ndim = 2048\n")
    res, seconds = timed("check", "coupling", "--config", str(cfg))
    assert "ran out of time after 1 s" in refused(res) and seconds < 5


# ---- 3. the output set as a unit -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """Two complete output sets that differ (default prior, and prior N(0, 2^2))."""
    base = tmp_path_factory.mktemp("sets")
    for name, extra in (("new", []), ("old", ["--prior-std", "2"])):
        res = derive("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(base / name), *extra)
        assert res.returncode == 0, res.stderr
    return base / "old", base / "new"


def test_a_run_writes_exactly_the_set_and_its_manifest(sets):
    old, new = sets
    assert {p.name for p in new.iterdir()} == SET
    assert consistent_set(new) != consistent_set(old)
    assert leftovers(new) == []


@pytest.mark.slow
def test_stale_staging_and_temporary_files_are_removed_by_the_next_run(sets, tmp_path):
    out = tmp_path / "o"
    shutil.copytree(sets[0], out)
    (tmp_path / ".o.derive-stage-dead1").mkdir()
    (tmp_path / ".o.derive-stage-dead1" / "writeup.md").write_text("half")
    (out / ".writeup.tex.x1y2.tmp").write_text("half")
    res = derive("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert consistent_set(out) == consistent_set(sets[1]) and leftovers(out) == []


@pytest.mark.slow
def test_two_runs_into_one_folder_never_interleave(sets, tmp_path):
    out = tmp_path / "o"
    shutil.copytree(sets[0], out)
    cmd = [sys.executable, "-m", "derive", "all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(out)]
    procs = [subprocess.Popen(cmd + extra, cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for extra in ([], ["--prior-std", "2"])]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    for rc, err in results:
        assert rc == 0 or (rc == 2 and "another derive run is writing" in err), (rc, err)
    assert consistent_set(out) in (consistent_set(sets[0]), consistent_set(sets[1]))
    assert leftovers(out) == []


@pytest.mark.slow
def test_killed_at_ten_moments_the_folder_holds_one_complete_set(sets, tmp_path):
    old, new = sets
    expected = {consistent_set(old), consistent_set(new)}
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "derive", "all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(out)]
    shutil.copytree(old, out)
    start = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    whole = time.monotonic() - start  # the moments follow the machine's load: fractions of one whole run
    moments = [whole * f for f in (0.01, 0.05, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1.0)] + [None]
    seen = set()
    for delay in moments:
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(old, out)
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if delay is None:  # the last one once the run has ended: the kill finds nothing to stop
            proc.wait()
        else:
            time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(0.2)  # the worker follows its parent
        state = consistent_set(out)
        assert state in expected, delay
        seen.add(state == consistent_set(new))
    res = derive("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(out))
    assert res.returncode == 0 and consistent_set(out) == consistent_set(new)
    assert leftovers(out) == []
    assert seen == {False, True}, "the moments should include kills before and after the swap"


@pytest.mark.slow
def test_killed_between_the_two_renames_of_the_fallback_swap_the_next_run_restores(sets, tmp_path):
    """Where the atomic exchange is unavailable, the swap is two renames; a kill between them is repaired."""
    out = tmp_path / "o"
    shutil.copytree(sets[0], out)
    script = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from derive import outset
outset._renameat2 = lambda a, b: False
real = os.rename
def rename(a, b):
    real(a, b)
    if Path(b).name.startswith('.o.derive-old-'):
        os.kill(os.getpid(), 9)   # killed between the two renames
os.rename = rename
with outset.Staging(Path({str(out)!r})) as st:
    outset.write_files(st.path, {{'writeup.md': 'new'}})
    st.commit()
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert not out.exists()  # only the old folder, beside it
    res = derive("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert consistent_set(out) == consistent_set(sets[1]) and leftovers(out) == []


def _mount_tmpfs(path: Path, size: str, readonly: bool = False) -> bool:
    path.mkdir()
    opts = f"size={size}" + (",ro" if readonly else "")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True)
    return res.returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True)


@pytest.mark.slow
def test_a_full_disk_leaves_the_previous_set_and_nothing_else(sets, tmp_path):
    disk = tmp_path / "disk"
    if shutil.which("mount") is None or not _mount_tmpfs(disk, "1200k"):
        pytest.skip("mounting a small tmpfs is not permitted here")
    try:
        out = disk / "o"
        shutil.copytree(sets[0], out)   # ~750 kB: a second set does not fit
        before = listing(disk)
        res = derive("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(out))
        assert "No space left on device" in refused(res)
        assert "the previous outputs are unchanged" in res.stderr
        assert listing(disk) == before
    finally:
        _umount(disk)


def test_an_unwritable_folder_is_a_refusal(tmp_path):
    if os.geteuid() != 0:
        parent = tmp_path / "locked"
        parent.mkdir()
        parent.chmod(0o555)
    else:
        parent = tmp_path / "ro"
        if shutil.which("mount") is None or not _mount_tmpfs(parent, "1m", readonly=True):
            pytest.skip("no way to make an unwritable folder here")
    try:
        res = derive("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(parent / "o"))
        assert refused(res) == f"derive: error: --out {parent / 'o'}: no permission to write in {parent}\n"
        assert list(parent.iterdir()) == []
    finally:
        if os.geteuid() == 0:
            _umount(parent)
        else:
            parent.chmod(0o755)


@pytest.mark.parametrize("setup,message", [
    ("file", "is not a folder"),
    ("below-file", "is not a folder"),
    ("foreign", "holds 'notes.txt', which derive did not write"),
    ("empty", "--out: empty path"),
])
def test_output_folders_derive_cannot_own_are_refused_before_any_work(setup, message, tmp_path):
    target = {"file": tmp_path / "f", "below-file": tmp_path / "f" / "sub", "foreign": tmp_path / "o",
              "empty": ""}[setup]
    (tmp_path / "f").write_text("a file\n")
    if setup == "foreign":
        target.mkdir()
        (target / "notes.txt").write_text("mine\n")
    before = listing(tmp_path)
    res, seconds = timed("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(target))
    assert message in refused(res) and seconds < 5
    assert listing(tmp_path) == before


# ---- 4. --check sees every file ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def with_pdf(tmp_path_factory):
    if shutil.which("latexmk") is None and shutil.which("pdflatex") is None:
        pytest.skip("TeX Live is not installed")
    out = tmp_path_factory.mktemp("pdf") / "o"
    res = derive("all", "--no-catalogue", "--quiet", "--out", str(out))
    assert res.returncode == 0, res.stderr
    return out


def _tampered(src: Path, tmp_path: Path, name: str, change) -> subprocess.CompletedProcess:
    out = tmp_path / "t"
    shutil.copytree(src, out)
    path = out / name
    path.write_bytes(change(path.read_bytes()))
    pdf = [] if (src / "writeup.pdf").exists() else ["--no-pdf"]
    return derive("all", "--no-catalogue", "--check", "--quiet", *pdf, "--out", str(out))


@pytest.mark.slow
def test_check_passes_on_a_fresh_set_with_its_pdf(with_pdf):
    res = derive("all", "--no-catalogue", "--check", "--quiet", "--out", str(with_pdf))
    assert res.returncode == 0 and res.stderr == "", res.stderr
    manifest = json.loads((with_pdf / "manifest.json").read_text())
    assert manifest["pdf"]["tex_sha256"] == sha(with_pdf / "writeup.tex")
    assert "TeX" in manifest["pdf"]["engine"]


@pytest.mark.slow
def test_check_sees_residuals_set_to_99999(with_pdf, tmp_path):
    import re

    res = _tampered(with_pdf, tmp_path, "derivations.json",
                    lambda b: re.sub(rb'"residual": [-0-9.e+]+', b'"residual": 99999', b))
    assert res.returncode == 1
    assert re.fullmatch(r"derive: stale outputs in .*: derivations\.json, line \d+: residual 99999 where this run "
                        r"computes [-0-9.e+]+\n", res.stderr), res.stderr


@pytest.mark.slow
def test_check_sees_a_pdf_replaced_with_garbage(with_pdf, tmp_path):
    res = _tampered(with_pdf, tmp_path, "writeup.pdf", lambda b: b"%PDF-1.5 garbage\n")
    assert res.returncode == 1 and res.stderr.endswith(
        ": writeup.pdf was changed after derive wrote it (its SHA-256 differs from manifest.json)\n"), res.stderr


@pytest.mark.slow
def test_check_sees_a_residual_changed_within_the_tolerance_through_the_manifest(sets, tmp_path):
    def nudge(data: bytes) -> bytes:  # the first residual, 1e-30 larger: the text comparison lets it through
        text = data.decode()
        at = text.index('"residual": ') + len('"residual": ')
        end = min(text.index(c, at) for c in ",\n" if c in text[at:])
        return (text[:at] + repr(float(text[at:end]) + 1e-30) + text[end:]).encode()

    res = _tampered(sets[1], tmp_path, "derivations.json", nudge)
    assert res.returncode == 1 and res.stderr.endswith(
        ": derivations.json was changed after derive wrote it (its SHA-256 differs from manifest.json)\n"), res.stderr


@pytest.mark.slow
def test_check_names_the_first_differing_line(sets, tmp_path):
    res = _tampered(sets[1], tmp_path, "writeup.tex", lambda b: b.replace(b"\\log", b"\\ln", 1))
    line = sets[1].joinpath("writeup.tex").read_text().split("\n").index(
        next(ln for ln in sets[1].joinpath("writeup.tex").read_text().split("\n") if "\\log" in ln)) + 1
    assert res.returncode == 1 and f"writeup.tex, line {line}: " in res.stderr, res.stderr


def test_residuals_agree_within_their_tolerance_only():
    from derive.outdiff import residuals_agree

    assert residuals_agree(3.1e-13, 2.2e-13) and residuals_agree(0.0123, 0.0125)
    assert not residuals_agree(99999.0, 1e-13) and not residuals_agree(0.0123, 0.0140)


# ---- 5. bad input that used to end as an internal error ------------------------------------------------------------

def test_config_edge_cases_are_refusals(tmp_path):
    big_int = tmp_path / "int.toml"
    big_int.write_text("dim = " + "1" * 5000 + "\n")
    assert "holds a value TOML cannot read" in refused(derive("show", "kl", "--config", str(big_int)))
    deep = tmp_path / "deep.toml"
    deep.write_text("F = " + "[" * 30000 + "]" * 30000 + "\n")
    assert "nested too deeply" in refused(derive("show", "kl", "--config", str(deep)))
    assert "larger than 100000 bytes" in refused(derive("show", "kl", "--config", "/proc/self/pagemap"))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, message in ((fifo, "is not a regular file"), (tmp_path, "is a folder, not a file"),
                          ("/dev/zero", "is not a regular file"), ("/dev/null", "is not a regular file"),
                          (tmp_path / "missing.toml", "no such file")):
        res, seconds = timed("show", "kl", "--config", str(path), timeout=60)
        assert message in refused(res) and seconds < 5, path
    assert refused(derive("show", "kl", "--config=")) == "derive: error: --config: empty file name\n"
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"F = \"\xff\"\n")
    assert "is not UTF-8 text" in refused(derive("show", "kl", "--config", str(bad)))


def test_log_of_zero_and_starred_arguments_are_refusals():
    assert "the argument of log is exactly 0" in refused(derive("show", "coupling", "--F", "log(0)"))
    assert "starred arguments are not allowed" in refused(derive("show", "coupling", "--F", "exp(*[x])"))


def test_a_broken_pipe_ends_quietly():
    for args in (["list"], ["show", "kl"]):
        proc = subprocess.Popen([sys.executable, "-m", "derive", *args], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=120) in (0, 141) and err == b"", err


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}])
def test_a_terminal_without_unicode_gets_ascii(env):
    res = derive("show", "kl", env=env)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    res.stdout.encode("ascii")
    assert "ok verified (proof)" in res.stdout and "15/15 steps verified" in res.stdout
    assert "KL(q_i(z) || p_i(z))" in res.stdout and "log(sigma_i)" in res.stdout


# ---- 6. misleading refusals ----------------------------------------------------------------------------------------

def test_a_tiny_number_is_not_called_too_large():
    res = derive("show", "kl", "--mu", "0", "--sigma", "1.234567890123456e-300")
    assert refused(res) == "derive: error: --sigma: 1.234568e-300 is below the limit 1e-12\n"  # not "too large"


def test_breadth_is_not_depth():
    res = derive("show", "coupling", "--F", "+".join(["x"] * 300), "--json")
    assert res.returncode == 0, res.stderr
    msg = refused(derive("show", "coupling", "--F", "+".join(["x"] * 700)))
    assert msg == "derive: error: --F: expression has 2799 parts, the size limit is 2000\n"


# ---- found by the hostile corpus ---------------------------------------------------------------------------------

def test_a_comment_in_an_expression_is_refused_not_dropped():
    import sympy as sp

    from derive.parse import ParseError, parse

    with pytest.raises(ParseError, match=r"comments \('#' at column 3\) are not allowed"):
        parse("x # + 1", {"x": sp.Symbol("x")}, what="--F")


def test_a_non_ascii_argument_under_a_c_locale_is_named_as_typed():
    import sympy as sp

    from derive.parse import ParseError, parse

    typed = "\u221ax".encode("utf-8").decode("ascii", "surrogateescape")  # how a C locale hands it over
    with pytest.raises(ParseError, match=r"U\+221A"):
        parse(typed, {"x": sp.Symbol("x")}, what="--F")
    with pytest.raises(ParseError, match="byte 0xFF at column 2 is not UTF-8 text"):
        parse("x\udcff", {"x": sp.Symbol("x")}, what="--F")


def test_a_dangling_link_named_like_an_output_is_refused(tmp_path):
    from derive.outset import OutputError, check_target

    out = tmp_path / "o"
    out.mkdir()
    (out / "manifest.json").symlink_to(tmp_path / "nothing")
    with pytest.raises(OutputError, match="manifest.json is not a file derive wrote"):
        check_target(out)


def test_a_huge_log_determinant_is_reported_without_a_float_overflow():
    from derive.volume import _exp_text

    assert _exp_text(2.0) == "7.38906" and _exp_text(1e30) == "exp(1e+30)"
    res = derive("show", "coupling", "--G", "10**30", "--json")
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert "|det| = exp(2e+30)" in res.stdout


# ---- found by a hostile review --------------------------------------------------------------------------------

def test_modules_in_the_current_folder_are_never_imported(tmp_path):
    (tmp_path / "random.py").write_text("x = 1\n")
    (tmp_path / "rich.py").write_text("print('HIJACKED')\n")
    (tmp_path / "numpy.py").write_text("import sys; sys.stderr.write('PWNED\\n')\n")
    script = Path(sys.executable).parent / "derive"
    res = subprocess.run([str(script), "show", "kl", "--json"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=300)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert "HIJACKED" not in res.stdout and json.loads(res.stdout)["all_verified"] is True


@pytest.mark.slow
def test_internal_variables_in_the_environment_are_ignored(tmp_path):
    res = derive("show", "kl", "--json", env={"DERIVE_CHILD_FD": "1", "DERIVE_STAGE_DIR": str(tmp_path)})
    assert res.returncode == 0 and json.loads(res.stdout)["all_verified"] is True
    res = derive("show", "kl", env={"DERIVE_CHILD_FD": "abc"})
    assert res.returncode == 0 and res.stderr == ""
    res, seconds = timed("check", "coupling", "--dim", "2048", "--time-limit", "3", env={"DERIVE_CHILD_FD": "2"})
    assert "ran out of time after 3 s" in refused(res) and seconds < 8


@pytest.mark.parametrize("text", ["(1+x**2)**exp(exp(exp(100)))", "tanh(x+exp(exp(exp(100))))",
                                  "abs(x-exp(exp(exp(100))))"])
def test_a_tower_anywhere_in_an_expression_is_refused_at_once(text):
    res, seconds = timed("show", "coupling", "--json", f"--F={text}")
    assert "constant at column" in refused(res) and "too large to evaluate" in res.stderr and seconds < 20


@pytest.mark.parametrize("text,ok", [("(1+x**2)**(64*(sin(1)**2+cos(1)**2))", True),
                                     ("(1+x**2)**(-64*(sin(1)**2+cos(1)**2))", True),
                                     ("(1+x**2)**(64*(log(2)+log(3)-log(6)+1))", True),
                                     ("(1+x**2)**(64+exp(-700))", False), ("(1+x**2)**(-64-exp(-700))", False)])
def test_an_exponent_at_the_limit_is_decided_exactly(text, ok):
    import sympy as sp

    from derive.parse import ParseError, parse

    x = {"x": sp.Symbol("x", real=True)}
    if ok:
        assert parse(text, x).has(sp.Pow)
    else:
        with pytest.raises(ParseError, match="exponent larger than 64"):
            parse(text, x)


def test_a_value_that_overflows_a_float_is_refused_for_that_reason():
    res = derive("show", "coupling", "--G", "exp(exp(exp(x)))")
    assert "is too large for a float (above about 1.8e308)" in refused(res)


@pytest.mark.slow
def test_an_output_folder_given_as_a_link_is_refused_and_a_linked_leftover_removed(sets, tmp_path):
    real = tmp_path / "real"
    shutil.copytree(sets[0], real)
    (tmp_path / "link").symlink_to(real)
    before = listing(tmp_path)
    res = derive("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(tmp_path / "link"))
    assert "is a link; give the folder it points to" in refused(res)
    assert listing(tmp_path) == before
    (tmp_path / ".real.derive-stage-old1").symlink_to(real)   # as an earlier version could leave
    assert derive("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(real)).returncode == 0
    assert leftovers(real) == [] and consistent_set(real) == consistent_set(sets[1])


def test_an_output_folder_inside_another_is_refused(sets, tmp_path):
    out = tmp_path / "o"
    shutil.copytree(sets[0], out)
    before = listing(tmp_path)
    res = derive("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(out / "inner"))
    assert "which holds derive's outputs; give a folder outside it" in refused(res)
    assert listing(tmp_path) == before


def test_the_current_folder_reached_through_a_link_is_not_replaced(tmp_path):
    (tmp_path / "realp" / "out").mkdir(parents=True)
    (tmp_path / "lp").symlink_to(tmp_path / "realp")
    res = subprocess.run([sys.executable, "-m", "derive", "all", "--no-catalogue", "--no-pdf", "--quiet", "--out",
                          str(tmp_path / "lp" / "out")], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path / "realp" / "out", env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "not a folder derive can replace (it holds the current folder)" in refused(res)
    assert (tmp_path / "realp" / "out").is_dir() and list((tmp_path / "realp" / "out").iterdir()) == []


def test_stale_staging_is_removed_by_a_refused_run_too(sets, tmp_path):
    out = tmp_path / "o"
    shutil.copytree(sets[0], out)
    (tmp_path / ".o.derive-stage-dead2").mkdir()
    (tmp_path / ".o.derive-stage-dead2" / "writeup.md").write_text("half")
    res = derive("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(out), "--F", "log(x)")
    assert refused(res) and leftovers(out) == [] and consistent_set(out) == consistent_set(sets[0])


@pytest.mark.slow
def test_a_time_out_while_compiling_the_pdf_leaves_nothing_anywhere(sets, tmp_path):
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    fake = bin_ / "latexmk"
    fake.write_text("#!/bin/sh\ntouch writeup.aux writeup.log\nsleep 60\n")
    fake.chmod(0o755)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "o"
    shutil.copytree(sets[0], out)
    before = listing(out)
    res = derive("all", "--no-catalogue", "--quiet", "--out", str(out), "--time-limit", "30",
                 env={"PATH": f"{bin_}:{os.environ['PATH']}", "TMPDIR": str(scratch)})
    assert "while compiling writeup.pdf; nothing was written" in refused(res)
    assert list(scratch.iterdir()) == [] and leftovers(out) == [] and listing(out) == before


def test_non_finite_residuals_are_null_in_json(tmp_path):
    res = derive("check", "coupling", "--json", "--G=x**64", "--s=100")
    assert res.returncode == 1

    def refuse(constant):
        raise AssertionError(f"{constant} in JSON")

    data = json.loads(res.stdout, parse_constant=refuse)
    failed = [c for c in data["checks"] if not c["passed"]]
    assert failed and any(c["residual"] is None for c in failed)


def test_an_error_about_a_path_with_a_line_break_is_one_line(tmp_path):
    res = derive("all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(tmp_path / "no\nsuch" / "out"))
    assert "no\\nsuch" in refused(res)


def test_a_worker_killed_from_outside_is_reported_in_one_line(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "derive", "check", "coupling", "--dim", "1024"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert children, "the worker should be running"
    os.kill(int(children[0]), signal.SIGKILL)
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 137
    assert err == ("derive: the work was killed by SIGKILL from outside (a SIGKILL is what an out-of-memory kill "
                   "looks like); nothing was written\n")


def test_a_hang_up_stops_the_run_and_leaves_the_previous_set(sets, tmp_path):
    out = tmp_path / "o"
    shutil.copytree(sets[0], out)
    proc = subprocess.Popen([sys.executable, "-m", "derive", "all", "--no-catalogue", "--no-pdf", "--quiet", "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    proc.send_signal(signal.SIGHUP)
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 129 and err == "derive: stopped by SIGHUP; nothing was written\n"
    assert consistent_set(out) == consistent_set(sets[0]) and leftovers(out) == []


@pytest.mark.parametrize("option", ["--prior-std=0.001", "--prior-mean=1000", "--prior-std=1e12",
                                    "--prior-mean=-1e6"])
def test_the_gradient_checks_hold_for_priors_far_from_q(option):
    res = derive("check", "reparam", "--json", option)
    data = json.loads(res.stdout)
    assert res.returncode == 0, [c for c in data["checks"] if not c["passed"]]


def test_a_narrow_terminal_setting_still_prints_and_a_leading_minus_is_a_value():
    res = derive("show", "kl", env={"COLUMNS": "0"})
    assert res.returncode == 0 and "15/15 steps verified" in res.stdout
    res = derive("show", "coupling", "--json", "--s", "-0.2, 0.1")
    assert res.returncode == 0 and res.stderr == ""
    assert '"verdict": "no"' in res.stdout


def test_a_refusal_at_the_deadline_is_still_one_line(monkeypatch):
    """The worker's last word goes through the supervisor, so a time-out at that moment adds no second line."""
    from derive import budget

    class Late:  # a worker that has refused, but is still running at the deadline
        final = (2, "derive: error: --F: unknown function 'foo'")

        def __init__(self, *a):
            pass

        def wait(self, deadline):
            raise budget.BudgetExceeded("starting")

        def kill(self):
            pass

    import io

    from derive import cli

    monkeypatch.setattr(budget, "Child", Late)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert cli.main(["show", "coupling", "--F", "foo(x)"]) == 2
    assert err.getvalue() == "derive: error: --F: unknown function 'foo'\n"


@pytest.mark.parametrize("tamper,message", [
    pytest.param("manifest-key", "manifest.json is not the manifest of these files", marks=pytest.mark.slow),
    pytest.param("manifest-version", "manifest.json is not the manifest of these files", marks=pytest.mark.slow),
    pytest.param("manifest-list", "manifest.json is not a manifest derive wrote (no table of files)", marks=pytest.mark.slow),
    ("manifest-entry", "derivations.json was changed after derive wrote it"),
    pytest.param("folder", "evil is not an output of derive", marks=pytest.mark.slow),
    pytest.param("link", "writeup.md is not a regular file derive wrote", marks=pytest.mark.slow),
    pytest.param("fifo", "pipe is not an output of derive", marks=pytest.mark.slow),
])
def test_check_sees_every_kind_of_tampering(sets, tmp_path, tamper, message):
    out = tmp_path / "t"
    shutil.copytree(sets[1], out)
    manifest = json.loads((out / "manifest.json").read_text())
    if tamper == "manifest-key":
        manifest["evil"] = 1
    elif tamper == "manifest-version":
        manifest["manifest_version"] = 99
    elif tamper == "manifest-list":
        manifest["files"] = sorted(manifest["files"])
    elif tamper == "manifest-entry":
        manifest["files"]["derivations.json"] = "0" * 64
    elif tamper == "folder":
        (out / "evil").mkdir()
        (out / "evil" / "payload.sh").write_text("echo hi\n")
    elif tamper == "link":
        (tmp_path / "copy.md").write_bytes((out / "writeup.md").read_bytes())
        (out / "writeup.md").unlink()
        (out / "writeup.md").symlink_to(tmp_path / "copy.md")
    elif tamper == "fifo":
        os.mkfifo(out / "pipe")
    if tamper.startswith("manifest"):
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    res = derive("all", "--no-catalogue", "--check", "--no-pdf", "--quiet", "--out", str(out))
    assert res.returncode == 1 and message in res.stderr and res.stderr.count("\n") == 1, res.stderr


@pytest.mark.slow
def test_check_wants_the_pdf_where_one_is_made(with_pdf, tmp_path):
    out = tmp_path / "t"
    shutil.copytree(with_pdf, out)
    (out / "writeup.pdf").unlink()
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["files"]["writeup.pdf"]
    manifest["pdf"] = None
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    res = derive("all", "--no-catalogue", "--check", "--quiet", "--out", str(out))
    assert res.returncode == 1 and "writeup.pdf is missing (give --no-pdf to check without it)" in res.stderr
    assert derive("all", "--no-catalogue", "--check", "--no-pdf", "--quiet", "--out", str(out)).returncode == 0
