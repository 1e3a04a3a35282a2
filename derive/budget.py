"""One time budget for a whole command.

The command's work (reading the input, deriving, checking, rendering,
compiling the PDF) runs in a child process; this process waits for it and
kills its whole process group at the deadline, which also stops long C-level
or SymPy evaluation that no signal handler could interrupt.  The child
reports what it is doing over a pipe, so a time-out names the stage that ran
out of time, and it hands a complete staged output set back to be swapped in
only when the work is done within the budget.

This module imports nothing heavy: the parent stays light.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)

#: set in the child only, by the code it is started with (never from the environment):
#: the control pipe's file descriptor and the folder the output set is staged in
_CHILD: dict = {"fd": None, "stage_dir": None}

#: the child's code: the current folder is taken off the module path (a ``random.py`` or ``numpy.py``
#: there must not be imported), the package's own folder put first
CHILD_CODE = """import sys
sys.path[:] = [{root!r}] + [p for p in sys.path if p not in ('', '.')]
from derive import budget
budget.become_child({fd}, {stage_dir!r})
from derive.cli import main
sys.exit(main())
"""


class BudgetExceeded(Exception):
    """The command ran past its time budget; ``str()`` is the one-line message."""


def become_child(fd: int, stage_dir: str | None) -> None:
    _CHILD.update(fd=fd, stage_dir=stage_dir)


def in_child() -> bool:
    return _CHILD["fd"] is not None


def stage_dir() -> str | None:
    """The folder this child stages the output set in (None outside a child, or when nothing is written)."""
    return _CHILD["stage_dir"]


def report(kind: str, text: str = "") -> None:
    """Tell the parent (if any) what the work is doing now, or that the output set is staged."""
    fd = _CHILD["fd"]
    if fd is None:
        return
    line = f"{kind} {text}".replace("\n", " ").strip().encode("utf-8", "replace")[:3999] + b"\n"
    try:
        os.write(fd, line)
    except OSError:  # the parent is gone; the child is about to be killed too
        pass


def stage(text: str) -> None:
    report("stage", text)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    os.setpgid(0, 0)
    die_with_parent()


def die_with_parent(parent: int | None = None) -> None:
    """Have the kernel kill this process when its parent ends (Linux); elsewhere, or when that is refused, a
    thread that ends it once it is orphaned.  ``parent``: the parent's pid when known (a parent that already
    ended before this ran ends this process at once)."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            armed = ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL) == 0  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            armed = False
    expected = parent if parent is not None else os.getppid()
    if os.getppid() != expected:
        os._exit(1)
    if not armed:
        import threading

        def watch():
            while os.getppid() == expected:
                time.sleep(0.5)
            os._exit(1)
        threading.Thread(target=watch, daemon=True).start()


class Child:
    """The child process running ``derive ARGV`` with a control pipe."""

    def __init__(self, argv: list[str], stage_dir: str | None):
        self.read_fd, write_fd = os.pipe()
        code = CHILD_CODE.format(root=ROOT, fd=write_fd, stage_dir=stage_dir)
        self.proc = subprocess.Popen([sys.executable, "-c", code, *argv], pass_fds=(write_fd,),
                                     preexec_fn=_die_with_parent if os.name == "posix" else None)
        os.close(write_fd)
        self.stage = "starting"
        self.staged = False
        self.message = ""
        self.final = None  # (exit code, the one line the work ended with), once it has said it
        self._buffer = b""

    def _read(self, timeout: float) -> bool:
        """Read what the child reported; False once the pipe is closed."""
        ready, _, _ = select.select([self.read_fd], [], [], max(timeout, 0))
        if not ready:
            return True
        data = os.read(self.read_fd, 65536)
        if not data:
            return False
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            kind, _, text = line.decode("utf-8", "replace").partition(" ")
            if kind == "stage":
                self.stage = text
            elif kind == "staged":
                self.staged = True
                self.message = text
            elif kind == "final":
                code, _, line = text.partition(" ")
                self.final = (int(code), line)
        return True

    def wait(self, deadline: float) -> int:
        """The child's exit code; :class:`BudgetExceeded` (after killing it) past ``deadline``."""
        open_ = True
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise BudgetExceeded(self.stage)
            if open_:
                open_ = self._read(min(remaining, 1.0))
            else:
                try:
                    return self._finish(self.proc.wait(timeout=min(remaining, 1.0)))
                except subprocess.TimeoutExpired:
                    continue
            if not open_:
                continue

    def _finish(self, rc: int) -> int:
        os.close(self.read_fd)
        return rc

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        try:
            os.close(self.read_fd)
        except OSError:
            pass
        if sys.stdout.isatty():  # a progress display may have hidden the cursor
            sys.stdout.write("\r\x1b[2K\x1b[?25h")
            sys.stdout.flush()
