"""JUnit XML, for CI test-result views (Azure Pipelines, GitLab, Jenkins, GitHub test reporters).

One test suite per checklist section; one test case per finding: the rule is the class name,
the resource (and the finding's subject, when it has one) the test name, unique per finding. FAIL is a
`<failure>`, ERROR an `<error>`, MANUAL, NOT_APPLICABLE and WAIVED are `<skipped>` with the
reason (a MANUAL line is a `<failure>` when the gate requires attestations); PASS is a plain
test case. The layout follows the common Ant/Surefire shape that those
consumers read.

Resource names and property values are untrusted: ElementTree escapes markup, and characters
XML 1.0 cannot carry at all (most control characters) are replaced by a visible `\\xNN`, so
the file always parses.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter

from prodcheck.model import Finding, Status
from prodcheck.report import Report
from prodcheck.reporters import RenderOptions

# Characters outside XML 1.0's Char production (plus the discouraged C1 controls).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: object) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def _details(report: Report, f: Finding) -> str:
    info = report.rule_info(f.rule_id)
    lines = [
        f"{f.rule_id} {info.title if info else ''}".rstrip(),
        f"{f.status.value} {f.severity.value}: {f.message}",
        f"resource: {f.resource_id}",
    ]
    if f.resource_type:
        lines.append(f"type: {f.resource_type}")
    if f.evidence:
        lines.append("evidence:")
        for key, value in sorted(f.evidence.items()):
            shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            lines.append(f"  {key} = {shown}")
    if f.remediation:
        lines += ["remediation:", f"  {f.remediation}"]
    if info and info.links:
        lines.append("see: " + " ".join(info.links))
    return xml_text("\n".join(lines))


def _skip_reason(f: Finding) -> str:
    if f.status == Status.WAIVED:
        note = f.note or {}
        who = f" by {note['owner']}" if note.get("owner") else ""
        until = f" until {note['expires']}" if note.get("expires") else ""
        reason = f": {note['reason']}" if note.get("reason") else ""
        return xml_text(f"waived{who}{until}{reason} ({f.message})")
    label = "manual check" if f.status == Status.MANUAL else "not applicable"
    return xml_text(f"{label}: {f.message}")


def _case_name(f: Finding) -> str:
    """The resource, and the subject when the rule makes several findings on it: with the rule
    as class name, unique per finding (test-result views merge cases of one name)."""
    name = f.resource_id or f.resource_name or "scope"
    return xml_text(f"{name} [{f.subject}]" if f.subject else name)


def to_xml(report: Report) -> ET.Element:
    root = ET.Element("testsuites", name="prodcheck")
    totals: Counter[str] = Counter()
    for section, rows in report.sections():
        suite = ET.SubElement(root, "testsuite", name=xml_text(section))
        counts: Counter[str] = Counter()
        for row in rows:
            for f in row.findings:
                case = ET.SubElement(
                    suite,
                    "testcase",
                    classname=xml_text(f.rule_id),
                    name=_case_name(f),
                    time="0",
                )
                counts["tests"] += 1
                unattested = f.status == Status.MANUAL and report.require_attestations
                if f.status == Status.FAIL or unattested:
                    counts["failures"] += 1
                    el = ET.SubElement(
                        case, "failure", message=xml_text(f.message), type=f.severity.value
                    )
                    el.text = _details(report, f)
                elif f.status == Status.ERROR:
                    counts["errors"] += 1
                    el = ET.SubElement(
                        case, "error", message=xml_text(f.message), type=f.severity.value
                    )
                    el.text = _details(report, f)
                elif f.status in (Status.MANUAL, Status.NOT_APPLICABLE, Status.WAIVED):
                    counts["skipped"] += 1
                    ET.SubElement(case, "skipped", message=_skip_reason(f))
        for key in ("tests", "failures", "errors", "skipped"):
            suite.set(key, str(counts[key]))
            totals[key] += counts[key]
        suite.set("time", "0")
        if report.generated_at:
            suite.set("timestamp", xml_text(report.generated_at.removesuffix("Z")))
        suite.set("hostname", "prodcheck")
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(totals[key]))
    root.set("time", "0")
    return root


def render(report: Report, options: RenderOptions) -> str:
    root = to_xml(report)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
