"""JUnit XML: one test case per rule and resource, parsed back and checked."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fixtures.sample_report import COSMOS_ID, IMG_NAME, REDIS_ID, SCRIPT_NAME, sample_report

from prodcheck.reporters import render


def parse() -> ET.Element:
    return ET.fromstring(render(sample_report(), "junit").encode("utf-8"))


def cases(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}


def test_one_test_case_per_finding():
    root = parse()
    report = sample_report()
    found = cases(root)
    assert len(list(root.iter("testcase"))) == len(report.findings)
    for f in report.findings:
        assert (f.rule_id, f.resource_id) in found


def test_statuses_map_to_failure_error_and_skipped():
    root = parse()
    found = cases(root)
    report = sample_report()
    for f in report.findings:
        case = found[(f.rule_id, f.resource_id)]
        children = [c.tag for c in case]
        expected = {
            "FAIL": ["failure"],
            "ERROR": ["error"],
            "MANUAL": ["skipped"],
            "NOT_APPLICABLE": ["skipped"],
            "WAIVED": ["skipped"],
            "PASS": [],
        }[f.status.value]
        assert children == expected, (f.status, children)
    waived = [c for c in root.iter("testcase") if c.get("classname") == "PC-KV-002"]
    skipped = [c.find("skipped") for c in waived if c.find("skipped") is not None]
    assert "platform-team@contoso.com" in skipped[0].get("message")


def test_counts_on_suites_and_root_add_up():
    root = parse()
    assert root.tag == "testsuites"
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in root.findall("testsuite"):
        n = len(suite.findall("testcase"))
        assert int(suite.get("tests")) == n
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
        assert int(suite.get("errors")) == len(suite.findall("testcase/error"))
        assert int(suite.get("skipped")) == len(suite.findall("testcase/skipped"))
        for key in totals:
            totals[key] += int(suite.get(key))
    for key, value in totals.items():
        assert int(root.get(key)) == value
    assert totals == {"tests": 8, "failures": 2, "errors": 1, "skipped": 4}
    assert [s.get("name") for s in root.findall("testsuite")] == [
        "Pre-Production",
        "Go-Live",
        "Production guide",
    ]


def test_failure_carries_message_evidence_and_remediation():
    found = cases(parse())
    failure = found[("PC-NET-001", REDIS_ID)].find("failure")
    assert failure.get("message").startswith("public network access is Enabled")
    assert failure.get("type") == "high"
    assert "properties.publicNetworkAccess = Enabled" in failure.text
    assert "remediation:" in failure.text
    assert "https://learn.microsoft.com/azure/private-link/" in failure.text


def test_hostile_names_and_control_characters_keep_the_xml_valid():
    text = render(sample_report(), "junit")
    root = ET.fromstring(text.encode("utf-8"))  # parses: the document is well-formed
    found = cases(root)
    assert (("PC-NET-001", REDIS_ID)) in found
    assert SCRIPT_NAME in found[("PC-NET-001", REDIS_ID)].find("failure").text
    cosmos = found[("PC-NET-001", COSMOS_ID)].find("failure").text
    assert IMG_NAME in cosmos
    assert "\x1b" not in text and "\\x1b" in cosmos
    assert "<script>" not in text  # escaped as &lt;script&gt;


def test_findings_with_a_subject_have_test_names_of_their_own():
    from dataclasses import replace

    report = sample_report()
    base = report.findings[0]
    report.findings = [replace(base, subject="cpu"), replace(base, subject="memory")]
    root = ET.fromstring(render(report, "junit").encode("utf-8"))
    names = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert len(names) == len(set(names)) == 2
    assert (base.rule_id, f"{base.resource_id} [memory]") in names


def test_unattested_manual_lines_fail_when_the_gate_requires_attestations():
    report = sample_report(require_attestations=True)
    root = ET.fromstring(render(report, "junit").encode("utf-8"))
    manual = [f for f in report.findings if f.status.value == "MANUAL"]
    failed = [c for c in root.iter("testcase") if c.find("failure") is not None]
    fails = [f for f in report.findings if f.status.value == "FAIL"]
    assert len(failed) == len(fails) + len(manual)
    assert int(root.get("failures")) == len(fails) + len(manual)
    plain = ET.fromstring(render(sample_report(), "junit").encode("utf-8"))
    assert int(plain.get("failures")) == len(fails)
