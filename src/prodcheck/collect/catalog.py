"""Which resource types prodcheck can collect, and how: the one table to extend.

Each entry says how one ARM type is listed:

- `sdk(...)`: a top-level type listed with an Azure management SDK, subscription-wide and per
  resource group;
- `sdk_child(...)`: a child collection listed with an SDK, given its parent (see `ids.Parent`:
  `p.resource_group`, `p.names` = the names along the parent's chain);
- `rest(...)`: a type whose provider has no SDK installed here. It is listed through the same
  pipeline as the SDKs (the resources client's), on the provider's own list path
  (`/subscriptions/{s}/providers/{type}`, `.../resourceGroups/{rg}/providers/{type}`, or
  `{parent id}/{child}` for a child type) with the api-version given. That is the REST call the
  provider's SDK would make: one request per page, full resource bodies, no GET per resource.

`tagged=False` marks a type that cannot carry tags (role assignments, budgets): a tag filter
(`--tag`) keeps it.

`singleton="default"` marks a child that has no list, only one instance read by GET
(`{parent id}/{child}/default`): a 404 means the parent has none, which is recorded as read.
`when=...` limits a child type to the parents that can have it (SQL databases of a Cosmos DB
account of the NoSQL API): for any other parent it is recorded as read, with none.

`diagnostics=True` marks the types that can carry diagnostic settings: when a rule needs
`Microsoft.Insights/diagnosticSettings`, they are read for every collected resource of such a type.

A type missing here (say, from a third-party rule) is still collected: through the generic
resources API (list filtered by type, then GET by id with the provider's newest stable
api-version), or on its parent's path for a child type. Adding it here makes it cheaper.

To add a type: one line below. The RBAC action reported when a read is refused is
`{type}/read` unless `permission` says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prodcheck.collect.ids import Parent, type_key

DIAGNOSTIC_SETTINGS = "Microsoft.Insights/diagnosticSettings"
DIAGNOSTIC_SETTINGS_API = "2021-05-01-preview"
METRICS = "Microsoft.Insights/metrics"
METRICS_API = "2024-02-01"

ListAll = Callable[[Any], Iterable[Any]]
ListInGroup = Callable[[Any, str], Iterable[Any]]
ListChildren = Callable[[Any, Parent], Any]


@dataclass(frozen=True)
class Collector:
    """How one ARM type is collected."""

    type: str
    service: str
    # "sdk", "rest", "generic" (resources API + GET by id) or "diagnostics"
    how: str
    client: str = "resources"
    by_subscription: ListAll | None = None
    by_resource_group: ListInGroup | None = None
    children: ListChildren | None = None
    api_version: str | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    diagnostics: bool = False
    permission: str = ""
    # False for types that carry no tags (role assignments, budgets): a tag filter keeps them.
    tagged: bool = True
    # A list read once per location of the resources of this type that arrive (how "catalogue").
    follows: str = ""
    # A child without a list: the one instance of this name, read by GET (404: none).
    singleton: str = ""
    # A child type only some parents can have: False for a parent (its ARM JSON) that cannot.
    when: Callable[[Mapping[str, Any]], bool] | None = None

    @property
    def is_child(self) -> bool:
        return self.type.count("/") > 1

    @property
    def read_permission(self) -> str:
        return self.permission or f"{self.type}/read"


def sdk(
    type: str,
    service: str,
    client: str,
    by_subscription: ListAll,
    by_resource_group: ListInGroup,
    *,
    diagnostics: bool = False,
) -> Collector:
    return Collector(
        type,
        service,
        "sdk",
        client,
        by_subscription=by_subscription,
        by_resource_group=by_resource_group,
        diagnostics=diagnostics,
    )


def sdk_child(type: str, service: str, client: str, children: ListChildren) -> Collector:
    return Collector(type, service, "sdk", client, children=children)


def rest(
    type: str,
    service: str,
    api_version: str,
    *,
    diagnostics: bool = False,
    query: Mapping[str, str] | None = None,
    tagged: bool = True,
    singleton: str = "",
    when: Callable[[Mapping[str, Any]], bool] | None = None,
) -> Collector:
    return Collector(
        type,
        service,
        "rest",
        api_version=api_version,
        diagnostics=diagnostics,
        query=query or {},
        tagged=tagged,
        singleton=singleton,
        when=when,
    )


# Cosmos DB accounts of the other APIs (MongoDB, Cassandra, Gremlin, Table) have no SQL databases.
_OTHER_COSMOS_APIS = {"enablemongo", "enablecassandra", "enablegremlin", "enabletable"}


def is_nosql_account(account: Mapping[str, Any]) -> bool:
    """Whether a Cosmos DB account (its ARM JSON) serves the NoSQL API, so has SQL databases."""
    if str(account.get("kind") or "GlobalDocumentDB").lower() == "mongodb":
        return False
    props = account.get("properties")
    caps = props.get("capabilities") if isinstance(props, Mapping) else None
    names = (
        {str(c.get("name") or "").lower() for c in caps or () if isinstance(c, Mapping)}
        if isinstance(caps, list)
        else set()
    )
    return not names & _OTHER_COSMOS_APIS


def generic(type: str) -> Collector:
    """An unknown type: generic resources API (top level) or its parent's path (child)."""
    from prodcheck.collect.ids import namespace

    # Unknown top-level types are asked for diagnostic settings (a type that cannot have any
    # answers ResourceTypeNotSupported, recorded as none); unknown child types are not.
    return Collector(type, namespace(type), "generic", diagnostics=type.count("/") == 1)


