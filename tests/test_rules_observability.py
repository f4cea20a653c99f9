"""Observability rules: PC-MON-001 (workspace-based App Insights), PC-MON-002 (key-metric alerts),
PC-MON-003 (logs to Log Analytics), PC-MON-004 (dashboards)."""

from __future__ import annotations

from builders import RG, SUB, arm, by_name, child_id, rid, run, statuses

from prodcheck.model import Severity

APP = rid("Microsoft.App/containerApps", "api")
AI = rid("microsoft.insights/components", "ai")
WORKSPACE = rid("Microsoft.OperationalInsights/workspaces", "log")
AG = rid("Microsoft.Insights/actionGroups", "oncall")
RG_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}"
EMAIL = {
    "emailReceivers": [
        {"name": "oncall", "emailAddress": "oncall@example.com", "status": "Enabled"}
    ]
}


def container_app(cpu: float = 0.5) -> dict:
    return arm(
        "Microsoft.App/containerApps",
        "api",
        properties={"template": {"containers": [{"name": "main", "resources": {"cpu": cpu}}]}},
    )


def app_insights(**props) -> dict:
    properties = {"WorkspaceResourceId": WORKSPACE, "IngestionMode": "LogAnalytics"}
    properties.update(props)
    return arm("microsoft.insights/components", "ai", kind="web", properties=properties)


def workspace(retention: int = 30) -> dict:
    return arm(
        "Microsoft.OperationalInsights/workspaces", "log", properties={"retentionInDays": retention}
    )


def action_group(name: str = "oncall", enabled: bool = True, receivers: dict | None = None) -> dict:
    properties = {"groupShortName": name, "enabled": enabled}
    properties.update(EMAIL if receivers is None else receivers)
    return arm("Microsoft.Insights/actionGroups", name, location="Global", properties=properties)


def metric_alert(
    name: str,
    metric: str,
    operator: str,
    threshold: float | None,
    *,
    scopes: list[str] | None = None,
    namespace: str | None = None,
    target_type: str | None = "Microsoft.App/containerApps",
    enabled: bool = True,
    actions: list[str] | None = None,
    criterion_type: str = "StaticThresholdCriterion",
    aggregation: str = "Average",
    more_criteria: list[dict] | None = None,
    every: str | None = "PT1M",
    window: str | None = "PT5M",
    sensitivity: str | None = None,
) -> dict:
    criterion = {
        "criterionType": criterion_type,
        "name": "Metric1",
        "metricName": metric,
        "operator": operator,
        "timeAggregation": aggregation,
    }
    if namespace:
        criterion["metricNamespace"] = namespace
    if threshold is not None:
        criterion["threshold"] = threshold
    if sensitivity is not None:
        criterion["alertSensitivity"] = sensitivity
        criterion["failingPeriods"] = {
            "numberOfEvaluationPeriods": 4,
            "minFailingPeriodsToAlert": 4,
        }
    properties = {
        "enabled": enabled,
        "severity": 2,
        "evaluationFrequency": every,
        "windowSize": window,
        "scopes": scopes or [APP],
        "criteria": {
            "odata.type": "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
            "allOf": [criterion, *(more_criteria or [])],
        },
        "actions": [{"actionGroupId": a} for a in (actions if actions is not None else [AG])],
    }
    if target_type:
        properties["targetResourceType"] = target_type
    properties = {k: v for k, v in properties.items() if v is not None}
    return arm("Microsoft.Insights/metricAlerts", name, location="global", properties=properties)


def log_alert(
    name: str,
    query: str,
    operator: str,
    threshold: float,
    *,
    scopes: list[str] | None = None,
    enabled: bool = True,
    actions: list[str] | None = None,
    every: str = "PT5M",
    window: str = "PT5M",
) -> dict:
    return arm(
        "Microsoft.Insights/scheduledQueryRules",
        name,
        kind="LogAlert",
        properties={
            "enabled": enabled,
            "evaluationFrequency": every,
            "windowSize": window,
            "scopes": scopes or [AI],
            "criteria": {
                "allOf": [
                    {
                        "query": query,
                        "timeAggregation": "Average",
                        "metricMeasureColumn": "d",
                        "operator": operator,
                        "threshold": threshold,
                    }
                ]
            },
            "actions": {"actionGroups": actions if actions is not None else [AG]},
        },
    )


