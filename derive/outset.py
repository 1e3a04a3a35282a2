"""The output set, replaced as a unit.

Every file is written in full into a staging folder beside the output folder
(``.NAME.derive-stage-XXXX``); only when all are complete is the staging
folder swapped with the output folder in one atomic exchange
(``renameat2(RENAME_EXCHANGE)`` on Linux), so a reader sees either the
previous complete set or the new one, whatever happens: an exception, a full
disk, a kill at any moment.  Where the exchange is not available the swap is
two renames, and a run killed between them is repaired by the next run.

The swap happens under an exclusive lock on the folder that holds the output
folder, so two runs into the same folder never interleave.  A staging folder
is locked by the run that owns it; one that nobody holds (left by a killed
run) is removed by the next run.

:func:`manifest` writes ``manifest.json``, the SHA-256 of every file of a set
and what its PDF was compiled from.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

#: the files ``derive all`` writes; an output folder holds nothing else
OWNED = ("derivations.json", "writeup.tex", "writeup.md", "writeup.html", "derive_numeric.py", "derive_torch.py",
         "writeup.pdf",
         "manifest.json", "catalogue.tex", "catalogue.md", "catalogue.html", "catalogue.pdf",
         "kl-catalogue.tex", "kl-catalogue.md", "kl-catalogue.html", "kl-catalogue.pdf", "estimator-variance.png")
#: each PDF of the set and the LaTeX it is compiled from
PDFS = {"writeup.pdf": "writeup.tex", "catalogue.pdf": "catalogue.tex", "kl-catalogue.pdf": "kl-catalogue.tex"}


class OutputError(Exception):
    """The output folder cannot be written as asked; ``str()`` is one line for the user."""


def _stage_prefix(out: Path) -> str:
    return f".{out.name}.derive-stage-"


def _old_prefix(out: Path) -> str:
    return f".{out.name}.derive-old-"


def _legacy_temp(name: str) -> bool:  # per-file temporaries of earlier versions: .writeup.tex.XXXX.tmp
    return name.startswith(".") and name.endswith(".tmp") and any(name[1:].startswith(o + ".") for o in OWNED)


def check_target(out: Path) -> None:
    """Refuse an output path that is not a folder of derive's outputs, before anything is written."""
    parent = out.parent
    if out.is_symlink():
        if not out.exists():
            raise OutputError(f"--out {out}: a link to nothing")
        raise OutputError(f"--out {out} is a link; give the folder it points to ({os.path.realpath(out)})")
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is not a folder")
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise OutputError(f"--out {out}: the folder {parent} {what}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out}: no permission to write in {parent}")
    if (parent / "manifest.json").is_file() and (parent / "derivations.json").is_file():
        raise OutputError(f"--out {out} is inside {parent}, which holds derive's outputs; "
                          "give a folder outside it")
    if out.is_dir():
        if not os.access(out, os.R_OK | os.X_OK):
            raise OutputError(f"--out {out}: no permission to read the folder")
        foreign = sorted(e for e in os.listdir(out) if e not in OWNED and not _legacy_temp(e))
        if foreign:
            raise OutputError(f"--out {out} holds {foreign[0]!r}, which derive did not write; "
                              "give a folder for derive's outputs alone")
        odd = sorted(e for e in OWNED if (out / e).is_symlink() or ((out / e).exists() and not (out / e).is_file()))
        if odd:
            raise OutputError(f"--out {out}: {odd[0]} is not a file derive wrote (a folder or a link)")


def resolve(out: str | os.PathLike) -> Path:
    if str(out).strip() == "":
        raise OutputError("--out: empty path")
    path = Path(os.path.abspath(os.fspath(out)))
    cwd = Path(os.path.realpath(os.getcwd()))
    real = Path(os.path.realpath(path.parent)) / path.name  # a folder above it may be reached through a link
    if path.parent == path or real == cwd or real in cwd.parents or path == cwd or path in cwd.parents:
        raise OutputError(f"--out {out}: not a folder derive can replace (it holds the current folder)")
    return path


