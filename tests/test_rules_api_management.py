"""API Management rules PC-APIM-001..007 on small ARM fixtures and policy XML."""

from __future__ import annotations

from builders import arm, by_name, child_id, rid, run, statuses

APIM = "Microsoft.ApiManagement/service"
AI = "Microsoft.CognitiveServices/accounts"
PE = "Microsoft.Network/privateEndpoints"
SERVICE_ID = rid(APIM, "apim1")

AOAI_URL = "https://ai1.openai.azure.com/openai"
APP_URL = "https://backend.internal.example.com/api"


def service(identity="SystemAssigned", **props):
    properties = {"virtualNetworkType": "Internal", "publicNetworkAccess": "Enabled", **props}
    return arm(
        APIM,
        "apim1",
        sku={"name": "Premium", "capacity": 1},
        identity={"type": identity},
        properties=properties,
    )


def policy_xml(inbound: str, *, base_elsewhere=True) -> str:
    rest = "<base />" if base_elsewhere else ""
    return (
        f"<policies><inbound>{inbound}</inbound><backend>{rest or '<forward-request />'}</backend>"
        f"<outbound>{rest}</outbound><on-error>{rest}</on-error></policies>"
    )


def policy(parent_id: str, inbound: str):
    return arm(
        f"{APIM}/policies",
        "policy",
        id=child_id(parent_id, "policies", "policy"),
        properties={"format": "xml", "value": policy_xml(inbound)},
    )


def global_policy(inbound: str):
    return policy(SERVICE_ID, inbound)


def api(name="app", url=APP_URL, policy_inbound: str | None = None, **props):
    api_id = child_id(SERVICE_ID, "apis", name)
    resource = arm(
        f"{APIM}/apis",
        name,
        id=api_id,
        properties={"path": name, "serviceUrl": url, "isCurrent": True, **props},
    )
    out = [resource]
    if policy_inbound is not None:
        out.append(
            arm(
                f"{APIM}/apis/policies",
                "policy",
                id=child_id(api_id, "policies", "policy"),
                properties={"format": "xml", "value": policy_xml(policy_inbound)},
            )
        )
    return out


def operation(api_name, name, inbound: str):
    op_id = child_id(child_id(SERVICE_ID, "apis", api_name), "operations", name)
    return [
        arm(f"{APIM}/apis/operations", name, id=op_id, properties={"method": "POST"}),
        arm(
            f"{APIM}/apis/operations/policies",
            "policy",
            id=child_id(op_id, "policies", "policy"),
            properties={"format": "xml", "value": policy_xml(inbound)},
        ),
    ]


def product(name, api_names, inbound: str | None):
    product_id = child_id(SERVICE_ID, "products", name)
    out = [arm(f"{APIM}/products", name, id=product_id, properties={"subscriptionRequired": True})]
    for api_name in api_names:
        out.append(
            arm(
                f"{APIM}/products/apis",
                api_name,
                id=child_id(product_id, "apis", api_name),
                properties={"path": api_name},
            )
        )
    if inbound is not None:
        out.append(
            arm(
                f"{APIM}/products/policies",
                "policy",
                id=child_id(product_id, "policies", "policy"),
                properties={"format": "xml", "value": policy_xml(inbound)},
            )
        )
    return out


def backend(name, url=AOAI_URL, breaker_ranges=None, **props):
    properties = {"url": url, "protocol": "http", "type": "Single", **props}
    if breaker_ranges is not None:
        properties["circuitBreaker"] = {
            "rules": [
                {
                    "name": "trip",
                    "failureCondition": {
                        "count": 3,
                        "interval": "PT1M",
                        "statusCodeRanges": [{"min": lo, "max": hi} for lo, hi in breaker_ranges],
                    },
                    "tripDuration": "PT1M",
                }
            ]
        }
    return arm(
        f"{APIM}/backends", name, id=child_id(SERVICE_ID, "backends", name), properties=properties
    )


LIMIT = '<rate-limit calls="100" renewal-period="60" />'
TOKEN_LIMIT = (
    '<llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="60000" />'
)
METRIC = (
    '<llm-emit-token-metric namespace="llm"><dimension name="API ID" /></llm-emit-token-metric>'
)
CACHE = '<llm-semantic-cache-lookup score-threshold="0.05" embeddings-backend-id="embed" />'
FULL_BREAKER = [(429, 429), (500, 599)]


# ---- PC-APIM-001: an APIM service fronts the workload ----------------------------------------


