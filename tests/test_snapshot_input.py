"""Reading snapshots and other inventories; every bad input is one clear UserError."""

from __future__ import annotations

import json

import pytest
from builders import arm, snapshot

from prodcheck.errors import UserError
from prodcheck.snapshot import load_snapshot, parse_snapshot

RESOURCE = arm("Microsoft.KeyVault/vaults", "kv")


def test_v1_snapshot_keeps_coverage_scope_and_time(tmp_path):
    doc = snapshot(
        [RESOURCE],
        coverage=[
            {
                "resourceType": "Microsoft.KeyVault/vaults",
                "scope": "/subscriptions/x",
                "status": "ok",
                "count": 1,
            }
        ],
    )
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    snap = load_snapshot(path)
    assert snap.input_kind == "snapshot"
    assert snap.collected_at == "2026-11-26T09:00:00Z"
    assert snap.coverage is not None and snap.coverage[0].count == 1
    assert snap.resources == [RESOURCE]


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ([RESOURCE], "array"),
        ({"value": [RESOURCE]}, "arm-list"),
        ({"data": [RESOURCE], "count": 1}, "resource-graph"),
    ],
)
def test_inventories_from_other_tools_are_accepted_without_coverage(data, kind):
    snap = parse_snapshot(data, "input.json")
    assert snap.input_kind == kind
    assert snap.coverage is None
    assert snap.resources[0]["name"] == "kv"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"format": "prodcheck.snapshot/v1", "resources": [', "looks truncated"),
        ('{"format": "prodcheck.snapshot/v1", resources: []}', "not valid JSON"),
        ('{"format": "prodcheck.snapshot/v9", "resources": []}', "format 'prodcheck.snapshot/v9'"),
        ('{"format": "prodcheck.snapshot/v1"}', 'no "resources" list'),
        (
            '{"format": "prodcheck.snapshot/v1", "resources": [{"name": "x"}]}',
            "resources[0] has no 'id'",
        ),
        ('{"format": "prodcheck.snapshot/v1", "resources": {}}', "must be a list"),
        ('{"something": "else"}', "is not a snapshot"),
        ('"just a string"', "not a snapshot"),
        ('{"format": "prodcheck.snapshot/v1", "resources": [], "coverage": "all"}', "coverage"),
    ],
)
def test_bad_snapshots_are_one_line_errors_naming_the_file(tmp_path, text, expected):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(UserError) as caught:
        load_snapshot(path)
    message = str(caught.value)
    assert expected in message
    assert "bad.json" in message
    assert "\n" not in message


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_snapshot(tmp_path / "missing.json")
