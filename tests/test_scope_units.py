"""Scope-level rules judge each workload unit: a subscription by default, a resource group, or
a tag's value (`scope.unit`), failing closed per unit."""

from __future__ import annotations

import json

import jsonschema
import pytest
from builders import SUB, arm, run_cli

from prodcheck import units
from prodcheck.api import audit_snapshot
from prodcheck.engine import AuditSettings
from prodcheck.model import Status
from prodcheck.paths import schemas_dir
from prodcheck.snapshot import FORMAT

SUB2 = "0b7d9e2c-5a1f-4e3b-8c6d-9f0a1b2c3d4e"
VAULT = "Microsoft.KeyVault/vaults"
APP = "Microsoft.App/containerApps"
GATEWAY = "Microsoft.Network/applicationGateways"
BUDGET = "Microsoft.Consumption/budgets"


def snap(resources, subscriptions=(SUB, SUB2), failed=()):
    types = {
        VAULT,
        APP,
        GATEWAY,
        BUDGET,
        "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
    }
    coverage = [
        {"resourceType": t, "scope": f"/subscriptions/{s}", "status": "ok"}
        for t in sorted(types)
        for s in subscriptions
    ]
    coverage += [
        {
            "resourceType": t,
            "scope": scope,
            "status": "failed",
            "statusCode": 403,
            "errorCode": "AuthorizationFailed",
            "message": "denied",
        }
        for t, scope in failed
    ]
    return {
        "format": FORMAT,
        "scope": {"subscriptions": list(subscriptions)},
        "coverage": coverage,
        "resources": resources,
    }


def scope_verdicts(report, rule_id):
    """{resource id: status} of the rule's findings about a unit (not about a resource)."""
    return {
        f.resource_id: f.status
        for f in report.findings
        if f.rule_id == rule_id
        and f.resource_type == "scope"
        and not f.subject.startswith("coverage of")
    }


def audit(doc, rules, unit=units.DEFAULT):
    return audit_snapshot(doc, rules=rules, settings=AuditSettings(unit=unit))


def test_each_subscription_needs_its_own_key_vault_by_default():
    report = audit(snap([arm(VAULT, "kv")]), ["PC-KV-001"])
    assert scope_verdicts(report, "PC-KV-001") == {
        f"/subscriptions/{SUB}": Status.PASS,
        f"/subscriptions/{SUB2}": Status.FAIL,
    }
    assert report.scope["unit"] == "subscription"
    schema = json.loads((schemas_dir() / "report-v1.schema.json").read_text())
    jsonschema.validate(json.loads(json.dumps(report.to_json())), schema)
    assert [u["id"] for u in report.scope["units"]] == [
        f"/subscriptions/{SUB}",
        f"/subscriptions/{SUB2}",
    ]


def test_a_waf_gateway_in_one_subscription_does_not_cover_another():
    gateway = arm(GATEWAY, "agw", properties={"sku": {"tier": "WAF_v2", "name": "WAF_v2"}})
    report = audit(snap([gateway]), ["PC-WAF-001"])
    assert scope_verdicts(report, "PC-WAF-001") == {f"/subscriptions/{SUB2}": Status.FAIL}
    assert any(f.resource_id == gateway["id"] for f in report.findings)


def test_a_failed_read_in_one_unit_makes_only_that_units_verdict_error():
    doc = snap(
        [arm(VAULT, "kv"), arm(VAULT, "kv2", sub=SUB2)],
        failed=[(VAULT, f"/subscriptions/{SUB2}/resourceGroups/rg-x")],
    )
    report = audit(doc, ["PC-KV-001"])
    verdicts = scope_verdicts(report, "PC-KV-001")
    assert verdicts[f"/subscriptions/{SUB}"] is Status.PASS
    assert verdicts[f"/subscriptions/{SUB2}"] is Status.ERROR


def test_a_failed_read_that_cannot_be_placed_makes_every_unit_error():
    doc = snap([arm(VAULT, "kv"), arm(VAULT, "kv2", sub=SUB2)], failed=[(VAULT, "somewhere")])
    verdicts = scope_verdicts(audit(doc, ["PC-KV-001"]), "PC-KV-001")
    assert set(verdicts.values()) == {Status.ERROR}
    assert len(verdicts) == 2


