"""Cost: a budget that warns someone, and container apps that shrink off-peak."""

from __future__ import annotations

from builders import RG, SUB, arm, run, snapshot, statuses

from prodcheck.api import audit_snapshot
from prodcheck.snapshot import load_demo

BUDGET = "Microsoft.Consumption/budgets"
APP = "Microsoft.App/containerApps"


def budget(name="monthly", *, rg=RG, **notifications):
    """A budget as the 2023-05-01 list returns it; keyword = notification name → enabled."""
    return {
        "id": f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/{BUDGET}/{name}",
        "name": name,
        "type": BUDGET,
        "eTag": '"1d0000000000001"',
        "properties": {
            "category": "Cost",
            "amount": 5000,
            "timeGrain": "Monthly",
            "timePeriod": {"startDate": "2026-01-01T00:00:00Z"},
            "notifications": {
                key: {
                    "enabled": enabled,
                    "operator": "GreaterThan",
                    "threshold": 80,
                    "contactEmails": ["ops@example.com"],
                }
                for key, enabled in notifications.items()
            },
        },
    }


def app(name, scale):
    return arm(APP, name, properties={"template": {"scale": scale}})


def test_a_budget_with_an_enabled_notification_passes_with_its_amount():
    (finding,) = run("PC-COST-001", [budget(Actual_80=True)])
    assert finding.status.value == "PASS"
    assert "monthly (5000 Monthly)" in finding.message
    (notifications,) = finding.evidence["budgets"].values()
    assert notifications == {"Actual_80": 80}


def test_budgets_whose_notifications_are_all_disabled_fail():
    (finding,) = run("PC-COST-001", [budget(Actual_80=False), budget("other")])
    assert finding.status.value == "FAIL"
    assert "monthly, other" in finding.message


def test_no_budget_fails_and_a_notification_that_is_not_an_object_counts_for_nothing():
    assert statuses(run("PC-COST-001", [])) == {"scope": "FAIL"}
    odd = budget()
    odd["properties"]["notifications"] = {"thresholdType": "Actual", "x": {"enabled": "true"}}
    assert statuses(run("PC-COST-001", [odd])) == {"scope": "FAIL"}


def test_an_unreadable_budget_list_is_an_error_not_a_failure():
    coverage = [
        {
            "resourceType": BUDGET,
            "scope": f"/subscriptions/{SUB}",
            "status": "failed",
            "statusCode": 403,
            "errorCode": "AuthorizationFailed",
            "message": "denied",
            "permission": f"{BUDGET}/read",
        }
    ]
    found = statuses(run("PC-COST-001", [], coverage=coverage))
    assert found["scope"] == "ERROR"
    assert set(found.values()) == {"ERROR"}


def test_apps_that_idle_at_the_guides_replicas_or_follow_a_schedule_pass():
    cron = {
        "name": "business-hours",
        "custom": {
            "type": "cron",
            "metadata": {"timezone": "UTC", "start": "0 8 * * 1-5", "end": "0 19 * * 1-5"},
        },
    }
    findings = run(
        "PC-COST-002",
        [
            app("guide", {"minReplicas": 2, "maxReplicas": 20}),
            app("zero", {}),
            app("scheduled", {"minReplicas": 5, "rules": [cron]}),
            app("always-on", {"minReplicas": 5, "maxReplicas": 50, "rules": None}),
            app("odd", {"minReplicas": "five"}),
        ],
    )
    assert statuses(findings) == {
        "guide": "PASS",
        "zero": "PASS",
        "scheduled": "PASS",
        "always-on": "FAIL",
        "odd": "ERROR",
    }
    failing = next(f for f in findings if f.resource_name == "always-on")
    assert "minReplicas 5 > 2" in failing.message


def test_the_replica_ceiling_and_exclusions_are_parameters():
    apps = [app("batch", {"minReplicas": 3}), app("api", {"minReplicas": 3})]
    findings = run("PC-COST-002", apps, params={"max_min_replicas": 3, "excluded_apps": ["batch"]})
    assert statuses(findings) == {"batch": "NOT_APPLICABLE", "api": "PASS"}


def _demo_statuses(name, rule_id):
    report = audit_snapshot(load_demo(name))
    return {
        (f.resource_name if f.resource_type != "scope" else "scope"): f.status.value
        for f in report.findings
        if f.rule_id == rule_id
    }


def test_the_hardened_demo_has_a_budget_and_apps_that_idle_at_two_replicas():
    assert _demo_statuses("hardened", "PC-COST-001") == {"scope": "PASS"}
    assert set(_demo_statuses("hardened", "PC-COST-002").values()) == {"PASS"}


def test_the_flat_demo_has_no_budget_and_a_backend_held_at_five_replicas():
    assert _demo_statuses("flat", "PC-COST-001") == {"scope": "FAIL"}
    assert _demo_statuses("flat", "PC-COST-002") == {
        "artagent-frontend-k3x9p2qa": "PASS",
        "artagent-backend-k3x9p2qa": "FAIL",
    }


# ---- shapes of the Container Apps GET bodies ---------------------------------------------------


def scaled_app(name: str, scale) -> dict:
    return arm(
        "Microsoft.App/containerApps",
        name,
        properties={
            "template": {"containers": [{"name": "app", "image": "repo/app:v4"}], "scale": scale}
        },
    )


def test_scale_blocks_as_the_2025_07_01_body_has_them():
    example = {
        "minReplicas": 1,
        "maxReplicas": 5,
        "cooldownPeriod": 350,
        "pollingInterval": 35,
        "rules": [
            {"name": "httpscalingrule", "http": {"metadata": {"concurrentRequests": "50"}}},
            {
                "name": "servicebus",
                "custom": {"type": "azure-servicebus", "metadata": {"messageCount": "5"}},
            },
            {"name": "azure-queue", "azureQueue": {"queueName": "queue1", "queueLength": 1}},
        ],
    }
    held = {**example, "minReplicas": 5}
    scheduled = {
        **held,
        "rules": [{"name": "day", "custom": {"type": "Cron", "metadata": {"start": "0 8 * * *"}}}],
    }
    findings = run(
        "PC-COST-002",
        [
            scaled_app("example", example),
            scaled_app("held", held),
            scaled_app("scheduled", scheduled),
            scaled_app("no-scale", None),
        ],
    )
    assert statuses(findings) == {
        "example": "PASS",
        "held": "FAIL",
        "scheduled": "PASS",
        "no-scale": "PASS",
    }


def test_budget_whose_id_lacks_the_leading_slash_as_the_2023_05_01_example_writes_it():
    budget = {
        "id": f"subscriptions/{SUB}/resourceGroups/{RG}/providers/{BUDGET}/TestBudget",
        "name": "TestBudget",
        "type": BUDGET,
        "eTag": '"1d34d012214157f"',
        "properties": {
            "category": "Cost",
            "amount": 100.65,
            "timeGrain": "Monthly",
            "currentSpend": {"amount": 80.89, "unit": "USD"},
            "notifications": {
                "Actual_GreaterThan_80_Percent": {
                    "enabled": True,
                    "operator": "GreaterThan",
                    "threshold": 80,
                    "contactEmails": ["ops@example.com"],
                    "contactGroups": [
                        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/microsoft.insights/actionGroups/oncall"
                    ],
                    "thresholdType": "Actual",
                }
            },
        },
    }
    report = audit_snapshot(snapshot([budget]), rules=["PC-COST-001"])
    (finding,) = report.findings
    assert finding.status.value == "PASS"
    assert "TestBudget (100.65 Monthly)" in finding.message
