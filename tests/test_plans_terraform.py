"""Auditing a Terraform plan: unknowns, sensitive values, addresses, modules, azapi and azurerm."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from tfplan import change, plan, resource_config

from prodcheck.arm import ArmId
from prodcheck.errors import UserError
from prodcheck.plans.terraform import SENSITIVE, parse_terraform_plan

VAULT = "Microsoft.KeyVault/vaults"
RG = "rg-app"
PLANTED = "planted-secret-Zx81qv"


def vault(name: str = "kv-app", **attrs: Any) -> dict[str, Any]:
    """An azurerm_key_vault as the plan shows it, with the provider's defaults filled in."""
    return {
        "name": name,
        "location": "eastus",
        "resource_group_name": RG,
        "sku_name": "standard",
        "tenant_id": "11111111-2222-3333-4444-555555555555",
        "enable_rbac_authorization": True,
        "public_network_access_enabled": False,
        "purge_protection_enabled": True,
        "soft_delete_retention_days": 90,
        "network_acls": [
            {
                "default_action": "Deny",
                "bypass": "AzureServices",
                "ip_rules": [],
                "virtual_network_subnet_ids": [],
            }
        ],
        "tags": {"environment": "prod"},
        **attrs,
    }


def audit_plan(tmp_path: Path, capsys, data: Any, *args: str) -> tuple[int, dict, str]:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    code, out, err = run_cli(capsys, "audit", "--terraform-plan", str(path), "-f", "json", *args)
    return code, (json.loads(out) if out else {}), err


def by_rule(report: dict, rule_id: str) -> dict[str, dict]:
    return {f["resourceName"]: f for f in report["findings"] if f["ruleId"] == rule_id}


# ---- the demo plan -------------------------------------------------------------------------------


def _failing(capsys, *args: str) -> set[tuple[str, str]]:
    code, out, _ = run_cli(capsys, "audit", *args, "-f", "json")
    assert code == 1
    report = json.loads(out)
    return {
        (f["ruleId"], ArmId.parse(f["resourceId"]).name or "scope")
        for f in report["findings"]
        if f["status"] == "FAIL"
    }


def test_the_flat_plan_fails_on_every_line_the_flat_deployment_fails(capsys):
    # Metrics measured after deployment (PC-PERF-*) are not in a plan: it holds no metrics.
    deployed = {f for f in _failing(capsys, "--demo", "flat") if not f[0].startswith("PC-PERF-")}
    planned = _failing(capsys, "--demo", "flat-plan")
    assert deployed - planned == set()


def test_the_flat_plan_names_findings_by_terraform_address_and_reports_its_plan(capsys):
    code, out, _ = run_cli(capsys, "audit", "--demo", "flat-plan", "-f", "json", "-r", "PC-KV-002")
    report = json.loads(out)
    assert report["inputKind"] == "terraform-plan"
    assert report["source"] == "demo:flat-plan"
    finding = by_rule(report, "PC-KV-002")["azurerm_key_vault.main"]
    assert finding["status"] == "FAIL"
    assert finding["resourceId"].endswith("/providers/Microsoft.KeyVault/vaults/kv-k3x9p2qa")
    assert report["scope"]["plan"]["kind"] == "terraform-plan"
    assert code == 1


@pytest.mark.parametrize("fmt", ["terminal", "json", "html", "sarif", "markdown", "junit"])
def test_no_sensitive_value_of_the_plan_reaches_any_report(capsys, fmt):
    code, out, err = run_cli(capsys, "audit", "--demo", "flat-plan", "-f", fmt, "-v")
    assert code == 1
    assert "planted" not in out and "planted" not in err


# ---- unknown values ------------------------------------------------------------------------------


def test_a_value_known_only_after_apply_makes_the_verdict_error_not_a_guess(tmp_path, capsys):
    after = vault()
    del after["purge_protection_enabled"]
    data = plan(
        [
            change(
                "azurerm_key_vault.main",
                after,
                unknown={"id": True, "purge_protection_enabled": True},
            )
        ]
    )
    code, report, _ = audit_plan(tmp_path, capsys, data, "-r", "PC-KV-002")
    finding = by_rule(report, "PC-KV-002")["azurerm_key_vault.main"]
    assert finding["status"] == "ERROR"
    assert "known after deployment: properties.enablePurgeProtection" in finding["message"]
    assert code == 1


