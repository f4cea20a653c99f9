"""The engine: verdicts become findings, broken rules and missing data become ERROR."""

from __future__ import annotations

import pytest
from builders import RG, SUB, arm, rid

from prodcheck import Severity, Status, rule
from prodcheck.engine import AuditSettings, audit, run_rule
from prodcheck.errors import UserError
from prodcheck.inventory import CoverageRecord, Inventory
from prodcheck.snapshot import Snapshot

REDIS = "Microsoft.Cache/redis"
PE = "Microsoft.Network/privateEndpoints"


@rule(
    id="TEST-REDIS-001",
    title="Redis is private",
    checklist="Private endpoints configured for all services",
    severity=Severity.HIGH,
    needs=[REDIS, PE],
    params={"wanted": "Disabled"},
    remediation="az redis update -n {name} -g {resource_group}",
)
def redis_is_private(inv, p):
    for cache in inv.of_type(REDIS):
        if cache.get("properties.publicNetworkAccess") == p.wanted:
            yield cache.ok("public access off")
        elif inv.approved_private_endpoints(cache):
            yield cache.ok("reached through a private endpoint")
        else:
            yield cache.fail(
                "public access on", evidence=cache.evidence("properties.publicNetworkAccess")
            )


@rule(
    id="TEST-SCOPE-001",
    title="A Redis cache exists",
    checklist="Private endpoints configured for all services",
    severity=Severity.MEDIUM,
    needs=[REDIS],
)
def a_cache_exists(inv, p):
    caches = inv.of_type(REDIS)
    yield inv.scope.ok(f"{len(caches)} caches") if caches else inv.scope.fail("no cache")


@rule(
    id="TEST-BROKEN-001",
    title="A rule with a bug",
    checklist="Security assessment performed",
    severity=Severity.LOW,
    needs=[REDIS],
)
def broken(inv, p):
    yield from []
    raise KeyError("properties")


def _rule(func):
    return func.__prodcheck_rule__


def _inv(resources, coverage=None):
    return Inventory(
        resources,
        coverage=[CoverageRecord.from_json(c) for c in coverage] if coverage is not None else None,
        scope={"subscriptions": [SUB]},
    )


def _ok(type_, scope=f"/subscriptions/{SUB}"):
    return {"resourceType": type_, "scope": scope, "status": "ok", "count": 1}


def _forbidden(type_, scope):
    return {
        "resourceType": type_,
        "scope": scope,
        "status": "failed",
        "statusCode": 403,
        "errorCode": "AuthorizationFailed",
        "message": "no access",
        "permission": f"{type_}/read",
    }


def test_verdicts_become_findings_with_rule_metadata_and_filled_remediation():
    inv = _inv([arm(REDIS, "cache", properties={"publicNetworkAccess": "Enabled"})])
    [finding] = run_rule(_rule(redis_is_private), inv)
    assert finding.rule_id == "TEST-REDIS-001"
    assert finding.status is Status.FAIL
    assert finding.severity is Severity.HIGH
    assert finding.resource_group == RG
    assert finding.remediation == f"az redis update -n cache -g {RG}"
    assert finding.evidence == {"properties.publicNetworkAccess": "Enabled"}


def test_a_rule_with_nothing_to_check_is_not_applicable_at_the_scope():
    [finding] = run_rule(_rule(redis_is_private), _inv([]))
    assert finding.status is Status.NOT_APPLICABLE
    assert finding.resource_id == f"/subscriptions/{SUB}"
    assert "Microsoft.Cache/redis" in finding.message


def test_a_rule_that_raises_is_error_and_names_itself():
    [finding] = run_rule(_rule(broken), _inv([arm(REDIS, "cache")]))
    assert finding.status is Status.ERROR
    assert "TEST-BROKEN-001 broke" in finding.message
    assert "KeyError" in finding.message


