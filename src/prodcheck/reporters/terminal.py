"""The terminal report: the checklist, item by item, with what fails and why.

Resource names, tags and property values come from the audited subscription and are untrusted:
they are shown as plain text (never as rich markup), with control characters made visible, so
that a resource named `[bold red]x[/]` or carrying an escape sequence cannot restyle or
rewrite the terminal.
"""

from __future__ import annotations

import io
import re

from rich.console import Console
from rich.text import Text

from prodcheck.model import Finding, Status, split_remediation, worst_status
from prodcheck.report import Report, RuleInfo
from prodcheck.reporters import RenderOptions

# Every control character, line breaks included: a name must not start a line of its own
# (a tag value carrying "\nGate: PASSED" would otherwise forge the verdict line).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

STATUS_STYLE = {
    Status.PASS: ("✓", "green"),
    Status.FAIL: ("✗", "bold red"),
    Status.ERROR: ("!", "bold magenta"),
    Status.NOT_APPLICABLE: ("–", "dim"),
    Status.MANUAL: ("?", "yellow"),
    Status.WAIVED: ("~", "cyan"),
}

SEVERITY_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "blue",
    "info": "dim",
}


def safe(text: object) -> str:
    """Untrusted text with control characters (escape sequences among them) shown as \\xNN."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def _status(status: Status) -> Text:
    mark, style = STATUS_STYLE[status]
    return Text(f"{mark} {status.value:<14}", style=style)


def _finding_line(f: Finding) -> Text:
    line = Text("      ")
    mark, style = STATUS_STYLE[f.status]
    line.append(f"{mark} ", style=style)
    name = f.resource_name or f.resource_id
    line.append(safe(name), style="bold")
    if f.resource_type and f.resource_type != "scope":
        line.append(f" ({safe(f.resource_type)})", style="dim")
    line.append(": ")
    line.append(safe(f.message))
    return line


def _fix_lines(info: RuleInfo, found: list[Finding]) -> list[Text]:
    """For a failing rule: the fix's first line (filled for its first failing finding) and
    where to read more. `prodcheck rules show ID` prints the whole remediation."""
    failing = [f for f in found if f.status in (Status.FAIL, Status.ERROR)]
    first = next((f.remediation for f in failing if f.remediation), info.remediation)
    lines = []
    fix = split_remediation(first).first_line
    if fix:
        line = Text("      fix: ", style="bold")
        line.append(safe(fix))
        lines.append(line)
    docs = Text("      docs: ", style="dim")
    docs.append(f"prodcheck rules show {safe(info.id)}", style="dim")
    if info.links:
        docs.append(f" · {safe(info.links[0])}", style="dim")
    lines.append(docs)
    return lines


NO_SUBSCRIPTION = "(no single subscription)"


def _by_subscription(report: Report) -> list[Text]:
    """One line per subscription (findings by status, blocking ones, readiness), when the
    findings lie in more than one; findings spanning several (a tag's unit) go on a line of
    their own."""
    found: dict[str, list[Finding]] = {}
    for f in report.findings:
        found.setdefault(f.subscription_id, []).append(f)
    if len([s for s in found if s]) < 2:
        return []
    blocking: dict[str, int] = {}
    for f in report.blocking():
        blocking[f.subscription_id] = blocking.get(f.subscription_id, 0) + 1
    width = max(len(s or NO_SUBSCRIPTION) for s in found)
    lines = []
    for sub in sorted(found, key=lambda s: (not s, s)):
        findings = found[sub]
        statuses = [f.status for f in findings]
        worst = worst_status(statuses)
        line = Text("  ")
        mark, style = STATUS_STYLE[worst]
        line.append(f"{mark} ", style=style)
        line.append(f"{safe(sub or NO_SUBSCRIPTION):<{width}}  ", style="bold")
        for i, status in enumerate(s for s in Status if s in statuses):
            if i:
                line.append(" · ")
            line.append(f"{statuses.count(status)} {status.value}", style=STATUS_STYLE[status][1])
        readiness = Report.readiness_of(findings)
        line.append(f"   readiness {readiness if readiness is not None else 'n/a'}%")
        n = blocking.get(sub, 0)
        if n:
            line.append(f" · {n} blocking", style="bold red")
        lines.append(line)
    return lines


def render(report: Report, options: RenderOptions) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=options.color,
        no_color=not options.color,
        color_system="standard" if options.color else None,
        width=options.width or 100,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=True,
    )
    scope = report.scope
    title = Text("prodcheck ", style="bold")
    title.append(f"{report.tool_version} — go-live audit of {safe(scope.get('label', 'scope'))}")
    console.print(title)
    details = f"source {safe(report.source)}, {scope.get('resources', 0)} resources"
    if report.collected_at:
        details += f", collected {safe(report.collected_at)}"
    console.print(Text(details, style="dim"))
    if report.listing_note:
        console.print(Text(safe(report.listing_note), style="dim"))
    if scope.get("coverage", "").startswith("not recorded"):
        console.print(
            Text("coverage not recorded in the input: it is taken as complete", style="dim")
        )

    for section, rows in report.sections():
        console.print()
        console.print(Text(section, style="bold underline"))
        for row in rows:
            head = Text("  ")
            head.append_text(_status(row.status))
            head.append(safe(row.item), style="bold")
            console.print(head)
            for info in row.rules:
                found = [f for f in row.findings if f.rule_id == info.id]
                statuses = [f.status for f in found]

                status = worst_status(statuses)
                line = Text("    ")
                mark, style = STATUS_STYLE[status]
                line.append(f"{mark} ", style=style)
                line.append(f"{info.id:<13}", style="bold")
                line.append(f"{info.severity.value:<9}", style=SEVERITY_STYLE[info.severity.value])
                line.append(safe(info.title))
                passed = sum(1 for s in statuses if s == Status.PASS)
                if passed and status != Status.PASS:
                    line.append(f"  ({passed} passed)", style="dim")
                console.print(line)
                shown = [
                    f
                    for f in found
                    if options.verbose
                    or f.status in (Status.FAIL, Status.ERROR, Status.MANUAL, Status.WAIVED)
                ]
                for f in shown:
                    console.print(_finding_line(f))
                if status in (Status.FAIL, Status.ERROR):
                    for line in _fix_lines(info, found):
                        console.print(line)

    if report.coverage_gaps:
        console.print()
        console.print(Text("Not verified — data that could not be read", style="bold magenta"))
        for gap in report.coverage_gaps:
            console.print(Text(f"  ! {safe(gap.describe())}"))

    if report.notices:
        console.print()
        console.print(Text("Configuration notices", style="bold yellow"))
        for notice in report.notices:
            console.print(Text(f"  ~ {safe(notice.get('message', ''))}"))

    by_subscription = _by_subscription(report)
    if by_subscription:
        console.print()
        console.print(Text("By subscription", style="bold"))
        for line in by_subscription:
            console.print(line)

    console.print()
    counts = report.counts_by_status()
    summary = Text("Summary: ", style="bold")
    parts = [(s, counts[s.value]) for s in Status if counts[s.value]]
    for i, (status, n) in enumerate(parts):
        if i:
            summary.append(" · ")
        summary.append(f"{n} {status.value}", style=STATUS_STYLE[status][1])
    readiness = report.readiness
    summary.append(f"   readiness {readiness if readiness is not None else 'n/a'}%")
    manual = len(report.manual_remaining())
    if manual:
        summary.append(
            f" · {manual} manual line{'s' if manual != 1 else ''} await{'' if manual != 1 else 's'}"
            " attestation",
            style=STATUS_STYLE[Status.MANUAL][1],
        )
    console.print(summary)
    blocking = report.blocking()
    gate = Text("Gate: ", style="bold")
    if blocking:
        gate.append("FAILED", style="bold red")
        failing = sum(1 for f in blocking if f.status.blocks_gate)
        unattested = len(blocking) - failing
        reasons = []
        if failing:
            reasons.append(
                f"{failing} FAIL/ERROR finding(s) at or above {report.fail_on.value} severity"
            )
        if unattested:
            reasons.append(f"{unattested} MANUAL line(s) without attestation")
        gate.append(f" — {' and '.join(reasons)} (exit 1)")
    else:
        gate.append("PASSED", style="bold green")
        gate.append(f" — no FAIL or ERROR at or above {report.fail_on.value} severity (exit 0)")
        if manual:
            gate.append(
                " — manual lines are not gated: --require-attestations gates on them", style="dim"
            )
    if report.baseline is not None:
        gate.append(" — counting only findings new or regressed since the baseline", style="dim")
    console.print(gate)
    return buffer.getvalue()
