"""SARIF: valid against the official 2.1.0 schema, one result per failing finding."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from fixtures.sample_report import COSMOS_ID, IMG_NAME, REDIS_ID, SCRIPT_NAME, sample_report

from prodcheck.model import Status
from prodcheck.reporters import RenderOptions, render

SCHEMA = Path(__file__).parent / "fixtures" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


def sarif() -> dict:
    return json.loads(render(sample_report(), "sarif"))


def test_sarif_is_valid_against_the_official_schema(validator):
    errors = sorted(validator.iter_errors(sarif()), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_one_result_per_failing_finding_and_waived_ones_are_left_out_by_default():
    results = sarif()["runs"][0]["results"]
    report = sample_report()
    failing = [f for f in report.findings if f.status in (Status.FAIL, Status.ERROR)]
    assert len(results) == len(failing)
    assert all(r["properties"]["status"] in ("FAIL", "ERROR") for r in results)
    assert all("suppressions" not in r for r in results)


def test_waived_findings_are_kept_as_accepted_suppressions_when_asked(validator):
    doc = json.loads(render(sample_report(), "sarif", RenderOptions(sarif_include_waived=True)))
    results = doc["runs"][0]["results"]
    report = sample_report()
    failing = [f for f in report.findings if f.status in (Status.FAIL, Status.ERROR)]
    waived = [f for f in report.findings if f.status == Status.WAIVED]
    assert len(results) == len(failing) + len(waived)
    suppressed = [r for r in results if r.get("suppressions")]
    assert len(suppressed) == len(waived)
    assert suppressed[0]["suppressions"][0]["status"] == "accepted"
    assert "recreated by the pipeline" in suppressed[0]["suppressions"][0]["justification"]
    assert all("suppressions" not in r for r in results if r["properties"]["status"] != "WAIVED")
    assert not list(validator.iter_errors(doc))


def test_rules_carry_help_and_levels_from_severity():
    driver = sarif()["runs"][0]["tool"]["driver"]
    rules = {r["id"]: r for r in driver["rules"]}
    assert rules["PC-NET-001"]["defaultConfiguration"]["level"] == "error"
    assert rules["PC-MON-001"]["defaultConfiguration"]["level"] == "warning"
    assert rules["PC-APP-001"]["defaultConfiguration"]["level"] == "note"
    assert rules["PC-NET-001"]["properties"]["security-severity"] == "8.0"
    help_text = rules["PC-NET-001"]["help"]
    assert help_text["text"].startswith("Data services are reachable only through private")
    assert "Public endpoints expose data services" in help_text["text"]
    assert "az redis update" in help_text["markdown"]
    assert rules["PC-NET-001"]["helpUri"].startswith("https://")
    # ruleIndex points at the right descriptor
    for result in sarif()["runs"][0]["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_results_locate_resources_by_arm_id():
    results = sarif()["runs"][0]["results"]
    by_id = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]: r for r in results}
    redis = by_id[REDIS_ID]
    assert redis["locations"][0]["logicalLocations"][0]["kind"] == "resource"
    uri = redis["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("subscriptions/")
    assert "<" not in uri and " " not in uri
    assert redis["partialFingerprints"]["prodcheckFinding/v2"]
    assert by_id[COSMOS_ID]["level"] == "error"


def test_error_findings_are_reported_as_not_verified():
    results = sarif()["runs"][0]["results"]
    errors = [r for r in results if r["properties"]["status"] == "ERROR"]
    assert errors and all("not verified" in r["message"]["text"] for r in errors)


def test_hostile_names_stay_valid_json_and_round_trip():
    text = render(sample_report(), "sarif")
    doc = json.loads(text)
    messages = [r["message"]["text"] for r in doc["runs"][0]["results"]]
    assert any(SCRIPT_NAME in m for m in messages)
    assert any(IMG_NAME in m for m in messages)


def test_fingerprints_are_stable_across_runs_and_case():
    from prodcheck.reporters.sarif import fingerprint

    report = sample_report()
    f = report.findings[0]
    from dataclasses import replace

    assert fingerprint(f) == fingerprint(replace(f, resource_id=f.resource_id.upper()))
    assert fingerprint(f) != fingerprint(report.findings[1])


def test_a_passing_report_has_no_results_but_still_lists_rules(validator):
    report = sample_report()
    report.findings = [f for f in report.findings if f.status == Status.PASS]
    doc = json.loads(render(report, "sarif"))
    assert doc["runs"][0]["results"] == []
    assert doc["runs"][0]["tool"]["driver"]["rules"]
    assert not list(validator.iter_errors(doc))


def test_findings_with_a_subject_get_their_own_location_and_fingerprint(validator):
    from dataclasses import replace

    report = sample_report()
    base = next(f for f in report.findings if f.status == Status.FAIL)
    report.findings = [replace(base, subject="cpu"), replace(base, subject="latency")]
    doc = json.loads(render(report, "sarif"))
    results = doc["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    prints = {r["partialFingerprints"]["prodcheckFinding/v2"] for r in results}
    guids = {r["correlationGuid"] for r in results}
    assert len(uris) == len(prints) == len(guids) == 2
    assert any(u.endswith("/~/latency") for u in uris)
    assert {r["properties"]["findingId"] for r in results} == {
        f.finding_id for f in report.findings
    }
    assert not list(validator.iter_errors(doc))


def test_unattested_manual_lines_are_error_results_when_the_gate_requires_attestations(validator):
    doc = json.loads(render(sample_report(require_attestations=True), "sarif"))
    results = doc["runs"][0]["results"]
    manual = [r for r in results if r["properties"]["status"] == "MANUAL"]
    assert sorted(r["ruleId"] for r in manual) == ["PC-OPS-001", "PC-OPS-004"]
    # PC-OPS-004 is a medium rule (level warning), but an unattested line fails the gate.
    assert {r["level"] for r in manual} == {"error"}
    ops4 = next(r for r in manual if r["ruleId"] == "PC-OPS-004")
    text = ops4["message"]["text"]
    assert "'Production environment validated'" in text
    assert "end-to-end validation sign-off" in text
    assert "attestations:" in text and "rule: PC-OPS-004" in text
    assert ops4["properties"]["attestationRequired"] is True
    assert ops4["properties"]["checklist"] == "Production environment validated"
    run = doc["runs"][0]
    assert run["invocations"][0]["properties"]["requireAttestations"] is True
    # Every line the gate fails on is a result, as JUnit makes each a failed test.
    report = sample_report(require_attestations=True)
    assert len(results) == len(report.blocking())
    assert not list(validator.iter_errors(doc))


def test_manual_lines_are_left_out_while_the_gate_does_not_require_attestations():
    results = sarif()["runs"][0]["results"]
    assert not [r for r in results if r["properties"]["status"] == "MANUAL"]
