"""Running rules over an inventory: verdicts become findings, and missing data becomes ERROR.

prodcheck fails closed. When the inventory records (in its coverage) that data a rule needs
could not be collected, every verdict that data could have changed is reported as ERROR, and
one ERROR finding per gap says what could not be read and which permission would allow it.
A rule that raises is ERROR too, and the audit goes on.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prodcheck.arm import ArmId, is_under, norm
from prodcheck.checklist import order_of
from prodcheck.inventory import CoverageRecord, Inventory, Verdict
from prodcheck.model import Finding, Severity, Status, with_unique_subjects
from prodcheck.report import Report, RuleInfo
from prodcheck.rule import Params, Rule
from prodcheck.secrets import mask_credentials, redact
from prodcheck.snapshot import Snapshot

NOT_COLLECTED = "NotCollected"
_DIAGNOSTICS = "microsoft.insights/diagnosticsettings"
_EXTENSION_TYPES = {_DIAGNOSTICS}
_EXTENSION_SUFFIX = "/providers/" + _DIAGNOSTICS


@dataclass
class AuditSettings:
    """Everything about an audit that is not the inventory or the rule code."""

    fail_on: Severity = Severity.LOW
    # Per-rule parameter overrides: {"PC-MON-002": {"cpu_threshold": 80}}.
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Per-rule severity overrides.
    severity: Mapping[str, Severity] = field(default_factory=dict)


class _Formatter(string.Formatter):
    """str.format that leaves unknown placeholders as they are."""

    def get_value(self, key: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, str) and key not in kwargs:
            return "{" + key + "}"
        return super().get_value(key, args, kwargs)


_FORMATTER = _Formatter()


def _remediation(template: str, verdict: Verdict) -> str:
    arm = ArmId.parse(verdict.target_id)
    try:
        return _FORMATTER.format(
            template,
            name=verdict.target_name or "<name>",
            resource_group=verdict.resource_group or "<resource-group>",
            id=verdict.target_id,
            subscription=arm.subscription or "<subscription>",
        )
    except (ValueError, IndexError):
        return template


def coverage_gaps(inventory: Inventory, needs: Sequence[str]) -> list[CoverageRecord]:
    """The coverage records showing that data of `needs` is missing, plus 'never collected' ones."""
    if inventory.coverage is None:
        return []
    gaps: list[CoverageRecord] = []
    needed: dict[str, str] = {}
    extended: set[str] = set()
    for t in needs:
        key = norm(t)
        if key.endswith(_EXTENSION_SUFFIX):
            # `{type}/providers/Microsoft.Insights/diagnosticSettings`: the extension type,
            # read for resources of `{type}` only.
            extended.add(key[: -len(_EXTENSION_SUFFIX)])
            needed.setdefault(_DIAGNOSTICS, "Microsoft.Insights/diagnosticSettings")
        else:
            needed.setdefault(key, t)
    for record in inventory.coverage:
        if record.failed and norm(record.resource_type) in needed:
            gaps.append(record)
    recorded = {norm(c.resource_type) for c in inventory.coverage}
    for key, declared in needed.items():
        if key in recorded:
            continue
        if not _could_exist(inventory, key, needed, extended):
            continue
        gaps.append(
            CoverageRecord(
                resource_type=declared,
                scope=inventory.scope.id,
                status="failed",
                error_code=NOT_COLLECTED,
                message="the snapshot has no coverage record for this type: it was never collected; "
                "collect again with a prodcheck that knows the rule",
            )
        )
    return gaps


def _could_exist(
    inventory: Inventory, type_key: str, needed: Mapping[str, str], extended: set[str]
) -> bool:
    """Whether resources of a type with no coverage record could exist at all.

    A child type (`.../service/apis`) cannot exist without a parent in the inventory, and an
    extension type (diagnostic settings) cannot exist without a resource to extend.
    """
    if type_key in _EXTENSION_TYPES:
        others = sorted(extended) or [
            t for t in needed if t != type_key and t not in _EXTENSION_TYPES
        ]
        return any(inventory.of_type(t) for t in others) if others else True
    segments = type_key.split("/")
    if len(segments) > 2:
        parent_type = "/".join(segments[:-1])
        return bool(inventory.of_type(parent_type))
    return True


def _misses_data_of(gap: CoverageRecord, finding: Finding) -> bool:
    """Whether `gap` lost data about the very resource `finding` judges.

    A failed child collection or extension read (scope: a resource) loses data of that resource
    and everything below it. A failed list in a subscription or resource group loses the
    resources of the listed type there (a partial page may have let some through) and their
    children; resources of other types are only touched through cross-references.
    """
    if gap.error_code == NOT_COLLECTED:
        # Nothing of the type was ever read: the rule never saw what it declared it needs.
        return True
    if not gap.scope or not is_under(finding.resource_id, gap.scope):
        return False
    if ArmId.parse(gap.scope).type not in (
        "Microsoft.Resources/subscriptions",
        "Microsoft.Resources/resourceGroups",
    ):
        return True
    gap_type, own_type = norm(gap.resource_type), norm(finding.resource_type)
    return (
        gap_type == own_type or gap_type.startswith(own_type + "/") or gap_type in _EXTENSION_TYPES
    )


def _apply_gaps(
    rule: Rule,
    severity: Severity,
    findings: list[Finding],
    gaps: list[CoverageRecord],
    scope_id: str,
) -> list[Finding]:
    if not gaps:
        return findings
    out = []
    for f in findings:
        is_scope_level = norm(f.resource_id) == norm(scope_id) or f.resource_type == "scope"
        missing_own_data = [g for g in gaps if not is_scope_level and _misses_data_of(g, f)]
        cross_reference = [g for g in gaps if norm(g.resource_type) != norm(f.resource_type)]
        reason: CoverageRecord | None = None
        if missing_own_data:
            reason = missing_own_data[0]
        elif is_scope_level and f.status != Status.PASS:
            reason = gaps[0]
        elif f.status in (Status.FAIL, Status.NOT_APPLICABLE) and cross_reference:
            reason = cross_reference[0]
        if reason is None or f.status in (Status.ERROR, Status.MANUAL):
            out.append(f)
            continue
        evidence = dict(f.evidence)
        evidence["verdict on the data that was read"] = f"{f.status.value}: {f.message}"
        out.append(
            replace(
                f,
                status=Status.ERROR,
                message=(
                    f"not verified: {reason.resource_type} could not be read in {reason.scope} "
                    f"(on what was read: {f.status.value}, {f.message})"
                ),
                evidence=evidence,
            )
        )
    for g in gaps:
        target = ArmId.parse(g.scope)
        out.append(
            Finding(
                rule_id=rule.id,
                resource_id=g.scope,
                status=Status.ERROR,
                severity=severity,
                message=g.describe(),
                resource_name=target.name,
                resource_type=target.type or "scope",
                resource_group=target.resource_group,
                evidence={"coverage.status": g.status, "coverage.statusCode": g.status_code},
                subject=f"coverage of {g.resource_type}",
                remediation=(
                    f"Grant the auditing identity {g.permission} (the Reader role includes it) "
                    "and run the audit again."
                    if g.permission and g.status_code in (401, 403)
                    else "Run the audit again; if it keeps failing, check the identity's access."
                ),
            )
        )
    return out


def _to_finding(rule: Rule, severity: Severity, verdict: Verdict) -> Finding:
    template = verdict.remediation if verdict.remediation is not None else rule.remediation
    remediation = (
        _remediation(template, verdict) if verdict.status in (Status.FAIL, Status.ERROR) else ""
    )
    if verdict.status == Status.MANUAL:
        remediation = _remediation(template, verdict)
    return Finding(
        rule_id=rule.id,
        resource_id=verdict.target_id,
        status=verdict.status,
        severity=severity,
        # A rule's message may quote a property; the secret part of a credential never shows.
        message=mask_credentials(verdict.message),
        resource_name=verdict.target_name,
        resource_type=verdict.target_type,
        resource_group=verdict.resource_group,
        evidence=redact(verdict.evidence),
        remediation=remediation,
        subject=verdict.subject,
    )


KNOWN_AFTER_DEPLOYMENT = "known after deployment"


def _run_noting_unknowns(rule: Rule, inventory: Inventory, params: Params) -> list[Verdict]:
    """Run `rule`, turning each verdict that read a value known only after deployment into ERROR.

    A verdict rests on what the rule read since the verdict before it, and on every read of its
    own target's unknown values during the whole run (a rule that reads everything first and
    yields afterwards still has its verdicts caught by target).
    """
    reads = inventory.unknown_reads
    reads.clear()
    pending: list[tuple[Verdict, list[tuple[str, str, str]]]] = []
    for verdict in rule.func(inventory, params) or []:
        pending.append((verdict, list(reads)))
        reads.clear()
    by_target: dict[str, list[tuple[str, str, str]]] = {}
    for _, read in pending:
        for entry in read:
            by_target.setdefault(entry[0], []).append(entry)
    out = []
    for verdict, read in pending:
        if not isinstance(verdict, Verdict) or verdict.status in (Status.ERROR, Status.MANUAL):
            out.append(verdict)
            continue
        rested = list(dict.fromkeys(read + by_target.get(norm(verdict.target_id), [])))
        if not rested:
            out.append(verdict)
            continue
        unknown = [f"{path} of {name}" for _, name, path in rested]
        evidence = dict(verdict.evidence)
        evidence["verdict on the planned values"] = f"{verdict.status.value}: {verdict.message}"
        evidence[KNOWN_AFTER_DEPLOYMENT] = unknown
        out.append(
            replace(
                verdict,
                status=Status.ERROR,
                message=(
                    f"{KNOWN_AFTER_DEPLOYMENT}: {', '.join(unknown)} "
                    f"(on what the plan shows: {verdict.status.value}, {verdict.message})"
                ),
                evidence=evidence,
                remediation=(
                    "Set the value in the template or Terraform configuration, or audit the "
                    "deployed resources after deployment."
                ),
            )
        )
    return out


def run_rule(
    rule: Rule, inventory: Inventory, settings: AuditSettings | None = None
) -> list[Finding]:
    """All findings of one rule, with coverage gaps applied."""
    settings = settings or AuditSettings()
    severity = settings.severity.get(rule.id, rule.severity)
    params = rule.resolve_params(settings.params.get(rule.id))
    try:
        if inventory.has_unknowns:
            verdicts = _run_noting_unknowns(rule, inventory, params)
        else:
            verdicts = rule.run(inventory, params)
        for v in verdicts:
            if not isinstance(v, Verdict):
                raise TypeError(f"yielded {type(v).__name__}, not a verdict (use resource.ok/fail)")
    except Exception as exc:
        return [
            Finding(
                rule_id=rule.id,
                resource_id=inventory.scope.id,
                status=Status.ERROR,
                severity=severity,
                message=f"rule {rule.id} broke ({type(exc).__name__}: {exc}); its verdicts are missing",
                resource_name=inventory.scope.name,
                resource_type="scope",
                remediation=f"Report this to the rule's maintainers ({rule.origin}).",
            )
        ]
    if not verdicts:
        kinds = ", ".join(rule.needs) or "resources"
        verdicts = [inventory.scope.not_applicable(f"nothing to check: no {kinds} in scope")]
    findings = [_to_finding(rule, severity, v) for v in verdicts]
    gaps = coverage_gaps(inventory, rule.needs)
    findings = _apply_gaps(rule, severity, findings, gaps, inventory.scope.id)
    # A rule yielding the very same verdict twice for one target reports it once; verdicts
    # that differ in status or message all stay.
    unique: dict[tuple[str, str, str, Status, str], Finding] = {}
    for f in findings:
        unique.setdefault((f.rule_id, norm(f.resource_id), f.subject, f.status, f.message), f)
    return with_unique_subjects(list(unique.values()))


def sort_findings(findings: list[Finding], rules: Mapping[str, RuleInfo]) -> list[Finding]:
    def key(f: Finding) -> tuple[Any, ...]:
        info = rules.get(f.rule_id)
        where = order_of(info.section, info.checklist) if info else (99, 99, "")
        return (where, f.rule_id, norm(f.resource_id), f.status.value, f.message)

    return sorted(findings, key=key)


def rule_info(rule: Rule, settings: AuditSettings) -> RuleInfo:
    return RuleInfo(
        id=rule.id,
        title=rule.title,
        checklist=rule.checklist,
        section=rule.section,
        severity=settings.severity.get(rule.id, rule.severity),
        needs=list(rule.needs),
        params=rule.resolve_params(settings.params.get(rule.id)).as_dict(),
        rationale=rule.rationale,
        remediation=rule.remediation,
        links=list(rule.links),
        doc=rule.doc,
        origin=rule.origin,
    )


def audit(
    snapshot: Snapshot,
    rules: Sequence[Rule],
    settings: AuditSettings | None = None,
    *,
    now: dt.datetime | None = None,
) -> Report:
    """Run `rules` over `snapshot` and build the report."""
    settings = settings or AuditSettings()
    inventory = snapshot.inventory()
    infos = {r.id: rule_info(r, settings) for r in rules}
    findings: list[Finding] = []
    for r in rules:
        findings.extend(run_rule(r, inventory, settings))
    gaps = [c for c in inventory.coverage or [] if c.failed]
    generated = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    return Report(
        findings=sort_findings(findings, infos),
        rules=sorted(infos.values(), key=lambda i: i.id),
        fail_on=settings.fail_on,
        scope=_report_scope(snapshot, inventory),
        source=snapshot.source,
        input_kind=snapshot.input_kind,
        collected_at=snapshot.collected_at,
        generated_at=generated.isoformat().replace("+00:00", "Z"),
        coverage_gaps=sorted(gaps, key=lambda c: (norm(c.scope), norm(c.resource_type))),
    )


def _report_scope(snapshot: Snapshot, inventory: Inventory) -> dict[str, Any]:
    scope = dict(snapshot.scope)
    scope.setdefault("subscriptions", sorted({r.subscription for r in inventory if r.subscription}))
    scope["id"] = inventory.scope.id
    scope["label"] = inventory.scope.name
    scope["resources"] = len(inventory)
    scope["coverage"] = (
        "recorded"
        if inventory.coverage is not None
        else "not recorded: the input is taken as complete"
    )
    return scope
