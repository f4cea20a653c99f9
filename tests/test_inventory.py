"""The inventory: case-insensitive lookups and the cross-references rules rely on."""

from __future__ import annotations

from builders import RG, SUB, arm, child_id, rid

from prodcheck.arm import ArmId, is_under
from prodcheck.inventory import Inventory, dig

REDIS = "Microsoft.Cache/redis"
PE = "Microsoft.Network/privateEndpoints"


def test_arm_id_of_child_resource_names_its_parent_and_full_type():
    pe = rid(PE, "pe-redis")
    parsed = ArmId.parse(child_id(pe, "privateDnsZoneGroups", "default"))
    assert parsed.type == "Microsoft.Network/privateEndpoints/privateDnsZoneGroups"
    assert parsed.name == "default"
    assert parsed.parent == pe
    assert parsed.resource_group == RG
    assert parsed.subscription == SUB


def test_arm_id_of_extension_resource_has_the_extended_resource_as_parent():
    redis = rid(REDIS, "cache")
    parsed = ArmId.parse(f"{redis}/providers/Microsoft.Insights/diagnosticSettings/to-law")
    assert parsed.type == "Microsoft.Insights/diagnosticSettings"
    assert parsed.parent == redis


def test_subscription_level_resource_has_no_parent():
    parsed = ArmId.parse(f"/subscriptions/{SUB}/providers/Microsoft.Insights/metricAlerts/a")
    assert parsed.parent == ""
    assert parsed.resource_group == ""


def test_is_under_ignores_case_and_does_not_match_name_prefixes():
    assert is_under(rid(REDIS, "cache").upper(), f"/subscriptions/{SUB}/resourcegroups/{RG}")
    assert not is_under(rid(REDIS, "cache2"), rid(REDIS, "cache"))


def test_lookups_by_type_and_id_ignore_case():
    inv = Inventory([arm(REDIS, "cache"), arm("microsoft.cache/REDIS", "other")])
    assert [r.name for r in inv.of_type("MICROSOFT.CACHE/redis")] == ["cache", "other"]
    assert inv.get(rid(REDIS, "cache").lower()).name == "cache"
    assert inv.get(rid(REDIS, "missing")) is None


def test_children_are_found_whatever_the_case_of_the_parent_id():
    apim = rid("Microsoft.ApiManagement/service", "apim")
    api = arm(
        "Microsoft.ApiManagement/service/apis",
        "openai",
        id=child_id(apim.replace(RG, RG.upper()), "apis", "openai"),
    )
    inv = Inventory([arm("Microsoft.ApiManagement/service", "apim"), api])
    service = inv.of_type("Microsoft.ApiManagement/service")[0]
    assert [c.name for c in inv.children(service)] == ["openai"]
    assert inv.parent(inv.get(api["id"])) is service


def _endpoint(name: str, target: str, state: str, rg: str = RG) -> dict:
    return arm(
        PE,
        name,
        rg=rg,
        properties={
            "privateLinkServiceConnections": [
                {
                    "name": name,
                    "properties": {
                        "privateLinkServiceId": target,
                        "groupIds": ["redisCache"],
                        "privateLinkServiceConnectionState": {"status": state},
                    },
                }
            ]
        },
    )


def test_private_endpoint_found_from_the_endpoint_side_despite_different_case():
    target = rid(REDIS, "cache")
    inv = Inventory(
        [arm(REDIS, "cache"), _endpoint("pe1", target.upper(), "Approved", rg="rg-net")]
    )
    links = inv.private_endpoint_links(inv.get(target))
    assert [(link.source, link.approved) for link in links] == [("endpoint", True)]
    assert [e.name for e in inv.private_endpoints_targeting(inv.get(target))] == ["pe1"]


def test_private_endpoint_found_from_the_resource_side():
    pe_id = rid(PE, "pe1", rg="rg-net")
    cache = arm(
        REDIS,
        "cache",
        properties={
            "privateEndpointConnections": [
                {
                    "properties": {
                        "privateEndpoint": {"id": pe_id},
                        "privateLinkServiceConnectionState": {"status": "Approved"},
                    }
                }
            ]
        },
    )
    inv = Inventory([cache])
    links = inv.private_endpoint_links(inv.get(cache["id"]))
    assert [(link.endpoint_id, link.source) for link in links] == [(pe_id, "resource")]