def test_a_provider_default_decides_where_the_plan_has_null(tmp_path, capsys):
    after = vault(soft_delete_retention_days=None)
    data = plan([change("azurerm_key_vault.main", after, unknown={"id": True})])
    code, report, _ = audit_plan(tmp_path, capsys, data, "-r", "PC-KV-002")
    assert by_rule(report, "PC-KV-002")["azurerm_key_vault.main"]["status"] == "PASS"
    assert code == 0


def test_an_unknown_the_rule_does_not_read_leaves_the_verdict_alone(tmp_path, capsys):
    data = plan(
        [
            change(
                "azurerm_key_vault.main",
                vault(),
                unknown={"id": True, "vault_uri": True, "tags": True},
            )
        ]
    )
    code, report, _ = audit_plan(tmp_path, capsys, data, "-r", "PC-KV-002")
    assert by_rule(report, "PC-KV-002")["azurerm_key_vault.main"]["status"] == "PASS"
    assert code == 0


# ---- sensitive values ----------------------------------------------------------------------------


def test_sensitive_values_are_replaced_before_anything_reads_them():
    body = {"properties": {"administrator": {"userName": "admin", "password": PLANTED}}}
    data = plan(
        [
            change(
                "azapi_resource.mongo",
                {
                    "type": "Microsoft.DocumentDB/mongoClusters@2025-04-01-preview",
                    "name": "m",
                    "parent_id": f"/subscriptions/{'1' * 8}-1111-1111-1111-{'1' * 12}/resourceGroups/{RG}",
                    "location": "eastus",
                    "body": body,
                },
                unknown={"id": True, "output": True},
                sensitive={"body": {"properties": {"administrator": {"password": True}}}},
            )
        ]
    )
    snap = parse_terraform_plan(data, "plan.json")
    assert PLANTED not in json.dumps(snap.resources)
    assert snap.resources[0]["properties"]["administrator"]["password"] == SENSITIVE


def test_a_sensitive_app_setting_is_reported_as_a_credential_without_its_value(tmp_path, capsys):
    app = _container_app(env=[{"name": "DB_PASSWORD", "value": PLANTED, "secret_name": None}])
    data = plan(
        [
            change(
                "azurerm_container_app.api",
                app,
                unknown={"id": True},
                sensitive={"template": [{"container": [{"env": [{"value": True}]}]}]},
            )
        ]
    )
    code, report, err = audit_plan(tmp_path, capsys, data, "-r", "PC-ID-003")
    assert by_rule(report, "PC-ID-003")["azurerm_container_app.api"]["status"] == "FAIL"
    assert PLANTED not in json.dumps(report) and PLANTED not in err


def _container_app(env: list[dict[str, Any]] | None = None, **attrs: Any) -> dict[str, Any]:
    return {
        "name": "ca-api",
        "location": "eastus",
        "resource_group_name": RG,
        "container_app_environment_id": f"/subscriptions/{'0' * 8}-0000-0000-0000-{'0' * 12}/resourceGroups/{RG}/providers/Microsoft.App/managedEnvironments/cae",
        "revision_mode": "Single",
        "identity": [{"type": "SystemAssigned", "identity_ids": []}],
        "ingress": [
            {
                "external_enabled": False,
                "target_port": 8000,
                "transport": "auto",
                "ip_security_restriction": [],
            }
        ],
        "registry": [],
        "secret": [],
        "template": [
            {
                "min_replicas": 2,
                "max_replicas": 20,
                "http_scale_rule": [{"name": "http", "concurrent_requests": "50"}],
                "custom_scale_rule": [
                    {
                        "name": "cpu",
                        "custom_rule_type": "cpu",
                        "metadata": {"type": "Utilization", "value": "70"},
                    }
                ],
                "container": [
                    {
                        "name": "api",
                        "image": "example.azurecr.io/api:1",
                        "cpu": 1,
                        "memory": "2Gi",
                        "env": env or [],
                    }
                ],
            }
        ],
        **attrs,
    }


