"""The HTML report: one self-contained file a reviewer opens from a CI artifact or an email.

Everything is inline (CSS, JavaScript, the chart as SVG): the page makes no network request,
and its Content-Security-Policy allows only its own style and script (by hash), so even a
resource name that slipped through escaping could not load or run anything. Resource names,
tags and property values are untrusted: the template autoescapes every value, and links are
kept only when they are http(s).

The page works without JavaScript (every finding is rendered expanded); the script adds the
filters, collapses findings to one line each, and expands them again for printing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from prodcheck.model import STATUS_PRECEDENCE, Finding, Severity, Status
from prodcheck.paths import templates_dir
from prodcheck.report import Report
from prodcheck.reporters import RenderOptions

TEMPLATE = "report.html.j2"

STATUS_LABEL = {
    Status.PASS: "Pass",
    Status.FAIL: "Fail",
    Status.ERROR: "Error",
    Status.MANUAL: "Manual",
    Status.WAIVED: "Waived",
    Status.NOT_APPLICABLE: "Not applicable",
}
# The order statuses appear in the chart and the filters: what needs attention first.
STATUS_ORDER = STATUS_PRECEDENCE
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SLUG = re.compile(r"[^a-z0-9]+")
NO_GROUP = "(no resource group)"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _asset(name: str) -> str:
    return (templates_dir() / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def text(value: Any) -> str:
    """Untrusted text with control characters made visible (escaping is the template's job)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def show_value(value: Any) -> str:
    """An evidence value as a reviewer reads it: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return text(value)
    return text(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


def safe_link(url: str) -> bool:
    """Only plain http(s) links become anchors; anything else is shown as text."""
    return bool(re.match(r"^https?://[^\s\"'<>]+$", url or "", re.IGNORECASE))


def slug(value: str) -> str:
    return _SLUG.sub("-", value.lower()).strip("-") or "x"


def _chart_row(name: str, findings: list[Finding]) -> dict[str, Any]:
    counts = Counter(f.status for f in findings)
    judged = [s for s in STATUS_ORDER if s != Status.NOT_APPLICABLE and counts[s]]
    total = sum(counts[s] for s in judged)
    segments = []
    offset = 0.0
    for status in judged:
        width = 100.0 * counts[status] / total
        segments.append(
            {
                "status": status.value,
                "label": STATUS_LABEL[status],
                "count": counts[status],
                "x": round(offset, 3),
                "width": round(width, 3),
            }
        )
        offset += width
    readiness = Report.readiness_of(findings)
    parts = ", ".join(f"{s['count']} {s['label'].lower()}" for s in segments) or "nothing to check"
    return {
        "name": name,
        "readiness": readiness,
        "segments": segments,
        "description": f"{name}: "
        + (f"{readiness}% ready" if readiness is not None else "no automated verdict")
        + f" ({parts})",
    }


def _finding_view(report: Report, f: Finding, index: int, section: str, item: str) -> dict:
    info = report.rule_info(f.rule_id)
    title = info.title if info else ""
    links = [{"url": u, "href": safe_link(u)} for u in (info.links if info else [])]
    evidence = [{"key": text(k), "value": show_value(v)} for k, v in sorted(f.evidence.items())]
    note = [{"key": text(k), "value": show_value(v)} for k, v in sorted(f.note.items())]
    name = f.resource_name or f.resource_id or "scope"
    group = f.resource_group or NO_GROUP
    search = " ".join(
        [f.rule_id, title, name, f.resource_id, f.resource_type, group, f.message, item, section]
    ).lower()
    return {
        "anchor": f"f{index}",
        "rule_id": f.rule_id,
        "rule_title": text(title),
        "status": f.status.value,
        "status_label": STATUS_LABEL[f.status],
        "severity": f.severity.value,
        "name": text(name),
        "resource_id": text(f.resource_id),
        "resource_type": text(f.resource_type),
        "resource_group": text(group),
        "message": text(f.message),
        "evidence": evidence,
        "remediation": text(
            f.remediation
            or (info.remediation if info and f.status in (Status.FAIL, Status.ERROR) else "")
        ),
        "rationale": text(info.rationale if info else ""),
        "links": links,
        "note": note,
        "section": section,
        "search": text(search),
    }


def context(report: Report) -> dict[str, Any]:
    """Everything the template shows, as plain values (the template does no logic of its own)."""
    index = 0
    sections = []
    chart = []
    groups: set[str] = set()
    for section, rows in report.sections():
        row_views = []
        section_findings: list[Finding] = []
        for row in rows:
            views = []
            for f in row.findings:
                index += 1
                views.append(_finding_view(report, f, index, section, row.item))
                groups.add(f.resource_group or NO_GROUP)
            section_findings.extend(row.findings)
            row_views.append(
                {
                    "item": text(row.item),
                    "status": row.status.value,
                    "status_label": STATUS_LABEL[row.status],
                    "readiness": Report.readiness_of(row.findings),
                    "rules": [
                        {"id": i.id, "title": text(i.title), "severity": i.severity.value}
                        for i in row.rules
                    ],
                    "findings": views,
                }
            )
        chart.append(_chart_row(section, section_findings))
        sections.append(
            {
                "name": section,
                "slug": slug(section),
                "readiness": Report.readiness_of(section_findings),
                "rows": row_views,
            }
        )
    status_counts = report.counts_by_status()
    severity_counts = report.counts_by_severity()
    blocking = report.blocking()
    scope = report.scope
    subscriptions = scope.get("subscriptions") or []
    return {
        "title": f"prodcheck report — {text(scope.get('label', 'scope'))}",
        "passed": not blocking,
        "blocking": len(blocking),
        "fail_on": report.fail_on.value,
        "exit_code": report.exit_code,
        "baseline": report.baseline,
        "baseline_source": text((report.baseline or {}).get("source", "")),
        "readiness": report.readiness,
        "total": len(report.findings),
        "status_counts": [
            {"status": s.value, "label": STATUS_LABEL[s], "count": status_counts[s.value]}
            for s in STATUS_ORDER
        ],
        "severity_counts": [
            {"severity": s.value, "count": severity_counts[s.value]} for s in Severity
        ],
        "scope": {
            "label": text(scope.get("label", "")),
            "id": text(scope.get("id", "")),
            "subscriptions": [text(s) for s in subscriptions],
            "resources": scope.get("resources", 0),
            "coverage": text(scope.get("coverage", "")),
        },
        "source": text(report.source),
        "collected_at": text(report.collected_at or ""),
        "generated_at": text(report.generated_at),
        "tool_version": text(report.tool_version),
        "chart": chart,
        "sections": sections,
        "coverage_gaps": [text(g.describe()) for g in report.coverage_gaps],
        "notices": [
            {"kind": text(n.get("kind", "")), "message": text(n.get("message", ""))}
            for n in report.notices
        ],
        "filters": {
            "statuses": [{"value": s.value, "label": STATUS_LABEL[s]} for s in STATUS_ORDER],
            "severities": [s.value for s in Severity],
            "sections": [s["name"] for s in sections],
            "groups": sorted(groups, key=lambda g: (g == NO_GROUP, g.lower())),
        },
    }


def render(report: Report, options: RenderOptions) -> str:
    css = _asset("report.css")
    js = _asset("report.js")
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
        "base-uri 'none'; form-action 'none'"
    )
    template = _environment().get_template(TEMPLATE)
    return template.render(css=css, js=js, csp=csp, **context(report))
