"""ARM JSON builders for collection tests: resources as the REST API returns them."""

from __future__ import annotations

from typing import Any

SUB = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7d9c0a11"
SUB2 = "0b7d9e2c-5a1f-4e3b-8c6d-9f0a1b2c3d4e"
RG = "rg-app"


def rid(type_: str, name: str, rg: str = RG, sub: str = SUB) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{type_}/{name}"


def resource(
    type_: str,
    name: str,
    *,
    rg: str = RG,
    sub: str = SUB,
    tags: dict[str, str] | None = None,
    properties: dict[str, Any] | None = None,
    **top: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rid(type_, name, rg, sub),
        "name": name,
        "type": type_,
        "location": "swedencentral",
        "properties": dict(properties or {"provisioningState": "Succeeded"}),
    }
    if tags is not None:
        out["tags"] = tags
    out.update(top)
    return out


def child(parent: dict[str, Any], segment: str, name: str, **properties: Any) -> dict[str, Any]:
    return {
        "id": f"{parent['id']}/{segment}/{name}",
        "name": name,
        "type": f"{parent['type']}/{segment}",
        "properties": dict(properties or {"provisioningState": "Succeeded"}),
    }


def diagnostic_setting(target: dict[str, Any], name: str = "to-law") -> dict[str, Any]:
    return {
        "id": f"{target['id']}/providers/Microsoft.Insights/diagnosticSettings/{name}",
        "name": name,
        "type": "Microsoft.Insights/diagnosticSettings",
        "properties": {
            "workspaceId": rid("Microsoft.OperationalInsights/workspaces", "law"),
            "logs": [{"categoryGroup": "allLogs", "enabled": True}],
            "metrics": [{"category": "AllMetrics", "enabled": True}],
        },
    }


def apim_policy(
    parent: dict[str, Any], xml: str = "<policies><inbound><base /></inbound></policies>"
) -> dict[str, Any]:
    return {
        "id": f"{parent['id']}/policies/policy",
        "name": "policy",
        "type": f"{parent['type']}/policies",
        "properties": {"format": "xml", "value": xml},
    }


def small_estate() -> list[dict[str, Any]]:
    """A few resources of several kinds, with children and diagnostic settings."""
    apim = resource(
        "Microsoft.ApiManagement/service",
        "apim-x",
        sku={"name": "Premium", "capacity": 1},
        tags={"env": "prod"},
        properties={"publisherEmail": "ops@example.com", "publisherName": "ops"},
    )
    api = child(apim, "apis", "openai", path="openai", displayName="OpenAI")
    api2 = child(apim, "apis", "echo", path="echo", displayName="Echo")
    pe = resource("Microsoft.Network/privateEndpoints", "pe-kv", tags={"env": "prod"})
    zone_group = child(pe, "privateDnsZoneGroups", "default")
    vault = resource(
        "Microsoft.KeyVault/vaults",
        "kv-x",
        tags={"env": "prod"},
        properties={"tenantId": SUB, "sku": {"family": "A", "name": "standard"}},
    )
    dev_vault = resource(
        "Microsoft.KeyVault/vaults",
        "kv-dev",
        rg="rg-dev",
        tags={"env": "dev"},
        properties={"tenantId": SUB, "sku": {"family": "A", "name": "standard"}},
    )
    storage = resource(
        "Microsoft.Storage/storageAccounts",
        "stx",
        tags={"env": "prod"},
        kind="StorageV2",
        sku={"name": "Standard_ZRS"},
    )
    return [
        apim,
        api,
        api2,
        apim_policy(apim),
        apim_policy(api),
        pe,
        zone_group,
        vault,
        dev_vault,
        diagnostic_setting(vault),
        diagnostic_setting(apim),
        storage,
    ]
