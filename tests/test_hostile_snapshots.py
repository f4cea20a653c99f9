"""Hostile and careless snapshots: each is refused in one line (exit 2) or makes ERROR, never PASS."""

from __future__ import annotations

import json

import pytest
from builders import RG, SUB, arm, child_id, rid, run_cli, snapshot

REDIS = arm("Microsoft.Cache/redis", "redis-a", properties={"publicNetworkAccess": "Disabled"})
VAULT = arm("Microsoft.KeyVault/vaults", "kv-a", properties={"publicNetworkAccess": "Disabled"})
SUB_ID = f"/subscriptions/{SUB}"


def _write(tmp_path, doc, name="snap.json"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return str(path)


def _refused(capsys, tmp_path, doc, *args):
    code, out, err = run_cli(capsys, "audit", "--snapshot", _write(tmp_path, doc), *args)
    assert code == 2, out + err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("prodcheck: error: ")
    assert "Traceback" not in out + err
    return err


def _findings(capsys, tmp_path, doc, rule="PC-NET-004"):
    out_file = tmp_path / "report.json"
    code, _, err = run_cli(
        capsys,
        "audit",
        "--snapshot",
        _write(tmp_path, doc),
        "--rule",
        rule,
        "-f",
        "json",
        "-o",
        str(out_file),
    )
    assert code in (0, 1), err
    report = json.loads(out_file.read_text())
    return code, report


def _status_of(report, name):
    return {f["status"] for f in report["findings"] if f["resourceName"] == name}


def _coverage(**record):
    base = {"resourceType": "Microsoft.Cache/redis", "scope": SUB_ID, "status": "ok", "count": 1}
    base.update(record)
    return {k: v for k, v in base.items() if v is not None}


# ---- coverage records are read strictly ---------------------------------------------------


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (_coverage(status=None), "coverage[0] (Microsoft.Cache/redis) has no 'status'"),
        (
            {**_coverage(status=None), "Status": "failed"},
            "coverage[0] (Microsoft.Cache/redis): unknown key 'Status'",
        ),
        (
            {**_coverage(status=None), "succeeded": False},
            "coverage[0] (Microsoft.Cache/redis): unknown key 'succeeded'",
        ),
        (_coverage(status="OK"), "status must be one of"),
        (_coverage(status="failed", statusCode="403"), "statusCode must be of type integer"),
        (_coverage(statusCode=True), "statusCode must be of type integer"),
        (_coverage(count="5"), "count must be of type integer"),
        (_coverage(count=-1), "count is -1, out of range"),
        (_coverage(count=1.5), "count must be of type integer"),
        (_coverage(scope=None), "has no 'scope'"),
        (_coverage(scope=None) | {"scope": None}, "scope must be of type string"),
        (_coverage(resourceType=""), "resourceType must not be empty"),
    ],
)
def test_a_coverage_record_that_breaks_the_schema_is_refused_naming_record_and_key(
    capsys, tmp_path, record, expected
):
    err = _refused(capsys, tmp_path, snapshot([REDIS], coverage=[record]))
    assert expected in err


def test_a_coverage_list_that_is_not_a_list_is_refused(capsys, tmp_path):
    doc = snapshot([REDIS])
    doc["coverage"] = {"resourceType": "Microsoft.Cache/redis"}
    assert "coverage" in _refused(capsys, tmp_path, doc)


@pytest.mark.parametrize(
    "record",
    [
        _coverage(errorCode="AuthorizationFailed"),
        _coverage(statusCode=403),
        _coverage(statusCode=503, count=0),
    ],
    ids=["ok-with-error-code", "ok-with-403", "ok-with-503"],
)
def test_a_record_saying_ok_beside_an_error_is_failed(capsys, tmp_path, record):
    _, report = _findings(capsys, tmp_path, snapshot([REDIS], coverage=[record]))
    assert _status_of(report, "redis-a") == {"ERROR"}
    assert any("read as failed" in g["message"] for g in report["coverageGaps"])


