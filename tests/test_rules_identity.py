"""Managed identity rules: PC-ID-001 to PC-ID-005."""

from __future__ import annotations

import json

import pytest
from builders import arm, by_name, child_id, rid, run, snapshot, statuses

from prodcheck.api import audit_snapshot
from prodcheck.model import Severity

APP = "Microsoft.App/containerApps"
UAI = rid("Microsoft.ManagedIdentity/userAssignedIdentities", "id-api")
APP_INSIGHTS_CS = (
    "InstrumentationKey=00000000-0000-0000-0000-0000000000d1;"
    "IngestionEndpoint=https://eastus-8.in.applicationinsights.azure.com/"
)


def container_app(
    name: str = "api",
    *,
    identity: dict | None = None,
    registries: list | None = None,
    secrets: list | None = None,
    env: list | None = None,
    init_env: list | None = None,
) -> dict:
    template: dict = {"containers": [{"name": "main", "image": "cr.azurecr.io/api:1", "env": env}]}
    if init_env is not None:
        template["initContainers"] = [
            {"name": "migrate", "image": "cr.azurecr.io/m:1", "env": init_env}
        ]
    return arm(
        APP,
        name,
        identity=identity if identity is not None else {"type": "SystemAssigned"},
        properties={
            "configuration": {"registries": registries, "secrets": secrets},
            "template": template,
        },
    )


# ---- PC-ID-001 --------------------------------------------------------------------------------


def test_app_with_identity_pulling_with_it_passes():
    app = container_app(registries=[{"server": "cr.azurecr.io", "identity": "system"}])
    findings = run("PC-ID-001", [app])
    assert statuses(findings) == {"api": "PASS"}
    assert "pulls from cr.azurecr.io" in findings[0].message


def test_registry_entry_with_empty_username_and_password_ref_still_counts_as_identity_pull():
    app = container_app(
        identity={"type": "UserAssigned", "userAssignedIdentities": {UAI: {}}},
        registries=[
            {"server": "cr.azurecr.io", "username": "", "passwordSecretRef": "", "identity": UAI}
        ],
    )
    assert statuses(run("PC-ID-001", [app])) == {"api": "PASS"}


def test_pull_with_the_environments_identity_counts_as_identity_pull():
    app = container_app(registries=[{"server": "cr.azurecr.io", "identity": "system-environment"}])
    assert statuses(run("PC-ID-001", [app])) == {"api": "PASS"}


def test_app_without_managed_identity_fails():
    findings = run("PC-ID-001", [container_app(identity={"type": "None"})])
    assert statuses(findings) == {"api": "FAIL"}
    assert "no managed identity" in findings[0].message


def test_registry_password_secret_fails_naming_the_registry():
    app = container_app(
        registries=[
            {"server": "cr.azurecr.io", "username": "cr", "passwordSecretRef": "registry-pw"}
        ]
    )
    findings = run("PC-ID-001", [app])
    assert statuses(findings) == {"api": "FAIL"}
    assert "cr.azurecr.io with a password secret" in findings[0].message


def test_registry_identity_the_app_does_not_have_fails():
    app = container_app(registries=[{"server": "cr.azurecr.io", "identity": UAI}])
    findings = run("PC-ID-001", [app])
    assert statuses(findings) == {"api": "FAIL"}
    assert "which the app does not have" in findings[0].message


def test_app_with_identity_and_no_private_registry_passes():
    findings = run("PC-ID-001", [container_app()])
    assert statuses(findings) == {"api": "PASS"}
    assert "no private registry" in findings[0].message


def test_no_container_apps_is_not_applicable():
    assert statuses(run("PC-ID-001", [])) == {"scope": "NOT_APPLICABLE"}


# ---- PC-ID-002 --------------------------------------------------------------------------------

KEY_AUTH_CASES = [
    (
        "Microsoft.CognitiveServices/accounts",
        {"disableLocalAuth": False},
        {"disableLocalAuth": True},
    ),
    (
        "Microsoft.DocumentDB/databaseAccounts",
        {"disableLocalAuth": False},
        {"disableLocalAuth": True},
    ),
    (
        "Microsoft.DocumentDB/mongoClusters",
        {"authConfig": {"allowedModes": ["MicrosoftEntraID", "NativeAuth"]}},
        {"authConfig": {"allowedModes": ["MicrosoftEntraID"]}},
    ),
    (
        "Microsoft.Cache/redis",
        {"disableAccessKeyAuthentication": False},
        {"disableAccessKeyAuthentication": True},
    ),
    (
        "Microsoft.Communication/communicationServices",
        {"disableLocalAuth": False},
        {"disableLocalAuth": True},
    ),
    (
        "Microsoft.AppConfiguration/configurationStores",
        {"disableLocalAuth": False},
        {"disableLocalAuth": True},
    ),
    (
        "Microsoft.Storage/storageAccounts",
        {"allowSharedKeyAccess": True},
        {"allowSharedKeyAccess": False},
    ),
    (
        "Microsoft.ContainerRegistry/registries",
        {"adminUserEnabled": True},
        {"adminUserEnabled": False},
    ),
    ("Microsoft.Insights/components", {"DisableLocalAuth": False}, {"DisableLocalAuth": True}),
    ("Microsoft.ServiceBus/namespaces", {"disableLocalAuth": False}, {"disableLocalAuth": True}),
    ("Microsoft.EventHub/namespaces", {"disableLocalAuth": False}, {"disableLocalAuth": True}),
    ("Microsoft.EventGrid/topics", {"disableLocalAuth": False}, {"disableLocalAuth": True}),
    ("Microsoft.SignalRService/signalR", {"disableLocalAuth": False}, {"disableLocalAuth": True}),
]


