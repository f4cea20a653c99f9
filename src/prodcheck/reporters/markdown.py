"""Markdown: a compact summary for pull-request comments and `$GITHUB_STEP_SUMMARY`.

The verdict, readiness per section, the findings that block the gate (one row per rule:
"PC-GOV-001 on 18 resources"), the manual checks still waiting for an attestation, and
configuration notices. Long lists are cut; with `--report-url` the summary links to the full
report (the CI recipes pass the URL of the uploaded HTML report).

Markdown has no autoescaping of its own, so the template environment escapes every value it
prints (see `md`): markup characters are backslash-escaped, HTML is entity-encoded, and
mentions, issue references and bare URLs are broken with a zero-width space, so a resource
named `@team` or tagged `https://evil.example` neither notifies anyone nor becomes a link.
Only fragments built here (`Md`) pass unescaped.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from prodcheck.model import STATUS_PRECEDENCE, Finding, Severity, Status, worst_status
from prodcheck.paths import templates_dir
from prodcheck.report import Report
from prodcheck.reporters import RenderOptions

TEMPLATE = "report.md.j2"
# How many rows of blocking findings (one per rule) and manual checks the summary lists.
MAX_ROWS = 30
# How many resources a row of blocking findings names before "and N more".
MAX_NAMES = 3

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MARKUP = re.compile(r"([\\`*_\[\]()|~!{}])")
_ZWSP = "&#8203;"


class Md(str):
    """Markdown built by the reporter itself: printed as it is."""


def md(value: Any) -> Md:
    """Untrusted text as inert Markdown (inline; never at the start of a line)."""
    if isinstance(value, Md):
        return value
    s = _CONTROL.sub(" ", "" if value is None else str(value))
    s = html.escape(s, quote=False)
    s = _MARKUP.sub(r"\\\1", s)
    s = re.sub(r"#(?=\w)", "#" + _ZWSP, s)
    s = s.replace("@", "@" + _ZWSP)
    s = re.sub(r"(?i)(:)(//)", r"\1" + _ZWSP + r"\2", s)
    s = re.sub(r"(?i)\b(www)\.", r"\1" + _ZWSP + ".", s)
    return Md(s)


def code(value: Any, in_table: bool = True) -> Md:
    """Untrusted text as an inline code span; in a table cell, pipes are escaped as GFM asks."""
    s = _CONTROL.sub(" ", "" if value is None else str(value))
    if in_table:
        s = s.replace("|", "\\|")
    if not s.strip():
        return Md("")
    longest = max((len(run) for run in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return Md(f"{fence}{pad}{s}{pad}{fence}")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=False,
        finalize=md,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["code"] = code
    return env


STATUS_ICON = {
    Status.FAIL: "❌",
    Status.ERROR: "⚠️",
    Status.MANUAL: "📝",
    Status.WAIVED: "🟦",
    Status.PASS: "✅",
    Status.NOT_APPLICABLE: "➖",
}
_ORDER = STATUS_PRECEDENCE


def _row(f: Finding) -> dict[str, Any]:
    return {
        "icon": Md(STATUS_ICON[f.status]),
        "status": f.status.value,
        "severity": f.severity.value,
        "rule": f.rule_id,
        "name": f.resource_name or f.resource_id or "scope",
        "group": f.resource_group,
        "message": f.message,
    }


def _groups(findings: list[Finding]) -> list[dict[str, Any]]:
    """Blocking findings, one row per rule and severity: "PC-GOV-001 on 18 resources"."""
    by_rule: dict[tuple[str, Severity], list[Finding]] = {}
    for f in findings:
        by_rule.setdefault((f.rule_id, f.severity), []).append(f)
    rows = []
    for (rule_id, severity), group in sorted(
        by_rule.items(), key=lambda kv: (-kv[0][1].rank, -len(kv[1]), kv[0][0])
    ):
        group = sorted(group, key=lambda f: (f.resource_id.lower(), f.subject))
        first = _row(group[0])
        resources = list(dict.fromkeys(f.resource_name or f.resource_id or "scope" for f in group))
        shown = resources[:MAX_NAMES]
        rows.append(
            dict(
                first,
                icon=Md(STATUS_ICON[worst_status([f.status for f in group])]),
                severity=severity.value,
                rule=rule_id,
                count=len(group),
                resources=len(resources),
                names=shown,
                names_more=len(resources) - len(shown),
            )
        )
    return rows


def safe_url(url: str) -> str:
    """An http(s) URL fit for a Markdown link target, or '' (anything else is not linked)."""
    url = (url or "").strip()
    if not re.fullmatch(r"https?://[^\s\x00-\x1f\x7f-\x9f<>()\[\]`\\\"']+", url):
        return ""
    return url


def context(report: Report, report_url: str = "") -> dict[str, Any]:
    blocking = report.blocking()
    blocking_sorted = sorted(
        blocking, key=lambda f: (-f.severity.rank, f.rule_id, f.resource_id.lower())
    )
    groups = _groups(blocking_sorted)
    manual = [f for f in report.findings if f.status == Status.MANUAL]
    waived = [f for f in report.findings if f.status == Status.WAIVED]
    counts = report.counts_by_status()
    sections = []
    for name, rows in report.sections():
        found = [f for row in rows for f in row.findings]
        by_status = {s: sum(1 for f in found if f.status == s) for s in _ORDER}
        readiness = Report.readiness_of(found)
        sections.append(
            {
                "name": name,
                "readiness": Md(f"{readiness}%" if readiness is not None else "n/a"),
                "counts": [by_status[s] for s in _ORDER[:-1]],
            }
        )
    severity_counts = report.counts_by_severity()
    return {
        "passed": not blocking,
        "icon": Md("✅" if not blocking else "❌"),
        "label": report.scope.get("label", "scope"),
        "readiness": Md(f"{report.readiness}%" if report.readiness is not None else "n/a"),
        "fail_on": report.fail_on.value,
        "blocking_count": len(blocking),
        "require_attestations": report.require_attestations,
        "baseline": report.baseline is not None,
        "baseline_source": (report.baseline or {}).get("source", ""),
        "source": report.source,
        "generated_at": report.generated_at,
        "tool_version": report.tool_version,
        "status_line": Md(
            " · ".join(f"{STATUS_ICON[s]} {counts[s.value]} {s.value}" for s in _ORDER)
        ),
        "severity_line": Md(", ".join(f"{severity_counts[s.value]} {s.value}" for s in Severity)),
        "headers": [s.value for s in _ORDER[:-1]],
        "sections": sections,
        "blocking": groups[:MAX_ROWS],
        "blocking_more": max(0, len(groups) - MAX_ROWS),
        "report_url": Md(safe_url(report_url)),
        "manual": [_row(f) for f in manual[:MAX_ROWS]],
        "manual_more": max(0, len(manual) - MAX_ROWS),
        "manual_count": len(manual),
        "waived": [
            dict(_row(f), owner=f.note.get("owner", ""), expires=f.note.get("expires", ""))
            for f in waived[:MAX_ROWS]
        ],
        "waived_more": max(0, len(waived) - MAX_ROWS),
        "waived_count": len(waived),
        "gaps": [g.describe() for g in report.coverage_gaps],
        "notices": [n.get("message", "") for n in report.notices],
    }


def render(report: Report, options: RenderOptions) -> str:
    text = _environment().get_template(TEMPLATE).render(**context(report, options.report_url))
    # One blank line between blocks, however the template's conditionals fell.
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
