"""The result of an audit: findings, the rules that made them, and the gate's verdict.

A `Report` is what reporters render and what `prodcheck report` reads back from JSON, so it
holds plain data only (rule metadata, not rule functions).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prodcheck import __version__
from prodcheck.checklist import order_of
from prodcheck.inventory import CoverageRecord
from prodcheck.model import Finding, Severity, Status, subscription_of, worst_status
from prodcheck.outbound import clean

REPORT_FORMAT = "prodcheck.report/v1"


@dataclass
class RuleInfo:
    """A rule's metadata as it applied in this audit (effective severity and parameters)."""

    id: str
    title: str
    checklist: str
    section: str
    severity: Severity
    needs: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    rationale: str = ""
    remediation: str = ""
    links: list[str] = field(default_factory=list)
    doc: str = ""
    origin: str = "builtin"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "checklist": self.checklist,
            "section": self.section,
            "severity": self.severity.value,
            "needs": list(self.needs),
            "params": self.params,
            "rationale": self.rationale,
            "remediation": self.remediation,
            "links": list(self.links),
            "doc": self.doc,
            "origin": self.origin,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RuleInfo:
        return cls(
            id=d["id"],
            title=d.get("title", ""),
            checklist=d.get("checklist", ""),
            section=d.get("section", ""),
            severity=Severity(d.get("severity", "medium")),
            needs=list(d.get("needs", [])),
            params=dict(d.get("params", {})),
            rationale=d.get("rationale", ""),
            remediation=d.get("remediation", ""),
            links=list(d.get("links", [])),
            doc=d.get("doc", ""),
            origin=d.get("origin", "builtin"),
        )


@dataclass
class ChecklistRow:
    """One checklist line with the rules verifying it and their findings."""

    section: str
    item: str
    status: Status
    rules: list[RuleInfo]
    findings: list[Finding]


def finding_to_json(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "findingId": f.finding_id,
        "ruleId": f.rule_id,
        "resourceId": f.resource_id,
        "subject": f.subject,
        "resourceName": f.resource_name,
        "resourceType": f.resource_type,
        "resourceGroup": f.resource_group,
        "subscriptionId": f.subscription_id,
        "status": f.status.value,
        "severity": f.severity.value,
        "message": f.message,
        "evidence": f.evidence,
        "remediation": f.remediation,
    }
    if f.note:
        out["note"] = f.note
    if f.source_file:
        out["source"] = {"file": f.source_file, "line": f.source_line}
    return out


def finding_from_json(d: dict[str, Any]) -> Finding:
    return Finding(
        rule_id=d["ruleId"],
        resource_id=d.get("resourceId", ""),
        status=Status(d["status"]),
        severity=Severity(d["severity"]),
        message=d.get("message", ""),
        resource_name=d.get("resourceName", ""),
        resource_type=d.get("resourceType", ""),
        resource_group=d.get("resourceGroup", ""),
        evidence=dict(d.get("evidence", {})),
        remediation=d.get("remediation", ""),
        note=dict(d.get("note", {})),
        subject=str(d.get("subject") or ""),
        **_source_from_json(d.get("source")),
    )


def _source_from_json(value: Any) -> dict[str, Any]:
    """A finding's `source` (file and line), when it is well formed; nothing otherwise."""
    if not isinstance(value, dict) or not isinstance(value.get("file"), str):
        return {}
    line = value.get("line")
    if not value["file"] or isinstance(line, bool) or not isinstance(line, int) or line < 1:
        return {}
    return {"source_file": value["file"], "source_line": line}


def gated_matcher(gated: list[Any]) -> Callable[[Finding], bool]:
    """Whether a baseline's `gated` list names a finding: finding ids, or (older reports)
    `[ruleId, resourceId]` pairs that name every finding of a rule on a resource."""
    ids = {g for g in gated if isinstance(g, str)}
    pairs = {
        (str(g[0]).upper(), str(g[1]).lower())
        for g in gated
        if isinstance(g, list | tuple) and len(g) == 2
    }
    return lambda f: f.finding_id in ids or f.key[:2] in pairs


def _coverage_json(c: CoverageRecord) -> dict[str, Any]:
    return {
        "resourceType": c.resource_type,
        "scope": c.scope,
        "subscriptionId": subscription_of(c.scope),
        "status": c.status,
        "statusCode": c.status_code,
        "errorCode": c.error_code,
        "message": c.message,
        "permission": c.permission,
    }