@pytest.mark.parametrize(("type_", "keys_on", "keys_off"), KEY_AUTH_CASES)
def test_key_auth_on_fails_and_off_passes(type_, keys_on, keys_off):
    findings = run(
        "PC-ID-002", [arm(type_, "on", properties=keys_on), arm(type_, "off", properties=keys_off)]
    )
    assert statuses(findings) == {"on": "FAIL", "off": "PASS"}


def test_redis_enterprise_database_is_judged_on_its_own_access_key_setting():
    cluster = rid("Microsoft.Cache/redisEnterprise", "redis1")
    on = arm(
        "Microsoft.Cache/redisEnterprise/databases",
        "default",
        id=child_id(cluster, "databases", "default"),
        properties={"accessKeysAuthentication": "Enabled"},
    )
    findings = run("PC-ID-002", [arm("Microsoft.Cache/redisEnterprise", "redis1"), on])
    assert statuses(findings) == {"default": "FAIL"}
    on["properties"]["accessKeysAuthentication"] = "Disabled"
    assert statuses(run("PC-ID-002", [on])) == {"default": "PASS"}


def test_redis_enterprise_database_not_reporting_access_keys_is_error():
    db = arm(
        "Microsoft.Cache/redisEnterprise/databases",
        "default",
        properties={"clientProtocol": "Encrypted"},
    )
    findings = run("PC-ID-002", [db])
    assert statuses(findings) == {"default": "ERROR"}
    assert "api-version" in findings[0].message


def test_cosmos_account_of_the_mongodb_ru_api_cannot_refuse_keys():
    mongo_ru = arm(
        "Microsoft.DocumentDB/databaseAccounts",
        "ru",
        kind="MongoDB",
        properties={"disableLocalAuth": False},
    )
    nosql = arm(
        "Microsoft.DocumentDB/databaseAccounts", "nosql", kind="GlobalDocumentDB", properties={}
    )
    assert statuses(run("PC-ID-002", [mongo_ru, nosql])) == {
        "ru": "NOT_APPLICABLE",
        "nosql": "FAIL",
    }


def test_absent_switch_takes_the_service_default():
    findings = run(
        "PC-ID-002",
        [
            arm("Microsoft.Storage/storageAccounts", "st", properties={}),
            arm("Microsoft.ContainerRegistry/registries", "cr", properties={}),
        ],
    )
    # Storage accepts shared keys unless told otherwise; ACR's admin user is off unless turned on.
    assert statuses(findings) == {"st": "FAIL", "cr": "PASS"}
    assert "accepted by default" in by_name(findings)["st"].message


def test_setting_missing_where_arm_always_returns_it_is_error_naming_the_api_version():
    findings = run(
        "PC-ID-002",
        [
            arm("Microsoft.DocumentDB/mongoClusters", "mongo", properties={}),
            arm("Microsoft.Communication/communicationServices", "acs", properties={}),
        ],
    )
    assert statuses(findings) == {"mongo": "ERROR", "acs": "ERROR"}
    assert "2025-04-01-preview" in by_name(findings)["mongo"].message
    assert "2025-05-01" in by_name(findings)["acs"].message


def test_app_insights_local_auth_is_read_whatever_the_case_of_the_property():
    component = arm("microsoft.insights/components", "ai", properties={"disableLocalAuth": True})
    assert statuses(run("PC-ID-002", [component])) == {"ai": "PASS"}


def test_key_auth_failure_carries_the_command_that_fixes_it():
    findings = run(
        "PC-ID-002",
        [arm("Microsoft.Storage/storageAccounts", "st", properties={"allowSharedKeyAccess": True})],
    )
    assert "--allow-shared-key-access false" in findings[0].remediation
    assert "-n st" in findings[0].remediation


# ---- PC-ID-003 --------------------------------------------------------------------------------

STORAGE_KEY = "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=c2VjcmV0LWtleS12YWx1ZQ=="


