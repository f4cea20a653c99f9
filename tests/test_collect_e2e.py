"""End to end: the built-in demos served by the fake ARM, collected live, audited.

A live audit of a subscription must see what an offline audit of the same inventory sees, and a
read that fails must turn exactly the verdicts that depended on it into ERROR.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from prodcheck import api
from prodcheck.cli import main
from prodcheck.collect import collect_snapshot

pytest_plugins = ["fake_arm.fixtures"]

DEMOS = Path(__file__).resolve().parents[1] / "src/prodcheck/demos"


def demo(name):
    return json.loads((DEMOS / f"{name}.json").read_text(encoding="utf-8"))


def finding_keys(report):
    return sorted(
        (f.rule_id, f.resource_id.lower(), f.status.value, f.message) for f in report.findings
    )


def scoped_options(make_options, inventory, **overrides):
    scope = inventory["scope"]
    return make_options(
        subscriptions=scope["subscriptions"],
        resource_groups=scope.get("resourceGroups", []),
        tags=scope.get("tags", {}),
        **overrides,
    )


@pytest.mark.parametrize("name", ["flat", "hardened"])
def test_live_collection_of_a_demo_gives_the_same_resources_and_findings(
    name, fake_arm, make_options
):
    inventory = demo(name)
    fake_arm.page_size = 4  # several pages for the bigger lists
    fake_arm.serve(inventory)
    rule_needs = api.needs_of(api.select_rules())
    needs = sorted({r["type"] for r in inventory["resources"]} | set(rule_needs))
    live = collect_snapshot(scoped_options(make_options, inventory), needs)

    assert live["resources"] == sorted(inventory["resources"], key=lambda r: r["id"].lower())
    assert all(c["status"] == "ok" for c in live["coverage"])
    assert {r.method for r in fake_arm.requests} == {"GET"}
    assert not fake_arm.duplicates()

    offline = api.audit_snapshot(inventory)
    assert finding_keys(api.audit_snapshot(live)) == finding_keys(offline)


@pytest.mark.parametrize("name", ["flat", "hardened"])
def test_audit_live_matches_the_offline_audit(name, fake_arm, make_options):
    inventory = demo(name)
    fake_arm.serve(inventory)
    live = api.audit_live(scoped_options(make_options, inventory))
    offline = api.audit_snapshot(inventory)
    assert finding_keys(live) == finding_keys(offline)


def _cli_audit(fake_arm, inventory, out: Path, capsys) -> tuple[int, dict]:
    scope = inventory["scope"]
    args = ["audit", "--arm-endpoint", fake_arm.base_url, "--auth", "cli", "-q"]
    for s in scope["subscriptions"]:
        args += ["--subscription", s]
    for g in scope.get("resourceGroups", []):
        args += ["--resource-group", g]
    args += ["-f", "json", "-o", str(out)]
    with pytest.raises(SystemExit) as exited:
        main(args)
    capsys.readouterr()
    return int(exited.value.code or 0), json.loads(out.read_text())


def test_cli_live_audit_with_a_403_on_one_type(fake_arm, fake_az, tmp_path, monkeypatch, capsys):
    inventory = demo("hardened")
    fake_arm.serve(inventory)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake_arm.ca_path(tmp_path))

    clean_code, clean = _cli_audit(fake_arm, inventory, tmp_path / "clean.json", capsys)
    assert clean_code == 0
    assert not any(f["status"] == "ERROR" for f in clean["findings"])

    fake_arm.clear()
    fake_arm.fault(r"providers/Microsoft\.KeyVault/vaults$", status=403)
    code, faulty = _cli_audit(fake_arm, inventory, tmp_path / "faulty.json", capsys)
    assert code == 1

    vault_rules = {
        r.id
        for r in api.select_rules()
        if "microsoft.keyvault/vaults" in {n.lower() for n in r.needs}
    }
    assert vault_rules
    errors = [f for f in faulty["findings"] if f["status"] == "ERROR"]
    assert errors and {f["ruleId"] for f in errors} <= vault_rules
    gap = [f for f in errors if "Microsoft.KeyVault/vaults/read" in f["remediation"]]
    assert gap, "the report names the missing permission"

    def unaffected(report):
        return Counter(
            (f["ruleId"], f["resourceId"].lower(), f["status"])
            for f in report["findings"]
            if f["ruleId"] not in vault_rules
        )

    assert unaffected(faulty) == unaffected(clean)
    assert {r.method for r in fake_arm.requests} == {"GET"}


def test_cli_snapshot_reproduces_the_live_audit_offline(
    fake_arm, fake_az, tmp_path, monkeypatch, capsys
):
    inventory = demo("flat")
    fake_arm.serve(inventory)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake_arm.ca_path(tmp_path))
    _, live = _cli_audit(fake_arm, inventory, tmp_path / "live.json", capsys)

    snapshot_file = tmp_path / "snap.json"
    args = ["snapshot", "-o", str(snapshot_file), "--arm-endpoint", fake_arm.base_url, "--auth"]
    args += ["cli", "-q", "--subscription", inventory["scope"]["subscriptions"][0]]
    args += ["--resource-group", inventory["scope"]["resourceGroups"][0]]
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code in (0, None)
    assert json.loads(snapshot_file.read_text())["format"] == "prodcheck.snapshot/v1"

    offline_out = tmp_path / "offline.json"
    with pytest.raises(SystemExit):
        main(["audit", "--snapshot", str(snapshot_file), "-f", "json", "-o", str(offline_out)])
    capsys.readouterr()
    offline = json.loads(offline_out.read_text())

    def keys(report):
        return sorted(
            (f["ruleId"], f["resourceId"].lower(), f["status"], f["message"])
            for f in report["findings"]
        )

    assert keys(offline) == keys(live)
