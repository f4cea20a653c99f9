"""The network perimeter rules on bodies shaped as the REST API specifications' examples show them.

Private endpoints and DNS zone groups as `Microsoft.Network` 2024-05-01 returns them, service
bodies with their own `privateEndpointConnections` (Redis 2024-11-01, Key Vault 2026-05-15),
Service Bus and Event Hubs rule sets as 2021-11-01 spells them, and Container Apps 2025-07-01.
"""

from __future__ import annotations

from builders import arm, by_name, child_id, rid, run, snapshot, statuses

from prodcheck.api import audit_snapshot

PE = "Microsoft.Network/privateEndpoints"
SUBNET = rid("Microsoft.Network/virtualNetworks", "vnet1") + "/subnets/snet-pe"


def spec_endpoint(name: str, target_id: str, group: str) -> dict:
    """An auto-approved endpoint: the connection has its own id, the manual list is empty."""
    pe_id = rid(PE, name)
    return arm(
        PE,
        name,
        properties={
            "provisioningState": "Succeeded",
            "privateLinkServiceConnections": [
                {
                    "id": f"{pe_id}/privateLinkServiceConnections/{name}-conn",
                    "properties": {
                        "privateLinkServiceId": target_id,
                        "groupIds": [group],
                        "requestMessage": "",
                        "privateLinkServiceConnectionState": {
                            "status": "Approved",
                            "description": "Auto-approved",
                            "actionsRequired": "None",
                        },
                    },
                }
            ],
            "manualPrivateLinkServiceConnections": [],
            "subnet": {"id": SUBNET},
            "customDnsConfigs": [],
        },
    )


def untyped_zone_group(endpoint_name: str, *zones: str) -> dict:
    """A zone group as the Network API returns it: no `type`, record sets beside each zone."""
    configs = [
        {
            "properties": {
                "privateDnsZoneId": rid("Microsoft.Network/privateDnsZones", zone),
                "recordSets": [
                    {"recordType": "A", "recordSetName": "x", "ipAddresses": ["10.0.0.4"]}
                ],
            }
        }
        for zone in zones
    ]
    group = arm(
        "unused",
        "default",
        id=child_id(rid(PE, endpoint_name), "privateDnsZoneGroups", "default"),
        properties={"provisioningState": "Succeeded", "privateDnsZoneConfigs": configs},
    )
    del group["type"]
    del group["location"]
    return group


# ---- PC-NET-002 ---------------------------------------------------------------------------------


def test_redis_body_with_its_own_approved_connection_passes_whatever_the_type_case():
    cache_id = rid("Microsoft.Cache/Redis", "cache1")
    cache = arm(
        "Microsoft.Cache/Redis",
        "cache1",
        id=cache_id,
        properties={
            "publicNetworkAccess": "Enabled",
            "privateEndpointConnections": [
                {
                    "id": f"{cache_id}/privateEndpointConnections/cachePec",
                    "properties": {
                        "privateEndpoint": {"id": rid(PE, "cachePe")},
                        "privateLinkServiceConnectionState": {
                            "status": "Approved",
                            "description": "Please approve my connection",
                            "actionsRequired": "None",
                        },
                    },
                }
            ],
        },
    )
    findings = run("PC-NET-002", [cache])
    assert statuses(findings) == {"cache1": "PASS"}
    assert "cachePe" in findings[0].message


def test_a_connection_naming_no_endpoint_is_no_private_endpoint():
    # The 2026-05-15 vault example lists an approved connection whose endpoint id is empty.
    vault = arm(
        "Microsoft.KeyVault/vaults",
        "sample-vault",
        properties={
            "publicNetworkAccess": "Enabled",
            "privateEndpointConnections": [
                {
                    "etag": "",
                    "id": "",
                    "properties": {
                        "privateEndpoint": {"id": ""},
                        "privateLinkServiceConnectionState": {
                            "actionsRequired": "None",
                            "status": "Approved",
                        },
                        "provisioningState": "Succeeded",
                    },
                }
            ],
        },
    )
    assert statuses(run("PC-NET-002", [vault])) == {"sample-vault": "FAIL"}


