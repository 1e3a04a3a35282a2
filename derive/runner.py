"""Deriving many derivations: from the cache, in worker processes, or here, each one timed.

Derivations do not depend on each other, so the ones the cache does not hold
are computed in worker processes (forked from this one, so they start with
everything imported), the longest first by the times of the previous run.
A worker sends its derivation back serialised (:mod:`derive.serial`), which
round-trips it exactly: the outputs are byte for byte those of a serial run.
The workers are in this process's process group, so the command's time
budget stops them with it; a worker that dies makes the whole run fail with
:class:`WorkerFailed` before anything is written.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass

from .cache import read_own_file, write_atomically


@dataclass
class Timing:
    """How one derivation was obtained and how long it took."""

    name: str
    question: str
    build_s: float          # deriving, with the step checks (when it was computed)
    check_s: float          # the numeric cross-checks (when it was computed)
    source: str             # "computed here", "worker", "cache"
    read_s: float = 0.0     # reading it from the cache

    @property
    def total_s(self) -> float:
        return self.build_s + self.check_s


class WorkerFailed(Exception):
    """A worker process stopped without an answer (killed, or out of memory)."""


def usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def options_text(opts) -> str:
    """The options a derivation depends on, as text for the cache key."""
    return repr(dataclasses.replace(opts, catalogue=False, own=()))


def entry_key(entry, opts) -> str:
    from .cache import key

    return key(entry.name, entry.question, options_text(opts), getattr(entry, "key_extra", ""))


def compute(entry, opts) -> tuple:
    """(derivation with its cross-checks, seconds deriving, seconds cross-checking)."""
    from . import budget

    budget.stage(f"deriving {entry.name} ({entry.question})")
    t0 = time.perf_counter()
    der = entry.build(opts)
    t1 = time.perf_counter()
    budget.stage(f"cross-checks of {entry.name} ({entry.question})")
    der.checks = entry.cross_checks(der, opts)
    return der, t1 - t0, time.perf_counter() - t1


#: what the workers compute: set before they are forked, read by index in them
_TASKS: list = []


def _worker_start(parent: int) -> None:
    """In each worker as it starts: it ends when this process ends, however this process ends (a worker
    left running would hold the command's control pipe open and run on after a time-out)."""
    from .budget import die_with_parent

    die_with_parent(parent)


def _work(index: int) -> tuple:
    from . import serial

    entry, opts = _TASKS[index]
    der, build_s, check_s = compute(entry, opts)
    return serial.dumps(der), build_s, check_s


class Run:
    """One run over ``entries``: ``derivations`` and ``timings`` in the entries' order."""

    def __init__(self, entries: list, opts, jobs: int = 1, cache=None, status=None, history=None):
        """``history``: a folder where the times of each run are kept, to start the longest derivations first
        next time (they decide only the order, never a result; the cache's folder by default, none without
        a cache)."""
        self.entries, self.opts, self.cache, self.status = entries, opts, cache, status
        self.history = history if history is not None else (cache.root if cache is not None else None)
        self.jobs = max(1, jobs)
        self.derivations: list = [None] * len(entries)
        self.timings: list = [None] * len(entries)
        self.keys = [entry_key(e, opts) for e in entries] if cache is not None else [None] * len(entries)

    def start(self) -> "Run":
        """Read what the cache holds and start the workers on the rest (before any other thread starts:
        the workers are forked)."""
        self._todo = [i for i in range(len(self.entries)) if not self._from_cache(i)]
        self._todo.sort(key=self._expected, reverse=True)
        self._pool = None
        if self.jobs > 1 and len(self._todo) > 1 and _can_fork():
            self._start_workers(min(self.jobs, len(self._todo)))
        return self

    def finish(self, status=None) -> "Run":
        """Wait for the workers (or compute here), reporting progress on ``status``."""
        self.status = status if status is not None else self.status
        if self._pool is not None:
            self._collect()
        else:
            for i in self._todo:
                self._here(i)
        self._save_hints()
        if self.cache is not None and any(t.source != "cache" for t in self.timings):
            self.cache.prune()
        return self

    def go(self) -> "Run":
        return self.start().finish()

    def _say(self, text: str) -> None:
        if self.status is not None:
            self.status.update(text)

    def _from_cache(self, i: int) -> bool:
        if self.cache is None:
            return False
        t0 = time.perf_counter()
        hit = self.cache.get(self.keys[i])
        entry = self.entries[i]
        if hit is not None and not _is_derivation_of(hit.derivation, entry):
            self.cache.discard(self.keys[i])  # a well-formed entry holding something else: derived again
            hit = None
        if hit is None:
            return False
        self.derivations[i] = hit.derivation
        self.timings[i] = Timing(entry.name, entry.question, hit.build_s, hit.check_s, "cache",
                                 time.perf_counter() - t0)
        return True

    def _here(self, i: int) -> None:
        entry = self.entries[i]
        self._say(f"deriving {entry.name} ({entry.question}) and running its cross-checks")
        der, build_s, check_s = compute(entry, self.opts)
        self._done(i, der, build_s, check_s, "computed here", None)

    def _done(self, i: int, der, build_s: float, check_s: float, source: str, data: bytes | None) -> None:
        from . import serial
        from .cache import record

        entry = self.entries[i]
        self.derivations[i] = der
        self.timings[i] = Timing(entry.name, entry.question, build_s, check_s, source)
        if self.cache is None or not (der.all_verified and der.all_checks_pass):
            return  # only verified derivations are kept (a check that ran out of time is not kept either)
        if data is None:
            try:
                data = serial.dumps(der)
            except serial.NotSerialisable:
                return
        self.cache.put(self.keys[i], record(data, build_s, check_s))

    def _start_workers(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _preload()
        _TASKS[:] = [(e, self.opts) for e in self.entries]
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                         initializer=_worker_start, initargs=(os.getpid(),))
        self._workers = workers
        try:
            self._futures = {self._pool.submit(_work, i): i for i in self._todo}  # all forked at the first
        except BaseException:
            _stop(self._pool)
            raise
        finally:
            _TASKS.clear()

    def _collect(self) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        from . import serial

        pending = set(self._futures)
        try:
            while pending:
                self._say(f"deriving in {self._workers} processes: {len(self._todo) - len(pending)} of "
                          f"{len(self._todo)} done")
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    i = self._futures[fut]
                    try:
                        data, build_s, check_s = fut.result()
                    except BrokenProcessPool:
                        raise WorkerFailed("a worker process stopped without an answer (killed from outside, "
                                           "or out of memory)") from None
                    except serial.NotSerialisable:
                        self._here(i)
                        continue
                    self._done(i, serial.loads(data), build_s, check_s, "worker", data)
        except BaseException:
            _stop(self._pool)
            raise
        self._pool.shutdown(wait=True)

    # -- the previous run's times, to start the longest derivations first ---------------------------------

    def _hints_path(self):
        return None if self.history is None else self.history / "timings.json"

    def _hints(self) -> dict:
        if not hasattr(self, "_hint_cache"):
            self._hint_cache = {}
            path = self._hints_path()
            data = None if path is None else read_own_file(path, 2 ** 20)
            if data is not None:
                try:
                    loaded = json.loads(data.decode("utf-8"))
                    self._hint_cache = {str(k): float(v) for k, v in loaded.items()}
                except (ValueError, TypeError, AttributeError):
                    pass
        return self._hint_cache

    def _expected(self, i: int) -> float:
        return self._hints().get(self.entries[i].name, 0.0)

    def _save_hints(self) -> None:
        path = self._hints_path()
        if path is None:
            return
        hints = dict(self._hints())
        hints.update({t.name: round(t.total_s, 3) for t in self.timings if t is not None})
        write_atomically(path, json.dumps(hints, sort_keys=True).encode("utf-8"))


def _preload() -> None:
    """Import what every worker and the printing afterwards need once, here, before the workers are forked."""
    import importlib

    for name in ("sympy", "numpy", "derive.model", "derive.verify", "derive.render.latex", "derive.render.html",
                 "derive.render.markdown", "derive.render.terminal", "derive.render.jsonout",
                 "derive.render.numpy_module"):
        importlib.import_module(name)


def _is_derivation_of(der, entry) -> bool:
    from .model import Derivation

    return isinstance(der, Derivation) and der.name == entry.name


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _stop(pool) -> None:
    """Stop the workers now (the run failed or was interrupted)."""
    processes = list(getattr(pool, "_processes", {}).values())
    for p in processes:
        try:
            p.kill()
        except (OSError, AttributeError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        try:
            p.join(5)
        except (OSError, AttributeError, AssertionError):
            pass


def profile_table(timings: list, phases: list):
    """A rich table: each derivation's time, slowest first, then the phases of the command (wall clock)."""
    from rich.table import Table

    cached = [t for t in timings if t.source == "cache"]
    caption = (f"{len(cached)} read from the cache in {sum(t.read_s for t in cached):.2f} s; their times are "
               "from when they were computed") if cached else None
    table = Table(title="Where the time went", title_justify="left", caption=caption, caption_justify="left")
    for col, just in (("derivation", "left"), ("question", "left"), ("deriving s", "right"),
                      ("checks s", "right"), ("total s", "right"), ("how", "left")):
        table.add_column(col, justify=just, no_wrap=True)
    for t in sorted(timings, key=lambda t: (-t.total_s, t.name)):
        table.add_row(t.name, t.question, f"{t.build_s:.2f}", f"{t.check_s:.2f}", f"{t.total_s:.2f}", t.source)
    table.add_section()
    for name, seconds in phases:
        table.add_row(name, "", "", "", f"{seconds:.2f}", "wall")
    return table
