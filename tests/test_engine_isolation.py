"""Rules that misbehave: a crash, an exit or an endless loop is ERROR for that rule only."""

from __future__ import annotations

import sys

import pytest
from builders import SUB, arm, by_name, rid, run, run_cli, snapshot

from prodcheck import Severity, Status, rule
from prodcheck.engine import AuditSettings, audit, run_rule
from prodcheck.inventory import Inventory
from prodcheck.snapshot import Snapshot

REDIS = "Microsoft.Cache/redis"
GATEWAY = "Microsoft.Network/applicationGateways"
ENVIRONMENT = "Microsoft.App/managedEnvironments"


def _inv(resources):
    return Inventory(resources, scope={"subscriptions": [SUB]})


def _caches(*names):
    return [arm(REDIS, n, properties={"publicNetworkAccess": "Disabled"}) for n in names]


@rule(id="TEST-GOOD-001", title="t", checklist="c", severity=Severity.LOW, needs=[REDIS])
def good(inv, p):
    for cache in inv.of_type(REDIS):
        yield cache.ok("fine")


class Odd(BaseException):
    pass


@pytest.mark.parametrize(
    "ending",
    [lambda: sys.exit(0), lambda: sys.exit(3), lambda: (_ for _ in ()).throw(Odd("odd"))],
    ids=["exit-0", "exit-3", "base-exception"],
)
def test_a_rule_ending_the_process_is_error_and_the_audit_goes_on(ending):
    @rule(id="TEST-EXIT-001", title="t", checklist="c", severity=Severity.LOW, needs=[REDIS])
    def exits(inv, p):
        caches = inv.of_type(REDIS)
        yield caches[0].ok("judged before it left")
        ending()

    report = audit(Snapshot(_caches("a", "b")), [exits.__prodcheck_rule__, good.__prodcheck_rule__])
    mine = [f for f in report.findings if f.rule_id == "TEST-EXIT-001"]
    assert {f.status for f in mine} == {Status.PASS, Status.ERROR}
    [broke] = [f for f in mine if f.status is Status.ERROR]
    assert "TEST-EXIT-001 broke" in broke.message
    others = [f.status for f in report.findings if f.rule_id == "TEST-GOOD-001"]
    assert others == [Status.PASS, Status.PASS]
    assert report.exit_code == 1


def test_keyboard_interrupt_still_stops_the_audit():
    @rule(id="TEST-INT-001", title="t", checklist="c", severity=Severity.LOW, needs=[REDIS])
    def interrupted(inv, p):
        raise KeyboardInterrupt
        yield

    with pytest.raises(KeyboardInterrupt):
        run_rule(interrupted.__prodcheck_rule__, _inv(_caches("a")))


@rule(id="TEST-LOOP-001", title="t", checklist="c", severity=Severity.LOW, needs=[REDIS])
def endless(inv, p):
    yield inv.of_type(REDIS)[0].ok("judged before the loop")
    while True:
        pass


@rule(id="TEST-LOOP-002", title="t", checklist="c", severity=Severity.LOW, needs=[REDIS])
def stubborn(inv, p):
    while True:
        try:
            while True:
                pass
        except BaseException:  # noqa: BLE001 - a rule that swallows everything
            continue
    yield


def test_an_endless_rule_is_stopped_at_its_time_budget_and_the_audit_goes_on():
    settings = AuditSettings(rule_timeout=0.5)
    report = audit(
        Snapshot(_caches("a")),
        [endless.__prodcheck_rule__, good.__prodcheck_rule__],
        settings,
    )
    mine = {f.status: f for f in report.findings if f.rule_id == "TEST-LOOP-001"}
    assert set(mine) == {Status.PASS, Status.ERROR}
    assert "did not finish within 0.5 s" in mine[Status.ERROR].message
    assert "--rule-timeout" in mine[Status.ERROR].remediation
    assert [f.status for f in report.findings if f.rule_id == "TEST-GOOD-001"] == [Status.PASS]