def test_one_endpoint_seen_from_both_sides_counts_once():
    target = rid(REDIS, "cache")
    pe = _endpoint("pe1", target, "Approved")
    cache = arm(
        REDIS,
        "cache",
        properties={
            "privateEndpointConnections": [
                {
                    "properties": {
                        "privateEndpoint": {"id": pe["id"].upper()},
                        "privateLinkServiceConnectionState": {"status": "Approved"},
                    }
                }
            ]
        },
    )
    inv = Inventory([cache, pe])
    assert len(inv.private_endpoint_links(inv.get(target))) == 1


def test_pending_and_rejected_endpoints_are_not_approved():
    target = rid(REDIS, "cache")
    inv = Inventory(
        [
            arm(REDIS, "cache"),
            _endpoint("pending", target, "Pending"),
            _endpoint("rejected", target, "Rejected"),
        ]
    )
    assert len(inv.private_endpoint_links(inv.get(target))) == 2
    assert inv.approved_private_endpoints(inv.get(target)) == []


def test_diagnostic_settings_of_a_resource():
    cache_id = rid(REDIS, "cache")
    diag = arm(
        "Microsoft.Insights/diagnosticSettings",
        "to-law",
        id=f"{cache_id.lower()}/providers/microsoft.insights/diagnosticSettings/to-law",
    )
    inv = Inventory([arm(REDIS, "cache"), diag, arm(REDIS, "other")])
    assert [d.name for d in inv.diagnostic_settings(inv.get(cache_id))] == ["to-law"]
    assert inv.diagnostic_settings(inv.get(rid(REDIS, "other"))) == []


def _alert(name: str, scopes: list[str], target_type: str | None = None) -> dict:
    props: dict = {"scopes": scopes, "enabled": True}
    if target_type:
        props["targetResourceType"] = target_type
    return arm("Microsoft.Insights/metricAlerts", name, location="global", properties=props)


def test_alerts_covering_a_resource_by_its_id_its_group_or_subscription():
    cache_id = rid(REDIS, "cache")
    rg_id = f"/subscriptions/{SUB}/resourceGroups/{RG}"
    inv = Inventory(
        [
            arm(REDIS, "cache"),
            _alert("direct", [cache_id.upper()]),
            _alert("by-group", [rg_id.lower()], target_type="microsoft.cache/Redis"),
            _alert("by-subscription", [f"/subscriptions/{SUB}"], target_type=REDIS),
            _alert("group-other-type", [rg_id], target_type="Microsoft.KeyVault/vaults"),
            _alert("other-resource", [rid(REDIS, "other")]),
        ]
    )
    names = {a.name for a in inv.alerts_covering(inv.get(cache_id))}
    assert names == {"direct", "by-group", "by-subscription"}


def test_dig_reads_nested_values_safely_and_falls_back_to_case_insensitive_keys():
    data = {"properties": {"DisableLocalAuth": True, "ipRules": [{"value": "1.2.3.4"}]}}
    assert dig(data, "properties.disableLocalAuth") is True
    assert dig(data, "properties.ipRules[0].value") == "1.2.3.4"
    assert dig(data, "properties.ipRules[3].value", "none") == "none"
    assert dig(data, "properties.missing.deeper", 0) == 0
    assert dig({"a": None}, "a", "default") == "default"


def test_scope_target_names_the_single_subscription():
    inv = Inventory([arm(REDIS, "cache")], scope={"subscriptions": [SUB]})
    assert inv.scope.id == f"/subscriptions/{SUB}"
    inv = Inventory([], scope={"subscriptions": [SUB], "resourceGroups": [RG]})
    assert inv.scope.id == f"/subscriptions/{SUB}/resourceGroups/{RG}"


def test_log_search_alerts_cover_by_their_list_of_target_types():
    cache_id = rid(REDIS, "cache")
    rg_id = f"/subscriptions/{SUB}/resourceGroups/{RG}"
    log_alert = "Microsoft.Insights/scheduledQueryRules"
    inv = Inventory(
        [
            arm(REDIS, "cache"),
            arm(
                log_alert,
                "for-redis",
                properties={"scopes": [rg_id], "targetResourceTypes": [REDIS.lower()]},
            ),
            arm(
                log_alert,
                "for-vaults",
                properties={
                    "scopes": [rg_id],
                    "targetResourceTypes": ["Microsoft.KeyVault/vaults"],
                },
            ),
        ]
    )
    names = {a.name for a in inv.alerts_covering(inv.get(cache_id), [log_alert])}
    assert names == {"for-redis"}
