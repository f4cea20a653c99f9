"""Reports of an audit spanning several subscriptions: each finding and each coverage gap names
its subscription, and the terminal report sums up per subscription."""

from __future__ import annotations

import json

import jsonschema
from builders import SUB, arm

from prodcheck.api import audit_snapshot
from prodcheck.paths import schemas_dir
from prodcheck.report import Report
from prodcheck.reporters import RenderOptions, render
from prodcheck.snapshot import FORMAT

SUB2 = "0b7d9e2c-5a1f-4e3b-8c6d-9f0a1b2c3d4e"
VAULT = "Microsoft.KeyVault/vaults"


def two_subscriptions(failed_in_second: bool = True) -> dict:
    good = {
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": 90,
        "enablePurgeProtection": True,
    }
    coverage = [{"resourceType": VAULT, "scope": f"/subscriptions/{SUB}", "status": "ok"}]
    coverage.append(
        {
            "resourceType": VAULT,
            "scope": f"/subscriptions/{SUB2}/resourceGroups/rg-data",
            "status": "failed",
            "statusCode": 403,
            "errorCode": "AuthorizationFailed",
            "message": "denied",
            "permission": "Microsoft.KeyVault/vaults/read",
        }
        if failed_in_second
        else {"resourceType": VAULT, "scope": f"/subscriptions/{SUB2}", "status": "ok"}
    )
    return {
        "format": FORMAT,
        "scope": {"subscriptions": [SUB, SUB2]},
        "coverage": coverage,
        "resources": [
            arm(VAULT, "kv-one", properties=good),
            arm(VAULT, "kv-two", sub=SUB2, properties={**good, "enablePurgeProtection": False}),
        ],
    }


def report_json(report: Report) -> dict:
    return json.loads(render(report, "json", RenderOptions()))


def test_every_finding_names_its_subscription_in_the_json_report():
    doc = report_json(audit_snapshot(two_subscriptions(False), rules=["PC-KV-*"]))
    jsonschema.validate(doc, json.loads((schemas_dir() / "report-v1.schema.json").read_text()))
    by_name = {f["resourceName"]: f["subscriptionId"] for f in doc["findings"]}
    assert by_name["kv-one"] == SUB
    assert by_name["kv-two"] == SUB2


def test_a_coverage_failure_names_its_subscription_in_message_and_json():
    doc = report_json(audit_snapshot(two_subscriptions(), rules=["PC-KV-001"]))
    (gap,) = doc["coverageGaps"]
    assert gap["subscriptionId"] == SUB2
    gap_findings = [f for f in doc["findings"] if f["subject"] == f"coverage of {VAULT}"]
    assert gap_findings
    for f in gap_findings:
        assert f["subscriptionId"] == SUB2
        assert SUB2 in f["message"]


def test_a_report_with_subscription_ids_reads_back_and_so_does_one_without():
    doc = report_json(audit_snapshot(two_subscriptions(), rules=["PC-KV-*"]))
    again = Report.from_json(doc)
    assert [c.scope for c in again.coverage_gaps] == [g["scope"] for g in doc["coverageGaps"]]
    written = [f.pop("subscriptionId") for f in doc["findings"]]
    assert {SUB, SUB2} <= set(written)
    for g in doc["coverageGaps"]:
        g.pop("subscriptionId")
    old = Report.from_json(doc)
    assert [f.subscription_id for f in old.findings] == written


def test_the_terminal_report_sums_up_per_subscription_when_there_are_several():
    text = render(
        audit_snapshot(two_subscriptions(), rules=["PC-KV-*"]), "terminal", RenderOptions()
    )
    section = text.split("By subscription", 1)[1].split("Summary:", 1)[0]
    lines = [line for line in section.splitlines() if line.strip()]
    assert len(lines) in (2, 3)  # and findings on no single subscription, last
    assert all("(no single subscription)" in line for line in lines[2:])
    assert SUB in lines[0] and "readiness" in lines[0]
    assert SUB2 in lines[1] and "ERROR" in lines[1] and "blocking" in lines[1]


def test_the_terminal_report_of_one_subscription_has_no_per_subscription_summary():
    snap = two_subscriptions(False)
    snap["resources"] = snap["resources"][:1]
    snap["scope"] = {"subscriptions": [SUB]}
    snap["coverage"] = snap["coverage"][:1]
    text = render(audit_snapshot(snap, rules=["PC-KV-*"]), "terminal", RenderOptions())
    assert "By subscription" not in text
