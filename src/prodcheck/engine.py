"""Running rules over an inventory: verdicts become findings, and missing data becomes ERROR.

prodcheck fails closed. When the inventory records (in its coverage) that data a rule needs
could not be collected, every verdict that data could have changed is reported as ERROR, and
one ERROR finding per gap says what could not be read and which permission would allow it.
A rule that raises is ERROR too, and the audit goes on.
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import chain
from typing import Any

from prodcheck import fanout, units
from prodcheck.arm import EXTENSION_TYPES, ArmId, extension_need, need_type, norm
from prodcheck.checklist import order_of
from prodcheck.errors import UserError
from prodcheck.inventory import CoverageRecord, Inventory, Read, Resource, Verdict
from prodcheck.model import (
    Finding,
    Severity,
    Status,
    fill_remediation,
    with_unique_subjects,
)
from prodcheck.outbound import cleaned, cleaned_again
from prodcheck.report import Report, RuleInfo
from prodcheck.rule import DEFAULT_RULE_TIMEOUT, Params, Rule, RuleTimeout, call_with_budget
from prodcheck.secrets import mask_credentials, prepare_masks
from prodcheck.snapshot import NOT_IN_INPUT, Snapshot

NOT_COLLECTED = "NotCollected"
# A resource whose data broke a rule: for that rule, it could not be read.
UNREADABLE = "Unreadable"
# How many resources one rule may find unreadable before the engine stops running it again.
_MAX_UNREADABLE = 20
_EXTENSION_TYPES = {norm(t) for t in EXTENSION_TYPES}


@dataclass
class AuditSettings:
    """Everything about an audit that is not the inventory or the rule code."""

    fail_on: Severity = Severity.LOW
    # Per-rule parameter overrides: {"PC-MON-002": {"cpu_threshold": 80}}.
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Per-rule severity overrides.
    severity: Mapping[str, Severity] = field(default_factory=dict)
    # Seconds one rule may run before it is stopped and reported as ERROR (None: no limit).
    rule_timeout: float | None = DEFAULT_RULE_TIMEOUT
    # What scope-level rules judge one at a time (prodcheck.units): subscription,
    # resource-group or tag:<key>.
    unit: str = units.DEFAULT
    # Processes that evaluate the rules (prodcheck.fanout); None: chosen by the size of the
    # inventory and the CPUs.
    jobs: int | None = None


def _remediation(template: str, verdict: Verdict) -> str:
    arm = ArmId.parse(verdict.target_id)
    return fill_remediation(
        template,
        name=verdict.target_name if verdict.target_type != "scope" else "",
        resource_group=verdict.resource_group,
        id=verdict.target_id,
        subscription=arm.subscription,
    )


def coverage_gaps(inventory: Inventory, needs: Sequence[str]) -> list[CoverageRecord]:
    """The coverage records showing that data of `needs` is missing, plus 'never collected' ones."""
    if inventory.coverage is None:
        return []
    gaps: list[CoverageRecord] = []
    needed: dict[str, str] = {}
    extended: set[str] = set()
    for t in needs:
        extension = extension_need(t)
        if extension is not None:
            # `{type}/providers/Microsoft.Insights/diagnosticSettings` (or `.../metrics`): the
            # extension type, read for resources of `{type}` only.
            extended.add(norm(extension[0]))
            needed.setdefault(norm(extension[1]), extension[1])
        else:
            needed.setdefault(norm(need_type(t)), need_type(t))
    for record in inventory.coverage:
        if record.failed and norm(record.resource_type) in needed:
            gaps.append(record)
    recorded = {norm(c.resource_type) for c in inventory.coverage}
    for key, declared in needed.items():
        if key in recorded or inventory.coverage_basis == "asserted":
            continue
        if inventory.coverage_basis == "inferred" and not (
            key.count("/") > 1 or key in _EXTENSION_TYPES
        ):
            # Another tool's inventory lists top-level resources: a type absent from it has none.
            # Child and extension types are another matter (Resource Graph returns neither).
            continue
        if not _could_exist(inventory, key, needed, extended, recorded):
            continue
        gaps.append(
            CoverageRecord(
                resource_type=declared,
                scope=inventory.scope.id,
                status="failed",
                error_code=NOT_COLLECTED,
                message=NOT_IN_INPUT
                if inventory.coverage_basis == "inferred"
                else "the snapshot has no coverage record for this type: it was never collected; "
                "collect again with a prodcheck that knows the rule",
            )
        )
    return gaps


def _could_exist(
    inventory: Inventory,
    type_key: str,
    needed: Mapping[str, str],
    extended: set[str],
    recorded: set[str],
) -> bool:
    """Whether resources of a type with no coverage record could exist at all.

    A child type (`.../service/apis`) cannot exist without a parent in the inventory, and an
    extension type (diagnostic settings) cannot exist without a resource to extend, unless the
    parents themselves were never collected.
    """
    if type_key in _EXTENSION_TYPES:
        others = sorted(extended) or [
            t for t in needed if t != type_key and t not in _EXTENSION_TYPES
        ]
        if not others:
            return True
        return any(
            inventory.resource_count(t) or (t not in recorded and t not in needed) for t in others
        )
    segments = type_key.split("/")
    if len(segments) > 2:
        parent_type = "/".join(segments[:-1])
        if inventory.resource_count(parent_type):
            return True
        if parent_type in recorded:
            return False
        # Parents never collected: their children were not either.
        return _could_exist(inventory, parent_type, needed, extended, recorded)
    # Another tool's inventory lists top-level resources: a type absent from it has none.
    return inventory.coverage_basis != "inferred"


def _gap_scope(gap: CoverageRecord) -> str:
    """Where a gap lost data, case-folded; "" (everywhere) when it cannot be placed."""
    scope = norm(gap.scope)
    if gap.error_code == NOT_COLLECTED or not scope.startswith("/") or "," in scope:
        return ""
    return scope


def _within(inner: str, outer: str) -> bool:
    return not outer or inner == outer or inner.startswith(outer + "/")


def _touches(gap: CoverageRecord, read: Read) -> bool:
    """Whether data `gap` lost could have changed the answer of a lookup that noted `read`."""
    gap_type, gap_scope = norm(gap.resource_type), _gap_scope(gap)
    if read.types is not None:
        # Children are listed for the parents that were listed: a gap in a parent type is a
        # gap in its child types too.
        if gap_type not in read.types and not any(t.startswith(gap_type + "/") for t in read.types):
            return False
        return _within(read.where, gap_scope) or _within(gap_scope, read.where)
    # Every type under `read.where`.
    if not read.where or _within(gap_scope, read.where):
        return True
    if _within(read.where, gap_scope):
        # A gap around the place: only child and extension types can lie inside it.
        parent_type = norm(ArmId.parse(read.where).type)
        return gap_type.startswith(parent_type + "/") or gap_type in _EXTENSION_TYPES
    return False


def _own_data(read: Read, target: Resource | None) -> Read:
    """`read` as it bears on a verdict about `target`.

    A listing that returned `target` bears on a verdict about it through `target`'s own data
    only (a resource's verdict does not change when a sibling could not be read), unless the
    rule said the verdict compares it with the others.
    """
    if target is None or read.compares:
        return read
    own_type = norm(target.type)
    if (read.types is None or own_type in read.types) and _within(target.key, read.where):
        return Read(frozenset((own_type,)), target.key)
    return read


def _unread_input(
    reads: Iterable[Read], target: Resource | None, gaps: Sequence[CoverageRecord]
) -> CoverageRecord | None:
    """The first gap (in the order of `gaps`) among the data a verdict rests on, or None when
    it had all of it.

    The gaps' order decides which one is named, not the reads': they are a set, whose order
    changes from one process to the next, and the same audit must name the same gap.
    """
    bearings = [_own_data(read, target) for read in reads]
    for gap in gaps:
        if any(_touches(gap, bearing) for bearing in bearings):
            return gap
    return None


def _not_verified(finding: Finding, reason: CoverageRecord) -> Finding:
    evidence = dict(finding.evidence)
    evidence["verdict on the data that was read"] = f"{finding.status.value}: {finding.message}"
    not_verified = replace(
        finding,
        status=Status.ERROR,
        message=(
            f"not verified: {reason.resource_type} could not be read in {reason.scope} "
            + (f"({reason.message}; " if reason.message == NOT_IN_INPUT else "(")
            + f"on what was read: {finding.status.value}, {finding.message})"
        ),
        evidence=evidence,
    )
    return cleaned_again(not_verified)


def _gap_finding(rule: Rule, severity: Severity, g: CoverageRecord) -> Finding:
    target = ArmId.parse(g.scope)
    if g.error_code == UNREADABLE:
        remediation = (
            "Check the resource's definition in Azure (the rule could not interpret it), and "
            f"report the shape to the rule's maintainers ({rule.origin})."
        )
    elif g.permission and g.status_code in (401, 403):
        remediation = (
            f"Grant the auditing identity {g.permission} (the Reader role includes it) "
            "and run the audit again."
        )
    else:
        remediation = "Run the audit again; if it keeps failing, check the identity's access."
    return cleaned(
        Finding,
        rule_id=rule.id,
        resource_id=g.scope,
        status=Status.ERROR,
        severity=severity,
        message=mask_credentials(g.describe()),
        resource_name=target.name,
        resource_type=target.type or "scope",
        resource_group=target.resource_group,
        evidence={"coverage.status": g.status, "coverage.statusCode": g.status_code},
        subject=f"coverage of {g.resource_type}",
        remediation=remediation,
    )


def _to_finding(rule: Rule, severity: Severity, verdict: Verdict) -> Finding:
    template = verdict.remediation if verdict.remediation is not None else rule.remediation
    remediation = (
        _remediation(template, verdict) if verdict.status in (Status.FAIL, Status.ERROR) else ""
    )
    if verdict.status == Status.MANUAL:
        remediation = _remediation(template, verdict)
    # A rule's message may quote a property; the secret part of a credential never shows, and
    # no secret is kept in the evidence. The finding is cleaned once, here, for every report.
    return cleaned(
        Finding,
        redact_evidence=True,
        rule_id=rule.id,
        resource_id=verdict.target_id,
        status=verdict.status,
        severity=severity,
        message=mask_credentials(verdict.message),
        resource_name=verdict.target_name,
        resource_type=verdict.target_type,
        resource_group=verdict.resource_group,
        evidence=verdict.evidence,
        remediation=remediation,
        subject=verdict.subject,
    )


KNOWN_AFTER_DEPLOYMENT = "known after deployment"


def _mark_unknowns(
    pending: list[tuple[Verdict, list[tuple[str, str, str]]]],
    trailing: Sequence[tuple[str, str, str]] = (),
) -> list[Verdict]:
    """Each verdict that read a value known only after deployment, made ERROR.

    A verdict rests on what the rule read since the verdict before it, and on every read of its
    own target's unknown values during the whole run (a rule that reads everything first and
    yields afterwards still has its verdicts caught by target), `trailing` reads after its last
    verdict included.
    """
    by_target: dict[str, list[tuple[str, str, str]]] = {}
    for read in [r for _, r in pending] + [list(trailing)]:
        for entry in read:
            by_target.setdefault(entry[0], []).append(entry)
    out = []
    for verdict, read in pending:
        if not isinstance(verdict, Verdict) or verdict.status == Status.MANUAL:
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


@dataclass
class _Run:
    """One run of a rule: its verdicts, each with the reads it rests on, and how it ended."""

    verdicts: list[tuple[Verdict, AbstractSet[Read]]] = field(default_factory=list)
    # Per verdict, the reads of values known only after deployment (resources from a plan).
    unknown: list[list[tuple[str, str, str]]] = field(default_factory=list)
    # Reads before the first verdict: every verdict of the run rests on them.
    shared: AbstractSet[Read] = frozenset()
    # Every read of the run, for the verdict the engine gives a rule that made none.
    every: set[Read] = field(default_factory=set)
    # Reads of values known only after deployment after the last verdict: what the rule read
    # and then said nothing about.
    trailing: list[tuple[str, str, str]] = field(default_factory=list)
    error: BaseException | None = None
    timed_out: bool = False


def _drive(rule: Rule, inventory: Inventory, params: Params, run: _Run) -> None:
    """Run the rule, attributing the reads made between two verdicts to the second one."""
    inventory.take_reads()
    inventory.unknown_reads.clear()
    try:
        produced = iter(rule.func(inventory, params) or ())
        first = True
        while True:
            try:
                verdict = next(produced)
            except StopIteration:
                break
            reads = inventory.take_reads()
            run.every |= reads
            unknown = list(inventory.unknown_reads)
            inventory.unknown_reads.clear()
            if not isinstance(verdict, Verdict):
                raise TypeError(
                    f"yielded {type(verdict).__name__}, not a verdict (use resource.ok/fail)"
                )
            run.unknown.append(unknown)
            if first:
                # Lookups before the first verdict may be shared by all verdicts, except those
                # confined to the first verdict's own resource (its data, its children).
                own: frozenset[Read] = frozenset()
                if verdict.target_type != "scope" and verdict.target_id:
                    target = norm(verdict.target_id)
                    own = frozenset(r for r in reads if r.where and _within(r.where, target))
                run.shared, first = reads - own, False
                run.verdicts.append((verdict, own))
            else:
                run.verdicts.append((verdict, reads))
    except (KeyboardInterrupt, RuleTimeout):
        raise
    except BaseException as exc:  # noqa: BLE001 - rule code may raise anything, even SystemExit
        run.error = exc
    finally:
        run.every |= inventory.take_reads()
        run.trailing = list(inventory.unknown_reads)
        inventory.unknown_reads.clear()


def _culprits(exc: BaseException, inventory: Inventory) -> list[Resource]:
    """The resources the rule was looking at when `exc` stopped it (innermost frame first)."""
    frames = [frame for frame, _ in traceback.walk_tb(exc.__traceback__)]
    for frame in reversed(frames):
        found = [
            value
            for value in frame.f_locals.values()
            if isinstance(value, Resource) and inventory.holds(value)
        ]
        if found:
            return list(dict.fromkeys(found))
    return []


def _execute(
    rule: Rule, inventory: Inventory, params: Params, budget: float | None
) -> tuple[_Run, dict[str, tuple[Resource, BaseException]]]:
    """Run `rule`; when one resource's data breaks it, run it again without that resource."""
    unreadable: dict[str, tuple[Resource, BaseException]] = {}
    deadline = time.monotonic() + budget if budget and budget > 0 else None
    inventory.record_reads(True)
    try:
        while True:
            run = _Run()
            inventory.hide(unreadable)
            left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            _, run.timed_out = call_with_budget(left, partial(_drive, rule, inventory, params, run))
            if run.timed_out or run.error is None or len(unreadable) >= _MAX_UNREADABLE:
                return run, unreadable
            culprits = [r for r in _culprits(run.error, inventory) if r.key not in unreadable]
            if not culprits:
                return run, unreadable
            for resource in culprits:
                unreadable[resource.key] = (resource, run.error)
    finally:
        inventory.hide(())
        inventory.record_reads(False)


