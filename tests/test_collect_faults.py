"""Fail closed: whatever goes wrong while reading becomes a coverage record, never a crash."""

from __future__ import annotations

import time

from fake_arm.arm_json import SUB, child, resource, small_estate

from prodcheck.collect import collect_snapshot

pytest_plugins = ["fake_arm.fixtures"]

APIM = "Microsoft.ApiManagement/service"
VAULT = "Microsoft.KeyVault/vaults"
PE = "Microsoft.Network/privateEndpoints"
DIAG = "Microsoft.Insights/diagnosticSettings"


def failed(snapshot):
    return [c for c in snapshot["coverage"] if c["status"] == "failed"]


def by_type(snapshot, resource_type):
    return [c for c in snapshot["coverage"] if c["resourceType"].lower() == resource_type.lower()]


def test_403_on_one_type_names_the_permission_and_spares_the_others(fake_arm, make_options):
    fake_arm.serve(small_estate())
    fake_arm.fault(r"providers/Microsoft\.KeyVault/vaults$", status=403)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [VAULT, APIM, f"{APIM}/apis"])
    (record,) = failed(snap)
    assert record == {
        "resourceType": VAULT,
        "scope": f"/subscriptions/{SUB}",
        "status": "failed",
        "statusCode": 403,
        "errorCode": "AuthorizationFailed",
        "message": record["message"],
        "permission": "Microsoft.KeyVault/vaults/read",
        "count": 0,
    }
    assert "does not have authorization" in record["message"]
    assert not [r for r in snap["resources"] if r["type"] == VAULT]
    assert len([r for r in snap["resources"] if r["type"] == f"{APIM}/apis"]) == 2
    assert all(c["status"] == "ok" for c in by_type(snap, APIM) + by_type(snap, f"{APIM}/apis"))


def test_403_on_a_child_collection_uses_the_action_arm_names(fake_arm, make_options):
    estate = small_estate()
    fake_arm.serve(estate)
    fake_arm.fault(r"/service/apim-x/policies$", status=403)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [f"{APIM}/policies"])
    (record,) = failed(snap)
    assert record["resourceType"] == f"{APIM}/policies"
    assert record["scope"] == estate[0]["id"]
    assert record["permission"] == "Microsoft.ApiManagement/service/policies/read"


def test_403_on_one_resource_group(fake_arm, make_options):
    fake_arm.serve(small_estate())
    fake_arm.fault(r"/resourceGroups/rg-dev/", status=403)
    options = make_options(subscriptions=[SUB], resource_groups=["rg-app", "rg-dev"])
    snap = collect_snapshot(options, [VAULT])
    assert [r["name"] for r in snap["resources"]] == ["kv-x"]
    assert [(c["scope"], c["status"]) for c in by_type(snap, VAULT)] == [
        (f"/subscriptions/{SUB}/resourceGroups/rg-app", "ok"),
        (f"/subscriptions/{SUB}/resourceGroups/rg-dev", "failed"),
    ]
    assert failed(snap)[0]["permission"] == "Microsoft.KeyVault/vaults/read"


def test_a_missing_resource_group_is_a_failed_record(fake_arm, make_options):
    fake_arm.serve(small_estate())
    snap = collect_snapshot(make_options(subscriptions=[SUB], resource_groups=["rg-nope"]), [VAULT])
    (record,) = failed(snap)
    assert (record["statusCode"], record["errorCode"]) == (404, "ResourceGroupNotFound")


def test_404_on_a_child_collection(fake_arm, make_options):
    estate = small_estate()
    fake_arm.serve(estate)
    fake_arm.fault(r"/apis/openai/policies$", status=404, code="ResourceNotFound")
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [f"{APIM}/apis/policies"])
    (record,) = failed(snap)
    assert record["scope"] == f"{estate[0]['id']}/apis/openai"
    assert (record["statusCode"], record["errorCode"]) == (404, "ResourceNotFound")
    assert record["permission"] == "Microsoft.ApiManagement/service/apis/policies/read"
    ok = [c for c in by_type(snap, f"{APIM}/apis/policies") if c["status"] == "ok"]
    assert [c["scope"] for c in ok] == [f"{estate[0]['id']}/apis/echo"]


def test_a_failed_parent_fails_its_children_too(fake_arm, make_options):
    fake_arm.serve(small_estate())
    fake_arm.fault(r"providers/Microsoft\.ApiManagement/service$", status=403)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [f"{APIM}/apis/policies"])
    records = {c["resourceType"]: c for c in failed(snap)}
    assert set(records) == {APIM, f"{APIM}/apis", f"{APIM}/apis/policies"}
    for record in records.values():
        assert record["scope"] == f"/subscriptions/{SUB}"
        assert record["permission"] == "Microsoft.ApiManagement/service/read"
        assert record["statusCode"] == 403


