"""Reading a user's TOML file safely: a readable regular file of bounded size, UTF-8, valid TOML.

Every problem is a :class:`FileError` of one line that starts with ``what`` (the option that
named the file), so that the command line can refuse it with exit code 2.
"""
from __future__ import annotations

import os
import stat
from contextlib import contextmanager



class FileError(ValueError):
    """The file was refused; ``str()`` is one line."""

MAX_BYTES = 100_000

#: the logs of :func:`recording`: each gets the bytes of every file read meanwhile
_LOGS: list = []


@contextmanager
def recording():
    """A list that receives the bytes of every file read while it is open, in order (what a derivation built
    from those files depends on, exactly as it was read)."""
    log: list = []
    _LOGS.append(log)
    try:
        yield log
    finally:
        _LOGS.remove(log)


def _bytes(path: str, what: str) -> bytes:
    if path == "":
        raise FileError(f"{what}: empty file name")
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise FileError(f"{what}: no such file {path!r}") from None
    except (OSError, ValueError) as exc:
        raise FileError(f"{what}: cannot read {path!r} ({getattr(exc, 'strerror', None) or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise FileError(f"{what}: {path!r} is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise FileError(f"{what}: {path!r} is not a regular file (a device, pipe or socket)")
    if info.st_size > MAX_BYTES:
        raise FileError(f"{what}: {path!r} is larger than {MAX_BYTES} bytes")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise FileError(f"{what}: cannot read {path!r} ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise FileError(f"{what}: {path!r} is larger than {MAX_BYTES} bytes")
    for log in _LOGS:
        log.append(data)
    return data


def read_toml(path: str, what: str) -> dict:
    """The table in the TOML file at ``path``."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    data = _bytes(path, what)
    try:
        text = data.decode("utf-8-sig")  # a byte order mark is not part of the TOML
    except UnicodeDecodeError:
        raise FileError(f"{what}: {path!r} is not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FileError(f"{what}: {path!r} is not valid TOML ({str(exc).splitlines()[0]})") from None
    except RecursionError:
        raise FileError(f"{what}: {path!r} is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise FileError(f"{what}: {path!r} holds a value TOML cannot read "
                         f"({str(exc).splitlines()[0][:80]})") from None
