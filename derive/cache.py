"""A cache of verified derivations, so that ``derive all`` with nothing changed does not derive again.

An entry holds one derivation with its verification records and numeric
cross-checks, as computed, and the time it took.  Its key is a SHA-256 of
everything the derivation depends on: the source of the ``derive`` package,
the versions of Python, SymPy, mpmath, NumPy and SciPy, the derivation's name,
the options, and (for your own layers and flows) what was read from the files.
A changed key never finds an old entry.  Each entry carries the SHA-256 of its
content; an entry that does not match (truncated, corrupted) is removed and
the derivation computed again.  Entries are written to a temporary file and
renamed into place, so a reader never sees half an entry.

The folder is the platform's user cache folder (``platformdirs``), or
``DERIVE_CACHE_DIR``; ``DERIVE_NO_CACHE=1`` or ``--no-cache`` turns the cache
off, and ``derive all --check`` never reads it.  Entries written by another
user are never read.
"""
from __future__ import annotations

import hashlib
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MAGIC = b"derive-cache 1\n"
#: an entry not used for this many days is removed (entries of earlier sources are never used again)
KEEP_DAYS = 30
PACKAGE = Path(__file__).resolve().parent


@dataclass
class Hit:
    derivation: object
    build_s: float
    check_s: float


def disabled_by_environment() -> bool:
    return os.environ.get("DERIVE_NO_CACHE", "").strip().lower() not in ("", "0", "no", "false")


def folder() -> Path:
    """Where entries are kept."""
    given = os.environ.get("DERIVE_CACHE_DIR")
    if given:
        return Path(given)
    import platformdirs

    return Path(platformdirs.user_cache_dir("derive", appauthor=False))


@lru_cache(maxsize=None)
def source_digest() -> str:
    """SHA-256 of every source file of this package."""
    return digest_of(PACKAGE)


def digest_of(package: Path) -> str:
    """SHA-256 of every source file under ``package`` (their paths and contents)."""
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


@lru_cache(maxsize=None)
def environment() -> str:
    libraries = ",".join(f"{n}={_version(n)}" for n in ("sympy", "mpmath", "numpy", "scipy"))
    return f"python={sys.implementation.name}-{'.'.join(map(str, sys.version_info[:3]))},{libraries}"


def key(entry_name: str, entry_kind: str, options: str, extra: str = "") -> str:
    """The key of one derivation: its name and kind, the options (as text), ``extra`` (what an own layer's
    files say), the package's source and the libraries' versions."""
    h = hashlib.sha256()
    for part in (source_digest(), environment(), entry_name, entry_kind, options, extra):
        h.update(part.encode("utf-8") + b"\0")
    return h.hexdigest()


class Cache:
    """Entries in ``root`` (created on first write, readable by its owner only)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.recomputed: list[str] = []  # keys of entries found damaged

    def _path(self, k: str, kind: str) -> Path:
        return self.root / kind / f"{k}.bin"

    def get_bytes(self, k: str, kind: str = "derivations") -> bytes | None:
        """The content stored under ``k``, or None (absent, damaged, unreadable or not this user's); a
        damaged entry is removed."""
        path = self._path(k, kind)
        data = read_own_file(path)
        if data is None:
            return None
        payload = _unwrap(data)
        if payload is None:
            self._discard(k, path)
            return None
        try:
            os.utime(path)  # last used now: kept by prune()
        except OSError:
            pass
        return payload

    def prune(self, days: float = KEEP_DAYS) -> int:
        """Remove the entries not used for ``days`` days; returns how many."""
        import time

        cutoff, removed = time.time() - days * 86400, 0
        for kind in ("derivations", "pdf"):
            for path in (self.root / kind).glob("*.bin"):
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                except OSError:
                    pass
        return removed

    def discard(self, k: str, kind: str = "derivations") -> None:
        """Remove the entry under ``k`` (it will be computed again)."""
        self._discard(k, self._path(k, kind))

    def _discard(self, k: str, path: Path) -> None:
        self.recomputed.append(k)
        try:
            path.unlink()
        except OSError:
            pass

    def get(self, k: str) -> Hit | None:
        """The derivation stored under ``k``, or None."""
        from . import serial

        payload = self.get_bytes(k)
        if payload is None:
            return None
        try:
            record = serial.loads(payload)
            return Hit(record["derivation"], float(record["build_s"]), float(record["check_s"]))
        except Exception:  # noqa: BLE001 - an entry that does not load is computed again, whatever it raises
            self.discard(k)
            return None

    def put(self, k: str, payload: bytes, kind: str = "derivations") -> None:
        """Store ``payload`` under ``k``; a cache folder that cannot be written is skipped."""
        write_atomically(self._path(k, kind), _wrap(payload))


def write_atomically(path: Path, data: bytes) -> bool:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place (a reader sees the old
    content or the new, never half); False, with nothing left behind, when the folder cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".entry-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return False
    return True


#: no entry is larger than this (a derivation is tens of kilobytes, a PDF a few hundred)
MAX_ENTRY_BYTES = 64 * 2 ** 20


def read_own_file(path: Path, limit: int = MAX_ENTRY_BYTES) -> bytes | None:
    """The bytes of ``path`` if it is a regular file of this user's, at most ``limit`` bytes; else None.
    Opened without blocking, so a pipe or device put in its place cannot stall the command."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit or \
                (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


def pdf_key(tex: str, engine_version: str) -> str:
    """The key of a compiled PDF: its LaTeX source and the engine (the PDF is reproducible)."""
    h = hashlib.sha256()
    for part in (MAGIC.decode(), engine_version, tex):
        h.update(part.encode("utf-8") + b"\0")
    return h.hexdigest()


def record(derivation_bytes: bytes, build_s: float, check_s: float) -> bytes:
    """An entry's content: the serialised derivation and its timings."""
    from . import serial

    return serial.dumps({"derivation": _Raw(derivation_bytes), "build_s": build_s, "check_s": check_s})


class _Raw:
    """Already serialised bytes, stored inside the record and unpacked when it is read."""

    def __init__(self, data: bytes):
        self.data = data

    def __reduce__(self):
        from . import serial

        return serial.loads, (self.data,)


def _wrap(payload: bytes) -> bytes:
    return MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def _unwrap(data: bytes) -> bytes | None:
    if not data.startswith(MAGIC):
        return None
    digest, sep, payload = data[len(MAGIC):].partition(b"\n")
    if not sep or hashlib.sha256(payload).hexdigest().encode() != digest:
        return None
    return payload


def open_cache(enabled: bool = True) -> Cache | None:
    """The cache to use, or None when it is turned off."""
    if not enabled or disabled_by_environment():
        return None
    return Cache(folder())