# ---- addresses, count, for_each and modules ------------------------------------------------------


def test_for_each_children_in_a_module_link_to_their_parent_by_reference():
    account = {
        "name": "aoai",
        "location": "eastus",
        "resource_group_name": RG,
        "kind": "OpenAI",
        "sku_name": "S0",
        "public_network_access_enabled": False,
        "local_auth_enabled": False,
        "identity": [],
        "network_acls": [],
    }
    changes = [change("module.ai.azurerm_cognitive_account.main", account, unknown={"id": True})]
    for model in ("gpt-4o", "gpt-4o-mini"):
        changes.append(
            change(
                f'module.ai.azurerm_cognitive_deployment.models["{model}"]',
                {
                    "name": model,
                    "model": [{"format": "OpenAI", "name": model, "version": "1"}],
                    "sku": [{"name": "GlobalStandard", "capacity": 10}],
                    "rai_policy_name": "Microsoft.DefaultV2",
                },
                unknown={"id": True, "cognitive_account_id": True},
            )
        )
    data = plan(
        changes,
        modules={
            "ai": [
                resource_config(
                    "azurerm_cognitive_account.main",
                    resource_group_name=["var.resource_group_name"],
                ),
                resource_config(
                    "azurerm_cognitive_deployment.models",
                    cognitive_account_id=[
                        "azurerm_cognitive_account.main.id",
                        "azurerm_cognitive_account.main",
                    ],
                ),
            ]
        },
    )
    snap = parse_terraform_plan(data, "plan.json")
    ids = {r["x-prodcheck-address"]: r["id"] for r in snap.resources}
    account_id = ids["module.ai.azurerm_cognitive_account.main"]
    assert (
        ids['module.ai.azurerm_cognitive_deployment.models["gpt-4o"]']
        == f"{account_id}/deployments/gpt-4o"
    )
    assert (
        ids['module.ai.azurerm_cognitive_deployment.models["gpt-4o-mini"]']
        == f"{account_id}/deployments/gpt-4o-mini"
    )


def test_count_instances_link_to_the_instance_with_the_same_index():
    changes = []
    for i in range(2):
        changes.append(change(f"azurerm_key_vault.kv[{i}]", vault(f"kv-{i}"), unknown={"id": True}))
        changes.append(
            change(
                f"azurerm_monitor_diagnostic_setting.kv[{i}]",
                {
                    "name": "to-logs",
                    "enabled_log": [{"category_group": "allLogs", "category": None}],
                    "enabled_metric": [],
                    "log_analytics_workspace_id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/log",
                },
                unknown={"id": True, "target_resource_id": True},
            )
        )
    data = plan(
        changes,
        [
            resource_config(
                "azurerm_monitor_diagnostic_setting.kv",
                target_resource_id=["azurerm_key_vault.kv[count.index].id", "azurerm_key_vault.kv"],
            )
        ],
    )
    snap = parse_terraform_plan(data, "plan.json")
    ids = {r["x-prodcheck-address"]: r["id"] for r in snap.resources}
    for i in range(2):
        assert ids[f"azurerm_monitor_diagnostic_setting.kv[{i}]"].startswith(
            ids[f"azurerm_key_vault.kv[{i}]"] + "/providers/"
        )


def test_a_diagnostic_setting_that_cannot_be_linked_is_not_evaluated_instead_of_absent(
    tmp_path, capsys
):
    data = plan(
        [
            change("azurerm_key_vault.main", vault(), unknown={"id": True}),
            change(
                "azurerm_monitor_diagnostic_setting.kv",
                {
                    "name": "to-logs",
                    "enabled_log": [{"category_group": "allLogs", "category": None}],
                    "enabled_metric": [],
                },
                unknown={
                    "id": True,
                    "target_resource_id": True,
                    "log_analytics_workspace_id": True,
                },
            ),
        ]
    )
    code, report, _ = audit_plan(tmp_path, capsys, data, "-r", "PC-MON-003")
    statuses = {f["status"] for f in report["findings"]}
    assert "ERROR" in statuses and "FAIL" not in statuses
    assert any("azurerm_monitor_diagnostic_setting.kv" in f["message"] for f in report["findings"])


# ---- what leaves and what refuses ----------------------------------------------------------------