def test_audit_goes_on_after_a_broken_rule():
    snap = Snapshot([arm(REDIS, "cache", properties={"publicNetworkAccess": "Disabled"})])
    report = audit(snap, [_rule(broken), _rule(redis_is_private)])
    by_rule = {f.rule_id: f.status for f in report.findings}
    assert by_rule == {"TEST-BROKEN-001": Status.ERROR, "TEST-REDIS-001": Status.PASS}
    assert report.exit_code == 1


def test_parameters_override_defaults_and_are_type_checked():
    inv = _inv([arm(REDIS, "cache", properties={"publicNetworkAccess": "Enabled"})])
    settings = AuditSettings(params={"TEST-REDIS-001": {"wanted": "Enabled"}})
    [finding] = run_rule(_rule(redis_is_private), inv, settings)
    assert finding.status is Status.PASS
    with pytest.raises(UserError, match="must be a str"):
        run_rule(
            _rule(redis_is_private), inv, AuditSettings(params={"TEST-REDIS-001": {"wanted": 3}})
        )
    with pytest.raises(UserError, match="has no parameter 'unknown'"):
        run_rule(
            _rule(redis_is_private), inv, AuditSettings(params={"TEST-REDIS-001": {"unknown": 1}})
        )


def test_severity_override_applies_to_findings():
    inv = _inv([arm(REDIS, "cache")])
    settings = AuditSettings(severity={"TEST-REDIS-001": Severity.CRITICAL})
    [finding] = run_rule(_rule(redis_is_private), inv, settings)
    assert finding.severity is Severity.CRITICAL


# ---- failing closed -----------------------------------------------------------------------


def test_a_needed_type_that_was_never_collected_makes_the_verdicts_that_read_it_error():
    inv = _inv(
        [
            arm(REDIS, "private", properties={"publicNetworkAccess": "Disabled"}),
            arm(REDIS, "public", properties={"publicNetworkAccess": "Enabled"}),
        ],
        coverage=[_ok(REDIS)],
    )
    findings = run_rule(_rule(redis_is_private), inv)
    by_name = {f.resource_name: f for f in findings}
    # "public" needed the private endpoints to be judged; "private" rests on its own data.
    assert by_name["public"].status is Status.ERROR
    assert "on what was read: FAIL" in by_name["public"].message
    assert by_name["private"].status is Status.PASS
    assert any(f.status is Status.ERROR and "never collected" in f.message for f in findings)


def test_no_coverage_records_means_the_input_is_taken_as_complete():
    inv = _inv([arm(REDIS, "cache", properties={"publicNetworkAccess": "Disabled"})], coverage=None)
    [finding] = run_rule(_rule(redis_is_private), inv)
    assert finding.status is Status.PASS


def test_forbidden_resource_group_makes_scope_level_fail_an_error_and_names_the_permission():
    rg_b = f"/subscriptions/{SUB}/resourceGroups/rg-b"
    inv = _inv([], coverage=[_ok(REDIS), _forbidden(REDIS, rg_b)])
    findings = run_rule(_rule(a_cache_exists), inv)
    assert {f.status for f in findings} == {Status.ERROR}
    gap = [f for f in findings if f.resource_id == rg_b][0]
    assert "Microsoft.Cache/redis/read" in gap.message
    assert "403" in gap.message


def test_scope_level_verdict_on_a_type_with_a_gap_is_error_and_keeps_what_it_said():
    rg_b = f"/subscriptions/{SUB}/resourceGroups/rg-b"
    inv = _inv([arm(REDIS, "cache")], coverage=[_ok(REDIS), _forbidden(REDIS, rg_b)])
    findings = run_rule(_rule(a_cache_exists), inv)
    by_id = {f.resource_id: f for f in findings}
    scope = by_id[f"/subscriptions/{SUB}"]
    assert scope.status is Status.ERROR
    assert "on what was read: PASS, 1 caches" in scope.message
    assert by_id[rg_b].status is Status.ERROR


