"""What the identity, secrets, observability and scale rules share about the workload.

ARM type names, and small readers of container apps (containers, environment variables,
identities), of where a resource's logs go, and of the gateways that front the apps.
Rules only: nothing here yields a verdict.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from prodcheck.arm import norm
from prodcheck.inventory import Inventory, Resource, dig

CONTAINER_APP = "Microsoft.App/containerApps"
AUTH_CONFIG = "Microsoft.App/containerApps/authConfigs"
MANAGED_ENVIRONMENT = "Microsoft.App/managedEnvironments"
APP_INSIGHTS = "Microsoft.Insights/components"
WEB_TEST = "Microsoft.Insights/webtests"
WORKSPACE = "Microsoft.OperationalInsights/workspaces"
DIAGNOSTIC_SETTINGS = "Microsoft.Insights/diagnosticSettings"
KEY_VAULT = "Microsoft.KeyVault/vaults"
REDIS = "Microsoft.Cache/redis"
REDIS_ENTERPRISE = "Microsoft.Cache/redisEnterprise"
REDIS_ENTERPRISE_DATABASE = "Microsoft.Cache/redisEnterprise/databases"
COGNITIVE_ACCOUNT = "Microsoft.CognitiveServices/accounts"
COGNITIVE_DEPLOYMENT = "Microsoft.CognitiveServices/accounts/deployments"
RAI_POLICY = "Microsoft.CognitiveServices/accounts/raiPolicies"
COSMOS_ACCOUNT = "Microsoft.DocumentDB/databaseAccounts"
MONGO_CLUSTER = "Microsoft.DocumentDB/mongoClusters"
COMMUNICATION = "Microsoft.Communication/communicationServices"
APP_CONFIGURATION = "Microsoft.AppConfiguration/configurationStores"
STORAGE = "Microsoft.Storage/storageAccounts"
CONTAINER_REGISTRY = "Microsoft.ContainerRegistry/registries"
SERVICE_BUS = "Microsoft.ServiceBus/namespaces"
EVENT_HUBS = "Microsoft.EventHub/namespaces"
EVENT_GRID_TOPIC = "Microsoft.EventGrid/topics"
EVENT_GRID_DOMAIN = "Microsoft.EventGrid/domains"
SIGNALR = "Microsoft.SignalRService/signalR"
API_MANAGEMENT = "Microsoft.ApiManagement/service"
APP_GATEWAY = "Microsoft.Network/applicationGateways"
VIRTUAL_NETWORK = "Microsoft.Network/virtualNetworks"
PUBLIC_IP = "Microsoft.Network/publicIPAddresses"

# The top-level types a production scope of this workload holds: what a scope-wide rule (tags)
# reads. A live audit collects exactly these for it, so an offline audit must judge no others.
GOVERNED_TYPES = [
    API_MANAGEMENT,
    APP_GATEWAY,
    "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
    VIRTUAL_NETWORK,
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.Network/networkSecurityPerimeters",
    "Microsoft.Network/networkInterfaces",
    "Microsoft.Network/privateEndpoints",
    "Microsoft.Network/privateDnsZones",
    PUBLIC_IP,
    CONTAINER_APP,
    MANAGED_ENVIRONMENT,
    CONTAINER_REGISTRY,
    "Microsoft.ManagedIdentity/userAssignedIdentities",
    KEY_VAULT,
    APP_CONFIGURATION,
    STORAGE,
    REDIS,
    REDIS_ENTERPRISE,
    COSMOS_ACCOUNT,
    MONGO_CLUSTER,
    COGNITIVE_ACCOUNT,
    COMMUNICATION,
    "Microsoft.Communication/emailServices",
    SERVICE_BUS,
    EVENT_HUBS,
    EVENT_GRID_TOPIC,
    EVENT_GRID_DOMAIN,
    "Microsoft.EventGrid/systemTopics",
    SIGNALR,
    APP_INSIGHTS,
    WORKSPACE,
    WEB_TEST,
    "Microsoft.Insights/actionGroups",
    "Microsoft.Insights/metricAlerts",
    "Microsoft.Insights/scheduledQueryRules",
    "Microsoft.Insights/workbooks",
    "Microsoft.Portal/dashboards",
    "Microsoft.Dashboard/grafana",
    "Microsoft.LoadTestService/loadTests",
]


def listed(value: Any) -> list[Any]:
    """`value` if it is a list, else an empty list (ARM writes `null` for empty lists)."""
    return value if isinstance(value, list) else []


def containers(app: Resource) -> list[dict[str, Any]]:
    """The app's containers and init containers, as ARM returns them."""
    found = listed(app.get("properties.template.containers"))
    found += listed(app.get("properties.template.initContainers"))
    return [c for c in found if isinstance(c, dict)]


