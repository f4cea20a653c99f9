"""Comparing two audits: what got fixed, what regressed, what is new.

A finding is identified across audits by its `findingId`: its rule, its resource (ARM ids
compared without regard to case) and its subject, when a rule says several things about one
resource (PC-MON-002: one finding per signal). A report saved before findings had subjects is
matched by rule and resource, the worst status standing for the pair. "Failing" means FAIL or
ERROR, the statuses that fail the gate.

- **fixed**: failing before, not failing now (PASS, WAIVED, MANUAL or NOT_APPLICABLE);
- **regressed**: present before and not failing, failing now;
- **new**: failing now, for a rule and resource the old audit did not have;
- **gone**: failing before, absent now (the resource was removed, or the rule not run);
- **still failing**: failing in both.

`prodcheck audit --baseline OLD.json` gates only on new and regressed findings (the gate's
severity threshold still applies), so a team can adopt the gate on an existing estate and
pay down the rest over time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodcheck.errors import UserError
from prodcheck.jsonfile import read_json
from prodcheck.model import Finding, Status, worst_status
from prodcheck.report import REPORT_FORMAT, Report
from prodcheck.validation import REPORT_SCHEMA, describe, schema_errors

Key = tuple[str, str, str]

CATEGORIES = ("regressed", "new", "fixed", "gone", "still_failing")
TITLES = {
    "regressed": "Regressed",
    "new": "New failing",
    "fixed": "Fixed",
    "gone": "Gone (failing before, absent now)",
    "still_failing": "Still failing",
}


def key_of(f: Finding) -> Key:
    return f.key


def load_report(path: Path | str) -> Report:
    """A saved `prodcheck.report/v1` JSON report; any problem is a one-line UserError."""
    doc, source = read_json(
        path,
        "report",
        "save it again with 'prodcheck audit --format json -o FILE'",
        missing="save one with 'prodcheck audit --format json -o FILE'",
    )
    if not isinstance(doc, dict) or doc.get("format") != REPORT_FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        hint = (
            "it looks like a snapshot: audit it first ('prodcheck audit --snapshot FILE --format json -o report.json')"
            if isinstance(doc, dict) and str(doc.get("format", "")).startswith("prodcheck.snapshot")
            else "pass a report written by 'prodcheck audit --format json'"
        )
        raise UserError(f"{source} is not a {REPORT_FORMAT} report (format {found!r}): {hint}")
    for error in schema_errors(doc, REPORT_SCHEMA):
        raise UserError(
            f"report {source} is damaged ({describe(error)}): save it again with "
            "'prodcheck audit --format json -o FILE'"
        )
    try:
        return Report.from_json(doc)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise UserError(
            f"report {source} is damaged ({type(exc).__name__}: {exc}): save it again with "
            "'prodcheck audit --format json -o FILE'"
        ) from None


@dataclass
class Change:
    rule_id: str
    resource_id: str
    resource_name: str
    before: Status | None
    after: Status | None
    severity: str
    message: str
    finding_id: str = ""
    subject: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "findingId": self.finding_id,
            "ruleId": self.rule_id,
            "resourceId": self.resource_id,
            "subject": self.subject,
            "resourceName": self.resource_name,
            "before": self.before.value if self.before else None,
            "after": self.after.value if self.after else None,
            "severity": self.severity,
            "message": self.message,
        }


@dataclass
class Diff:
    old_source: str = ""
    new_source: str = ""
    regressed: list[Change] = field(default_factory=list)
    new: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    gone: list[Change] = field(default_factory=list)
    still_failing: list[Change] = field(default_factory=list)
    readiness_before: int | None = None
    readiness_after: int | None = None

    @property
    def worse(self) -> bool:
        """True when anything is new or regressed: what `--exit-code` fails on."""
        return bool(self.regressed or self.new)

    def gated_ids(self) -> list[str]:
        """The `findingId`s of what is new or regressed: what a baseline lets fail the gate."""
        return sorted({c.finding_id for c in self.regressed + self.new})

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "prodcheck.diff/v1",
            "old": self.old_source,
            "new": self.new_source,
            "readiness": {"before": self.readiness_before, "after": self.readiness_after},
            "summary": {c: len(getattr(self, c)) for c in CATEGORIES},
            **{c: [x.to_json() for x in getattr(self, c)] for c in CATEGORIES},
        }


def _by_key(findings: list[Finding]) -> dict[Key, list[Finding]]:
    out: dict[Key, list[Finding]] = {}
    for f in findings:
        out.setdefault(key_of(f), []).append(f)
    return out


def _worst(findings: list[Finding]) -> Finding:
    status = worst_status([f.status for f in findings])
    return next(f for f in findings if f.status == status)


def compare(old: Report, new: Report) -> Diff:
    """How `new` differs from `old`, finding by finding (rule and resource)."""
    before = _by_key(old.findings)
    after = _by_key(new.findings)
    # A finding with a subject has no exact match in a report saved before subjects existed:
    # it is compared with that report's finding of the same rule on the same resource.
    matched_old: dict[Key, Key] = {}
    for key in after:
        legacy = (key[0], key[1], "")
        if key not in before and key[2] and legacy in before and legacy not in after:
            matched_old[key] = legacy
    legacy_used = set(matched_old.values())
    diff = Diff(
        old_source=old.source,
        new_source=new.source,
        readiness_before=old.readiness,
        readiness_after=new.readiness,
    )
    for key in sorted((set(before) - legacy_used) | set(after)):
        old_key = matched_old.get(key, key)
        o = _worst(before[old_key]) if old_key in before else None
        n = _worst(after[key]) if key in after else None
        shown = n or o
        assert shown is not None
        change = Change(
            rule_id=shown.rule_id,
            resource_id=shown.resource_id,
            resource_name=shown.resource_name,
            before=o.status if o else None,
            after=n.status if n else None,
            severity=shown.severity.value,
            message=shown.message,
            finding_id=shown.finding_id,
            subject=shown.subject,
        )
        failing_before = o is not None and o.status.blocks_gate
        failing_after = n is not None and n.status.blocks_gate
        if failing_after and o is None:
            diff.new.append(change)
        elif failing_after and not failing_before:
            diff.regressed.append(change)
        elif failing_after:
            diff.still_failing.append(change)
        elif failing_before and n is None:
            diff.gone.append(change)
        elif failing_before:
            diff.fixed.append(change)
    return diff


def apply_baseline(report: Report, old: Report, source: str) -> Diff:
    """Make `report`'s gate count only findings new or regressed since `old`."""
    diff = compare(old, report)
    report.baseline = {
        "source": source,
        "generatedAt": old.generated_at,
        "gated": diff.gated_ids(),
        "summary": {c: len(getattr(diff, c)) for c in CATEGORIES},
    }
    return diff


