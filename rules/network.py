"""Network perimeter — "Private endpoints configured for all services".

The data and AI services of the workload are reachable only over private endpoints whose DNS is
wired, no firewall rule opens them to the internet, and the container apps sit in a virtual
network behind the gateway instead of on public ingress. Service facts (which SKUs have a switch
or Private Link, which DNS zones a private endpoint needs) live in `_private_link.py`.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict

from prodcheck import Severity, rule
from prodcheck.arm import ArmId, norm
from prodcheck.inventory import dig

from ._private_link import (
    APIM,
    APP_CONFIG,
    COMMUNICATION,
    COSMOS,
    DNS_ZONE_GROUP,
    EVENT_HUBS_RULES,
    MONGO_CLUSTER,
    MONGO_FIREWALL,
    NSP_ACCESS_RULE,
    NSP_ASSOCIATION,
    PRIVATE_ENDPOINT,
    REDIS,
    REDIS_FIREWALL,
    SERVICE_BUS_RULES,
    SERVICE_TYPES,
    covered_fraction,
    parse_range,
    service_of,
    services_in,
    type_of_id,
    within,
)

CHECKLIST = "Private endpoints configured for all services"
ENVIRONMENT = "Microsoft.App/managedEnvironments"
CONTAINER_APP = "Microsoft.App/containerApps"
APP_GATEWAY = "Microsoft.Network/applicationGateways"
PUBLIC_IP = "Microsoft.Network/publicIPAddresses"
VNET = "Microsoft.Network/virtualNetworks"
VNET_PEERING = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings"
RULE_SET_CHILDREN = [SERVICE_BUS_RULES, EVENT_HUBS_RULES]
# The 2021-11-01 examples spell the rule set in the singular (type `.../Namespaces/NetworkRuleSet`,
# id `.../networkruleset/default`): read it under either spelling, never skip it as unknown.
_RULE_SET_SPELLINGS = [*RULE_SET_CHILDREN, *(t.removesuffix("s") for t in RULE_SET_CHILDREN)]

_PNA = "properties.publicNetworkAccess"


def _lower(value) -> str:
    return str(value or "").strip().lower()


# ---- public network access ---------------------------------------------------------------------


def _acl_ip_rules(inv, res, kind: str) -> tuple[str | None, list[str]]:
    """(default action, IP rules) of a service's network ACLs; (None, []) when it has none."""
    if kind == "networkAcls":
        acl = res.get("properties.networkAcls", {}) or {}
        rules = [str(r.get("value", "")) for r in acl.get("ipRules", []) or []]
        return acl.get("defaultAction"), rules
    if kind == "networkRuleSet":
        acl = res.get("properties.networkRuleSet", {}) or {}
        rules = [
            str(r.get("value", "") or r.get("iPAddressOrRange", ""))
            for r in acl.get("ipRules", []) or []
            if _lower(r.get("action", "allow")) == "allow"
        ]
        return acl.get("defaultAction"), rules
    if kind == "networkACLs":
        acl = res.get("properties.networkACLs", {}) or {}
        rules = [
            str(r.get("value", ""))
            for r in acl.get("ipRules", []) or []
            if _lower(r.get("action", "allow")) == "allow"
        ]
        # Request types the public network may still send (ClientConnection, RESTAPI, ...).
        rules += [
            f"public network: {t}" for t in (acl.get("publicNetwork") or {}).get("allow") or []
        ]
        return acl.get("defaultAction"), rules
    if kind == "ruleSetChild":
        for child in inv.children(res):
            if child.is_type(*_RULE_SET_SPELLINGS):
                if _lower(child.get("properties.publicNetworkAccess")) == "disabled":
                    return "Deny", []
                rules = [
                    str(r.get("ipMask", ""))
                    for r in child.get("properties.ipRules", []) or []
                    if _lower(r.get("action", "allow")) == "allow"
                ]
                return child.get("properties.defaultAction"), rules
        return None, []
    if kind == "cosmos":
        rules = [
            str(r.get("ipAddressOrRange", "")) for r in res.get("properties.ipRules", []) or []
        ]
        if res.get("properties.isVirtualNetworkFilterEnabled") is True or rules:
            return "Deny", rules
        return "Allow", []
    return None, []


def _perimeter_associations(inv) -> dict[str, list]:
    """Network security perimeter associations by the (case-folded) id of the resource they hold."""
    found = defaultdict(list)
    for association in inv.of_type(NSP_ASSOCIATION):
        found[norm(association.get("properties.privateLinkResource.id"))].append(association)
    return found


def _perimeter(inv, res) -> tuple[str, str]:
    """(status, message) for a resource whose public access a network security perimeter governs."""
    associations = inv.derived(_perimeter_associations, NSP_ASSOCIATION).get(res.key, [])
    if not associations:
        return "error", (
            "publicNetworkAccess is SecuredByPerimeter but no network security perimeter "
            "association for it is in the inventory: audit the perimeter's resource group too"
        )
    problems, admitted = [], []
    for association in associations:
        mode = str(association.get("properties.accessMode", "") or "")
        if _lower(mode) != "enforced":
            problems.append(
                f"perimeter association {association.name} is in {mode or 'no'} access mode, "
                "which logs but does not block public traffic (set accessMode: Enforced)"
            )
        profile = str(association.get("properties.profile.id", "") or "")
        for access_rule in inv.children(profile, NSP_ACCESS_RULE) if profile else []:
            if _lower(access_rule.get("properties.direction")) != "inbound":
                continue
            admitted += [str(p) for p in access_rule.get("properties.addressPrefixes", []) or []]
    if admitted:
        problems.append(f"the perimeter admits public address ranges {', '.join(admitted)}")
    if problems:
        return "fail", "; ".join(problems)
    names = ", ".join(a.name for a in associations)
    return (
        "pass",
        f"public access governed by an enforced network security perimeter ({names}) admitting no address ranges",
    )


