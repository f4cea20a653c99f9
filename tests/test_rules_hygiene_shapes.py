"""PC-GOV-001, PC-MSG-001 and PC-AUTH-001 on bodies shaped as the REST API examples show them.

Tags as an empty string (Application Insights 2020-02-02) or left out (role assignments have
none), Service Bus namespaces typed `Microsoft.ServiceBus/Namespaces` (2021-11-01), and Container
Apps auth configs typed `Microsoft.App/containerapps/authconfigs` (2022-03-01, 2025-07-01).
"""

from __future__ import annotations

from builders import arm, by_name, child_id, rid, run, statuses

APP = "Microsoft.App/containerApps"
ENV = "Microsoft.App/managedEnvironments"


def test_tags_as_a_string_or_left_out_carry_no_exemption():
    insights = arm("Microsoft.Insights/components", "ai", kind="web", tags="", properties={})
    namespace = arm("Microsoft.ServiceBus/Namespaces", "sb1", properties={})
    tagged = arm(
        "Microsoft.KeyVault/vaults", "kv1", tags={"securitycontrol": "IGNORE"}, properties={}
    )
    assert statuses(run("PC-GOV-001", [insights, namespace])) == {"scope": "PASS"}
    findings = run("PC-GOV-001", [insights, namespace, tagged])
    assert statuses(findings) == {"kv1": "FAIL"}


def test_namespace_typed_with_a_capital_n_is_managed_messaging():
    namespace = arm(
        "Microsoft.ServiceBus/Namespaces",
        "sb1",
        sku={"name": "Standard", "tier": "Standard"},
        properties={"serviceBusEndpoint": "https://sb1.servicebus.windows.net:443/"},
    )
    findings = run("PC-MSG-001", [namespace])
    assert statuses(findings) == {"scope": "PASS"}
    assert "sb1 (Microsoft.ServiceBus)" in findings[0].message


def public_app() -> list[dict]:
    env = arm(ENV, "env1", properties={"defaultDomain": "env1.k4apps.io", "staticIp": "20.1.2.3"})
    app = arm(
        APP,
        "testcanadacentral",
        properties={
            "managedEnvironmentId": env["id"],
            "configuration": {"ingress": {"external": True, "targetPort": 3000}},
        },
    )
    return [env, app]


def auth_config(properties: dict) -> dict:
    app_id = rid(APP, "testcanadacentral")
    return {
        "id": child_id(app_id, "authconfigs", "current"),
        "name": "current",
        "type": "Microsoft.App/containerapps/authconfigs",
        "properties": properties,
    }


def test_auth_config_typed_in_lower_case_is_read_and_anonymous_facebook_fails():
    config = auth_config(
        {
            "platform": {"enabled": True},
            "globalValidation": {"unauthenticatedClientAction": "AllowAnonymous"},
            "identityProviders": {
                "facebook": {"registration": {"appId": "123", "appSecretSettingName": "fb"}}
            },
        }
    )
    findings = run("PC-AUTH-001", [*public_app(), config])
    message = by_name(findings)["testcanadacentral"].message
    assert statuses(findings) == {"testcanadacentral": "FAIL"}
    assert "Microsoft Entra ID is not configured" in message
    assert "AllowAnonymous" in message


def test_auth_config_typed_in_lower_case_with_entra_and_401_passes():
    config = auth_config(
        {
            "platform": {"enabled": True},
            "globalValidation": {"unauthenticatedClientAction": "Return401"},
            "identityProviders": {
                "azureActiveDirectory": {
                    "enabled": True,
                    "registration": {
                        "clientId": "00000000-0000-0000-0000-0000000000aa",
                        "openIdIssuer": "https://login.microsoftonline.com/tenant/v2.0",
                    },
                }
            },
        }
    )
    assert statuses(run("PC-AUTH-001", [*public_app(), config])) == {"testcanadacentral": "PASS"}


def test_entra_provider_with_enabled_left_out_counts_as_enabled():
    # The examples leave `enabled` out of a provider; only `enabled: false` turns it off.
    config = auth_config(
        {
            "platform": {"enabled": True},
            "globalValidation": {"unauthenticatedClientAction": "Return403"},
            "identityProviders": {
                "azureActiveDirectory": {"registration": {"clientId": "00000000-aa"}}
            },
        }
    )
    assert statuses(run("PC-AUTH-001", [*public_app(), config])) == {"testcanadacentral": "PASS"}


# ---- PC-AI-001 ------------------------------------------------------------------------------------


def test_content_filter_as_the_2024_10_01_example_returns_it_is_judged():
    # The raiPolicies body has no `type` (it is taken from the id), mode `Asynchronous_filter`,
    # category names in lower case and one written with spaces.
    account = arm(
        "Microsoft.CognitiveServices/accounts", "accountName", kind="OpenAI", properties={}
    )
    policy_id = child_id(account["id"], "raiPolicies", "raiPolicyName")
    filters = [
        {
            "name": "hate",
            "blocking": False,
            "enabled": False,
            "severityThreshold": "High",
            "source": "Prompt",
        },
        {
            "name": "hate",
            "blocking": True,
            "enabled": True,
            "severityThreshold": "Medium",
            "source": "Completion",
        },
    ]
    for name in ("sexual", "selfharm", "violence"):
        for source in ("Prompt", "Completion"):
            filters.append(
                {
                    "name": name,
                    "blocking": True,
                    "enabled": True,
                    "severityThreshold": "Medium",
                    "source": source,
                }
            )
    filters.append(
        {
            "name": "Protected Material Text",
            "blocking": True,
            "source": "Completion",
            "enabled": True,
        }
    )
    policy = {
        "name": "raiPolicyName",
        "id": policy_id,
        "properties": {
            "basePolicyName": "Microsoft.Default",
            "mode": "Asynchronous_filter",
            "contentFilters": filters,
        },
    }
    deployment = arm(
        "Microsoft.CognitiveServices/accounts/deployments",
        "deploymentName",
        id=child_id(account["id"], "deployments", "deploymentName"),
        sku={"name": "Standard", "capacity": 1},
        properties={
            "model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-08-06"},
            "raiPolicyName": "raiPolicyName",
            "provisioningState": "Succeeded",
        },
    )
    findings = run("PC-AI-001", [account, policy, deployment])
    message = by_name(findings)["deploymentName"].message
    assert statuses(findings) == {"deploymentName": "FAIL"}
    assert "Asynchronous_filter" in message
    assert "hate on prompts filter is off" in message
    # The other categories block at Medium on both sides: only hate is named.
    assert "sexual" not in message and "violence" not in message
