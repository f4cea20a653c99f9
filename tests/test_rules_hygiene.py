"""Production hygiene: PC-GOV-001 (exemption tags), PC-MSG-001 (messaging), PC-AI-001 (content
filters), PC-AUTH-001 (callers authenticated at the backend)."""

from __future__ import annotations

from builders import arm, by_name, child_id, registry, rid, run, statuses

from prodcheck.model import Severity

# ---- PC-GOV-001 -------------------------------------------------------------------------------


def test_security_control_ignore_tag_fails_per_resource():
    findings = run(
        "PC-GOV-001",
        [
            arm(
                "Microsoft.KeyVault/vaults",
                "kv",
                tags={"environment": "dev", "SecurityControl": "Ignore"},
            ),
            arm("Microsoft.Storage/storageAccounts", "st", tags={"environment": "prod"}),
        ],
    )
    assert statuses(findings) == {"kv": "FAIL"}
    assert findings[0].severity == Severity.HIGH
    assert "SecurityControl=Ignore" in findings[0].message


def test_tag_match_ignores_case():
    findings = run(
        "PC-GOV-001", [arm("Microsoft.KeyVault/vaults", "kv", tags={"securitycontrol": "IGNORE"})]
    )
    assert statuses(findings) == {"kv": "FAIL"}


def test_scope_without_exemption_tags_passes_once():
    findings = run(
        "PC-GOV-001", [arm("Microsoft.KeyVault/vaults", "kv", tags={"SecurityControl": "Enforce"})]
    )
    assert statuses(findings) == {"scope": "PASS"}


def test_exemption_tags_are_a_parameter_and_accept_any_value_with_a_bare_key():
    tagged = arm("Microsoft.KeyVault/vaults", "kv", tags={"PolicyExempt": "until-2027"})
    assert statuses(run("PC-GOV-001", [tagged])) == {"scope": "PASS"}
    assert statuses(run("PC-GOV-001", [tagged], {"exemption_tags": ["PolicyExempt"]})) == {
        "kv": "FAIL"
    }


# ---- PC-MSG-001 -------------------------------------------------------------------------------


def test_service_bus_in_scope_passes():
    findings = run("PC-MSG-001", [arm("Microsoft.ServiceBus/Namespaces", "sb")])
    assert statuses(findings) == {"scope": "PASS"}
    assert "sb" in findings[0].message


def test_no_managed_messaging_is_an_info_failure_that_never_gates_by_default():
    findings = run("PC-MSG-001", [arm("Microsoft.App/containerApps", "api")])
    assert statuses(findings) == {"scope": "FAIL"}
    assert findings[0].severity == Severity.INFO
    assert findings[0].severity.rank < Severity.LOW.rank


# ---- PC-AI-001 --------------------------------------------------------------------------------

ACCOUNT = rid("Microsoft.CognitiveServices/accounts", "aif")


def deployment(name: str, policy: str | None) -> dict:
    properties: dict = {"model": {"format": "OpenAI", "name": name}}
    if policy is not None:
        properties["raiPolicyName"] = policy
    return arm(
        "Microsoft.CognitiveServices/accounts/deployments",
        name,
        id=child_id(ACCOUNT, "deployments", name),
        properties=properties,
    )


def rai_policy(
    name: str, filters: list[dict], base: str = "Microsoft.DefaultV2", mode: str = "Blocking"
) -> dict:
    return arm(
        "Microsoft.CognitiveServices/accounts/raiPolicies",
        name,
        id=child_id(ACCOUNT, "raiPolicies", name),
        properties={"mode": mode, "basePolicyName": base, "contentFilters": filters},
    )


def blocking(category: str, source: str, level: str = "Medium", **over) -> dict:
    entry = {
        "name": category,
        "source": source,
        "enabled": True,
        "blocking": True,
        "severityThreshold": level,
    }
    entry.update(over)
    return entry


ALL_STRICT = [
    blocking(c, s)
    for c in ("hate", "sexual", "violence", "selfharm")
    for s in ("Prompt", "Completion")
]


def test_default_content_filter_passes_and_a_deployment_without_one_gets_the_platform_default():
    findings = run(
        "PC-AI-001",
        [
            arm("Microsoft.CognitiveServices/accounts", "aif"),
            deployment("gpt-4o", "Microsoft.DefaultV2"),
            deployment("gpt-x", None),
        ],
    )
    assert statuses(findings) == {"gpt-4o": "PASS", "gpt-x": "PASS"}
    assert findings[0].severity == Severity.MEDIUM
    [unnamed] = [f for f in findings if f.resource_name.endswith("gpt-x")]
    assert "default content filter" in unnamed.message