def public_access(inv, res) -> tuple[str, str]:
    """(status, message): whether the resource's public network access is closed."""
    svc = service_of(res)
    assert svc is not None
    reason = svc.no_public_switch(res)
    if reason:
        return "na", reason
    pna = res.get(_PNA)
    value = _lower(pna)
    if value == "disabled":
        return "pass", "publicNetworkAccess is Disabled"
    if value == "securedbyperimeter":
        return _perimeter(inv, res)
    if res.is_type(REDIS) and res.get("properties.subnetId"):
        return "pass", "injected into a virtual network: the cache has no public endpoint"
    if res.is_type(APIM) and _lower(res.get("properties.virtualNetworkType")) == "internal":
        return (
            "pass",
            "injected into a virtual network in Internal mode: the gateway has no public endpoint",
        )
    if res.is_type(COMMUNICATION):
        return "fail", (
            f"publicNetworkAccess is {pna}: Communication Services has no Private Link, so "
            "restrict it with a network security perimeter (SecuredByPerimeter)"
        )
    if res.is_type(APP_CONFIG) and pna is None:
        # "Automatic": public access is off while a private endpoint exists.
        approved = inv.approved_private_endpoints(res)
        if approved:
            return (
                "pass",
                "publicNetworkAccess is automatic and an approved private endpoint turns it off",
            )
        return (
            "fail",
            "publicNetworkAccess is automatic and no approved private endpoint turns it off",
        )
    default_action, ip_rules = _acl_ip_rules(inv, res, svc.acl)
    stated = (
        f"publicNetworkAccess is {pna}"
        if pna is not None
        else "publicNetworkAccess is not set (enabled)"
    )
    if _lower(default_action) == "deny":
        if not ip_rules:
            return "pass", f"{stated}, but the network ACLs deny by default and allow no public IP"
        return "fail", f"{stated}; the network ACLs deny by default but admit {', '.join(ip_rules)}"
    if default_action is not None:
        return "fail", f"{stated} and the network ACLs allow by default"
    return "fail", stated