def env_vars(app: Resource) -> Iterator[tuple[str, dict[str, Any]]]:
    """(container name, environment variable) for every variable of every container."""
    for container in containers(app):
        for var in listed(container.get("env")):
            if isinstance(var, dict):
                yield str(container.get("name") or ""), var


def cpu_cores(app: Resource) -> float:
    """The CPU limit of one replica (the sum over its containers), or 0 when not reported."""
    total = 0.0
    for container in listed(app.get("properties.template.containers")):
        try:
            total += float(dig(container, "resources.cpu", 0) or 0)
        except (TypeError, ValueError):
            return 0.0
    return total


def environment_of(inv: Inventory, app: Resource) -> Resource | None:
    env_id = app.get("properties.managedEnvironmentId") or app.get("properties.environmentId")
    return inv.get(str(env_id)) if env_id else None


def has_system_identity(res: Resource) -> bool:
    return "systemassigned" in str(res.identity.get("type", "")).replace(" ", "").lower()


def user_identities(res: Resource) -> set[str]:
    """The user-assigned identity ids of a resource, case-folded."""
    assigned = res.identity.get("userAssignedIdentities")
    return {norm(k) for k in assigned} if isinstance(assigned, dict) else set()


def has_managed_identity(res: Resource) -> bool:
    return has_system_identity(res) or bool(user_identities(res))


def identity_assigned(app: Resource, reference: str) -> bool:
    """Whether an `identity` reference of an app's configuration names one of its identities."""
    if norm(reference) == "system":
        return has_system_identity(app)
    return norm(reference) in user_identities(app)


def ingress(app: Resource) -> dict[str, Any]:
    value = app.get("properties.configuration.ingress")
    return value if isinstance(value, dict) else {}


# ---- logs -----------------------------------------------------------------------------------


def sends_logs_to_workspace(setting: Resource) -> bool:
    """A diagnostic setting with a Log Analytics destination and at least one log category on."""
    if not setting.get("properties.workspaceId"):
        return False
    for entry in listed(setting.get("properties.logs")):
        if (
            isinstance(entry, dict)
            and entry.get("enabled")
            and (entry.get("category") or entry.get("categoryGroup"))
        ):
            return True
    return False


def log_settings(inv: Inventory, res: Resource) -> list[Resource]:
    """Diagnostic settings of `res`, and of its Redis Enterprise databases (which carry the logs)."""
    settings = list(inv.diagnostic_settings(res))
    if res.is_type(REDIS_ENTERPRISE):
        for db in inv.children(res, REDIS_ENTERPRISE_DATABASE):
            settings.extend(inv.diagnostic_settings(db))
    return settings


def _workspaces_by_customer_id(inv: Inventory) -> dict[str, Resource]:
    found: dict[str, Resource] = {}
    for workspace in inv.of_type(WORKSPACE):
        found.setdefault(norm(str(workspace.get("properties.customerId", ""))), workspace)
    return found


def workspace_by_customer_id(inv: Inventory, customer_id: str) -> Resource | None:
    """The Log Analytics workspace with this customer id (workspace id), or None."""
    return inv.derived(_workspaces_by_customer_id, WORKSPACE).get(norm(customer_id))