def web_test(component: str = AI, enabled: bool = True) -> dict:
    return arm(
        "Microsoft.Insights/webtests",
        "health",
        kind="standard",
        tags={f"hidden-link:{component}": "Resource"},
        properties={"Name": "health", "Enabled": enabled, "Kind": "standard"},
    )


def cpu(resources: list[dict], **params) -> list:
    return run("PC-MON-002", resources, {"signals": ["cpu"], **params})


# ---- PC-MON-002: the alert itself ----------------------------------------------------------------


def test_working_cpu_alert_passes_naming_alert_and_action_group():
    findings = cpu(
        [container_app(), action_group(), metric_alert("cpu", "CpuPercentage", "GreaterThan", 85)]
    )
    assert statuses(findings) == {"api": "PASS"}
    assert "cpu" in findings[0].message and "notifies oncall" in findings[0].message


def test_disabled_alert_does_not_count():
    findings = cpu(
        [
            container_app(),
            action_group(),
            metric_alert("cpu", "CpuPercentage", "GreaterThan", 85, enabled=False),
        ]
    )
    assert statuses(findings) == {"api": "FAIL"}
    assert "cpu is disabled" in findings[0].message


def test_looser_threshold_fails_naming_both_numbers():
    findings = cpu(
        [container_app(), action_group(), metric_alert("cpu90", "CpuPercentage", "GreaterThan", 90)]
    )
    assert statuses(findings) == {"api": "FAIL"}
    assert "threshold 90% is looser than the guide's 85%" in findings[0].message


def test_stricter_threshold_counts():
    findings = cpu(
        [
            container_app(),
            action_group(),
            metric_alert("cpu80", "CpuPercentage", "GreaterThanOrEqual", 80),
        ]
    )
    assert statuses(findings) == {"api": "PASS"}


def test_operator_in_the_wrong_direction_does_not_count():
    findings = cpu(
        [container_app(), action_group(), metric_alert("cpu", "CpuPercentage", "LessThan", 85)]
    )
    assert statuses(findings) == {"api": "FAIL"}
    assert "wrong direction" in findings[0].message


def test_threshold_is_a_parameter():
    findings = cpu(
        [
            container_app(),
            action_group(),
            metric_alert("cpu90", "CpuPercentage", "GreaterThan", 90),
        ],
        cpu_threshold=90,
    )
    assert statuses(findings) == {"api": "PASS"}


def test_alert_on_another_metric_is_no_alert():
    findings = cpu(
        [
            container_app(),
            action_group(),
            metric_alert("mem", "MemoryPercentage", "GreaterThan", 85),
        ]
    )
    assert statuses(findings) == {"api": "FAIL"}
    assert findings[0].message == "container CPU: no alert on CpuPercentage > 85%"


def test_platform_metric_in_a_foreign_namespace_is_no_alert():
    alert = metric_alert(
        "cpu", "CpuPercentage", "GreaterThan", 85, namespace="azure.applicationinsights"
    )
    assert statuses(cpu([container_app(), action_group(), alert])) == {"api": "FAIL"}


def test_alert_that_also_requires_another_criterion_does_not_count():
    other = {
        "criterionType": "StaticThresholdCriterion",
        "metricName": "Requests",
        "operator": "GreaterThan",
        "threshold": 1000,
    }
    alert = metric_alert("cpu", "CpuPercentage", "GreaterThan", 85, more_criteria=[other])
    findings = cpu([container_app(), action_group(), alert])
    assert statuses(findings) == {"api": "FAIL"}
    assert "also requires Requests" in findings[0].message


def test_dynamic_threshold_does_not_count_unless_accepted():
    alert = metric_alert(
        "cpu",
        "CpuPercentage",
        "GreaterThan",
        None,
        criterion_type="DynamicThresholdCriterion",
        sensitivity="Medium",
    )
    resources = [container_app(), action_group(), alert]
    assert statuses(cpu(resources)) == {"api": "FAIL"}
    assert "dynamic threshold" in cpu(resources)[0].message
    assert statuses(cpu(resources, accept_dynamic_thresholds=True)) == {"api": "PASS"}