def test_no_apim_in_scope_fails_at_the_scope():
    assert statuses(run("PC-APIM-001", [])) == {"scope": "FAIL"}


def test_service_exposing_apis_passes():
    findings = run("PC-APIM-001", [service(), *api()])
    assert statuses(findings) == {"apim1": "PASS"}
    assert "app" in by_name(findings)["apim1"].message


def test_service_without_apis_fronts_nothing():
    assert statuses(run("PC-APIM-001", [service()])) == {"apim1": "FAIL"}


# ---- PC-APIM-002: every API is rate limited -----------------------------------------------------


def test_global_limit_reaches_an_api_that_keeps_base():
    resources = [service(), global_policy(LIMIT), *api(policy_inbound="<base />")]
    findings = run("PC-APIM-002", resources)
    assert statuses(findings) == {"app": "PASS"}
    assert "global" in by_name(findings)["app"].message


def test_api_without_base_does_not_inherit_global_rate_limit():
    resources = [
        service(),
        global_policy(LIMIT),
        *api(policy_inbound='<set-backend-service backend-id="app" />'),
    ]
    findings = run("PC-APIM-002", resources)
    assert statuses(findings) == {"app": "FAIL"}
    assert "no rate limit" in by_name(findings)["app"].message


def test_api_without_a_policy_document_inherits_the_global_limit():
    assert statuses(run("PC-APIM-002", [service(), global_policy(LIMIT), *api()])) == {
        "app": "PASS"
    }


def test_commented_out_rate_limit_does_not_count():
    commented = '<base /><!-- <rate-limit calls="100" renewal-period="60" /> -->'
    findings = run("PC-APIM-002", [service(), *api(policy_inbound=commented)])
    assert statuses(findings) == {"app": "FAIL"}


def test_api_level_short_quota_counts_and_is_named():
    quota = '<base /><quota-by-key calls="1000" renewal-period="60" counter-key="@(context.Subscription.Id)" />'
    findings = run("PC-APIM-002", [service(), *api(policy_inbound=quota)])
    assert statuses(findings) == {"app": "PASS"}
    assert "<quota-by-key calls=1000 renewal-period=60" in by_name(findings)["app"].message
    assert "from the API app policy" in by_name(findings)["app"].message


def test_hourly_quota_is_a_budget_not_a_rate_limit():
    quota = '<base /><quota-by-key calls="10000" renewal-period="3600" counter-key="@(context.Subscription.Id)" />'
    findings = run("PC-APIM-002", [service(), *api(policy_inbound=quota)])
    assert statuses(findings) == {"app": "FAIL"}
    assert "renews every 1 h: a budget, not a rate limit" in by_name(findings)["app"].message
    accepted = run(
        "PC-APIM-002",
        [service(), *api(policy_inbound=quota)],
        {"accept_quota_as_rate_limit": True},
    )
    assert statuses(accepted) == {"app": "PASS"}


def test_daily_quota_next_to_a_rate_limit_passes():
    both = f'<base /><quota calls="100000" renewal-period="86400" />{LIMIT}'
    findings = run("PC-APIM-002", [service(), *api(policy_inbound=both)])
    assert statuses(findings) == {"app": "PASS"}
    assert "<rate-limit calls=100" in by_name(findings)["app"].message


def test_rate_limit_by_constant_key_is_one_shared_bucket():
    shared = (
        '<base /><rate-limit-by-key calls="600" renewal-period="60" counter-key="voice-agent" />'
    )
    findings = run("PC-APIM-002", [service(), *api(policy_inbound=shared)])
    assert statuses(findings) == {"app": "FAIL"}
    assert (
        "constant counter-key: every caller shares one bucket" in by_name(findings)["app"].message
    )
    accepted = run(
        "PC-APIM-002",
        [service(), *api(policy_inbound=shared)],
        {"accept_shared_counter_key": True},
    )
    assert statuses(accepted) == {"app": "PASS"}


def test_rate_limit_by_key_with_an_expression_is_per_caller():
    per_caller = '<base /><rate-limit-by-key calls="60" renewal-period="60" counter-key="@(context.Request.IpAddress)" />'
    assert statuses(run("PC-APIM-002", [service(), *api(policy_inbound=per_caller)])) == {
        "app": "PASS"
    }


