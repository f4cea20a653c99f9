"""The configuration through the command line: discovery, --config, precedence, init, exit 2."""

from __future__ import annotations

import json

import pytest
from builders import arm, run_cli, snapshot

BAD_VAULT = arm("Microsoft.KeyVault/vaults", "kv-bad", properties={"softDeleteRetentionInDays": 7})
GOOD_VAULT = arm(
    "Microsoft.KeyVault/vaults",
    "kv-good",
    properties={
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": 90,
        "enablePurgeProtection": True,
        "enableRbacAuthorization": True,
    },
)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "snapshot.json").write_text(json.dumps(snapshot([BAD_VAULT, GOOD_VAULT])))
    return tmp_path


def audit(capsys, *extra: str) -> tuple[int, dict, str]:
    code, out, err = run_cli(capsys, "audit", "--snapshot", "snapshot.json", "-f", "json", *extra)
    return code, (json.loads(out) if out.strip() else {}), err


WAIVE_KV = """
waivers:
  - rule: PC-KV-002
    resource: kv-bad
    reason: the vault is replaced next sprint
    owner: platform-team
    expires: 2999-01-01
"""


def test_prodcheck_yaml_in_the_working_directory_is_found(workdir, capsys):
    code, _, _ = audit(capsys, "--rule", "PC-KV-002")
    assert code == 1
    (workdir / "prodcheck.yaml").write_text(WAIVE_KV)
    code, report, _ = audit(capsys, "--rule", "PC-KV-002")
    assert code == 0
    waived = [f for f in report["findings"] if f["status"] == "WAIVED"]
    assert [f["resourceName"] for f in waived] == ["kv-bad"]
    assert waived[0]["note"]["owner"] == "platform-team"


def test_config_option_points_at_a_file_elsewhere(workdir, capsys):
    other = workdir / "conf"
    other.mkdir()
    (other / "audit.yaml").write_text(WAIVE_KV)
    code, _, _ = audit(capsys, "--rule", "PC-KV-002", "--config", str(other / "audit.yaml"))
    assert code == 0
    code, _, err = audit(capsys, "--config", str(other / "missing.yaml"))
    assert code == 2
    assert "configuration file" in err and "not found" in err and err.count("\n") == 1


def test_rule_selection_comes_from_the_file_and_flags_replace_it(workdir, capsys):
    (workdir / "prodcheck.yaml").write_text(
        "rules:\n  select: [PC-OPS-00*, PC-KV-002]\n  skip: [PC-OPS-001]\n"
    )
    _, report, _ = audit(capsys)
    ran = {r["id"] for r in report["rules"]} - {"PC-KV-002"}
    assert ran and all(r.startswith("PC-OPS-00") for r in ran) and "PC-OPS-001" not in ran
    _, report, _ = audit(capsys, "--rule", "PC-KV-002")
    assert {r["id"] for r in report["rules"]} == {"PC-KV-002"}


def test_gate_threshold_from_the_file_and_the_flag_wins(workdir, capsys):
    (workdir / "prodcheck.yaml").write_text("gate:\n  fail_on: critical\n")
    code, report, _ = audit(capsys, "--rule", "PC-KV-002")  # a high finding
    assert code == 0 and report["gate"]["failOn"] == "critical"
    code, report, _ = audit(capsys, "--rule", "PC-KV-002", "--fail-on", "high")
    assert code == 1 and report["gate"]["failOn"] == "high"


def test_severity_overrides_reach_the_findings(workdir, capsys):
    (workdir / "prodcheck.yaml").write_text("rules:\n  severity: {PC-KV-002: low}\n")
    code, report, _ = audit(capsys, "--rule", "PC-KV-002", "--fail-on", "medium")
    assert code == 0
    assert {f["severity"] for f in report["findings"]} == {"low"}


def test_expired_and_stale_waivers_are_reported_in_every_format(workdir, capsys):
    (workdir / "prodcheck.yaml").write_text(
        WAIVE_KV.replace("2999-01-01", "2001-01-01")
        + "  - rule: PC-KV-002\n    resource: kv-good\n    reason: x\n    owner: y\n    expires: 2999-01-01\n"
    )
    code, report, _ = audit(capsys, "--rule", "PC-KV-002")
    assert code == 1
    assert [n["kind"] for n in report["notices"]] == ["waiver-expired", "waiver-stale"]
    code, out, _ = run_cli(capsys, "audit", "--snapshot", "snapshot.json", "--rule", "PC-KV-002")
    assert "Configuration notices" in out and "expired on 2001-01-01" in out


