"""Cost — "Cost optimization opportunities identified", where Azure shows it.

Two parts of the cost review can be read from ARM: a budget that tells someone when spend runs
away, and container apps that can shrink when the calls stop. The rest of the review
(right-sizing, reservations, caching decisions) stays the MANUAL line PC-OPS-010.
"""

from prodcheck import Severity, rule

from ._workload import CONTAINER_APP, listed

BUDGET = "Microsoft.Consumption/budgets"
CHECKLIST = "Cost optimization opportunities identified"

# Container Apps default when the scale block leaves minReplicas out.
DEFAULT_MIN_REPLICAS = 0


def _enabled_notifications(budget) -> dict[str, object]:
    """The budget's enabled notifications: name → threshold (ARM keys them by name)."""
    notifications = budget.get("properties.notifications")
    if not isinstance(notifications, dict):
        return {}
    return {
        str(name): n.get("threshold")
        for name, n in notifications.items()
        if isinstance(n, dict) and n.get("enabled") is True
    }


@rule(
    id="PC-COST-001",
    title="A budget with an enabled notification watches the workload's spend",
    checklist=CHECKLIST,
    severity=Severity.MEDIUM,
    needs=[BUDGET],
    rationale=(
        "Voice traffic bills per minute of speech, per token and per replica: a runaway loop or "
        "a scale-out that never scales back shows up on the invoice a month later unless a "
        "budget warns someone while it happens."
    ),
    remediation="""
        Create a monthly cost budget on the workload's resource group (or its subscription), then
        add a notification to the team's mailbox or action group in Cost Management > Budgets;
        or enable the notifications of the existing budget. Set MONTHLY_AMOUNT, START (the first
        day of this month) and END first:

        ```sh
        az consumption budget create --resource-group {resource_group} --budget-name monthly --amount "$MONTHLY_AMOUNT" --category cost --time-grain monthly --start-date "$START" --end-date "$END"
        ```
    """,
    links=[
        "https://learn.microsoft.com/azure/cost-management-billing/costs/tutorial-acm-create-budgets"
    ],
)
def budget_with_notification(inv, p):
    """
    ## What it checks
    At least one cost budget (`Microsoft.Consumption/budgets`, read at the audited subscription
    or at each audited resource group, API version 2023-05-01) has a notification with
    `enabled: true` (one finding for the scope). No budget, or budgets whose notifications are
    all disabled, fails. Budgets carry no tags, so an audit filtered by tags still reads the
    budgets of its subscription or resource groups. A budget list that could not be read
    (the auditor lacks `Microsoft.Consumption/budgets/read`) makes the finding ERROR.

    Listed at a subscription, ARM returns the budgets set on the subscription; a budget set on a
    resource group is seen when the audit names that group (`--resource-group`).

    Checked against the `Microsoft.Consumption/budgets` GET bodies of API version 2023-05-01 (an
    id without its leading slash, no location or tags, notifications keyed by name with
    `thresholdType`, `contactEmails` and `contactGroups`).

    ## Example
    Passes:
    ```json
    {"type": "Microsoft.Consumption/budgets", "properties": {"category": "Cost",
      "amount": 4000, "timeGrain": "Monthly",
      "notifications": {"Actual_GreaterThan_80_Percent": {"enabled": true,
        "operator": "GreaterThan", "threshold": 80, "contactEmails": ["ops@example.com"]}}}}
    ```
    Fails: the same budget with `"enabled": false`, or no budget at all.
    """
    budgets = inv.of_type(BUDGET)
    evidence = {b.id: _enabled_notifications(b) for b in budgets}
    watching = [b for b in budgets if evidence[b.id]]
    if watching:
        names = ", ".join(
            f"{b.name} ({b.get('properties.amount')} {b.get('properties.timeGrain', '')})".replace(
                " )", ")"
            )
            for b in watching
        )
        yield inv.scope.ok(f"budget with notifications: {names}", evidence={"budgets": evidence})
    elif budgets:
        yield inv.scope.fail(
            f"no notification is enabled on the budget(s) {', '.join(b.name for b in budgets)}: "
            "nobody is told when spend passes them",
            evidence={"budgets": evidence},
        )
    else:
        yield inv.scope.fail(
            "no budget in the audited subscription or resource groups: nobody is told when "
            "spend runs away"
        )


