"""Observability — "Monitoring dashboards and alerts configured".

The guide's monitoring stack: Application Insights for tracing, Log Analytics for logs, Azure
Monitor alerts on the key metrics, and dashboards for real-time visibility.
"""

from collections import defaultdict

from prodcheck import Severity, rule
from prodcheck.arm import norm

from ._alerts import (
    ACTION_GROUP,
    LOG_ALERT,
    METRIC_ALERT,
    AlertQuality,
    default_params,
    judge,
    signals_from,
)
from ._workload import (
    API_MANAGEMENT,
    APP_GATEWAY,
    APP_INSIGHTS,
    COGNITIVE_ACCOUNT,
    COMMUNICATION,
    CONTAINER_APP,
    COSMOS_ACCOUNT,
    DIAGNOSTIC_SETTINGS,
    KEY_VAULT,
    MANAGED_ENVIRONMENT,
    MONGO_CLUSTER,
    REDIS,
    REDIS_ENTERPRISE,
    REDIS_ENTERPRISE_DATABASE,
    WEB_TEST,
    WORKSPACE,
    log_settings,
    sends_logs_to_workspace,
    workspace_by_customer_id,
)

CHECKLIST = "Monitoring dashboards and alerts configured"


@rule(
    id="PC-MON-001",
    title="Workspace-based Application Insights sends to a Log Analytics workspace in scope",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[APP_INSIGHTS, WORKSPACE],
    params={"min_retention_days": 30},
    rationale=(
        "Classic Application Insights is retired; telemetry that does not land in a Log "
        "Analytics workspace cannot be queried beside the platform logs, and a short retention "
        "loses the history an incident review needs."
    ),
    remediation=(
        """
        Send Application Insights to a Log Analytics workspace (workspace-based mode), and keep the
        workspace's retention at 30 days or more.

        ```sh
        az monitor app-insights component update --app {name} -g {resource_group} --workspace '<log-analytics-workspace-id>'
        az monitor log-analytics workspace update -g '<workspace-resource-group>' -n '<workspace-name>' --retention-time 30
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/azure-monitor/app/create-workspace-resource",
        "https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure",
    ],
)
def app_insights_is_workspace_based(inv, p):
    """
    ## What it checks
    At least one Application Insights component exists in scope, and each one is
    workspace-based: `properties.WorkspaceResourceId` names a Log Analytics workspace that is in
    the audited scope and keeps data for at least `min_retention_days`
    (`properties.retentionInDays`). A workspace outside the audited scope cannot be verified and
    is reported as ERROR.

    Checked against the `Microsoft.Insights/components` GET bodies of API version 2020-02-02
    (PascalCase properties, `WorkspaceResourceId` written in lower case, `tags` an empty string)
    and the `Microsoft.OperationalInsights/workspaces` bodies of 2023-09-01 (ids in lower case;
    `retentionInDays`).

    ## Example
    Fails (classic component, no workspace):
    ```json
    {"type": "microsoft.insights/components", "kind": "web",
     "properties": {"IngestionMode": "ApplicationInsights"}}
    ```
    Passes:
    ```json
    {"type": "microsoft.insights/components", "kind": "web",
     "properties": {"IngestionMode": "LogAnalytics",
                    "WorkspaceResourceId": "/subscriptions/.../workspaces/log-prod"}}
    ```
    with the workspace `log-prod` in scope and `"retentionInDays": 30` or more.
    """
    components = inv.of_type(APP_INSIGHTS)
    if not components:
        yield inv.scope.fail(
            "no Application Insights component in scope: requests, dependencies and custom "
            "metrics are not traced"
        )
        return
    for component in components:
        evidence = component.evidence("properties.WorkspaceResourceId", "properties.IngestionMode")
        workspace_id = component.get("properties.WorkspaceResourceId")
        if not workspace_id:
            yield component.fail(
                "classic Application Insights: no WorkspaceResourceId, telemetry does not reach "
                "Log Analytics",
                evidence=evidence,
            )
            continue
        workspace = inv.get(str(workspace_id))
        if workspace is None:
            yield component.error(
                f"sends to workspace {workspace_id}, which is not in the audited scope: its "
                "retention cannot be verified; audit the workspace's subscription too",
                evidence=evidence,
            )
            continue
        retention = workspace.get("properties.retentionInDays")
        evidence[f"{workspace.name}.properties.retentionInDays"] = retention
        if not isinstance(retention, int | float):
            yield component.error(
                f"workspace {workspace.name} does not report its retention (retentionInDays)",
                evidence=evidence,
            )
        elif retention < p.min_retention_days:
            yield component.fail(
                f"workspace {workspace.name} keeps data {retention:g} days "
                f"(< {p.min_retention_days})",
                evidence=evidence,
                remediation=(
                    f"az monitor log-analytics workspace update -n {workspace.name} "
                    f"-g {workspace.resource_group} --retention-time {p.min_retention_days}"
                ),
            )
        else:
            yield component.ok(
                f"workspace-based: sends to {workspace.name}, which keeps data {retention:g} days",
                evidence=evidence,
            )


def _web_tests_by_link(inv):
    """Enabled availability tests by their `hidden-link:` tags (case-folded), in id order."""
    found = defaultdict(list)
    for test in inv.of_type(WEB_TEST):
        if test.get("properties.Enabled") is False:
            continue
        for link in dict.fromkeys(norm(k) for k in test.tags):
            found[link].append(test)
    return found


def _web_tests_of(inv, component):
    """Enabled availability tests that report to an Application Insights component."""
    return list(inv.derived(_web_tests_by_link, WEB_TEST).get("hidden-link:" + component.key, ()))


def _signal_remediation(signal):
    spec = signal.spec
    sign = ">" if spec.direction == "above" else "<"
    if spec.platform:
        return (
            "Create the alert, notifying an enabled action group with at least one enabled "
            "receiver:\n\n```sh\n"
            f"az monitor metrics alert create -n {spec.key.replace('_', '-')}-{{name}} "
            f"-g {{resource_group}} --scopes {{id}} --condition "
            f"'avg {signal.metric} {sign} {signal.threshold:g}' --window-size 5m "
            "--evaluation-frequency 1m --action '<action-group-id>'\n```"
        )
    return (
        f"Create a metric alert on the custom metric {signal.metric} of {{name}} "
        f"({sign} {signal.threshold:g}{spec.unit}) that notifies an enabled action group with at "
        "least one receiver; or a log search alert over customMetrics with the same condition."
    )


@rule(
    id="PC-MON-002",
    title="Each key metric of the guide has a working alert",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[
        CONTAINER_APP,
        REDIS,
        REDIS_ENTERPRISE,
        REDIS_ENTERPRISE_DATABASE,
        APP_INSIGHTS,
        WEB_TEST,
        METRIC_ALERT,
        LOG_ALERT,
        ACTION_GROUP,
        MANAGED_ENVIRONMENT,
        WORKSPACE,
        # Log search alerts count when the resource's logs reach their workspace.
        *(
            f"{t}/providers/{DIAGNOSTIC_SETTINGS}"
            for t in [
                CONTAINER_APP,
                MANAGED_ENVIRONMENT,
                REDIS,
                REDIS_ENTERPRISE,
                REDIS_ENTERPRISE_DATABASE,
                APP_INSIGHTS,
            ]
        ),
    ],
    params=default_params(),
    rationale=(
        "An alert that is disabled, too loose, too slow, on the wrong metric or routed to "
        "nobody is no alert: the first to notice a latency regression or a full Redis are the "
        "callers."
    ),
    remediation=(
        """
        Create, for each signal, an enabled metric alert on the resource with the guide's threshold,
        evaluated every minute over a 5-minute window, notifying an enabled action group with at least
        one enabled receiver (webhooks on https://). The finding gives the command for its signal; for
        container CPU:

        ```sh
        az monitor metrics alert create -n cpu-{name} -g {resource_group} --scopes {id} --condition 'avg CpuPercentage > 85' --window-size 5m --evaluation-frequency 1m --action '<action-group-id>'
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-metric-alert-rule",
        "https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-app-containerapps-metrics",
        "https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-cache-redisenterprise-metrics",
        "https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-insights-components-metrics",
        "https://learn.microsoft.com/azure/azure-monitor/app/availability-overview",
    ],
)
def key_metrics_have_alerts(inv, p):
    """
    ## What it checks
    The guide's key-metrics table, one finding per signal and resource:

    | signal | resources | metric (parameter) | alert when |
    |---|---|---|---|
    | container CPU | container apps | `CpuPercentage` (`cpu_metric`) | > 85 % (`cpu_threshold`) |
    | Redis memory | Redis, Redis Enterprise | `usedmemorypercentage` (`redis_memory_metric`) | > 80 % |
    | end-to-end latency | Application Insights | `requests/duration` (`latency_metric`, ms) | > 4000 ms |
    | STT processing | Application Insights | custom `speech_cascade.stt.recognition` (`stt_metric`) | > 1000 ms |
    | TTS generation | Application Insights | custom `speech_cascade.tts.synthesis` (`tts_metric`) | > 2000 ms |
    | availability | Application Insights, with an availability test | `availabilityResults/availabilityPercentage` | < 99.5 % |
    | call drop rate | Application Insights | custom `voice.call_drop_rate` (`call_drop_metric`) | > 2 % |

    The custom metrics' default names are those the accelerator emits (its OpenTelemetry
    histograms for STT recognition and TTS synthesis; it emits no call-drop metric, so that
    name is a convention), the same names PC-PERF-005 to PC-PERF-007 judge against targets.

    An alert counts only if all of this holds:

    - it is enabled;
    - its scope covers the resource: the resource itself, or its resource group or subscription
      with the matching `targetResourceType` (log search alerts: also the Log Analytics
      workspace the resource sends to);
    - its criterion is on the signal's metric (platform metrics in the resource type's own
      namespace), is its only criterion, has an operator in the right direction, and a threshold
      no looser than the table (a CPU alert at 90 % fails, and the finding names both numbers);
    - it can fire in time: `windowSize` + `evaluationFrequency` (the longest it takes to fire
      after a breach begins) is within the signal's detection budget,
      `<signal>_max_detection_minutes`: 10 minutes for latency, STT and TTS (a 15-minute window
      cannot page while a 4-second response time still hurts every call), 20 minutes for CPU,
      Redis memory, availability and call drop rate (slower-moving, or needing enough samples
      to mean anything). A body without readable timing gives ERROR;
    - it notifies at least one action group that is enabled and has at least one receiver that
      can be reached: not `status: Disabled` (an email receiver whose owner unsubscribed), and
      not a webhook on `http://` (the alert, and any token in the URL, cross the network in
      clear, and anyone on the path can answer in its place), unless `allow_http_webhooks`.
      The finding names each receiver that does not count and why.

    A log search alert (`scheduledQueryRules`) whose query is about the signal counts the same
    way; its threshold is compared in the signal's unit. CPU alerts on `UsageNanoCores`
    (`cpu_nanocores_metric`) count too: the threshold is converted to percent of one replica's
    CPU limit. Dynamic thresholds cannot be shown to be no looser than the table and do not count
    unless `accept_dynamic_thresholds` is true; even then a dynamic threshold whose
    `alertSensitivity` is below `min_dynamic_sensitivity` (Medium) does not count, because a
    Low sensitivity fires only on deviations far from the learnt baseline. The availability signal also needs an enabled
    availability test (`Microsoft.Insights/webtests`) linked to the component. An alert that
    would count but notifies an action group outside the audited scope gives ERROR. The
    `signals` parameter lists the signals to check (drop those the workload does not emit).

    Checked against the GET bodies of `Microsoft.Insights/metricAlerts` 2018-03-01 (static and
    dynamic criteria, `evaluationFrequency`, `windowSize`), `scheduledQueryRules`
    2023-03-15-preview and `actionGroups` 2023-01-01 (email receivers with `status`, webhook
    `serviceUri`).

    ## Example
    Fails (threshold looser than the guide's 85 %):
    ```json
    {"type": "Microsoft.Insights/metricAlerts",
     "properties": {"enabled": true, "scopes": ["/subscriptions/.../containerApps/api"],
       "criteria": {"allOf": [{"criterionType": "StaticThresholdCriterion",
         "metricName": "CpuPercentage", "operator": "GreaterThan", "threshold": 90}]},
       "actions": [{"actionGroupId": "/subscriptions/.../actionGroups/oncall"}]}}
    ```
    Passes: the same with `"threshold": 85`, and the action group `oncall` enabled with an
    email receiver.
    """
    try:
        signals = signals_from(p)
        quality = AlertQuality.from_params(p)
    except ValueError as exc:
        yield inv.scope.error(f"parameters: {exc}")
        return
    has_workload = bool(inv.of_type(CONTAINER_APP))
    for signal in signals:
        resources = inv.of_type(*signal.spec.resource_types)
        if not resources:
            if signal.spec.resource_types == (APP_INSIGHTS,) and has_workload:
                yield inv.scope.fail(
                    f"{signal.label}: no Application Insights component in scope to alert on "
                    f"{signal.wanted()}",
                    remediation="Add workspace-based Application Insights and the guide's alerts.",
                    subject=signal.spec.key,
                )
            continue
        for resource in resources:
            yield _signal_verdict(inv, quality, signal, resource)


def _signal_verdict(inv, quality, signal, resource):
    judgements = judge(inv, signal, resource, quality)
    evidence = {
        "signal": signal.label,
        "alert when": signal.wanted(),
        "alerts": {j.alert.name: j.reason for j in judgements},
    }
    remediation = _signal_remediation(signal)
    # One finding per signal and resource: the signal is what each finding is about.
    subject = signal.spec.key
    extra = []
    if signal.spec.key == "availability":
        tests = _web_tests_of(inv, resource)
        evidence["availability tests"] = [t.name for t in tests]
        if not tests:
            extra.append(
                f"no enabled availability test (Microsoft.Insights/webtests) reports to {resource.name}"
            )
    working = [j for j in judgements if j.works]
    if working and not extra:
        names = ", ".join(f"{j.alert.name} ({j.reason})" for j in working)
        return resource.ok(
            f"{signal.label}: {signal.wanted()} alerted by {names}",
            evidence=evidence,
            subject=subject,
        )
    rejected = [f"{j.alert.name} {j.reason}" for j in judgements if not j.works]
    unverifiable = [j for j in judgements if j.unverifiable]
    if unverifiable and not extra:
        return resource.error(
            f"{signal.label}: cannot verify the alert on {signal.wanted()}: "
            + "; ".join(f"{j.alert.name} {j.reason}" for j in unverifiable),
            evidence=evidence,
            subject=subject,
        )
    if working:
        problems = extra
    elif judgements:
        problems = [f"no working alert on {signal.wanted()}", *rejected, *extra]
    else:
        problems = [f"no alert on {signal.wanted()}", *extra]
    return resource.fail(
        f"{signal.label}: " + problems[0],
        *problems[1:],
        evidence=evidence,
        remediation=remediation,
        subject=subject,
    )


# Where the guide wants platform logs in Log Analytics.
_LOGGED_TYPES = [
    API_MANAGEMENT,
    APP_GATEWAY,
    KEY_VAULT,
    COGNITIVE_ACCOUNT,
    REDIS,
    REDIS_ENTERPRISE,
    COSMOS_ACCOUNT,
    MONGO_CLUSTER,
    COMMUNICATION,
    MANAGED_ENVIRONMENT,
]


@rule(
    id="PC-MON-003",
    title="Platform logs of the workload's services go to Log Analytics",
    checklist=CHECKLIST,
    severity=Severity.MEDIUM,
    # The diagnostic settings of these types only: one read per resource of each.
    needs=[
        *_LOGGED_TYPES,
        REDIS_ENTERPRISE_DATABASE,
        WORKSPACE,
        *(
            f"{t}/providers/{DIAGNOSTIC_SETTINGS}"
            for t in [*_LOGGED_TYPES, REDIS_ENTERPRISE_DATABASE]
        ),
    ],
    rationale=(
        "Without resource logs in a workspace there is no audit trail of secret reads, no gateway "
        "or WAF log, no record of who called the AI endpoints: an incident cannot be reconstructed."
    ),
    remediation=(
        """
        Send the resource's logs and metrics to the workload's Log Analytics workspace:

        ```sh
        az monitor diagnostic-settings create -n send-to-log --resource {id} --workspace '<log-analytics-workspace-id>' --logs '[{"categoryGroup":"allLogs","enabled":true}]' --metrics '[{"category":"AllMetrics","enabled":true}]'
        ```
    """
    ),
    links=["https://learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings"],
)
def services_send_logs(inv, p):
    """
    ## What it checks
    API Management, Application Gateway, Key Vault, Cognitive Services accounts, Redis and
    Redis Enterprise, Cosmos DB and MongoDB clusters, Communication Services and the Container
    Apps environment each have a diagnostic setting (`Microsoft.Insights/diagnosticSettings`)
    with a Log Analytics destination (`workspaceId`) and at least one log category or category
    group enabled. A setting with metrics only, or to storage or Event Hubs only, does not count.

    Redis Enterprise (Azure Managed Redis) writes its connection logs from the database: a
    setting on the cluster or on one of its databases counts. A Container Apps environment
    counts when `appLogsConfiguration.destination` is `log-analytics` with a workspace
    `customerId`, or `azure-monitor` with such a diagnostic setting.

    Checked against the diagnostic settings bodies of API versions 2017-05-01-preview (log
    entries with `category` only) and 2021-05-01-preview (the collector's: `categoryGroup`, an
    empty `workspaceId` beside storage and Event Hubs destinations, ids with `resourcegroups`
    and `microsoft.insights` in lower case).

    ## Example
    Passes (a diagnostic setting, child of the vault):
    ```json
    {"type": "Microsoft.Insights/diagnosticSettings",
     "id": "/subscriptions/.../vaults/kv-prod/providers/Microsoft.Insights/diagnosticSettings/to-log",
     "properties": {"workspaceId": "/subscriptions/.../workspaces/log-prod",
                    "logs": [{"categoryGroup": "audit", "enabled": true}]}}
    ```
    Fails: no such setting, or one with only `"metrics": [...]`.
    """
    for resource in inv.of_type(*_LOGGED_TYPES):
        settings = log_settings(inv, resource)
        good = [s for s in settings if sends_logs_to_workspace(s)]
        evidence: dict[str, object] = {
            "diagnosticSettings": {
                s.name: {
                    "workspaceId": s.get("properties.workspaceId"),
                    "logs": sends_logs_to_workspace(s),
                }
                for s in settings
            }
        }
        if resource.is_type(MANAGED_ENVIRONMENT):
            destination = str(resource.get("properties.appLogsConfiguration.destination", "") or "")
            customer_id = resource.get(
                "properties.appLogsConfiguration.logAnalyticsConfiguration.customerId"
            )
            evidence["properties.appLogsConfiguration.destination"] = destination or None
            if destination.lower() == "log-analytics" and customer_id:
                workspace = workspace_by_customer_id(inv, str(customer_id))
                where = workspace.name if workspace is not None else f"workspace {customer_id}"
                yield resource.ok(f"app logs go to Log Analytics ({where})", evidence=evidence)
                continue
        if good:
            names = ", ".join(sorted({s.name for s in good}))
            yield resource.ok(
                f"diagnostic setting {names} sends logs to Log Analytics", evidence=evidence
            )
        elif settings:
            yield resource.fail(
                "its diagnostic settings send no logs to a Log Analytics workspace "
                "(metrics only, or another destination)",
                evidence=evidence,
            )
        else:
            yield resource.fail("no diagnostic setting: its logs go nowhere", evidence=evidence)


DASHBOARD_TYPES = [
    "Microsoft.Portal/dashboards",
    "Microsoft.Insights/workbooks",
    "Microsoft.Dashboard/grafana",
]


@rule(
    id="PC-MON-004",
    title="An operational dashboard exists",
    checklist=CHECKLIST,
    severity=Severity.LOW,
    needs=DASHBOARD_TYPES,
    rationale="On call, people look at a dashboard before they write a query.",
    remediation=(
        """
        Create a shared Azure Monitor workbook (or a portal dashboard, or Azure Managed Grafana) that
        shows the guide's key metrics: end-to-end latency, STT and TTS time, availability, call drops,
        CPU and Redis memory. Keep it in the workload's resource group so that the audit sees it.
    """
    ),
    links=["https://learn.microsoft.com/azure/azure-monitor/visualize/workbooks-overview"],
)
def dashboard_exists(inv, p):
    """
    ## What it checks
    At least one shared portal dashboard (`Microsoft.Portal/dashboards`), shared Azure Monitor
    workbook (`Microsoft.Insights/workbooks`) or Azure Managed Grafana
    (`Microsoft.Dashboard/grafana`) exists in scope. One finding for the scope. Private
    workbooks and dashboards are not ARM resources and cannot be seen.

    Checked against the GET bodies of `Microsoft.Insights/workbooks` 2022-04-01 (`kind: shared`,
    `displayName`, an id in lower case) and `Microsoft.Portal/dashboards` 2020-09-01-preview (no
    display name: the dashboard's name is shown).

    ## Example
    Passes:
    ```json
    {"type": "microsoft.insights/workbooks", "kind": "shared",
     "properties": {"displayName": "Voice agent operations", "category": "workbook"}}
    ```
    Fails: none of the three types in scope.
    """
    found = inv.of_type(*DASHBOARD_TYPES)
    if not found:
        yield inv.scope.fail("no shared dashboard, workbook or Managed Grafana in scope")
        return
    names = ", ".join(
        f"{d.get('properties.displayName') or d.name} ({d.type.split('/')[-1]})" for d in found
    )
    yield inv.scope.ok(
        f"operational views: {names}", evidence={"dashboards": [d.id for d in found]}
    )