def named_value(name, value=None, *, secret=False, key_vault=False):
    properties = {"displayName": name, "secret": secret, "tags": []}
    if value is not None and not secret:
        properties["value"] = value
    if key_vault:
        properties["keyVault"] = {
            "secretIdentifier": f"https://kv1.vault.azure.net/secrets/{name}",
            "lastStatus": {"code": "Success", "timeStampUtc": "2026-11-20T10:00:00Z"},
        }
    return arm(
        f"{APIM}/namedValues",
        name.lower(),
        id=child_id(SERVICE_ID, "namedValues", name.lower()),
        properties=properties,
    )


def test_named_values_in_a_limit_are_resolved_from_the_service():
    keyed = '<base /><rate-limit-by-key calls="{{Calls}}" renewal-period="{{Window}}" counter-key="{{CallerKey}}" />'
    resources = [
        service(),
        named_value("Calls", "120"),
        named_value("Window", "60"),
        named_value("CallerKey", "@(context.Subscription.Id)"),
        *api(policy_inbound=keyed),
    ]
    findings = run("PC-APIM-002", resources)
    assert statuses(findings) == {"app": "PASS"}
    assert "calls=120 renewal-period=60" in by_name(findings)["app"].message


def test_named_value_holding_a_constant_key_is_a_shared_bucket():
    keyed = '<base /><rate-limit-by-key calls="100" renewal-period="60" counter-key="{{tenant}}" />'
    resources = [service(), named_value("tenant", "contoso"), *api(policy_inbound=keyed)]
    assert statuses(run("PC-APIM-002", resources)) == {"app": "FAIL"}


def test_named_value_resolving_a_quota_period_to_a_day_is_a_budget():
    quota = '<base /><quota calls="5000" renewal-period="{{QuotaPeriod}}" />'
    resources = [service(), named_value("QuotaPeriod", "86400"), *api(policy_inbound=quota)]
    findings = run("PC-APIM-002", resources)
    assert "renews every 24 h" in by_name(findings)["app"].message


def test_secret_named_value_in_a_counter_key_cannot_be_judged():
    keyed = (
        '<base /><rate-limit-by-key calls="100" renewal-period="60" counter-key="{{partition}}" />'
    )
    for hidden in (
        named_value("partition", "ignored", secret=True),
        named_value("partition", key_vault=True, secret=True),
    ):
        findings = run("PC-APIM-002", [service(), hidden, *api(policy_inbound=keyed)])
        assert statuses(findings) == {"app": "ERROR"}
        assert "partition" in by_name(findings)["app"].message


def test_named_value_missing_from_the_inventory_is_an_error():
    quota = '<base /><quota calls="5000" renewal-period="{{gone}}" />'
    findings = run("PC-APIM-002", [service(), *api(policy_inbound=quota)])
    assert statuses(findings) == {"app": "ERROR"}


def test_shared_bucket_inside_one_branch_weakens_the_whole_choose():
    branches = (
        '<base /><choose><when condition="@(true)">'
        '<rate-limit-by-key calls="10" renewal-period="60" counter-key="@(context.Request.IpAddress)" />'
        '</when><otherwise><rate-limit-by-key calls="10" renewal-period="60" counter-key="all" />'
        "</otherwise></choose>"
    )
    findings = run("PC-APIM-002", [service(), *api(policy_inbound=branches)])
    assert statuses(findings) == {"app": "FAIL"}
    assert "in every branch of a <choose>" in by_name(findings)["app"].message


def test_limit_inside_a_condition_without_otherwise_does_not_protect_every_request():
    conditional = f'<base /><choose><when condition="@(true)">{LIMIT}</when></choose>'
    assert statuses(run("PC-APIM-002", [service(), *api(policy_inbound=conditional)])) == {
        "app": "FAIL"
    }


def test_limit_in_every_branch_of_a_condition_counts():
    both = (
        f'<base /><choose><when condition="@(true)">{LIMIT}</when>'
        f"<otherwise>{LIMIT}</otherwise></choose>"
    )
    assert statuses(run("PC-APIM-002", [service(), *api(policy_inbound=both)])) == {"app": "PASS"}


def test_operation_without_base_escapes_the_api_limit():
    resources = [
        service(),
        *api(policy_inbound=f"<base />{LIMIT}"),
        *operation(
            "app",
            "upload",
            '<set-header name="x" exists-action="override"><value>1</value></set-header>',
        ),
    ]
    findings = run("PC-APIM-002", resources)
    assert statuses(findings) == {"app": "FAIL"}
    assert "operation upload" in by_name(findings)["app"].message


