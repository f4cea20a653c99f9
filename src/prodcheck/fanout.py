"""Sharing an audit's work with forked processes, on a machine with more than one CPU.

Python runs one thread of a process at a time, so one process evaluates the rules and writes
the reports on one CPU. Once the inventory is built, `share` runs a list of independent tasks
(the rules; the report formats) in this process and in forked copies of it, which see the
inventory as it is, without reading or copying it:

- **Each task once, whoever is free.** The task numbers wait in a pipe, longest first; every
  process takes the next when it is done with one, so that the processes end about together
  whatever the tasks cost. Each task's result comes back to this process (pickled as soon as
  it is made, through an unnamed temporary file) and the results are returned in the order of
  the tasks, as one process would have made them. A result that cannot be pickled (a rule's
  evidence may hold anything) is made again by this process.
- **Fail closed.** A process that ends without its results (it raised, was killed, called
  `os._exit`), or that finishes no task for longer than the caller allows, fails the whole of
  `share` with `WorkLost`: one line, and never a result with some tasks' results missing. The
  other processes are stopped.
- **Only where forking is safe**: on Linux, from a process running no other thread (a thread
  holding a lock at the fork leaves it held for ever in the copy). Elsewhere (Windows has no
  `fork`; macOS's system libraries are not safe to use after one) `jobs` says one process, and
  the tasks run here one after the other, exactly as without this module.

The copies share the parent's memory until either writes to a page. `gc.freeze` before the
fork keeps the cycle collector from writing to every object's header in the copies.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import select
import signal
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

from prodcheck.errors import UserError
from prodcheck.heap import own_peak_kib

T = TypeVar("T")

# The most processes `--jobs` may ask for.
MAX_JOBS = 64
# The most processes the automatic choice uses: beyond a few, forking and the indexes each
# process builds for itself cost more than the share of the work they take.
AUTO_JOBS = 4
# Task numbers are 4 bytes in a pipe that is filled before any process reads from it: a pipe
# holds 64 KiB before a write waits.
_INDEX = struct.Struct("!I")
MAX_TASKS = 65536 // _INDEX.size
# What a process writes to its status pipe: a byte per task done, then how it ended.
_PROGRESS, _DONE, _USER_ERROR, _FAILED = b".", b"D", b"U", b"E"


class WorkLost(UserError):
    """A process sharing the work ended without its results: the work is not done.

    One line and exit code 2, as for any error that leaves the audit without a verdict.
    """


@dataclass
class ChildStats:
    """What one forked process used, for `benchmarks/audit.py`."""

    pid: int
    cpu: float  # seconds of CPU (user + system)
    peak_rss_kib: int  # its max RSS, which counts the pages it shares with its parent
    shared_kib: int  # of its resident pages, those still shared when it ended (0: not known)
    private_kib: int  # its resident pages no other process has (USS) when it ended
    # This process's peak resident memory (VmHWM) when that one ended, before its results were
    # read: what this process held at most while the other was alive.
    parent_peak_kib: int = 0


@dataclass
class Measure:
    """Set `on` to have each forked process report what it used (reading /proc costs time)."""

    on: bool = False
    children: list[ChildStats] = field(default_factory=list)


MEASURE = Measure()


# Where a Linux container's CPU quota is (cgroup v2): "max 100000", or "150000 100000" for
# one and a half CPUs' time.
CPU_MAX = "/sys/fs/cgroup/cpu.max"


def cpus() -> int:
    """The CPUs this process may run on (its affinity where the system says), and no more than
    its container's CPU quota allows in whole CPUs; at least 1."""
    count = max(1, os.cpu_count() or 1)
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        with contextlib.suppress(OSError):
            count = max(1, len(affinity(0)))
    with contextlib.suppress(OSError, ValueError, ZeroDivisionError):
        with open(CPU_MAX, encoding="ascii") as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            count = min(count, max(1, int(quota) // int(period)))
    return count


def can_fork() -> bool:
    """Whether this process may share work with forked copies of itself (see the module)."""
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "fork")
        and threading.active_count() == 1
        and threading.current_thread() is threading.main_thread()
    )


def parse_jobs(text: Any, where: str) -> int | None:
    """`auto` (None) or a whole number of processes from 1 to MAX_JOBS, else a UserError."""
    value = text.strip().lower() if isinstance(text, str) else text
    if value == "auto" or value is None:
        return None
    count = None
    if isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, str) and value.isdigit() and len(value) <= 3:
        count = int(value)
    if count is None or not 1 <= count <= MAX_JOBS:
        shown = repr(text) if isinstance(text, str | int) else type(text).__name__
        raise UserError(
            f"{where} must be auto or a whole number of processes from 1 to {MAX_JOBS}, not "
            f"{shown}: {where} 2 (1 runs everything in one process)"
        )
    return count


def jobs_for(requested: int | None, work: int, least: int) -> int:
    """How many processes share `work` (resources, findings): `requested` if given, else one
    per CPU (at most AUTO_JOBS) when `work` is at least `least`; one where forking is not
    safe (`can_fork`), whatever was asked."""
    if not can_fork():
        return 1
    if requested is not None:
        return max(1, min(requested, MAX_JOBS))
    if work < least:
        return 1
    return min(cpus(), AUTO_JOBS)