def test_a_rule_that_swallows_the_timeout_is_stopped_all_the_same():
    [finding] = run_rule(
        stubborn.__prodcheck_rule__, _inv(_caches("a")), AuditSettings(rule_timeout=0.5)
    )
    assert finding.status is Status.ERROR
    assert "did not finish" in finding.message


def test_one_malformed_resource_makes_error_only_its_own_verdicts():
    @rule(id="TEST-SHAPE-001", title="t", checklist="c", severity=Severity.LOW, needs=[REDIS])
    def reads_rules(inv, p):
        for cache in inv.of_type(REDIS):
            rules = cache.get("properties.firewallRules", [])
            names = [r["name"] for r in rules]  # a string here breaks the rule
            yield cache.ok(f"{len(names)} rules")

    caches = _caches("a", "b", "c")
    caches[1]["properties"]["firewallRules"] = ["not-an-object"]
    by = {f.resource_name: f for f in run_rule(reads_rules.__prodcheck_rule__, _inv(caches))}
    assert by["a"].status is Status.PASS
    assert by["c"].status is Status.PASS
    assert by["b"].status is Status.ERROR
    assert "could not interpret its data" in by["b"].message
    assert "TypeError" in by["b"].message


def test_verdicts_that_read_a_malformed_resource_are_error_the_others_stand():
    @rule(
        id="TEST-SHAPE-002", title="t", checklist="c", severity=Severity.LOW, needs=[REDIS, GATEWAY]
    )
    def fronted(inv, p):
        for cache in inv.of_type(REDIS):
            if cache.name == "standalone":
                yield cache.ok("needs no gateway")
                continue
            ports = [g.get("properties.port")["value"] for g in inv.of_type(GATEWAY)]
            yield cache.ok(f"fronted on {ports}")

    resources = [
        *_caches("a-standalone", "b-fronted"),
        arm(GATEWAY, "agw", properties={"port": "not-an-object"}),
    ]
    resources[0]["name"] = "standalone"
    by = {f.resource_name: f for f in run_rule(fronted.__prodcheck_rule__, _inv(resources))}
    assert by["b-fronted"].status is Status.ERROR
    assert "could not be read" in by["b-fronted"].message
    assert by["agw"].status is Status.ERROR


def test_gateway_backend_pool_given_as_strings_does_not_break_the_environment_rule():
    env = arm(
        ENVIRONMENT,
        "cae",
        properties={
            "defaultDomain": "happy.eastus.azurecontainerapps.io",
            "vnetConfiguration": {"infrastructureSubnetId": rid("x", "y"), "internal": False},
        },
    )
    other = arm(
        ENVIRONMENT,
        "cae2",
        properties={
            "vnetConfiguration": {"infrastructureSubnetId": rid("x", "z"), "internal": True}
        },
    )
    gateway = arm(
        GATEWAY,
        "agw",
        properties={
            "backendAddressPools": [
                {
                    "name": "p",
                    "properties": {
                        "backendAddresses": ["api.happy.eastus.azurecontainerapps.io", 7]
                    },
                }
            ]
        },
    )
    findings = by_name(run("PC-NET-005", [env, other, gateway]))
    assert findings["cae"].status is Status.FAIL
    assert "agw fronts it" in findings["cae"].message
    assert findings["cae2"].status is Status.PASS


def test_rule_timeout_flag_and_configuration_key(tmp_path, capsys):
    snap = tmp_path / "s.json"
    import json

    snap.write_text(json.dumps(snapshot(_caches("a"))))
    code, _, err = run_cli(capsys, "audit", "--snapshot", str(snap), "--rule-timeout", "0")
    assert code == 2
    assert "--rule-timeout 0" in err
    config = tmp_path / "prodcheck.yaml"
    config.write_text("rules:\n  timeout: forever\n")
    code, _, err = run_cli(capsys, "audit", "--snapshot", str(snap), "--config", str(config))
    assert code == 2
    assert "rules.timeout must be a number of seconds" in err
    config.write_text("rules:\n  timeout: 30\n")
    code, _, err = run_cli(capsys, "audit", "--snapshot", str(snap), "--config", str(config))
    assert code in (0, 1), err