@rule(
    id="PC-NET-001",
    title="Data and AI services refuse public network traffic",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[*SERVICE_TYPES, PRIVATE_ENDPOINT, *RULE_SET_CHILDREN, NSP_ASSOCIATION, NSP_ACCESS_RULE],
    rationale=(
        "A private endpoint adds a private path; it does not close the public one. Until public "
        "network access is off, every key or token leak is exploitable from anywhere."
    ),
    remediation=(
        """
        Turn public network access off. Create and approve a private endpoint first (PC-NET-002), or
        clients lose access.

        ```sh
        az resource update --ids {id} --set properties.publicNetworkAccess=Disabled
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/private-link/private-endpoint-overview",
        "https://learn.microsoft.com/azure/private-link/network-security-perimeter-concepts",
    ],
)
def public_network_access_disabled(inv, p):
    """
    ## What it checks
    Every Azure Cache for Redis, Azure Managed Redis, Cosmos DB (accounts and MongoDB vCore
    clusters), Azure AI Services / OpenAI / Speech account, Communication Services, Key Vault,
    App Configuration, Container Registry, Storage account, API Management, Service Bus,
    Event Hubs and SignalR resource refuses public network traffic:

    - `properties.publicNetworkAccess` is `Disabled` (absent means enabled); or
    - its network ACLs deny by default and allow no public IP (`networkAcls`,
      `networkRuleSet`, SignalR `networkACLs`, the namespace's `networkRuleSets/default`, or a
      Cosmos DB account with the virtual network filter on and no `ipRules`); or
    - it is `SecuredByPerimeter` and its network security perimeter association is `Enforced`
      with no inbound rule admitting address ranges; or
    - it is injected into a virtual network without a public endpoint (Premium Redis with a
      `subnetId`, API Management with `virtualNetworkType: Internal`); or
    - for App Configuration with the property unset ("automatic"), an approved private endpoint
      exists, which turns public access off.

    Where a service or SKU has no such switch the finding is NOT_APPLICABLE and says why:
    Container Registry Basic/Standard, API Management Consumption/Basic v2, App Configuration
    Free, Service Bus Basic, Event Hubs Basic, SignalR Free, and Azure Managed Redis or
    Communication Services records without the property (older API versions).

    Checked against the GET bodies of `Microsoft.KeyVault/vaults` 2019-09-01 (no
    `publicNetworkAccess`: enabled) and 2026-05-15 (the switch beside `networkAcls`),
    `Microsoft.CognitiveServices/accounts` 2025-09-01 (no switch for an account created without
    one), `Microsoft.Cache/redis` 2024-11-01, `Microsoft.ContainerRegistry/registries`
    2023-07-01, `Microsoft.ApiManagement/service` 2018-01-01 (no switch) and 2024-05-01, and the
    Service Bus and Event Hubs `networkRuleSets` of 2021-11-01 (spelt in the singular in the
    examples; both spellings are read). Network security perimeter bodies are not covered by
    this record.

    ## Example
    Fails:
    ```json
    {"type": "Microsoft.KeyVault/vaults",
     "properties": {"publicNetworkAccess": "Enabled", "networkAcls": {"defaultAction": "Allow"}}}
    ```
    Passes:
    ```json
    {"type": "Microsoft.KeyVault/vaults",
     "properties": {"publicNetworkAccess": "Disabled", "networkAcls": {"defaultAction": "Deny"}}}
    ```

    ## How to fix
    Create a private endpoint and its DNS zone group first (PC-NET-002, PC-NET-003), then turn
    public access off. In Bicep: `properties: { publicNetworkAccess: 'Disabled' }`. Communication
    Services has no Private Link: associate it with a network security perimeter in `Enforced`
    mode and set `publicNetworkAccess: 'SecuredByPerimeter'`.
    """
    for res in services_in(inv):
        status, message = public_access(inv, res)
        evidence = res.evidence(
            _PNA,
            "properties.networkAcls.defaultAction",
            "properties.networkRuleSet.defaultAction",
            "properties.virtualNetworkType",
            "sku.name",
        )
        evidence = {k: v for k, v in evidence.items() if v is not None or k == _PNA}
        remediation = None
        if res.is_type(COMMUNICATION) or _lower(res.get(_PNA)) == "securedbyperimeter":
            remediation = _PERIMETER_FIX
        if status == "pass":
            yield res.ok(message, evidence=evidence)
        elif status == "na":
            yield res.not_applicable(message, evidence=evidence)
        elif status == "error":
            yield res.error(message, evidence=evidence)
        else:
            yield res.fail(message, evidence=evidence, remediation=remediation)


_PERIMETER_FIX = (
    "Associate {name} with a network security perimeter profile in Enforced mode whose inbound "
    "rules name subscriptions, not address ranges, then let the perimeter govern its public "
    "access:\n\n```sh\n"
    "az network perimeter association create -g '<perimeter-resource-group>' --perimeter-name "
    "'<perimeter>' -n '<association>' --private-link-resource '{id:'{id}'}' --profile "
    "'{id:<profile-id>}' --access-mode Enforced\n"
    "az resource update --ids {id} --set properties.publicNetworkAccess=SecuredByPerimeter\n```"
)


# ---- private endpoints -------------------------------------------------------------------------


def _injected(res) -> str:
    if res.is_type(REDIS) and res.get("properties.subnetId"):
        return (
            "injected into a virtual network (private endpoints and injection exclude each other)"
        )
    if res.is_type(APIM) and _lower(res.get("properties.virtualNetworkType")) == "internal":
        return "injected into a virtual network in Internal mode"
    return ""


@rule(
    id="PC-NET-002",
    title="Data and AI services have an approved private endpoint",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[*SERVICE_TYPES, PRIVATE_ENDPOINT],
    rationale=(
        "Without an approved private endpoint the service can only be reached over its public "
        "address; a pending, rejected or disconnected connection carries no traffic."
    ),
    remediation=(
        """
        Create a private endpoint for the resource in the workload's virtual network (then approve the
        connection if it is manual). The group id names the sub-resource, e.g. `vault`, `redisCache`,
        `account`, `Sql`, `MongoCluster`.

        ```sh
        az network private-endpoint create -g {resource_group} -n pe-{name} --vnet-name '<vnet>' --subnet '<subnet>' --private-connection-resource-id {id} --group-id '<group-id>' --connection-name pe-{name}
        ```
    """
    ),
    links=["https://learn.microsoft.com/azure/private-link/create-private-endpoint-cli"],
)
def approved_private_endpoint(inv, p):
    """
    ## What it checks
    Every resource of the services listed in PC-NET-001 has at least one private endpoint
    connection in state `Approved`, found on the resource (`properties.privateEndpointConnections`)
    or on a `Microsoft.Network/privateEndpoints` whose `privateLinkServiceConnections` or
    `manualPrivateLinkServiceConnections` point at it (ids compared case-insensitively: ARM spells
    resource groups differently on the two sides). `Pending`, `Rejected` and `Disconnected`
    connections do not count. A Premium Redis cache injected into a subnet, or an API Management
    service in `Internal` virtual network mode, passes: it is private by injection.
    NOT_APPLICABLE where the service or SKU has no Private Link (see PC-NET-001).

    Checked against the `Microsoft.Network/privateEndpoints` GET bodies of API version
    2024-05-01 (connections with their own `id`, an empty `manualPrivateLinkServiceConnections`)
    and the services' own `privateEndpointConnections` in `Microsoft.Cache/redis` 2024-11-01
    (the type spelled `Microsoft.Cache/Redis`) and `Microsoft.KeyVault/vaults` 2026-05-15 (a
    connection whose endpoint id is empty names no endpoint and does not count).

    ## Example
    Fails (the only connection is still pending):
    ```json
    {"properties": {"privateEndpointConnections": [{"properties": {
      "privateEndpoint": {"id": ".../privateEndpoints/pe-kv"},
      "privateLinkServiceConnectionState": {"status": "Pending"}}}]}}
    ```
    Passes:
    ```json
    {"properties": {"privateEndpointConnections": [{"properties": {
      "privateEndpoint": {"id": ".../privateEndpoints/pe-kv"},
      "privateLinkServiceConnectionState": {"status": "Approved"}}}]}}
    ```
    """
    for res in services_in(inv):
        svc = service_of(res)
        reason = svc.no_private_link(res) if svc else None
        links = inv.private_endpoint_links(res)
        evidence = {
            "privateEndpointConnections": [f"{link.endpoint_id} ({link.state})" for link in links]
        }
        if reason:
            yield res.not_applicable(reason, evidence=evidence)
            continue
        approved = [link for link in links if link.approved]
        if approved:
            names = ", ".join(ArmId.parse(link.endpoint_id).name for link in approved)
            yield res.ok(f"approved private endpoint: {names}", evidence=evidence)
        elif _injected(res):
            yield res.ok(_injected(res), evidence=evidence)
        elif links:
            states = ", ".join(
                f"{ArmId.parse(link.endpoint_id).name} is {link.state or 'in no state'}"
                for link in links
            )
            yield res.fail(f"no approved private endpoint: {states}", evidence=evidence)
        else:
            yield res.fail("no private endpoint", evidence=evidence)


# ---- private DNS -------------------------------------------------------------------------------


def _zone_names(inv, endpoint) -> list[str]:
    names = []
    for group in inv.children(endpoint, DNS_ZONE_GROUP):
        for config in group.get("properties.privateDnsZoneConfigs", []) or []:
            zone_id = str((config.get("properties") or {}).get("privateDnsZoneId", "") or "")
            if zone_id:
                names.append(ArmId.parse(zone_id).name.lower())
    return names


@rule(
    id="PC-NET-003",
    title="Private endpoints register in the matching private DNS zones",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[PRIVATE_ENDPOINT, DNS_ZONE_GROUP, *SERVICE_TYPES],
    rationale=(
        "A private endpoint without its private DNS zone is bypassed: clients keep resolving the "
        "service's public name to its public address, and either fail (public access off) or "
        "quietly go around the private network."
    ),
    remediation=(
        """
        Link the private endpoint to the private DNS zone of its service, so that clients resolve the
        service's name to the private address:

        ```sh
        az network private-endpoint dns-zone-group create -g {resource_group} --endpoint-name {name} -n default --private-dns-zone '<private-dns-zone-id>' --zone-name '<zone>'
        ```
    """
    ),
    links=["https://learn.microsoft.com/azure/private-link/private-endpoint-dns"],
)
def private_dns_wired(inv, p):
    """
    ## What it checks
    Every `Microsoft.Network/privateEndpoints` connected to one of the services of PC-NET-001 has
    a private DNS zone group (`privateDnsZoneGroups`) naming every `privatelink.*` zone the
    service needs for the endpoint's group id:

    | service (group id) | zones |
    |---|---|
    | Key Vault (`vault`) | privatelink.vaultcore.azure.net |
    | Azure Cache for Redis (`redisCache`) | privatelink.redis.cache.windows.net |
    | Azure Managed Redis (`redisEnterprise`) | privatelink.redis.azure.net (Enterprise SKUs: privatelink.redisenterprise.cache.azure.net) |
    | Cosmos DB (`Sql`, `MongoDB`, `Cassandra`, `Gremlin`, `Table`) | privatelink.documents.azure.com, privatelink.mongo.cosmos.azure.com, privatelink.cassandra.cosmos.azure.com, ... |
    | Cosmos DB for MongoDB vCore (`MongoCluster`) | privatelink.mongocluster.cosmos.azure.com |
    | AI Services account (`account`, kind AIServices) | privatelink.cognitiveservices.azure.com, privatelink.openai.azure.com, privatelink.services.ai.azure.com |
    | Azure OpenAI account (kind OpenAI) | privatelink.openai.azure.com |
    | other Cognitive Services kinds (Speech, ...) | privatelink.cognitiveservices.azure.com |
    | App Configuration (`configurationStores`) | privatelink.azconfig.io |
    | Container Registry (`registry`) | privatelink.azurecr.io |
    | Storage (`blob`, `file`, `queue`, `table`, `web`, `dfs`) | privatelink.blob.core.windows.net, ... |
    | API Management (`Gateway`) | privatelink.azure-api.net |
    | Service Bus, Event Hubs (`namespace`) | privatelink.servicebus.windows.net |
    | SignalR (`signalr`) | privatelink.service.signalr.net |

    Zone names are the public cloud's. NOT_APPLICABLE when no private endpoint serves those
    services.

    Checked against the `Microsoft.Network/privateEndpoints` and
    `privateEndpoints/privateDnsZoneGroups` GET bodies of API version 2024-05-01: a zone group's
    body carries no `type` (a snapshot takes it from the id) and lists `recordSets` beside each
    `privateDnsZoneId`.

    ## Example
    Fails (an AI Services endpoint registered only in the Cognitive Services zone: requests to
    `*.openai.azure.com` still resolve publicly):
    ```json
    {"type": "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
     "properties": {"privateDnsZoneConfigs": [{"properties": {
       "privateDnsZoneId": ".../privateDnsZones/privatelink.cognitiveservices.azure.com"}}]}}
    ```
    Passes: the same group also naming `privatelink.openai.azure.com` and
    `privatelink.services.ai.azure.com`.

    ## How to fix
    Create the zone (once per network), link it to the virtual networks whose clients resolve
    the service, and add a zone group to the endpoint. Where DNS is managed centrally (a DNS
    forwarder with conditional forwarding, or an Azure Policy that creates zone groups), the
    zone group is still the record this check reads.
    """
    for endpoint in inv.of_type(PRIVATE_ENDPOINT):
        required: dict[str, list[str]] = {}
        served = []
        for target_id, _state, groups in inv.private_link_targets(endpoint):
            svc = service_of(type_of_id(target_id))
            if svc is None:
                continue
            target = inv.get(target_id)
            served.append(ArmId.parse(target_id).name)
            for group in groups or ("*",):
                for zone in svc.zones(target, group):
                    required.setdefault(zone, []).append(ArmId.parse(target_id).name)
        if not served:
            continue
        zones = _zone_names(inv, endpoint)
        evidence = {"serves": served, "privateDnsZones": zones, "required": sorted(required)}
        if not inv.children(endpoint, DNS_ZONE_GROUP):
            yield endpoint.fail(
                f"no private DNS zone group: clients of {', '.join(served)} resolve the public "
                f"address (needs {', '.join(sorted(required)) or 'a privatelink zone'})",
                evidence=evidence,
            )
            continue
        if not required:
            yield endpoint.error(
                f"the private link group of {', '.join(served)} is not one prodcheck knows the "
                "DNS zone of: check the zone by hand",
                evidence=evidence,
            )
            continue
        missing = sorted(z for z in required if z not in zones)
        if missing:
            yield endpoint.fail(
                f"the zone group lacks {', '.join(missing)} for {', '.join(served)}",
                evidence=evidence,
            )
        else:
            yield endpoint.ok(
                f"registered in {', '.join(sorted(required))} for {', '.join(served)}",
                evidence=evidence,
            )


# ---- firewall rules ----------------------------------------------------------------------------


def _firewall_ranges(inv, res) -> list[tuple[str, str]] | None:
    """(rule name, range) of every IP allow rule of `res`; None when the service has no IP firewall."""
    svc = service_of(res)
    ranges: list[tuple[str, str]] = []
    if res.is_type(REDIS):
        for child in inv.children(res, REDIS_FIREWALL):
            start, end = child.get("properties.startIP", ""), child.get("properties.endIP", "")
            ranges.append((child.name, f"{start}-{end}"))
        return ranges
    if res.is_type(MONGO_CLUSTER):
        for child in inv.children(res, MONGO_FIREWALL):
            start = child.get("properties.startIpAddress", "")
            end = child.get("properties.endIpAddress", "")
            ranges.append((child.name, f"{start}-{end}"))
        return ranges
    if res.is_type(COSMOS):
        for i, r in enumerate(res.get("properties.ipRules", []) or []):
            ranges.append((f"ipRules[{i}]", str(r.get("ipAddressOrRange", ""))))
        return ranges
    if svc and svc.acl in ("networkAcls", "networkRuleSet", "networkACLs", "ruleSetChild"):
        if svc.no_public_switch(res):
            return None
        _default, rules = _acl_ip_rules(inv, res, svc.acl)
        return [
            (f"ipRules[{i}]", r) for i, r in enumerate(rules) if not r.startswith("public network")
        ]
    return None


def _as_range(text: str) -> str:
    # Firewall rules written start-end with the same address are single addresses.
    if "-" in text:
        start, end = text.split("-", 1)
        if start.strip() == end.strip():
            return start.strip()
    return text


@rule(
    id="PC-NET-004",
    title="No firewall rule opens a service to the whole internet",
    checklist=CHECKLIST,
    severity=Severity.CRITICAL,
    needs=[*SERVICE_TYPES, REDIS_FIREWALL, MONGO_FIREWALL, *RULE_SET_CHILDREN],
    params={"world_fraction": 0.5},
    rationale=(
        "An allow rule for 0.0.0.0–255.255.255.255 turns a database's firewall off while "
        "looking like one: anyone holding a password or key can connect from anywhere."
    ),
    remediation=(
        """
        Delete the firewall rule that opens the service to the whole internet and reach the service
        through its private endpoint; allow named client addresses only where a public path is
        unavoidable. For a MongoDB vCore cluster:

        ```sh
        az resource delete --ids {id}/firewallRules/'<rule>'
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/cosmos-db/mongodb/vcore/security",
        "https://learn.microsoft.com/azure/azure-cache-for-redis/cache-configure#firewall",
    ],
)
def no_open_firewall(inv, p):
    """
    ## What it checks
    No IP firewall rule of the services of PC-NET-001 admits the internet at large: MongoDB vCore
    cluster `firewallRules` (start–end), Cosmos DB `ipRules`, Azure Cache for Redis
    `firewallRules`, and the IP rules of network ACLs (Key Vault, AI Services, Storage, Container
    Registry, SignalR, Service Bus and Event Hubs `networkRuleSets`). A rule set is open when the
    union of its allow rules covers at least `world_fraction` of the IPv4 (or IPv6) address
    space: `0.0.0.0–255.255.255.255`, `0.0.0.0/0`, and equivalents such as `0.0.0.0/1` plus
    `128.0.0.0/1`. The Azure-services rule `0.0.0.0–0.0.0.0` is a single address and does not
    count. Services without an IP firewall are NOT_APPLICABLE; a service whose ACLs allow
    everything by default without any rule is PC-NET-001's finding, not this one's.

    Checked against the `Microsoft.DocumentDB/mongoClusters/firewallRules` list of API version
    2025-04-01-preview (typed with a leading slash, which a snapshot drops),
    `Microsoft.Cache/redis/firewallRules` 2024-11-01 (named `<cache>/<rule>`), and the Service
    Bus and Event Hubs `networkRuleSets` of 2021-11-01 (`ipMask` rules with `action`; the
    examples spell the child `.../Namespaces/NetworkRuleSet` with an id ending
    `/networkruleset/default`, and both spellings are read).

    ## Example
    Fails:
    ```json
    {"type": "Microsoft.DocumentDB/mongoClusters/firewallRules", "name": "allowAll",
     "properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}}
    ```
    Passes: no firewall rules (access through a private endpoint), or rules for named
    client ranges such as `203.0.113.0/28`.
    """
    for res in services_in(inv):
        ranges = _firewall_ranges(inv, res)
        if ranges is None:
            label = service_of(res).label if service_of(res) else res.type
            yield res.not_applicable(f"{label} has no IP firewall rules to open")
            continue
        evidence = {"allowRules": {name: value for name, value in ranges}}
        wide = [
            f"{name} ({value})"
            for name, value in ranges
            if covered_fraction([_as_range(value)]) >= p.world_fraction
        ]
        union = covered_fraction(_as_range(v) for _, v in ranges)
        if wide:
            yield res.fail(f"open to the internet: {', '.join(wide)}", evidence=evidence)
        elif union >= p.world_fraction:
            names = ", ".join(f"{n} ({v})" for n, v in ranges)
            yield res.fail(
                f"open to the internet: together the rules cover {union:.0%} of the address space ({names})",
                evidence=evidence,
            )
        elif ranges:
            unreadable = [f"{n} ({v})" for n, v in ranges if not parse_range(_as_range(v))]
            if unreadable:
                yield res.error(
                    f"cannot read the address range of {', '.join(unreadable)}", evidence=evidence
                )
            else:
                yield res.ok(
                    f"{len(ranges)} allow rule(s), none open to the internet", evidence=evidence
                )
        else:
            yield res.ok("no IP allow rules", evidence=evidence)


# ---- Container Apps ----------------------------------------------------------------------------


def _pool_addresses(gateway) -> list[tuple[str, str]]:
    """(fqdn, ip address) of every backend pool member; a bare string may be either."""
    out = []
    for pool in gateway.get("properties.backendAddressPools", []) or []:
        for address in dig(pool, "properties.backendAddresses", []) or []:
            if isinstance(address, str):
                out.append((address, address))
            elif isinstance(address, dict):
                out.append(
                    (str(address.get("fqdn", "") or ""), str(address.get("ipAddress", "") or ""))
                )
    return out


def _gateways_by_backend(inv) -> tuple[dict[str, list[int]], dict[str, list[int]], list, list[str]]:
    """Application Gateways by the DNS suffixes and the IP addresses of their backend pools.

    (positions by every proper suffix of a backend FQDN after a dot, positions by backend IP,
    the gateways, the virtual network of each gateway's subnet): `api.env.example` is filed under
    `env.example` and `example`.
    """
    gateways = inv.of_type(APP_GATEWAY)
    by_suffix: dict[str, list[int]] = defaultdict(list)
    by_ip: dict[str, list[int]] = defaultdict(list)
    for position, gateway in enumerate(gateways):
        for fqdn, ip in _pool_addresses(gateway):
            name = _lower(fqdn)
            dot = name.find(".")
            while dot >= 0:
                by_suffix[name[dot + 1 :]].append(position)
                dot = name.find(".", dot + 1)
            by_ip[ip].append(position)
    return by_suffix, by_ip, gateways, [_gateway_vnet(g) for g in gateways]


def _vnet_of(subnet_id: object) -> str:
    """The (case-folded) id of the virtual network a subnet id lies in; "" when it names none."""
    arm = ArmId.parse(str(subnet_id or ""))
    if norm(arm.type) != "microsoft.network/virtualnetworks/subnets":
        return ""
    return norm(arm.parent)


def _gateway_vnet(gateway) -> str:
    """The virtual network of an Application Gateway's subnet (`gatewayIPConfigurations`)."""
    configs = gateway.get("properties.gatewayIPConfigurations")
    for config in configs if isinstance(configs, list) else []:
        if isinstance(config, dict):
            vnet = _vnet_of(dig(config, "properties.subnet.id"))
            if vnet:
                return vnet
    return ""


def _peerings(inv) -> tuple[frozenset[str], dict[str, set[str]]]:
    """(the virtual networks whose peerings were read, each network's Connected peers), ids
    case-folded.

    A peering is `Connected` only once both networks hold it, so one side read is enough: a
    network whose `virtualNetworkPeerings` were read without a Connected one to another is not
    peered with it. A network without that list (a plan, another tool's inventory), or with one
    that is not a list of objects, is not counted as read. Peerings given as resources of their
    own (`virtualNetworks/virtualNetworkPeerings`) add their links too.
    """
    read: set[str] = set()
    peers: dict[str, set[str]] = defaultdict(set)

    def link(vnet_key: str, state: object, remote_id: object) -> None:
        remote = norm(str(remote_id or ""))
        if _lower(state) == "connected" and remote:
            peers[vnet_key].add(remote)
            peers[remote].add(vnet_key)

    for vnet in inv.of_type(VNET):
        listed = vnet.get("properties.virtualNetworkPeerings")
        if isinstance(listed, list) and all(isinstance(p, dict) for p in listed):
            read.add(vnet.key)
            for peering in listed:
                link(
                    vnet.key,
                    dig(peering, "properties.peeringState"),
                    dig(peering, "properties.remoteVirtualNetwork.id"),
                )
    for peering in inv.of_type(VNET_PEERING):
        link(
            norm(peering.parent_id),
            peering.get("properties.peeringState"),
            peering.get("properties.remoteVirtualNetwork.id"),
        )
    return frozenset(read), peers


def _reaches(inv, env_vnet: str, gateway_vnet: str) -> bool | None:
    """Whether a gateway in `gateway_vnet` reaches private addresses of `env_vnet`: the same
    network, or peered (Connected); None when that cannot be told (a network not named, or
    neither network, with its peerings, in the inventory)."""
    if not env_vnet or not gateway_vnet:
        return None
    if env_vnet == gateway_vnet:
        return True
    read, peers = inv.derived(_peerings, VNET, VNET_PEERING)
    if gateway_vnet in peers.get(env_vnet, ()):
        return True
    if env_vnet in read or gateway_vnet in read:
        return False
    return None


def _private(address: str) -> bool:
    """Whether `address` is not a public one (a private range, or not an address at all): the
    same address can then belong to several virtual networks."""
    try:
        return not ipaddress.ip_address(address.strip()).is_global
    except ValueError:
        return True


def _fronting_gateways(inv, env, *, across_peerings: bool = True) -> tuple[list, list]:
    """(the Application Gateways whose backend pools point at apps of `env`, those that might).

    A backend FQDN in the environment's default domain, or its public static IP, names the
    environment wherever the gateway is. A private static IP names it only for a gateway in the
    environment's virtual network or one peered with it (another network may use the same
    addresses); when that cannot be told, the gateway is in the second list. Without
    `across_peerings`, only gateways in the environment's own network are matched by a private
    IP, and no peering is read.
    """
    domain = _lower(env.get("properties.defaultDomain"))
    static_ip = str(env.get("properties.staticIp", "") or "")
    by_suffix, by_ip, gateways, vnets = inv.derived(_gateways_by_backend, APP_GATEWAY)
    found = set(by_suffix.get(domain, ())) if domain else set()
    unsure: set[int] = set()
    candidates = by_ip.get(static_ip, ()) if static_ip else ()
    if candidates and _private(static_ip):
        env_vnet = _vnet_of(env.get("properties.vnetConfiguration.infrastructureSubnetId"))
        for position in candidates:
            if position in found:
                continue
            if not across_peerings:
                if env_vnet and vnets[position] == env_vnet:
                    found.add(position)
                continue
            reaches = _reaches(inv, env_vnet, vnets[position])
            if reaches:
                found.add(position)
            elif reaches is None:
                unsure.add(position)
    else:
        found.update(candidates)
    return [gateways[p] for p in sorted(found)], [gateways[p] for p in sorted(unsure)]


@rule(
    id="PC-NET-005",
    title="Container Apps environments run in a virtual network",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[ENVIRONMENT, APP_GATEWAY, VNET],
    rationale=(
        "An environment outside a virtual network cannot reach private endpoints, and one with a "
        "public load balancer lets clients go around the gateway and its WAF."
    ),
    remediation=(
        """
        The network settings of a Container Apps environment cannot be changed in place: create a new
        environment in a delegated subnet, with internal ingress only, and move the apps to it.

        ```sh
        az containerapp env create -g {resource_group} -n '<new-environment-name>' --location '<region>' --infrastructure-subnet-resource-id '<subnet-id>' --internal-only true
        ```
    """
    ),
    links=["https://learn.microsoft.com/azure/container-apps/networking"],
)
def environment_in_vnet(inv, p):
    """
    ## What it checks
    Every Container Apps environment has `vnetConfiguration.infrastructureSubnetId`; when an
    Application Gateway fronts it (a backend pool address in the environment's default domain,
    or its static IP), it is also `vnetConfiguration.internal: true`, so that the gateway is the
    only way in.

    A backend FQDN in the default domain, or the environment's public static IP, names the
    environment wherever the gateway is. A private static IP (`10.0.0.4`) names it only for a
    gateway whose subnet (`gatewayIPConfigurations[].properties.subnet.id`) lies in the
    environment's virtual network or in one peered with it: a `virtualNetworkPeerings[]` entry
    of either network with `peeringState: Connected` and that `remoteVirtualNetwork.id`.
    Another, unpeered network may use the same addresses, and its gateway fronts something
    else. Peerings given as resources of their own (`virtualNetworks/virtualNetworkPeerings`)
    count too. When neither network is in the inventory with its list of peerings (a plan may
    leave it out), or the virtual networks could not be read, an external environment with such
    a gateway is ERROR: which gateways front it is unknown.

    Checked against the `Microsoft.App/managedEnvironments` GET bodies of API version 2025-07-01
    (a `vnetConfiguration` without `internal` is external) and the
    `Microsoft.Network/applicationGateways` bodies of 2025-05-01 (backend addresses given as
    plain strings, read as an FQDN or an address; the gateway's subnet in
    `gatewayIPConfigurations`).

    ## Example
    Fails:
    ```json
    {"type": "Microsoft.App/managedEnvironments", "properties": {"vnetConfiguration": null}}
    ```
    Passes:
    ```json
    {"type": "Microsoft.App/managedEnvironments", "properties": {"vnetConfiguration": {
      "infrastructureSubnetId": ".../virtualNetworks/vnet/subnets/snet-cae", "internal": true}}}
    ```
    """
    for env in inv.of_type(ENVIRONMENT):
        subnet = env.get("properties.vnetConfiguration.infrastructureSubnetId")
        internal = env.get("properties.vnetConfiguration.internal") is True
        evidence = env.evidence(
            "properties.vnetConfiguration.infrastructureSubnetId",
            "properties.vnetConfiguration.internal",
        )
        # Which gateways front it decides only an external environment in a virtual network:
        # only then are peerings read.
        gateways, unsure = _fronting_gateways(
            inv, env, across_peerings=bool(subnet) and not internal
        )
        evidence["frontedBy"] = [g.name for g in gateways]
        if not subnet:
            yield env.fail(
                "not in a virtual network (no infrastructure subnet): apps have public ingress "
                "and cannot use private endpoints",
                evidence=evidence,
            )
        elif gateways and not internal:
            yield env.fail(
                f"in a virtual network but external while {', '.join(g.name for g in gateways)} "
                "fronts it: clients can bypass the gateway",
                evidence=evidence,
            )
        elif internal:
            yield env.ok("in a virtual network, internal only", evidence=evidence)
        elif unsure:
            evidence["staticIp"] = env.get("properties.staticIp")
            evidence["mayBeFrontedBy"] = [g.name for g in unsure]
            yield env.error(
                f"in a virtual network but external, and {', '.join(g.name for g in unsure)} "
                f"sends traffic to its private address {env.get('properties.staticIp')}: "
                "cannot tell whether that gateway's virtual network is the environment's or "
                "peered with it (neither network, with its peerings, is in the inventory)",
                evidence=evidence,
            )
        else:
            yield env.ok(
                "in a virtual network (external: no Application Gateway fronts it)",
                evidence=evidence,
            )


def _subnet_prefixes(inv, subnet_id: str) -> list[str]:
    if not subnet_id:
        return []
    subnet = inv.get(subnet_id)
    if subnet is not None:
        props = subnet.props
    else:
        vnet = inv.get(ArmId.parse(subnet_id).parent)
        name = ArmId.parse(subnet_id).name.lower()
        props = {}
        for s in (vnet.get("properties.subnets", []) or []) if vnet is not None else []:
            if str(s.get("name", "")).lower() == name:
                props = s.get("properties") or {}
    prefixes = list(props.get("addressPrefixes") or [])
    if props.get("addressPrefix"):
        prefixes.append(props["addressPrefix"])
    return [str(x) for x in prefixes]


def gateway_addresses(inv) -> list[str]:
    """Every address an Application Gateway or API Management in scope sends traffic from."""
    addresses: list[str] = []
    for gateway in inv.of_type(APP_GATEWAY):
        for frontend in gateway.get("properties.frontendIPConfigurations", []) or []:
            props = frontend.get("properties") or {}
            pip = inv.get((props.get("publicIPAddress") or {}).get("id"))
            if pip is not None and pip.get("properties.ipAddress"):
                addresses.append(str(pip.get("properties.ipAddress")))
            if props.get("privateIPAddress"):
                addresses.append(str(props["privateIPAddress"]))
        for config in gateway.get("properties.gatewayIPConfigurations", []) or []:
            subnet_id = str(((config.get("properties") or {}).get("subnet") or {}).get("id", ""))
            addresses += _subnet_prefixes(inv, subnet_id)
    for apim in inv.of_type(APIM):
        addresses += [str(a) for a in apim.get("properties.publicIPAddresses", []) or []]
        addresses += [str(a) for a in apim.get("properties.privateIPAddresses", []) or []]
        addresses += _subnet_prefixes(
            inv, str(apim.get("properties.virtualNetworkConfiguration.subnetResourceId", "") or "")
        )
    return addresses


@rule(
    id="PC-NET-006",
    title="Container apps are not directly reachable from the internet",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[CONTAINER_APP, ENVIRONMENT, APP_GATEWAY, APIM, PUBLIC_IP, VNET],
    rationale=(
        "External ingress in a public environment gives every app its own internet endpoint: "
        "callers skip the gateway, its WAF, its TLS policy and API Management's rate limits."
    ),
    remediation=(
        """
        Take the app off the internet: make its ingress internal (or move it to an internal
        environment), or allow only the gateway's addresses.

        ```sh
        az containerapp ingress update -g {resource_group} -n {name} --type internal
        # or, keeping external ingress, allow only the gateway's subnet:
        az containerapp ingress access-restriction set -g {resource_group} -n {name} --rule-name gateway-only --ip-address '<gateway-subnet-cidr>' --action Allow
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/container-apps/ingress-overview",
        "https://learn.microsoft.com/azure/container-apps/ip-restrictions",
    ],
)
def no_direct_container_access(inv, p):
    """
    ## What it checks
    A container app with `configuration.ingress.external: true` in an environment that is not
    `internal` is reachable from the internet. It fails unless its `ipSecurityRestrictions` are
    all `Allow` rules whose ranges lie within the addresses of the gateways in scope: the
    Application Gateways' public and private frontend addresses and subnets, and API
    Management's public and private addresses and subnet. Apps without ingress, with internal
    ingress, or in an internal environment pass.

    Checked against the `Microsoft.App/managedEnvironments` and `containerApps` GET bodies of
    API version 2025-07-01 (a `vnetConfiguration` without `internal` is an external environment;
    `ipSecurityRestrictions` with `ipAddressRange` and `action`).

    ## Example
    Fails:
    ```json
    {"type": "Microsoft.App/containerApps", "properties": {"configuration": {
      "ingress": {"external": true, "ipSecurityRestrictions": null}}}}
    ```
    Passes (the gateway's public address is the only one allowed):
    ```json
    {"properties": {"configuration": {"ingress": {"external": true, "ipSecurityRestrictions": [
      {"name": "agw", "ipAddressRange": "203.0.113.40/32", "action": "Allow"}]}}}}
    ```
    """
    allowed = gateway_addresses(inv)
    for app in inv.of_type(CONTAINER_APP):
        ingress = app.get("properties.configuration.ingress")
        env_id = app.get("properties.managedEnvironmentId") or app.get("properties.environmentId")
        env = inv.get(env_id)
        evidence = app.evidence(
            "properties.configuration.ingress.external",
            "properties.configuration.ingress.ipSecurityRestrictions",
        )
        if not ingress:
            yield app.ok("no ingress", evidence=evidence)
            continue
        if ingress.get("external") is not True:
            yield app.ok("internal ingress only", evidence=evidence)
            continue
        if env is None:
            yield app.error(
                f"its environment {env_id or '(none named)'} is not in the inventory: "
                "cannot tell whether it is internal",
                evidence=evidence,
            )
            continue
        evidence["environment.internal"] = env.get("properties.vnetConfiguration.internal")
        if env.get("properties.vnetConfiguration.internal") is True:
            yield app.ok(
                f"external ingress, but environment {env.name} is internal: reachable only "
                "from its virtual network",
                evidence=evidence,
            )
            continue
        restrictions = ingress.get("ipSecurityRestrictions") or []
        if not restrictions:
            yield app.fail(
                f"external ingress in public environment {env.name} with no IP restrictions: "
                "reachable from the internet, bypassing gateway and WAF",
                evidence=evidence,
            )
            continue
        denies = [r for r in restrictions if _lower(r.get("action")) != "allow"]
        outside = [
            str(r.get("ipAddressRange", ""))
            for r in restrictions
            if _lower(r.get("action")) == "allow"
            and not within(str(r.get("ipAddressRange", "")), allowed)
        ]
        if denies:
            yield app.fail(
                "external ingress restricted by Deny rules, which admit every other address",
                evidence=evidence,
            )
        elif outside:
            yield app.fail(
                f"external ingress admits {', '.join(outside)}, which is not a gateway address"
                + ("" if allowed else " (no Application Gateway or API Management in scope)"),
                evidence=evidence,
            )
        else:
            yield app.ok("external ingress admits only the gateways' addresses", evidence=evidence)
