"""CSV, for spreadsheets: one row per finding, blocking findings first.

Columns: the finding's identity (`findingId`), the verdict, the rule and checklist line, the
resource (name, group, subscription, type, id) and subject, the message, the remediation, and
the waiver or attestation that changed the status. Resource names and messages are untrusted:
a cell that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
carriage return) is prefixed with `'`, so opening the file never runs anything.
"""

from __future__ import annotations

import csv
import io

from prodcheck.arm import ArmId
from prodcheck.model import STATUS_PRECEDENCE, Finding
from prodcheck.report import Report
from prodcheck.reporters import RenderOptions

COLUMNS = [
    "findingId",
    "status",
    "severity",
    "blocking",
    "ruleId",
    "ruleTitle",
    "section",
    "checklist",
    "resourceName",
    "resourceGroup",
    "subscription",
    "resourceType",
    "resourceId",
    "subject",
    "message",
    "remediation",
    "waivedOrAttestedBy",
    "waiverReasonOrEvidence",
    "validUntil",
]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A value as an inert spreadsheet cell."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _row(report: Report, f: Finding, blocking: set[str]) -> list[str]:
    info = report.rule_info(f.rule_id)
    note = f.note or {}
    return [
        cell(v)
        for v in (
            f.finding_id,
            f.status.value,
            f.severity.value,
            "yes" if f.finding_id in blocking else "no",
            f.rule_id,
            info.title if info else "",
            info.section if info else "",
            info.checklist if info else "",
            f.resource_name,
            f.resource_group,
            ArmId.parse(f.resource_id).subscription,
            f.resource_type,
            f.resource_id,
            f.subject,
            f.message,
            f.remediation,
            note.get("owner") or note.get("by") or "",
            note.get("reason") or note.get("evidence") or "",
            note.get("expires") or note.get("validUntil") or "",
        )
    ]


def render(report: Report, options: RenderOptions) -> str:
    blocking = {f.finding_id for f in report.blocking()}
    order = {s: i for i, s in enumerate(STATUS_PRECEDENCE)}
    findings = sorted(
        report.findings,
        key=lambda f: (
            f.finding_id not in blocking,
            order[f.status],
            -f.severity.rank,
            f.rule_id,
            f.resource_id.lower(),
            f.subject,
        ),
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for f in findings:
        writer.writerow(_row(report, f, blocking))
    return out.getvalue()