def test_nanocores_threshold_is_converted_to_percent_of_the_cpu_limit():
    # 0.5 vCPU: 85 % is 425,000,000 nanocores.
    at_85 = metric_alert("cpu", "UsageNanoCores", "GreaterThan", 425_000_000)
    assert statuses(cpu([container_app(cpu=0.5), action_group(), at_85])) == {"api": "PASS"}
    at_100 = metric_alert("cpu", "UsageNanoCores", "GreaterThan", 500_000_000)
    findings = cpu([container_app(cpu=0.5), action_group(), at_100])
    assert statuses(findings) == {"api": "FAIL"}
    assert "100% (UsageNanoCores 500000000) is looser than the guide's 85%" in findings[0].message


# ---- PC-MON-002: who is notified ---------------------------------------------------------------


def test_alert_with_no_action_group_does_not_count():
    findings = cpu(
        [container_app(), metric_alert("cpu", "CpuPercentage", "GreaterThan", 85, actions=[])]
    )
    assert statuses(findings) == {"api": "FAIL"}
    assert "notifies no action group" in findings[0].message


def test_disabled_action_group_does_not_count():
    findings = cpu(
        [
            container_app(),
            action_group(enabled=False),
            metric_alert("cpu", "CpuPercentage", "GreaterThan", 85),
        ]
    )
    assert statuses(findings) == {"api": "FAIL"}
    assert "action group oncall is disabled" in findings[0].message


def test_action_group_without_receivers_does_not_count():
    findings = cpu(
        [
            container_app(),
            action_group(receivers={"emailReceivers": [], "smsReceivers": []}),
            metric_alert("cpu", "CpuPercentage", "GreaterThan", 85),
        ]
    )
    assert statuses(findings) == {"api": "FAIL"}
    assert "action group oncall has no receivers" in findings[0].message


def test_action_group_whose_only_receiver_is_disabled_does_not_count():
    silenced = {
        "emailReceivers": [
            {"name": "oncall", "emailAddress": "x@example.com", "status": "Disabled"}
        ]
    }
    findings = cpu(
        [
            container_app(),
            action_group(receivers=silenced),
            metric_alert("cpu", "CpuPercentage", "GreaterThan", 85),
        ]
    )
    assert statuses(findings) == {"api": "FAIL"}


def test_action_group_outside_the_scope_cannot_be_verified():
    elsewhere = rid("Microsoft.Insights/actionGroups", "central", rg="rg-ops")
    findings = cpu(
        [
            container_app(),
            metric_alert("cpu", "CpuPercentage", "GreaterThan", 85, actions=[elsewhere]),
        ]
    )
    assert statuses(findings) == {"api": "ERROR"}
    assert "central, which is not in the audited scope" in findings[0].message


def test_action_group_named_by_its_former_type_is_found():
    legacy = AG.replace("/actionGroups/", "/notificationgroups/").lower()
    findings = cpu(
        [
            container_app(),
            action_group(),
            metric_alert("cpu", "CpuPercentage", "GreaterThan", 85, actions=[legacy]),
        ]
    )
    assert statuses(findings) == {"api": "PASS"}


# ---- PC-MON-002: scope of the alert ------------------------------------------------------------


def test_alert_scoped_at_the_resource_group_with_the_app_type_covers_the_app():
    alert = metric_alert("cpu-all", "CpuPercentage", "GreaterThan", 85, scopes=[RG_ID])
    assert statuses(cpu([container_app(), action_group(), alert])) == {"api": "PASS"}


def test_alert_scoped_at_the_subscription_covers_the_app():
    alert = metric_alert(
        "cpu-all", "CpuPercentage", "GreaterThan", 85, scopes=[f"/subscriptions/{SUB}"]
    )
    assert statuses(cpu([container_app(), action_group(), alert])) == {"api": "PASS"}


def test_resource_group_alert_for_another_resource_type_does_not_cover_the_app():
    alert = metric_alert(
        "cpu-vms",
        "CpuPercentage",
        "GreaterThan",
        85,
        scopes=[RG_ID],
        target_type="Microsoft.Compute/virtualMachines",
    )
    assert statuses(cpu([container_app(), action_group(), alert])) == {"api": "FAIL"}