def _unreadable_record(rule: Rule, resource: Resource, exc: BaseException) -> CoverageRecord:
    return CoverageRecord(
        resource_type=resource.type,
        scope=resource.id,
        status="failed",
        error_code=UNREADABLE,
        message=(
            f"rule {rule.id} could not interpret its data ({type(exc).__name__}: {exc}); "
            "verdicts resting on it are ERROR"
        ),
    )


def run_rule(
    rule: Rule,
    inventory: Inventory,
    settings: AuditSettings | None = None,
    *,
    part: str = "all",
) -> list[Finding]:
    """All findings of one rule, with coverage gaps applied.

    A rule that raises on one resource's data is run again without that resource: the
    resource and every verdict that read it are ERROR, the others stand. A rule that raises
    for another reason, or runs out of time, keeps the verdicts it made and adds an ERROR
    saying so.

    `part` is for a scope-level rule judged per workload unit (see `run_per_unit`):
    "resources" keeps only the verdicts about resources (the whole inventory), "scope" only
    those about the inventory's scope (a unit's view), without the coverage gaps' own findings,
    which the whole inventory's run reports.
    """
    settings = settings or AuditSettings()
    severity = settings.severity.get(rule.id, rule.severity)
    params = rule.resolve_params(settings.params.get(rule.id))
    run, unreadable = _execute(rule, inventory, params, settings.rule_timeout)
    broken: list[Finding] = []
    if run.timed_out:
        broken.append(
            _rule_error(
                rule,
                severity,
                inventory,
                f"rule {rule.id} did not finish within {settings.rule_timeout:g} s; "
                "its other verdicts are missing",
                "Raise the time budget (--rule-timeout, or rules.timeout in prodcheck.yaml), or "
                f"report this to the rule's maintainers ({rule.origin}).",
            )
        )
    elif run.error is not None:
        exc = run.error
        broken.append(
            _rule_error(
                rule,
                severity,
                inventory,
                f"rule {rule.id} broke ({type(exc).__name__}: {exc}); its verdicts are missing",
                f"Report this to the rule's maintainers ({rule.origin}).",
            )
        )
    verdicts = run.verdicts
    yielded = bool(verdicts)
    if part != "all":
        about_scope = part == "scope"
        verdicts = [(v, r) for v, r in verdicts if (v.target_type == "scope") == about_scope]
        run.unknown = [
            u
            for (v, _), u in zip(run.verdicts, run.unknown, strict=False)
            if (v.target_type == "scope") == about_scope
        ]
    if inventory.has_unknowns:
        marked = _mark_unknowns(
            [(v, u) for (v, _), u in zip(verdicts, run.unknown, strict=True)], run.trailing
        )
        verdicts = [(v, reads) for v, (_, reads) in zip(marked, verdicts, strict=True)]
        # The rule read values known only after deployment and said nothing about their
        # resources: what it would have said rests on them (a verdict for the scope).
        judged = {norm(v.target_id) for v, _ in run.verdicts}
        unjudged = [entry for entry in run.trailing if entry[0] not in judged]
        if unjudged and not broken and part != "resources":
            silent = inventory.scope.not_applicable(
                "no verdict on the resources whose values it read"
            )
            verdicts.append((_mark_unknowns([(silent, unjudged)])[0], frozenset(run.every)))
    if not yielded and not verdicts and not broken and part != "resources":
        kinds = ", ".join(rule.needs) or "resources"
        nothing = inventory.scope.not_applicable(f"nothing to check: no {kinds} in scope")
        verdicts = [(nothing, frozenset(run.every))]
    gaps = coverage_gaps(inventory, rule.needs)
    gaps += [_unreadable_record(rule, r, exc) for r, exc in unreadable.values()]
    findings: list[Finding] = []
    reported = {(norm(g.resource_type), norm(g.scope)) for g in gaps}
    tainting: list[CoverageRecord] = list(gaps)
    failed = [c for c in inventory.coverage or [] if c.failed] + [
        g for g in gaps if g.error_code in (NOT_COLLECTED, UNREADABLE)
    ]
    for verdict, reads in verdicts:
        finding = _to_finding(rule, severity, verdict)
        if failed and finding.status not in (Status.ERROR, Status.MANUAL):
            target = (
                inventory.resource(verdict.target_id) if verdict.target_type != "scope" else None
            )
            reason = _unread_input(chain(run.shared, reads), target, failed)
            if reason is not None:
                finding = _not_verified(finding, reason)
                key = (norm(reason.resource_type), norm(reason.scope))
                if key not in reported:
                    reported.add(key)
                    tainting.append(reason)
        findings.append(finding)
    findings += broken
    if part != "scope":
        findings += [_gap_finding(rule, severity, g) for g in tainting]
    # A rule yielding the very same verdict twice for one target reports it once; verdicts
    # that differ in status or message all stay.
    unique: dict[tuple[str, str, str, Status, str], Finding] = {}
    for f in findings:
        unique.setdefault((f.rule_id, norm(f.resource_id), f.subject, f.status, f.message), f)
    return with_unique_subjects(list(unique.values()))


