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

import itertools
import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodcheck.arm import need_type, norm
from prodcheck.errors import UserError
from prodcheck.inventory import UNKNOWN_KEY, CoverageRecord
from prodcheck.snapshot import Snapshot

if TYPE_CHECKING:
    from prodcheck.report import Report

NOT_EVALUATED = "NotEvaluated"
# The Terraform address a resource was planned as (`module.ai.azapi_resource.redis["default"]`).
ADDRESS_KEY = "x-prodcheck-address"

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
        # An extension need (diagnostic settings, metrics of a type) is answered by the
        # extension type's records. A plan holds no metrics: the rules reading them find none.
        t = need_type(t)
        key = norm(t)
        if key in seen:
            continue
        seen.add(key)
        records.append(CoverageRecord(resource_type=t, scope=scope_id, status="ok"))
    records.extend(gaps)
    return records


def load_plan(
    path: str | Path,
    kind: str,
    needs: Iterable[str] = (),
    terraform_source: str | Path | None = None,
) -> Snapshot:
    """Read a what-if result (`kind` "what-if") or Terraform plan ("terraform-plan") file.

    A Terraform plan's resources are located in the `.tf` files under `terraform_source`
    (see `terraform_source_dir` for the default)."""
    try:
        return _load(path, kind, needs, terraform_source)
    except RecursionError:
        raise UserError(
            f"{path} is nested too deeply to be a {kind} file: pass the file the tool wrote"
        ) from None


def _load(
    path: str | Path, kind: str, needs: Iterable[str], terraform_source: str | Path | None
) -> Snapshot:
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
        return parse_terraform_plan(
            data, source, needs, terraform_source_dir(path, terraform_source)
        )
    snapshot: Snapshot = parse(data, source, needs)
    return snapshot


def terraform_source_dir(plan: str | Path, given: str | Path | None) -> Path:
    """Where a plan's `.tf` files are: `given` (`--terraform-source`, or the configuration's
    `scope.terraform_source`), else the plan file's directory when it holds `.tf` files, else
    the current directory."""
    if given is not None:
        directory = Path(given)
        if not directory.is_dir():
            raise UserError(
                f"Terraform source {given} is not a directory: give --terraform-source (or "
                "scope.terraform_source) the directory of the root module's .tf files, where "
                "terraform plan ran"
            )
        return directory
    if str(plan) != "-":
        here = Path(plan).parent
        try:
            entries = itertools.islice(os.scandir(here), 100_000)
            if any(e.name.endswith(".tf") for e in entries):
                return here
        except OSError:
            pass
    return Path(".")


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
    `hardened-plan` (the plan that hardens it). A demo whose `.tf` files ship with it
    (`demos/<name>/`) locates its resources there, file names relative to that directory."""
    from prodcheck.jsonfile import read_json
    from prodcheck.paths import demos_dir
    from prodcheck.plans.terraform import parse_terraform_plan

    folder = demos_dir()
    data, _ = read_json(folder / f"{name}.json", "Terraform plan", "reinstall prodcheck")
    sources = folder / name if (folder / name).is_dir() else None
    return parse_terraform_plan(data, f"demo:{name}", needs, sources, source_prefix="")


def name_by_address(report: Report, snapshot: Snapshot) -> None:
    """Name the findings on planned resources by their Terraform address, as the code does,
    and place them at the `.tf` line of the resource's block where it was found."""
    from prodcheck.plans.tfsource import SOURCE_KEY

    planned: dict[str, dict[str, Any]] = {}
    for r in snapshot.resources:
        if not isinstance(r.get(ADDRESS_KEY), str):
            continue
        changes: dict[str, Any] = {"resource_name": r[ADDRESS_KEY]}
        where = r.get(SOURCE_KEY)
        if isinstance(where, dict) and isinstance(where.get("file"), str):
            changes["source_file"] = where["file"]
            changes["source_line"] = int(where.get("line") or 1)
        planned[norm(str(r.get("id")))] = changes
    if planned:
        report.findings = [
            replace(f, **planned[norm(f.resource_id)]) if norm(f.resource_id) in planned else f
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
