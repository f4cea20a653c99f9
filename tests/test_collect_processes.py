"""Collecting with several processes: the same snapshot as one process, and failing closed.

The workers are real processes running the real SDK clients against the fake ARM; only the
token is fake, and it reaches them from this process over their socket.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest
from fake_arm.arm_json import SUB, SUB2, small_estate

from prodcheck.cli import main
from prodcheck.collect import collect_snapshot, processes
from prodcheck.collect.options import CollectOptions
from prodcheck.errors import UserError

pytest_plugins = ["fake_arm.fixtures"]

VAULT = "Microsoft.KeyVault/vaults"
SUB3 = "3c9e1f2a-7b4d-4e6f-8a1b-5c2d3e4f5a6b"
SUB4 = "4d0f2a3b-8c5e-4f70-9b2c-6d3e4f5a6b7c"
SUBS = [SUB, SUB2, SUB3, SUB4]
NEEDS = [
    "Microsoft.ApiManagement/service/apis/policies",
    "Microsoft.ApiManagement/service/policies",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    VAULT,
    "Microsoft.Storage/storageAccounts",
    "Microsoft.Insights/diagnosticSettings",
]


def estate(subscriptions: list[str] = SUBS) -> list[dict]:
    text = json.dumps(small_estate())
    return [r for s in subscriptions for r in json.loads(text.replace(SUB, s))]


def without_time(snapshot: dict) -> dict:
    out = dict(snapshot)
    out.pop("collectedAt")
    graph = out["scope"].get("resourceGraph")
    if graph is not None:  # each worker queries for its own subscriptions
        out["scope"] = dict(out["scope"], resourceGraph=dict(graph, queries=0, queriedAt=""))
    return out


@pytest.fixture
def spawned(monkeypatch):
    """The worker processes started, and the command line and environment of each."""
    started: list[tuple[subprocess.Popen, list[str], dict[str, str]]] = []
    real = subprocess.Popen

    def spy(args, **kwargs):
        process = real(args, **kwargs)
        started.append((process, list(args), dict(kwargs.get("env") or {})))
        return process

    monkeypatch.setattr(
        processes, "subprocess", SimpleNamespace(Popen=spy, DEVNULL=subprocess.DEVNULL)
    )
    return started


@pytest.mark.parametrize("graph", ["never", "always"])
def test_several_processes_collect_the_snapshot_one_process_does(
    graph, fake_arm, make_options, spawned
):
    fake_arm.serve(estate())
    # Hostile and failing answers in some subscriptions only: a page that is not JSON, a
    # refusal, a nextLink that loops.
    fake_arm.fault(rf"/subscriptions/{SUB2}/providers/Microsoft.KeyVault/vaults", malformed=True)
    fake_arm.fault(rf"/subscriptions/{SUB3}/.*/privateEndpoints/pe-kv/", status=403)
    fake_arm.fault(rf"/subscriptions/{SUB4}/.*/apis$", next_link="loop")
    one = collect_snapshot(
        make_options(subscriptions=SUBS, collect_processes=1, resource_graph=graph), NEEDS
    )
    assert spawned == []
    two = collect_snapshot(
        make_options(subscriptions=SUBS, collect_processes=2, resource_graph=graph), NEEDS
    )
    assert len(spawned) == 2
    assert without_time(two) == without_time(one)
    failed = {
        (c["errorCode"], c["scope"].split("/")[2]) for c in two["coverage"] if c["status"] != "ok"
    }
    assert ("MalformedResponse", SUB2) in failed or graph == "always"
    assert ("AuthorizationFailed", SUB3) in failed
    assert ("PagingLoop", SUB4) in failed
    assert {r["id"].split("/")[2] for r in two["resources"]} == set(SUBS)


def test_a_killed_worker_leaves_its_subscriptions_failed_not_missing(
    fake_arm, make_options, spawned, capsys
):
    fake_arm.serve(estate([SUB, SUB2]))
    # The read hangs far longer than the audit may wait for it after the kill: returning in
    # time shows the lost worker was noticed, not waited out. Timed from the kill, so that a
    # loaded machine's slow process start does not count.
    fake_arm.hang_seconds = 120.0
    fake_arm.fault(rf"/subscriptions/{SUB2}/providers/Microsoft.KeyVault/vaults", hang=True)
    killed_at: list[float] = []

    def kill_the_worker_of_sub2() -> None:
        for _ in range(1200):
            if any(SUB2 in r.path and "KeyVault" in r.path for r in fake_arm.requests):
                break
            time.sleep(0.05)
        spawned[1][0].kill()  # dealt in turn: the second worker reads SUB2
        killed_at.append(time.monotonic())

    killer = threading.Thread(target=kill_the_worker_of_sub2)
    killer.start()
    snap = collect_snapshot(
        make_options(subscriptions=[SUB, SUB2], collect_processes=2, timeout=90.0), NEEDS
    )
    returned_at = time.monotonic()
    killer.join()
    assert killed_at and returned_at - killed_at[0] < 45
    assert {r["id"].split("/")[2] for r in snap["resources"]} == {SUB}
    lost = [c for c in snap["coverage"] if c["scope"] == f"/subscriptions/{SUB2}"]
    assert lost and all(c["status"] == "failed" for c in lost)
    assert {c["errorCode"] for c in lost} == {"CollectionProcessLost"}
    # Every type read in SUB2, top-level and child alike, is a failed read there.
    assert {c["resourceType"].lower() for c in lost} == {
        c["resourceType"].lower()
        for c in snap["coverage"]
        if c["scope"].startswith(f"/subscriptions/{SUB}")
    }
    assert "ended without its results" in capsys.readouterr().err


def test_a_worker_that_never_answers_is_stopped_at_the_deadline(
    fake_arm, make_options, monkeypatch
):
    fake_arm.serve(estate([SUB, SUB2]))
    monkeypatch.setattr(processes, "RESULT_GRACE", 0.5)
    monkeypatch.setattr(
        processes,
        "_worker_command",
        lambda fd: [sys.executable, "-c", "import time; time.sleep(60)"],
    )
    started = time.monotonic()
    snap = collect_snapshot(
        make_options(subscriptions=[SUB, SUB2], collect_processes=2, deadline=1.0), [VAULT]
    )
    assert time.monotonic() - started < 10
    assert snap["resources"] == []
    assert {(c["scope"], c["errorCode"]) for c in snap["coverage"]} == {
        (f"/subscriptions/{SUB}", "DeadlineExceeded"),
        (f"/subscriptions/{SUB2}", "DeadlineExceeded"),
    }


def test_a_read_hanging_in_one_worker_ends_at_the_deadline_with_the_rest_kept(
    fake_arm, make_options
):
    fake_arm.serve(estate([SUB, SUB2]))
    fake_arm.hang_seconds = 30.0
    fake_arm.fault(rf"/subscriptions/{SUB2}/providers/Microsoft.KeyVault/vaults", hang=True)
    started = time.monotonic()
    snap = collect_snapshot(
        make_options(subscriptions=[SUB, SUB2], collect_processes=2, timeout=30, deadline=12.0),
        NEEDS,
    )
    assert time.monotonic() - started < 12.0 + processes.RESULT_GRACE
    late = {(c["resourceType"], c["scope"]) for c in snap["coverage"] if c["status"] != "ok"}
    assert (VAULT, f"/subscriptions/{SUB2}") in late
    assert {r["id"].split("/")[2] for r in snap["resources"] if VAULT in r["id"]} == {SUB}


def test_workers_get_their_token_from_this_process_not_their_command_line(
    fake_arm, make_options, fake_credential, spawned
):
    fake_arm.serve(estate([SUB, SUB2]))
    snap = collect_snapshot(make_options(subscriptions=[SUB, SUB2], collect_processes=2), [VAULT])
    assert {r["id"].split("/")[2] for r in snap["resources"]} == {SUB, SUB2}
    assert len(spawned) == 2
    for _, args, env in spawned:
        assert not any("fake-token" in a for a in args)
        assert not any("fake-token" in v for v in env.values())
        assert args[-1].isdigit()  # the socket's number, nothing else
    assert fake_credential.calls == 1  # asked once, here; the workers' tokens came from it


def test_workers_do_not_run_the_azure_cli_again(fake_arm, make_options, fake_az):
    fake_arm.serve(estate([SUB, SUB2]))
    options = make_options(
        subscriptions=[SUB, SUB2], credential=None, auth="cli", collect_processes=2
    )
    snap = collect_snapshot(options, [VAULT])
    assert len(snap["resources"]) == 4
    assert len([c for c in fake_az() if c[:2] == ["account", "get-access-token"]]) == 1


def test_a_logged_out_cli_is_one_line_and_exit_2_before_any_worker_starts(
    fake_arm, fake_az, tmp_path, monkeypatch, capsys, spawned
):
    monkeypatch.setenv("FAKE_AZ_LOGGED_OUT", "1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake_arm.ca_path(tmp_path))
    args = ["snapshot", "-o", str(tmp_path / "s.json"), "--arm-endpoint", fake_arm.base_url]
    args += ["--auth", "cli", "-q", "--subscription", SUB, "--subscription", SUB2]
    args += ["--collect-processes", "2", "--rule", "PC-KV-*"]
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "az login" in err
    assert spawned == []


def test_the_request_count_adds_up_every_process(fake_arm, make_options, capsys):
    fake_arm.serve(estate())
    collect_snapshot(
        make_options(subscriptions=SUBS, collect_processes=3, quiet=False, progress=True), NEEDS
    )
    err = capsys.readouterr().err
    assert f"with {len(fake_arm.requests)} requests" in err


def test_cli_collects_with_the_processes_asked_for(
    fake_arm, fake_az, tmp_path, monkeypatch, spawned
):
    fake_arm.serve(estate([SUB, SUB2]))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake_arm.ca_path(tmp_path))
    out = tmp_path / "s.json"
    args = ["snapshot", "-o", str(out), "--arm-endpoint", fake_arm.base_url, "--auth", "cli"]
    args += ["-q", "--subscription", SUB, "--subscription", SUB2, "--collect-processes", "2"]
    args += ["--rule", "PC-KV-*"]
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code in (0, None)
    assert len(spawned) == 2
    snap = json.loads(out.read_text())
    assert {r["id"].split("/")[2] for r in snap["resources"] if VAULT in r["id"]} == {SUB, SUB2}


@pytest.mark.parametrize(
    "subscriptions, cpus, given, expected",
    [
        (1, 8, None, 1),
        (4, 8, None, 1),
        (15, 8, None, 1),
        (16, 8, None, 2),
        (16, 2, None, 2),
        (50, 2, None, 3),  # one more than the CPUs: each process leaves part of its CPU idle
        (50, 1, None, 2),
        (50, 16, None, 6),
        (2, 8, 4, 2),  # never more processes than subscriptions
        (50, 8, 1, 1),
    ],
)
def test_default_processes_follow_the_subscriptions_and_the_cpus(
    subscriptions, cpus, given, expected
):
    options = CollectOptions(collect_processes=given)
    assert options.processes(subscriptions, cpus=cpus) == expected


def test_no_more_processes_than_requests_in_flight():
    assert CollectOptions(collect_processes=8, concurrency=3).processes(50, cpus=8) == 3


def test_subscriptions_and_requests_in_flight_are_shared_out_whole():
    shares = processes.partition([f"s{i}" for i in range(50)], 3)
    assert [len(s) for s in shares] == [17, 17, 16]
    assert sorted(x for s in shares for x in s) == sorted(f"s{i}" for i in range(50))
    assert processes.split(64, [17, 17, 16]) == [22, 22, 20]
    assert sum(processes.split(7, [1, 1, 1, 1])) == 7
    assert processes.split(2, [1, 1, 1]) == [1, 1, 1]


def test_zero_processes_is_a_user_error(make_options):
    with pytest.raises(UserError, match="collect_processes"):
        collect_snapshot(make_options(subscriptions=[SUB], collect_processes=0), [VAULT])


def test_the_configuration_sets_the_processes(tmp_path):
    from prodcheck.config import parse_config

    cfg = parse_config("scope:\n  collect_processes: 3\n", tmp_path / "prodcheck.yaml")
    assert cfg.collect_processes == 3


@pytest.mark.parametrize("value", ["0", "65", "two", "true", "1.5", "[2]"])
def test_a_bad_processes_count_in_the_configuration_is_one_line(value, tmp_path):
    from prodcheck.config import parse_config

    with pytest.raises(UserError) as info:
        parse_config(f"scope:\n  collect_processes: {value}\n", tmp_path / "prodcheck.yaml")
    message = str(info.value)
    assert "\n" not in message and "scope.collect_processes" in message


def test_a_worker_that_cannot_be_started_is_one_line_naming_the_fix(
    fake_arm, make_options, monkeypatch
):
    fake_arm.serve(estate([SUB, SUB2]))

    def cannot(*args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(processes, "subprocess", SimpleNamespace(Popen=cannot, DEVNULL=-3))
    with pytest.raises(UserError, match="--collect-processes 1") as info:
        collect_snapshot(make_options(subscriptions=[SUB, SUB2], collect_processes=2), [VAULT])
    assert "\n" not in str(info.value)


def test_a_worker_that_fails_says_only_the_kind_of_error_and_sends_no_results():
    # A job whose option name carries terminal escapes and a planted secret: the error it
    # raises repeats that name, and none of it may reach the terminal through the worker.
    planted = "\x1b]8;;https://evil.example\x07AccountKey=c2VjcmV0c2VjcmV0c2VjcmV0\x1b[2J"
    ours, theirs = socket.socketpair()
    worker = subprocess.Popen(
        processes._worker_command(theirs.fileno()),
        pass_fds=(theirs.fileno(),),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(
            os.environ,
            PYTHONPATH=str(processes.Path(processes.__file__).resolve().parents[2]),
        ),
    )
    theirs.close()
    channel = processes.Channel(ours)
    channel.send(("job", {"options": {planted: 1}}))
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 1
    assert channel.receive() is None  # no results: the parent records the reads as failed
    channel.close()
    text = err.decode("utf-8", "replace")
    assert text == "prodcheck: a collecting process stopped on TypeError\n"
    assert "AccountKey" not in text and "\x1b" not in text


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_each_worker_reports_its_own_peak_memory_not_the_starting_process_peak(
    fake_arm, make_options
):
    from prodcheck.collect.engine import collect

    fake_arm.serve(estate())
    # Max RSS is kept across exec: a worker counting it would report at least this much.
    held = b"x" * (400 << 20)
    try:
        _, stats = collect(make_options(subscriptions=SUBS, collect_processes=2), NEEDS)
    finally:
        del held
    peaks = stats["workerPeakRssKiB"]
    assert len(peaks) == 2
    assert all(0 < kib < 300 * 1024 for kib in peaks)
