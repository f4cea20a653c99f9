"""Scale rules: PC-SCALE-001 (replicas), PC-SCALE-002 (scale rules), PC-SCALE-003 (zones and HA)."""

from __future__ import annotations

from builders import arm, by_name, run, statuses

from prodcheck.model import Severity

HTTP_50 = {"name": "http-requests", "http": {"metadata": {"concurrentRequests": "50"}}}
CPU_70 = {
    "name": "cpu-utilization",
    "custom": {"type": "cpu", "metadata": {"type": "Utilization", "value": "70"}},
}


def app(name: str = "api", **scale) -> dict:
    return arm("Microsoft.App/containerApps", name, properties={"template": {"scale": scale}})


# ---- PC-SCALE-001 -----------------------------------------------------------------------------


def test_guide_replica_range_passes():
    assert statuses(run("PC-SCALE-001", [app(minReplicas=2, maxReplicas=20)])) == {"api": "PASS"}


def test_min_replicas_one_fails():
    findings = run("PC-SCALE-001", [app(minReplicas=1, maxReplicas=20)])
    assert statuses(findings) == {"api": "FAIL"}
    assert findings[0].message == "minReplicas 1 < 2"


def test_missing_min_replicas_means_scale_to_zero():
    findings = run("PC-SCALE-001", [app(maxReplicas=20)])
    assert "scales to zero" in findings[0].message


def test_low_ceiling_fails_and_the_ceiling_is_a_parameter():
    findings = run("PC-SCALE-001", [app(minReplicas=2, maxReplicas=10)])
    assert findings[0].message == "maxReplicas 10 < 20"
    assert statuses(
        run("PC-SCALE-001", [app(minReplicas=2, maxReplicas=10)], {"min_max_replicas": 10})
    ) == {"api": "PASS"}


def test_excluded_app_is_not_judged():
    findings = run("PC-SCALE-001", [app("batch", minReplicas=0)], {"excluded_apps": ["batch"]})
    assert statuses(findings) == {"batch": "NOT_APPLICABLE"}


# ---- PC-SCALE-002 -----------------------------------------------------------------------------


def test_guide_scale_rules_pass():
    findings = run("PC-SCALE-002", [app(rules=[HTTP_50, CPU_70])])
    assert statuses(findings) == {"api": "PASS"}
    assert findings[0].message == "scales on HTTP at 50 concurrent requests and CPU at 70%"


def test_no_scale_rules_fails_although_the_platform_adds_an_http_rule():
    findings = run("PC-SCALE-002", [app(minReplicas=2, maxReplicas=20, rules=None)])
    assert statuses(findings) == {"api": "FAIL"}
    assert "no scale rules" in findings[0].message


def test_missing_cpu_rule_fails():
    findings = run("PC-SCALE-002", [app(rules=[HTTP_50])])
    assert statuses(findings) == {"api": "FAIL"}
    assert "no CPU utilization rule" in findings[0].message


def test_http_rule_above_fifty_concurrent_requests_fails():
    http_100 = {"name": "http", "http": {"metadata": {"concurrentRequests": "100"}}}
    findings = run("PC-SCALE-002", [app(rules=[http_100, CPU_70])])
    assert "100 concurrent requests (> 50)" in findings[0].message


def test_http_rule_without_concurrency_uses_the_platform_default_of_ten():
    findings = run("PC-SCALE-002", [app(rules=[{"name": "http", "http": {}}, CPU_70])])
    assert statuses(findings) == {"api": "PASS"}
    null_metadata = {"name": "http", "http": {"metadata": None}}
    assert statuses(run("PC-SCALE-002", [app(rules=[null_metadata, CPU_70])])) == {"api": "PASS"}


def test_cpu_rule_above_seventy_percent_fails():
    cpu_90 = {
        "name": "cpu",
        "custom": {"type": "cpu", "metadata": {"type": "Utilization", "value": "90"}},
    }
    findings = run("PC-SCALE-002", [app(rules=[HTTP_50, cpu_90])])
    assert "scales at 90% (> 70%)" in findings[0].message


def test_cpu_rule_on_average_value_is_not_utilization():
    absolute = {
        "name": "cpu",
        "custom": {"type": "cpu", "metadata": {"type": "AverageValue", "value": "500"}},
    }
    findings = run("PC-SCALE-002", [app(rules=[HTTP_50, absolute])])
    assert statuses(findings) == {"api": "FAIL"}
    assert "not utilization" in findings[0].message


def test_scale_rule_limits_are_parameters():
    http_100 = {"name": "http", "http": {"metadata": {"concurrentRequests": "100"}}}
    findings = run(
        "PC-SCALE-002", [app(rules=[http_100, CPU_70])], {"max_concurrent_requests": 100}
    )
    assert statuses(findings) == {"api": "PASS"}


# ---- PC-SCALE-003 -----------------------------------------------------------------------------


