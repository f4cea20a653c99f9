"""Role assignments and definitions through the fake ARM: what a list returns, and a 403."""

from __future__ import annotations

from fake_arm.arm_json import SUB, resource

from prodcheck.api import audit_snapshot
from prodcheck.collect import collect_snapshot

pytest_plugins = ["fake_arm.fixtures"]

RA = "Microsoft.Authorization/roleAssignments"
RD = "Microsoft.Authorization/roleDefinitions"
APP = "Microsoft.App/containerApps"
VAULT = "Microsoft.KeyVault/vaults"
UAMI = "Microsoft.ManagedIdentity/userAssignedIdentities"
PRINCIPAL = "9d3c1a55-0f6e-4b7a-8c2d-1e5f9a7b3c40"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


def definition(guid, name, data_actions):
    return {
        "id": f"/subscriptions/{SUB}/providers/{RD}/{guid}",
        "type": RD,
        "name": guid,
        "properties": {
            "roleName": name,
            "type": "BuiltInRole",
            "assignableScopes": ["/"],
            "permissions": [
                {"actions": [], "notActions": [], "dataActions": data_actions, "notDataActions": []}
            ],
        },
    }


def assignment(scope, name, principal=PRINCIPAL, guid=SECRETS_USER):
    return {
        "id": f"{scope}/providers/{RA}/{name}",
        "type": RA,
        "name": name,
        "properties": {
            "roleDefinitionId": f"/subscriptions/{SUB}/providers/{RD}/{guid}",
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": scope,
        },
    }


def estate():
    uami = resource(UAMI, "id-app", properties={"principalId": PRINCIPAL, "clientId": "c1"})
    app = resource(
        APP,
        "api",
        tags={"env": "prod"},
        identity={"type": "UserAssigned", "userAssignedIdentities": {uami["id"]: {}}},
        properties={
            "configuration": {
                "secrets": [
                    {
                        "name": "s1",
                        "keyVaultUrl": "https://kv-app.vault.azure.net/secrets/s1",
                        "identity": uami["id"],
                    }
                ]
            },
            "template": {"containers": [{"name": "api", "image": "x"}]},
        },
    )
    vault = resource(
        VAULT,
        "kv-app",
        tags={"env": "prod"},
        properties={"vaultUri": "https://kv-app.vault.azure.net/", "enableRbacAuthorization": True},
    )
    other = resource(VAULT, "kv-other", rg="rg-other", properties={})
    sub_scope = f"/subscriptions/{SUB}"
    return [
        uami,
        app,
        vault,
        other,
        definition(
            SECRETS_USER,
            "Key Vault Secrets User",
            ["Microsoft.KeyVault/vaults/secrets/getSecret/action"],
        ),
        assignment(sub_scope, "a0000000-0000-4000-8000-000000000001", principal="p-sub"),
        assignment(
            f"{sub_scope}/resourceGroups/rg-app",
            "a0000000-0000-4000-8000-000000000002",
            principal="p-rg",
        ),
        assignment(vault["id"], "a0000000-0000-4000-8000-000000000003"),
        assignment(other["id"], "a0000000-0000-4000-8000-000000000004", principal="p-other"),
    ]


def names(snapshot, rtype):
    return sorted(r["name"][-1] for r in snapshot["resources"] if r["type"] == rtype)


def test_a_subscription_list_returns_assignments_at_every_scope_below_it(fake_arm, make_options):
    fake_arm.serve(estate())
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [RA, RD])
    assert names(snap, RA) == ["1", "2", "3", "4"]
    assert [r["name"] for r in snap["resources"] if r["type"] == RD] == [SECRETS_USER]
    listed = [r for r in fake_arm.requests if r.path.lower().endswith("/roleassignments")]
    assert len(listed) == 1 and "$filter" not in {k.lower() for k in listed[0].query}


def test_a_resource_group_list_returns_assignments_above_at_and_below_the_group(
    fake_arm, make_options
):
    fake_arm.serve(estate())
    snap = collect_snapshot(make_options(subscriptions=[SUB], resource_groups=["rg-app"]), [RA, RD])
    assert names(snap, RA) == ["1", "2", "3"]
    assert names(snap, RD) == [SECRETS_USER[-1]]


def test_a_tag_filter_keeps_role_assignments_which_carry_no_tags(fake_arm, make_options):
    fake_arm.serve(estate())
    snap = collect_snapshot(
        make_options(subscriptions=[SUB], tags={"env": "prod"}), [RA, RD, VAULT]
    )
    assert names(snap, RA) == ["1", "2", "3", "4"]
    assert [r["name"] for r in snap["resources"] if r["type"] == VAULT] == ["kv-app"]


def test_refused_role_assignments_make_the_identity_verdicts_errors(fake_arm, make_options):
    fake_arm.serve(estate())
    fake_arm.fault(r"providers/Microsoft\.Authorization/roleAssignments$", status=403)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [APP, VAULT, UAMI, RA, RD])
    (record,) = [c for c in snap["coverage"] if c["status"] == "failed"]
    assert record["resourceType"] == RA and record["statusCode"] == 403
    assert record["permission"] == "Microsoft.Authorization/roleAssignments/read"
    report = audit_snapshot(snap, rules=["PC-RBAC-001"])
    statuses = {f.status.value for f in report.findings}
    assert statuses == {"ERROR"}
    assert any("Microsoft.Authorization/roleAssignments/read" in f.message for f in report.findings)


def test_the_same_estate_read_in_full_passes(fake_arm, make_options):
    fake_arm.serve(estate())
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [APP, VAULT, UAMI, RA, RD])
    report = audit_snapshot(snap, rules=["PC-RBAC-001"])
    assert [f.status.value for f in report.findings] == ["PASS"]