def test_env_var_with_a_key_in_a_literal_fails_naming_variable_and_pattern_never_the_value():
    app = container_app(
        env=[{"name": "STORAGE", "value": STORAGE_KEY}, {"name": "PORT", "value": "8000"}]
    )
    findings = run("PC-ID-003", [app])
    assert statuses(findings) == {"api": "FAIL"}
    finding = findings[0]
    assert "STORAGE" in finding.message and "AccountKey=" in finding.message
    assert "c2VjcmV0LWtleS12YWx1ZQ" not in finding.message
    assert "c2VjcmV0LWtleS12YWx1ZQ" not in json.dumps(finding.evidence)
    assert finding.severity == Severity.CRITICAL


def test_credential_name_with_literal_value_fails():
    app = container_app(env=[{"name": "AZURE_OPENAI_API_KEY", "value": "0123456789abcdef"}])
    findings = run("PC-ID-003", [app])
    assert statuses(findings) == {"api": "FAIL"}
    assert "*_KEY" in findings[0].message
    assert "0123456789abcdef" not in findings[0].message + json.dumps(findings[0].evidence)


def test_init_container_credentials_count_too():
    app = container_app(env=[], init_env=[{"name": "DB", "value": "Server=db;Password=hunter2"}])
    findings = run("PC-ID-003", [app])
    assert statuses(findings) == {"api": "FAIL"}
    assert "migrate" in findings[0].message


def test_secret_references_pass():
    app = container_app(env=[{"name": "STORAGE_CONNECTION_STRING", "secretRef": "storage"}])
    assert statuses(run("PC-ID-003", [app])) == {"api": "PASS"}


def test_app_insights_connection_string_does_not_fail_the_credential_rule():
    app = container_app(
        env=[{"name": "APPLICATIONINSIGHTS_CONNECTION_STRING", "value": APP_INSIGHTS_CS}]
    )
    assert statuses(run("PC-ID-003", [app])) == {"api": "PASS"}


# ---- PC-ID-004 --------------------------------------------------------------------------------

KV_URL = "https://kv-prod.vault.azure.net/secrets/signing-key"


def test_secret_without_key_vault_url_fails():
    app = container_app(secrets=[{"name": "signing-key"}])
    findings = run("PC-ID-004", [app])
    assert statuses(findings) == {"api": "FAIL"}
    assert "signing-key is held in the app (no keyVaultUrl)" in findings[0].message


def test_key_vault_reference_read_with_the_apps_identity_passes():
    app = container_app(
        secrets=[{"name": "signing-key", "keyVaultUrl": KV_URL, "identity": "system"}]
    )
    assert statuses(run("PC-ID-004", [app])) == {"api": "PASS"}


def test_key_vault_reference_without_identity_fails():
    app = container_app(secrets=[{"name": "signing-key", "keyVaultUrl": KV_URL}])
    findings = run("PC-ID-004", [app])
    assert statuses(findings) == {"api": "FAIL"}
    assert "no identity" in findings[0].message


def test_key_vault_reference_with_an_identity_the_app_lacks_fails():
    app = container_app(secrets=[{"name": "signing-key", "keyVaultUrl": KV_URL, "identity": UAI}])
    assert statuses(run("PC-ID-004", [app])) == {"api": "FAIL"}


def test_app_without_secrets_is_not_applicable():
    assert statuses(run("PC-ID-004", [container_app(secrets=None)])) == {"api": "NOT_APPLICABLE"}


# ---- PC-ID-005 --------------------------------------------------------------------------------


def test_plain_app_insights_connection_string_is_a_low_severity_failure():
    app = container_app(
        env=[{"name": "APPLICATIONINSIGHTS_CONNECTION_STRING", "value": APP_INSIGHTS_CS}]
    )
    findings = run("PC-ID-005", [app])
    assert statuses(findings) == {"api": "FAIL"}
    assert findings[0].severity == Severity.LOW
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" in findings[0].message


def test_app_insights_connection_string_from_a_secret_passes():
    app = container_app(
        env=[{"name": "APPLICATIONINSIGHTS_CONNECTION_STRING", "secretRef": "ai-cs"}]
    )
    assert statuses(run("PC-ID-005", [app])) == {"api": "PASS"}


def test_whole_json_report_never_carries_the_credential_value():
    app = container_app(env=[{"name": "STORAGE", "value": STORAGE_KEY}])
    report = audit_snapshot(snapshot([app]), rules=["PC-ID-*"])
    text = json.dumps(report.to_json())
    assert "STORAGE" in text and "AccountKey=" in text
    assert "c2VjcmV0LWtleS12YWx1ZQ" not in text