def test_a_destroyed_resource_leaves_and_a_replaced_one_stays():
    data = plan(
        [
            change(
                "azurerm_key_vault.old", None, actions=("delete",), before=vault("kv-old", id="/x")
            ),
            change(
                "azurerm_key_vault.new",
                vault("kv-new"),
                actions=("delete", "create"),
                unknown={"id": True},
            ),
            change(
                "data.azurerm_client_config.current",
                {"tenant_id": "t"},
                actions=("read",),
                mode="data",
            ),
        ]
    )
    snap = parse_terraform_plan(data, "plan.json")
    assert [r["name"] for r in snap.resources] == ["kv-new"]
    assert snap.scope["plan"]["deleted"] == 1 and snap.scope["plan"]["dataSources"] == 1


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ({"format_version": "2.0", "resource_changes": []}, "format '2.0'"),
        ({"format_version": "1.2", "resource_changes": [], "errored": True}, "errored"),
        ({"changes": []}, "not a Terraform plan"),
        ([], "not a Terraform plan"),
        ({"format_version": "1.2", "resource_changes": [{"address": "x"}]}, "resource change #1"),
    ],
)
def test_plans_that_cannot_be_judged_are_refused_with_one_line(tmp_path, capsys, doc, says):
    code, _, err = audit_plan(tmp_path, capsys, doc)
    assert code == 2
    assert says in err and err.count("\n") == 1


# ---- azapi ---------------------------------------------------------------------------------------


SUB = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7d9c0a11"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}"


def test_an_azapi_1x_body_as_a_json_string_is_read_like_an_object():
    body = json.dumps(
        {"properties": {"publicNetworkAccess": "Disabled"}, "sku": {"name": "Balanced_B0"}}
    )
    data = plan(
        [
            change(
                "azapi_resource.redis",
                {
                    "type": "Microsoft.Cache/redisEnterprise@2025-07-01",
                    "name": "redis-a",
                    "parent_id": RG_ID,
                    "location": "eastus",
                    "body": body,
                },
                unknown={"id": True, "output": True},
            )
        ]
    )
    snap = parse_terraform_plan(data, "plan.json")
    resource = snap.resources[0]
    assert resource["id"] == f"{RG_ID}/providers/Microsoft.Cache/redisEnterprise/redis-a"
    assert resource["properties"]["publicNetworkAccess"] == "Disabled"
    assert resource["sku"] == {"name": "Balanced_B0"}
    assert snap.scope["subscriptions"] == [SUB]


def test_an_azapi_update_is_merged_into_the_resource_it_changes():
    data = plan(
        [
            change(
                "azurerm_key_vault.main",
                vault(public_network_access_enabled=True),
                unknown={"id": True},
            ),
            change(
                "azapi_update_resource.kv_network",
                {
                    "type": "Microsoft.KeyVault/vaults@2023-07-01",
                    "body": {"properties": {"publicNetworkAccess": "Disabled"}},
                },
                unknown={"id": True, "resource_id": True, "output": True},
            ),
        ],
        [
            resource_config(
                "azapi_update_resource.kv_network",
                resource_id=["azurerm_key_vault.main.id", "azurerm_key_vault.main"],
            )
        ],
    )
    snap = parse_terraform_plan(data, "plan.json")
    assert [r["properties"]["publicNetworkAccess"] for r in snap.resources] == ["Disabled"]


def test_an_unknown_part_of_an_azapi_body_is_unknown_at_its_arm_path():
    data = plan(
        [
            change(
                "azapi_resource.acs",
                {
                    "type": "Microsoft.Communication/communicationServices@2025-05-01-preview",
                    "name": "acs",
                    "parent_id": RG_ID,
                    "location": "global",
                    "body": {"properties": {"dataLocation": "Europe"}},
                },
                unknown={
                    "id": True,
                    "output": True,
                    "body": {"properties": {"disableLocalAuth": True}},
                },
            )
        ]
    )
    snap = parse_terraform_plan(data, "plan.json")
    # and what Azure assigns a new resource, never in its configured body: its host name
    assert snap.resources[0]["x-prodcheck-unknown"] == [
        "properties.disableLocalAuth",
        "properties.hostName",
    ]


