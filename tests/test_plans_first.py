"""The hardened configuration as a first plan: what only deployment can show, and nothing worse."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from builders import run_cli
from tfplan import change, first_plan, plan

from prodcheck.paths import demos_dir
from prodcheck.plans.terraform import parse_terraform_plan

DOCS = Path(__file__).parent.parent / "docs" / "shift-left.md"
KNOWN_AFTER = "known after deployment: "


def _key(f: dict[str, Any]) -> tuple[str, str, str]:
    return f["ruleId"], f["resourceName"], f["subject"]


@pytest.fixture(scope="module")
def audits(tmp_path_factory) -> dict[str, Any]:
    """The hardened day-two plan, planned again as the first plan of its configuration."""
    day_two = json.loads((demos_dir() / "hardened-plan.json").read_text(encoding="utf-8"))
    path = tmp_path_factory.mktemp("first") / "plan.json"
    path.write_text(json.dumps(first_plan(day_two)), encoding="utf-8")
    return {"plan": path}


def _audit(capsys, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run_cli(capsys, "audit", *args, "-f", "json")
    return code, json.loads(out)


def test_the_first_plan_creates_everything_and_knows_no_id(audits):
    data = json.loads(audits["plan"].read_text(encoding="utf-8"))
    managed = [rc for rc in data["resource_changes"] if rc["mode"] == "managed"]
    assert managed and all(rc["change"]["actions"] == ["create"] for rc in managed)
    assert all("id" not in rc["change"]["after"] for rc in managed)
    assert all(rc["change"]["after_unknown"]["id"] is True for rc in managed)
    # children and extensions of new resources are linked through the configuration
    linked = [r for r in data["configuration"]["root_module"]["resources"] if r["expressions"]]
    assert len(linked) > 50


def test_the_hardened_first_plan_fails_nothing_and_errs_only_on_what_deployment_shows(
    audits, capsys
):
    code, report = _audit(capsys, "--terraform-plan", str(audits["plan"]))
    _, deployed = _audit(capsys, "--demo", "hardened")
    _, day_two = _audit(capsys, "--demo", "hardened-plan")
    assert code == 1  # the ERRORs block: the gate cannot pass on what it cannot see
    fails = [f for f in report["findings"] if f["status"] == "FAIL"]
    deployed_fails = {_key(f) for f in deployed["findings"] if f["status"] == "FAIL"}
    assert not [f for f in fails if _key(f) not in deployed_fails]
    errors = [f for f in report["findings"] if f["status"] == "ERROR"]
    assert errors
    for f in errors:
        assert f["message"].startswith(KNOWN_AFTER), f["message"]
        assert f["evidence"]["known after deployment"]
    # every other verdict is the day-two plan's
    before = {_key(f): f["status"] for f in day_two["findings"]}
    for f in report["findings"]:
        if f["status"] != "ERROR":
            assert before.get(_key(f)) == f["status"], (_key(f), f["message"])


def _documented() -> set[str]:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### A first plan of the hardened configuration", 1)[1]
    section = section.split("\n## ", 1)[0]
    return set(re.findall(r"`(PC-[A-Z]+-\d{3})`", section))


def test_the_docs_name_exactly_the_rules_a_first_plan_leaves_to_deployment(audits, capsys):
    _, report = _audit(capsys, "--terraform-plan", str(audits["plan"]))
    erring = {f["ruleId"] for f in report["findings"] if f["status"] == "ERROR"}
    assert erring == _documented()


def test_the_day_two_plan_still_passes(capsys):
    code, report = _audit(capsys, "--demo", "hardened-plan")
    assert code == 0
    assert not [f for f in report["findings"] if f["status"] in ("FAIL", "ERROR")]


# ---- the engine on values a first plan cannot know -----------------------------------------------

SUB = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7d9c0a11"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-app"


def _vault(name: str) -> dict[str, Any]:
    return change(
        f"azapi_resource.{name.replace('-', '_')}",
        {
            "type": "Microsoft.KeyVault/vaults@2023-07-01",
            "name": name,
            "parent_id": RG_ID,
            "location": "eastus",
            "body": {
                "properties": {
                    "tenantId": "11111111-2222-3333-4444-555555555555",
                    "sku": {"family": "A", "name": "standard"},
                    "enableRbacAuthorization": True,
                    "enablePurgeProtection": True,
                    "publicNetworkAccess": "Disabled",
                }
            },
        },
        unknown={"id": True, "output": True},
    )


def _endpoint_to_unknown_service() -> dict[str, Any]:
    """A new private endpoint whose service is another new resource: unknown until apply."""
    return change(
        "azapi_resource.pe",
        {
            "type": "Microsoft.Network/privateEndpoints@2024-05-01",
            "name": "pe-kv",
            "parent_id": RG_ID,
            "location": "eastus",
            "body": {
                "properties": {
                    "subnet": {
                        "id": f"{RG_ID}/providers/Microsoft.Network/virtualNetworks/v/subnets/pe"
                    },
                    "privateLinkServiceConnections": [
                        {"name": "kv", "properties": {"groupIds": ["vault"]}}
                    ],
                }
            },
        },
        unknown={
            "id": True,
            "output": True,
            "body": {
                "properties": {
                    "privateLinkServiceConnections": [
                        {"properties": {"privateLinkServiceId": True}}
                    ]
                }
            },
        },
    )


def _audit_data(tmp_path: Path, capsys, data: dict[str, Any], *rules: str) -> dict[str, Any]:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    args = [a for r in rules for a in ("-r", r)]
    return _audit(capsys, "--terraform-plan", str(path), *args)[1]


def test_every_service_an_endpoint_may_connect_to_waits_for_its_unknown_target(tmp_path, capsys):
    data = plan([_vault("kv-one"), _vault("kv-two"), _endpoint_to_unknown_service()])
    report = _audit_data(tmp_path, capsys, data, "PC-NET-002")
    verdicts = {f["resourceName"]: f for f in report["findings"]}
    # the endpoint index is built once; the second vault's verdict rests on it all the same
    for name in ("azapi_resource.kv_one", "azapi_resource.kv_two"):
        assert verdicts[name]["status"] == "ERROR", verdicts[name]["message"]
        assert "privateLinkServiceId of pe-kv" in verdicts[name]["message"]


def test_a_rule_that_reads_an_unknown_and_says_nothing_gets_an_error_for_the_scope(
    tmp_path, capsys
):
    data = plan([_vault("kv-one"), _endpoint_to_unknown_service()])
    report = _audit_data(tmp_path, capsys, data, "PC-NET-003")
    statuses = [(f["status"], f["message"]) for f in report["findings"]]
    assert statuses and all(s == "ERROR" for s, _ in statuses), statuses
    assert any("privateLinkServiceId of pe-kv" in m for _, m in statuses)


def test_a_new_identity_has_no_principal_id_before_apply():
    identity = change(
        "azapi_resource.id_app",
        {
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities@2024-01-01",
            "name": "id-app",
            "parent_id": RG_ID,
            "location": "eastus",
            "body": {},
        },
        unknown={"id": True, "output": True},
    )
    account = change(
        "azapi_resource.ai",
        {
            "type": "Microsoft.CognitiveServices/accounts@2025-06-01",
            "name": "ai",
            "parent_id": RG_ID,
            "location": "eastus",
            "identity": [{"type": "SystemAssigned", "identity_ids": []}],
            "body": {"kind": "AIServices", "properties": {"disableLocalAuth": True}},
        },
        unknown={"id": True, "output": True, "identity": [{"principal_id": True}]},
    )
    snap = parse_terraform_plan(plan([identity, account]), "plan.json")
    unknown = {r["name"]: r.get("x-prodcheck-unknown", []) for r in snap.resources}
    assert {"properties.principalId", "properties.clientId"} <= set(unknown["id-app"])
    assert "identity.principalId" in unknown["ai"]
    assert "properties.endpoint" in unknown["ai"]