def test_one_subscription_is_judged_as_before(monkeypatch):
    doc = snap([arm(VAULT, "kv"), arm(APP, "app")], subscriptions=(SUB,))
    every = ["PC-KV-*", "PC-WAF-*", "PC-COST-*", "PC-MON-*", "PC-OPS-*"]
    split = audit(doc, every)
    assert "unit" not in split.scope
    monkeypatch.setattr("prodcheck.engine.is_scope_level", lambda rule: False)
    whole = audit_snapshot(doc, rules=every)
    whole_json = json.dumps(whole.to_json()["findings"], sort_keys=True)
    assert json.dumps(split.to_json()["findings"], sort_keys=True) == whole_json
    assert scope_verdicts(split, "PC-KV-001") == {f"/subscriptions/{SUB}": Status.PASS}


def test_resource_groups_as_units_share_a_subscription_budget():
    budget = arm(
        BUDGET,
        "monthly",
        id=f"/subscriptions/{SUB}/providers/{BUDGET}/monthly",
        properties={
            "amount": 100,
            "timeGrain": "Monthly",
            "notifications": {"a": {"enabled": True, "threshold": 80}},
        },
    )
    resources = [budget, arm(VAULT, "kv", rg="rg-a"), arm(APP, "app", rg="rg-b")]
    report = audit(
        snap(resources, subscriptions=(SUB,)), ["PC-KV-001", "PC-COST-001"], "resource-group"
    )
    base = f"/subscriptions/{SUB}/resourceGroups"
    assert scope_verdicts(report, "PC-KV-001") == {
        f"{base}/rg-a": Status.PASS,
        f"{base}/rg-b": Status.FAIL,
    }
    assert scope_verdicts(report, "PC-COST-001") == {
        f"{base}/rg-a": Status.PASS,
        f"{base}/rg-b": Status.PASS,
    }


def test_tag_values_are_units_and_untagged_resources_are_one_more():
    resources = [
        arm(VAULT, "kv-pay", tags={"Workload": "pay"}),
        arm(APP, "app-pay", tags={"workload": "pay"}, sub=SUB2),
        arm(APP, "app-shop", tags={"workload": "shop"}),
        arm(APP, "app-loose"),
    ]
    report = audit(snap(resources), ["PC-KV-001"], "tag:workload")
    assert scope_verdicts(report, "PC-KV-001") == {
        "/tagNames/workload/tagValues/pay": Status.PASS,
        "/tagNames/workload/tagValues/shop": Status.FAIL,
        "/tagNames/workload/untagged": Status.FAIL,
    }
    labels = {u["id"]: u["label"] for u in report.scope["units"]}
    assert labels["/tagNames/workload/untagged"] == "untagged (no tag workload)"


def test_under_a_tag_any_failed_listing_makes_every_unit_error():
    resources = [
        arm(VAULT, "kv-pay", tags={"workload": "pay"}),
        arm(APP, "a", tags={"workload": "shop"}),
    ]
    doc = snap(resources, failed=[(VAULT, f"/subscriptions/{SUB2}")])
    verdicts = scope_verdicts(audit(doc, ["PC-KV-001"], "tag:workload"), "PC-KV-001")
    assert set(verdicts.values()) == {Status.ERROR}


def test_per_resource_verdicts_still_see_the_whole_estate():
    """An app's Key Vault reference to a vault in another subscription is found, per unit or not."""
    vault = arm(VAULT, "kv", sub=SUB2, properties={"vaultUri": "https://kv.vault.azure.net/"})
    app = arm(
        APP,
        "app",
        properties={
            "configuration": {
                "secrets": [
                    {
                        "name": "s",
                        "keyVaultUrl": "https://kv.vault.azure.net/secrets/s",
                        "identity": "system",
                    }
                ]
            }
        },
    )
    report = audit(snap([vault, app]), ["PC-KV-001"])
    (about_app,) = [f for f in report.findings if f.resource_id == app["id"]]
    assert about_app.status is Status.PASS


