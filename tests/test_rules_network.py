"""Network perimeter rules PC-NET-001..006 on small ARM fixtures."""

from __future__ import annotations

from builders import RG, SUB, arm, by_name, child_id, registry, rid, run, statuses

KV = "Microsoft.KeyVault/vaults"
AI = "Microsoft.CognitiveServices/accounts"
STORAGE = "Microsoft.Storage/storageAccounts"
ACR = "Microsoft.ContainerRegistry/registries"
AMR = "Microsoft.Cache/redisEnterprise"
REDIS = "Microsoft.Cache/redis"
APPCS = "Microsoft.AppConfiguration/configurationStores"
ACS = "Microsoft.Communication/communicationServices"
APIM = "Microsoft.ApiManagement/service"
SB = "Microsoft.ServiceBus/namespaces"
MONGO = "Microsoft.DocumentDB/mongoClusters"
COSMOS = "Microsoft.DocumentDB/databaseAccounts"
PE = "Microsoft.Network/privateEndpoints"
ZONE_GROUP = "Microsoft.Network/privateEndpoints/privateDnsZoneGroups"
NSP = "Microsoft.Network/networkSecurityPerimeters"
ENV = "Microsoft.App/managedEnvironments"
APP = "Microsoft.App/containerApps"
AGW = "Microsoft.Network/applicationGateways"
PIP = "Microsoft.Network/publicIPAddresses"


def vault(name="kv1", **props):
    return arm(KV, name, properties=props)


def endpoint(name, target_id, state="Approved", groups=("vault",), manual=False):
    connection = {
        "name": name,
        "properties": {
            "privateLinkServiceId": target_id,
            "groupIds": list(groups),
            "privateLinkServiceConnectionState": {"status": state},
        },
    }
    key = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
    return arm(PE, name, properties={key: [connection]})


def zone_group(endpoint_name, *zones):
    pe_id = rid(PE, endpoint_name)
    configs = [
        {
            "name": z.replace(".", "-"),
            "properties": {"privateDnsZoneId": rid("Microsoft.Network/privateDnsZones", z)},
        }
        for z in zones
    ]
    return arm(
        ZONE_GROUP,
        "default",
        id=child_id(pe_id, "privateDnsZoneGroups", "default"),
        properties={"privateDnsZoneConfigs": configs},
    )


def connection_on_resource(endpoint_id, state):
    return {
        "properties": {
            "privateEndpoint": {"id": endpoint_id},
            "privateLinkServiceConnectionState": {"status": state},
        }
    }


# ---- PC-NET-001: public network access ----------------------------------------------------------


def test_vault_with_public_access_disabled_passes():
    findings = run("PC-NET-001", [vault(publicNetworkAccess="Disabled")])
    assert statuses(findings) == {"kv1": "PASS"}


def test_vault_with_public_access_enabled_fails():
    findings = run("PC-NET-001", [vault(publicNetworkAccess="Enabled")])
    assert statuses(findings) == {"kv1": "FAIL"}
    assert by_name(findings)["kv1"].evidence["properties.publicNetworkAccess"] == "Enabled"


def test_absent_public_network_access_counts_as_enabled():
    findings = run("PC-NET-001", [arm(STORAGE, "st1", properties={})])
    assert statuses(findings) == {"st1": "FAIL"}
    assert "not set" in by_name(findings)["st1"].message