def _take(queue: int) -> int | None:
    """The next task number from the queue pipe, or None when none is left."""
    got = os.read(queue, _INDEX.size)
    if not got:
        return None
    if len(got) != _INDEX.size:  # cannot happen: reads of a full pipe take whole numbers
        raise RuntimeError("task queue read out of step")
    number: int = _INDEX.unpack(got)[0]
    return number


def _usage() -> ChildStats:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    shared = private = 0
    with contextlib.suppress(OSError, ValueError), open("/proc/self/smaps_rollup") as fh:
        for line in fh:
            name, _, rest = line.partition(":")
            if name in ("Shared_Clean", "Shared_Dirty"):
                shared += int(rest.split()[0])
            elif name in ("Private_Clean", "Private_Dirty"):
                private += int(rest.split()[0])
    return ChildStats(
        os.getpid(), usage.ru_utime + usage.ru_stime, usage.ru_maxrss, shared, private
    )


def _child(tasks: Sequence[Callable[[], Any]], queue: int, status: int, out: IO[bytes]) -> None:
    """A forked process: run tasks from the queue, write their results to `out`, end."""
    code = 1
    try:
        # Ctrl-C reaches every process of the terminal: the parent stops this one.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while (number := _take(queue)) is not None:
            # Each result is written as soon as it is made, and let go: this process never
            # holds the results of all its tasks at once.
            result = tasks[number]()
            try:
                data = pickle.dumps((number, result), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - what a rule made may not be picklable
                # The parent runs the task again itself, where its result need not travel.
                data = pickle.dumps((number, _Again()))
            del result
            out.write(data)
            os.write(status, _PROGRESS)
        pickle.dump((None, _usage() if MEASURE.on else None), out)
        out.flush()
        os.write(status, _DONE)
        code = 0
    except UserError as exc:
        with contextlib.suppress(BaseException):
            os.write(status, _USER_ERROR + str(exc).encode("utf-8", "replace")[:4000])
        code = 2
    except BaseException as exc:  # noqa: BLE001 - whatever it was, this process has failed
        # Only the kind of error: its message may quote the data.
        with contextlib.suppress(BaseException):
            os.write(status, _FAILED + type(exc).__name__.encode("ascii", "replace")[:200])
    finally:
        # What a task printed: the parent's buffers were empty at the fork, so this is only
        # this process's own output.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(code)


class _Again:
    """In place of a result that could not be sent: the parent runs the task itself."""


@dataclass
class _Worker:
    pid: int
    status: int
    out: IO[bytes]
    said: bytearray = field(default_factory=bytearray)
    exit_status: int | None = None

    def reap(self, *, kill: bool) -> None:
        if self.exit_status is not None:
            return
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            _, self.exit_status = os.waitpid(self.pid, 0)

    def how_it_ended(self) -> str:
        status = self.exit_status
        if status is not None and os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = str(number)
            return f"was killed by signal {name}"
        if status is not None and os.WIFEXITED(status):
            return f"ended with exit code {os.WEXITSTATUS(status)}"
        return "ended"


def _finish(worker: _Worker, what: str, stall: float | None) -> list[tuple[int, Any]]:
    """Wait for `worker` to end, and its results; WorkLost if it ends without them."""
    last = time.monotonic()
    while True:
        wait = None if stall is None else max(stall - (time.monotonic() - last), 0.0)
        ready, _, _ = select.select([worker.status], [], [], wait)
        if not ready:
            worker.reap(kill=True)
            raise WorkLost(
                f"a process {what} finished nothing for {stall:g} s and was stopped; nothing was "
                "written: run again, or with --jobs 1 to use one process"
            )
        got = os.read(worker.status, 65536)
        if not got:
            break
        worker.said += got
        last = time.monotonic()
    worker.reap(kill=False)
    peak_meanwhile = own_peak_kib() if MEASURE.on else 0
    said = bytes(worker.said).lstrip(_PROGRESS)
    if said[:1] == _USER_ERROR:
        raise UserError(said[1:].decode("utf-8", "replace"))
    ok = said == _DONE and worker.exit_status == 0
    if not ok:
        why = f" on {said[1:].decode('ascii', 'replace')}" if said[:1] == _FAILED else ""
        raise WorkLost(
            f"a process {what} {worker.how_it_ended()}{why} before it sent its results; nothing "
            "was written: run again, or with --jobs 1 to use one process"
        )
    worker.out.seek(0)
    results: list[tuple[int, Any]] = []
    while True:
        number, value = pickle.load(worker.out)
        if number is None:
            break
        results.append((number, value))
    if value is not None:
        value.parent_peak_kib = peak_meanwhile
        MEASURE.children.append(value)
    return results


def share(
    tasks: Sequence[Callable[[], T]],
    jobs: int,
    *,
    what: str,
    stall: float | None = None,
    order: Sequence[int] | None = None,
) -> list[T]:
    """Each of `tasks` run once, by this process and `jobs - 1` forked copies of it; their
    results in the order of `tasks`.

    `order` is the order in which the tasks are handed out (the costliest first). `what` names
    the work in errors ("evaluating rules"). A forked process that finishes no task for `stall`
    seconds is stopped (None: no limit). A task that raises in this process raises here, once
    the other processes are stopped; one that raises in another process is a WorkLost (a
    UserError keeps its message).
    """
    count = len(tasks)
    jobs = min(jobs, count)
    if jobs <= 1 or count > MAX_TASKS:
        return [task() for task in tasks]
    handed = list(order) if order is not None else list(range(count))
    if sorted(handed) != list(range(count)):
        raise ValueError("order must hand out every task once")
    queue, filling = os.pipe()
    workers: list[_Worker] = []
    frozen = False
    try:
        os.write(filling, b"".join(_INDEX.pack(i) for i in handed))
        os.close(filling)
        filling = -1
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        gc.freeze()
        frozen = True
        for _ in range(jobs - 1):
            # No temporary file, no pipe or no process to be had (a full disk, a limit on
            # processes): the processes started so far, this one included, do the work.
            try:
                out = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
            except OSError:
                break
            try:
                status, said = os.pipe()
            except OSError:
                out.close()
                break
            try:
                pid = os.fork()
            except OSError:
                out.close()
                os.close(status)
                os.close(said)
                break
            if pid == 0:  # pragma: no cover - the forked process; its coverage is not gathered
                os.close(status)
                _child(tasks, queue, said, out)
            os.close(said)
            workers.append(_Worker(pid, status, out))
        results: dict[int, Any] = {}
        while (number := _take(queue)) is not None:
            results[number] = tasks[number]()
        for worker in workers:
            results.update(_finish(worker, what, stall))
        for number in sorted(n for n, r in results.items() if isinstance(r, _Again)):
            results[number] = tasks[number]()
        if len(results) != count:  # every number was taken: cannot happen
            raise WorkLost(f"the processes {what} returned {len(results)} of {count} results")
        return [results[i] for i in range(count)]
    finally:
        for worker in workers:
            worker.reap(kill=True)
            os.close(worker.status)
            worker.out.close()
        if filling != -1:
            os.close(filling)
        os.close(queue)
        if frozen:
            gc.unfreeze()


# ---- one task in the background ---------------------------------------------------------------


class Background:
    """A task running in a forked copy of this process (see `in_background`)."""

    def __init__(self, pid: int, status: int, said: int, out: IO[bytes]) -> None:
        self._worker = _Worker(pid, status, out)
        self._said = said  # the pipe of the one early word the task may say (`tell`)
        self._word: bytes | None = None
        self._closed = False

    def word(self, timeout: float) -> bytes | None:
        """What the task said early with `tell` (waiting up to `timeout` seconds for it); None
        if it said nothing, or ended without saying it, in that time."""
        if self._word is None and not self._closed:
            ready, _, _ = select.select([self._said], [], [], timeout)
            if ready:
                got = bytearray()
                while chunk := os.read(self._said, 65536):
                    got += chunk
                self._word = bytes(got)
        return self._word or None

    def result(self, what: str, stall: float | None = None) -> Any:
        """The task's result, once it has ended; WorkLost if it ended without one."""
        try:
            results = _finish(self._worker, what, stall)
        finally:
            self.close()
        if len(results) != 1:
            raise WorkLost(f"a process {what} returned no result")
        return results[0][1]

    def close(self) -> None:
        """Stop the task if it still runs (its result, if any, is not wanted); let it go."""
        if self._closed:
            return
        self._closed = True
        self._worker.reap(kill=True)
        for fd in (self._worker.status, self._said):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._worker.out.close()


def in_background(task: Callable[[Callable[[bytes], None]], Any]) -> Background | None:
    """`task` started in a forked copy of this process, or None where none can be started
    (`can_fork`, or no pipe, file or process to be had): then the caller does the work itself.

    The task is called with `tell`, which sends this process one short word early (at most
    a few hundred bytes, once), before its result; see `Background.word`. Its result travels
    back as `share`'s do, and a process that ends without it is a WorkLost."""
    if not can_fork():
        return None
    opened: list[int] = []
    try:
        out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by Background.close
    except OSError:
        return None
    try:
        queue, filling = os.pipe()
        opened += [queue, filling]
        status, status_end = os.pipe()
        opened += [status, status_end]
        said, said_end = os.pipe()
        opened += [said, said_end]
        os.write(filling, _INDEX.pack(0))
        os.close(filling)
        opened.remove(filling)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        pid = os.fork()
    except OSError:
        for fd in opened:
            os.close(fd)
        out.close()
        return None
    if pid == 0:  # pragma: no cover - the forked process; its coverage is not gathered
        os.close(status)
        os.close(said)

        def tell(word: bytes) -> None:
            with contextlib.suppress(OSError):
                os.write(said_end, word[:512])
                os.close(said_end)

        _child([lambda: task(tell)], queue, status_end, out)
    os.close(queue)
    os.close(status_end)
    os.close(said_end)
    return Background(pid, status, said, out)