def test_product_limit_protects_an_api_that_requires_a_subscription():
    resources = [service(), *api(policy_inbound="<base />"), *product("starter", ["app"], LIMIT)]
    findings = run("PC-APIM-002", resources)
    assert statuses(findings) == {"app": "PASS"}
    assert "product starter" in by_name(findings)["app"].message


def test_product_limit_does_not_protect_calls_without_a_subscription_key():
    resources = [
        service(),
        *api(policy_inbound="<base />", subscriptionRequired=False),
        *product("starter", ["app"], LIMIT),
    ]
    findings = run("PC-APIM-002", resources)
    assert statuses(findings) == {"app": "FAIL"}
    assert "without a product" in by_name(findings)["app"].message


def test_policy_fragment_is_expanded():
    fragment = arm(
        f"{APIM}/policyFragments",
        "limits",
        id=child_id(SERVICE_ID, "policyFragments", "limits"),
        properties={"format": "xml", "value": f"<fragment>{LIMIT}</fragment>"},
    )
    resources = [
        service(),
        fragment,
        *api(policy_inbound='<base /><include-fragment fragment-id="limits" />'),
    ]
    assert statuses(run("PC-APIM-002", resources)) == {"app": "PASS"}


def test_missing_fragment_is_an_error_not_a_pass_or_fail():
    resources = [service(), *api(policy_inbound='<include-fragment fragment-id="gone" />')]
    findings = run("PC-APIM-002", resources)
    assert statuses(findings) == {"app": "ERROR"}
    assert "gone" in by_name(findings)["app"].message


def test_malformed_policy_xml_is_an_error():
    broken = api()
    broken.append(
        arm(
            f"{APIM}/apis/policies",
            "policy",
            id=child_id(broken[0]["id"], "policies", "policy"),
            properties={"format": "rawxml", "value": "<policies><inbound><base /></policies>"},
        )
    )
    findings = run("PC-APIM-002", [service(), global_policy(LIMIT), *broken])
    assert statuses(findings) == {"app": "ERROR"}
    assert "not well-formed" in by_name(findings)["app"].message


def test_entity_expansion_in_policy_xml_is_refused():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<policies><inbound>&b;<base /></inbound></policies>"
    )
    resources = [
        service(),
        global_policy(LIMIT),
        arm(
            f"{APIM}/apis/policies",
            "policy",
            id=child_id(child_id(SERVICE_ID, "apis", "app"), "policies", "policy"),
            properties={"format": "rawxml", "value": bomb},
        ),
        *api(),
    ]
    findings = run("PC-APIM-002", resources)
    assert statuses(findings) == {"app": "ERROR"}
    assert "forbidden XML" in by_name(findings)["app"].message


def test_non_current_revisions_are_not_judged():
    resources = [service(), global_policy(LIMIT), *api(), *api("app;rev=2", isCurrent=False)]
    assert statuses(run("PC-APIM-002", resources)) == {"app": "PASS"}


def test_service_without_apis_is_not_applicable_for_rate_limits():
    assert statuses(run("PC-APIM-002", [service()])) == {"apim1": "NOT_APPLICABLE"}


# ---- PC-APIM-003: token limits ----------------------------------------------------------------


def ai_api(inbound: str, url=AOAI_URL):
    return api("openai", url=url, policy_inbound=inbound)


def test_ai_api_with_token_limit_passes():
    findings = run("PC-APIM-003", [service(), *ai_api(f"<base />{TOKEN_LIMIT}")])
    assert statuses(findings) == {"openai": "PASS"}


def test_ai_api_without_token_limit_fails():
    assert statuses(run("PC-APIM-003", [service(), *ai_api(f"<base />{LIMIT}")])) == {
        "openai": "FAIL"
    }


def test_global_azure_openai_token_limit_is_inherited_through_base():
    legacy = '<azure-openai-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="1000" />'
    resources = [service(), global_policy(legacy), *ai_api("<base />")]
    assert statuses(run("PC-APIM-003", resources)) == {"openai": "PASS"}


def test_api_routed_to_an_ai_backend_entity_is_an_ai_api():
    resources = [
        service(),
        backend("aoai"),
        *api(
            "chat", url=APP_URL, policy_inbound='<base /><set-backend-service backend-id="aoai" />'
        ),
    ]
    findings = run("PC-APIM-003", resources)
    assert statuses(findings) == {"chat": "FAIL"}
    assert by_name(findings)["chat"].evidence["aiRoutes"] == ["backend aoai"]


