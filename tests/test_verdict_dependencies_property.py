"""Property: with data missing, no verdict that rests on the missing data is anything but ERROR.

A random collection gap is made in a demo inventory: a type's listing (or a parent's child
collection, or a resource's diagnostic settings) fails in a subscription, a resource group or
under a resource, possibly after some of it came through (a partial page), or a needed type is
never collected at all. Every built-in rule runs on the complete data and on the data with the
gap. Whatever is not ERROR with the gap (PASS, FAIL, NOT_APPLICABLE) must be exactly what the
complete data gives: the same rule, resource, status and message.
"""

from __future__ import annotations

from functools import cache

from builders import registry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodcheck.arm import ArmId, need_type, norm
from prodcheck.engine import run_rule
from prodcheck.inventory import CoverageRecord, Inventory
from prodcheck.model import Finding, Status
from prodcheck.snapshot import DEMOS, load_demo

_DIAGNOSTICS = "Microsoft.Insights/diagnosticSettings"


def _needed_types() -> list[str]:
    types: dict[str, str] = {}
    for rule in registry().all():
        for need in rule.needs:
            declared = need_type(need)  # an extension need: diagnostic settings, metrics
            types.setdefault(norm(declared), declared)
    return sorted(types.values(), key=norm)


@cache
def _demo(name: str) -> tuple[list[dict], dict, str]:
    snap = load_demo(name)
    subscription = "/subscriptions/" + str(snap.scope["subscriptions"][0])
    return snap.resources, dict(snap.scope), subscription


def _complete_coverage(subscription: str) -> list[CoverageRecord]:
    return [CoverageRecord(t, subscription, "ok", count=1) for t in _needed_types()]


def _run_all(inventory: Inventory) -> list[Finding]:
    findings: list[Finding] = []
    for rule in registry().all():
        findings.extend(run_rule(rule, inventory))
    return findings


@cache
def _complete_findings(name: str) -> frozenset[tuple[str, str, Status, str]]:
    resources, scope, subscription = _demo(name)
    inventory = Inventory(resources, coverage=_complete_coverage(subscription), scope=scope)
    return frozenset(_key(f) for f in _run_all(inventory))


def _key(f: Finding) -> tuple[str, str, Status, str]:
    return (f.rule_id, norm(f.resource_id), f.status, f.message)


def _places(name: str) -> list[tuple[str, str]]:
    """(type, scope) pairs a collection could fail for in this demo."""
    resources, _, subscription = _demo(name)
    groups = {
        subscription + "/resourceGroups/" + ArmId.parse(r["id"]).resource_group for r in resources
    }
    groups.add(subscription + "/resourceGroups/rg-elsewhere")
    places: set[tuple[str, str]] = set()
    for t in _needed_types():
        places.add((t, subscription))
        places.update((t, g) for g in groups)
    for r in resources:
        arm = ArmId.parse(r["id"])
        if arm.parent:
            places.add((arm.type, arm.parent))
        places.add((_DIAGNOSTICS, r["id"]))
        places.add(("Microsoft.Insights/metrics", r["id"]))
    return sorted(places)


def _under(resource_id: str, scope: str) -> bool:
    rid, sc = norm(resource_id), norm(scope)
    return rid == sc or rid.startswith(sc + "/")


@st.composite
def gaps(draw):
    name = draw(st.sampled_from(sorted(DEMOS)))
    resources, scope, subscription = _demo(name)
    never_collected = draw(st.booleans()) and draw(st.booleans())
    if never_collected:
        gap_type = draw(st.sampled_from(_needed_types()))
        gap_scope = subscription
    else:
        gap_type, gap_scope = draw(st.sampled_from(_places(name)))
    lost = [
        r["id"]
        for r in resources
        if norm(ArmId.parse(r["id"]).type) == norm(gap_type)
        and _under(r["id"], gap_scope)
        and (never_collected or not draw(st.booleans()))  # a partial page lets some through
    ]
    return name, gap_type, gap_scope, never_collected, lost


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(gaps())
def test_no_verdict_resting_on_missing_data_differs_from_the_verdict_on_complete_data(gap):
    name, gap_type, gap_scope, never_collected, lost = gap
    resources, scope, subscription = _demo(name)
    # What was lost takes its children and extensions with it: they were never listed.
    kept = [r for r in resources if not any(_under(r["id"], gone) for gone in lost)]
    coverage = [
        c
        for c in _complete_coverage(subscription)
        if not (never_collected and norm(c.resource_type) == norm(gap_type))
    ]
    if not never_collected:
        coverage.append(
            CoverageRecord(gap_type, gap_scope, "failed", status_code=403, error_code="Forbidden")
        )
    inventory = Inventory(kept, coverage=coverage, scope=scope)
    complete = _complete_findings(name)
    for finding in _run_all(inventory):
        if finding.status in (Status.ERROR, Status.MANUAL):
            continue
        assert _key(finding) in complete, (
            f"{finding.rule_id} says {finding.status.value} for {finding.resource_id} "
            f"({finding.message}) with {gap_type} missing in {gap_scope}; on the complete "
            "data it says otherwise"
        )