# ---- rendering the diff -------------------------------------------------------------------


def _status(s: Status | None) -> str:
    return s.value if s else "absent"


def render_text(diff: Diff) -> str:
    from prodcheck.reporters.terminal import safe

    lines = [
        f"prodcheck diff: {safe(diff.old_source or 'old')} → {safe(diff.new_source or 'new')}",
        "readiness: "
        + " → ".join(
            f"{r}%" if r is not None else "n/a"
            for r in (diff.readiness_before, diff.readiness_after)
        ),
        "",
    ]
    for category in CATEGORIES:
        changes = getattr(diff, category)
        lines.append(f"{TITLES[category]}: {len(changes)}")
        for c in changes:
            name = safe(c.resource_name or c.resource_id) + (
                f" [{safe(c.subject)}]" if c.subject else ""
            )
            lines.append(
                f"  {c.rule_id:<12} {c.severity:<8} {name}: {_status(c.before)} → {_status(c.after)}"
                f" — {safe(c.message)}"
            )
            lines.append(f"      {safe(c.resource_id)}")
        lines.append("")
    verdict = (
        "worse: findings are new or regressed" if diff.worse else "no new or regressed findings"
    )
    lines.append(verdict)
    return "\n".join(lines) + "\n"


def render_markdown(diff: Diff) -> str:
    from prodcheck.reporters.markdown import code, md

    icon = "❌" if diff.worse else "✅"
    out = [
        f"## {icon} prodcheck diff",
        "",
        f"{code(diff.old_source or 'old')} → {code(diff.new_source or 'new')} · readiness "
        + " → ".join(
            f"{r}%" if r is not None else "n/a"
            for r in (diff.readiness_before, diff.readiness_after)
        ),
        "",
        " · ".join(f"{TITLES[c].split(' (')[0]} {len(getattr(diff, c))}" for c in CATEGORIES),
    ]
    for category in CATEGORIES:
        changes = getattr(diff, category)
        if not changes or category == "still_failing":
            continue
        out += [
            "",
            f"### {TITLES[category]} ({len(changes)})",
            "",
            "| Rule | Resource | Before | After | Finding |",
            "|---|---|---|---|---|",
        ]
        for c in changes:
            out.append(
                f"| {code(c.rule_id)} | {code(c.resource_name or c.resource_id)}"
                f"{' ' + code(c.subject) if c.subject else ''} | "
                f"{_status(c.before)} | {_status(c.after)} | {md(c.message)} |"
            )
    return "\n".join(out) + "\n"


def render_diff(diff: Diff, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(diff.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return render_markdown(diff)
    if fmt in ("text", "terminal"):
        return render_text(diff)
    raise UserError(f"unknown diff format {fmt!r}: use text, json or markdown")