def test_endpoint_as_2024_05_01_returns_it_approves_its_target():
    vault_id = rid("Microsoft.KeyVault/vaults", "kv1")
    vault = arm("Microsoft.KeyVault/vaults", "kv1", properties={"publicNetworkAccess": "Disabled"})
    findings = run("PC-NET-002", [vault, spec_endpoint("pe-kv", vault_id.lower(), "vault")])
    assert statuses(findings) == {"kv1": "PASS"}


# ---- PC-NET-003 ---------------------------------------------------------------------------------


def test_zone_group_without_a_type_is_the_endpoints_zone_group():
    vault_id = rid("Microsoft.KeyVault/vaults", "kv1")
    resources = [
        arm("Microsoft.KeyVault/vaults", "kv1", properties={}),
        spec_endpoint("pe-kv", vault_id, "vault"),
        untyped_zone_group("pe-kv", "privatelink.vaultcore.azure.net"),
    ]
    assert statuses(run("PC-NET-003", resources)) == {"pe-kv": "PASS"}
    resources[-1] = untyped_zone_group("pe-kv", "privatelink.blob.core.windows.net")
    findings = run("PC-NET-003", resources)
    assert statuses(findings) == {"pe-kv": "FAIL"}
    assert "privatelink.vaultcore.azure.net" in findings[0].message


# ---- PC-NET-001 / PC-NET-004: Service Bus and Event Hubs rule sets -----------------------------


def namespace_with_rule_set(provider: str, name: str, rule_set: dict) -> list[dict]:
    """A namespace and its rule set as the 2021-11-01 examples write them: type
    `<Provider>/Namespaces/NetworkRuleSet` and an id ending `/networkruleset/default`."""
    ns_id = rid(f"{provider}/namespaces", name)
    namespace = arm(
        f"{provider}/Namespaces",
        name,
        id=ns_id,
        sku={"name": "Premium", "tier": "Premium", "capacity": 1},
        properties={"disableLocalAuth": False},
    )
    child = {
        "id": f"{ns_id}/networkruleset/default",
        "name": "default",
        "type": f"{provider}/Namespaces/NetworkRuleSet",
        "properties": rule_set,
    }
    return [namespace, child]


def test_a_rule_set_spelt_in_the_singular_is_read_not_skipped():
    open_to_all = {
        "defaultAction": "Deny",
        "virtualNetworkRules": [],
        "ipRules": [{"ipMask": "0.0.0.0/0", "action": "Allow"}],
    }
    findings = run(
        "PC-NET-004", namespace_with_rule_set("Microsoft.ServiceBus", "sb1", open_to_all)
    )
    assert statuses(findings) == {"sb1": "FAIL"}
    assert "0.0.0.0/0" in findings[0].message


def test_event_hubs_rule_set_with_single_addresses_is_not_open():
    rule_set = {
        "defaultAction": "Allow",
        "publicNetworkAccess": "Enabled",
        "ipRules": [{"ipMask": f"1.1.1.{i}", "action": "Allow"} for i in range(1, 6)],
    }
    resources = namespace_with_rule_set("Microsoft.EventHub", "eh1", rule_set)
    findings = run("PC-NET-004", resources)
    assert statuses(findings) == {"eh1": "PASS"}
    assert "5 allow rule" in findings[0].message
    # And PC-NET-001 sees the same rule set: public access on, default action Allow.
    assert statuses(run("PC-NET-001", resources)) == {"eh1": "FAIL"}


def test_a_singular_rule_set_closing_public_access_counts_for_pc_net_001():
    rule_set = {"defaultAction": "Deny", "publicNetworkAccess": "Disabled", "ipRules": []}
    resources = namespace_with_rule_set("Microsoft.ServiceBus", "sb1", rule_set)
    assert statuses(run("PC-NET-001", resources)) == {"sb1": "PASS"}


# ---- PC-NET-006 ---------------------------------------------------------------------------------


