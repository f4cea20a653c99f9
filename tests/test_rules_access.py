"""Identities that work: role assignments judged by their definitions' permissions."""

from __future__ import annotations

import json

import pytest
from builders import SUB, arm, rid, role_assignment, role_definition, run

from rules._access import action_matches, scope_covers

APP = "Microsoft.App/containerApps"
VAULT = "Microsoft.KeyVault/vaults"
UAMI = "Microsoft.ManagedIdentity/userAssignedIdentities"
ACR = "Microsoft.ContainerRegistry/registries"
AI = "Microsoft.CognitiveServices/accounts"
PRINCIPAL = "9d3c1a55-0f6e-4b7a-8c2d-1e5f9a7b3c40"
CLIENT = "2b8e6f14-7c3a-4d95-b1e0-6a4f8c2d9e73"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-app"

SECRETS_USER = role_definition(
    "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets User",
    data_actions=[
        "Microsoft.KeyVault/vaults/secrets/getSecret/action",
        "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    ],
)
VAULT_READER = role_definition(
    "21090545-7ca7-4776-b22c-e363652d74d2",
    "Key Vault Reader",
    actions=["Microsoft.KeyVault/vaults/*/read"],
    data_actions=["Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
)
ACR_PULL = role_definition(
    "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "AcrPull",
    actions=["Microsoft.ContainerRegistry/registries/pull/read"],
)
CONTRIBUTOR = role_definition(
    "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Contributor",
    actions=["*"],
    not_actions=[
        "Microsoft.Authorization/*/Delete",
        "Microsoft.Authorization/*/Write",
        "Microsoft.Authorization/elevateAccess/Action",
    ],
)
UAA = role_definition(
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "User Access Administrator",
    actions=["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
)
OPENAI_USER = role_definition(
    "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
    "Cognitive Services OpenAI User",
    actions=["Microsoft.CognitiveServices/*/read"],
    data_actions=[
        "Microsoft.CognitiveServices/accounts/OpenAI/*/read",
        "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
    ],
)
SECRETS_CUSTOM = role_definition(
    "3c1f0a2e-9b8d-4e7f-a6c5-0d1e2f3a4b5c",
    "Our secret readers",
    data_actions=["Microsoft.KeyVault/vaults/secrets/*"],
    not_data_actions=["Microsoft.KeyVault/vaults/secrets/delete"],
    built_in=False,
)


def identity_resource(name="id-app"):
    return arm(UAMI, name, properties={"principalId": PRINCIPAL, "clientId": CLIENT})


def app(*, secrets=None, registries=None, env=None, system=False):
    uami = rid(UAMI, "id-app")
    ident = {
        "type": "SystemAssigned,UserAssigned" if system else "UserAssigned",
        "userAssignedIdentities": {uami: {"principalId": PRINCIPAL, "clientId": CLIENT}},
    }
    if system:
        ident["principalId"] = "5f0e4d3c-2b1a-4f9e-8d7c-6b5a4f3e2d10"
    return arm(
        APP,
        "api",
        location="East US",
        identity=ident,
        properties={
            "configuration": {"secrets": secrets, "registries": registries},
            "template": {"containers": [{"name": "api", "image": "x", "env": env or []}]},
        },
    )


def vault(rbac=True, policies=None):
    return arm(
        VAULT,
        "kv1",
        properties={
            "vaultUri": "https://kv1.vault.azure.net/",
            "enableRbacAuthorization": rbac,
            "accessPolicies": policies or [],
        },
    )


def kv_secret(name="db-password"):
    return {
        "name": name,
        "keyVaultUrl": f"https://kv1.vault.azure.net/secrets/{name}",
        "identity": rid(UAMI, "id-app"),
    }


def only(findings):
    assert len(findings) == 1, [f.message for f in findings]
    return findings[0]


# ---- the permission model --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("*", "Microsoft.KeyVault/vaults/secrets/getSecret/action", True),
        (
            "Microsoft.KeyVault/vaults/secrets/*",
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            True,
        ),
        (
            "microsoft.keyvault/VAULTS/secrets/getsecret/action",
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            True,
        ),
        (
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            False,
        ),
        (
            "Microsoft.ServiceBus/*/send/action",
            "Microsoft.ServiceBus/namespaces/messages/send/action",
            True,
        ),
        ("Microsoft.Key.ault/*", "Microsoft.KeyVault/vaults/read", False),
    ],
)
def test_action_patterns_match_with_wildcards_and_without_case(pattern, action, expected):
    assert action_matches(pattern, action) is expected


def test_an_assignment_covers_its_scope_and_what_is_below_it_only():
    vault_id = rid(VAULT, "kv1")
    assert scope_covers(RG_ID, vault_id)
    assert scope_covers(vault_id.upper(), vault_id + "/secrets/s1")
    assert not scope_covers(RG_ID + "2", vault_id)
    assert not scope_covers(vault_id, RG_ID)
    assert scope_covers("/providers/Microsoft.Management/managementGroups/mg1", vault_id)


# ---- PC-RBAC-001: Key Vault references -------------------------------------------------------


def kv_case(*extra):
    return [identity_resource(), app(secrets=[kv_secret()]), vault(), *extra]


def test_key_vault_secrets_user_on_the_vault_reads_the_reference():
    f = only(
        run(
            "PC-RBAC-001",
            kv_case(SECRETS_USER, role_assignment(rid(VAULT, "kv1"), SECRETS_USER, PRINCIPAL)),
        )
    )
    assert f.status.value == "PASS" and "Key Vault Secrets User" in f.message


def test_a_role_at_the_resource_group_counts_and_a_tenant_level_definition_id_resolves():
    assignment = role_assignment(RG_ID, SECRETS_USER, PRINCIPAL, tenant_level_definition_id=True)
    assert only(run("PC-RBAC-001", kv_case(SECRETS_USER, assignment))).status.value == "PASS"


def test_a_custom_role_counts_by_its_data_actions():
    assignment = role_assignment(rid(VAULT, "kv1"), SECRETS_CUSTOM, PRINCIPAL)
    assert only(run("PC-RBAC-001", kv_case(SECRETS_CUSTOM, assignment))).status.value == "PASS"


def test_not_data_actions_take_the_permission_away():
    narrowed = role_definition(
        "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d",
        "All secrets but reading them",
        data_actions=["Microsoft.KeyVault/vaults/secrets/*"],
        not_data_actions=["Microsoft.KeyVault/vaults/secrets/getSecret/action"],
        built_in=False,
    )
    assignment = role_assignment(rid(VAULT, "kv1"), narrowed, PRINCIPAL)
    assert only(run("PC-RBAC-001", kv_case(narrowed, assignment))).status.value == "FAIL"


def test_key_vault_reader_is_metadata_only_and_fails_with_the_command_that_fixes_it():
    f = only(
        run(
            "PC-RBAC-001",
            kv_case(VAULT_READER, role_assignment(rid(VAULT, "kv1"), VAULT_READER, PRINCIPAL)),
        )
    )
    assert f.status.value == "FAIL"
    assert "id-app" in f.message and "kv1" in f.message and "Key Vault Secrets User" in f.message
    assert f.remediation is not None
    assert f"az role assignment create --assignee-object-id {PRINCIPAL}" in f.remediation
    assert rid(VAULT, "kv1") in f.remediation


def test_a_role_on_another_vault_does_not_count():
    other = role_assignment(rid(VAULT, "kv2"), SECRETS_USER, PRINCIPAL)
    assert only(run("PC-RBAC-001", kv_case(SECRETS_USER, other))).status.value == "FAIL"


def test_a_conditional_assignment_cannot_be_verified():
    assignment = role_assignment(
        rid(VAULT, "kv1"),
        SECRETS_USER,
        PRINCIPAL,
        condition="@Resource[Microsoft.KeyVault/vaults/secrets:name] StringEquals 'other'",
    )
    f = only(run("PC-RBAC-001", kv_case(SECRETS_USER, assignment)))
    assert f.status.value == "ERROR" and "condition" in f.message


def test_an_assignment_as_2015_07_01_lists_it_covers_the_resource_group_in_lower_case():
    # No principalType, the scope's `resourcegroups` in lower case.
    assignment = role_assignment(RG_ID, SECRETS_USER, PRINCIPAL)
    del assignment["properties"]["principalType"]
    assignment["properties"]["scope"] = RG_ID.replace("resourceGroups", "resourcegroups")
    assert only(run("PC-RBAC-001", kv_case(SECRETS_USER, assignment))).status.value == "PASS"


def test_a_definition_read_without_data_actions_grants_no_data_action():
    # 2015-07-01 role definitions carry only `actions` and `notActions`.
    old_shape = json.loads(json.dumps(SECRETS_USER))
    old_shape["properties"]["permissions"] = [{"actions": [], "notActions": []}]
    assignment = role_assignment(rid(VAULT, "kv1"), old_shape, PRINCIPAL)
    assert only(run("PC-RBAC-001", kv_case(old_shape, assignment))).status.value == "FAIL"


def test_a_condition_left_null_is_no_condition():
    assignment = role_assignment(rid(VAULT, "kv1"), SECRETS_USER, PRINCIPAL)
    assignment["properties"].update({"condition": None, "conditionVersion": None})
    assert only(run("PC-RBAC-001", kv_case(SECRETS_USER, assignment))).status.value == "PASS"


def test_an_assignment_whose_definition_was_not_read_cannot_be_verified():
    f = only(
        run("PC-RBAC-001", kv_case(role_assignment(rid(VAULT, "kv1"), SECRETS_USER, PRINCIPAL)))
    )
    assert f.status.value == "ERROR" and "not read" in f.message


def test_vault_without_rbac_is_judged_by_its_access_policies():
    allowed = vault(
        rbac=False, policies=[{"objectId": PRINCIPAL, "permissions": {"secrets": ["Get", "List"]}}]
    )
    denied = vault(
        rbac=False, policies=[{"objectId": PRINCIPAL, "permissions": {"secrets": ["List"]}}]
    )
    base = [identity_resource(), app(secrets=[kv_secret()])]
    assert only(run("PC-RBAC-001", [*base, allowed])).status.value == "PASS"
    f = only(run("PC-RBAC-001", [*base, denied]))
    assert f.status.value == "FAIL" and "az keyvault set-policy" in (f.remediation or "")


def test_unreadable_role_assignments_are_an_error_naming_the_permission():
    read = [
        {"resourceType": t, "scope": f"/subscriptions/{SUB}", "status": "ok", "count": 1}
        for t in (APP, VAULT, UAMI, "Microsoft.Authorization/roleDefinitions")
    ]
    refused = {
        "resourceType": "Microsoft.Authorization/roleAssignments",
        "scope": f"/subscriptions/{SUB}",
        "status": "failed",
        "statusCode": 403,
        "errorCode": "AuthorizationFailed",
        "message": "no access",
        "permission": "Microsoft.Authorization/roleAssignments/read",
    }
    findings = run("PC-RBAC-001", kv_case(SECRETS_USER), coverage=[*read, refused])
    (on_app,) = [f for f in findings if f.resource_name == "api"]
    assert on_app.status.value == "ERROR"
    assert "roleAssignments could not be read" in on_app.message
    assert {f.status.value for f in findings} == {"ERROR"}
    assert any("grant Microsoft.Authorization/roleAssignments/read" in f.message for f in findings)


# ---- PC-RBAC-002: image pulls ------------------------------------------------------------------


def registry_case(*extra):
    registry = arm(
        ACR, "cr1", properties={"loginServer": "cr1.azurecr.io", "adminUserEnabled": False}
    )
    entry = {
        "server": "cr1.azurecr.io",
        "identity": rid(UAMI, "id-app"),
        "username": "",
        "passwordSecretRef": "",
    }
    return [identity_resource(), app(registries=[entry]), registry, *extra]


def test_acr_pull_on_the_registry_allows_the_pull():
    f = only(
        run(
            "PC-RBAC-002",
            registry_case(ACR_PULL, role_assignment(rid(ACR, "cr1"), ACR_PULL, PRINCIPAL)),
        )
    )
    assert f.status.value == "PASS"


def test_a_login_server_in_mixed_case_as_the_2023_07_01_body_has_it_is_the_registry():
    case = registry_case(ACR_PULL, role_assignment(rid(ACR, "cr1"), ACR_PULL, PRINCIPAL))
    case[2]["properties"].update(
        {"loginServer": "Cr1.azurecr.io", "status": None, "publicNetworkAccess": "Enabled"}
    )
    assert only(run("PC-RBAC-002", case)).status.value == "PASS"


def test_no_pull_role_fails_naming_acr_pull():
    f = only(run("PC-RBAC-002", registry_case(ACR_PULL)))
    assert (
        f.status.value == "FAIL" and "AcrPull" in f.message and "AcrPull" in (f.remediation or "")
    )


def test_a_registry_outside_the_scope_cannot_be_verified():
    entry = {"server": "elsewhere.azurecr.io", "identity": rid(UAMI, "id-app")}
    f = only(run("PC-RBAC-002", [identity_resource(), app(registries=[entry])]))
    assert f.status.value == "ERROR"


# ---- PC-RBAC-003: keyless services -------------------------------------------------------------


def ai_account(disable_local_auth=True):
    return arm(
        AI,
        "ai1",
        kind="AIServices",
        properties={
            "endpoint": "https://ai1.cognitiveservices.azure.com/",
            "customSubDomainName": "ai1",
            "disableLocalAuth": disable_local_auth,
        },
    )


def openai_env():
    return [
        {"name": "AZURE_CLIENT_ID", "value": CLIENT},
        {"name": "AZURE_OPENAI_ENDPOINT", "value": "https://ai1.openai.azure.com/"},
    ]


def test_an_openai_caller_needs_the_openai_data_action():
    ok = run(
        "PC-RBAC-003",
        [
            identity_resource(),
            app(env=openai_env()),
            ai_account(),
            OPENAI_USER,
            role_assignment(rid(AI, "ai1"), OPENAI_USER, PRINCIPAL),
        ],
    )
    assert only(ok).status.value == "PASS"
    f = only(
        run("PC-RBAC-003", [identity_resource(), app(env=openai_env()), ai_account(), OPENAI_USER])
    )
    assert f.status.value == "FAIL"
    assert "Cognitive Services OpenAI User" in f.message
    assert "--role 'Cognitive Services OpenAI User'" in (f.remediation or "")


def test_a_service_that_still_accepts_keys_is_left_to_the_key_rule():
    findings = run("PC-RBAC-003", [identity_resource(), app(env=openai_env()), ai_account(False)])
    assert all(f.status.value == "NOT_APPLICABLE" for f in findings)


def test_the_identity_named_by_azure_client_id_is_the_one_judged():
    # the system identity holds the role, but the SDK signs in as the user-assigned one
    system = "5f0e4d3c-2b1a-4f9e-8d7c-6b5a4f3e2d10"
    resources = [
        identity_resource(),
        app(env=openai_env(), system=True),
        ai_account(),
        OPENAI_USER,
        role_assignment(rid(AI, "ai1"), OPENAI_USER, system),
    ]
    assert only(run("PC-RBAC-003", resources)).status.value == "FAIL"


def test_keyless_redis_is_not_verified_rather_than_passed():
    cluster = arm(
        "Microsoft.Cache/redisEnterprise",
        "redis1",
        properties={"hostName": "redis1.eastus.redis.azure.net"},
    )
    database = arm(
        "Microsoft.Cache/redisEnterprise/databases",
        "default",
        id=cluster["id"] + "/databases/default",
        properties={"accessKeysAuthentication": "Disabled"},
    )
    env = [{"name": "REDIS_HOST", "value": "redis1.eastus.redis.azure.net:10000"}]
    f = only(run("PC-RBAC-003", [identity_resource(), app(env=env), cluster, database]))
    assert f.status.value == "ERROR" and "accessPolicyAssignments" in f.message


def test_api_management_backends_are_called_with_its_identity():
    apim = arm(
        "Microsoft.ApiManagement/service",
        "apim1",
        identity={"type": "SystemAssigned", "principalId": PRINCIPAL},
        properties={},
    )
    backend = arm(
        "Microsoft.ApiManagement/service/backends",
        "openai",
        id=apim["id"] + "/backends/openai",
        properties={"url": "https://ai1.openai.azure.com/openai"},
    )
    fail = only(run("PC-RBAC-003", [apim, backend, ai_account(), OPENAI_USER]))
    assert fail.status.value == "FAIL" and "apim1" in fail.message
    grant = role_assignment(rid(AI, "ai1"), OPENAI_USER, PRINCIPAL)
    assert (
        only(run("PC-RBAC-003", [apim, backend, ai_account(), OPENAI_USER, grant])).status.value
        == "PASS"
    )


# ---- PC-RBAC-004: least privilege ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "scope", "expected"),
    [
        (CONTRIBUTOR, RG_ID, "FAIL"),
        (CONTRIBUTOR, f"/subscriptions/{SUB}", "FAIL"),
        # 2015-07-01 writes the scope's `resourcegroups` in lower case.
        (CONTRIBUTOR, f"/subscriptions/{SUB}/resourcegroups/rg-app", "FAIL"),
        (CONTRIBUTOR, f"/subscriptions/{SUB}/", "FAIL"),
        (UAA, RG_ID, "FAIL"),
        (CONTRIBUTOR, rid(VAULT, "kv1"), "PASS"),
        (ACR_PULL, RG_ID, "PASS"),
    ],
)
def test_workload_identities_hold_no_owner_contributor_or_access_admin_at_broad_scopes(
    definition, scope, expected
):
    resources = [
        identity_resource(),
        app(),
        definition,
        role_assignment(scope, definition, PRINCIPAL),
    ]
    assert only(run("PC-RBAC-004", resources)).status.value == expected