def is_scope_level(rule: Rule) -> bool:
    """Whether `rule` may judge the audited scope as a whole ("a Key Vault is in scope"): it
    says so (`scope_level`), or its function reads `inv.scope`."""
    if rule.scope_level is not None:
        return rule.scope_level
    code = getattr(rule.func, "__code__", None)
    return code is not None and "scope" in code.co_names


def _judged_the_scope(findings: Sequence[Finding], inventory: Inventory) -> bool:
    """Whether a rule made a verdict about the audited scope itself."""
    scope = None
    for f in findings:
        if f.resource_type == "scope":
            if scope is None:
                scope = norm(inventory.scope.id)
            if norm(f.resource_id) == scope:
                return True
    return False


def run_per_unit(
    rule: Rule, inventory: Inventory, views: Sequence[Inventory], settings: AuditSettings
) -> list[Finding]:
    """A rule's findings when scope-level verdicts are made per workload unit.

    Verdicts about resources come from one run over the whole inventory, as for every rule
    (a resource's verdict may rest on resources of other units); verdicts about the scope from
    one run per unit over the unit's view, whose scope is the unit. A rule over an audit that
    is one unit (`views` empty) runs as it always did.
    """
    if not views:
        return run_rule(rule, inventory, settings)
    if not is_scope_level(rule):
        found = run_rule(rule, inventory, settings)
        if not _judged_the_scope(found, inventory):
            return found
        # A rule that reached the scope through a helper, without saying so: judge it per unit
        # too, rather than let one unit's resources decide for all.
    return _per_unit(rule, inventory, views, settings)