def test_network_acls_denying_by_default_without_ip_rules_count_as_closed():
    account = arm(
        AI,
        "ai1",
        kind="AIServices",
        properties={
            "publicNetworkAccess": "Enabled",
            "networkAcls": {"defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []},
        },
    )
    assert statuses(run("PC-NET-001", [account])) == {"ai1": "PASS"}


def test_network_acls_with_a_public_ip_rule_do_not_count_as_closed():
    account = arm(
        AI,
        "ai1",
        kind="AIServices",
        properties={
            "publicNetworkAccess": "Enabled",
            "networkAcls": {"defaultAction": "Deny", "ipRules": [{"value": "198.51.100.7"}]},
        },
    )
    findings = run("PC-NET-001", [account])
    assert statuses(findings) == {"ai1": "FAIL"}
    assert "198.51.100.7" in by_name(findings)["ai1"].message


def test_registry_basic_has_no_switch_and_is_not_applicable_with_the_reason():
    registry = arm(ACR, "cr1", sku={"name": "Basic"}, properties={"publicNetworkAccess": "Enabled"})
    findings = run("PC-NET-001", [registry])
    assert statuses(findings) == {"cr1": "NOT_APPLICABLE"}
    assert "Premium" in by_name(findings)["cr1"].message


def test_managed_redis_without_the_switch_is_not_applicable_not_failed():
    cache = arm(AMR, "amr1", sku={"name": "Balanced_B1"}, properties={"minimumTlsVersion": "1.2"})
    findings = run("PC-NET-001", [cache])
    assert statuses(findings) == {"amr1": "NOT_APPLICABLE"}
    assert "publicNetworkAccess" in by_name(findings)["amr1"].message


def test_managed_redis_with_the_switch_enabled_fails():
    cache = arm(
        AMR, "amr1", sku={"name": "Balanced_B1"}, properties={"publicNetworkAccess": "Enabled"}
    )
    assert statuses(run("PC-NET-001", [cache])) == {"amr1": "FAIL"}


def test_app_configuration_left_automatic_is_closed_by_an_approved_private_endpoint():
    store = arm(APPCS, "appcs1", sku={"name": "standard"}, properties={})
    pe = endpoint("pe-appcs", store["id"], groups=("configurationStores",))
    assert statuses(run("PC-NET-001", [store, pe])) == {"appcs1": "PASS"}
    assert statuses(run("PC-NET-001", [store])) == {"appcs1": "FAIL"}


def test_apim_injected_in_internal_mode_has_no_public_endpoint():
    service = arm(
        APIM,
        "apim1",
        sku={"name": "Premium"},
        properties={"virtualNetworkType": "Internal", "publicNetworkAccess": "Enabled"},
    )
    assert statuses(run("PC-NET-001", [service])) == {"apim1": "PASS"}


def test_service_bus_closed_by_its_network_rule_set():
    namespace = arm(SB, "sb1", sku={"name": "Premium"}, properties={})
    rules = arm(
        "Microsoft.ServiceBus/namespaces/networkRuleSets",
        "default",
        id=child_id(namespace["id"], "networkRuleSets", "default"),
        properties={"defaultAction": "Deny", "ipRules": []},
    )
    assert statuses(run("PC-NET-001", [namespace, rules])) == {"sb1": "PASS"}
    assert statuses(run("PC-NET-001", [namespace])) == {"sb1": "FAIL"}


def perimeter(resource_id, mode="Enforced", prefixes=()):
    nsp_id = rid(NSP, "nsp1")
    profile_id = child_id(nsp_id, "profiles", "p1")
    association = arm(
        f"{NSP}/resourceAssociations",
        "assoc1",
        id=child_id(nsp_id, "resourceAssociations", "assoc1"),
        properties={
            "privateLinkResource": {"id": resource_id},
            "profile": {"id": profile_id},
            "accessMode": mode,
        },
    )
    access_rule = arm(
        f"{NSP}/profiles/accessRules",
        "inbound",
        id=child_id(profile_id, "accessRules", "inbound"),
        properties={
            "direction": "Inbound",
            "addressPrefixes": list(prefixes),
            "subscriptions": [{"id": f"/subscriptions/{SUB}"}],
        },
    )
    return [association, access_rule]


def communication(**props):
    return arm(
        ACS, "acs1", location="global", properties={"dataLocation": "United States", **props}
    )


def test_communication_services_in_an_enforced_perimeter_pass():
    acs = communication(publicNetworkAccess="SecuredByPerimeter")
    findings = run("PC-NET-001", [acs, *perimeter(acs["id"])])
    assert statuses(findings) == {"acs1": "PASS"}


def test_perimeter_in_learning_mode_does_not_close_public_access():
    acs = communication(publicNetworkAccess="SecuredByPerimeter")
    findings = run("PC-NET-001", [acs, *perimeter(acs["id"], mode="Learning")])
    assert statuses(findings) == {"acs1": "FAIL"}
    assert "Learning" in by_name(findings)["acs1"].message
    assert "Enforced" in by_name(findings)["acs1"].remediation


def test_perimeter_admitting_address_ranges_does_not_close_public_access():
    acs = communication(publicNetworkAccess="SecuredByPerimeter")
    findings = run("PC-NET-001", [acs, *perimeter(acs["id"], prefixes=["0.0.0.0/0"])])
    assert statuses(findings) == {"acs1": "FAIL"}


def test_perimeter_not_in_the_inventory_cannot_be_verified():
    acs = communication(publicNetworkAccess="SecuredByPerimeter")
    assert statuses(run("PC-NET-001", [acs])) == {"acs1": "ERROR"}


def test_communication_services_record_without_the_switch_is_not_applicable():
    assert statuses(run("PC-NET-001", [communication()])) == {"acs1": "NOT_APPLICABLE"}


def test_no_service_in_scope_is_not_applicable():
    assert statuses(run("PC-NET-001", [arm(ENV, "env1")])) == {"scope": "NOT_APPLICABLE"}


# ---- PC-NET-002: approved private endpoint -------------------------------------------------------


def test_connection_approved_on_the_resource_side_passes():
    pe_id = rid(PE, "pe-kv")
    kv = vault(privateEndpointConnections=[connection_on_resource(pe_id, "Approved")])
    findings = run("PC-NET-002", [kv])
    assert statuses(findings) == {"kv1": "PASS"}
    assert "pe-kv" in by_name(findings)["kv1"].message


def test_endpoint_pointing_at_the_resource_with_differently_cased_ids_passes():
    kv = vault()
    target = (
        kv["id"]
        .replace(f"resourceGroups/{RG}", f"resourceGroups/{RG.upper()}")
        .replace("Microsoft.KeyVault/vaults", "microsoft.keyvault/Vaults")
    )
    findings = run("PC-NET-002", [kv, endpoint("pe-kv", target)])
    assert statuses(findings) == {"kv1": "PASS"}


def test_pending_private_endpoint_does_not_count():
    kv = vault()
    findings = run("PC-NET-002", [kv, endpoint("pe-kv", kv["id"], state="Pending", manual=True)])
    assert statuses(findings) == {"kv1": "FAIL"}
    assert "Pending" in by_name(findings)["kv1"].message


def test_rejected_and_disconnected_connections_do_not_count():
    pe_a, pe_b = rid(PE, "pe-a"), rid(PE, "pe-b")
    kv = vault(
        privateEndpointConnections=[
            connection_on_resource(pe_a, "Rejected"),
            connection_on_resource(pe_b, "Disconnected"),
        ]
    )
    assert statuses(run("PC-NET-002", [kv])) == {"kv1": "FAIL"}


def test_service_without_any_private_endpoint_fails():
    findings = run("PC-NET-002", [vault()])
    assert statuses(findings) == {"kv1": "FAIL"}
    assert by_name(findings)["kv1"].message == "no private endpoint"


def test_sku_without_private_link_is_not_applicable():
    registry = arm(ACR, "cr1", sku={"name": "Standard"}, properties={})
    acs = communication(publicNetworkAccess="Enabled")
    assert statuses(run("PC-NET-002", [registry, acs])) == {
        "cr1": "NOT_APPLICABLE",
        "acs1": "NOT_APPLICABLE",
    }


def test_redis_injected_into_a_subnet_is_private_without_an_endpoint():
    cache = arm(
        REDIS,
        "redis1",
        properties={"subnetId": rid("Microsoft.Network/virtualNetworks", "v") + "/subnets/s"},
    )
    assert statuses(run("PC-NET-002", [cache])) == {"redis1": "PASS"}


# ---- PC-NET-003: private DNS ------------------------------------------------------------------


def test_endpoint_without_a_dns_zone_group_fails():
    kv = vault()
    findings = run("PC-NET-003", [kv, endpoint("pe-kv", kv["id"])])
    assert statuses(findings) == {"pe-kv": "FAIL"}
    assert "privatelink.vaultcore.azure.net" in by_name(findings)["pe-kv"].message


def test_endpoint_with_the_matching_zone_passes():
    kv = vault()
    resources = [
        kv,
        endpoint("pe-kv", kv["id"]),
        zone_group("pe-kv", "privatelink.vaultcore.azure.net"),
    ]
    assert statuses(run("PC-NET-003", resources)) == {"pe-kv": "PASS"}


def test_ai_services_endpoint_needs_all_three_zones():
    account = arm(AI, "ai1", kind="AIServices", properties={})
    resources = [
        account,
        endpoint("pe-ai", account["id"], groups=("account",)),
        zone_group("pe-ai", "privatelink.cognitiveservices.azure.com"),
    ]
    findings = run("PC-NET-003", resources)
    assert statuses(findings) == {"pe-ai": "FAIL"}
    message = by_name(findings)["pe-ai"].message
    assert "privatelink.openai.azure.com" in message
    assert "privatelink.services.ai.azure.com" in message


def test_managed_redis_registered_in_the_classic_redis_zone_fails():
    cache = arm(AMR, "amr1", sku={"name": "Balanced_B1"}, properties={})
    resources = [
        cache,
        endpoint("pe-amr", cache["id"], groups=("redisEnterprise",)),
        zone_group("pe-amr", "privatelink.redis.cache.windows.net"),
    ]
    findings = run("PC-NET-003", resources)
    assert statuses(findings) == {"pe-amr": "FAIL"}
    assert "privatelink.redis.azure.net" in by_name(findings)["pe-amr"].message


def test_storage_endpoint_needs_the_zone_of_its_group():
    account = arm(STORAGE, "st1", properties={})
    resources = [
        account,
        endpoint("pe-st", account["id"], groups=("file",)),
        zone_group("pe-st", "privatelink.blob.core.windows.net"),
    ]
    findings = run("PC-NET-003", resources)
    assert statuses(findings) == {"pe-st": "FAIL"}
    assert "privatelink.file.core.windows.net" in by_name(findings)["pe-st"].message


def test_endpoints_to_other_services_are_not_judged():
    sql = rid("Microsoft.Sql/servers", "sql1")
    findings = run("PC-NET-003", [endpoint("pe-sql", sql, groups=("sqlServer",))])
    assert statuses(findings) == {"scope": "NOT_APPLICABLE"}


# ---- PC-NET-004: open firewall ------------------------------------------------------------------


def mongo_with_rule(start, end, name="allowAll"):
    cluster = arm(MONGO, "mongo1", properties={"publicNetworkAccess": "Enabled"})
    rule = arm(
        f"{MONGO}/firewallRules",
        name,
        id=child_id(cluster["id"], "firewallRules", name),
        properties={"startIpAddress": start, "endIpAddress": end},
    )
    return [cluster, rule]


def test_firewall_rule_for_the_whole_ipv4_range_is_open_to_the_internet():
    findings = run("PC-NET-004", mongo_with_rule("0.0.0.0", "255.255.255.255"))
    assert statuses(findings) == {"mongo1": "FAIL"}
    assert "allowAll" in by_name(findings)["mongo1"].message


def test_cidr_zero_in_network_acls_is_open_to_the_internet():
    kv = vault(networkAcls={"defaultAction": "Deny", "ipRules": [{"value": "0.0.0.0/0"}]})
    assert statuses(run("PC-NET-004", [kv])) == {"kv1": "FAIL"}


def test_quarters_of_the_address_space_together_are_open():
    quarters = ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"]
    account = arm(
        COSMOS, "cosmos1", properties={"ipRules": [{"ipAddressOrRange": q} for q in quarters]}
    )
    findings = run("PC-NET-004", [account])
    assert statuses(findings) == {"cosmos1": "FAIL"}
    assert "together the rules cover 100%" in by_name(findings)["cosmos1"].message


def test_a_quarter_of_the_address_space_alone_is_below_the_world_threshold():
    account = arm(COSMOS, "cosmos1", properties={"ipRules": [{"ipAddressOrRange": "64.0.0.0/2"}]})
    assert statuses(run("PC-NET-004", [account])) == {"cosmos1": "PASS"}
    assert statuses(run("PC-NET-004", [account], params={"world_fraction": 0.25})) == {
        "cosmos1": "FAIL"
    }


def test_azure_services_rule_is_a_single_address_not_the_internet():
    assert statuses(run("PC-NET-004", mongo_with_rule("0.0.0.0", "0.0.0.0", "azure"))) == {
        "mongo1": "PASS"
    }


def test_rule_for_a_named_client_range_passes():
    assert statuses(
        run("PC-NET-004", mongo_with_rule("203.0.113.0", "203.0.113.15", "office"))
    ) == {"mongo1": "PASS"}


def test_redis_firewall_rule_opening_the_world_fails():
    cache = arm(REDIS, "redis1", properties={"publicNetworkAccess": "Enabled"})
    rule = arm(
        f"{REDIS}/firewallRules",
        "all",
        id=child_id(cache["id"], "firewallRules", "all"),
        properties={"startIP": "0.0.0.0", "endIP": "255.255.255.255"},
    )
    assert statuses(run("PC-NET-004", [cache, rule])) == {"redis1": "FAIL"}


def test_service_without_an_ip_firewall_is_not_applicable():
    findings = run("PC-NET-004", [communication(publicNetworkAccess="Enabled")])
    assert statuses(findings) == {"acs1": "NOT_APPLICABLE"}


# ---- PC-NET-005: Container Apps environment in a VNet ---------------------------------------------

SUBNET = rid("Microsoft.Network/virtualNetworks", "vnet1") + "/subnets/snet-cae"


def environment(vnet=None, domain="blue-1.eastus.azurecontainerapps.io"):
    props = {"defaultDomain": domain, "staticIp": "20.1.2.3"}
    if vnet is not None:
        props["vnetConfiguration"] = vnet
    return arm(ENV, "env1", properties=props)


def gateway_to(fqdn, name="agw1"):
    pool = {"name": "pool", "properties": {"backendAddresses": [{"fqdn": fqdn}]}}
    return arm(AGW, name, properties={"sku": {"tier": "WAF_v2"}, "backendAddressPools": [pool]})


def test_environment_outside_a_vnet_fails():
    assert statuses(run("PC-NET-005", [environment()])) == {"env1": "FAIL"}


def test_external_environment_in_a_vnet_behind_a_gateway_fails():
    env = environment({"infrastructureSubnetId": SUBNET, "internal": False})
    gateway = gateway_to("app.blue-1.eastus.azurecontainerapps.io")
    findings = run("PC-NET-005", [env, gateway])
    assert statuses(findings) == {"env1": "FAIL"}
    assert "agw1" in by_name(findings)["env1"].message


def test_internal_environment_behind_a_gateway_passes():
    env = environment({"infrastructureSubnetId": SUBNET, "internal": True})
    gateway = gateway_to("app.blue-1.eastus.azurecontainerapps.io")
    assert statuses(run("PC-NET-005", [env, gateway])) == {"env1": "PASS"}


def test_external_environment_in_a_vnet_without_a_gateway_in_front_passes():
    env = environment({"infrastructureSubnetId": SUBNET, "internal": False})
    gateway = gateway_to("something.else.example.com")
    assert statuses(run("PC-NET-005", [env, gateway])) == {"env1": "PASS"}


def test_no_environment_is_not_applicable():
    assert statuses(run("PC-NET-005", [])) == {"scope": "NOT_APPLICABLE"}


# PC-NET-005 matches a gateway to an environment by a private static IP only across one
# virtual network or a Connected peering: another network may use the very same addresses.

VNET = "Microsoft.Network/virtualNetworks"


def vnet(name, *peers, state="Connected"):
    peerings = [
        {
            "name": f"to-{peer}",
            "id": child_id(rid(VNET, name), "virtualNetworkPeerings", f"to-{peer}"),
            "properties": {
                "peeringState": state,
                "remoteVirtualNetwork": {"id": rid(VNET, peer)},
                "allowVirtualNetworkAccess": True,
            },
        }
        for peer in peers
    ]
    subnets = [{"name": "snet", "id": f"{rid(VNET, name)}/subnets/snet", "properties": {}}]
    return arm(VNET, name, properties={"subnets": subnets, "virtualNetworkPeerings": peerings})


def private_environment(network="vnet1", internal=False, static_ip="10.0.0.4"):
    props = {
        "defaultDomain": "blue-1.eastus.azurecontainerapps.io",
        "staticIp": static_ip,
        "vnetConfiguration": {
            "infrastructureSubnetId": f"{rid(VNET, network)}/subnets/snet-cae",
            "internal": internal,
        },
    }
    return arm(ENV, "env1", properties=props)


def gateway_at(ip, network, name="agw1"):
    pool = {"name": "pool", "properties": {"backendAddresses": [{"ipAddress": ip}]}}
    config = {"name": "gw", "properties": {"subnet": {"id": f"{rid(VNET, network)}/subnets/agw"}}}
    return arm(
        AGW,
        name,
        properties={
            "sku": {"tier": "WAF_v2"},
            "backendAddressPools": [pool],
            "gatewayIPConfigurations": [config],
        },
    )


def test_a_gateway_in_an_unpeered_network_with_the_same_private_address_does_not_front_it():
    findings = run(
        "PC-NET-005",
        [private_environment(), gateway_at("10.0.0.4", "vnet2"), vnet("vnet1"), vnet("vnet2")],
    )
    assert statuses(findings) == {"env1": "PASS"}
    assert by_name(findings)["env1"].evidence["frontedBy"] == []


def test_a_gateway_in_the_environments_network_fronts_it_by_private_address():
    findings = run("PC-NET-005", [private_environment(), gateway_at("10.0.0.4", "vnet1")])
    assert statuses(findings) == {"env1": "FAIL"}
    assert "agw1" in by_name(findings)["env1"].message


def test_a_gateway_in_a_peered_network_fronts_it_by_private_address():
    resources = [private_environment(), gateway_at("10.0.0.4", "hub"), vnet("vnet1", "hub")]
    assert statuses(run("PC-NET-005", resources)) == {"env1": "FAIL"}
    # One side's Connected peering is enough: the other network may be out of scope.
    resources = [private_environment(), gateway_at("10.0.0.4", "hub"), vnet("hub", "vnet1")]
    assert statuses(run("PC-NET-005", resources)) == {"env1": "FAIL"}


def test_a_peering_that_is_not_connected_does_not_join_the_networks():
    resources = [
        private_environment(),
        gateway_at("10.0.0.4", "hub"),
        vnet("vnet1", "hub", state="Initiated"),
    ]
    assert statuses(run("PC-NET-005", resources)) == {"env1": "PASS"}


def test_a_public_static_ip_names_the_environment_from_any_network():
    resources = [
        private_environment(static_ip="20.1.2.3"),
        gateway_at("20.1.2.3", "elsewhere"),
        vnet("vnet1"),
        vnet("elsewhere"),
    ]
    assert statuses(run("PC-NET-005", resources)) == {"env1": "FAIL"}


def test_networks_not_in_the_inventory_leave_the_match_unknown_and_the_verdict_error():
    findings = run("PC-NET-005", [private_environment(), gateway_at("10.0.0.4", "vnet2")])
    assert statuses(findings) == {"env1": "ERROR"}
    assert "agw1" in by_name(findings)["env1"].message


def test_networks_that_could_not_be_read_make_the_verdict_error_not_pass():
    denied = {
        "resourceType": VNET,
        "scope": f"/subscriptions/{SUB}",
        "status": "failed",
        "statusCode": 403,
        "errorCode": "AuthorizationFailed",
        "message": "denied",
    }
    ok = [
        {"resourceType": t, "scope": f"/subscriptions/{SUB}", "status": "ok", "count": 1}
        for t in (ENV, AGW)
    ]
    resources = [private_environment(), gateway_at("10.0.0.4", "vnet2")]
    findings = run("PC-NET-005", resources, coverage=[*ok, denied])
    assert by_name(findings)["env1"].status.value == "ERROR"
    assert all(f.status.value != "PASS" for f in findings)


def test_an_internal_environment_needs_no_peering_to_pass():
    denied = {
        "resourceType": VNET,
        "scope": f"/subscriptions/{SUB}",
        "status": "failed",
        "statusCode": 403,
        "errorCode": "AuthorizationFailed",
    }
    ok = [
        {"resourceType": t, "scope": f"/subscriptions/{SUB}", "status": "ok", "count": 1}
        for t in (ENV, AGW)
    ]
    resources = [private_environment(internal=True), gateway_at("10.0.0.4", "vnet2")]
    findings = run("PC-NET-005", resources, coverage=[*ok, denied])
    assert by_name(findings)["env1"].status.value == "PASS"


def test_the_peering_index_is_built_once_per_inventory(monkeypatch):
    import importlib

    network = importlib.import_module(registry().get("PC-NET-005").func.__module__)
    built = []
    real = network._peerings

    def counting(inv):
        built.append(inv)
        return real(inv)

    monkeypatch.setattr(network, "_peerings", counting)
    envs = [
        arm(
            ENV,
            f"env{n}",
            properties={
                "staticIp": f"10.0.0.{n}",
                "vnetConfiguration": {"infrastructureSubnetId": f"{rid(VNET, 'vnet1')}/subnets/s"},
            },
        )
        for n in range(1, 6)
    ]
    gateways = [gateway_at(f"10.0.0.{n}", "vnet2", name=f"agw{n}") for n in range(1, 6)]
    findings = run("PC-NET-005", [*envs, *gateways, vnet("vnet1"), vnet("vnet2")])
    assert {f.status.value for f in findings} == {"PASS"}
    assert len(built) == 1


# ---- PC-NET-006: no direct container access ------------------------------------------------------


def app(name="app1", ingress=None, env_id=None):
    props = {"managedEnvironmentId": env_id or rid(ENV, "env1"), "configuration": {}}
    if ingress is not None:
        props["configuration"]["ingress"] = ingress
    return arm(APP, name, properties=props)


def public_gateway(ip="203.0.113.40"):
    pip = arm(PIP, "pip1", properties={"ipAddress": ip})
    gateway = arm(
        AGW,
        "agw1",
        properties={
            "sku": {"tier": "WAF_v2"},
            "frontendIPConfigurations": [
                {"name": "public", "properties": {"publicIPAddress": {"id": pip["id"]}}}
            ],
        },
    )
    return [pip, gateway]


def test_external_ingress_in_a_public_environment_is_directly_reachable():
    findings = run("PC-NET-006", [environment(), app(ingress={"external": True})])
    assert statuses(findings) == {"app1": "FAIL"}


def test_external_ingress_restricted_to_the_gateway_address_passes():
    ingress = {
        "external": True,
        "ipSecurityRestrictions": [
            {"name": "agw", "ipAddressRange": "203.0.113.40/32", "action": "Allow"}
        ],
    }
    resources = [environment(), app(ingress=ingress), *public_gateway()]
    assert statuses(run("PC-NET-006", resources)) == {"app1": "PASS"}


def test_external_ingress_admitting_another_range_fails():
    ingress = {
        "external": True,
        "ipSecurityRestrictions": [
            {"name": "agw", "ipAddressRange": "203.0.113.40/32", "action": "Allow"},
            {"name": "office", "ipAddressRange": "198.51.100.0/24", "action": "Allow"},
        ],
    }
    findings = run("PC-NET-006", [environment(), app(ingress=ingress), *public_gateway()])
    assert statuses(findings) == {"app1": "FAIL"}
    assert "198.51.100.0/24" in by_name(findings)["app1"].message


def test_deny_rules_leave_every_other_address_open():
    ingress = {
        "external": True,
        "ipSecurityRestrictions": [
            {"name": "bad", "ipAddressRange": "192.0.2.0/24", "action": "Deny"}
        ],
    }
    assert statuses(run("PC-NET-006", [environment(), app(ingress=ingress)])) == {"app1": "FAIL"}


def test_external_ingress_in_an_internal_environment_passes():
    env = environment({"infrastructureSubnetId": SUBNET, "internal": True})
    assert statuses(run("PC-NET-006", [env, app(ingress={"external": True})])) == {"app1": "PASS"}


def test_internal_ingress_and_no_ingress_pass():
    findings = run(
        "PC-NET-006",
        [environment(), app("internal", ingress={"external": False}), app("worker")],
    )
    assert statuses(findings) == {"internal": "PASS", "worker": "PASS"}


def test_app_whose_environment_is_missing_cannot_be_judged():
    findings = run("PC-NET-006", [app(ingress={"external": True}, env_id=rid(ENV, "elsewhere"))])
    assert statuses(findings) == {"app1": "ERROR"}


def test_no_container_app_is_not_applicable():
    assert statuses(run("PC-NET-006", [environment()])) == {"scope": "NOT_APPLICABLE"}


def test_a_network_without_its_peering_list_is_not_taken_as_unpeered():
    bare = arm(VNET, "vnet2", properties={"subnets": []})  # a plan, or another tool's inventory
    findings = run("PC-NET-005", [private_environment(), gateway_at("10.0.0.4", "vnet2"), bare])
    assert statuses(findings) == {"env1": "ERROR"}
    hostile = arm(VNET, "vnet2", properties={"virtualNetworkPeerings": ["to-vnet1"]})
    findings = run("PC-NET-005", [private_environment(), gateway_at("10.0.0.4", "vnet2"), hostile])
    assert statuses(findings) == {"env1": "ERROR"}


def test_a_peering_given_as_a_resource_of_its_own_joins_the_networks():
    peering = arm(
        f"{VNET}/virtualNetworkPeerings",
        "to-vnet1",
        id=child_id(rid(VNET, "hub"), "virtualNetworkPeerings", "to-vnet1"),
        properties={
            "peeringState": "Connected",
            "remoteVirtualNetwork": {"id": rid(VNET, "vnet1")},
        },
    )
    resources = [private_environment(), gateway_at("10.0.0.4", "hub"), peering]
    assert statuses(run("PC-NET-005", resources)) == {"env1": "FAIL"}
