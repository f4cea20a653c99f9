"""A large snapshot's resources read by two processes give the document one process reads.

From `jsonfile.SPLIT_FROM` bytes, where forking is safe, a forked process reads the later items
of the list at the top of the file while this one reads the earlier ones (`jsonfile._Split`).
These tests hold the shared reading against the reading of one process on arbitrary snapshots
(compact and indented, with nested lists of objects that look like the place to start, with text
outside ASCII, with hostile values planted in either half) and against a process that lies,
fails or is killed: whatever happens, the document, or the refusal and its message, is the one
a single process gives, and no process is left behind.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from forks import no_child_left
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodcheck import fanout, jsonfile
from prodcheck.errors import UserError
from prodcheck.snapshot import load_snapshot

pytestmark = pytest.mark.skipif(not fanout.can_fork(), reason="forks only on Linux")

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"


def _resource(i: int, name: str = "", nested: int = 0) -> dict[str, Any]:
    """An ARM resource; `nested` sub-resources inline, which look like resources too."""
    rid = f"{SUB}/providers/Microsoft.Network/virtualNetworks/vnet-{i}{name}"
    return {
        "id": rid,
        "name": f"vnet-{i}{name}",
        "type": "Microsoft.Network/virtualNetworks",
        "location": "eastus",
        "properties": {
            "subnets": [
                {
                    "id": f"{rid}/subnets/s{j}",
                    "name": f"s{j}",
                    "type": "Microsoft.Network/virtualNetworks/subnets",
                    "properties": {"addressPrefix": f"10.0.{j}.0/24"},
                }
                for j in range(nested)
            ],
            "series": [{"timeStamp": "2026-11-19T10:00:00Z", "average": 1.5 * j} for j in range(3)],
        },
    }


def _read(path: Path, split: bool) -> tuple[str, Any]:
    try:
        return ("read", jsonfile.read_json(path, "snapshot", "fix it", split=split)[0])
    except UserError as exc:
        return ("refused", str(exc))


class _Splices:
    """Counts the readings in which this process took the other's items."""

    def __init__(self, patch: Any) -> None:
        self.taken = 0
        real = jsonfile._Split.result

        def result(split: jsonfile._Split) -> Any:
            got = real(split)
            self.taken += got is not None
            return got

        patch.setattr(jsonfile._Split, "result", result)


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split from the first byte, after two items that read as resources, in small pieces."""
    monkeypatch.setattr(jsonfile, "SPLIT_FROM", 0)
    monkeypatch.setattr(jsonfile, "SPLIT_PROBE", 2)
    monkeypatch.setattr(jsonfile, "READ_BYTES", 997)


_PLANTS = [
    None,
    ('"name"', '"name": "a", "name"'),  # a key given twice
    ('"average": 1.5', '"average": NaN'),
    ('"average": 1.5', '"average": 1e999'),
    ('"average": 1.5', '"average": 123456789012345678901234'),
    ('"location": "eastus"', '"location": "\\ud800"'),  # a lone surrogate
    ('"location": "eastus"', '"location": "\\ud83d\\ude00"'),  # a pair: read
    ('"location": "eastus"', '"location": ' + "[" * 70 + "]" * 70),  # too deep
    ('"location": "eastus"', '"location": "eastus",'),  # malformed
]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    count=st.integers(1, 24),
    nested=st.lists(st.integers(0, 4), min_size=24, max_size=24),
    indent=st.sampled_from([None, 2]),
    odd=st.sampled_from(["", "-é", "-\u202e"]),
    odd_at=st.integers(0, 23),
    plant=st.sampled_from(_PLANTS),
    plant_at=st.integers(0, 23),
    split_at=st.sampled_from([0.0, 0.3, 0.55, 0.9]),
)
def test_two_processes_read_what_one_reads_or_refuse_what_it_refuses(
    tmp_path, small, monkeypatch, count, nested, indent, odd, odd_at, plant, plant_at, split_at
):
    monkeypatch.setattr(jsonfile, "SPLIT_AT", split_at)
    resources = [_resource(i, odd if i == odd_at else "", nested[i]) for i in range(count)]
    doc = {"format": "prodcheck.snapshot/v1", "scope": {}, "resources": resources}
    text = json.dumps(doc, indent=indent, ensure_ascii=False)
    if plant is not None:
        # The planted text replaces one occurrence, in the item of `plant_at` or the first after.
        old, new = plant
        marker = f"vnet-{min(plant_at, count - 1)}"
        at = text.find(old, text.find(marker))
        if at != -1:
            text = text[:at] + new + text[at + len(old) :]
    path = tmp_path / "snap.json"
    path.write_text(text, encoding="utf-8")
    assert _read(path, split=True) == _read(path, split=False)
    assert no_child_left()


def test_an_ordinary_snapshot_is_read_by_two_processes(tmp_path, small, monkeypatch):
    # More items in a row than any nested list holds: the place is where a resource starts.
    monkeypatch.setattr(jsonfile, "SPLIT_PROBE", 5)
    splices = _Splices(monkeypatch)
    for indent in (None, 2):
        resources = [_resource(i, nested=3) for i in range(60)]
        path = tmp_path / "snap.json"
        doc = {"format": "prodcheck.snapshot/v1", "resources": resources}
        path.write_text(json.dumps(doc, indent=indent))
        read, _ = jsonfile.read_json(path, "snapshot", "fix it", split=True)
        assert read["resources"] == resources
    assert splices.taken == 2
    assert no_child_left()


def test_text_outside_ascii_before_the_place_keeps_the_reading_here(tmp_path, small, monkeypatch):
    """The other process counts bytes, this one characters: they agree only on ASCII text."""
    splices = _Splices(monkeypatch)
    resources = [_resource(i, "-é" if i == 0 else "") for i in range(40)]
    path = tmp_path / "snap.json"
    path.write_text(json.dumps({"resources": resources}, ensure_ascii=False), encoding="utf-8")
    assert jsonfile.read_json(path, "snapshot", "fix it", split=True)[0]["resources"] == resources
    assert splices.taken == 0
    assert no_child_left()


def _lying(offset_of: Any) -> Any:
    """A `_read_tail` that says a place of `offset_of(path)` and hands over nothing real."""

    def tail(path: str, start: int, max_depth: int, ahead: int, tell: Any) -> Any:
        tell(jsonfile._OFFSET.pack(offset_of(path)))
        return jsonfile.marshal.dumps([{"id": "/planted", "type": "a/b"}]), 2, False, "]}"

    return tail


@pytest.mark.parametrize(
    "how",
    ["killed", "raises", "exits", "says nothing", "says garbage", "inside an item", "nested list"],
)
def test_a_failing_or_lying_process_leaves_the_document_as_one_process_reads_it(
    tmp_path, small, monkeypatch, how
):
    resources = [_resource(i, nested=3) for i in range(40)]
    path = tmp_path / "snap.json"
    text = json.dumps({"format": "prodcheck.snapshot/v1", "resources": resources})
    path.write_text(text)

    def killed(*_args: Any) -> Any:
        os.kill(os.getpid(), signal.SIGKILL)

    def raises(*_args: Any) -> Any:
        raise RuntimeError("broken")

    def exits(*_args: Any) -> Any:
        os._exit(0)

    def says_nothing(*_args: Any) -> Any:
        return None

    def says_garbage(path: str, start: int, max_depth: int, ahead: int, tell: Any) -> Any:
        tell(b"\xff" * 3)
        return None

    # A place inside an item (its "name"), and the start of a nested subnet: neither is where
    # an item of the resources list starts.
    inside = text.index('"name": "vnet-30"')
    nested = text.index('{"id": "' + resources[30]["properties"]["subnets"][1]["id"])
    fakes = {
        "killed": killed,
        "raises": raises,
        "exits": exits,
        "says nothing": says_nothing,
        "says garbage": says_garbage,
        "inside an item": _lying(lambda _p: inside),
        "nested list": _lying(lambda _p: nested),
    }
    monkeypatch.setattr(jsonfile, "_read_tail", fakes[how])
    doc, _ = jsonfile.read_json(path, "snapshot", "fix it", split=True)
    assert doc["resources"] == resources
    assert no_child_left()


def test_one_job_reads_in_one_process(tmp_path, small, monkeypatch):
    path = tmp_path / "snap.json"
    path.write_text(
        json.dumps(
            {
                "format": "prodcheck.snapshot/v1",
                "scope": {"subscriptions": ["00000000-0000-0000-0000-000000000001"]},
                "resources": [_resource(i) for i in range(30)],
            }
        )
    )

    def no_fork(*_args: Any) -> Any:
        raise AssertionError("a process was started")

    with mock.patch.object(fanout, "in_background", no_fork):
        assert len(load_snapshot(path, jobs=1).resources) == 30
    splices = _Splices(monkeypatch)
    assert len(load_snapshot(path, jobs=2).resources) == 30
    assert splices.taken == 1
    assert no_child_left()


def test_a_process_that_never_hands_its_items_over_is_stopped_and_the_rest_read_here(
    tmp_path, small, monkeypatch
):
    """It said where its items start, then hung: the reading waits about as long as reading
    the rest would take, stops it, and reads the rest itself."""
    import time

    monkeypatch.setattr(jsonfile, "SPLIT_PROBE", 5)
    monkeypatch.setattr(jsonfile, "_SPLIT_STALL", 0.5)
    real = jsonfile._read_tail

    def hangs(*args: Any) -> Any:
        real(*args)
        time.sleep(3600)

    monkeypatch.setattr(jsonfile, "_read_tail", hangs)
    resources = [_resource(i, nested=1) for i in range(60)]
    path = tmp_path / "snap.json"
    path.write_text(json.dumps({"format": "prodcheck.snapshot/v1", "resources": resources}))
    started = time.monotonic()
    doc, _ = jsonfile.read_json(path, "snapshot", "fix it", split=True)
    assert doc["resources"] == resources
    assert time.monotonic() - started < 30
    assert no_child_left()