def test_an_attestation_turns_a_manual_line_into_pass(workdir, capsys):
    (workdir / "prodcheck.yaml").write_text(
        "attestations:\n  - rule: PC-OPS-002\n    by: sec-lead@contoso.com\n    date: 2026-01-10\n"
        "    evidence: https://contoso.example/pentest.pdf\n    valid_days: 36500\n"
    )
    # An automated rule runs beside it: a gate of attestations alone checks nothing.
    _, report, _ = audit(capsys, "--rule", "PC-OPS-002", "--rule", "PC-KV-002")
    (f,) = [f for f in report["findings"] if f["ruleId"] == "PC-OPS-002"]
    assert f["status"] == "PASS"
    assert f["evidence"]["attestation.evidence"] == "https://contoso.example/pentest.pdf"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gate:\n  fail-on: high\n", "prodcheck.yaml:2: unknown key 'fail-on' in gate"),
        ("rules:\n  skip: [PC-NOPE-001]\n", "prodcheck.yaml:2: unknown rule 'PC-NOPE-001'"),
        ("waivers:\n  - rule: PC-KV-002\n    resource: x\n", "prodcheck.yaml:2: waiver #1 has no"),
        ("gate: [\n", "prodcheck.yaml:2: not valid YAML"),
        ("scope:\n  timeout: 0\n", "prodcheck.yaml:2: scope.timeout must be a number of seconds"),
        ("scope:\n  timeout: .inf\n", "prodcheck.yaml:2: scope.timeout must be a number"),
        ("scope:\n  deadline: soon\n", "prodcheck.yaml:2: scope.deadline must be a number"),
        ("scope:\n  deadline: 700000.0\n", "scope.deadline must be a number of seconds above 0"),
        ("scope:\n  deadline: [60]\n", "prodcheck.yaml:2: scope.deadline must be a number"),
    ],
)
def test_configuration_errors_exit_2_with_one_line(workdir, capsys, text, expected):
    (workdir / "prodcheck.yaml").write_text(text)
    code, out, err = run_cli(capsys, "audit", "--snapshot", "snapshot.json")
    assert code == 2
    assert out == ""
    assert err.startswith("prodcheck: error: ") and expected in err
    assert err.count("\n") == 1


def test_init_writes_a_valid_commented_starter_and_refuses_to_overwrite(workdir, capsys):
    code, _, err = run_cli(capsys, "init")
    assert code == 0 and "wrote prodcheck.yaml" in err
    text = (workdir / "prodcheck.yaml").read_text()
    assert text.count("#") > 20 and "waivers:" in text and "attestations:" in text
    code, _, _ = audit(capsys, "--rule", "PC-KV-002")
    assert code == 1  # the starter changes nothing until edited
    code, _, err = run_cli(capsys, "init")
    assert code == 2 and "already exists" in err and "--force" in err
    code, _, _ = run_cli(capsys, "init", "--force", "-o", "other.yaml")
    assert code == 0 and (workdir / "other.yaml").read_text() == text


@pytest.fixture
def captured_collection(monkeypatch):
    """Replace live collection by a recorder: the options it was asked for, and no Azure."""
    from prodcheck import api
    from prodcheck.snapshot import parse_snapshot

    seen: list = []

    def fake_collect_for(options, rules, params=None):
        seen.append((options, {"rules": [r.id for r in rules]}))
        return parse_snapshot(snapshot([BAD_VAULT]), "live collection")

    monkeypatch.setattr(api, "collect_for", fake_collect_for)
    return seen


SCOPE = """
scope:
  subscriptions: [00000000-1111-2222-3333-444444444444]
  resource_groups: [rg-app]
  tags: {environment: prod}
rules:
  select: [PC-KV-002]
"""


def test_scope_defaults_from_the_file_drive_a_live_audit(workdir, capsys, captured_collection):
    (workdir / "prodcheck.yaml").write_text(SCOPE)
    code, _, _ = run_cli(capsys, "audit", "--quiet")
    assert code == 1
    ((options, kwargs),) = captured_collection
    assert options.subscriptions == ["00000000-1111-2222-3333-444444444444"]
    assert options.resource_groups == ["rg-app"]
    assert options.tags == {"environment": "prod"}
    assert kwargs["rules"] == ["PC-KV-002"]