@pytest.mark.parametrize(
    "scope",
    ["", "rg-app", f"subscriptions/{SUB}", "   ", "/providers/Microsoft.Management/x"],
    ids=["empty", "bare-group", "no-leading-slash", "blank", "not-placeable"],
)
def test_a_failed_record_whose_scope_cannot_be_placed_covers_the_whole_audited_scope(
    capsys, tmp_path, scope
):
    record = _coverage(status="failed", statusCode=403, count=None, scope=scope)
    _, report = _findings(capsys, tmp_path, snapshot([REDIS], coverage=[record]))
    assert _status_of(report, "redis-a") == {"ERROR"}
    gap = report["coverageGaps"][0]
    assert gap["scope"] == SUB_ID
    assert "not an ARM scope" in gap["message"]


def test_a_failed_record_scope_is_normalised_for_case_and_trailing_slash(capsys, tmp_path):
    scope = f" /SUBSCRIPTIONS/{SUB}/resourcegroups/{RG}/ "
    record = _coverage(status="failed", statusCode=403, count=None, scope=scope)
    _, report = _findings(capsys, tmp_path, snapshot([REDIS], coverage=[record]))
    assert _status_of(report, "redis-a") == {"ERROR"}
    assert report["coverageGaps"][0]["scope"] == f"/subscriptions/{SUB}/resourceGroups/{RG}"


# ---- the JSON itself -----------------------------------------------------------------------


def _with_name(value_json: str) -> str:
    """A snapshot whose one resource has `value_json` (raw JSON text) as its name."""
    resource = json.dumps({**REDIS, "name": "PLACEHOLDER"}).replace('"PLACEHOLDER"', value_json)
    return json.dumps(snapshot([])).replace('"resources": []', f'"resources": [{resource}]')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_with_name('"\\ud800"'), "lone UTF-16 surrogate"),
        (_with_name('"a\\udfffb"'), "lone UTF-16 surrogate"),
        (_with_name("NaN"), "NaN is not a JSON number"),
        (_with_name("Infinity"), "Infinity is not a JSON number"),
        (_with_name("-Infinity"), "-Infinity is not a JSON number"),
        (_with_name("1e999"), "out of range"),
        (_with_name("9" * 5000), "5000 digits"),
        (_with_name("[" * 100_000 + "]" * 100_000), "nests deeper"),
        (_with_name("[" * 200 + "]" * 200), "nests deeper"),
        (
            json.dumps(snapshot([REDIS])).replace('"name": "redis-a"', '"name": "a", "name": "b"'),
            "'name' appears twice",
        ),
    ],
    ids=[
        "lone-high-surrogate",
        "lone-low-surrogate",
        "nan",
        "infinity",
        "minus-infinity",
        "huge-float",
        "5000-digit-int",
        "very-deep",
        "deep",
        "duplicate-key",
    ],
)
def test_json_that_could_be_read_two_ways_or_not_at_all_is_refused(
    capsys, tmp_path, text, expected
):
    assert expected in _refused(capsys, tmp_path, text)


def test_a_valid_surrogate_pair_is_read(capsys, tmp_path):
    code, _report = _findings(capsys, tmp_path, _with_name('"redis-\\ud83d\\ude00"'))
    assert code == 0


# ---- the scope and the top level -----------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"subscriptions": "abc"}, "scope.subscriptions must be of type array"),
        ({"resourceGroups": "abc"}, "scope.resourceGroups must be of type array"),
        ({"subscriptions": [1]}, "scope.subscriptions[0] must be of type string"),
        ({"tags": ["a"]}, "scope.tags must be of type object"),
        ("everything", "scope must be of type object"),
    ],
)
def test_a_scope_of_the_wrong_shape_is_refused(capsys, tmp_path, scope, expected):
    doc = snapshot([REDIS])
    doc["scope"] = scope
    assert expected in _refused(capsys, tmp_path, doc)