def test_a_429_storm_outlasting_the_retries(fake_arm, make_options):
    fake_arm.serve(small_estate())
    storm = fake_arm.fault(r"Microsoft\.KeyVault/vaults$", status=429, retry_after=0)
    started = time.monotonic()
    snap = collect_snapshot(make_options(subscriptions=[SUB], retry_total=2), [VAULT, APIM])
    assert time.monotonic() - started < 10
    (record,) = failed(snap)
    assert (record["statusCode"], record["errorCode"]) == (429, "SubscriptionRequestsThrottled")
    assert "after 2 retries" in record["message"]
    assert storm.hits == 3  # the first try and two retries, no more
    assert all(c["status"] == "ok" for c in by_type(snap, APIM))


def test_a_short_429_is_retried_after_retry_after(fake_arm, make_options):
    fake_arm.serve(small_estate())
    fake_arm.fault(r"Microsoft\.KeyVault/vaults$", status=429, retry_after=0.2, times=1)
    started = time.monotonic()
    snap = collect_snapshot(make_options(subscriptions=[SUB], retry_total=2), [VAULT])
    assert time.monotonic() - started >= 0.2
    assert not failed(snap)
    assert len([r for r in snap["resources"] if r["type"] == VAULT]) == 2


def test_a_5xx_beyond_the_retries_and_one_that_recovers(fake_arm, make_options):
    fake_arm.serve(small_estate())
    fake_arm.fault(r"Microsoft\.KeyVault/vaults$", status=503)
    fake_arm.fault(r"Microsoft\.Network/privateEndpoints$", status=500, times=1)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [VAULT, PE])
    (record,) = failed(snap)
    assert (record["resourceType"], record["statusCode"]) == (VAULT, 503)
    assert record["errorCode"] == "ServiceUnavailable"
    assert [r["name"] for r in snap["resources"]] == ["pe-kv"]


def test_a_timeout(fake_arm, make_options):
    fake_arm.serve(small_estate())
    fake_arm.fault(r"Microsoft\.KeyVault/vaults$", hang=True)
    started = time.monotonic()
    snap = collect_snapshot(
        make_options(subscriptions=[SUB], timeout=0.5, retry_total=1), [VAULT, PE]
    )
    assert time.monotonic() - started < 5
    (record,) = failed(snap)
    assert (record["statusCode"], record["errorCode"]) == (0, "Timeout")
    assert record["permission"] == "Microsoft.KeyVault/vaults/read"
    assert [r["name"] for r in snap["resources"]] == ["pe-kv"]


def test_a_malformed_page_after_a_good_one(fake_arm, make_options):
    fake_arm.page_size = 2
    vaults = [resource(VAULT, f"kv-{i}") for i in range(5)]
    fake_arm.serve(vaults)
    fake_arm.fault(r"vaults\?.*skiptoken=2", malformed=True)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [VAULT])
    (record,) = failed(snap)
    assert (record["statusCode"], record["errorCode"]) == (0, "MalformedResponse")
    assert record["count"] == 2  # what the first page gave is kept, the gap is recorded
    assert len(snap["resources"]) == 2


def test_a_malformed_page_on_a_rest_collected_type(fake_arm, make_options):
    fake_arm.serve([resource("Microsoft.Storage/storageAccounts", "st1")])
    fake_arm.fault(r"storageAccounts", malformed=True)
    snap = collect_snapshot(
        make_options(subscriptions=[SUB]), ["Microsoft.Storage/storageAccounts"]
    )
    (record,) = failed(snap)
    assert (record["statusCode"], record["errorCode"]) == (0, "MalformedResponse")
    assert record["permission"] == "Microsoft.Storage/storageAccounts/read"


def test_diagnostic_settings_failure_is_scoped_to_the_resource(fake_arm, make_options):
    estate = small_estate()
    fake_arm.serve(estate)
    fake_arm.fault(r"kv-x/providers/Microsoft\.Insights/diagnosticSettings", status=403)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [VAULT, DIAG])
    (record,) = failed(snap)
    assert record["scope"] == estate[7]["id"]
    assert record["permission"] == "Microsoft.Insights/diagnosticSettings/read"