def test_other_built_in_policy_is_not_a_default_filter():
    findings = run("PC-AI-001", [deployment("gpt-4o", "Microsoft.Nill")])
    assert statuses(findings) == {"gpt-4o": "FAIL"}


def test_strict_custom_policy_passes():
    resources = [
        arm("Microsoft.CognitiveServices/accounts", "aif"),
        deployment("gpt-4o", "strict"),
        rai_policy("strict", ALL_STRICT),
    ]
    assert statuses(run("PC-AI-001", resources)) == {"gpt-4o": "PASS"}


def test_custom_policy_that_only_annotates_fails_naming_the_category():
    filters = [*ALL_STRICT[:-1], blocking("selfharm", "Completion", blocking=False)]
    resources = [
        arm("Microsoft.CognitiveServices/accounts", "aif"),
        deployment("gpt-4o", "relaxed"),
        rai_policy("relaxed", filters),
    ]
    findings = run("PC-AI-001", resources)
    assert statuses(findings) == {"gpt-4o": "FAIL"}
    assert "selfharm on completions filter annotates only" in findings[0].message


def test_custom_policy_blocking_only_high_severity_is_permissive():
    filters = [blocking("violence", "Prompt", "High"), *ALL_STRICT[1:]]
    resources = [
        arm("Microsoft.CognitiveServices/accounts", "aif"),
        deployment("gpt-4o", "relaxed"),
        rai_policy("relaxed", filters),
    ]
    assert "blocks only at High" in run("PC-AI-001", resources)[0].message


def test_custom_policy_filtering_asynchronously_is_permissive():
    resources = [
        arm("Microsoft.CognitiveServices/accounts", "aif"),
        deployment("gpt-4o", "async"),
        rai_policy("async", ALL_STRICT, mode="Asynchronous_filter"),
    ]
    assert statuses(run("PC-AI-001", resources)) == {"gpt-4o": "FAIL"}


def test_category_left_out_is_inherited_only_from_a_default_base():
    partial = ALL_STRICT[:2]
    inherited = [
        arm("Microsoft.CognitiveServices/accounts", "aif"),
        deployment("gpt-4o", "p"),
        rai_policy("p", partial),
    ]
    assert statuses(run("PC-AI-001", inherited)) == {"gpt-4o": "PASS"}
    own = [
        arm("Microsoft.CognitiveServices/accounts", "aif"),
        deployment("gpt-4o", "p"),
        rai_policy("p", partial, base=""),
    ]
    assert statuses(run("PC-AI-001", own)) == {"gpt-4o": "FAIL"}


def test_custom_policy_not_in_the_data_is_error():
    findings = run(
        "PC-AI-001",
        [arm("Microsoft.CognitiveServices/accounts", "aif"), deployment("gpt-4o", "custom")],
    )
    assert statuses(findings) == {"gpt-4o": "ERROR"}


# ---- PC-AUTH-001 ------------------------------------------------------------------------------

ENV = rid("Microsoft.App/managedEnvironments", "cae")


def app(name: str = "api", *, external: bool = True, restrictions: list | None = None) -> dict:
    return arm(
        "Microsoft.App/containerApps",
        name,
        properties={
            "managedEnvironmentId": ENV,
            "configuration": {
                "ingress": {
                    "external": external,
                    "targetPort": 8000,
                    "ipSecurityRestrictions": restrictions,
                }
            },
        },
    )


def environment(internal: bool = False) -> dict:
    return arm(
        "Microsoft.App/managedEnvironments",
        "cae",
        properties={"vnetConfiguration": {"internal": internal}},
    )


def auth_config(
    app_name: str = "api", action: str = "Return401", enabled: bool = True, entra: bool = True
) -> dict:
    providers = (
        {
            "azureActiveDirectory": {
                "enabled": True,
                "registration": {
                    "clientId": "app-id",
                    "openIdIssuer": "https://login.microsoftonline.com/t/v2.0",
                },
            }
        }
        if entra
        else {}
    )
    return arm(
        "Microsoft.App/containerapps/authconfigs",
        "current",
        id=child_id(rid("Microsoft.App/containerApps", app_name), "authConfigs", "current"),
        properties={
            "platform": {"enabled": enabled},
            "globalValidation": {
                "unauthenticatedClientAction": action,
                "excludedPaths": ["/health"],
            },
            "identityProviders": providers,
        },
    )