def test_an_unknown_top_level_key_is_refused_not_ignored(capsys, tmp_path):
    doc = snapshot([REDIS])
    doc["Coverage"] = [_coverage(status="failed")]
    assert "unknown key 'Coverage'" in _refused(capsys, tmp_path, doc)


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (["not a resource"], "resources[0] must be of type object"),
        ([{"name": "x"}], "resources[0] has no 'id'"),
        ([{"id": ""}], "resources[0].id must not be empty"),
        ([{"id": 7, "type": "Microsoft.Cache/redis"}], "resources[0].id must be of type string"),
        ([{"id": "/subscriptions/x", "name": "x"} | {"id": "x-without-type"}], "names none"),
    ],
)
def test_a_resource_that_cannot_be_placed_is_refused(capsys, tmp_path, resources, expected):
    assert expected in _refused(capsys, tmp_path, snapshot(resources))


@pytest.mark.parametrize(
    "other_id",
    [REDIS["id"], REDIS["id"].upper(), REDIS["id"] + "/"],
    ids=["exact", "by-case", "trailing-slash"],
)
def test_two_resources_with_one_id_are_refused_naming_both(capsys, tmp_path, other_id):
    twin = {**REDIS, "id": other_id, "properties": {"publicNetworkAccess": "Enabled"}}
    err = _refused(capsys, tmp_path, snapshot([REDIS, VAULT, twin]))
    assert "resources[0] and resources[2]" in err
    assert "remove the duplicate" in err


# ---- one malformed resource: ERROR on its verdicts, never PASS -----------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("properties", None),
        ("properties", []),
        ("properties", "Disabled"),
        ("tags", "prod"),
        ("sku", ["Premium"]),
        ("name", 5),
        ("type", 5),
    ],
)
def test_a_malformed_resource_makes_its_own_verdicts_error(capsys, tmp_path, field, value):
    broken = {**REDIS, field: value}
    code, report = _findings(capsys, tmp_path, snapshot([broken, VAULT]))
    assert code == 1
    broken_findings = [f for f in report["findings"] if f["resourceId"] == REDIS["id"]]
    assert broken_findings and {f["status"] for f in broken_findings} == {"ERROR"}
    assert _status_of(report, "kv-a") == {"PASS"}
    assert report["scope"]["malformedResources"] == [REDIS["id"]]
    assert any(g["errorCode"] == "MalformedResource" for g in report["coverageGaps"])


def test_a_malformed_resource_in_an_inventory_without_coverage_errs_alone(capsys, tmp_path):
    other = arm("Microsoft.KeyVault/vaults", "kv-b", properties={"publicNetworkAccess": "Disabled"})
    code, report = _findings(capsys, tmp_path, [{**VAULT, "properties": []}, other])
    assert code == 1
    assert _status_of(report, "kv-a") == {"ERROR"}
    assert _status_of(report, "kv-b") == {"PASS"}


# ---- ARM quirks ----------------------------------------------------------------------------


def test_a_type_with_a_leading_slash_or_blanks_is_normalised_and_judged(capsys, tmp_path):
    odd = {**REDIS, "type": " /Microsoft.Cache/redis "}
    _, report = _findings(capsys, tmp_path, snapshot([odd]))
    assert _status_of(report, "redis-a") == {"PASS"}
    assert report["scope"]["typesNormalised"] == {
        " /Microsoft.Cache/redis ": "Microsoft.Cache/redis"
    }


def test_a_resource_without_a_type_takes_it_from_its_id_and_the_report_says_so(capsys, tmp_path):
    untyped = {k: v for k, v in REDIS.items() if k != "type"}
    _, report = _findings(capsys, tmp_path, snapshot([untyped]))
    assert _status_of(report, "redis-a") == {"PASS"}
    assert report["scope"]["typesFromIds"] == {"Microsoft.Cache/redis": 1}


def test_a_type_no_rule_reads_is_counted_in_the_report_scope(capsys, tmp_path):
    widget = arm("Contoso.Widgets/gadgets", "g1")
    _, report = _findings(
        capsys, tmp_path, snapshot([REDIS, widget, {**widget, "id": widget["id"] + "2"}])
    )
    assert report["scope"]["unjudgedTypes"] == {"Contoso.Widgets/gadgets": 2}