def test_scope_level_pass_survives_a_gap_in_a_type_it_did_not_read():
    rg_b = f"/subscriptions/{SUB}/resourceGroups/rg-b"
    inv = _inv([arm(REDIS, "cache")], coverage=[_ok(REDIS), _forbidden(PE, rg_b)])
    [finding] = run_rule(_rule(a_cache_exists), inv)
    assert finding.status is Status.PASS


def test_fail_resting_on_a_cross_reference_that_could_not_be_read_is_error():
    rg_net = f"/subscriptions/{SUB}/resourceGroups/rg-net"
    inv = _inv(
        [arm(REDIS, "cache", properties={"publicNetworkAccess": "Enabled"})],
        coverage=[_ok(REDIS), _ok(PE), _forbidden(PE, rg_net)],
    )
    findings = run_rule(_rule(redis_is_private), inv)
    cache = [f for f in findings if f.resource_name == "cache"][0]
    assert cache.status is Status.ERROR
    assert cache.evidence["verdict on the data that was read"].startswith("FAIL")


def test_findings_outside_a_failed_scope_are_unchanged_when_they_pass():
    rg_net = f"/subscriptions/{SUB}/resourceGroups/rg-net"
    inv = _inv(
        [arm(REDIS, "cache", properties={"publicNetworkAccess": "Disabled"})],
        coverage=[_ok(REDIS), _ok(PE), _forbidden(PE, rg_net)],
    )
    findings = run_rule(_rule(redis_is_private), inv)
    assert [f.status for f in findings if f.resource_name == "cache"] == [Status.PASS]


def test_a_failed_read_scoped_at_a_resource_makes_error_only_verdicts_that_read_it():
    cache_id = rid(REDIS, "public")
    inv = _inv(
        [
            arm(REDIS, "private", properties={"publicNetworkAccess": "Disabled"}),
            arm(REDIS, "public", properties={"publicNetworkAccess": "Enabled"}),
        ],
        coverage=[_ok(REDIS), _ok(PE), _forbidden(PE, cache_id)],
    )
    by_name = {f.resource_name: f for f in run_rule(_rule(redis_is_private), inv)}
    assert by_name["public"].status is Status.ERROR
    assert by_name["private"].status is Status.PASS


def test_reads_before_a_rules_first_verdict_count_for_every_verdict():
    # The first verdict's lookups cannot be told apart from lookups the rule shares between
    # its verdicts, so every verdict rests on them: fail closed.
    cache_id = rid(REDIS, "a-public")
    inv = _inv(
        [
            arm(REDIS, "a-public", properties={"publicNetworkAccess": "Enabled"}),
            arm(REDIS, "b-private", properties={"publicNetworkAccess": "Disabled"}),
        ],
        coverage=[_ok(REDIS), _ok(PE), _forbidden(PE, cache_id)],
    )
    by_name = {f.resource_name: f for f in run_rule(_rule(redis_is_private), inv)}
    assert by_name["a-public"].status is Status.ERROR
    assert by_name["b-private"].status is Status.ERROR
    assert "on what was read: PASS" in by_name["b-private"].message


def test_rules_that_do_not_need_the_missing_type_are_unaffected():
    inv = _inv(
        [arm(REDIS, "cache")], coverage=[_ok(REDIS), _forbidden(PE, f"/subscriptions/{SUB}")]
    )
    [finding] = run_rule(_rule(a_cache_exists), inv)
    assert finding.status is Status.PASS


def test_secret_values_in_evidence_are_redacted():
    @rule(id="TEST-SECRET-001", title="t", checklist="c", severity=Severity.LOW, needs=[REDIS])
    def leaks(inv, p):
        for cache in inv.of_type(REDIS):
            yield cache.fail(
                "plain secret",
                evidence={"env.CONN": "Server=x;Password=hunter2;", "connectionString": "abc"},
            )

    [finding] = run_rule(leaks.__prodcheck_rule__, _inv([arm(REDIS, "cache")]))
    assert "hunter2" not in str(finding.evidence)
    assert finding.evidence["connectionString"] == "***redacted***"