def _per_unit(
    rule: Rule, inventory: Inventory, views: Sequence[Inventory], settings: AuditSettings
) -> list[Finding]:
    findings = run_rule(rule, inventory, settings, part="resources")
    for view in views:
        findings += run_rule(rule, view, settings, part="scope")
    unique: dict[tuple[str, str, str, Status, str], Finding] = {}
    for f in findings:
        unique.setdefault((f.rule_id, norm(f.resource_id), f.subject, f.status, f.message), f)
    return with_unique_subjects(list(unique.values()))


def _rule_error(
    rule: Rule, severity: Severity, inventory: Inventory, message: str, remediation: str
) -> Finding:
    return Finding(
        rule_id=rule.id,
        resource_id=inventory.scope.id,
        status=Status.ERROR,
        severity=severity,
        message=mask_credentials(message),
        resource_name=inventory.scope.name,
        resource_type="scope",
        remediation=remediation,
    )


def sort_findings(findings: list[Finding], rules: Mapping[str, RuleInfo]) -> list[Finding]:
    places: dict[str, tuple[Any, ...]] = {}  # each rule's place in the checklist, found once
    folded: dict[str, str] = {}  # each resource id folded once (several rules judge it)

    def key(f: Finding) -> tuple[Any, ...]:
        where = places.get(f.rule_id)
        if where is None:
            info = rules.get(f.rule_id)
            where = places[f.rule_id] = (
                order_of(info.section, info.checklist) if info else (99, 99, "")
            )
        rid = folded.get(f.resource_id)
        if rid is None:
            rid = folded[f.resource_id] = norm(f.resource_id)
        return (where, f.rule_id, rid, f.status.value, f.message)

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