# ---- inventories from other tools ----------------------------------------------------------

PE = arm(
    "Microsoft.Network/privateEndpoints",
    "pe-kv",
    properties={
        "privateLinkServiceConnections": [
            {
                "properties": {
                    "privateLinkServiceId": VAULT["id"],
                    "groupIds": ["vault"],
                    "privateLinkServiceConnectionState": {"status": "Approved"},
                }
            }
        ]
    },
)


@pytest.mark.parametrize(
    "wrap",
    [lambda r: r, lambda r: {"value": r}, lambda r: {"data": r, "count": len(r)}],
    ids=["array", "arm-list", "resource-graph"],
)
def test_a_child_type_absent_from_a_foreign_inventory_is_not_in_the_input(capsys, tmp_path, wrap):
    code, report = _findings(capsys, tmp_path, wrap([VAULT, PE]), rule="PC-NET-003")
    assert code == 1
    pe = [f for f in report["findings"] if f["resourceName"] == "pe-kv"]
    assert pe and {f["status"] for f in pe} == {"ERROR"}
    assert "not in the input: collect with `prodcheck snapshot`" in pe[0]["message"]
    assert report["scope"]["typesNotInInput"] == [
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups"
    ]
    assert report["scope"]["coverage"].startswith("inferred")


def test_a_child_type_present_in_a_foreign_inventory_counts_as_read(capsys, tmp_path):
    group = arm(
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        "default",
        id=child_id(PE["id"], "privateDnsZoneGroups", "default"),
        properties={
            "privateDnsZoneConfigs": [
                {
                    "properties": {
                        "privateDnsZoneId": rid(
                            "Microsoft.Network/privateDnsZones", "privatelink.vaultcore.azure.net"
                        )
                    }
                }
            ]
        },
    )
    code, report = _findings(capsys, tmp_path, {"data": [VAULT, PE, group]}, rule="PC-NET-003")
    assert _status_of(report, "pe-kv") == {"PASS"}
    assert report["scope"]["typesNotInInput"] == []
    assert code == 0


def test_a_top_level_type_absent_from_a_foreign_inventory_has_none(capsys, tmp_path):
    code, report = _findings(capsys, tmp_path, [VAULT])
    assert code == 0
    assert _status_of(report, "kv-a") == {"PASS"}


def test_a_v1_snapshot_without_coverage_is_still_complete_as_asserted(capsys, tmp_path):
    _, report = _findings(capsys, tmp_path, snapshot([VAULT, PE]), rule="PC-NET-003")
    assert _status_of(report, "pe-kv") == {"FAIL"}
    assert report["scope"]["coverage"].startswith("not recorded")


def test_a_line_break_in_a_refused_coverage_records_type_stays_escaped_in_the_message():
    from prodcheck.errors import UserError
    from prodcheck.snapshot import parse_snapshot

    doc = {
        "format": "prodcheck.snapshot/v1",
        "resources": [],
        "coverage": [{"resourceType": "Microsoft.Web/sites\n\u2028x"}],
    }
    with pytest.raises(UserError) as raised:
        parse_snapshot(doc, "input.json")
    message = str(raised.value)
    assert "coverage[0]" in message
    assert "\n" not in message and "\u2028" not in message


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        (["coverage", 3, "status"], "coverage[3].status"),
        (["summary", "by\nline"], 'summary["by\\nline"]'),
        (["a.b", "c[0]"], '["a.b"]["c[0]"]'),
        (["tags", "\u202eevil"], 'tags["\\u202eevil"]'),
        ([], "the top level"),
    ],
)
def test_a_path_in_an_error_is_one_line_and_names_its_key(path, shown):
    """A damaged file's keys reach the error messages: a line break, a bidirectional override
    or a dot in a key is shown escaped, in brackets, never as itself."""
    from prodcheck.validation import path_text

    assert path_text(path) == shown
    assert path_text(path).isprintable()