def test_backend_pointing_at_an_account_by_resource_id_is_an_ai_backend():
    account = arm(
        AI, "ai2", kind="AIServices", properties={"endpoint": "https://custom.example.com/"}
    )
    target = backend(
        "models",
        url="https://custom.example.com/",
        resourceId=f"https://management.azure.com{account['id']}",
    )
    resources = [
        service(),
        account,
        target,
        *api(
            "chat",
            url=APP_URL,
            policy_inbound=f'<base /><set-backend-service backend-id="models" />{TOKEN_LIMIT}',
        ),
    ]
    assert statuses(run("PC-APIM-003", resources)) == {"chat": "PASS"}


def test_service_without_ai_apis_is_not_applicable_for_token_limits():
    findings = run("PC-APIM-003", [service(), *api(policy_inbound="<base />")])
    assert statuses(findings) == {"apim1": "NOT_APPLICABLE"}


# ---- PC-APIM-004: token metrics ----------------------------------------------------------------


def test_ai_api_emitting_token_metrics_passes():
    assert statuses(run("PC-APIM-004", [service(), *ai_api(f"<base />{METRIC}")])) == {
        "openai": "PASS"
    }


def test_ai_api_without_token_metrics_fails():
    assert statuses(run("PC-APIM-004", [service(), *ai_api(f"<base />{TOKEN_LIMIT}")])) == {
        "openai": "FAIL"
    }


def test_token_metrics_are_not_applicable_without_ai_apis():
    assert statuses(run("PC-APIM-004", [service(), *api()])) == {"apim1": "NOT_APPLICABLE"}


# ---- PC-APIM-005: caching -----------------------------------------------------------------------


def test_ai_api_with_semantic_cache_passes():
    assert statuses(run("PC-APIM-005", [service(), *ai_api(f"<base />{CACHE}")])) == {
        "openai": "PASS"
    }


def test_conditional_cache_lookup_counts():
    conditional = f'<base /><choose><when condition="@(true)">{CACHE}</when></choose>'
    assert statuses(run("PC-APIM-005", [service(), *ai_api(conditional)])) == {"openai": "PASS"}


def test_ai_api_without_cache_fails():
    assert statuses(run("PC-APIM-005", [service(), *ai_api("<base />")])) == {"openai": "FAIL"}


def test_caching_is_not_applicable_without_ai_apis():
    assert statuses(run("PC-APIM-005", [service(), *api()])) == {"apim1": "NOT_APPLICABLE"}


# ---- PC-APIM-006: circuit breaking ----------------------------------------------------------


def routed(backend_name):
    return api(
        "chat",
        url=APP_URL,
        policy_inbound=f'<base /><set-backend-service backend-id="{backend_name}" />',
    )


def test_backend_tripping_on_429_and_5xx_passes():
    resources = [service(), backend("aoai", breaker_ranges=FULL_BREAKER), *routed("aoai")]
    assert statuses(run("PC-APIM-006", resources)) == {"chat": "PASS"}


def test_backend_not_tripping_on_429_fails():
    resources = [service(), backend("aoai", breaker_ranges=[(500, 599)]), *routed("aoai")]
    findings = run("PC-APIM-006", resources)
    assert statuses(findings) == {"chat": "FAIL"}
    assert "429" in by_name(findings)["chat"].message


def test_backend_without_circuit_breaker_fails():
    resources = [service(), backend("aoai"), *routed("aoai")]
    assert statuses(run("PC-APIM-006", resources)) == {"chat": "FAIL"}


def pool_backend(name, *members, full_ids=True):
    services = [
        {
            "id": child_id(SERVICE_ID, "backends", m) if full_ids else f"/backends/{m}",
            "priority": i + 1,
        }
        for i, m in enumerate(members)
    ]
    return arm(
        f"{APIM}/backends",
        name,
        id=child_id(SERVICE_ID, "backends", name),
        properties={"title": None, "type": "Pool", "url": None, "pool": {"services": services}},
    )


def test_pool_whose_members_break_the_circuit_passes():
    resources = [
        service(),
        pool_backend("pool", "east", "west"),
        backend("east", breaker_ranges=FULL_BREAKER),
        backend("west", url="https://ai2.openai.azure.com/openai", breaker_ranges=FULL_BREAKER),
        *routed("pool"),
    ]
    findings = run("PC-APIM-006", resources)
    assert statuses(findings) == {"chat": "PASS"}
    assert "member east of pool pool trips on 429" in by_name(findings)["chat"].message