def check_selection(rules: Sequence[Rule]) -> None:
    """A UserError when no rule is selected: a gate that checks nothing cannot pass."""
    if not rules:
        raise UserError(
            "no rule to run: the selection (--rule/--skip, or rules.select/rules.skip in "
            "prodcheck.yaml) leaves none, and a gate that checks nothing cannot pass; "
            "select at least one rule (see 'prodcheck rules list')"
        )


def _as_of(collected_at: str | None) -> dt.datetime | None:
    """The snapshot's collection time (ISO 8601, `Z` or an offset), or None."""
    if not isinstance(collected_at, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(collected_at.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# Inventories smaller than this are evaluated in one process: forking costs more than it saves
# (see docs/performance.md).
PARALLEL_FROM = 2000


def _evaluate(
    r: Rule, inventory: Inventory, views: list[Inventory] | None, settings: AuditSettings
) -> tuple[list[Finding], list[Inventory] | None]:
    """One rule's findings over the inventory, and the workload units (made if it needs them
    and they were not made before)."""
    if is_scope_level(r):
        if views is None:
            views = units.split(inventory, settings.unit) or []
        return run_per_unit(r, inventory, views, settings), views
    found = run_rule(r, inventory, settings)
    if _judged_the_scope(found, inventory):
        # It judged the scope through a helper without saying so: per unit, as above.
        if views is None:
            views = units.split(inventory, settings.unit) or []
        if views:
            found = _per_unit(r, inventory, views, settings)
    return found, views


def _shared_evaluation(
    inventory: Inventory, rules: Sequence[Rule], settings: AuditSettings, jobs: int
) -> tuple[list[Finding], list[Inventory] | None]:
    """The rules' findings, evaluated by `jobs` processes (prodcheck.fanout), in the order
    one process gives them: each rule's findings as `_evaluate` makes them, rule after rule."""
    views: list[Inventory] | None = None
    if any(is_scope_level(r) for r in rules):
        # Made once, before the processes part: each would otherwise make its own.
        views = units.split(inventory, settings.unit) or []

    def task(r: Rule) -> tuple[list[Finding], bool]:
        found, made = _evaluate(r, inventory, views, settings)
        return found, made is not None

    # The costliest first, so that the processes end about together: a rule's cost grows
    # with the resources of the types it reads, and with the units it judges one at a time.
    def cost(i: int) -> int:
        r = rules[i]
        count = sum(inventory.resource_count(need_type(t)) for t in r.needs)
        return count * (1 + len(views or ())) if is_scope_level(r) else count

    order = sorted(range(len(rules)), key=lambda i: -cost(i))
    timeout = settings.rule_timeout
    # A process that finishes no rule within the longest time one rule may take (once over
    # the inventory, once per unit) is stuck: the audit stops rather than wait for ever.
    stall = timeout * (2 + len(views or ())) + 60 if timeout and timeout > 0 else None
    # Every process masks what its rules find: the masks are built once, here, before the
    # processes part.
    prepare_masks()
    ran = fanout.share(
        [partial(task, r) for r in rules], jobs, what="evaluating rules", stall=stall, order=order
    )
    if views is None and any(made for _, made in ran):
        views = units.split(inventory, settings.unit) or []
    return [f for found, _ in ran for f in found], views


def audit(
    snapshot: Snapshot,
    rules: Sequence[Rule],
    settings: AuditSettings | None = None,
    *,
    now: dt.datetime | None = None,
) -> Report:
    """Run `rules` over `snapshot` and build the report.

    A gate that checks nothing cannot pass: no rule at all, or only rules that ask for
    attestations (MANUAL), is a UserError.
    """
    check_selection(rules)
    settings = settings or AuditSettings()
    inventory = snapshot.inventory()
    plan = snapshot.scope.get("plan")
    planned_at = plan.get("timestamp") if isinstance(plan, dict) else None
    inventory.as_of = _as_of(snapshot.collected_at) or _as_of(planned_at) or now
    infos = {r.id: rule_info(r, settings) for r in rules}
    findings: list[Finding] = []
    views: list[Inventory] | None = None  # the workload units, made when a rule needs them
    jobs = fanout.jobs_for(settings.jobs, len(inventory), PARALLEL_FROM)
    if jobs > 1 and len(rules) > 1:
        findings, views = _shared_evaluation(inventory, rules, settings, jobs)
    else:
        for r in rules:
            found, views = _evaluate(r, inventory, views, settings)
            findings.extend(found)
    if all(f.status is Status.MANUAL for f in findings):
        raise UserError(
            f"no automated rule was evaluated: the {len(rules)} rule(s) selected only ask for "
            "attestations (MANUAL), so the gate would check nothing; select automated rules too "
            "(see 'prodcheck rules list')"
        )
    gaps = [c for c in inventory.coverage or [] if c.failed]
    generated = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    scope = _report_scope(snapshot, inventory, rules)
    if views:
        scope["unit"] = settings.unit
        scope["units"] = [{"id": v.scope.id, "label": v.scope.name} for v in views]
    return Report(
        findings=sort_findings(findings, infos),
        rules=sorted(infos.values(), key=lambda i: i.id),
        fail_on=settings.fail_on,
        scope=scope,
        source=snapshot.source,
        input_kind=snapshot.input_kind,
        collected_at=snapshot.collected_at,
        generated_at=generated.isoformat().replace("+00:00", "Z"),
        coverage_gaps=sorted(gaps, key=lambda c: (norm(c.scope), norm(c.resource_type))),
    )


def _report_scope(
    snapshot: Snapshot, inventory: Inventory, rules: Sequence[Rule]
) -> dict[str, Any]:
    scope = dict(snapshot.scope)
    scope.update(snapshot.notes)
    if "subscriptions" not in scope:
        scope["subscriptions"] = sorted({r.subscription for r in inventory if r.subscription})
    scope["id"] = inventory.scope.id
    scope["label"] = inventory.scope.name
    scope["resources"] = len(inventory)
    scope["coverage"] = {
        "recorded": "recorded",
        "asserted": "not recorded: the input is taken as complete",
        "inferred": "inferred: the types present in the input were read, no others",
    }[inventory.coverage_basis]
    if inventory.coverage_basis == "inferred":
        scope["typesNotInInput"] = sorted(
            {
                g.resource_type
                for r in rules
                for g in coverage_gaps(inventory, r.needs)
                if g.error_code == NOT_COLLECTED
            }
        )
    plain = [norm(t.split("?", 1)[0]) for r in rules for t in r.needs]
    needed = {t.split("/providers/")[0] for t in plain}
    needed |= {t.rsplit("/providers/", 1)[-1] for t in plain}
    # Resource types no rule of this audit reads: counted, so nothing is skipped silently.
    unjudged = Counter(r.type for r in inventory if r.type_key not in needed)
    scope["unjudgedTypes"] = dict(sorted(unjudged.items()))
    return scope
