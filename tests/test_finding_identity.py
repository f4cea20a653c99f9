"""Every finding has an identity of its own (rule, resource, subject), stable across audits,
and every output that identifies findings uses it: SARIF, JUnit, JSON, baselines and diff."""

from __future__ import annotations

import copy
import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from prodcheck import api
from prodcheck.baseline import apply_baseline, compare
from prodcheck.model import Finding, Severity, Status, finding_id_of, with_unique_subjects
from prodcheck.paths import demos_dir
from prodcheck.report import Report
from prodcheck.reporters import render

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from generate import generate  # noqa: E402

MON = "PC-MON-002"
APPI = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/components/appi"


def demo(name: str) -> dict:
    return json.loads((demos_dir() / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def estate() -> Report:
    """The largest estate the benchmarks audit in the test suite's time: 5,000 resources."""
    return api.audit_snapshot(generate(5000))


def test_every_finding_of_a_5000_resource_estate_has_an_identity_of_its_own(estate):
    ids = Counter(f.finding_id for f in estate.findings)
    assert len(estate.findings) > 5000
    assert [i for i, n in ids.items() if n > 1] == []
    # Several findings of one rule on one resource exist, and each names its subject.
    pairs = Counter((f.rule_id, f.resource_id.lower()) for f in estate.findings)
    assert any(n > 1 for n in pairs.values())
    # No built-in rule leaves its findings to the last-resort subject derived from the message.
    assert [f for f in estate.findings if "#" in f.subject] == []


def test_sarif_and_junit_of_the_large_estate_do_not_merge_findings(estate):
    sarif = json.loads(render(estate, "sarif"))
    results = sarif["runs"][0]["results"]
    failing = [f for f in estate.findings if f.status.blocks_gate]
    assert len(results) == len(failing)
    fingerprints = {r["partialFingerprints"]["prodcheckFinding/v2"] for r in results}
    locations = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for r in results
    }
    assert len(fingerprints) == len(locations) == len(results)

    root = ET.fromstring(render(estate, "junit").encode("utf-8"))
    cases = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert len(cases) == len(set(cases)) == len(estate.findings)


def test_key_metric_findings_are_one_per_signal_and_named_by_it():
    report = api.audit_snapshot(demo("flat"))
    mon = [f for f in report.findings if f.rule_id == MON]
    per_resource = Counter(f.resource_id for f in mon)
    resource, count = per_resource.most_common(1)[0]
    assert count > 1
    subjects = [f.subject for f in mon if f.resource_id == resource]
    assert len(set(subjects)) == count and all(subjects)


def test_the_json_report_carries_the_finding_id_and_reads_it_back():
    report = api.audit_snapshot(demo("flat"))
    doc = json.loads(render(report, "json"))
    for out, f in zip(doc["findings"], report.findings, strict=True):
        assert out["findingId"] == f.finding_id
        assert out["subject"] == f.subject
    again = Report.from_json(doc)
    assert [f.finding_id for f in again.findings] == [f.finding_id for f in report.findings]


def test_the_identity_ignores_case_of_ids_and_does_not_depend_on_the_message():
    f = Finding(MON, APPI, Status.FAIL, Severity.HIGH, "cpu: alert at 90 % (> 85 %)", subject="cpu")
    same = replace(f, resource_id=APPI.upper(), message="cpu: no alert", status=Status.PASS)
    assert f.finding_id == same.finding_id == finding_id_of(MON, APPI, "cpu")
    assert f.finding_id != replace(f, subject="memory").finding_id
    assert f.finding_id != replace(f, rule_id="PC-MON-003").finding_id


def test_findings_that_would_share_an_identity_get_a_last_resort_subject():
    a = Finding(MON, APPI, Status.FAIL, Severity.HIGH, "first problem")
    b = replace(a, message="second problem")
    c = replace(a, resource_id=APPI + "2")
    out = with_unique_subjects([a, b, c])
    assert len({f.finding_id for f in out}) == 3
    assert out[2] == c  # alone on its resource: left as it was
    assert out[0].subject.startswith("#") and out[0].subject != out[1].subject
    # The same findings give the same subjects in every audit.
    assert [f.subject for f in with_unique_subjects([a, b, c])] == [f.subject for f in out]
    # Identical messages still end up distinct.
    twins = with_unique_subjects([a, replace(a, status=Status.ERROR)])
    assert len({f.finding_id for f in twins}) == 2


def _disable(doc: dict, alert_name: str) -> dict:
    doc = copy.deepcopy(doc)
    for r in doc["resources"]:
        if r.get("name") == alert_name:
            r["properties"]["enabled"] = False
            return doc
    raise AssertionError(f"no {alert_name} in the demo")


def test_one_signal_regressing_is_one_regressed_finding_in_diff_and_baseline():
    hardened = demo("hardened")
    old = api.audit_snapshot(hardened)
    new = api.audit_snapshot(_disable(hardened, "alert-e2e-latency"))
    diff = compare(old, new)
    mon = [c for c in diff.regressed + diff.new if c.rule_id == MON]
    assert len(mon) == 1 and mon[0].subject == "latency"
    assert mon[0].finding_id in {f.finding_id for f in new.findings if f.subject == "latency"}
    apply_baseline(new, old, "old.json")
    blocking = new.blocking()
    assert [f.subject for f in blocking if f.rule_id == MON] == ["latency"]


def test_a_report_saved_before_subjects_existed_is_still_matched_by_rule_and_resource():
    old = api.audit_snapshot(demo("flat"))
    doc = json.loads(render(old, "json"))
    for f in doc["findings"]:
        f.pop("findingId")
        f.pop("subject")
    # An older report made one finding per rule and resource: keep the worst of each pair.
    legacy: dict[tuple[str, str], dict] = {}
    for f in doc["findings"]:
        legacy.setdefault((f["ruleId"], f["resourceId"]), f)
    doc["findings"] = list(legacy.values())
    diff = compare(Report.from_json(doc), api.audit_snapshot(demo("flat")))
    assert [c for c in diff.new if c.rule_id == MON] == []
    assert [c for c in diff.gone if c.rule_id == MON] == []


def test_a_baseline_listing_rule_and_resource_pairs_still_gates():
    report = api.audit_snapshot(demo("flat"))
    target = next(f for f in report.findings if f.rule_id == MON and f.status.blocks_gate)
    report.baseline = {"gated": [[MON, target.resource_id.lower()]]}
    blocking = report.blocking()
    assert blocking and {f.rule_id for f in blocking} == {MON}
    assert {f.resource_id for f in blocking} == {target.resource_id}