def test_pool_without_member_circuit_breakers_never_routes_around_throttling():
    resources = [
        service(),
        pool_backend("pool", "east", "west", full_ids=False),
        backend("east", breaker_ranges=FULL_BREAKER),
        backend("west", url="https://ai2.openai.azure.com/openai"),
        *routed("pool"),
    ]
    findings = run("PC-APIM-006", resources)
    assert statuses(findings) == {"chat": "FAIL"}
    message = by_name(findings)["chat"].message
    assert "member west of pool pool has no circuit breaker" in message
    assert "east" not in message.split(";")[0]


def test_pool_member_missing_from_the_inventory_cannot_be_verified():
    resources = [
        service(),
        pool_backend("pool", "east", "gone"),
        backend("east", breaker_ranges=FULL_BREAKER),
        *routed("pool"),
    ]
    findings = run("PC-APIM-006", resources)
    assert statuses(findings) == {"chat": "ERROR"}
    assert "member gone of pool pool is not in the inventory" in by_name(findings)["chat"].message


def test_empty_pool_leads_to_no_ai_backend():
    resources = [service(), pool_backend("pool"), backend("east"), *routed("pool")]
    # an empty pool leads nowhere, so the API is not recognised as calling AI through it
    assert statuses(run("PC-APIM-006", resources)) == {"apim1": "NOT_APPLICABLE"}


def test_api_calling_the_model_by_url_cannot_break_the_circuit():
    findings = run("PC-APIM-006", [service(), *ai_api("<base />")])
    assert statuses(findings) == {"openai": "FAIL"}
    assert "by URL" in by_name(findings)["openai"].message


def test_circuit_breaking_is_not_applicable_without_ai_apis():
    assert statuses(run("PC-APIM-006", [service(), *api()])) == {"apim1": "NOT_APPLICABLE"}


# ---- PC-APIM-007: private and managed identity --------------------------------------------------


def test_internal_service_with_managed_identity_passes():
    assert statuses(run("PC-APIM-007", [service()])) == {"apim1": "PASS"}


def test_public_service_without_identity_fails_on_both_counts():
    public = service(identity="None", virtualNetworkType="None")
    findings = run("PC-APIM-007", [public])
    assert statuses(findings) == {"apim1": "FAIL"}
    message = by_name(findings)["apim1"].message
    assert "the gateway is public" in message and "no managed identity" in message


def test_public_access_disabled_with_an_approved_private_endpoint_passes():
    private = service(virtualNetworkType="None", publicNetworkAccess="Disabled")
    pe = arm(
        PE,
        "pe-apim",
        properties={
            "privateLinkServiceConnections": [
                {
                    "properties": {
                        "privateLinkServiceId": SERVICE_ID,
                        "groupIds": ["Gateway"],
                        "privateLinkServiceConnectionState": {"status": "Approved"},
                    }
                }
            ]
        },
    )
    assert statuses(run("PC-APIM-007", [private, pe])) == {"apim1": "PASS"}
    assert statuses(run("PC-APIM-007", [private])) == {"apim1": "FAIL"}


def test_private_and_identity_are_not_applicable_without_apim():
    assert statuses(run("PC-APIM-007", [])) == {"scope": "NOT_APPLICABLE"}


def test_hostile_pool_shapes_do_not_crash_the_circuit_rule():
    for services in ("east", ["east", None, {"id": 7}], {"id": "/backends/east"}):
        pool = pool_backend("pool", "east")
        pool["properties"]["pool"]["services"] = services
        resources = [service(), pool, backend("east", breaker_ranges=FULL_BREAKER), *routed("pool")]
        findings = run("PC-APIM-006", resources)
        # a rule that raises is reported as an ERROR at the scope
        assert not [f for f in findings if f.resource_type == "scope" and f.status.value == "ERROR"]


def test_hardened_demo_resolves_its_named_value_in_the_voice_api_limit():
    import json
    from pathlib import Path

    demo = Path(__file__).resolve().parents[1] / "src/prodcheck/demos/hardened.json"
    resources = json.loads(demo.read_text(encoding="utf-8"))["resources"]
    finding = by_name(run("PC-APIM-002", resources))["realtime-voice"]
    assert finding.status.value == "PASS"
    assert "calls=120 renewal-period=60" in finding.message