# ---- azurerm mappings ----------------------------------------------------------------------------


def test_a_private_endpoint_with_a_dns_zone_group_is_two_arm_resources_that_close_the_vault(
    tmp_path, capsys
):
    zone = f"{RG_ID}/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net"
    data = plan(
        [
            change("azurerm_key_vault.main", vault(), unknown={"id": True}),
            change(
                "azurerm_private_endpoint.kv",
                {
                    "name": "pe-kv",
                    "location": "eastus",
                    "resource_group_name": RG,
                    "subnet_id": f"{RG_ID}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/snet-pe",
                    "private_service_connection": [
                        {
                            "name": "kv",
                            "is_manual_connection": False,
                            "subresource_names": ["vault"],
                        }
                    ],
                    "private_dns_zone_group": [{"name": "default", "private_dns_zone_ids": [zone]}],
                },
                unknown={
                    "id": True,
                    "private_service_connection": [
                        {"private_connection_resource_id": True, "private_ip_address": True}
                    ],
                },
            ),
        ],
        [
            resource_config(
                "azurerm_private_endpoint.kv",
                private_service_connection=[
                    {
                        "private_connection_resource_id": {
                            "references": ["azurerm_key_vault.main.id", "azurerm_key_vault.main"]
                        }
                    }
                ],
            )
        ],
    )
    snap = parse_terraform_plan(data, "plan.json")
    types = sorted(r["type"] for r in snap.resources)
    assert types == [
        VAULT,
        "Microsoft.Network/privateEndpoints",
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    ]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    code, out, _ = run_cli(
        capsys, "audit", "--terraform-plan", str(path), "-f", "json", "-r", "PC-NET-002"
    )
    assert by_rule(json.loads(out), "PC-NET-002")["azurerm_key_vault.main"]["status"] == "PASS"


def test_what_a_terraform_type_cannot_express_is_error_not_pass(tmp_path, capsys):
    data = plan(
        [
            change(
                "azurerm_communication_service.acs",
                {"name": "acs", "resource_group_name": RG, "data_location": "Europe", "tags": {}},
                unknown={"id": True, "primary_key": True},
            )
        ]
    )
    code, report, _ = audit_plan(tmp_path, capsys, data, "-r", "PC-NET-001", "-r", "PC-ID-002")
    for rule_id in ("PC-NET-001", "PC-ID-002"):
        assert by_rule(report, rule_id)["azurerm_communication_service.acs"]["status"] == "ERROR"
    network = by_rule(report, "PC-NET-001")["azurerm_communication_service.acs"]
    assert "known after deployment: properties.publicNetworkAccess" in network["message"]


def test_unmapped_types_are_counted_and_those_rules_need_are_not_evaluated():
    data = plan(
        [
            change(
                "azurerm_virtual_network.main",
                {"name": "vnet", "resource_group_name": RG, "address_space": ["10.0.0.0/16"]},
                unknown={"id": True},
            ),
            change(
                "azurerm_kubernetes_fleet_manager.x",
                {"name": "fleet", "resource_group_name": RG},
                unknown={"id": True},
            ),
        ]
    )
    snap = parse_terraform_plan(data, "plan.json", needs=["Microsoft.Network/virtualNetworks"])
    assert snap.scope["plan"]["unmapped"] == {
        "azurerm_kubernetes_fleet_manager": 1,
        "azurerm_virtual_network": 1,
    }
    failed = [c for c in snap.coverage or [] if c.failed]
    assert [c.resource_type for c in failed] == ["Microsoft.Network/virtualNetworks"]


def test_a_container_app_maps_ingress_scale_and_identity(tmp_path, capsys):
    data = plan([change("azurerm_container_app.api", _container_app(), unknown={"id": True})])
    snap = parse_terraform_plan(data, "plan.json")
    app = snap.resources[0]
    assert app["properties"]["configuration"]["ingress"]["external"] is False
    assert app["properties"]["template"]["scale"]["minReplicas"] == 2
    assert [r["name"] for r in app["properties"]["template"]["scale"]["rules"]] == ["http", "cpu"]
    assert app["identity"] == {"type": "SystemAssigned"}
    code, report, _ = audit_plan(tmp_path, capsys, data, "-r", "PC-SCALE-*")
    assert {
        f["status"] for f in report["findings"] if f["resourceName"] == "azurerm_container_app.api"
    } == {"PASS"}


