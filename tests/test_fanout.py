"""Work shared with forked processes (prodcheck.fanout): results as one process gives them,
and any process that dies, raises or hangs fails the whole closed."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from forks import no_child_left

from prodcheck import fanout
from prodcheck.errors import UserError
from prodcheck.fanout import WorkLost, jobs_for, parse_jobs, share

pytestmark = pytest.mark.skipif(not fanout.can_fork(), reason="forks only on Linux")

PARENT = os.getpid()


def _slow(i: int) -> tuple[int, int]:
    time.sleep(0.02)
    return i * i, os.getpid()


def test_shared_tasks_return_their_results_in_task_order_from_several_processes():
    tasks = [lambda i=i: _slow(i) for i in range(30)]
    order = list(reversed(range(30)))
    got = share(tasks, 3, what="testing", order=order)
    assert [square for square, _ in got] == [i * i for i in range(30)]
    assert len({pid for _, pid in got}) > 1  # the work was shared
    assert PARENT in {pid for _, pid in got}
    assert no_child_left()


def test_one_job_runs_every_task_here_in_order():
    seen: list[int] = []
    got = share([lambda i=i: seen.append(i) or i for i in range(5)], 1, what="testing")
    assert got == [0, 1, 2, 3, 4] and seen == [0, 1, 2, 3, 4]


def test_an_order_that_skips_a_task_is_refused():
    with pytest.raises(ValueError):
        share([lambda: 1, lambda: 2], 2, what="testing", order=[0, 0])


def _in_child(fault):
    def task(i: int) -> int:
        time.sleep(0.02)
        if os.getpid() != PARENT:
            fault()
        return i

    return [lambda i=i: task(i) for i in range(20)]


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _exit_quietly() -> None:
    os._exit(0)


def _raise() -> None:
    raise RuntimeError("secret=hunter2 broke it")


def _hang() -> None:
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    time.sleep(3600)


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (_kill, "was killed by signal SIGKILL"),
        (_exit_quietly, "ended with exit code 0"),
        (_raise, "ended with exit code 1 on RuntimeError"),
    ],
)
def test_a_process_that_ends_without_its_results_fails_the_whole_in_one_line(fault, said):
    with pytest.raises(WorkLost) as info:
        share(_in_child(fault), 2, what="evaluating rules")
    message = str(info.value)
    assert said in message and "evaluating rules" in message and "--jobs 1" in message
    assert "\n" not in message and "hunter2" not in message
    assert no_child_left()


def test_a_process_that_finishes_nothing_within_the_stall_bound_is_stopped():
    began = time.monotonic()
    with pytest.raises(WorkLost, match="finished nothing for 0.5 s"):
        share(_in_child(_hang), 2, what="evaluating rules", stall=0.5)
    assert time.monotonic() - began < 30
    assert no_child_left()


def test_a_user_error_in_another_process_keeps_its_message():
    def fault() -> None:
        raise UserError("cannot write out.json (No space left on device)")

    with pytest.raises(UserError, match="No space left on device") as info:
        share(_in_child(fault), 2, what="writing reports")
    assert not isinstance(info.value, WorkLost)


def test_a_task_that_raises_here_raises_here_and_stops_the_others():
    def task(i: int) -> int:
        if os.getpid() == PARENT:
            raise KeyError("here")
        time.sleep(0.05)
        return i

    with pytest.raises(KeyError):
        share([lambda i=i: task(i) for i in range(10)], 2, what="testing")
    assert no_child_left()


def test_jobs_asked_for_are_given_and_auto_follows_size_and_cpus(monkeypatch):
    assert jobs_for(3, 10, least=2000) == 3
    assert jobs_for(None, 10, least=2000) == 1
    monkeypatch.setattr(fanout, "cpus", lambda: 1)
    assert jobs_for(None, 10_000, least=2000) == 1
    monkeypatch.setattr(fanout, "cpus", lambda: 16)
    assert jobs_for(None, 10_000, least=2000) == fanout.AUTO_JOBS


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_no_fork_where_it_is_missing_or_unsafe(monkeypatch, platform):
    monkeypatch.setattr(fanout.sys, "platform", platform)
    assert not fanout.can_fork()
    assert jobs_for(4, 10_000, least=1) == 1


def test_no_fork_while_another_thread_runs():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not fanout.can_fork()
        assert jobs_for(2, 10_000, least=1) == 1
    finally:
        stop.set()
        thread.join()
    assert fanout.can_fork()


@pytest.mark.parametrize(("text", "jobs"), [("auto", None), ("1", 1), (" 4 ", 4), (64, 64)])
def test_jobs_parse_auto_or_a_count(text, jobs):
    assert parse_jobs(text, "--jobs") == jobs


@pytest.mark.parametrize("text", ["0", "65", "-1", "two", "1.5", "", True, 2.0, "9999999"])
def test_bad_jobs_are_one_line_naming_the_flag(text):
    with pytest.raises(UserError) as info:
        parse_jobs(text, "--jobs")
    assert str(info.value).startswith("--jobs must be auto or a whole number")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "missing, module, name, error",
    [
        (
            "a process to fork",
            "os",
            "fork",
            BlockingIOError(11, "Resource temporarily unavailable"),
        ),
        ("a temporary file", "tempfile", "TemporaryFile", OSError(28, "No space left on device")),
    ],
)
def test_without_what_sharing_needs_this_process_does_all_the_work(
    missing, module, name, error, monkeypatch
):
    def refused(*args, **kwargs):
        raise error

    monkeypatch.setattr(getattr(fanout, module), name, refused)
    got = share([lambda i=i: _slow(i) for i in range(6)], 3, what="testing")
    assert got == [(i * i, PARENT) for i in range(6)], missing


def test_a_result_that_cannot_travel_is_made_again_here():
    def task(i: int) -> object:
        time.sleep(0.02)
        return (i, os.getpid(), lambda: i)  # a lambda cannot be pickled

    got = share([lambda i=i: task(i) for i in range(12)], 2, what="testing")
    assert [(i, pid) for i, pid, _ in got] == [(i, PARENT) for i in range(12)]
    assert [f() for _, _, f in got] == list(range(12))


@pytest.mark.parametrize(
    ("text", "most"), [("max 100000", 64), ("150000 100000", 1), ("400000 100000", 4), ("junk", 64)]
)
def test_cpus_follow_the_containers_cpu_quota(tmp_path, monkeypatch, text, most):
    quota = tmp_path / "cpu.max"
    quota.write_text(text + "\n")
    monkeypatch.setattr(fanout, "CPU_MAX", str(quota))
    monkeypatch.setattr(fanout.os, "sched_getaffinity", lambda pid: set(range(64)))
    assert fanout.cpus() == most