def test_alert_scoped_at_another_resource_group_does_not_cover_the_app():
    other_rg = f"/subscriptions/{SUB}/resourceGroups/rg-other"
    alert = metric_alert("cpu-all", "CpuPercentage", "GreaterThan", 85, scopes=[other_rg])
    assert statuses(cpu([container_app(), action_group(), alert])) == {"api": "FAIL"}


# ---- PC-MON-002: log search alerts -------------------------------------------------------------


def latency(resources: list[dict], **params) -> list:
    return run("PC-MON-002", resources, {"signals": ["latency"], **params})


def test_log_search_alert_on_request_duration_counts():
    query = "requests | summarize d = avg(duration) by bin(timestamp, 5m)"
    findings = latency(
        [app_insights(), action_group(), log_alert("slow", query, "GreaterThan", 4000)]
    )
    assert statuses(findings) == {"ai": "PASS"}
    assert "slow" in findings[0].message


def test_log_search_alert_scoped_at_the_workspace_counts():
    query = "AppRequests | summarize d = avg(DurationMs)"
    alert = log_alert("slow", query, "GreaterThan", 4000, scopes=[WORKSPACE])
    assert statuses(latency([app_insights(), workspace(), action_group(), alert])) == {"ai": "PASS"}


def test_log_search_alert_with_a_looser_threshold_fails_naming_both_numbers():
    query = "requests | summarize d = avg(duration)"
    findings = latency(
        [app_insights(), action_group(), log_alert("slow", query, "GreaterThan", 6000)]
    )
    assert statuses(findings) == {"ai": "FAIL"}
    assert "threshold 6000 ms is looser than the guide's 4000 ms" in findings[0].message


def test_disabled_log_search_alert_does_not_count():
    query = "requests | summarize d = avg(duration)"
    findings = latency(
        [
            app_insights(),
            action_group(),
            log_alert("slow", query, "GreaterThan", 4000, enabled=False),
        ]
    )
    assert statuses(findings) == {"ai": "FAIL"}


def test_log_search_alert_about_something_else_is_no_alert():
    query = "exceptions | summarize count()"
    findings = latency(
        [app_insights(), action_group(), log_alert("errors", query, "GreaterThan", 0)]
    )
    assert findings[0].message == "end-to-end latency: no alert on requests/duration > 4000 ms"


# ---- PC-MON-002: the signal table --------------------------------------------------------------


def test_custom_stt_metric_alert_counts_and_its_name_is_a_parameter():
    alert = metric_alert(
        "stt",
        "speech_to_text_ms",
        "GreaterThan",
        1000,
        scopes=[AI],
        namespace="azure.applicationinsights",
        target_type=None,
    )
    resources = [app_insights(), action_group(), alert]
    assert statuses(run("PC-MON-002", resources, {"signals": ["stt"]})) == {"ai": "FAIL"}
    passed = run("PC-MON-002", resources, {"signals": ["stt"], "stt_metric": "speech_to_text_ms"})
    assert statuses(passed) == {"ai": "PASS"}


def test_availability_needs_an_availability_test_as_well_as_the_alert():
    alert = metric_alert(
        "avail",
        "availabilityResults/availabilityPercentage",
        "LessThan",
        99.5,
        scopes=[AI],
        target_type=None,
    )
    without = run(
        "PC-MON-002", [app_insights(), action_group(), alert], {"signals": ["availability"]}
    )
    assert statuses(without) == {"ai": "FAIL"}
    assert "no enabled availability test" in without[0].message
    with_test = run(
        "PC-MON-002",
        [app_insights(), action_group(), alert, web_test()],
        {"signals": ["availability"]},
    )
    assert statuses(with_test) == {"ai": "PASS"}


def test_availability_alert_below_a_lower_percentage_is_looser():
    alert = metric_alert(
        "avail",
        "availabilityResults/availabilityPercentage",
        "LessThan",
        99,
        scopes=[AI],
        target_type=None,
    )
    findings = run(
        "PC-MON-002",
        [app_insights(), action_group(), alert, web_test()],
        {"signals": ["availability"]},
    )
    assert statuses(findings) == {"ai": "FAIL"}
    assert "threshold 99% is looser than the guide's 99.5%" in findings[0].message


