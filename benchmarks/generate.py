"""Synthetic subscriptions for the collection benchmark.

`generate(n)` returns a snapshot of exactly `n` ARM resources (children and diagnostic settings
included) spread over the types the rules read: API Management services with many APIs, policies,
products and backends; private endpoints with DNS zone groups; metric and log alerts; AI accounts
with deployments; container apps; data services (Cosmos DB accounts with a database of two
containers, storage accounts of which every other one has a blob lifecycle policy); role
assignments and the role definitions they use; monitoring. Deterministic for a given `n`.

    python benchmarks/generate.py 1000 -o /tmp/sub-1000.json
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

SUBSCRIPTION = "5e1b2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
GROUPS = [f"rg-bench-{i}" for i in range(5)]
TAGS = {"env": "prod", "workload": "bench"}

Resource = dict[str, Any]


def _top(type_: str, name: str, group: str, **extra: Any) -> Resource:
    return {
        "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/{type_}/{name}",
        "name": name,
        "type": type_,
        "location": "swedencentral",
        "tags": dict(TAGS),
        "properties": {"provisioningState": "Succeeded", "publicNetworkAccess": "Disabled"},
        **extra,
    }


def _child(parent: Resource, segment: str, name: str, **properties: Any) -> Resource:
    return {
        "id": f"{parent['id']}/{segment}/{name}",
        "name": name,
        "type": f"{parent['type']}/{segment}",
        "properties": properties or {"provisioningState": "Succeeded"},
    }


def _diag(parent: Resource) -> Resource:
    return {
        "id": f"{parent['id']}/providers/Microsoft.Insights/diagnosticSettings/to-law",
        "name": "to-law",
        "type": "Microsoft.Insights/diagnosticSettings",
        "properties": {
            "workspaceId": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUPS[0]}/providers/"
            "Microsoft.OperationalInsights/workspaces/law-bench",
            "logs": [{"categoryGroup": "allLogs", "enabled": True}],
            "metrics": [{"category": "AllMetrics", "enabled": True}],
        },
    }


POLICY = (
    '<policies><inbound><base /><rate-limit-by-key calls="100" renewal-period="60" '
    'counter-key="@(context.Subscription.Id)" /><authentication-managed-identity '
    'resource="https://cognitiveservices.azure.com" /></inbound><backend><base /></backend>'
    "<outbound><base /></outbound><on-error><base /></on-error></policies>"
)


def _policy(parent: Resource) -> Resource:
    return _child(parent, "policies", "policy", format="xml", value=POLICY)


def _apim(i: int, group: str, apis: int) -> list[Resource]:
    svc = _top(
        "Microsoft.ApiManagement/service",
        f"apim-bench-{i}",
        group,
        sku={"name": "Premium", "capacity": 1},
    )
    out = [svc, _policy(svc), _diag(svc)]
    for a in range(apis):
        api = _child(svc, "apis", f"api-{a}", path=f"api-{a}", displayName=f"API {a}")
        out += [api, _policy(api)]
        for o in range(2):
            op = _child(api, "operations", f"op-{o}", method="POST", urlTemplate=f"/op{o}")
            out.append(op)
            if o == 0:
                out.append(_policy(op))
    for p in range(2):
        product = _child(svc, "products", f"product-{p}", subscriptionRequired=True)
        out += [product, _policy(product), _child(product, "apis", "api-0")]
    for b in range(2):
        out.append(_child(svc, "backends", f"aoai-{b}", url=f"https://aoai-{b}.openai.azure.com"))
    out.append(_child(svc, "policyFragments", "auth", format="xml", value="<fragment />"))
    return out


def _private_endpoint(i: int, group: str) -> list[Resource]:
    pe = _top("Microsoft.Network/privateEndpoints", f"pe-{i}", group)
    return [pe, _child(pe, "privateDnsZoneGroups", "default")]


def _with_diag(type_: str, prefix: str) -> Callable[[int, str], list[Resource]]:
    def make(i: int, group: str) -> list[Resource]:
        r = _top(type_, f"{prefix}-{i}", group)
        return [r, _diag(r)] if i % 3 else [r]

    return make


def _plain(type_: str, prefix: str) -> Callable[[int, str], list[Resource]]:
    return lambda i, group: [_top(type_, f"{prefix}-{i}", group)]


def _ai(i: int, group: str) -> list[Resource]:
    account = _top("Microsoft.CognitiveServices/accounts", f"aif-{i}", group, kind="AIServices")
    out = [account, _diag(account), _child(account, "raiPolicies", "default")]
    out += [_child(account, "deployments", m) for m in ("gpt-4o", "gpt-4o-mini", "embed")]
    return out


def _container_app(i: int, group: str) -> list[Resource]:
    app = _top("Microsoft.App/containerApps", f"ca-{i}", group)
    return [app, _child(app, "authConfigs", "current"), _diag(app)]


def _cosmos(i: int, group: str) -> list[Resource]:
    """A NoSQL account with one database of two containers, one with a time to live."""
    account = _top("Microsoft.DocumentDB/databaseAccounts", f"cosmos-{i}", group)
    database = _child(account, "sqlDatabases", "memory", resource={"id": "memory"})
    turns = _child(database, "containers", "turns", resource={"id": "turns", "defaultTtl": 86400})
    profiles = _child(database, "containers", "profiles", resource={"id": "profiles"})
    out = [account, database, turns, profiles]
    return out + [_diag(account)] if i % 3 else out


def _storage(i: int, group: str) -> list[Resource]:
    """A storage account; every other one has a lifecycle policy (the others answer 404)."""
    account = _top("Microsoft.Storage/storageAccounts", f"st-{i}", group, kind="StorageV2")
    out = [account] + ([_diag(account)] if i % 3 else [])
    if i % 2:
        rule = {
            "enabled": True,
            "name": "cool-then-delete",
            "type": "Lifecycle",
            "definition": {
                "actions": {"baseBlob": {"tierToCool": {"daysAfterModificationGreaterThan": 30}}}
            },
        }
        policy = _child(account, "managementPolicies", "default", policy={"rules": [rule]})
        out.append(policy)
    return out


ROLE_DEFINITIONS = [
    f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    for guid in (
        "4633458b-17de-408a-b874-0445c86b69e6",
        "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        "a97b65f3-24c7-4388-baec-2e87135dc908",
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    )
]


def _role_definitions() -> list[Resource]:
    return [
        {
            "id": rid,
            "name": rid.rsplit("/", 1)[1],
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": f"role-{k}",
                "type": "BuiltInRole",
                "assignableScopes": ["/"],
                "permissions": [{"actions": [], "dataActions": ["*/read"]}],
            },
        }
        for k, rid in enumerate(ROLE_DEFINITIONS)
    ]


def _role_assignment(i: int, group: str) -> list[Resource]:
    scope = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}"
    name = f"00000000-0000-4000-8000-{i:012d}"
    return [
        {
            "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "name": name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": ROLE_DEFINITIONS[i % len(ROLE_DEFINITIONS)],
                "principalId": f"11111111-0000-4000-8000-{i:012d}",
                "principalType": "ServicePrincipal",
                "scope": scope,
            },
        }
    ]


def _redis(i: int, group: str) -> list[Resource]:
    cache = _top("Microsoft.Cache/redisEnterprise", f"redis-{i}", group)
    db = _child(cache, "databases", "default")
    return [cache, db, _diag(db)]


# (weight, unit): a unit is one top-level resource with what hangs off it.
UNITS: list[tuple[int, Callable[[int, str], list[Resource]]]] = [
    (12, _private_endpoint),
    (8, _plain("Microsoft.Insights/metricAlerts", "alert")),
    (3, _plain("Microsoft.Insights/scheduledQueryRules", "logalert")),
    (1, _plain("Microsoft.Insights/actionGroups", "ag")),
    (3, _ai),
    (4, _container_app),
    (2, _with_diag("Microsoft.App/managedEnvironments", "cae")),
    (5, _with_diag("Microsoft.KeyVault/vaults", "kv")),
    (5, _storage),
    (2, _redis),
    (2, _cosmos),
    (3, _role_assignment),
    (2, _with_diag("Microsoft.ContainerRegistry/registries", "acr")),
    (2, _with_diag("Microsoft.AppConfiguration/configurationStores", "appcs")),
    (2, _with_diag("Microsoft.ServiceBus/namespaces", "sb")),
    (2, _with_diag("Microsoft.EventHub/namespaces", "evh")),
    (2, _with_diag("Microsoft.Insights/components", "appi")),
    (1, _with_diag("Microsoft.OperationalInsights/workspaces", "law")),
    (2, _with_diag("Microsoft.Network/virtualNetworks", "vnet")),
    (1, _with_diag("Microsoft.Network/applicationGateways", "agw")),
    (1, _plain("Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies", "waf")),
    (3, _plain("Microsoft.ManagedIdentity/userAssignedIdentities", "id")),
    (1, _plain("Microsoft.Insights/webtests", "webtest")),
    (1, _plain("Microsoft.Portal/dashboards", "dash")),
]


def generate(n: int) -> dict[str, Any]:
    """A snapshot of exactly `n` resources (n >= 1)."""
    resources: list[Resource] = _role_definitions() if n >= 100 else []
    # A fifth of the estate is API Management: services with many APIs each.
    apis = max(2, min(40, n // 60))
    apim_budget = max(n // 5, len(_apim(0, GROUPS[0], apis))) if n >= 60 else 0
    for i in itertools.count():
        unit = _apim(i, GROUPS[i % len(GROUPS)], apis)
        if len(resources) + len(unit) > apim_budget:
            break
        resources += unit
    cycle = [unit for weight, unit in UNITS for _ in range(weight)]
    counters: dict[int, int] = {}
    for step in itertools.count():
        unit = cycle[step % len(cycle)]
        index = counters[id(unit)] = counters.get(id(unit), 0) + 1
        items = unit(index, GROUPS[step % len(GROUPS)])
        if len(resources) + len(items) > n:
            break
        resources += items
    filler = _plain("Microsoft.ManagedIdentity/userAssignedIdentities", "fill")
    for i in range(n - len(resources)):
        resources += filler(i, GROUPS[i % len(GROUPS)])
    return {
        "format": "prodcheck.snapshot/v1",
        "scope": {"subscriptions": [SUBSCRIPTION], "resourceGroups": [], "tags": {}},
        "resources": resources,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    args.output.write_text(json.dumps(generate(args.n)), encoding="utf-8")


if __name__ == "__main__":
    main()
