"""The HTML report: one self-contained file a reviewer opens from a CI artifact or an email.

Everything is inline (CSS, JavaScript, the chart as SVG): the page makes no network request,
and its Content-Security-Policy allows only its own style and script (by hash), so even a
resource name that slipped through escaping could not load or run anything.

Built for estates of thousands of resources. The page opens on what blocks the gate: the
blocking findings, one row per rule (severity, rule, resources, the fix's first line), then
the checklist, section by section, one row per rule with its counts. Those parts are rendered
here and need no JavaScript. Every finding's details (evidence, remediation, waiver) are in
the page once, as compact JSON in a `<script type="application/json">` block, and the script
renders them only when a reader opens a rule or a group: no markup is repeated per finding,
and passing and not-applicable findings stay collapsed until asked for.

Resource names, tags and property values are untrusted: the template autoescapes every value;
the JSON block escapes `<`, `>`, `&` and the line separators U+2028/U+2029, so no value can
close the block or be read as markup; the script writes text with `textContent` only; links are
kept only when they are http(s). `text()` is the one place where this reporter takes its text.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from prodcheck.model import (
    STATUS_PRECEDENCE,
    Finding,
    Severity,
    Status,
    split_remediation,
    worst_status,
)
from prodcheck.paths import templates_dir
from prodcheck.report import Report, RuleInfo
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
    shown = str(value)
    if shown.isprintable():  # holds no control character: the usual case, at C speed
        return shown
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", shown)


def show_value(value: Any) -> str:
    """An evidence value as a reviewer reads it: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return text(value)
    return text(_SHOWN(value))