def test_redis_enterprise_memory_alert_counts():
    redis = arm("Microsoft.Cache/redisEnterprise", "redis", sku={"name": "MemoryOptimized_M10"})
    alert = metric_alert(
        "mem",
        "usedmemorypercentage",
        "GreaterThan",
        80,
        scopes=[redis["id"]],
        namespace="Microsoft.Cache/redisEnterprise",
        target_type="Microsoft.Cache/redisEnterprise",
    )
    findings = run("PC-MON-002", [redis, action_group(), alert], {"signals": ["redis_memory"]})
    assert statuses(findings) == {"redis": "PASS"}


def test_one_finding_per_signal_and_resource():
    findings = run("PC-MON-002", [container_app(), app_insights(), action_group()])
    per_resource = {}
    for f in findings:
        per_resource.setdefault(f.resource_name, []).append(f.message.split(":")[0])
    assert sorted(per_resource["ai"]) == sorted(
        [
            "end-to-end latency",
            "STT processing time",
            "TTS generation time",
            "availability",
            "call drop rate",
        ]
    )
    assert per_resource["api"] == ["container CPU"]
    assert {f.status.value for f in findings} == {"FAIL"}


def test_app_signals_fail_at_the_scope_when_the_workload_has_no_app_insights():
    findings = run("PC-MON-002", [container_app()], {"signals": ["latency"]})
    assert statuses(findings) == {"scope": "FAIL"}
    assert "no Application Insights component" in findings[0].message


def test_unknown_signal_name_is_an_error_naming_the_known_ones():
    findings = run("PC-MON-002", [container_app()], {"signals": ["gpu"]})
    assert statuses(findings) == {"scope": "ERROR"}
    assert "gpu" in findings[0].message and "cpu" in findings[0].message


# ---- PC-MON-001 --------------------------------------------------------------------------------


def test_workspace_based_app_insights_with_enough_retention_passes():
    assert statuses(run("PC-MON-001", [app_insights(), workspace(30)])) == {"ai": "PASS"}


def test_classic_app_insights_fails():
    classic = arm(
        "microsoft.insights/components", "ai", properties={"IngestionMode": "ApplicationInsights"}
    )
    findings = run("PC-MON-001", [classic])
    assert statuses(findings) == {"ai": "FAIL"}
    assert "classic" in findings[0].message


def test_short_workspace_retention_fails_and_is_a_parameter():
    findings = run("PC-MON-001", [app_insights(), workspace(7)])
    assert statuses(findings) == {"ai": "FAIL"}
    assert "7 days (< 30)" in findings[0].message
    assert statuses(
        run("PC-MON-001", [app_insights(), workspace(7)], {"min_retention_days": 7})
    ) == {"ai": "PASS"}


def test_workspace_outside_the_scope_is_error():
    assert statuses(run("PC-MON-001", [app_insights()])) == {"ai": "ERROR"}


def test_no_app_insights_fails_at_the_scope():
    assert statuses(run("PC-MON-001", [workspace()])) == {"scope": "FAIL"}


# ---- PC-MON-002: alert quality ----------------------------------------------------------------


def latency_alert(**kwargs) -> dict:
    return metric_alert(
        "latency",
        "requests/duration",
        "GreaterThan",
        4000,
        scopes=[AI],
        target_type="microsoft.insights/components",
        **kwargs,
    )


def test_fifteen_minute_window_cannot_page_within_the_latency_budget():
    resources = [app_insights(), action_group(), latency_alert(every="PT5M", window="PT15M")]
    findings = latency(resources)
    assert statuses(findings) == {"ai": "FAIL"}
    assert "can fire 20 min after the breach begins, beyond the 10 min budget" in (
        findings[0].message
    )
    relaxed = latency(resources, latency_max_detection_minutes=20)
    assert statuses(relaxed) == {"ai": "PASS"}


def test_cpu_alert_has_a_longer_budget_than_latency():
    slow = metric_alert("cpu", "CpuPercentage", "GreaterThan", 85, every="PT5M", window="PT15M")
    assert statuses(cpu([container_app(), action_group(), slow])) == {"api": "PASS"}
    slower = metric_alert("cpu", "CpuPercentage", "GreaterThan", 85, every="PT15M", window="PT1H")
    assert statuses(cpu([container_app(), action_group(), slower])) == {"api": "FAIL"}