def test_scope_flags_replace_the_file_key_by_key(workdir, capsys, captured_collection):
    (workdir / "prodcheck.yaml").write_text(SCOPE)
    run_cli(capsys, "audit", "--quiet", "--resource-group", "rg-other", "--tag", "tier=gold")
    ((options, _),) = captured_collection
    assert options.subscriptions == ["00000000-1111-2222-3333-444444444444"]
    assert options.resource_groups == ["rg-other"]
    assert options.tags == {"tier": "gold"}


def test_the_file_scope_is_ignored_for_snapshots(workdir, capsys, captured_collection):
    (workdir / "prodcheck.yaml").write_text(SCOPE)
    code, _, err = audit(capsys)
    assert code == 1 and "error" not in err
    assert captured_collection == []


BOUNDS = """
scope:
  subscriptions: [00000000-1111-2222-3333-444444444444]
  timeout: 12.5
  deadline: 600
rules:
  select: [PC-KV-002]
"""


def test_collection_bounds_from_the_file_drive_a_live_audit(workdir, capsys, captured_collection):
    (workdir / "prodcheck.yaml").write_text(BOUNDS)
    run_cli(capsys, "audit", "--quiet")
    ((options, _),) = captured_collection
    assert (options.timeout, options.deadline) == (12.5, 600.0)


def test_timeout_and_deadline_flags_replace_the_file_keys(workdir, capsys, captured_collection):
    (workdir / "prodcheck.yaml").write_text(BOUNDS)
    run_cli(capsys, "audit", "--quiet", "--timeout", "3", "--deadline", "90")
    ((options, _),) = captured_collection
    assert (options.timeout, options.deadline) == (3.0, 90.0)


def test_without_file_keys_or_flags_the_collection_bounds_are_the_defaults(
    workdir, capsys, captured_collection
):
    (workdir / "prodcheck.yaml").write_text(SCOPE)
    run_cli(capsys, "audit", "--quiet")
    ((options, _),) = captured_collection
    assert (options.timeout, options.deadline) == (60.0, 3600.0)


def test_snapshot_reads_the_file_scope_bounds_and_rules_as_audit_does(
    workdir, capsys, captured_collection
):
    (workdir / "prodcheck.yaml").write_text(
        SCOPE.replace(
            "  tags: {environment: prod}\n", "  tags: {environment: prod}\n  timeout: 9\n"
        )
    )
    code, _, err = run_cli(capsys, "snapshot", "-o", "snap-out.json", "--quiet")
    assert code == 0, err
    run_cli(capsys, "audit", "--quiet")
    (snap, snap_rules), (live, live_rules) = captured_collection
    assert snap.subscriptions == live.subscriptions == ["00000000-1111-2222-3333-444444444444"]
    assert snap.resource_groups == live.resource_groups == ["rg-app"]
    assert snap.tags == live.tags == {"environment": "prod"}
    assert snap.timeout == live.timeout == 9.0
    assert snap_rules == live_rules == {"rules": ["PC-KV-002"]}
    assert json.loads((workdir / "snap-out.json").read_text())["format"] == "prodcheck.snapshot/v1"


def test_snapshot_flags_replace_the_file_keys(workdir, capsys, captured_collection):
    (workdir / "prodcheck.yaml").write_text(BOUNDS)
    other = "99999999-1111-2222-3333-444444444444"
    run_cli(capsys, "snapshot", "-o", "s.json", "-q", "--subscription", other, "--deadline", "30")
    ((options, kwargs),) = captured_collection
    assert options.subscriptions == [other]
    assert (options.timeout, options.deadline) == (12.5, 30.0)
    run_cli(capsys, "snapshot", "-o", "s.json", "-q", "--rule", "PC-NET-001")
    assert captured_collection[1][1] == {"rules": ["PC-NET-001"]}


def test_snapshot_with_a_bad_configuration_is_one_line_and_exit_2(
    workdir, capsys, captured_collection
):
    (workdir / "prodcheck.yaml").write_text("scope:\n  timeout: -5\n")
    code, out, err = run_cli(capsys, "snapshot", "-o", "s.json", "-q")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "prodcheck.yaml:2: scope.timeout must be a number of seconds" in err
    assert captured_collection == []  # nothing is asked of Azure
    assert not (workdir / "s.json").exists()


def test_snapshot_refuses_to_write_over_its_configuration(workdir, capsys, captured_collection):
    (workdir / "prodcheck.yaml").write_text(SCOPE)
    before = (workdir / "prodcheck.yaml").read_text()
    code, _, err = run_cli(capsys, "snapshot", "-o", "prodcheck.yaml", "-q")
    assert code == 2 and "refusing to write" in err
    assert (workdir / "prodcheck.yaml").read_text() == before