def test_zone_redundant_environment_passes_and_single_zone_fails():
    findings = run(
        "PC-SCALE-003",
        [
            arm("Microsoft.App/managedEnvironments", "zr", properties={"zoneRedundant": True}),
            arm("Microsoft.App/managedEnvironments", "single", properties={"zoneRedundant": False}),
        ],
    )
    assert statuses(findings) == {"zr": "PASS", "single": "FAIL"}
    assert findings[0].severity == Severity.MEDIUM


def test_managed_redis_high_availability_decides():
    on = arm(
        "Microsoft.Cache/redisEnterprise",
        "on",
        sku={"name": "Balanced_B5"},
        properties={"highAvailability": "Enabled"},
    )
    off = arm(
        "Microsoft.Cache/redisEnterprise",
        "off",
        sku={"name": "Balanced_B5"},
        properties={"highAvailability": "Disabled"},
    )
    assert statuses(run("PC-SCALE-003", [on, off])) == {"on": "PASS", "off": "FAIL"}


def test_enterprise_tier_always_replicates_and_unknown_managed_redis_is_error():
    enterprise = arm(
        "Microsoft.Cache/redisEnterprise", "ent", sku={"name": "Enterprise_E10"}, properties={}
    )
    unknown = arm(
        "Microsoft.Cache/redisEnterprise", "amr", sku={"name": "Balanced_B5"}, properties={}
    )
    assert statuses(run("PC-SCALE-003", [enterprise, unknown])) == {"ent": "PASS", "amr": "ERROR"}


def test_basic_redis_has_no_replica():
    basic = arm(
        "Microsoft.Cache/redis",
        "basic",
        properties={"sku": {"name": "Basic", "family": "C", "capacity": 1}},
    )
    premium = arm(
        "Microsoft.Cache/redis",
        "premium",
        zones=["1", "2"],
        properties={"sku": {"name": "Premium", "family": "P", "capacity": 1}},
    )
    findings = run("PC-SCALE-003", [basic, premium])
    assert statuses(findings) == {"basic": "FAIL", "premium": "PASS"}
    assert "--sku Standard" in by_name(findings)["basic"].remediation


def test_nothing_to_scale_is_not_applicable():
    vnet = arm("Microsoft.Network/virtualNetworks", "vnet")
    for rule_id in ("PC-SCALE-001", "PC-SCALE-002", "PC-SCALE-003"):
        assert statuses(run(rule_id, [vnet])) == {"scope": "NOT_APPLICABLE"}, rule_id


# ---- shapes of the GET bodies ------------------------------------------------------------------


def test_zone_redundancy_on_the_bodies_of_the_api_examples():
    env = arm(
        "Microsoft.App/managedEnvironments",
        "jlaw-demo1",
        properties={"zoneRedundant": True, "deploymentErrors": None, "staticIp": "20.42.33.145"},
    )
    # Redis 2024-11-01: the SKU inside `properties`, zones left to `zonalAllocationPolicy`.
    redis = arm(
        "Microsoft.Cache/Redis",
        "cache1",
        properties={
            "sku": {"name": "Premium", "family": "P", "capacity": 3},
            "replicasPerPrimary": 2,
            "zonalAllocationPolicy": "Automatic",
        },
    )
    # Redis Enterprise 2025-07-01: no highAvailability, an Enterprise SKU across three zones.
    enterprise = arm(
        "Microsoft.Cache/redisEnterprise",
        "cache2",
        kind="v1",
        sku={"name": "EnterpriseFlash_F300", "capacity": 3},
        zones=["1", "2", "3"],
        properties={"minimumTlsVersion": "1.2", "publicNetworkAccess": "Disabled"},
    )
    managed = arm(
        "Microsoft.Cache/redisEnterprise",
        "amr",
        sku={"name": "Balanced_B5"},
        properties={"minimumTlsVersion": "1.2"},
    )
    findings = run("PC-SCALE-003", [env, redis, enterprise, managed])
    assert statuses(findings) == {
        "jlaw-demo1": "PASS",
        "cache1": "PASS",
        "cache2": "PASS",
        "amr": "ERROR",
    }


def test_http_rule_written_as_a_custom_rule_of_type_http_is_the_http_rule():
    # The 2025-07-01 request example writes it so; the response turns it into `http`.
    rules = [
        {
            "name": "httpscalingrule",
            "custom": {"type": "http", "metadata": {"concurrentRequests": "50"}},
        },
        {
            "name": "cpu",
            "custom": {"type": "cpu", "metadata": {"type": "Utilization", "value": "70"}},
        },
        {"name": "azure-queue", "azureQueue": {"queueName": "queue1", "queueLength": 1}},
    ]
    app = arm(
        "Microsoft.App/containerApps",
        "testcontainerapp0",
        properties={"template": {"scale": {"minReplicas": 2, "maxReplicas": 20, "rules": rules}}},
    )
    findings = run("PC-SCALE-002", [app])
    assert statuses(findings) == {"testcontainerapp0": "PASS"}
    assert "HTTP at 50 concurrent requests" in findings[0].message