def test_log_search_alert_evaluated_hourly_is_too_slow():
    query = "requests | summarize d = avg(duration) by bin(timestamp, 5m)"
    slow = log_alert("latency-log", query, "GreaterThan", 4000, every="PT1H", window="PT1H")
    findings = latency([app_insights(), action_group(), slow])
    assert statuses(findings) == {"ai": "FAIL"}
    assert "evaluates every PT1H over PT1H" in findings[0].message


def test_alert_without_readable_timing_cannot_be_verified():
    unreadable = latency_alert(every=None, window="five minutes")
    assert statuses(latency([app_insights(), action_group(), unreadable])) == {"ai": "ERROR"}


def test_dynamic_threshold_with_low_sensitivity_does_not_count():
    low = metric_alert(
        "cpu",
        "CpuPercentage",
        "GreaterThan",
        None,
        criterion_type="DynamicThresholdCriterion",
        sensitivity="Low",
    )
    findings = cpu([container_app(), action_group(), low], accept_dynamic_thresholds=True)
    assert statuses(findings) == {"api": "FAIL"}
    assert "dynamic threshold with Low sensitivity" in findings[0].message
    high = metric_alert(
        "cpu",
        "CpuPercentage",
        "GreaterThan",
        None,
        criterion_type="DynamicThresholdCriterion",
        sensitivity="High",
    )
    assert statuses(
        cpu([container_app(), action_group(), high], accept_dynamic_thresholds=True)
    ) == {"api": "PASS"}


def test_unknown_sensitivity_parameter_is_an_error_at_the_scope():
    findings = cpu([container_app()], min_dynamic_sensitivity="Extreme")
    assert statuses(findings) == {"scope": "ERROR"}
    assert "min_dynamic_sensitivity" in findings[0].message


def test_action_group_whose_email_receivers_are_disabled_reaches_nobody():
    disabled = {
        "emailReceivers": [
            {"name": "oncall", "emailAddress": "oncall@example.com", "status": "Disabled"}
        ]
    }
    alert = metric_alert("cpu", "CpuPercentage", "GreaterThan", 85)
    findings = cpu([container_app(), action_group(receivers=disabled), alert])
    assert statuses(findings) == {"api": "FAIL"}
    assert "reaches nobody: email receiver oncall is Disabled" in findings[0].message


def test_webhook_on_plain_http_does_not_count_as_a_receiver():
    webhook = {
        "webhookReceivers": [
            {
                "name": "pager",
                "serviceUri": "http://pager.example.com/alert",
                "useCommonAlertSchema": True,
            }
        ]
    }
    alert = metric_alert("cpu", "CpuPercentage", "GreaterThan", 85)
    resources = [container_app(), action_group(receivers=webhook), alert]
    findings = cpu(resources)
    assert statuses(findings) == {"api": "FAIL"}
    assert "webhook receiver pager posts to http://" in findings[0].message
    assert statuses(cpu(resources, allow_http_webhooks=True)) == {"api": "PASS"}


def test_https_webhook_counts_as_a_receiver():
    webhook = {
        "webhookReceivers": [{"name": "pager", "serviceUri": "https://pager.example.com/alert"}]
    }
    alert = metric_alert("cpu", "CpuPercentage", "GreaterThan", 85)
    assert statuses(cpu([container_app(), action_group(receivers=webhook), alert])) == {
        "api": "PASS"
    }


# ---- PC-MON-003 --------------------------------------------------------------------------------


def diagnostic(
    resource_id: str,
    *,
    workspace_id: str | None = WORKSPACE,
    logs: list | None = None,
    name: str = "to-log",
) -> dict:
    return arm(
        "Microsoft.Insights/diagnosticSettings",
        name,
        id=f"{resource_id}/providers/Microsoft.Insights/diagnosticSettings/{name}",
        properties={
            "workspaceId": workspace_id,
            "logs": [{"categoryGroup": "allLogs", "enabled": True}] if logs is None else logs,
            "metrics": [{"category": "AllMetrics", "enabled": True}],
        },
    )


def test_vault_without_diagnostic_setting_fails():
    kv = arm("Microsoft.KeyVault/vaults", "kv")
    findings = run("PC-MON-003", [kv])
    assert statuses(findings) == {"kv": "FAIL"}


def test_vault_logging_to_a_workspace_passes():
    kv = arm("Microsoft.KeyVault/vaults", "kv")
    assert statuses(run("PC-MON-003", [kv, diagnostic(kv["id"])])) == {"kv": "PASS"}