def _cron_rules(rules) -> list[str]:
    return [
        str(r.get("name") or "(unnamed)")
        for r in rules
        if isinstance(r, dict)
        and isinstance(r.get("custom"), dict)
        and str(r["custom"].get("type", "")).lower() == "cron"
    ]


@rule(
    id="PC-COST-002",
    title="Container apps can scale down off-peak",
    checklist=CHECKLIST,
    severity=Severity.LOW,
    needs=[CONTAINER_APP],
    params={"max_min_replicas": 2, "excluded_apps": []},
    rationale=(
        "Call volume follows office hours. Replicas held above what availability needs bill "
        "around the clock; the guide's two replicas keep calls alive through a restart, more "
        "only pay for idle nights and weekends unless a schedule raises them for the day."
    ),
    remediation="""
        Let the app idle at the guide's two replicas:

        ```sh
        az containerapp update -n {name} -g {resource_group} --min-replicas 2
        ```

        or, where more replicas are needed in the day, add a schedule-based rule to the app's
        template (`template.scale.rules`) and lower minReplicas:

        ```json
        {"name": "business-hours", "custom": {"type": "cron", "metadata": {"timezone": "Europe/Paris", "start": "0 8 * * 1-5", "end": "0 19 * * 1-5", "desiredReplicas": "10"}}}
        ```
    """,
    links=["https://keda.sh/docs/latest/scalers/cron/"],
)
def apps_scale_down_off_peak(inv, p):
    """
    ## What it checks
    Every container app either keeps no more than `max_min_replicas` replicas (default 2, the
    guide's `minReplicas`) when idle (`template.scale.minReplicas`, absent means 0), or has a
    schedule-based scale rule (a KEDA `cron` rule in `template.scale.rules`) that raises the
    replicas for the busy hours. Apps named in `excluded_apps` are not judged. Whether two
    replicas are enough for availability is PC-SCALE-001's question.

    Checked against the `Microsoft.App/containerApps` GET bodies of API version 2025-07-01
    (`scale` with `cooldownPeriod` and `pollingInterval`, rules of kinds `http`, `custom` and
    `azureQueue`; a `custom` rule's `type` is compared case-insensitively) and an app without a
    `scale` block (`minReplicas` absent: 0).

    ## Example
    Fails (five replicas day and night):
    ```json
    {"template": {"scale": {"minReplicas": 5, "maxReplicas": 50, "rules": null}}}
    ```
    Passes:
    ```json
    {"template": {"scale": {"minReplicas": 2, "maxReplicas": 20}}}
    ```
    Passes too (a schedule for the busy hours):
    ```json
    {"template": {"scale": {"minReplicas": 5, "rules": [{"name": "business-hours",
      "custom": {"type": "cron", "metadata": {"timezone": "Europe/Paris",
        "start": "0 8 * * 1-5", "end": "0 19 * * 1-5", "desiredReplicas": "10"}}}]}}}
    ```
    """
    excluded = {str(n).lower() for n in p.excluded_apps}
    for app in inv.of_type(CONTAINER_APP):
        if app.name.lower() in excluded:
            yield app.not_applicable("excluded by the excluded_apps parameter")
            continue
        evidence = app.evidence(
            "properties.template.scale.minReplicas", "properties.template.scale.rules"
        )
        raw = app.get("properties.template.scale.minReplicas")
        try:
            low = DEFAULT_MIN_REPLICAS if raw is None else int(float(raw))
        except (TypeError, ValueError):
            yield app.error(f"minReplicas {raw!r} is not a number", evidence=evidence)
            continue
        cron = _cron_rules(listed(app.get("properties.template.scale.rules")))
        if low <= p.max_min_replicas:
            yield app.ok(f"scales down to {low} replica(s) when idle", evidence=evidence)
        elif cron:
            yield app.ok(
                f"schedule-based scale rule(s) {', '.join(cron)} set the replicas by time of day",
                evidence=evidence,
            )
        else:
            yield app.fail(
                f"minReplicas {low} > {p.max_min_replicas}: {low} replicas run off-peak too, and "
                "no schedule-based (cron) scale rule lowers them",
                evidence=evidence,
            )