def workspaces_receiving(inv: Inventory, res: Resource) -> set[str]:
    """Case-folded ids of the Log Analytics workspaces that receive telemetry of `res`."""
    found: set[str] = set()
    if res.is_type(APP_INSIGHTS):
        workspace_id = res.get("properties.WorkspaceResourceId")
        if workspace_id:
            found.add(norm(str(workspace_id)))
    sources = [res]
    if res.is_type(CONTAINER_APP):
        env = environment_of(inv, res)
        if env is not None:
            sources.append(env)
            customer_id = env.get(
                "properties.appLogsConfiguration.logAnalyticsConfiguration.customerId"
            )
            workspace = workspace_by_customer_id(inv, str(customer_id)) if customer_id else None
            if workspace is not None:
                found.add(workspace.key)
    for source in sources:
        for setting in log_settings(inv, source):
            if setting.get("properties.workspaceId"):
                found.add(norm(str(setting.get("properties.workspaceId"))))
    return found


# ---- gateways in front of the apps ------------------------------------------------------------


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except (ValueError, AttributeError):
        return None


def _subnet_prefixes(inv: Inventory, subnet_id: str) -> list[str]:
    if "/subnets/" not in subnet_id.lower():
        return []
    vnet_id = subnet_id[: subnet_id.lower().rindex("/subnets/")]
    vnet = inv.get(vnet_id)
    if vnet is None:
        return []
    for subnet in listed(vnet.get("properties.subnets")):
        if isinstance(subnet, dict) and norm(str(subnet.get("id", ""))) == norm(subnet_id):
            prefixes = [dig(subnet, "properties.addressPrefix")]
            prefixes += listed(dig(subnet, "properties.addressPrefixes"))
            return [str(p) for p in prefixes if p]
    return []


def gateway_networks(
    inv: Inventory,
) -> list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """(gateway name, address range) for every address an Application Gateway or APIM sends from."""
    return inv.derived(_gateway_networks, APP_GATEWAY, API_MANAGEMENT, VIRTUAL_NETWORK, PUBLIC_IP)


def _gateway_networks(
    inv: Inventory,
) -> list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    ranges: list[tuple[str, str]] = []
    for gateway in inv.of_type(APP_GATEWAY):
        for conf in listed(gateway.get("properties.gatewayIPConfigurations")):
            subnet_id = str(dig(conf, "properties.subnet.id", ""))
            ranges += [(gateway.name, p) for p in _subnet_prefixes(inv, subnet_id)]
        for conf in listed(gateway.get("properties.frontendIPConfigurations")):
            pip = inv.get(str(dig(conf, "properties.publicIPAddress.id", "")))
            if pip is not None and pip.get("properties.ipAddress"):
                ranges.append((gateway.name, str(pip.get("properties.ipAddress"))))
    for apim in inv.of_type(API_MANAGEMENT):
        for key in ("publicIPAddresses", "privateIPAddresses"):
            ranges += [(apim.name, str(ip)) for ip in listed(apim.get(f"properties.{key}"))]
        subnet_id = str(apim.get("properties.virtualNetworkConfiguration.subnetResourceId", ""))
        ranges += [(apim.name, p) for p in _subnet_prefixes(inv, subnet_id)]
    out = []
    for name, text in ranges:
        network = _network(text)
        if network is not None:
            out.append((name, network))
    return out


def restricted_to_gateways(inv: Inventory, app: Resource) -> list[str] | None:
    """The gateways an app's ingress admits, when its IP restrictions admit nothing else; else None."""
    rules = [r for r in listed(ingress(app).get("ipSecurityRestrictions")) if isinstance(r, dict)]
    if not rules or any(str(r.get("action", "")).lower() != "allow" for r in rules):
        return None
    gateways = gateway_networks(inv)
    names: list[str] = []
    for entry in rules:
        network = _network(str(entry.get("ipAddressRange", "")))
        if network is None:
            return None
        owners = [
            name
            for name, gateway in gateways
            if network.version == gateway.version and network.subnet_of(gateway)  # type: ignore[arg-type]
        ]
        if not owners:
            return None
        names.extend(n for n in owners if n not in names)
    return names
