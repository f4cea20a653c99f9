"""The model catalogue through the fake ARM: one list per region, ids added, a 403."""

from __future__ import annotations

from fake_arm.arm_json import SUB, resource

from prodcheck.api import audit_snapshot
from prodcheck.collect import collect_snapshot

pytest_plugins = ["fake_arm.fixtures"]

ACCOUNT = "Microsoft.CognitiveServices/accounts"
CATALOGUE = "Microsoft.CognitiveServices/locations/models"


def item(version, retires=None):
    model = {"format": "OpenAI", "name": "gpt-4o", "version": version}
    model["lifecycleStatus"] = "GenerallyAvailable"
    if retires:
        model["deprecation"] = {"inference": retires}
    key = f"AIServices~OpenAI~gpt-4o~{version}"
    return {
        "id": f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/eastus/models/{key}",
        "type": CATALOGUE,
        "name": key,
        "kind": "AIServices",
        "skuName": "S0",
        "model": model,
    }


def estate():
    accounts = [
        resource(ACCOUNT, name, location=where, kind="AIServices", properties={})
        for name, where in (("ai1", "eastus"), ("ai2", "East US"))
    ]
    deployment = {
        "id": accounts[0]["id"] + "/deployments/chat",
        "name": "chat",
        "type": f"{ACCOUNT}/deployments",
        "properties": {
            "model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-08-06"},
            "versionUpgradeOption": "OnceNewDefaultVersionAvailable",
        },
    }
    return [*accounts, deployment, item("2024-08-06", "2026-12-01T00:00:00Z"), item("2024-11-20")]


def test_the_catalogue_is_read_once_per_region_and_carries_the_ids_a_snapshot_gives(
    fake_arm, make_options
):
    fake_arm.serve(estate())
    snap = collect_snapshot(
        make_options(subscriptions=[SUB]), [f"{ACCOUNT}/deployments", CATALOGUE]
    )
    items = [r for r in snap["resources"] if r["type"] == CATALOGUE]
    assert sorted(r["id"] for r in items) == sorted(r["id"] for r in estate()[3:])
    listed = [r for r in fake_arm.requests if r.path.lower().endswith("/locations/eastus/models")]
    assert len(listed) == 1
    assert not fake_arm.duplicates()


def test_a_refused_catalogue_makes_the_deployments_errors_with_the_permission(
    fake_arm, make_options
):
    fake_arm.serve(estate())
    fake_arm.fault(r"/locations/eastus/models$", status=403)
    snap = collect_snapshot(
        make_options(subscriptions=[SUB]), [ACCOUNT, f"{ACCOUNT}/deployments", CATALOGUE]
    )
    (record,) = [c for c in snap["coverage"] if c["status"] == "failed"]
    assert record["permission"] == "Microsoft.CognitiveServices/locations/models/read"
    report = audit_snapshot(snap, rules=["PC-MODEL-001"])
    on_deployment = [f for f in report.findings if f.resource_name == "chat"]
    assert [f.status.value for f in on_deployment] == ["ERROR"]