def test_metrics_only_or_storage_only_settings_do_not_count():
    kv = arm("Microsoft.KeyVault/vaults", "kv")
    metrics_only = diagnostic(kv["id"], logs=[], name="metrics")
    storage_only = diagnostic(kv["id"], workspace_id=None, name="archive")
    findings = run("PC-MON-003", [kv, metrics_only, storage_only])
    assert statuses(findings) == {"kv": "FAIL"}
    assert "send no logs to a Log Analytics workspace" in findings[0].message


def test_redis_enterprise_logs_from_its_database_count():
    redis = arm("Microsoft.Cache/redisEnterprise", "redis")
    db_id = child_id(redis["id"], "databases", "default")
    db = arm("Microsoft.Cache/redisEnterprise/databases", "default", id=db_id)
    setting = diagnostic(db_id, logs=[{"category": "ConnectionEvents", "enabled": True}])
    assert statuses(run("PC-MON-003", [redis, db, setting])) == {"redis": "PASS"}


def test_environment_with_log_analytics_destination_passes():
    env = arm(
        "Microsoft.App/managedEnvironments",
        "cae",
        properties={
            "appLogsConfiguration": {
                "destination": "log-analytics",
                "logAnalyticsConfiguration": {"customerId": "c-1"},
            }
        },
    )
    assert statuses(run("PC-MON-003", [env])) == {"cae": "PASS"}


def test_environment_sending_to_azure_monitor_needs_a_diagnostic_setting():
    env = arm(
        "Microsoft.App/managedEnvironments",
        "cae",
        properties={"appLogsConfiguration": {"destination": "azure-monitor"}},
    )
    assert statuses(run("PC-MON-003", [env])) == {"cae": "FAIL"}
    assert statuses(run("PC-MON-003", [env, diagnostic(env["id"])])) == {"cae": "PASS"}


def test_one_finding_per_logged_service():
    resources = [
        arm("Microsoft.ApiManagement/service", "apim"),
        arm("Microsoft.Network/applicationGateways", "agw"),
        arm("Microsoft.CognitiveServices/accounts", "aif"),
        arm("Microsoft.DocumentDB/mongoClusters", "mongo"),
        arm("Microsoft.Communication/communicationServices", "acs"),
        arm("Microsoft.Storage/storageAccounts", "st"),
    ]
    findings = run("PC-MON-003", resources)
    # Storage is not among the services the guide wants logged.
    assert statuses(findings) == {
        "apim": "FAIL",
        "agw": "FAIL",
        "aif": "FAIL",
        "mongo": "FAIL",
        "acs": "FAIL",
    }


# ---- PC-MON-004 --------------------------------------------------------------------------------


def test_no_dashboard_fails_at_the_scope_with_low_severity():
    findings = run("PC-MON-004", [app_insights()])
    assert statuses(findings) == {"scope": "FAIL"}
    assert findings[0].severity == Severity.LOW


def test_workbook_or_grafana_passes():
    workbook = arm(
        "microsoft.insights/workbooks", "wb", kind="shared", properties={"displayName": "Ops"}
    )
    grafana = arm("Microsoft.Dashboard/grafana", "graf")
    assert statuses(run("PC-MON-004", [workbook])) == {"scope": "PASS"}
    findings = run("PC-MON-004", [grafana])
    assert statuses(findings) == {"scope": "PASS"}
    assert "graf" in by_name(findings)["scope"].message


def test_key_metrics_and_logs_have_nothing_to_check_without_the_workload():
    vnet = arm("Microsoft.Network/virtualNetworks", "vnet")
    assert statuses(run("PC-MON-002", [vnet])) == {"scope": "NOT_APPLICABLE"}
    assert statuses(run("PC-MON-003", [vnet])) == {"scope": "NOT_APPLICABLE"}


def test_alert_and_target_rules_look_for_the_same_custom_metrics():
    from rules import _alerts, performance

    defaults = {spec.key: spec.default_metric for spec in _alerts.SIGNALS}
    assert defaults["stt"] == performance.STT_METRIC
    assert defaults["tts"] == performance.TTS_METRIC
    assert defaults["call_drop"] == performance.CALL_DROP_METRIC