# ---- hostile input -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(
    changes=st.lists(
        st.fixed_dictionaries(
            {
                "address": st.sampled_from(
                    [
                        "azurerm_key_vault.a",
                        "azapi_resource.b",
                        'azurerm_container_app.c["x"]',
                        "azapi_update_resource.d",
                        "module.m.azurerm_private_endpoint.e[0]",
                    ]
                ),
                "type": st.sampled_from(
                    [
                        "azurerm_key_vault",
                        "azapi_resource",
                        "azurerm_container_app",
                        "azapi_update_resource",
                        "azurerm_private_endpoint",
                    ]
                ),
                "mode": st.sampled_from(["managed", "data"]),
                "change": st.fixed_dictionaries(
                    {
                        "actions": st.sampled_from(
                            [["create"], ["update"], ["delete"], ["no-op"], ["delete", "create"]]
                        ),
                        "after": json_values,
                        "after_unknown": json_values,
                        "after_sensitive": json_values,
                    }
                ),
            }
        ),
        max_size=4,
    ),
    configuration=json_values,
)
def test_hostile_plans_give_a_snapshot_or_a_user_error(changes, configuration):
    try:
        snap = parse_terraform_plan(
            {"format_version": "1.2", "resource_changes": changes, "configuration": configuration},
            "plan.json",
            [VAULT],
        )
    except UserError:
        return
    for resource in snap.resources:
        assert isinstance(resource["id"], str) and isinstance(resource["type"], str)


def test_the_hardened_plan_passes_the_gate_as_the_hardened_deployment_does(capsys):
    code, out, _ = run_cli(capsys, "audit", "--demo", "hardened-plan", "-f", "json")
    report = json.loads(out)
    assert code == 0
    statuses = {f["status"] for f in report["findings"]}
    assert "FAIL" not in statuses and "ERROR" not in statuses
    _, deployed, _ = run_cli(capsys, "audit", "--demo", "hardened", "-f", "json")
    assert len(report["findings"]) == len(json.loads(deployed)["findings"])


def test_a_plan_nested_too_deeply_is_a_user_error(tmp_path, capsys):
    after = vault(tags="DEEP")
    text = json.dumps(plan([change("azurerm_key_vault.main", after, unknown={"id": True})]))
    path = tmp_path / "plan.json"
    for depth in (980, 20000):
        path.write_text(text.replace('"DEEP"', '{"a":' * depth + '"x"' + "}" * depth))
        code, _, err = run_cli(capsys, "audit", "--terraform-plan", str(path))
        assert code in (1, 2)
        assert "Traceback" not in err


def test_a_waiver_matches_a_terraform_address(tmp_path, capsys, monkeypatch):
    data = plan(
        [
            change(
                "azurerm_key_vault.main",
                vault(purge_protection_enabled=False),
                unknown={"id": True},
            )
        ]
    )
    (tmp_path / "prodcheck.yaml").write_text(
        "waivers:\n"
        "  - rule: PC-KV-002\n"
        "    resource: azurerm_key_vault.main\n"
        "    reason: purge protection comes with the vault migration (TICKET-9)\n"
        "    owner: platform-team@example.com\n"
        "    expires: 2099-01-31\n"
    )
    monkeypatch.chdir(tmp_path)
    code, report, _ = audit_plan(tmp_path, capsys, data, "-r", "PC-KV-002")
    finding = by_rule(report, "PC-KV-002")["azurerm_key_vault.main"]
    assert finding["status"] == "WAIVED"
    assert code == 0