def test_environment_whose_vnet_configuration_leaves_internal_out_is_external():
    env = arm(
        "Microsoft.App/managedEnvironments",
        "jlaw-demo1",
        properties={
            "defaultDomain": "jlaw-demo1.k4apps.io",
            "staticIp": "20.42.33.145",
            "deploymentErrors": None,
            "vnetConfiguration": {"infrastructureSubnetId": SUBNET},
        },
    )
    ingress = {
        "external": True,
        "targetPort": 3000,
        "transport": "auto",
        "ipSecurityRestrictions": [
            {"name": "A", "ipAddressRange": "192.168.1.1/32", "action": "Allow"},
            {"name": "B", "ipAddressRange": "192.168.1.1/8", "action": "Allow"},
        ],
    }
    app = arm(
        "Microsoft.App/containerApps",
        "testcontainerapp0",
        properties={"managedEnvironmentId": env["id"], "configuration": {"ingress": ingress}},
    )
    findings = run("PC-NET-006", [env, app])
    assert statuses(findings) == {"testcontainerapp0": "FAIL"}
    assert "192.168.1.1/8" in by_name(findings)["testcontainerapp0"].message


# ---- PC-NET-004: firewall rule children ----------------------------------------------------------


def test_mongo_firewall_rules_typed_with_a_leading_slash_are_read_from_a_snapshot():
    # The 2025-04-01-preview list example writes `/Microsoft.DocumentDB/mongoClusters/...`.
    cluster = arm(
        "Microsoft.DocumentDB/mongoClusters",
        "myMongoCluster",
        properties={"publicNetworkAccess": "Enabled", "authConfig": {"allowedModes": []}},
    )
    rules = [
        {
            "id": child_id(cluster["id"], "firewallRules", name),
            "name": name,
            "type": "/Microsoft.DocumentDB/mongoClusters/firewallRules",
            "systemData": {"createdBy": "user1", "createdByType": "User"},
            "properties": {"provisioningState": "Succeeded", **addresses},
        }
        for name, addresses in (
            ("rule1", {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}),
            ("rule2", {"startIpAddress": "1.0.0.0", "endIpAddress": "255.0.0.0"}),
        )
    ]
    report = audit_snapshot(snapshot([cluster, *rules]), rules=["PC-NET-004"])
    (finding,) = report.findings
    assert finding.status.value == "FAIL"
    assert "rule1" in finding.message


def test_redis_firewall_rule_named_cache_slash_rule_is_a_named_range():
    cache_id = rid("Microsoft.Cache/Redis", "cache1")
    cache = arm("Microsoft.Cache/Redis", "cache1", id=cache_id, properties={})
    rule = {
        "id": f"{cache_id}/firewallRules/rule1",
        "name": "cache1/rule1",
        "type": "Microsoft.Cache/Redis/firewallRules",
        "properties": {"startIP": "192.168.1.1", "endIP": "192.168.1.4"},
    }
    findings = run("PC-NET-004", [cache, rule])
    assert statuses(findings) == {"cache1": "PASS"}


# ---- PC-NET-005 -----------------------------------------------------------------------------------


def gateway_2025(pool_addresses: list, subnet: str) -> dict:
    """An Application Gateway as the 2025-05-01 GET example writes it: backend addresses given
    as plain strings, the gateway's subnet in `gatewayIPConfigurations`."""
    gw_id = rid("Microsoft.Network/applicationGateways", "appgw")
    return arm(
        "Microsoft.Network/applicationGateways",
        "appgw",
        properties={
            "sku": {"name": "WAF_v2", "tier": "WAF_v2", "capacity": 2},
            "operationalState": "Running",
            "gatewayIPConfigurations": [
                {"name": "appgwipc", "properties": {"subnet": {"id": subnet}}}
            ],
            "backendAddressPools": [
                {
                    "name": "empty",
                    "id": f"{gw_id}/backendAddressPools/empty",
                    "properties": {"backendAddresses": []},
                },
                {
                    "name": "apps",
                    "id": f"{gw_id}/backendAddressPools/apps",
                    "properties": {"backendAddresses": pool_addresses},
                },
            ],
            "probes": [],
        },
    )


