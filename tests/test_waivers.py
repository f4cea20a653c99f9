"""Waivers and attestations applied to a report: matching, expiry, staleness, the gate."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

from fixtures.sample_report import COSMOS_ID, REDIS_ID, SCOPE_ID, sample_report

from prodcheck import waivers
from prodcheck.config import parse_config, resource_matches
from prodcheck.model import Status

TODAY = dt.date(2026, 11, 26)


def config(text: str):
    return parse_config(textwrap.dedent(text), Path("prodcheck.yaml"), today=TODAY)


def waiver(rule: str, resource: str, expires: str = "2027-01-31") -> str:
    return (
        f"  - rule: {rule}\n    resource: '{resource}'\n    reason: accepted for the pilot\n"
        f"    owner: platform-team@contoso.com\n    expires: {expires}\n"
    )


def applied(text: str, today: dt.date = TODAY):
    report = sample_report(notices=[])
    waivers.apply(report, config(text), today)
    return report


def status_of(report, rule_id: str, resource_id: str) -> Status:
    (f,) = [f for f in report.findings if f.rule_id == rule_id and f.resource_id == resource_id]
    return f.status


def kinds(report) -> list[str]:
    return [n["kind"] for n in report.notices]


def test_resource_patterns_match_arm_ids_case_insensitively_or_names():
    rid = "/subscriptions/S/resourceGroups/RG-App/providers/Microsoft.Cache/Redis/redis-voice"
    assert resource_matches("*/resourcegroups/rg-app/*", rid)
    assert resource_matches("*/MICROSOFT.CACHE/redis/*", rid)
    assert resource_matches(rid.lower() + "/", rid)
    assert not resource_matches("*/resourceGroups/rg-data/*", rid)
    assert resource_matches("redis-*", rid, "redis-voice")
    assert not resource_matches("kv-*", rid, "redis-voice")


def test_a_matching_waiver_turns_fail_into_waived_and_the_gate_stops_counting_it():
    report = applied("waivers:\n" + waiver("PC-NET-001", "*/resourceGroups/rg-app/*"))
    assert status_of(report, "PC-NET-001", REDIS_ID) == Status.WAIVED
    assert status_of(report, "PC-NET-001", COSMOS_ID) == Status.FAIL  # other resource group
    (f,) = [f for f in report.findings if f.resource_id == REDIS_ID]
    assert f.note["kind"] == "waiver" and f.note["statusBefore"] == "FAIL"
    assert f.note["owner"] == "platform-team@contoso.com"
    assert f.note["expires"] == "2027-01-31"
    assert f.message.startswith("public network access")  # the finding still says what is wrong
    assert all(b.resource_id != REDIS_ID for b in report.blocking())
    assert kinds(report) == []


def test_waivers_accept_rule_globs_and_error_findings_too():
    report = applied("waivers:\n" + waiver("PC-NET-*", "*") + waiver("PC-MON-001", "ca-backend"))
    assert status_of(report, "PC-NET-001", REDIS_ID) == Status.WAIVED
    assert status_of(report, "PC-NET-001", COSMOS_ID) == Status.WAIVED
    errors = [f for f in report.findings if f.rule_id == "PC-MON-001"]
    assert [f.status for f in errors] == [Status.WAIVED]
    assert errors[0].note["statusBefore"] == "ERROR"
    assert report.gate_passed


def test_waivers_never_touch_passing_or_manual_findings():
    report = applied("waivers:\n" + waiver("PC-*", "*"))
    statuses = [f.status for f in report.findings]
    assert Status.PASS in statuses and Status.MANUAL in statuses
    assert Status.NOT_APPLICABLE in statuses


def test_an_expired_waiver_no_longer_applies_and_is_reported():
    report = applied("waivers:\n" + waiver("PC-NET-001", "*", expires="2026-11-25"))
    assert status_of(report, "PC-NET-001", REDIS_ID) == Status.FAIL
    assert kinds(report) == ["waiver-expired"]
    notice = report.notices[0]
    assert "expired on 2026-11-25" in notice["message"]
    assert "2 findings it covered fail the gate again" in notice["message"]
    assert notice["where"] == "prodcheck.yaml:2"


def test_a_waiver_is_valid_through_its_expiry_day():
    report = applied("waivers:\n" + waiver("PC-NET-001", "*", expires="2026-11-26"))
    assert status_of(report, "PC-NET-001", REDIS_ID) == Status.WAIVED
    assert "waiver-expired" not in kinds(report)
    assert "waiver-expiring" in kinds(report)  # due today: its owner hears about it


def test_a_waiver_matching_nothing_is_stale():
    report = applied("waivers:\n" + waiver("PC-KV-002", "*/kv-prod"))  # kv-prod passes
    assert kinds(report) == ["waiver-stale"]
    assert "matches no FAIL or ERROR finding" in report.notices[0]["message"]
    assert "remove the waiver" in report.notices[0]["message"]


def test_a_waiver_for_rules_that_did_not_run_is_not_called_stale():
    report = sample_report(notices=[])
    report.rules = [r for r in report.rules if r.id != "PC-NET-001"]
    report.findings = [f for f in report.findings if f.rule_id != "PC-NET-001"]
    waivers.apply(report, config("waivers:\n" + waiver("PC-NET-001", "*")), TODAY)
    assert kinds(report) == []


def test_the_first_matching_waiver_wins_and_later_ones_may_go_stale():
    report = applied("waivers:\n" + waiver("PC-NET-*", "*") + waiver("PC-NET-001", "*"))
    waived = [f for f in report.findings if f.status == Status.WAIVED and f.rule_id == "PC-NET-001"]
    assert {f.note["waiver"] for f in waived} == {1}
    assert kinds(report) == ["waiver-stale"]
    assert report.notices[0]["message"].startswith("waiver #2")


ATTEST = """
attestations:
  - rule: PC-OPS-001
    by: jane.doe@contoso.com
    date: {date}
    evidence: https://contoso.sharepoint.com/load-test.pdf
    valid_days: 30