@contextmanager
def _locked(path: Path, blocking_until: float | None = None):
    """An exclusive ``flock`` on the folder ``path``, waiting for it until ``blocking_until`` (monotonic)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise OutputError(f"cannot open {path} to take its lock ({exc.strerror})") from None
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if blocking_until is None or time.monotonic() >= blocking_until:
                    raise OutputError(f"another derive run is writing into {path}; try again when it ends") from None
                time.sleep(0.05)
        yield fd
    finally:
        os.close(fd)


class Staging:
    """A locked staging folder beside ``out``; its files become the output set on :meth:`commit`."""

    def __init__(self, out: Path):
        self.out = out
        check_target(out)
        # made and locked under the lock of the folder that holds it, where stale folders are removed too,
        # so that no other run can take it for a killed run's leftover
        with _locked(out.parent, time.monotonic() + 30):
            remove_stale(out)
            try:
                self.path = Path(tempfile.mkdtemp(prefix=_stage_prefix(out), dir=out.parent))
            except OSError as exc:
                raise OutputError(f"--out {out}: cannot write in {out.parent} ({exc.strerror})") from None
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.path, 0o777 & ~umask)
            self._fd = os.open(self.path, os.O_RDONLY)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def close(self) -> None:
        """Remove the staging folder (if still there) and release it."""
        if self._fd is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            os.close(self._fd)
            self._fd = None

    def commit(self, deadline: float | None = None) -> None:
        """Swap the staged set in as ``out``, under the lock of the folder holding it."""
        out = self.out
        with _locked(out.parent, deadline):
            remove_stale(out, keep=self.path)
            check_target(out)
            names = sorted(os.listdir(self.path))
            if not names:
                raise OutputError("nothing was staged")
            _fsync_dir(self.path)
            if out.is_dir():
                _exchange(self.path, out)  # self.path now holds the previous set
            else:
                os.rename(self.path, out)
            _fsync_dir(out.parent)
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_files(folder: Path, files: dict[str, str | bytes]) -> None:
    """Write every file in full into ``folder`` (a staging folder), each flushed to disk."""
    for name, data in files.items():
        if name not in OWNED:
            raise ValueError(f"derive does not write {name!r}")
        path = folder / name
        try:
            if isinstance(data, bytes):
                fh = open(path, "wb")
            else:
                fh = open(path, "w", encoding="utf-8", newline="\n")
            with fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(path, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot write {name} ({exc.strerror or exc}); the previous outputs are unchanged") \
                from None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_RENAME_EXCHANGE = 2


def _renameat2(a: Path, b: Path) -> bool:
    """Atomically exchange two paths; False where the system cannot."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EXDEV, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _exchange(new: Path, out: Path) -> None:
    """``out`` becomes the folder ``new``; ``new`` afterwards holds what ``out`` held."""
    if _renameat2(new, out):
        return
    # two renames: a run killed between them leaves only the old folder, which remove_stale restores
    old = Path(tempfile.mkdtemp(prefix=_old_prefix(out), dir=out.parent))
    os.rmdir(old)
    os.rename(out, old)
    os.rename(new, out)
    os.rename(old, new)


def remove_stale(out: Path, keep: Path | None = None) -> None:
    """Remove what killed runs left beside and in ``out`` (call under the folder lock)."""
    parent = out.parent
    olds = sorted((p for p in parent.glob(_old_prefix(out) + "*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    if olds and not out.exists():  # killed between the two renames of a swap: the previous set comes back
        os.rename(olds.pop(), out)
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)
    for stage in parent.glob(_stage_prefix(out) + "*"):
        if stage == keep:
            continue
        if stage.is_symlink() or not stage.is_dir():
            try:
                os.unlink(stage)
            except OSError:
                pass
            continue
        try:
            fd = os.open(stage, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another run is staging right now
            os.close(fd)
            continue
        shutil.rmtree(stage, ignore_errors=True)
        os.close(fd)
    if out.is_dir():
        for name in os.listdir(out):
            if _legacy_temp(name):
                try:
                    os.unlink(out / name)
                except OSError:
                    pass


def manifest(files: dict[str, str | bytes], pdf_engine: str | None) -> str:
    """``manifest.json``: the SHA-256 of every file of the set, and what the PDF was compiled from."""
    def digest(data):
        return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()

    entries = {name: {"sha256": digest(data)} for name, data in sorted(files.items())}
    pdfs = {name: {"compiled_from": tex, "tex_sha256": digest(files.get(tex, "")), "engine": pdf_engine or "unknown"}
            for name, tex in PDFS.items() if name in files}
    table = {"manifest_version": 1, "files": entries, "pdf": pdfs.get("writeup.pdf")}
    if set(pdfs) - {"writeup.pdf"}:
        table["pdfs"] = pdfs
    return json.dumps(table, indent=2, sort_keys=True) + "\n"