@pytest.mark.parametrize("rule_id", ["PC-ID-002", "PC-ID-003", "PC-ID-005"])
def test_nothing_to_check_is_not_applicable(rule_id):
    assert statuses(run(rule_id, [arm("Microsoft.Network/virtualNetworks", "vnet")])) == {
        "scope": "NOT_APPLICABLE"
    }


def test_an_app_whose_containers_were_not_read_is_error_not_pass():
    from builders import arm, run

    app = arm("Microsoft.App/containerApps", "api", properties={"configuration": {}})
    [finding] = run("PC-ID-003", [app])
    assert finding.status.value == "ERROR"
    assert "could not be checked" in finding.message


# ---- shapes of the GET bodies ------------------------------------------------------------------


def test_app_with_both_identity_kinds_as_the_2025_07_body_writes_them_pulls_with_either():
    # `SystemAssigned,UserAssigned` without a space; the identity id keyed with `resourcegroups`.
    keyed = UAI.replace("resourceGroups", "resourcegroups")
    identity = {
        "type": "SystemAssigned,UserAssigned",
        "principalId": "24adfa4f-dedf-8dc0-ca29-b6d1a69ab319",
        "userAssignedIdentities": {keyed: {"principalId": "74ad", "clientId": "14ad"}},
    }
    findings = run(
        "PC-ID-001",
        [
            container_app(
                "by-id",
                identity=identity,
                registries=[{"server": "cr.azurecr.io", "identity": UAI}],
            ),
            container_app(
                "by-system",
                identity=identity,
                registries=[{"server": "cr.azurecr.io", "identity": "system"}],
            ),
        ],
    )
    assert statuses(findings) == {"by-id": "PASS", "by-system": "PASS"}


def test_bodies_that_leave_the_key_switch_out_are_judged_on_the_service_default():
    # Cognitive Services 2017-04-18 and 2025-09-01, Redis 2024-11-01 (type spelled
    # `Microsoft.Cache/Redis`), App Insights 2020-02-02 (tags as an empty string): none carries
    # the switch, and each accepts keys; ACR 2023-07-01 returns `adminUserEnabled: false`.
    cognitive = arm(
        "Microsoft.CognitiveServices/accounts",
        "cog",
        kind="Emotion",
        sku={"name": "F0"},
        properties={
            "endpoint": "https://westus.api.cognitive.microsoft.com/emotion/v1.0",
            "provisioningState": "Succeeded",
        },
    )
    redis = arm(
        "Microsoft.Cache/Redis",
        "cache1",
        properties={"enableNonSslPort": True, "publicNetworkAccess": "Enabled", "port": 6379},
    )
    insights = arm(
        "Microsoft.Insights/components",
        "ai",
        kind="web",
        tags="",
        properties={"ApplicationId": "ai", "IngestionMode": "LogAnalytics"},
    )
    registry = arm(
        "Microsoft.ContainerRegistry/registries",
        "cr",
        properties={"adminUserEnabled": False, "status": None, "publicNetworkAccess": "Enabled"},
    )
    findings = run("PC-ID-002", [cognitive, redis, insights, registry])
    assert statuses(findings) == {"cog": "FAIL", "cache1": "FAIL", "ai": "FAIL", "cr": "PASS"}
    assert "accepted by default" in by_name(findings)["cache1"].message


def test_switch_set_to_null_is_not_set():
    storage = arm(
        "Microsoft.Storage/storageAccounts", "st", properties={"allowSharedKeyAccess": None}
    )
    findings = run("PC-ID-002", [storage])
    assert statuses(findings) == {"st": "FAIL"}


def test_containers_without_env_as_the_2025_07_body_has_them_hold_no_credential():
    app = arm(
        APP,
        "testcontainerapp0",
        identity={"type": "SystemAssigned"},
        properties={
            "configuration": {"ingress": {"external": True, "targetPort": 3000}},
            "template": {
                "containers": [{"image": "repo/app:v4", "name": "app", "resources": {"cpu": 0.5}}],
                "initContainers": [
                    {"image": "repo/init:v4", "name": "init", "command": ["/bin/sh"]}
                ],
            },
        },
    )
    findings = run("PC-ID-003", [app])
    assert statuses(findings) == {"testcontainerapp0": "PASS"}
    assert "0 plain environment variable" in findings[0].message
    # The body has no `secrets` at all: nothing for PC-ID-004 to judge.
    assert statuses(run("PC-ID-004", [app])) == {"testcontainerapp0": "NOT_APPLICABLE"}


def test_key_vault_reference_naming_the_identity_in_another_case_is_the_apps_identity():
    identity = {"type": "UserAssigned", "userAssignedIdentities": {UAI.lower(): {}}}
    app = container_app(
        identity=identity,
        secrets=[{"name": "signing-key", "keyVaultUrl": KV_URL, "identity": UAI}],
    )
    assert statuses(run("PC-ID-004", [app])) == {"api": "PASS"}
