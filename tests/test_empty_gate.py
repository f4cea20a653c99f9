"""A gate that checked nothing does not pass."""

from __future__ import annotations

import json

import pytest
from builders import SUB, arm, run_cli, snapshot

from prodcheck import Severity, Status, rule
from prodcheck.engine import AuditSettings, audit
from prodcheck.errors import UserError
from prodcheck.snapshot import Snapshot

REDIS = "Microsoft.Cache/redis"


@rule(id="TEST-MANUAL-001", title="t", checklist="c", severity=Severity.HIGH, needs=[])
def attest(inv, p):
    yield inv.scope.manual("attach the load test report")


@rule(id="TEST-BROKEN-002", title="t", checklist="c", severity=Severity.INFO, needs=[REDIS])
def broken(inv, p):
    raise RuntimeError("bug")
    yield


def _snap(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(snapshot([arm(REDIS, "cache")])))
    return str(path)


def test_skipping_every_rule_is_a_usage_error_not_a_passed_gate(tmp_path, capsys):
    code, out, err = run_cli(capsys, "audit", "--snapshot", _snap(tmp_path), "--skip", "*")
    assert code == 2
    assert "no rule to run" in err
    assert "PASSED" not in out


def test_skipping_every_rule_in_the_configuration_is_a_usage_error(tmp_path, capsys):
    config = tmp_path / "prodcheck.yaml"
    config.write_text("rules:\n  skip: ['*']\n")
    code, _, err = run_cli(capsys, "audit", "--snapshot", _snap(tmp_path), "--config", str(config))
    assert code == 2
    assert "no rule to run" in err


def test_only_manual_rules_is_a_usage_error(tmp_path, capsys):
    code, _, err = run_cli(capsys, "audit", "--snapshot", _snap(tmp_path), "--rule", "PC-OPS-*")
    assert code == 2
    assert "no automated rule was evaluated" in err


def test_the_engine_refuses_an_empty_or_manual_only_selection():
    snap = Snapshot([arm(REDIS, "cache")], scope={"subscriptions": [SUB]})
    with pytest.raises(UserError, match="no rule to run"):
        audit(snap, [])
    with pytest.raises(UserError, match="no automated rule was evaluated"):
        audit(snap, [attest.__prodcheck_rule__])


def test_a_run_where_every_automated_finding_is_error_never_passes():
    snap = Snapshot([arm(REDIS, "cache")], scope={"subscriptions": [SUB]})
    # The only automated rule breaks; its severity is below the gate's threshold.
    report = audit(
        snap,
        [broken.__prodcheck_rule__, attest.__prodcheck_rule__],
        AuditSettings(fail_on=Severity.CRITICAL),
    )
    assert report.verified_nothing
    assert not report.gate_passed
    assert report.exit_code == 1
    assert [f.status for f in report.blocking()] == [Status.ERROR]
    assert report.to_json()["gate"]["passed"] is False


def test_waiving_every_error_of_a_run_that_verified_nothing_does_not_pass_it():
    from dataclasses import replace

    snap = Snapshot([arm(REDIS, "cache")], scope={"subscriptions": [SUB]})
    report = audit(snap, [broken.__prodcheck_rule__])
    report.findings = [
        replace(f, status=Status.WAIVED, note={"kind": "waiver", "statusBefore": "ERROR"})
        for f in report.findings
    ]
    assert report.verified_nothing
    assert not report.gate_passed


def test_a_live_audit_with_every_rule_skipped_stops_before_asking_azure():
    from prodcheck import api

    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"collection options read ({name}) for an empty selection")

    with pytest.raises(UserError, match="no rule to run"):
        api.audit_live(Untouchable(), skip=["*"])  # type: ignore[arg-type]
