"""Property tests over hostile input: any JSON-ish value is read or refused as a UserError.

Never another exception, and never a PASS on a resource whose own data is malformed. The
examples are kept few (and without deadlines) so that the suite stays fast; the hand-made corpus
of known cases lives in test_hostile_snapshots.py, test_hostile_config.py and
test_hostile_reports.py.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from builders import SUB, arm, registry, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodcheck.baseline import load_report
from prodcheck.config import parse_config
from prodcheck.engine import audit
from prodcheck.errors import UserError
from prodcheck.jsonfile import parse_json
from prodcheck.model import Status
from prodcheck.reporters import render
from prodcheck.snapshot import parse_snapshot

FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# JSON values, including the awkward ones: big and negative numbers, odd text, nesting.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["ok", "failed", "", "/", "rg-app", f"/subscriptions/{SUB}", "Microsoft.X/y"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=10), inner, max_size=4),
    ),
    max_leaves=12,
)

COVERAGE_KEYS = ["resourceType", "scope", "status", "statusCode", "errorCode", "count", "Status"]
RESOURCE_KEYS = ["id", "name", "type", "properties", "tags", "sku", "identity", "zones", "kind"]
TOP_KEYS = ["format", "scope", "coverage", "resources", "collectedAt", "value", "data"]

VAULT = arm("Microsoft.KeyVault/vaults", "kv-a", properties={"publicNetworkAccess": "Disabled"})
RULES = [registry().get("PC-NET-004"), registry().get("PC-KV-002")]


def _read(doc: Any) -> Any:
    """Parse `doc` as a snapshot; a UserError is an acceptable answer, nothing else is."""
    try:
        return parse_snapshot(doc, "input.json")
    except UserError as exc:
        assert "\n" not in str(exc)
        return None


@FAST
@given(json_values)
def test_any_json_value_is_a_snapshot_or_a_user_error(value):
    snap = _read(value)
    if snap is not None:
        audit(snap, RULES)


@FAST
@given(
    st.dictionaries(st.sampled_from(COVERAGE_KEYS), json_values, max_size=6),
)
def test_any_coverage_record_is_read_strictly_or_refused(record):
    snap = _read(snapshot([VAULT], coverage=[record]))
    if snap is None:
        return
    (read,) = snap.coverage or []
    assert read.status in ("ok", "failed")
    assert read.scope == "/" or read.scope.startswith("/subscriptions/")
    if read.status == "ok":
        assert not read.error_code and read.status_code < 400
    report = audit(snap, RULES)
    if read.failed and read.resource_type.lower() == "microsoft.keyvault/vaults":
        statuses = {f.status for f in report.findings if f.resource_name == "kv-a"}
        assert Status.PASS not in statuses


@FAST
@given(st.dictionaries(st.sampled_from(TOP_KEYS), json_values, max_size=5))
def test_any_top_level_shape_is_read_or_refused(doc):
    snap = _read(doc)
    if snap is not None:
        audit(snap, RULES)


@FAST
@given(st.sampled_from(RESOURCE_KEYS[1:]), json_values)
def test_a_resource_with_any_field_value_is_never_passed_on_malformed_data(field, value):
    vault = {**VAULT, field: value}
    snap = _read(snapshot([vault]))
    if snap is None:
        return
    report = audit(snap, RULES)
    own = [f for f in report.findings if f.resource_id.lower() == VAULT["id"].lower()]
    malformed = any(p.scope == VAULT["id"] for p in snap.problems)
    if malformed:
        assert own and all(f.status != Status.PASS for f in own)
    if field == "properties" and not isinstance(value, dict):
        assert malformed


@FAST
@given(st.text(max_size=40))
def test_any_text_is_json_or_a_value_error(text):
    with contextlib.suppress(ValueError):
        parse_json(text)


# ---- configuration -------------------------------------------------------------------------

yaml_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**12), max_value=10**12),
        st.text(max_size=12),
        st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "version",
                    "scope",
                    "rules",
                    "gate",
                    "waivers",
                    "attestations",
                    "subscriptions",
                    "tags",
                    "select",
                    "params",
                    "severity",
                    "fail_on",
                    "rule",
                    "resource",
                    "reason",
                    "owner",
                    "expires",
                    "by",
                    "date",
                    "evidence",
                    "valid_days",
                    "PC-KV-002",
                    "min_retention_days",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@FAST
@given(yaml_values)
def test_any_yaml_document_is_a_configuration_or_a_user_error(value):
    text = yaml.safe_dump(value, allow_unicode=True)
    try:
        cfg = parse_config(text, Path("prodcheck.yaml"), today=dt.date(2026, 11, 26))
        cfg.check_rules(registry())
        cfg.settings()
    except UserError as exc:
        assert "\n" not in str(exc)


@FAST
@given(st.text(max_size=60))
def test_any_text_is_a_configuration_or_a_user_error(text):
    try:
        parse_config(text, Path("prodcheck.yaml"), today=dt.date(2026, 11, 26))
    except UserError as exc:
        assert "\n" not in str(exc)


# ---- saved reports -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_report_doc():
    snap = parse_snapshot(
        snapshot(
            [VAULT, arm("Microsoft.KeyVault/vaults", "kv-b", properties={"publicNetworkAccess": 1})]
        ),
        "s.json",
    )
    return audit(snap, RULES).to_json()


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:2]):
            out += _paths(v, (*prefix, i))
    return out


@FAST
@given(data=st.data())
def test_a_report_damaged_anywhere_is_read_and_rendered_or_refused(tmp_path, good_report_doc, data):
    doc = copy.deepcopy(good_report_doc)
    path = data.draw(st.sampled_from(_paths(doc)[1:]))
    value = data.draw(json_values)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    file = tmp_path / "report.json"
    file.write_text(json.dumps(doc), encoding="utf-8")
    try:
        report = load_report(file)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    for fmt in ("terminal", "json", "markdown", "sarif", "junit", "csv"):
        render(report, fmt)
