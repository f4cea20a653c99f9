"""What the network perimeter rules know about each service: switches, private link, DNS zones.

One table, one row per service type, so that the rules read the same facts: whether the service
(or its SKU) has a public network switch and Private Link at all, where its network ACLs live,
and which `privatelink.*` DNS zones its private endpoints need per group id. The facts come from
the services' REST API specifications and the Private Link DNS zone documentation (public cloud
names; sovereign clouds use other suffixes).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prodcheck.arm import ArmId, norm

REDIS = "Microsoft.Cache/redis"
REDIS_FIREWALL = "Microsoft.Cache/redis/firewallRules"
REDIS_ENTERPRISE = "Microsoft.Cache/redisEnterprise"
COSMOS = "Microsoft.DocumentDB/databaseAccounts"
MONGO_CLUSTER = "Microsoft.DocumentDB/mongoClusters"
MONGO_FIREWALL = "Microsoft.DocumentDB/mongoClusters/firewallRules"
COGNITIVE = "Microsoft.CognitiveServices/accounts"
COMMUNICATION = "Microsoft.Communication/communicationServices"
KEY_VAULT = "Microsoft.KeyVault/vaults"
APP_CONFIG = "Microsoft.AppConfiguration/configurationStores"
REGISTRY = "Microsoft.ContainerRegistry/registries"
STORAGE = "Microsoft.Storage/storageAccounts"
APIM = "Microsoft.ApiManagement/service"
SERVICE_BUS = "Microsoft.ServiceBus/namespaces"
SERVICE_BUS_RULES = "Microsoft.ServiceBus/namespaces/networkRuleSets"
EVENT_HUBS = "Microsoft.EventHub/namespaces"
EVENT_HUBS_RULES = "Microsoft.EventHub/namespaces/networkRuleSets"
SIGNALR = "Microsoft.SignalRService/signalR"

PRIVATE_ENDPOINT = "Microsoft.Network/privateEndpoints"
DNS_ZONE_GROUP = "Microsoft.Network/privateEndpoints/privateDnsZoneGroups"
NSP_ASSOCIATION = "Microsoft.Network/networkSecurityPerimeters/resourceAssociations"
NSP_ACCESS_RULE = "Microsoft.Network/networkSecurityPerimeters/profiles/accessRules"

Reason = Callable[[object], str | None]


def _never(_res) -> str | None:
    return None


def _sku(res) -> str:
    return str(res.sku.get("name") or res.sku.get("tier") or "")


@dataclass(frozen=True)
class Service:
    type: str
    label: str
    # Why the resource has no public network switch, or None when it has one.
    no_public_switch: Reason = _never
    # Why the resource cannot have a private endpoint, or None when it can.
    no_private_link: Reason = _never
    # Where its network ACLs live: "networkAcls" (KV, AI, Storage), "networkRuleSet" (ACR),
    # "networkACLs" (SignalR), "ruleSetChild" (Service Bus / Event Hubs), "cosmos", or "".
    acl: str = ""
    # Private DNS zones per private link group id (lower case); "*" is the fallback.
    zones: Callable[[object, str], tuple[str, ...]] = lambda res, group: ()


# ---- per-service facts ------------------------------------------------------------------------


def _redis_enterprise_switch(res) -> str | None:
    if res.get("properties.publicNetworkAccess") is None:
        return (
            "the resource has no publicNetworkAccess property: Azure Managed Redis and Redis "
            "Enterprise report that switch only from API version 2025-07-01 on, and without "
            "it only a private endpoint keeps clients off the public address (see PC-NET-002)"
        )
    return None


def _communication_private_link(_res) -> str | None:
    return (
        "Communication Services has no Private Link; restrict its public access with a network "
        "security perimeter instead (publicNetworkAccess: SecuredByPerimeter, see PC-NET-001)"
    )


def _communication_switch(res) -> str | None:
    if res.get("properties.publicNetworkAccess") is None:
        return (
            "the resource has no publicNetworkAccess property: Communication Services has that "
            "switch (bound to a network security perimeter) only from API version 2025-05-01 on"
        )
    return None


def _registry_tier(res) -> str | None:
    if _sku(res).lower() in ("basic", "standard"):
        return (
            f"Container Registry {_sku(res)} has neither Private Link nor a network firewall: "
            "both need the Premium SKU"
        )
    return None


def _apim_tier(res) -> str | None:
    sku = _sku(res).lower()
    if sku in ("consumption", "basicv2"):
        return (
            f"API Management {_sku(res)} supports neither private endpoints nor virtual network "
            "injection"
        )
    return None


def _app_config_tier(res) -> str | None:
    if _sku(res).lower() == "free":
        return "App Configuration Free has no Private Link: it needs the Standard SKU"
    return None


def _service_bus_switch(res) -> str | None:
    if _sku(res).lower() == "basic":
        return "Service Bus Basic has no network switch or firewall: they need Standard or Premium"
    return None


def _service_bus_private_link(res) -> str | None:
    if _sku(res).lower() in ("basic", "standard"):
        return f"Service Bus {_sku(res)} has no Private Link: it needs the Premium SKU"
    return None


def _event_hubs_tier(res) -> str | None:
    if _sku(res).lower() == "basic":
        return "Event Hubs Basic has neither Private Link nor a network firewall: they need Standard or above"
    return None


def _signalr_tier(res) -> str | None:
    if _sku(res).lower().startswith("free"):
        return "SignalR Free has no Private Link or network ACLs: they need the Standard or Premium SKU"
    return None


def _zones_by_group(table: dict[str, tuple[str, ...]]):
    def zones(_res, group: str) -> tuple[str, ...]:
        return table.get(group.lower(), table.get("*", ()))

    return zones


def _cognitive_zones(res, _group: str) -> tuple[str, ...]:
    kind = (res.kind if res is not None else "").lower()
    if kind == "aiservices":
        return (
            "privatelink.cognitiveservices.azure.com",
            "privatelink.openai.azure.com",
            "privatelink.services.ai.azure.com",
        )
    if kind == "openai":
        return ("privatelink.openai.azure.com",)
    return ("privatelink.cognitiveservices.azure.com",)


def _redis_enterprise_zones(res, _group: str) -> tuple[str, ...]:
    sku = _sku(res).lower() if res is not None else ""
    if sku.startswith(
        "enterprise"
    ):  # Enterprise_*, EnterpriseFlash_*: Azure Cache for Redis Enterprise
        return ("privatelink.redisenterprise.cache.azure.net",)
    return ("privatelink.redis.azure.net",)  # Azure Managed Redis


_STORAGE_ZONES = {
    f"{service}{suffix}": (f"privatelink.{service}.core.windows.net",)
    for service in ("blob", "table", "queue", "file", "web", "dfs")
    for suffix in ("", "_secondary")
}

_COSMOS_ZONES = {
    "sql": ("privatelink.documents.azure.com",),
    "mongodb": ("privatelink.mongo.cosmos.azure.com",),
    "cassandra": ("privatelink.cassandra.cosmos.azure.com",),
    "gremlin": ("privatelink.gremlin.cosmos.azure.com",),
    "table": ("privatelink.table.cosmos.azure.com",),
    "analytical": ("privatelink.analytics.cosmos.azure.com",),
    "sqldedicated": ("privatelink.sqlx.cosmos.azure.com",),
}

SERVICES: dict[str, Service] = {
    norm(s.type): s
    for s in [
        Service(
            REDIS,
            "Azure Cache for Redis",
            zones=_zones_by_group({"*": ("privatelink.redis.cache.windows.net",)}),
        ),
        Service(
            REDIS_ENTERPRISE,
            "Azure Managed Redis",
            no_public_switch=_redis_enterprise_switch,
            zones=_redis_enterprise_zones,
        ),
        Service(COSMOS, "Cosmos DB", acl="cosmos", zones=_zones_by_group(_COSMOS_ZONES)),
        Service(
            MONGO_CLUSTER,
            "Cosmos DB for MongoDB vCore",
            zones=_zones_by_group({"*": ("privatelink.mongocluster.cosmos.azure.com",)}),
        ),
        Service(COGNITIVE, "Azure AI Services", acl="networkAcls", zones=_cognitive_zones),
        Service(
            COMMUNICATION,
            "Communication Services",
            no_public_switch=_communication_switch,
            no_private_link=_communication_private_link,
        ),
        Service(
            KEY_VAULT,
            "Key Vault",
            acl="networkAcls",
            zones=_zones_by_group({"*": ("privatelink.vaultcore.azure.net",)}),
        ),
        Service(
            APP_CONFIG,
            "App Configuration",
            no_public_switch=_app_config_tier,
            no_private_link=_app_config_tier,
            zones=_zones_by_group({"*": ("privatelink.azconfig.io",)}),
        ),
        Service(
            REGISTRY,
            "Container Registry",
            no_public_switch=_registry_tier,
            no_private_link=_registry_tier,
            acl="networkRuleSet",
            zones=_zones_by_group({"*": ("privatelink.azurecr.io",)}),
        ),
        Service(STORAGE, "Storage", acl="networkAcls", zones=_zones_by_group(_STORAGE_ZONES)),
        Service(
            APIM,
            "API Management",
            no_public_switch=_apim_tier,
            no_private_link=_apim_tier,
            zones=_zones_by_group({"*": ("privatelink.azure-api.net",)}),
        ),
        Service(
            SERVICE_BUS,
            "Service Bus",
            no_public_switch=_service_bus_switch,
            no_private_link=_service_bus_private_link,
            acl="ruleSetChild",
            zones=_zones_by_group({"*": ("privatelink.servicebus.windows.net",)}),
        ),
        Service(
            EVENT_HUBS,
            "Event Hubs",
            no_public_switch=_event_hubs_tier,
            no_private_link=_event_hubs_tier,
            acl="ruleSetChild",
            zones=_zones_by_group({"*": ("privatelink.servicebus.windows.net",)}),
        ),
        Service(
            SIGNALR,
            "SignalR",
            no_public_switch=_signalr_tier,
            no_private_link=_signalr_tier,
            acl="networkACLs",
            zones=_zones_by_group({"*": ("privatelink.service.signalr.net",)}),
        ),
    ]
}

SERVICE_TYPES = [s.type for s in SERVICES.values()]


def service_of(resource_or_type) -> Service | None:
    type_ = resource_or_type if isinstance(resource_or_type, str) else resource_or_type.type
    return SERVICES.get(norm(type_))


def services_in(inv) -> list:
    """The in-scope resources of every service type the perimeter rules cover."""
    return inv.of_type(*SERVICE_TYPES)


def type_of_id(resource_id: str) -> str:
    return ArmId.parse(resource_id).type


# ---- IP ranges ---------------------------------------------------------------------------------


def parse_range(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """`1.2.3.4`, `1.2.3.0/24` or `a-b` as networks; [] for anything unreadable."""
    text = (text or "").strip()
    try:
        if "-" in text:
            start, end = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            return list(ipaddress.summarize_address_range(start, end))  # type: ignore[arg-type]
        return [ipaddress.ip_network(text, strict=False)]
    except (ValueError, TypeError):
        return []


def covered_fraction(ranges: Iterable[str]) -> float:
    """The largest share of the IPv4 or IPv6 address space that the union of `ranges` covers."""
    nets = [n for r in ranges for n in parse_range(r)]
    best = 0.0
    for version, total in ((4, 2**32), (6, 2**128)):
        collapsed = ipaddress.collapse_addresses(n for n in nets if n.version == version)  # type: ignore[arg-type]
        size = sum(n.num_addresses for n in collapsed)
        best = max(best, size / total)
    return best


def within(candidate: str, allowed: Iterable[str]) -> bool:
    """Whether every address of `candidate` lies in one of the `allowed` ranges."""
    nets = parse_range(candidate)
    pool = [n for a in allowed for n in parse_range(a)]
    if not nets:
        return False
    return all(any(n.version == p.version and n.subnet_of(p) for p in pool) for n in nets)  # type: ignore[arg-type]