def test_a_reference_through_a_module_output_links_to_the_resource_inside():
    data = plan(
        [
            change("module.kv.azurerm_key_vault.this", vault(), unknown={"id": True}),
            change(
                "azurerm_monitor_diagnostic_setting.kv",
                {
                    "name": "to-logs",
                    "enabled_log": [{"category_group": "allLogs", "category": None}],
                    "enabled_metric": [],
                    "log_analytics_workspace_id": RG_ID
                    + "/providers/Microsoft.OperationalInsights/workspaces/log",
                },
                unknown={"id": True, "target_resource_id": True},
            ),
        ],
        [
            resource_config(
                "azurerm_monitor_diagnostic_setting.kv",
                target_resource_id=["module.kv.vault_id", "module.kv"],
            )
        ],
        modules={"kv": [resource_config("azurerm_key_vault.this")]},
    )
    data["configuration"]["root_module"]["module_calls"]["kv"]["module"]["outputs"] = {
        "vault_id": {
            "expression": {"references": ["azurerm_key_vault.this.id", "azurerm_key_vault.this"]}
        }
    }
    snap = parse_terraform_plan(data, "plan.json")
    ids = {r["x-prodcheck-address"]: r["id"] for r in snap.resources}
    assert ids["azurerm_monitor_diagnostic_setting.kv"] == (
        ids["module.kv.azurerm_key_vault.this"]
        + "/providers/Microsoft.Insights/diagnosticSettings/to-logs"
    )


def test_an_alert_whose_target_cannot_be_linked_leaves_the_alert_check_not_evaluated(
    tmp_path, capsys
):
    redis = {
        "type": "Microsoft.Cache/redisEnterprise@2025-07-01",
        "name": "redis-a",
        "parent_id": RG_ID,
        "location": "eastus",
        "body": {"sku": {"name": "Balanced_B0"}, "properties": {"publicNetworkAccess": "Disabled"}},
    }
    alert = {
        "name": "redis-memory",
        "resource_group_name": RG,
        "enabled": True,
        "severity": 2,
        "scopes": [None],
        "criteria": [
            {
                "metric_namespace": "Microsoft.Cache/redisEnterprise",
                "metric_name": "usedmemorypercentage",
                "aggregation": "Maximum",
                "operator": "GreaterThan",
                "threshold": 80,
            }
        ],
        "action": [],
    }
    data = plan(
        [
            change("azapi_resource.redis", redis, unknown={"id": True, "output": True}),
            change(
                "azurerm_monitor_metric_alert.redis", alert, unknown={"id": True, "scopes": [True]}
            ),
        ]
    )
    snap = parse_terraform_plan(data, "plan.json", ["Microsoft.Insights/metricAlerts"])
    failed = [c for c in snap.coverage or [] if c.failed]
    assert [c.resource_type for c in failed] == ["Microsoft.Insights/metricAlerts"]
    code, report, _ = audit_plan(tmp_path, capsys, data, "-r", "PC-MON-002")
    on_redis = [f for f in report["findings"] if f["resourceName"] == "azapi_resource.redis"]
    assert on_redis and {f["status"] for f in on_redis} == {"ERROR"}


def test_each_element_of_a_list_of_references_links_to_its_own_resource():
    apps = [
        change(
            f"azurerm_container_app.{name}", _container_app(name=f"ca-{name}"), unknown={"id": True}
        )
        for name in ("api", "web")
    ]
    alert = {
        "name": "cpu",
        "resource_group_name": RG,
        "scopes": [None, None],
        "criteria": [
            {
                "metric_namespace": "Microsoft.App/containerApps",
                "metric_name": "CpuPercentage",
                "aggregation": "Average",
                "operator": "GreaterThan",
                "threshold": 85,
            }
        ],
        "action": [],
    }
    data = plan(
        [
            *apps,
            change(
                "azurerm_monitor_metric_alert.cpu",
                alert,
                unknown={"id": True, "scopes": [True, True]},
            ),
        ],
        [
            resource_config(
                "azurerm_monitor_metric_alert.cpu",
                scopes=[
                    "azurerm_container_app.api.id",
                    "azurerm_container_app.api",
                    "azurerm_container_app.web.id",
                    "azurerm_container_app.web",
                ],
            )
        ],
    )
    snap = parse_terraform_plan(data, "plan.json")
    ids = {r["x-prodcheck-address"]: r["id"] for r in snap.resources}
    scopes = next(r for r in snap.resources if r["type"] == "Microsoft.Insights/metricAlerts")[
        "properties"
    ]["scopes"]
    assert scopes == [ids["azurerm_container_app.api"], ids["azurerm_container_app.web"]]
