"""Observability rules PC-MON-001, 003 and 004 on bodies shaped as the REST API examples show them.

Application Insights components as 2020-02-02 returns them (PascalCase properties, a workspace id
in lower case, `tags` as an empty string), workspaces of 2023-09-01, diagnostic settings of
2017-05-01-preview (`category` only) and 2021-05-01-preview (`categoryGroup`, an empty
`workspaceId` beside storage and Event Hubs destinations, ids in lower case), and workbooks and
dashboards as their list bodies return them.
"""

from __future__ import annotations

from builders import RG, SUB, arm, by_name, rid, run, statuses

VAULT = rid("Microsoft.KeyVault/vaults", "kv1")
WORKSPACE = rid("Microsoft.OperationalInsights/workspaces", "log")


def component(**props) -> dict:
    properties = {
        "ApplicationId": "ai",
        "AppId": "887f4bfd-b5fd-40d7-9fc3-123456789abc",
        "Application_Type": "web",
        "Flow_Type": "Bluefield",
        "Request_Source": "rest",
        "InstrumentationKey": "bc095013-3cf2-45ac-ab47-123456789abc",
        "provisioningState": "Succeeded",
        "SamplingPercentage": 100.0,
        **props,
    }
    return arm("Microsoft.Insights/components", "ai", kind="web", tags="", properties=properties)


def workspace(retention) -> dict:
    return arm(
        "Microsoft.OperationalInsights/workspaces",
        "log",
        properties={
            "provisioningState": "Succeeded",
            "customerId": "bc089d7b-485c-4aff-a71e-c00f362d8d2f",
            "sku": {"name": "PerGB2018"},
            "retentionInDays": retention,
            "publicNetworkAccessForIngestion": "Enabled",
        },
    )


def test_component_naming_its_workspace_in_lower_case_is_workspace_based():
    lower = f"/subscriptions/{SUB}/resourcegroups/{RG}/providers/microsoft.operationalinsights/workspaces/log"
    findings = run(
        "PC-MON-001",
        [component(WorkspaceResourceId=lower, IngestionMode="LogAnalytics"), workspace(30)],
    )
    assert statuses(findings) == {"ai": "PASS"}


def test_component_without_a_workspace_id_is_classic():
    findings = run("PC-MON-001", [component(IngestionMode="ApplicationInsights"), workspace(30)])
    assert statuses(findings) == {"ai": "FAIL"}
    assert "classic" in findings[0].message


def test_workspace_retention_as_null_cannot_be_judged():
    findings = run("PC-MON-001", [component(WorkspaceResourceId=WORKSPACE), workspace(None)])
    assert statuses(findings) == {"ai": "ERROR"}


def setting(name: str, id_: str, **props) -> dict:
    return {
        "id": id_,
        "type": "Microsoft.Insights/diagnosticSettings",
        "name": name,
        "properties": props,
    }


def test_diagnostic_settings_in_the_2021_05_01_preview_shape():
    vault = arm("Microsoft.KeyVault/vaults", "kv1", properties={})
    base = f"/subscriptions/{SUB}/resourcegroups/{RG}/providers/microsoft.keyvault/vaults/kv1"
    elsewhere = setting(
        "archive",
        f"{base}/providers/microsoft.insights/diagnosticSettings/archive",
        storageAccountId=rid("Microsoft.Storage/storageAccounts", "st"),
        workspaceId="",
        logs=[
            {
                "categoryGroup": "allLogs",
                "enabled": True,
                "retentionPolicy": {"enabled": False, "days": 0},
            }
        ],
    )
    findings = run("PC-MON-003", [vault, elsewhere])
    assert statuses(findings) == {"kv1": "FAIL"}
    assert "send no logs to a Log Analytics workspace" in by_name(findings)["kv1"].message

    to_log = setting(
        "to-log",
        f"{base}/providers/microsoft.insights/diagnosticSettings/to-log",
        workspaceId=WORKSPACE,
        metrics=[{"category": "AllMetrics", "enabled": True}],
        logs=[{"categoryGroup": "audit", "enabled": True}],
    )
    assert statuses(run("PC-MON-003", [vault, elsewhere, to_log])) == {"kv1": "PASS"}


def test_diagnostic_setting_with_a_category_only_as_2017_05_01_preview_writes_it_counts():
    vault = arm("Microsoft.KeyVault/vaults", "kv1", properties={})
    categories = setting(
        "to-log",
        f"{VAULT}/providers/microsoft.insights/diagnosticSettings/to-log",
        workspaceId=WORKSPACE,
        logs=[
            {
                "category": "AuditEvent",
                "enabled": True,
                "retentionPolicy": {"enabled": False, "days": 0},
            }
        ],
    )
    assert statuses(run("PC-MON-003", [vault, categories])) == {"kv1": "PASS"}
    categories["properties"]["logs"][0]["enabled"] = False
    assert statuses(run("PC-MON-003", [vault, categories])) == {"kv1": "FAIL"}


def test_shared_workbook_in_lower_case_type_and_dashboard_count():
    workbook = arm(
        "microsoft.insights/workbooks",
        "5e1f5f7b-0d2b-4a7a-8f4e-2d4b9a3c1e10",
        kind="shared",
        properties={"displayName": "Operations", "category": "workbook", "serializedData": "{}"},
    )
    findings = run("PC-MON-004", [workbook])
    assert statuses(findings) == {"scope": "PASS"}
    assert "Operations (workbooks)" in findings[0].message
    dashboard = arm("Microsoft.Portal/dashboards", "ops", properties={"lenses": [], "metadata": {}})
    findings = run("PC-MON-004", [dashboard])
    assert statuses(findings) == {"scope": "PASS"}
    assert "ops (dashboards)" in findings[0].message