@dataclass
class Report:
    findings: list[Finding]
    rules: list[RuleInfo]
    fail_on: Severity = Severity.LOW
    scope: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    input_kind: str = "snapshot"
    collected_at: str | None = None
    generated_at: str = ""
    coverage_gaps: list[CoverageRecord] = field(default_factory=list)
    tool_version: str = __version__
    # Set when the gate only counts findings that are new or regressed against a baseline.
    baseline: dict[str, Any] | None = None
    # Configuration notices for reviewers: expired or stale waivers, expired attestations.
    notices: list[dict[str, Any]] = field(default_factory=list)
    # When set, every MANUAL line without a valid attestation fails the gate.
    require_attestations: bool = False

    # ---- the gate ------------------------------------------------------------------------

    def blocking(self) -> list[Finding]:
        """Findings that fail the gate: FAIL or ERROR at or above the threshold severity.

        Under a baseline, only the findings it gates (new or regressed, by `findingId`) count.
        With `require_attestations`, every MANUAL finding (a line nobody attested) blocks too,
        whatever its severity and the baseline.
        """
        gated = None if self.baseline is None else gated_matcher(self.baseline.get("gated", []))
        found = [
            f
            for f in self.findings
            if (
                f.status.blocks_gate
                and f.severity.rank >= self.fail_on.rank
                and (gated is None or gated(f))
            )
            or (self.require_attestations and f.status == Status.MANUAL)
        ]
        if not found and self.verified_nothing:
            # No automated check reached a verdict: whatever the threshold, baseline or
            # waivers, a gate that checked nothing does not pass.
            found = [f for f in self.findings if _status_before(f) is Status.ERROR]
        return found

    @property
    def verified_nothing(self) -> bool:
        """Whether no automated check reached a verdict: every non-MANUAL finding is ERROR."""
        automated = [s for s in map(_status_before, self.findings) if s is not Status.MANUAL]
        return bool(automated) and all(s is Status.ERROR for s in automated)

    def manual_remaining(self) -> list[Finding]:
        """MANUAL lines without a valid attestation: not ready until someone attests to them."""
        return [f for f in self.findings if f.status == Status.MANUAL]

    @property
    def gate_passed(self) -> bool:
        return not self.blocking()

    @property
    def exit_code(self) -> int:
        return 0 if self.gate_passed else 1

    # ---- summaries -----------------------------------------------------------------------

    def counts_by_status(self) -> dict[str, int]:
        counts = Counter(f.status.value for f in self.findings)
        return {s.value: counts.get(s.value, 0) for s in Status}

    def counts_by_severity(self) -> dict[str, int]:
        """FAIL and ERROR findings by severity: what stands between the workload and go-live."""
        counts = Counter(f.severity.value for f in self.findings if f.status.blocks_gate)
        return {s.value: counts.get(s.value, 0) for s in Severity}

    @staticmethod
    def readiness_of(findings: list[Finding]) -> int | None:
        """Percent of checklist verdicts that are ready: PASS and WAIVED over PASS, WAIVED, FAIL,
        ERROR and MANUAL. A MANUAL line is not ready until it is attested (then it is PASS)."""
        judged = [
            f
            for f in findings
            if f.status in (Status.PASS, Status.FAIL, Status.ERROR, Status.WAIVED, Status.MANUAL)
        ]
        if not judged:
            return None
        ok = sum(1 for f in judged if f.status in (Status.PASS, Status.WAIVED))
        return round(100 * ok / len(judged))

    @property
    def readiness(self) -> int | None:
        return self.readiness_of(self.findings)

    @property
    def listing_note(self) -> str:
        """How the top-level resources were listed, when not only through Resource Manager's
        own lists: Azure Resource Graph, and how fresh that is ('' otherwise)."""
        info = self.scope.get("resourceGraph")
        if not isinstance(info, dict):
            return ""
        types = info.get("types") if isinstance(info.get("types"), list) else []
        fallbacks = info.get("fallbacks") if isinstance(info.get("fallbacks"), list) else []
        if not types:
            return (
                "Azure Resource Graph could not be used; every resource was listed through "
                "Resource Manager"
            )
        when = info.get("queriedAt")
        note = (
            f"{len(types)} top-level resource types listed through Azure Resource Graph"
            + (f" (queried {when})" if isinstance(when, str) and when else "")
            + ", which can lag Resource Manager: a change made just before may not show yet"
        )
        if fallbacks:
            note += f"; {len(fallbacks)} part(s) were listed through Resource Manager instead"
        return note

    def rule_info(self, rule_id: str) -> RuleInfo | None:
        for info in self.rules:
            if info.id == rule_id:
                return info
        return None

    def checklist(self) -> list[ChecklistRow]:
        """Checklist lines in the guide's order, each with its rules, findings and status."""
        by_item: dict[tuple[str, str], list[RuleInfo]] = {}
        for info in self.rules:
            by_item.setdefault((info.section, info.checklist), []).append(info)
        findings_by_rule: dict[str, list[Finding]] = {}
        for f in self.findings:
            findings_by_rule.setdefault(f.rule_id, []).append(f)
        rows = []
        for (section, item), infos in sorted(by_item.items(), key=lambda kv: order_of(*kv[0])):
            infos = sorted(infos, key=lambda i: i.id)
            found = [f for info in infos for f in findings_by_rule.get(info.id, [])]
            rows.append(
                ChecklistRow(section, item, worst_status([f.status for f in found]), infos, found)
            )
        return rows

    def sections(self) -> list[tuple[str, list[ChecklistRow]]]:
        out: list[tuple[str, list[ChecklistRow]]] = []
        for row in self.checklist():
            if not out or out[-1][0] != row.section:
                out.append((row.section, []))
            out[-1][1].append(row)
        return out

    # ---- JSON ----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The `prodcheck.report/v1` document, as safe to show or write as every other output.

        Deterministic except for `generatedAt`. Like every exit of prodcheck (see
        `prodcheck.outbound`), each string in it has its credentials masked and its misleading
        characters (bidirectional overrides, line separators, control characters but the tab
        and line feed) written as visible escapes (`\\u202e`), whatever the rules or the input
        put in the report.
        """
        return clean(self.unmasked_json(), visible=True)

    def unmasked_json(self) -> dict[str, Any]:
        """The document of `to_json` with its text as the report holds it, unmasked.

        Only for writers that mask on their own: the JSON reporter renders a report that
        `prodcheck.reporters.render` has cleaned already, and masks its text again.
        """
        blocking = self.blocking()
        return {
            "format": REPORT_FORMAT,
            "tool": {"name": "prodcheck", "version": self.tool_version},
            "generatedAt": self.generated_at,
            "source": self.source,
            "inputKind": self.input_kind,
            "collectedAt": self.collected_at,
            "scope": self.scope,
            "gate": {
                "failOn": self.fail_on.value,
                "passed": not blocking,
                "exitCode": 0 if not blocking else 1,
                "blocking": len(blocking),
                "baseline": self.baseline,
                "requireAttestations": self.require_attestations,
                "manualRemaining": len(self.manual_remaining()),
            },
            "summary": {
                "readiness": self.readiness,
                "byStatus": self.counts_by_status(),
                "blockingBySeverity": self.counts_by_severity(),
            },
            "coverageGaps": [_coverage_json(c) for c in self.coverage_gaps],
            "checklist": [
                {
                    "section": row.section,
                    "item": row.item,
                    "status": row.status.value,
                    "rules": [i.id for i in row.rules],
                    "readiness": self.readiness_of(row.findings),
                }
                for row in self.checklist()
            ],
            "rules": [i.to_json() for i in sorted(self.rules, key=lambda i: i.id)],
            "findings": [finding_to_json(f) for f in self.findings],
            "notices": self.notices,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Report:
        gate = doc.get("gate", {})
        return cls(
            findings=[finding_from_json(f) for f in doc.get("findings", [])],
            rules=[RuleInfo.from_json(r) for r in doc.get("rules", [])],
            fail_on=Severity(gate.get("failOn", "low")),
            scope=doc.get("scope", {}),
            source=doc.get("source", ""),
            input_kind=doc.get("inputKind", "snapshot"),
            collected_at=doc.get("collectedAt"),
            generated_at=doc.get("generatedAt", ""),
            coverage_gaps=[
                CoverageRecord.from_json(_as_record(c)) for c in doc.get("coverageGaps", [])
            ],
            tool_version=doc.get("tool", {}).get("version", ""),
            baseline=gate.get("baseline"),
            require_attestations=bool(gate.get("requireAttestations", False)),
            notices=list(doc.get("notices", [])),
        )


def _as_record(gap: Any) -> Any:
    """A report's coverage gap as a snapshot coverage record: `subscriptionId` is derived from
    the scope, so it is dropped (reports written before it existed have none)."""
    if isinstance(gap, dict) and "subscriptionId" in gap:
        return {k: v for k, v in gap.items() if k != "subscriptionId"}
    return gap


def _status_before(f: Finding) -> Status:
    """A finding's status as its rule gave it, before a waiver or an attestation."""
    before = f.note.get("statusBefore") if isinstance(f.note, dict) else None
    try:
        return Status(before) if before else f.status
    except ValueError:
        return f.status