def test_a_type_without_diagnostic_settings_is_recorded_as_having_none(fake_arm, make_options):
    site = resource("Microsoft.Web/sites", "web")
    fake_arm.serve([site])
    fake_arm.fault(
        r"web/providers/Microsoft\.Insights/diagnosticSettings",
        status=400,
        code="ResourceTypeNotSupported",
        message="The resource type 'microsoft.web/sites' does not support diagnostic settings.",
    )
    snap = collect_snapshot(make_options(subscriptions=[SUB]), ["Microsoft.Web/sites", DIAG])
    assert not failed(snap)
    assert by_type(snap, DIAG) == [
        {"resourceType": DIAG, "scope": site["id"], "status": "ok", "count": 0}
    ]


def test_an_unregistered_provider_has_no_resources_and_is_never_registered(fake_arm, make_options):
    fake_arm.serve([], subscriptions=[SUB])
    fake_arm.fault(
        r"Microsoft\.Cache/redisEnterprise$",
        status=409,
        code="MissingSubscriptionRegistration",
        message="The subscription is not registered to use namespace 'Microsoft.Cache'.",
    )
    snap = collect_snapshot(
        make_options(subscriptions=[SUB]), ["Microsoft.Cache/redisEnterprise/databases"]
    )
    assert not failed(snap)
    assert {r.method for r in fake_arm.requests} == {"GET"}
    assert not any("register" in r.path.lower() for r in fake_arm.requests)


def test_faults_do_not_change_what_else_is_collected(fake_arm, make_options):
    estate = small_estate()
    fake_arm.serve(estate)
    needs = [VAULT, PE, f"{PE}/privateDnsZoneGroups", f"{APIM}/apis/policies", DIAG]
    clean = collect_snapshot(make_options(subscriptions=[SUB]), needs)
    fake_arm.fault(r"Microsoft\.KeyVault/vaults$", status=403)
    faulty = collect_snapshot(make_options(subscriptions=[SUB]), needs)

    def not_vault(snapshot):
        return [r for r in snapshot["resources"] if "/vaults/" not in r["id"].lower()]

    assert not_vault(faulty) == not_vault(clean)
    assert len(failed(faulty)) == 1


def test_children_of_failed_parents_are_not_requested(fake_arm, make_options):
    fake_arm.serve(small_estate() + [child(resource(APIM, "apim-x"), "apis", "extra")])
    fake_arm.fault(r"/service/apim-x/apis$", status=403)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [f"{APIM}/apis/policies"])
    assert not any(r.path.lower().endswith("/policies") for r in fake_arm.requests)
    types = {c["resourceType"] for c in failed(snap)}
    assert types == {f"{APIM}/apis", f"{APIM}/apis/policies"}


def test_a_collection_task_that_breaks_is_recorded_as_a_failed_read(
    fake_arm, make_options, monkeypatch, capsys
):
    from prodcheck.collect import engine

    estate = small_estate()
    fake_arm.serve(estate)
    real_claim = engine.Run._claim

    def claim(self, resource_type, scope):
        if resource_type.lower().endswith("/apis"):
            raise RuntimeError("bug in a collector")
        return real_claim(self, resource_type, scope)

    monkeypatch.setattr(engine.Run, "_claim", claim)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [f"{APIM}/apis"])
    (record,) = failed(snap)
    assert record["resourceType"] == f"{APIM}/apis"
    assert record["scope"] == estate[0]["id"]
    assert "bug in a collector" in record["message"]
    assert "internal error while collecting" in capsys.readouterr().err


def test_budgets_are_read_at_each_group_whatever_the_tag_filter_and_a_403_names_the_permission(
    fake_arm, make_options
):
    budgets = "Microsoft.Consumption/budgets"
    estate = small_estate()
    group = f"/subscriptions/{SUB}/resourceGroups/rg-app"
    budget = {
        "id": f"{group}/providers/{budgets}/monthly",
        "name": "monthly",
        "type": budgets,
        "properties": {"amount": 100, "timeGrain": "Monthly", "notifications": {}},
    }
    fake_arm.serve([*estate, budget])
    options = make_options(subscriptions=[SUB], resource_groups=["rg-app"], tags={"env": "prod"})
    snap = collect_snapshot(options, [budgets])
    assert [r["id"] for r in snap["resources"]] == [budget["id"]]
    assert any(
        r.path.lower().endswith("/resourcegroups/rg-app/providers/microsoft.consumption/budgets")
        and r.query.get("api-version") == "2023-05-01"
        for r in fake_arm.requests
    )

    fake_arm.fault(r"providers/Microsoft\.Consumption/budgets$", status=403)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [budgets])
    (record,) = failed(snap)
    assert record["statusCode"] == 403
    assert record["permission"] == "Microsoft.Consumption/budgets/read"
    assert not snap["resources"]