_NET = "Network"
_APIM = "API Management"
_APP = "Container Apps"
_MON = "Monitor"

_ENTRIES: list[Collector] = [
    # --- Networking ---
    sdk(
        "Microsoft.Network/applicationGateways",
        _NET,
        "network",
        lambda c: c.application_gateways.list_all(),
        lambda c, rg: c.application_gateways.list(rg),
        diagnostics=True,
    ),
    sdk(
        "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
        _NET,
        "network",
        lambda c: c.web_application_firewall_policies.list_all(),
        lambda c, rg: c.web_application_firewall_policies.list(rg),
    ),
    sdk(
        "Microsoft.Network/privateEndpoints",
        _NET,
        "network",
        lambda c: c.private_endpoints.list_by_subscription(),
        lambda c, rg: c.private_endpoints.list(rg),
    ),
    sdk_child(
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        _NET,
        "network",
        lambda c, p: c.private_dns_zone_groups.list(p.names[0], p.resource_group),
    ),
    sdk(
        "Microsoft.Network/virtualNetworks",
        _NET,
        "network",
        lambda c: c.virtual_networks.list_all(),
        lambda c, rg: c.virtual_networks.list(rg),
        diagnostics=True,
    ),
    sdk(
        "Microsoft.Network/publicIPAddresses",
        _NET,
        "network",
        lambda c: c.public_ip_addresses.list_all(),
        lambda c, rg: c.public_ip_addresses.list(rg),
        diagnostics=True,
    ),
    rest("Microsoft.Network/privateDnsZones", _NET, "2020-06-01"),
    sdk(
        "Microsoft.Network/networkSecurityPerimeters",
        _NET,
        "network",
        lambda c: c.network_security_perimeters.list_by_subscription(),
        lambda c, rg: c.network_security_perimeters.list(rg),
        diagnostics=True,
    ),
    sdk_child(
        "Microsoft.Network/networkSecurityPerimeters/profiles",
        _NET,
        "network",
        lambda c, p: c.network_security_perimeter_profiles.list(p.resource_group, p.names[0]),
    ),
    sdk_child(
        "Microsoft.Network/networkSecurityPerimeters/profiles/accessRules",
        _NET,
        "network",
        lambda c, p: c.network_security_perimeter_access_rules.list(
            p.resource_group, p.names[0], p.names[1]
        ),
    ),
    sdk_child(
        "Microsoft.Network/networkSecurityPerimeters/resourceAssociations",
        _NET,
        "network",
        lambda c, p: c.network_security_perimeter_associations.list(p.resource_group, p.names[0]),
    ),
    # --- API Management ---
    sdk(
        "Microsoft.ApiManagement/service",
        _APIM,
        "apimanagement",
        lambda c: c.api_management_service.list(),
        lambda c, rg: c.api_management_service.list_by_resource_group(rg),
        diagnostics=True,
    ),
    sdk_child(
        "Microsoft.ApiManagement/service/apis",
        _APIM,
        "apimanagement",
        lambda c, p: c.api.list_by_service(p.resource_group, p.names[0]),
    ),
    sdk_child(
        "Microsoft.ApiManagement/service/apis/policies",
        _APIM,
        "apimanagement",
        lambda c, p: c.api_policy.list_by_api(p.resource_group, p.names[0], p.names[1]),
    ),
    sdk_child(
        "Microsoft.ApiManagement/service/apis/operations",
        _APIM,
        "apimanagement",
        lambda c, p: c.api_operation.list_by_api(p.resource_group, p.names[0], p.names[1]),
    ),
    sdk_child(
        "Microsoft.ApiManagement/service/apis/operations/policies",
        _APIM,
        "apimanagement",
        lambda c, p: c.api_operation_policy.list_by_operation(
            p.resource_group, p.names[0], p.names[1], p.names[2]
        ),
    ),
    sdk_child(
        "Microsoft.ApiManagement/service/policies",
        _APIM,
        "apimanagement",
        lambda c, p: c.policy.list_by_service(p.resource_group, p.names[0]),
    ),
    sdk_child(
        "Microsoft.ApiManagement/service/products",
        _APIM,
        "apimanagement",
        lambda c, p: c.product.list_by_service(p.resource_group, p.names[0]),
    ),
    sdk_child(
        "Microsoft.ApiManagement/service/products/policies",
        _APIM,
        "apimanagement",
        lambda c, p: c.product_policy.list_by_product(p.resource_group, p.names[0], p.names[1]),
    ),
    sdk_child(
        "Microsoft.ApiManagement/service/products/apis",
        _APIM,
        "apimanagement",
        lambda c, p: c.product_api.list_by_product(p.resource_group, p.names[0], p.names[1]),
    ),
    sdk_child(
        "Microsoft.ApiManagement/service/policyFragments",
        _APIM,
        "apimanagement",
        lambda c, p: c.policy_fragment.list_by_service(p.resource_group, p.names[0]),
    ),
    # Named values resolve `{{name}}` in policies. ARM returns no value for a secret one, and
    # prodcheck never calls listValue.
    sdk_child(
        "Microsoft.ApiManagement/service/namedValues",
        _APIM,
        "apimanagement",
        lambda c, p: c.named_value.list_by_service(p.resource_group, p.names[0]),
    ),
    sdk_child(
        "Microsoft.ApiManagement/service/backends",
        _APIM,
        "apimanagement",
        lambda c, p: c.backend.list_by_service(p.resource_group, p.names[0]),
    ),
    # --- Container Apps ---
    sdk(
        "Microsoft.App/managedEnvironments",
        _APP,
        "appcontainers",
        lambda c: c.managed_environments.list_by_subscription(),
        lambda c, rg: c.managed_environments.list_by_resource_group(rg),
        diagnostics=True,
    ),
    sdk(
        "Microsoft.App/containerApps",
        _APP,
        "appcontainers",
        lambda c: c.container_apps.list_by_subscription(),
        lambda c, rg: c.container_apps.list_by_resource_group(rg),
        diagnostics=True,
    ),
    sdk_child(
        "Microsoft.App/containerApps/authConfigs",
        _APP,
        "appcontainers",
        lambda c, p: c.container_apps_auth_configs.list_by_container_app(
            p.resource_group, p.names[0]
        ),
    ),
    # --- Monitoring ---
    sdk(
        "Microsoft.Insights/metricAlerts",
        _MON,
        "monitor",
        lambda c: c.metric_alerts.list_by_subscription(),
        lambda c, rg: c.metric_alerts.list_by_resource_group(rg),
    ),
    sdk(
        "Microsoft.Insights/scheduledQueryRules",
        _MON,
        "monitor",
        lambda c: c.scheduled_query_rules.list_by_subscription(),
        lambda c, rg: c.scheduled_query_rules.list_by_resource_group(rg),
    ),
    sdk(
        "Microsoft.Insights/actionGroups",
        _MON,
        "monitor",
        lambda c: c.action_groups.list_by_subscription_id(),
        lambda c, rg: c.action_groups.list_by_resource_group(rg),
    ),
    Collector(
        DIAGNOSTIC_SETTINGS,
        _MON,
        "diagnostics",
        "monitor",
        api_version=DIAGNOSTIC_SETTINGS_API,
    ),
    # Azure Monitor metrics of a resource over the metrics window (see `PLATFORM_METRICS`).
    Collector(
        METRICS,
        _MON,
        "metrics",
        "monitor",
        api_version=METRICS_API,
        permission="Microsoft.Insights/metrics/read",
    ),
    rest("Microsoft.Insights/components", _MON, "2020-02-02", diagnostics=True),
    rest("Microsoft.Insights/webtests", _MON, "2022-06-15"),
    rest("Microsoft.Insights/workbooks", _MON, "2022-04-01", query={"category": "workbook"}),
    rest("Microsoft.OperationalInsights/workspaces", _MON, "2023-09-01", diagnostics=True),
    rest("Microsoft.Portal/dashboards", _MON, "2020-09-01-preview"),
    rest("Microsoft.Dashboard/grafana", _MON, "2023-09-01", diagnostics=True),
    # --- Data and AI services ---
    sdk(
        "Microsoft.KeyVault/vaults",
        "Key Vault",
        "keyvault",
        # not vaults.list(): that is the generic resources API and carries no properties
        lambda c: c.vaults.list_by_subscription(),
        lambda c, rg: c.vaults.list_by_resource_group(rg),
        diagnostics=True,
    ),
    sdk(
        "Microsoft.Cache/redis",
        "Redis",
        "redis",
        lambda c: c.redis.list_by_subscription(),
        lambda c, rg: c.redis.list_by_resource_group(rg),
        diagnostics=True,
    ),
    sdk_child(
        "Microsoft.Cache/redis/firewallRules",
        "Redis",
        "redis",
        lambda c, p: c.firewall_rules.list(p.resource_group, p.names[0]),
    ),
    # 2025-07-01 is the first version that returns publicNetworkAccess; databases report
    # accessKeysAuthentication from 2025-04-01 on.
    rest("Microsoft.Cache/redisEnterprise", "Redis", "2025-07-01", diagnostics=True),
    rest("Microsoft.Cache/redisEnterprise/databases", "Redis", "2025-07-01", diagnostics=True),
    sdk(
        "Microsoft.DocumentDB/databaseAccounts",
        "Cosmos DB",
        "cosmosdb",
        lambda c: c.database_accounts.list(),
        lambda c, rg: c.database_accounts.list_by_resource_group(rg),
        diagnostics=True,
    ),
    # authConfig.allowedModes (is password auth still on?) first appears in 2025-04-01-preview;
    # older versions omit it and the key-auth rule could not judge the cluster.
    rest("Microsoft.DocumentDB/mongoClusters", "Cosmos DB", "2025-04-01-preview", diagnostics=True),
    rest("Microsoft.DocumentDB/mongoClusters/firewallRules", "Cosmos DB", "2025-04-01-preview"),
    # The containers' time to live (resource.defaultTtl): one list per account, one per database.
    rest(
        "Microsoft.DocumentDB/databaseAccounts/sqlDatabases",
        "Cosmos DB",
        "2024-11-15",
        when=is_nosql_account,
    ),
    rest(
        "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers", "Cosmos DB", "2024-11-15"
    ),
    sdk(
        "Microsoft.CognitiveServices/accounts",
        "AI Services",
        "cognitiveservices",
        lambda c: c.accounts.list(),
        lambda c, rg: c.accounts.list_by_resource_group(rg),
        diagnostics=True,
    ),
    sdk_child(
        "Microsoft.CognitiveServices/accounts/deployments",
        "AI Services",
        "cognitiveservices",
        lambda c, p: c.deployments.list(p.resource_group, p.names[0]),
    ),
    sdk_child(
        "Microsoft.CognitiveServices/accounts/raiPolicies",
        "AI Services",
        "cognitiveservices",
        lambda c, p: c.rai_policies.list(p.resource_group, p.names[0]),
    ),
    rest(
        "Microsoft.Communication/communicationServices",
        "Communication",
        # disableLocalAuth and publicNetworkAccess are returned from 2025-05-01 on.
        "2025-05-01",
        diagnostics=True,
    ),
    rest(
        "Microsoft.AppConfiguration/configurationStores",
        "App Configuration",
        "2024-05-01",
        diagnostics=True,
    ),
    rest(
        "Microsoft.ContainerRegistry/registries",
        "Container Registry",
        "2023-07-01",
        diagnostics=True,
    ),
    rest("Microsoft.Storage/storageAccounts", "Storage", "2023-05-01", diagnostics=True),
    # the storage logs (StorageRead/Write/Delete) are diagnostic settings of the services
    rest(
        "Microsoft.Storage/storageAccounts/blobServices", "Storage", "2023-05-01", diagnostics=True
    ),
    # The blob lifecycle policy has no list: GET .../managementPolicies/default, 404 when none.
    rest(
        "Microsoft.Storage/storageAccounts/managementPolicies",
        "Storage",
        "2023-05-01",
        singleton="default",
    ),
    rest("Microsoft.ServiceBus/namespaces", "Messaging", "2021-11-01", diagnostics=True),
    rest("Microsoft.ServiceBus/namespaces/networkRuleSets", "Messaging", "2021-11-01"),
    rest("Microsoft.EventHub/namespaces", "Messaging", "2021-11-01", diagnostics=True),
    rest("Microsoft.EventHub/namespaces/networkRuleSets", "Messaging", "2021-11-01"),
    rest("Microsoft.EventGrid/topics", "Messaging", "2022-06-15", diagnostics=True),
    rest("Microsoft.EventGrid/domains", "Messaging", "2022-06-15", diagnostics=True),
    rest("Microsoft.EventGrid/systemTopics", "Messaging", "2022-06-15", diagnostics=True),
    rest("Microsoft.SignalRService/signalR", "SignalR", "2024-03-01", diagnostics=True),
    rest("Microsoft.LoadTestService/loadTests", "Load Testing", "2022-12-01", diagnostics=True),
    rest("Microsoft.ManagedIdentity/userAssignedIdentities", "Identity", "2023-01-31"),
    # --- Authorization ---
    # Unfiltered, a subscription's (or group's) list returns the assignments at, above and below
    # it: those on resource groups and resources too. `$filter=atScope()` would leave those out.
    rest("Microsoft.Authorization/roleAssignments", "Identity", "2022-04-01", tagged=False),
    # Every definition assignable at the scope (built-in and custom): one page per scope, so
    # cheaper in requests than a GET per definition used.
    rest("Microsoft.Authorization/roleDefinitions", "Identity", "2022-04-01", tagged=False),
    # --- Catalogues (items without ARM ids; see docs/snapshot-format.md#catalogue-items) ---
    # The model catalogue of each region that holds an AI account: one list per region.
    Collector(
        "Microsoft.CognitiveServices/locations/models",
        "AI Services",
        "catalogue",
        api_version="2024-10-01",
        tagged=False,
        follows="Microsoft.CognitiveServices/accounts",
        permission="Microsoft.CognitiveServices/locations/models/read",
    ),
    # --- Cost ---
    # Budgets of the subscription, or of each audited resource group. They carry no tags, so a
    # tag filter would drop every one of them: it does not apply to them.
    rest("Microsoft.Consumption/budgets", "Cost", "2023-05-01", tagged=False),
]