@pytest.mark.parametrize("text", ["", "tenant", "tag:", "tag:a/b", "tag:\x1b[2J"])
def test_a_bad_unit_is_refused(text):
    with pytest.raises(ValueError):
        units.parse_unit(text)


def test_the_command_line_and_the_configuration_take_the_unit(tmp_path, capsys):
    doc = tmp_path / "snap.json"
    doc.write_text(
        json.dumps(
            snap([arm(VAULT, "kv", rg="rg-a"), arm(APP, "app", rg="rg-b")], subscriptions=(SUB,))
        )
    )
    out = tmp_path / "r.json"
    code, _, err = run_cli(
        capsys,
        "audit",
        "--snapshot",
        str(doc),
        "--rule",
        "PC-KV-001",
        "--scope-unit",
        "resource-group",
        "-f",
        "json",
        "-o",
        str(out),
    )
    assert json.loads(out.read_text())["scope"]["unit"] == "resource-group", err
    config = tmp_path / "prodcheck.yaml"
    config.write_text("version: 1\nscope:\n  unit: tag:workload\n")
    code, _, err = run_cli(
        capsys,
        "audit",
        "--snapshot",
        str(doc),
        "--rule",
        "PC-KV-001",
        "--config",
        str(config),
        "-f",
        "json",
        "-o",
        str(out),
    )
    assert json.loads(out.read_text())["scope"]["unit"] == "tag:workload", err


@pytest.mark.parametrize("where", ["cli", "config"])
def test_a_bad_unit_on_the_command_line_or_in_the_configuration_is_exit_2(where, tmp_path, capsys):
    args = ["audit", "--demo", "flat"]
    if where == "cli":
        args += ["--scope-unit", "tenant"]
    else:
        config = tmp_path / "prodcheck.yaml"
        config.write_text("version: 1\nscope:\n  unit: tenant\n")
        args += ["--config", str(config)]
    code, _, err = run_cli(capsys, *args)
    assert code == 2
    assert "unit" in err and "Traceback" not in err


def test_children_follow_their_parent_and_subscription_level_resources_are_shared():
    from prodcheck.inventory import Inventory

    service = arm("Microsoft.ApiManagement/service", "apim", tags={"workload": "pay"})
    api = arm("Microsoft.ApiManagement/service/apis", "orders", id=service["id"] + "/apis/orders")
    loose = arm(APP, "loose")
    budget = arm(BUDGET, "monthly", id=f"/subscriptions/{SUB}/providers/{BUDGET}/monthly")
    inventory = Inventory([service, api, loose, budget], scope={"subscriptions": [SUB]})
    views = {v.scope.id: sorted(r.name for r in v) for v in units.split(inventory, "tag:workload")}
    assert views == {
        "/tagNames/workload/tagValues/pay": ["apim", "monthly", "orders"],
        "/tagNames/workload/untagged": ["loose", "monthly"],
    }


def test_a_rule_judging_the_scope_through_a_helper_is_still_judged_per_unit(tmp_path):
    """A plugin rule whose scope verdict comes from a helper (so nothing marks it scope-level)
    must not let a vault in one subscription pass another."""
    (tmp_path / "helper_rules.py").write_text(
        "from prodcheck import Severity, rule\n"
        "\n"
        "def judge(inv):\n"
        "    where = inv.scope\n"
        "    if inv.of_type('Microsoft.KeyVault/vaults'):\n"
        "        return where.ok('a vault is in scope')\n"
        "    return where.fail('no vault in scope')\n"
        "\n"
        "@rule(id='XT-UNIT-001', title='A vault in scope', checklist='Key Vault integration for"
        " all secrets', severity=Severity.HIGH, needs=['Microsoft.KeyVault/vaults'])\n"
        "def vault_somewhere(inv, p):\n"
        "    yield judge(inv)\n",
        encoding="utf-8",
    )
    report = audit_snapshot(snap([arm(VAULT, "kv")]), rules=["XT-UNIT-001"], rules_dirs=[tmp_path])
    assert scope_verdicts(report, "XT-UNIT-001") == {
        f"/subscriptions/{SUB}": Status.PASS,
        f"/subscriptions/{SUB2}": Status.FAIL,
    }