def _reused(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """`encoder.encode`, with the standard library's C encoder made once rather than for every
    value (`JSONEncoder.encode` makes it anew each time, which costs more than encoding a
    finding's row). The same text, and the same errors."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None or encoder.indent is not None or encoder.ensure_ascii:
        return encoder.encode
    markers: dict[int, Any] | None = {} if encoder.check_circular else None
    encode_string = json.encoder.encode_basestring
    write = make(
        markers,
        encoder.default,
        encode_string,
        None,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return encode_string(value)  # as `JSONEncoder.encode`
        try:
            return "".join(write(value, 0))
        except BaseException:
            if markers is not None:
                markers.clear()  # what a failed encoding left, as a fresh encoder has none
            raise

    return encode


# `json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)`, built once.
_SHOWN = _reused(json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str))


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


# Markers standing for a finding's own resource id, group and name in its remediation, so that
# one remediation text serves every finding of a rule (the script puts the values back).
_MARKERS = ("\x01", "\x02", "\x03")


def _template_of(remediation: str, f: Finding) -> str:
    """The remediation as shown (`text`), with the finding's id, group and name replaced by
    markers. `text` turns every control character into visible text, so no marker can be in
    the text before, and the script's replacing the markers back restores it exactly."""
    out = text(remediation)
    values = (text(f.resource_id), text(f.resource_group), text(f.resource_name))
    for marker, value in zip(_MARKERS, values, strict=True):
        if value:
            out = out.replace(value, marker)
    return out


def json_for_script(value: Any) -> str:
    """JSON that can sit inside a <script> element: nothing in it can end the element or be
    read as markup, and the JavaScript line separators are escaped.

    Each entry of a mapping, and each item of a list in it, starts a line of its own (JSON
    strings hold no raw line break), so that the report's last masking pass, which reads a
    document line by line, reads one finding at a time rather than one line of megabytes.
    """
    return _for_script(_dumps_by_line(value))


def _for_script(raw: str) -> str:
    """JSON text made safe inside a <script> element (see `json_for_script`). Each character
    is replaced on its own, so the text may be made safe in pieces."""
    return (
        raw.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


# `json.dumps(value, ensure_ascii=False, separators=(",", ":"))`, built once.
_COMPACT = _reused(json.JSONEncoder(ensure_ascii=False, separators=(",", ":")))


def _dumps_by_line(value: Any) -> str:
    dumps = _COMPACT

    if isinstance(value, dict) and value:
        return (
            "{\n"
            + ",\n".join(f"{dumps(str(k))}:{_dumps_by_line(v)}" for k, v in value.items())
            + "\n}"
        )
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join(dumps(v) for v in value) + "\n]"
    return dumps(value)


def _remedy_view(remediation: str) -> dict[str, Any]:
    remedy = split_remediation(remediation)
    return {
        "first": text(remedy.first_line),
    }


def metric_chart(evidence: dict[str, Any]) -> list[Any] | int:
    """A metric finding's chart: [target, 1 if lower is better else 0, hourly values], from
    its `series` evidence; 0 for any other finding. Numbers only: nothing of the metric's
    name or unit reaches the chart, and a series that is not finite numbers draws none."""
    series = evidence.get("series")
    if not isinstance(series, dict):
        return 0
    target, values = series.get("target"), series.get("values")
    numbers = (int, float)
    if (
        not isinstance(target, numbers)
        or isinstance(target, bool)
        or not isinstance(values, list)
        or not 0 < len(values) <= 1000
        or not all(isinstance(v, numbers) and not isinstance(v, bool) for v in values)
        or not all(math.isfinite(v) for v in [target, *values])
    ):
        return 0
    return [float(target), 0 if series.get("better") == "higher" else 1, [float(v) for v in values]]


def _data(
    report: Report, blocking_ids: set[str], row: Callable[[list[Any]], Any] = lambda r: r
) -> dict[str, Any]:
    """The findings as compact arrays: each rule, resource and remediation text once.

    Each finding's array is passed through `row` as it is made (the page's writer makes it
    its line of JSON text at once, rather than hold every finding's array until the end)."""
    statuses = [s.value for s in STATUS_ORDER]
    severities = [s.value for s in Severity]
    rules = sorted(report.rules, key=lambda i: i.id)
    rule_index = {info.id: n for n, info in enumerate(rules)}
    resources: dict[str, int] = {}
    resource_rows: list[list[str]] = []
    remediations: dict[str, int] = {}
    findings = []
    for f in report.findings:
        if f.rule_id not in rule_index:
            rule_index[f.rule_id] = len(rules)
            rules.append(
                RuleInfo(f.rule_id, f.rule_id, "", "", f.severity)  # a rule the report lacks
            )
        key = f.resource_id.lower() or f"scope:{f.resource_name}"
        if key not in resources:
            resources[key] = len(resource_rows)
            resource_rows.append(
                [
                    text(f.resource_id),
                    text(f.resource_name or f.resource_id or "scope"),
                    text(f.resource_type),
                    text(f.resource_group),
                    text(f.subscription_id),
                ]
            )
        rem = -1
        if f.remediation:
            template = _template_of(f.remediation, f)
            rem = remediations.setdefault(template, len(remediations))
        chart = metric_chart(f.evidence)
        findings.append(
            row(
                [
                    rule_index[f.rule_id],
                    statuses.index(f.status.value),
                    severities.index(f.severity.value),
                    resources[key],
                    text(f.message),
                    [
                        [text(k), show_value(v)]
                        for k, v in sorted(f.evidence.items())
                        if not (chart and k == "series")  # drawn, not listed
                    ],
                    rem,
                    text(f.subject),
                    [[text(k), show_value(v)] for k, v in sorted(f.note.items())],
                    1 if f.finding_id in blocking_ids else 0,
                    chart,
                ]
            )
        )
    sections = [name for name, _ in report.sections()]
    return {
        "statuses": statuses,
        "statusLabels": [STATUS_LABEL[s] for s in STATUS_ORDER],
        "severities": severities,
        "sections": sections,
        "rules": [
            [
                info.id,
                text(info.title),
                info.severity.value,
                text(info.section),
                text(info.checklist),
                text(info.rationale),
                [[text(u), safe_link(u)] for u in info.links],
            ]
            for info in rules
        ],
        "resources": resource_rows,
        "remediations": list(remediations),
        "findings": findings,
    }


def _blocking_groups(report: Report, blocking: list[Finding]) -> list[dict[str, Any]]:
    by_rule: dict[tuple[str, Severity], list[Finding]] = {}
    for f in blocking:
        by_rule.setdefault((f.rule_id, f.severity), []).append(f)
    groups = []
    for (rule_id, severity), found in sorted(
        by_rule.items(), key=lambda kv: (-kv[0][1].rank, -len(kv[1]), kv[0][0])
    ):
        info = report.rule_info(rule_id)
        first = next((f.remediation for f in found if f.remediation), "")
        names = sorted(
            {
                text(f.resource_name or f.resource_id or "scope")
                + (f" [{text(f.subject)}]" if f.subject else "")
                for f in found
            },
            key=str.lower,
        )
        statuses = Counter(f.status for f in found)
        groups.append(
            {
                "rule_id": rule_id,
                "title": text(info.title if info else ""),
                "severity": severity.value,
                "count": len(found),
                "status": worst_status(list(statuses)).value,
                "statuses": ", ".join(
                    f"{n} {STATUS_LABEL[s].lower()}"
                    for s, n in sorted(statuses.items(), key=lambda kv: STATUS_ORDER.index(kv[0]))
                ),
                "fix": _remedy_view(first)["first"],
                "names": names,
            }
        )
    return groups


def context(report: Report, data: str | None = None) -> dict[str, Any]:
    """Everything the template shows, as plain values (the template does no logic of its own).

    `data` stands in for the page's data block, when the caller writes that block itself."""
    sections = []
    chart = []
    groups: set[str] = set()
    subscriptions_seen: set[str] = set()
    for section, rows in report.sections():
        row_views = []
        section_findings: list[Finding] = []
        for row in rows:
            rule_views = []
            for info in row.rules:
                found = [f for f in row.findings if f.rule_id == info.id]
                counts = Counter(f.status for f in found)
                rule_views.append(
                    {
                        "id": info.id,
                        "title": text(info.title),
                        "severity": info.severity.value,
                        "status": worst_status([f.status for f in found]).value,
                        "count": len(found),
                        "counts": ", ".join(
                            f"{counts[s]} {STATUS_LABEL[s].lower()}"
                            for s in STATUS_ORDER
                            if counts[s]
                        )
                        or "no findings",
                    }
                )
            for f in row.findings:
                groups.add(text(f.resource_group) or NO_GROUP)
                sub = f.subscription_id
                if sub:
                    subscriptions_seen.add(sub)
            section_findings.extend(row.findings)
            row_views.append(
                {
                    "item": text(row.item),
                    "status": row.status.value,
                    "status_label": STATUS_LABEL[row.status],
                    "readiness": Report.readiness_of(row.findings),
                    "rules": rule_views,
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
    blocking_ids = {f.finding_id for f in blocking}
    scope = report.scope
    subscriptions = scope.get("subscriptions") or []
    return {
        "title": f"prodcheck report — {text(scope.get('label', 'scope'))}",
        "passed": not blocking,
        "blocking": len(blocking),
        "blocking_groups": _blocking_groups(report, blocking),
        "fail_on": report.fail_on.value,
        "exit_code": report.exit_code,
        "baseline": report.baseline,
        "baseline_source": text((report.baseline or {}).get("source", "")),
        "require_attestations": report.require_attestations,
        "manual_remaining": len(report.manual_remaining()),
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
        "listing_note": text(report.listing_note),
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
            "subscriptions": sorted(text(s) for s in subscriptions_seen),
        },
        "data": json_for_script(_data(report, blocking_ids)) if data is None else data,
    }


def render(report: Report, options: RenderOptions) -> str:
    return "".join(render_pieces(report, options))


# Stands in for the data block while the page around it is rendered: a NUL, which no value of
# a cleaned report holds raw (`text` and the report's cleaning make every control visible).
_DATA_MARK = "\x00prodcheck-report-data\x00"


def render_pieces(report: Report, options: RenderOptions) -> Iterator[str]:
    """The page in pieces: the markup before the data block, the block a finding at a time
    (`_data_pieces`), the markup after it; the same text as `render`."""
    css = _asset("report.css")
    js = _asset("report.js")
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
        "base-uri 'none'; form-action 'none'"
    )
    template = _environment().get_template(TEMPLATE)
    page = template.render(css=css, js=js, csp=csp, **context(report, data=_DATA_MARK))
    before, mark, after = page.partition(_DATA_MARK)
    if not mark or _DATA_MARK in after:  # not where it was put: render the page whole
        page = template.render(css=css, js=js, csp=csp, **context(report))
        yield page
        return
    del page
    yield before
    yield from _data_pieces(report)
    yield after


def _data_pieces(report: Report) -> Iterator[str]:
    """`json_for_script(_data(report, ...))` in pieces: each finding's line is made as the
    finding is read, and the arrays of the findings are never held all at once."""
    blocking_ids = {f.finding_id for f in report.blocking()}
    data = _data(report, blocking_ids, row=_COMPACT)
    yield "{\n"
    for n, (key, value) in enumerate(data.items()):
        head = ("" if n == 0 else ",\n") + _for_script(_COMPACT(key)) + ":"
        if key == "findings":
            if not value:
                yield head + "[]"
                continue
            yield head + "[\n"
            for i, line in enumerate(value):
                yield _for_script(line) if i == 0 else ",\n" + _for_script(line)
                value[i] = None  # written: let it go
            yield "\n]"
        else:
            yield head + _for_script(_dumps_by_line(value))
    yield "\n}"
