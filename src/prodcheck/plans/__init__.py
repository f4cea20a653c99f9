"""Deployment plans as inventories: ARM what-if results and Terraform plans, judged before deployment.

A plan becomes a `Snapshot` like any other input, so the rules run unchanged:

- each planned resource is an ARM resource body (`id`, `type`, `name`, `properties`, ...);
- what the plan cannot know yet (unresolved template expressions, Terraform's "known after
  apply" values) is listed per resource under `x-prodcheck-unknown`, and a verdict that reads
  such a value is reported as ERROR, "known after deployment";
- what prodcheck could not turn into a resource (what-if `Ignore`/`Unsupported` changes,
  unexpanded nested deployments, Terraform types without a mapping) becomes a failed coverage
  record, so the verdicts that needed it are ERROR and the report lists it as not evaluated.

See docs/shift-left.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodcheck.arm import norm
from prodcheck.errors import UserError
from prodcheck.inventory import UNKNOWN_KEY, CoverageRecord
from prodcheck.snapshot import Snapshot

if TYPE_CHECKING:
    from prodcheck.report import Report

NOT_EVALUATED = "NotEvaluated"
# The Terraform address a resource was planned as (`module.ai.azapi_resource.redis["default"]`).
ADDRESS_KEY = "x-prodcheck-address"
_DIAGNOSTICS_SUFFIX = "/providers/microsoft.insights/diagnosticsettings"

__all__ = [
    "ADDRESS_KEY",
    "NOT_EVALUATED",
    "UNKNOWN_KEY",
    "load_plan",
    "load_plan_demo",
    "name_by_address",
    "on_snapshot",
    "not_evaluated",
    "plan_coverage",
]


def not_evaluated(resource_type: str, scope: str, why: str) -> CoverageRecord:
    """A failed coverage record: data of `resource_type` in `scope` the plan cannot show."""
    return CoverageRecord(
        resource_type=resource_type,
        scope=scope,
        status="failed",
        error_code=NOT_EVALUATED,
        message=why,
    )


def plan_coverage(
    needs: Iterable[str], scope_id: str, gaps: Iterable[CoverageRecord]
) -> list[CoverageRecord]:
    """Coverage of a plan: complete for every type the rules need, except the recorded gaps.

    A plan describes the whole deployment, so a type it does not mention is a type the
    deployment does not create: the rules judge that absence. Types the plan names but could
    not show are the `gaps`.
    """
    records: list[CoverageRecord] = []
    seen: set[str] = set()
    for t in needs:
        key = norm(t)
        if key.endswith(_DIAGNOSTICS_SUFFIX):
            t, key = (
                "Microsoft.Insights/diagnosticSettings",
                "microsoft.insights/diagnosticsettings",
            )
        if key in seen:
            continue
        seen.add(key)
        records.append(CoverageRecord(resource_type=t, scope=scope_id, status="ok"))
    records.extend(gaps)
    return records


def load_plan(path: str | Path, kind: str, needs: Iterable[str] = ()) -> Snapshot:
    """Read a what-if result (`kind` "what-if") or Terraform plan ("terraform-plan") file."""
    try:
        return _load(path, kind, needs)
    except RecursionError:
        raise UserError(
            f"{path} is nested too deeply to be a {kind} file: pass the file the tool wrote"
        ) from None


def _load(path: str | Path, kind: str, needs: Iterable[str]) -> Snapshot:
    from prodcheck.jsonfile import read_json

    if kind == "what-if":
        from prodcheck.plans.whatif import parse_what_if

        data, source = read_json(
            path,
            "what-if result",
            "save it again with 'az deployment group what-if ... --result-format "
            "FullResourcePayloads --no-pretty-print > whatif.json'",
        )
        parse: Any = parse_what_if
    else:
        from prodcheck.plans.terraform import parse_terraform_plan

        data, source = read_json(
            path,
            "Terraform plan",
            "save it again with 'terraform show -json plan.tfplan > plan.json'",
        )
        parse = parse_terraform_plan
    snapshot: Snapshot = parse(data, source, needs)
    return snapshot


def on_snapshot(planned: Snapshot, deployed: Snapshot) -> Snapshot:
    """The estate after the plan: the deployed resources, with the plan's changes applied.

    A plan covers only what its template or configuration deploys; the rest of the scope comes
    from the snapshot, so scope-level rules (a WAF gateway exists, an alert per signal) judge
    the result. A planned resource replaces the deployed one with the same id (ids compared
    without case); a deleted one leaves. Coverage is the snapshot's, plus what the plan could not
    show.
    """
    plan_info = planned.scope.get("plan") if isinstance(planned.scope.get("plan"), dict) else {}
    deleted = {norm(str(i)) for i in (plan_info or {}).get("deletedIds", [])}
    replaced = {norm(str(r.get("id"))) for r in planned.resources}
    resources = [
        r
        for r in deployed.resources
        if norm(str(r.get("id"))) not in replaced and norm(str(r.get("id"))) not in deleted
    ]
    resources += planned.resources
    gaps = [c for c in planned.coverage or [] if c.failed]
    if deployed.coverage is not None:
        coverage: list[CoverageRecord] | None = list(deployed.coverage) + gaps
    else:
        coverage = planned.coverage
    scope = dict(deployed.scope)
    for key in ("subscriptions", "resourceGroups"):
        merged = {str(v).lower(): str(v) for v in (deployed.scope.get(key) or [])}
        for v in planned.scope.get(key) or []:
            merged.setdefault(str(v).lower(), str(v))
        scope[key] = sorted(merged.values())
    scope["plan"] = {**(plan_info or {}), "onSnapshot": deployed.source}
    return Snapshot(
        resources,
        coverage=coverage,
        scope=scope,
        collected_at=deployed.collected_at,
        source=f"{planned.source} on {deployed.source}",
        input_kind=planned.input_kind,
    )


def load_plan_demo(name: str, needs: Iterable[str] = ()) -> Snapshot:
    """A built-in demo plan: `flat-plan` (the accelerator's first `terraform plan`) or
    `hardened-plan` (the plan that hardens it)."""
    from prodcheck.paths import demos_dir

    snapshot = load_plan(demos_dir() / f"{name}.json", "terraform-plan", needs)
    snapshot.source = f"demo:{name}"
    return snapshot


def name_by_address(report: Report, snapshot: Snapshot) -> None:
    """Name the findings on planned resources by their Terraform address, as the code does."""
    addresses = {
        norm(str(r.get("id"))): r[ADDRESS_KEY]
        for r in snapshot.resources
        if isinstance(r.get(ADDRESS_KEY), str)
    }
    if addresses:
        report.findings = [
            replace(f, resource_name=addresses[norm(f.resource_id)])
            if norm(f.resource_id) in addresses
            else f
            for f in report.findings
        ]


def scope_of(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The subscriptions and resource groups the planned resources live in."""
    from prodcheck.arm import ArmId

    subs: dict[str, str] = {}
    groups: dict[str, str] = {}
    for r in resources:
        arm = ArmId.parse(str(r.get("id") or ""))
        if arm.subscription:
            subs.setdefault(arm.subscription.lower(), arm.subscription)
        if arm.resource_group:
            groups.setdefault(arm.resource_group.lower(), arm.resource_group)
    return {"subscriptions": sorted(subs.values()), "resourceGroups": sorted(groups.values())}


def scope_id(scope: dict[str, Any]) -> str:
    subs, groups = scope.get("subscriptions") or [], scope.get("resourceGroups") or []
    if len(subs) == 1 and len(groups) == 1:
        return f"/subscriptions/{subs[0]}/resourceGroups/{groups[0]}"
    if len(subs) == 1:
        return f"/subscriptions/{subs[0]}"
    if subs:
        return "/subscriptions/" + ",".join(subs)
    return "/"
