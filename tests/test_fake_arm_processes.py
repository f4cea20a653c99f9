"""The benchmarks' fake ARM answered by several forked processes: the same answers and log as
the threaded one the tests use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from fake_arm.arm_json import SUB, SUB2, small_estate
from fake_arm.server import FakeArm

from prodcheck.collect import collect_snapshot
from prodcheck.collect.options import CollectOptions

pytest_plugins = ["fake_arm.fixtures"]

AUTH = {"Authorization": "Bearer fake-token"}


def estate() -> list[dict]:
    text = json.dumps(small_estate())
    return [r for s in (SUB, SUB2) for r in json.loads(text.replace(SUB, s))]


def started(ca, processes: int, fault: bool = False) -> FakeArm:
    fake = FakeArm(ca, page_size=1, processes=processes)
    fake.serve(estate())
    fake.graph_quota = 3
    if fault:  # a fault set: the forked processes keep a thread per connection
        fake.fault(r"/subscriptions/never-asked/", status=500)
    return fake.start()


def answers(fake: FakeArm, tmp_path: Path) -> list[tuple[int, str, str, str]]:
    apim = estate()[0]["id"]
    asks = [
        ("GET", f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/vaults", {}),
        ("GET", f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/vaults", {"$skiptoken": "1"}),
        ("GET", apim, {}),
        ("GET", apim + "/apis", {}),
        ("GET", apim + "/policies/policy", {"format": "rawxml"}),
        ("GET", apim + "/apis/nope", {}),
        ("GET", f"/subscriptions/{SUB2}/resources", {"$filter": "resourceType eq 'x/y'"}),
        ("GET", "/subscriptions/00000000-0000-0000-0000-000000000000", {}),
        ("PUT", apim, {}),
    ]
    out = []
    with requests.Session() as session:
        for method, path, params in asks:
            reply = session.request(
                method,
                fake.base_url + path,
                params={"api-version": "2024-01-01", **params},
                headers=AUTH,
                verify=fake.ca_path(tmp_path),
                timeout=5,
            )
            body = reply.text.replace(fake.base_url, "BASE")
            out.append((reply.status_code, reply.headers["Content-Type"], reply.reason, body))
        for _ in range(4):  # the Resource Graph quota is one for all the processes
            reply = session.post(
                fake.base_url + "/providers/Microsoft.ResourceGraph/resources",
                json={"subscriptions": [SUB], "query": "Resources", "options": {"$top": 5}},
                headers=AUTH,
                verify=fake.ca_path(tmp_path),
                timeout=5,
            )
            out.append((reply.status_code, reply.headers["Content-Type"], reply.reason, ""))
    return out


@pytest.mark.parametrize("fault", [False, True], ids=["event-loop", "thread-per-connection"])
def test_forked_processes_answer_what_the_threaded_fake_answers(fault, arm_ca, tmp_path):
    one, two = started(arm_ca, 1, fault), started(arm_ca, 2, fault)
    try:
        expected, got = answers(one, tmp_path), answers(two, tmp_path)
    finally:
        one.stop()
        two.stop()
    assert got == expected
    assert [s for s, *_ in got[-4:]] == [200, 200, 200, 429]
    assert [(r.method, r.path) for r in two.requests] == [(r.method, r.path) for r in one.requests]
    assert two.processes_cpu > 0


def test_a_collection_through_forked_processes_reads_the_same_snapshot(
    arm_ca, tmp_path, fake_credential
):
    snapshots, logs = [], []
    for processes in (1, 2):
        fake = FakeArm(arm_ca, page_size=1, processes=processes)
        fake.serve(estate())
        with fake:
            options = CollectOptions(
                subscriptions=[SUB, SUB2],
                credential=fake_credential,
                arm_endpoint=fake.base_url,
                connection_verify=fake.ca_path(tmp_path),
                retry_total=1,
                timeout=5.0,
                quiet=True,
                rate_limit=0,
                concurrency=2,
            )
            snap = collect_snapshot(options, ["Microsoft.ApiManagement/service/apis/policies"])
            snap.pop("collectedAt")
            snapshots.append(snap)
        logs.append(fake)
    assert snapshots[0] == snapshots[1]
    assert sorted(r.key for r in logs[1].requests) == sorted(r.key for r in logs[0].requests)
    # Two requests in flight at most, gathered across the processes per subscription.
    assert 1 <= max(logs[1].peak_in_flight.values()) <= 2
