"""Model deployments against the model catalogue of their region."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import SUB, arm, registry

from prodcheck.engine import AuditSettings, audit, run_rule
from prodcheck.inventory import Inventory
from prodcheck.snapshot import parse_snapshot

ACCOUNT = "Microsoft.CognitiveServices/accounts"
AS_OF = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def account(location="eastus"):
    return arm(ACCOUNT, "ai1", location=location, kind="AIServices", properties={})


def deployment(version="2024-08-06", upgrade="OnceNewDefaultVersionAvailable", name="gpt-4o"):
    parent = account()["id"]
    return arm(
        f"{ACCOUNT}/deployments",
        name,
        id=f"{parent}/deployments/{name}",
        location="",
        properties={
            "model": {"format": "OpenAI", "name": name, "version": version},
            "versionUpgradeOption": upgrade,
        },
    )


def catalogue_item(
    version="2024-08-06",
    retires=None,
    lifecycle="GenerallyAvailable",
    name="gpt-4o",
    where="eastus",
):
    """A catalogue item in the shape of the ListLocationModels example, with the id a snapshot
    gives it."""
    model = {"format": "OpenAI", "name": name, "version": version, "lifecycleStatus": lifecycle}
    if retires:
        model["deprecation"] = {"inference": retires}
    key = f"AIServices~OpenAI~{name}~{version}"
    return {
        "id": f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/{where}/models/{key}",
        "type": "Microsoft.CognitiveServices/locations/models",
        "name": key,
        "kind": "AIServices",
        "skuName": "S0",
        "model": model,
    }


def verdict(resources, params=None, as_of=AS_OF):
    inv = Inventory(resources, scope={"subscriptions": [SUB]})
    inv.as_of = as_of
    settings = AuditSettings(params={"PC-MODEL-001": params} if params else {})
    findings = [
        f
        for f in run_rule(registry().get("PC-MODEL-001"), inv, settings)
        if f.resource_type != "scope"
    ]
    assert len(findings) == 1, [f.message for f in findings]
    return findings[0]


def test_a_version_with_no_retirement_date_passes():
    f = verdict([account(), deployment(), catalogue_item()])
    assert f.status.value == "PASS" and "no retirement date" in f.message


def test_a_retirement_more_than_the_minimum_away_passes():
    f = verdict([account(), deployment(), catalogue_item(retires="2027-06-01T00:00:00Z")])
    assert f.status.value == "PASS" and "2027-06-01" in f.message


@pytest.mark.parametrize(
    ("retires", "says"),
    [("2026-12-15T00:00:00Z", "in 18 days"), ("2026-03-31T00:00:00Z", "was retired")],
)
def test_a_version_retiring_soon_or_retired_fails_with_the_date(retires, says):
    f = verdict([account(), deployment(), catalogue_item(retires=retires)])
    assert f.status.value == "FAIL" and retires[:10] in f.message and says in f.message


def test_the_minimum_is_a_parameter():
    resources = [account(), deployment(), catalogue_item(retires="2027-01-31T00:00:00Z")]
    assert verdict(resources).status.value == "FAIL"
    assert verdict(resources, {"min_days_to_retirement": 30}).status.value == "PASS"


def test_a_pinned_version_with_a_retirement_date_fails():
    f = verdict(
        [account(), deployment(upgrade="NoAutoUpgrade"), catalogue_item(retires="2028-01-01")]
    )
    assert f.status.value == "FAIL" and "NoAutoUpgrade" in f.message
    pinned_forever = [account(), deployment(upgrade="NoAutoUpgrade"), catalogue_item()]
    assert verdict(pinned_forever).status.value == "PASS"


@pytest.mark.parametrize("lifecycle", ["Preview", "Deprecated", "Deprecating"])
def test_preview_or_deprecated_models_fail(lifecycle):
    f = verdict([account(), deployment(), catalogue_item(lifecycle=lifecycle)])
    assert f.status.value == "FAIL" and lifecycle in f.message


def test_a_model_missing_from_the_catalogue_read_is_an_error_not_a_pass():
    other_version = catalogue_item(version="2024-11-20")
    other_region = catalogue_item(where="westus")
    f = verdict([account(), deployment(), other_version, other_region])
    assert f.status.value == "ERROR" and "not in the model catalogue" in f.message


def test_region_display_names_match_the_catalogue_location():
    f = verdict([account(location="East US"), deployment(), catalogue_item()])
    assert f.status.value == "PASS"


def test_dates_are_judged_as_of_the_snapshots_collection_not_the_audit():
    doc = {
        "format": "prodcheck.snapshot/v1",
        "collectedAt": "2026-11-26T09:00:00Z",
        "scope": {"subscriptions": [SUB]},
        "resources": [account(), deployment(), catalogue_item(retires="2027-06-01T00:00:00Z")],
    }
    rules = [registry().get("PC-MODEL-001")]
    later = dt.datetime(2027, 5, 1, tzinfo=dt.UTC)
    report = audit(parse_snapshot(doc, "test"), rules, now=later)
    assert {f.status.value for f in report.findings} == {"PASS"}
    del doc["collectedAt"]
    report = audit(parse_snapshot(doc, "test"), rules, now=later)
    assert {f.status.value for f in report.findings} == {"FAIL"}


def test_a_plan_reads_the_catalogue_through_a_data_source():
    from tfplan import change, plan

    from prodcheck.plans.terraform import parse_terraform_plan

    item = {k: v for k, v in catalogue_item().items() if k not in ("id", "type", "name")}
    after = {
        "type": "Microsoft.CognitiveServices/locations/models@2024-10-01",
        "parent_id": f"/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/eastus",
        "response_export_values": ["*"],
        "output": {"value": [item, {"not": "a model"}]},
    }
    data = plan(
        [change("data.azapi_resource_list.models", after, actions=("read",), mode="data")],
        timestamp="2026-11-30T10:00:00Z",
    )
    snap = parse_terraform_plan(data, "plan.json")
    [read] = snap.resources
    assert read["id"].lower() == catalogue_item()["id"].lower()
    assert read["model"] == item["model"]
    assert snap.scope["plan"]["timestamp"] == "2026-11-30T10:00:00Z"


# ---- shapes of the GET bodies ------------------------------------------------------------------


def test_deployment_without_upgrade_option_against_a_region_written_westus():
    # A 2024-10-01 deployment body: sku at the top, no versionUpgradeOption; the catalogue listed
    # for location `WestUS` as ListLocationModels (2024-10-01) returns it, for an account whose
    # location reads `West US`.
    acct = account(location="West US")
    ada = arm(
        f"{ACCOUNT}/deployments",
        "deploymentName",
        id=f"{acct['id']}/deployments/deploymentName",
        location="",
        sku={"name": "Standard", "capacity": 1},
        properties={
            "model": {"format": "OpenAI", "name": "ada", "version": "1"},
            "provisioningState": "Succeeded",
        },
    )
    item = catalogue_item("1", "2024-01-01T00:00:00Z", "Preview", name="ada", where="WestUS")
    item["kind"] = "OpenAI"
    item["model"]["deprecation"]["fineTune"] = "2024-01-01T00:00:00Z"
    item["model"]["capabilities"] = {"fineTune": "true", "inference": "false"}
    finding = verdict([acct, ada, item])
    assert finding.status.value == "FAIL"
    assert "was retired for inference on 2024-01-01" in finding.message
    assert "Preview" in finding.message
    assert finding.evidence["properties.versionUpgradeOption"] is None