def environment_2025(static_ip: str, subnet: str) -> dict:
    return arm(
        "Microsoft.App/managedEnvironments",
        "jlaw-demo1",
        properties={
            "defaultDomain": "jlaw-demo1.k4apps.io",
            "staticIp": static_ip,
            "zoneRedundant": True,
            "vnetConfiguration": {"infrastructureSubnetId": subnet},
        },
    )


def test_external_environment_behind_a_gateway_naming_its_address_as_a_plain_string_fails():
    vnet = rid("Microsoft.Network/virtualNetworks", "virtualNetwork1")
    env = environment_2025("20.42.33.145", f"{vnet}/subnets/cae")
    gateway = gateway_2025(["20.42.33.145", "10.0.0.2"], f"{vnet}/subnets/appgwsubnet")
    findings = run("PC-NET-005", [env, gateway])
    assert statuses(findings) == {"jlaw-demo1": "FAIL"}
    assert "appgw" in findings[0].message


def test_private_address_as_a_plain_string_in_the_same_network_is_the_environment():
    vnet = rid("Microsoft.Network/virtualNetworks", "virtualNetwork1")
    env = environment_2025("10.0.0.1", f"{vnet}/subnets/cae")
    gateway = gateway_2025(["10.0.0.1", "10.0.0.2"], f"{vnet}/subnets/appgwsubnet")
    findings = run("PC-NET-005", [env, gateway])
    assert statuses(findings) == {"jlaw-demo1": "FAIL"}


# ---- PC-NET-001 across API versions ------------------------------------------------------------


def test_public_access_switch_absent_in_older_bodies_counts_as_enabled():
    resources = [
        # Key Vault 2019-09-01 and Cognitive Services 2025-09-01: no switch, no ACLs.
        arm(
            "Microsoft.KeyVault/vaults",
            "kv-2019",
            properties={"vaultUri": "https://kv-2019.vault.azure.net", "accessPolicies": []},
        ),
        arm(
            "Microsoft.CognitiveServices/accounts",
            "cog",
            kind="Emotion",
            sku={"name": "F0"},
            properties={"endpoint": "https://westus.api.cognitive.microsoft.com/emotion/v1.0"},
        ),
        # API Management 2018-01-01: neither publicNetworkAccess nor a virtual network.
        arm(
            "Microsoft.ApiManagement/service",
            "apim-2018",
            sku={"name": "Premium", "capacity": 1},
            properties={"virtualNetworkType": "None"},
        ),
    ]
    findings = run("PC-NET-001", resources)
    assert statuses(findings) == {"kv-2019": "FAIL", "cog": "FAIL", "apim-2018": "FAIL"}
    assert "not set (enabled)" in by_name(findings)["kv-2019"].message


def test_public_access_switch_of_newer_bodies_is_read():
    vault = arm(
        "Microsoft.KeyVault/vaults",
        "kv-2026",
        properties={
            "publicNetworkAccess": "Enabled",
            "networkAcls": {
                "bypass": "AzureServices",
                "defaultAction": "Deny",
                "ipRules": [],
                "virtualNetworkRules": [],
            },
        },
    )
    redis = arm(
        "Microsoft.Cache/Redis",
        "cache1",
        properties={
            "sku": {"name": "Premium", "family": "P", "capacity": 3},
            "publicNetworkAccess": "Enabled",
        },
    )
    registry = arm(
        "Microsoft.ContainerRegistry/registries",
        "myRegistry",
        sku={"name": "Standard", "tier": "Standard"},
        properties={
            "publicNetworkAccess": "Enabled",
            "networkRuleSet": {"defaultAction": "Allow", "ipRules": []},
        },
    )
    findings = run("PC-NET-001", [vault, redis, registry])
    assert statuses(findings) == {
        "kv-2026": "PASS",
        "cache1": "FAIL",
        "myRegistry": "NOT_APPLICABLE",
    }