def test_a_broad_conditional_assignment_cannot_be_verified():
    assignment = role_assignment(
        RG_ID, UAA, PRINCIPAL, condition="@Request[...] ForAnyOfAnyValues:GuidEquals {x}"
    )
    f = only(run("PC-RBAC-004", [identity_resource(), app(), UAA, assignment]))
    assert f.status.value == "ERROR"


# ---- in a Terraform plan ---------------------------------------------------------------------


def test_a_plan_carries_role_definitions_it_reads_and_principals_that_exist():
    from tfplan import change, plan

    from prodcheck.plans.terraform import parse_terraform_plan

    rg = f"/subscriptions/{SUB}/resourceGroups/rg-app"
    vault_id = f"{rg}/providers/Microsoft.KeyVault/vaults/kv1"
    definition_after = {
        "type": "Microsoft.Authorization/roleDefinitions@2022-04-01",
        "name": SECRETS_USER["name"],
        "parent_id": f"/subscriptions/{SUB}",
        "response_export_values": ["*"],
        "output": {k: v for k, v in SECRETS_USER.items() if k != "id"},
    }
    assignment_after = {
        "type": "Microsoft.Authorization/roleAssignments@2022-04-01",
        "name": "0f9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c",
        "parent_id": vault_id,
        "body": {
            "properties": {
                "roleDefinitionId": SECRETS_USER["id"],
                "principalId": PRINCIPAL,
                "principalType": "ServicePrincipal",
            }
        },
    }
    app_after = {
        "type": "Microsoft.App/containerApps@2024-03-01",
        "name": "api",
        "parent_id": rg,
        "identity": [{"type": "SystemAssigned", "identity_ids": [], "principal_id": PRINCIPAL}],
        "body": {"properties": {}},
    }
    data = plan(
        [
            change(
                "data.azapi_resource.secrets_user", definition_after, actions=("read",), mode="data"
            ),
            change(
                "data.azapi_resource.other",
                {"type": "Microsoft.KeyVault/vaults@2023-07-01", "output": {}},
                actions=("read",),
                mode="data",
            ),
            change(
                "azapi_resource.grant",
                assignment_after,
                actions=("no-op",),
                before=assignment_after,
            ),
            change("azapi_resource.app", app_after, actions=("no-op",), before=app_after),
        ]
    )
    snap = parse_terraform_plan(data, "plan.json")
    by_type = {r["type"]: r for r in snap.resources}
    definition = by_type["Microsoft.Authorization/roleDefinitions"]
    assert definition["id"].lower() == SECRETS_USER["id"].lower()
    assert definition["properties"]["permissions"] == SECRETS_USER["properties"]["permissions"]
    assert (
        by_type["Microsoft.Authorization/roleAssignments"]["id"]
        .lower()
        .startswith(vault_id.lower())
    )
    assert by_type["Microsoft.App/containerApps"]["identity"]["principalId"] == PRINCIPAL
    assert "Microsoft.KeyVault/vaults" not in by_type  # other data sources stay plan context


def test_a_missing_role_remediation_is_one_pasteable_command_per_grant():
    import shlex

    from prodcheck.model import split_remediation

    f = only(run("PC-RBAC-001", kv_case(VAULT_READER)))
    remedy = split_remediation(f.remediation or "")
    assert remedy.prose and "az " not in remedy.prose
    [command] = remedy.commands
    words = shlex.split(command)
    assert words[:4] == ["az", "role", "assignment", "create"]
    assert words[words.index("--role") + 1] == "Key Vault Secrets User"
    assert words[words.index("--scope") + 1] == rid(VAULT, "kv1")