def test_external_app_without_auth_config_fails():
    findings = run("PC-AUTH-001", [environment(), app()])
    assert statuses(findings) == {"api": "FAIL"}
    assert "anyone on the internet" in findings[0].message


def test_external_app_with_entra_and_anonymous_refused_passes_listing_anonymous_paths():
    findings = run("PC-AUTH-001", [environment(), app(), auth_config()])
    assert statuses(findings) == {"api": "PASS"}
    assert "/health" in findings[0].message


def test_auth_config_allowing_anonymous_fails():
    findings = run("PC-AUTH-001", [environment(), app(), auth_config(action="AllowAnonymous")])
    assert statuses(findings) == {"api": "FAIL"}
    assert "AllowAnonymous" in findings[0].message


def test_auth_config_without_entra_or_disabled_fails():
    assert statuses(run("PC-AUTH-001", [environment(), app(), auth_config(entra=False)])) == {
        "api": "FAIL"
    }
    assert statuses(run("PC-AUTH-001", [environment(), app(), auth_config(enabled=False)])) == {
        "api": "FAIL"
    }


def test_internal_ingress_or_internal_environment_is_exempt():
    assert statuses(run("PC-AUTH-001", [environment(), app(external=False)])) == {"api": "PASS"}
    findings = run("PC-AUTH-001", [environment(internal=True), app()])
    assert statuses(findings) == {"api": "PASS"}
    assert "internal" in findings[0].message


def gateway_with_subnet() -> list[dict]:
    vnet_id = rid("Microsoft.Network/virtualNetworks", "vnet")
    subnet_id = f"{vnet_id}/subnets/snet-agw"
    vnet = arm(
        "Microsoft.Network/virtualNetworks",
        "vnet",
        properties={
            "subnets": [
                {
                    "id": subnet_id,
                    "name": "snet-agw",
                    "properties": {"addressPrefix": "10.0.0.0/24"},
                }
            ]
        },
    )
    gateway = arm(
        "Microsoft.Network/applicationGateways",
        "agw",
        properties={
            "gatewayIPConfigurations": [{"name": "ip", "properties": {"subnet": {"id": subnet_id}}}]
        },
    )
    return [vnet, gateway]


def test_app_restricted_to_the_gateway_subnet_is_behind_the_gateway():
    only_gateway = [{"name": "agw", "ipAddressRange": "10.0.0.0/24", "action": "Allow"}]
    findings = run(
        "PC-AUTH-001", [environment(), app(restrictions=only_gateway), *gateway_with_subnet()]
    )
    assert statuses(findings) == {"api": "PASS"}
    assert "agw" in findings[0].message


def test_app_admitting_other_addresses_besides_the_gateway_is_exposed():
    mixed = [
        {"name": "agw", "ipAddressRange": "10.0.0.0/24", "action": "Allow"},
        {"name": "office", "ipAddressRange": "198.51.100.0/24", "action": "Allow"},
    ]
    findings = run("PC-AUTH-001", [environment(), app(restrictions=mixed), *gateway_with_subnet()])
    assert statuses(findings) == {"api": "FAIL"}


def test_app_without_ingress_is_not_applicable():
    no_ingress = arm(
        "Microsoft.App/containerApps", "worker", properties={"configuration": {"ingress": None}}
    )
    assert statuses(run("PC-AUTH-001", [no_ingress])) == {"worker": "NOT_APPLICABLE"}
    assert (
        by_name(run("PC-AUTH-001", [no_ingress]))["worker"].message
        == "no ingress: it takes no calls"
    )


def test_only_the_declared_types_are_judged_so_live_and_offline_audits_agree():
    needs = {t.lower() for t in registry().get("PC-GOV-001").needs}
    outside = arm("Microsoft.Sql/servers", "sql", tags={"SecurityControl": "Ignore"})
    assert "microsoft.sql/servers" not in needs
    assert statuses(run("PC-GOV-001", [outside])) == {"scope": "NOT_APPLICABLE"}
    assert "microsoft.insights/actiongroups" in needs


def test_no_model_deployment_is_not_applicable():
    assert statuses(run("PC-AI-001", [arm("Microsoft.CognitiveServices/accounts", "speech")])) == {
        "scope": "NOT_APPLICABLE"
    }