"""


def test_an_attestation_turns_a_manual_line_into_pass_with_the_attestation_as_evidence():
    report = applied(ATTEST.format(date="2026-11-20"))
    (f,) = [f for f in report.findings if f.rule_id == "PC-OPS-001"]
    assert f.status == Status.PASS
    assert f.resource_id == SCOPE_ID
    assert f.evidence["attestation.by"] == "jane.doe@contoso.com"
    assert f.evidence["attestation.evidence"] == "https://contoso.sharepoint.com/load-test.pdf"
    assert f.evidence["attestation.validUntil"] == "2026-12-20"
    assert f.note["kind"] == "attestation" and f.note["statusBefore"] == "MANUAL"
    assert "attested by jane.doe@contoso.com on 2026-11-20" in f.message
    other = [f for f in report.findings if f.rule_id == "PC-OPS-004"]
    assert other[0].status == Status.MANUAL  # only the attested line changes
    assert kinds(report) == []


def test_an_attestation_holds_through_its_last_valid_day_then_expires():
    report = applied(ATTEST.format(date="2026-10-27"))  # valid until 2026-11-26
    assert [f.status for f in report.findings if f.rule_id == "PC-OPS-001"] == [Status.PASS]
    report = applied(ATTEST.format(date="2026-10-26"))  # valid until 2026-11-25
    assert [f.status for f in report.findings if f.rule_id == "PC-OPS-001"] == [Status.MANUAL]
    assert kinds(report) == ["attestation-expired"]
    assert "PC-OPS-001 is MANUAL again" in report.notices[0]["message"]


def test_an_attestation_for_an_automated_rule_is_stale():
    report = applied(ATTEST.format(date="2026-11-20").replace("PC-OPS-001", "PC-NET-001"))
    assert [f.status for f in report.findings if f.rule_id == "PC-NET-001"] == [Status.FAIL] * 2
    assert kinds(report) == ["attestation-stale"]
    assert "use a waiver" in report.notices[0]["message"]


def test_notices_are_kept_after_earlier_ones_and_do_not_change_the_gate():
    report = sample_report()
    before = report.exit_code
    waivers.apply(report, config("waivers:\n" + waiver("PC-KV-002", "*/kv-prod")), TODAY)
    assert len(report.notices) == 2 and report.notices[0]["kind"] == "waiver-stale"
    assert report.exit_code == before


def test_waived_and_attested_findings_survive_the_json_round_trip():
    from prodcheck.report import Report

    report = applied("waivers:\n" + waiver("PC-NET-001", "*") + ATTEST.format(date="2026-11-20"))
    again = Report.from_json(report.to_json())
    assert [f.status for f in again.findings] == [f.status for f in report.findings]
    assert [f.note for f in again.findings] == [f.note for f in report.findings]
    assert again.notices == report.notices


def test_reports_with_waivers_attestations_notices_and_a_baseline_match_the_report_schema():
    import json

    import jsonschema

    from prodcheck.baseline import apply_baseline
    from prodcheck.paths import schemas_dir

    report = applied(
        "waivers:\n"
        + waiver("PC-NET-001", "*/resourceGroups/rg-app/*")
        + waiver("PC-KV-002", "*", expires="2020-01-01")
        + ATTEST.format(date="2026-11-20")
    )
    apply_baseline(report, sample_report(), "old.json")
    assert {n["kind"] for n in report.notices} == {"waiver-expired"}
    schema = json.loads((schemas_dir() / "report-v1.schema.json").read_text())
    doc = json.loads(json.dumps(report.to_json()))
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    assert not errors, [e.message for e in errors]