CATALOG: dict[str, Collector] = {type_key(c.type): c for c in _ENTRIES}


_DIAGNOSTICS_SUFFIX = "/providers/" + DIAGNOSTIC_SETTINGS.lower()


def diagnostics_base(need: str) -> str | None:
    """`Microsoft.KeyVault/vaults` for `Microsoft.KeyVault/vaults/providers/Microsoft.Insights/
    diagnosticSettings` (the diagnostic settings of one type); None for any other need."""
    if need.lower().endswith(_DIAGNOSTICS_SUFFIX):
        return need[: -len(_DIAGNOSTICS_SUFFIX)]
    return None


def collector_for(resource_type: str) -> Collector:
    """The catalog entry of `resource_type` (any case), or a generic one."""
    return CATALOG.get(type_key(resource_type)) or generic(resource_type.strip("/"))


@dataclass(frozen=True)
class MetricQuery:
    """One read of the Metrics API on a resource: these metrics of one namespace, with these
    aggregations, hour by hour over the metrics window."""

    namespace: str
    names: tuple[str, ...]
    aggregation: str = "average,maximum"


# The platform metrics a need `{type}/providers/Microsoft.Insights/metrics` reads, per type: the
# names ARM's supported-metrics lists give for the type. Custom metrics are named by the need
# itself (`...metrics?metricnamespace=NS&metricnames=a,b`).
PLATFORM_METRICS: dict[str, tuple[MetricQuery, ...]] = {
    type_key("Microsoft.App/containerApps"): (
        MetricQuery("Microsoft.App/containerApps", ("CpuPercentage", "MemoryPercentage")),
    ),
    type_key("Microsoft.Cache/redis"): (
        MetricQuery("Microsoft.Cache/redis", ("usedmemorypercentage",), "maximum"),
    ),
    type_key("Microsoft.Cache/redisEnterprise"): (
        MetricQuery("Microsoft.Cache/redisEnterprise", ("usedmemorypercentage",), "maximum"),
    ),
    # Server response time supports the maximum; availability only the average and count.
    type_key("Microsoft.Insights/components"): (
        MetricQuery(
            "microsoft.insights/components", ("requests/duration",), "average,maximum,count"
        ),
        MetricQuery(
            "microsoft.insights/components",
            ("availabilityResults/availabilityPercentage",),
            "average,count",
        ),
    ),
}
# Aggregations asked for custom metrics.
CUSTOM_AGGREGATION = "average,maximum,count"


def metrics_need(need: str) -> tuple[str, tuple[MetricQuery, ...]] | None:
    """For a need `{type}/providers/Microsoft.Insights/metrics[?metricnamespace=NS&metricnames=
    a,b]`: `{type}` and the reads it asks for on each resource of it; None for another need.

    Without a query, the type's platform metrics (`PLATFORM_METRICS`); with one, those custom
    metrics. A name with a comma cannot be asked for (the API splits names at commas) and is
    left out; so is an empty one.
    """
    from urllib.parse import parse_qsl

    base, _, query = need.partition("?")
    suffix = "/providers/" + METRICS.lower()
    trimmed = base.strip().rstrip("/")
    if not trimmed.lower().endswith(suffix) or len(trimmed) == len(suffix):
        return None
    rtype = trimmed[: -len(suffix)]
    if not query:
        return rtype, PLATFORM_METRICS.get(type_key(rtype), ())
    params = {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}
    namespace = params.get("metricnamespace", "").strip()
    names = tuple(n.strip() for n in params.get("metricnames", "").split(",") if n.strip())
    if not namespace or not names:
        return rtype, ()
    return rtype, (MetricQuery(namespace, names, CUSTOM_AGGREGATION),)
