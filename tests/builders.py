"""Small ARM JSON builders for tests: a resource in a few words, a snapshot around it.

Fixtures stay small and readable; the demo inventories are the only big ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import pytest

from prodcheck.cli import main
from prodcheck.engine import AuditSettings, run_rule
from prodcheck.inventory import CoverageRecord, Inventory
from prodcheck.model import Finding
from prodcheck.registry import Registry
from prodcheck.snapshot import FORMAT

SUB = "00000000-1111-2222-3333-444444444444"
RG = "rg-app"


def rid(type_: str, name: str, rg: str = RG, sub: str = SUB) -> str:
    """The ARM id of a top-level resource: rid('Microsoft.Cache/redis', 'r1')."""
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{type_}/{name}"


def child_id(parent: str, child_type: str, name: str) -> str:
    """The id of a child: child_id(apim_id, 'apis', 'openai')."""
    return f"{parent}/{child_type}/{name}"


def arm(
    type_: str,
    name: str,
    *,
    rg: str = RG,
    sub: str = SUB,
    id: str | None = None,
    location: str = "eastus",
    properties: dict[str, Any] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """An ARM resource as GET returns it. Extra keywords become top-level keys (sku, kind, ...)."""
    resource: dict[str, Any] = {
        "id": id or rid(type_, name, rg, sub),
        "name": name,
        "type": type_,
        "location": location,
        "properties": dict(properties or {}),
    }
    resource.update(top)
    return resource


def snapshot(
    resources: list[dict[str, Any]], coverage: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": FORMAT,
        "collectedAt": "2026-11-26T09:00:00Z",
        "scope": {"subscriptions": [SUB]},
        "resources": resources,
    }
    if coverage is not None:
        doc["coverage"] = coverage
    return doc


_REGISTRY: Registry | None = None


def registry() -> Registry:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry.load(plugins=False)
    return _REGISTRY


def run(
    rule_id: str,
    resources: list[dict[str, Any]],
    params: dict[str, Any] | None = None,
    coverage: list[dict[str, Any]] | None = None,
    as_of: str | None = None,
) -> list[Finding]:
    """The findings of one built-in rule on these resources (as of an ISO date, or now)."""
    rule = registry().get(rule_id)
    inv = Inventory(
        resources,
        coverage=[CoverageRecord.from_json(c) for c in coverage] if coverage is not None else None,
        scope={"subscriptions": [SUB]},
    )
    if as_of is not None:
        inv.as_of = dt.datetime.fromisoformat(as_of).replace(tzinfo=dt.UTC)
    settings = AuditSettings(params={rule_id: params} if params else {})
    return run_rule(rule, inv, settings)


def by_name(findings: list[Finding]) -> dict[str, Finding]:
    """Findings keyed by resource name (the scope's findings under 'scope')."""
    return {(f.resource_name if f.resource_type != "scope" else "scope"): f for f in findings}


def statuses(findings: list[Finding]) -> dict[str, str]:
    return {k: f.status.value for k, f in by_name(findings).items()}


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command line in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


# ---- Azure RBAC, in the shapes of the Microsoft.Authorization 2022-04-01 examples ----------


def role_definition(
    guid: str,
    role_name: str,
    *,
    actions: list[str] | None = None,
    data_actions: list[str] | None = None,
    not_actions: list[str] | None = None,
    not_data_actions: list[str] | None = None,
    sub: str = SUB,
    built_in: bool = True,
) -> dict[str, Any]:
    """A role definition as GET .../roleDefinitions/{id} returns it."""
    return {
        "id": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": guid,
        "properties": {
            "roleName": role_name,
            "type": "BuiltInRole" if built_in else "CustomRole",
            "description": role_name,
            "assignableScopes": ["/"] if built_in else [f"/subscriptions/{sub}"],
            "permissions": [
                {
                    "actions": list(actions or []),
                    "notActions": list(not_actions or []),
                    "dataActions": list(data_actions or []),
                    "notDataActions": list(not_data_actions or []),
                }
            ],
        },
    }


def role_assignment(
    scope: str,
    definition: dict[str, Any] | str,
    principal_id: str,
    *,
    name: str | None = None,
    condition: str | None = None,
    tenant_level_definition_id: bool = False,
) -> dict[str, Any]:
    """A role assignment as the list-for-scope example returns it; `definition` is a role
    definition (or its GUID)."""
    guid = definition if isinstance(definition, str) else definition["name"]
    definition_id = (
        f"/providers/Microsoft.Authorization/roleDefinitions/{guid}"
        if tenant_level_definition_id
        else f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    )
    digest = hashlib.sha256(f"{scope}|{guid}|{principal_id}".lower().encode()).hexdigest()
    assignment_name = name or str(uuid.UUID(digest[:32]))
    out: dict[str, Any] = {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment_name}",
        "type": "Microsoft.Authorization/roleAssignments",
        "name": assignment_name,
        "properties": {
            "roleDefinitionId": definition_id,
            "principalId": principal_id,
            "principalType": "ServicePrincipal",
            "scope": scope,
        },
    }
    if condition is not None:
        out["properties"]["condition"] = condition
        out["properties"]["conditionVersion"] = "2.0"
    return out


# ---- Azure Monitor metrics, in the shape of the Metrics List 2024-02-01 example ------------

METRICS_TIMESPAN = "2026-11-19T09:00:00Z/2026-11-26T09:00:00Z"


def metric_item(
    resource_id: str,
    name: str,
    values: list[Any],
    *,
    aggregation: str = "average",
    unit: str = "Percent",
) -> dict[str, Any]:
    """One metric of a Metrics List answer: hourly points, `None` for an hour without data."""
    data = []
    for hour, value in enumerate(values):
        point: dict[str, Any] = {"timeStamp": f"2026-11-19T{hour % 24:02d}:00:00Z"}
        if value is not None:
            point[aggregation] = value
        data.append(point)
    return {
        "id": f"{resource_id}/providers/Microsoft.Insights/metrics/{name}",
        "type": "Microsoft.Insights/metrics",
        "name": {"value": name, "localizedValue": name},
        "displayDescription": "",
        "unit": unit,
        "timeseries": [{"metadatavalues": [], "data": data}],
        "errorCode": "Success",
    }


def metrics_record(
    resource: dict[str, Any], namespace: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    """The snapshot record of one metrics read on `resource` (docs/snapshot-format.md#metrics)."""
    names = [i["name"]["value"] for i in items if isinstance(i.get("name"), dict)]
    record_name = "~".join(p.replace("/", "_") for p in (namespace, *names))
    return {
        "id": f"{resource['id']}/providers/Microsoft.Insights/metrics/{record_name}",
        "name": record_name,
        "type": "Microsoft.Insights/metrics",
        "properties": {
            "cost": 0,
            "timespan": METRICS_TIMESPAN,
            "interval": "PT1H",
            "value": items,
            "namespace": namespace.lower(),
            "resourceregion": "eastus",
        },
    }
