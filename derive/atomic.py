"""Atomic output of a set of files: write each in full to a temporary file beside it, then rename all."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _stage(path: Path, data: str | bytes) -> str:
    """A complete temporary copy of ``data`` beside ``path`` (removed again if writing it fails)."""
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8", "newline": "\n"})) as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
    except BaseException:
        _remove(tmp)
        raise
    return tmp


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


def write_all_atomic(files: dict[Path, str | bytes]) -> None:
    """Write several files so that none is replaced unless every one was written completely.

    Every file is first written in full to a temporary file beside its target
    (a full disk or an unwritable folder fails here, before anything is
    replaced); targets that are folders are refused; only then is each
    temporary file renamed into place.
    """
    paths = {Path(p): data for p, data in files.items()}
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder")
    staged: dict[Path, str] = {}
    try:
        for path, data in paths.items():
            staged[path] = _stage(path, data)
        for path, tmp in staged.items():
            os.replace(tmp, path)
    finally:
        for tmp in staged.values():
            _remove(tmp)