@rule(
    id="TEST-DIAG-001",
    title="Vaults send logs",
    checklist="Monitoring dashboards and alerts configured",
    severity=Severity.MEDIUM,
    needs=[
        "Microsoft.KeyVault/vaults",
        "Microsoft.KeyVault/vaults/providers/Microsoft.Insights/diagnosticSettings",
    ],
)
def vaults_send_logs(inv, p):
    for vault in inv.of_type("Microsoft.KeyVault/vaults"):
        yield vault.ok("logged") if inv.diagnostic_settings(vault) else vault.fail("no logs")


def test_scoped_diagnostic_settings_need_is_checked_against_the_diagnostic_settings_coverage():
    vault = arm("Microsoft.KeyVault/vaults", "kv")
    never_read = _inv([vault], coverage=[_ok("Microsoft.KeyVault/vaults")])
    assert {f.status for f in run_rule(_rule(vaults_send_logs), never_read)} == {Status.ERROR}
    read = _inv(
        [vault],
        coverage=[
            _ok("Microsoft.KeyVault/vaults"),
            _ok("Microsoft.Insights/diagnosticSettings", scope=vault["id"]),
        ],
    )
    assert [f.status for f in run_rule(_rule(vaults_send_logs), read)] == [Status.FAIL]


def test_scoped_diagnostic_settings_of_a_type_with_no_resources_are_not_a_gap():
    inv = _inv([], coverage=[_ok("Microsoft.KeyVault/vaults")])
    [finding] = run_rule(_rule(vaults_send_logs), inv)
    assert finding.status is Status.NOT_APPLICABLE


def test_a_forbidden_cross_reference_type_leaves_verdicts_that_do_not_rest_on_it():
    inv = _inv(
        [
            arm(REDIS, "private", properties={"publicNetworkAccess": "Disabled"}),
            arm(REDIS, "public", properties={"publicNetworkAccess": "Enabled"}),
        ],
        coverage=[_ok(REDIS), _forbidden(PE, f"/subscriptions/{SUB}")],
    )
    by_name = {f.resource_name: f for f in run_rule(_rule(redis_is_private), inv)}
    assert by_name["private"].status is Status.PASS
    assert by_name["public"].status is Status.ERROR
    assert "on what was read: FAIL, public access on" in by_name["public"].message


def test_a_credential_quoted_in_a_message_is_masked():
    @rule(id="TEST-QUOTE-001", title="t", checklist="c", severity=Severity.LOW, needs=[REDIS])
    def quotes(inv, p):
        for cache in inv.of_type(REDIS):
            yield cache.fail("setting is 'Endpoint=sb://x/;SharedAccessKey=s3cr3tvalue'")

    [finding] = run_rule(quotes.__prodcheck_rule__, _inv([arm(REDIS, "cache")]))
    assert "s3cr3tvalue" not in finding.message
    assert "SharedAccessKey=***redacted***" in finding.message


def test_the_gap_named_for_a_verdict_does_not_depend_on_the_order_of_its_reads():
    # A verdict's reads are a set, whose order changes from one process to the next (string
    # hashing): the gap it is reported against must not.
    from prodcheck.engine import _unread_input
    from prodcheck.inventory import Read

    scope = f"/subscriptions/{SUB}"
    alerts = CoverageRecord("Microsoft.Insights/metricAlerts", scope, "failed", 403)
    endpoints = CoverageRecord("Microsoft.Network/privateEndpoints", scope, "failed", 403)
    reads = [
        Read(frozenset({"microsoft.network/privateendpoints"})),
        Read(frozenset({"microsoft.insights/metricalerts"})),
    ]
    for order in (reads, reads[::-1]):
        assert _unread_input(order, None, [alerts, endpoints]) is alerts
        assert _unread_input(order, None, [endpoints, alerts]) is endpoints
    assert _unread_input(reads[:1], None, [alerts]) is None
