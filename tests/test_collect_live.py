"""Live collection against the fake ARM: what is read, how often, and what the snapshot holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
from fake_arm.arm_json import (
    SUB,
    SUB2,
    apim_policy,
    child,
    diagnostic_setting,
    resource,
    small_estate,
)

from prodcheck.collect import collect_snapshot

pytest_plugins = ["fake_arm.fixtures"]

SCHEMA = Path(__file__).resolve().parents[1] / "src/prodcheck/schemas/snapshot-v1.schema.json"
APIM = "Microsoft.ApiManagement/service"
VAULT = "Microsoft.KeyVault/vaults"
DIAG = "Microsoft.Insights/diagnosticSettings"


def ids(snapshot):
    return [r["id"] for r in snapshot["resources"]]


def coverage(snapshot, resource_type):
    return [c for c in snapshot["coverage"] if c["resourceType"].lower() == resource_type.lower()]


def paths(fake):
    return [r.path.lower() for r in fake.requests]


def test_snapshot_is_format_v1_and_validates(fake_arm, make_options):
    fake_arm.serve(small_estate())
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [VAULT])
    jsonschema.validate(snap, json.loads(SCHEMA.read_text()))
    assert snap["format"] == "prodcheck.snapshot/v1"
    assert snap["scope"] == {
        "subscriptions": [SUB],
        "resourceGroups": [],
        "tags": {},
        "cloud": "public",
    }
    assert snap["collectedAt"].endswith("Z")
    assert ids(snap) == sorted(ids(snap), key=str.lower)
    assert coverage(snap, VAULT) == [
        {
            "resourceType": VAULT,
            "scope": f"/subscriptions/{SUB}",
            "status": "ok",
            "count": 2,
        }
    ]


def test_only_needed_types_are_read_once_each_with_get_only(fake_arm, make_options):
    fake_arm.serve(small_estate())
    snap = collect_snapshot(make_options(subscriptions=[SUB]), ["microsoft.keyvault/VAULTS"])
    assert {r["type"] for r in snap["resources"]} == {VAULT}
    assert {r.method for r in fake_arm.requests} == {"GET"}
    assert not fake_arm.duplicates()
    assert paths(fake_arm) == [
        f"/subscriptions/{SUB}",  # the subscription exists and the identity can see it
        f"/subscriptions/{SUB}/providers/microsoft.keyvault/vaults",
    ]
    assert not any("listkeys" in p or "listsecrets" in p for p in paths(fake_arm))


def test_resources_are_exactly_what_arm_returned(fake_arm, make_options):
    estate = small_estate()
    # timestamps in ARM's own 7-digit form: old-style SDK models would rewrite them
    estate[0]["systemData"] = {"createdAt": "2026-02-16T14:03:12.5520000Z", "createdByType": "User"}
    estate[0]["properties"]["someFutureField"] = {"nested": [1, 2]}
    fake_arm.serve(estate)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [APIM])
    assert snap["resources"] == [estate[0]]


def test_child_types_bring_their_parent_chain(fake_arm, make_options):
    estate = small_estate()
    fake_arm.serve(estate)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [f"{APIM}/apis/policies"])
    types = sorted({r["type"] for r in snap["resources"]})
    assert types == [APIM, f"{APIM}/apis", f"{APIM}/apis/policies"]
    api_policy = next(r for r in snap["resources"] if r["type"] == f"{APIM}/apis/policies")
    assert api_policy["properties"]["format"] == "xml"
    assert api_policy["properties"]["value"].startswith("<policies>")
    # one policy collection per API, one API list per service; all under the parent's path
    apim_id = estate[0]["id"].lower()
    assert sorted(p for p in paths(fake_arm) if p.startswith(apim_id)) == [
        f"{apim_id}/apis",
        f"{apim_id}/apis/echo/policies",
        f"{apim_id}/apis/openai/policies",
    ]
    assert coverage(snap, f"{APIM}/apis/policies") == [
        {
            "resourceType": f"{APIM}/apis/policies",
            "scope": f"{estate[0]['id']}/apis/echo",
            "status": "ok",
            "count": 0,
        },
        {
            "resourceType": f"{APIM}/apis/policies",
            "scope": f"{estate[0]['id']}/apis/openai",
            "status": "ok",
            "count": 1,
        },
    ]
    assert not fake_arm.duplicates()


def test_global_policy_is_kept_as_arm_sends_it(fake_arm, make_options):
    estate = small_estate()
    fake_arm.serve(estate)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [f"{APIM}/policies"])
    (policy,) = [r for r in snap["resources"] if r["type"] == f"{APIM}/policies"]
    assert policy == apim_policy(estate[0])


def test_diagnostic_settings_are_read_for_resources_that_can_have_them(fake_arm, make_options):
    estate = small_estate()
    fake_arm.serve(estate)
    needs = [VAULT, "Microsoft.Network/privateEndpoints", DIAG]
    snap = collect_snapshot(make_options(subscriptions=[SUB]), needs)
    settings = [r for r in snap["resources"] if r["type"] == DIAG]
    assert [s["id"] for s in settings] == [diagnostic_setting(estate[7])["id"]]
    scopes = sorted(c["scope"] for c in coverage(snap, DIAG))
    vaults = sorted(r["id"] for r in estate if r["type"] == VAULT)
    assert scopes == vaults  # private endpoints cannot have diagnostic settings: not asked
    assert not any("privateendpoints/pe-kv/providers" in p for p in paths(fake_arm))


def test_diagnostic_settings_of_one_type_are_read_for_that_type_only(fake_arm, make_options):
    estate = small_estate()
    fake_arm.serve(estate)
    apims = [r for r in estate if r["type"] == APIM]
    assert apims, "the estate needs an API Management service for this test"
    needs = [APIM, VAULT, f"{VAULT}/providers/{DIAG}"]
    snap = collect_snapshot(make_options(subscriptions=[SUB]), needs)
    scopes = sorted(c["scope"] for c in coverage(snap, DIAG))
    assert scopes == sorted(r["id"] for r in estate if r["type"] == VAULT)
    asked = [p for p in paths(fake_arm) if "diagnosticsettings" in p]
    assert not any("microsoft.apimanagement" in p for p in asked)
    assert len(asked) == len(scopes)


def test_children_are_read_across_pages_of_parents(fake_arm, make_options):
    fake_arm.page_size = 2
    endpoints = [resource("Microsoft.Network/privateEndpoints", f"pe-{i}") for i in range(5)]
    groups = [child(pe, "privateDnsZoneGroups", "default") for pe in endpoints]
    fake_arm.serve(endpoints + groups)
    needs = ["Microsoft.Network/privateEndpoints/privateDnsZoneGroups"]
    snap = collect_snapshot(make_options(subscriptions=[SUB]), needs)
    assert len(snap["resources"]) == 10
    lists = [
        r
        for r in fake_arm.requests
        if r.path.lower().endswith("providers/microsoft.network/privateendpoints")
    ]
    assert [r.query.get("$skiptoken") for r in lists] == [None, "2", "4"]
    assert not fake_arm.duplicates()


def test_pagination_follows_absolute_next_links(fake_arm, make_options):
    fake_arm.page_size = 3
    vaults = [resource(VAULT, f"kv-{i:02}") for i in range(10)]
    fake_arm.serve(vaults)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [VAULT])
    assert ids(snap) == sorted(v["id"] for v in vaults)
    assert len(fake_arm.requests) == 1 + 4  # the subscription, then 4 pages
    assert coverage(snap, VAULT)[0]["count"] == 10


def test_rest_collected_types_page_too(fake_arm, make_options):
    fake_arm.page_size = 2
    accounts = [resource("Microsoft.Storage/storageAccounts", f"st{i}") for i in range(5)]
    fake_arm.serve(accounts)
    snap = collect_snapshot(
        make_options(subscriptions=[SUB]), ["Microsoft.Storage/storageAccounts"]
    )
    assert ids(snap) == sorted(a["id"] for a in accounts)
    assert len(fake_arm.requests) == 1 + 3


def test_tag_filter_keeps_matching_resources_and_their_children(fake_arm, make_options):
    estate = small_estate()
    untagged = resource(APIM, "apim-untagged")
    fake_arm.serve(estate + [untagged, child(untagged, "apis", "a")])
    snap = collect_snapshot(
        make_options(subscriptions=[SUB], tags={"ENV": "prod"}), [f"{APIM}/apis", VAULT, DIAG]
    )
    got = ids(snap)
    assert untagged["id"] not in got
    assert f"{untagged['id']}/apis/a" not in got
    assert f"{estate[0]['id']}/apis/openai" in got
    assert [r["name"] for r in snap["resources"] if r["type"] == VAULT] == ["kv-x"]
    # nothing is read below a resource the filter dropped
    assert not any(p.startswith(untagged["id"].lower() + "/") for p in paths(fake_arm))
    assert snap["scope"]["tags"] == {"ENV": "prod"}


def test_resource_group_filter_lists_only_those_groups(fake_arm, make_options):
    fake_arm.serve(small_estate())
    snap = collect_snapshot(
        make_options(subscriptions=[SUB], resource_groups=["rg-dev"]), [VAULT, APIM]
    )
    assert [r["name"] for r in snap["resources"]] == ["kv-dev"]
    assert sorted(paths(fake_arm)[1:]) == sorted(
        [
            f"/subscriptions/{SUB}/resourcegroups/rg-dev/providers/microsoft.keyvault/vaults",
            f"/subscriptions/{SUB}/resourcegroups/rg-dev/providers/microsoft.apimanagement/service",
        ]
    )
    assert {c["scope"] for c in snap["coverage"]} == {f"/subscriptions/{SUB}/resourceGroups/rg-dev"}


def test_several_subscriptions_are_collected_together(fake_arm, make_options):
    a = resource(VAULT, "kv-a")
    b = resource(VAULT, "kv-b", sub=SUB2)
    fake_arm.serve([a, b])
    snap = collect_snapshot(make_options(subscriptions=[SUB, SUB2.upper(), SUB]), [VAULT])
    assert sorted(ids(snap)) == sorted([a["id"], b["id"]])
    assert snap["scope"]["subscriptions"] == [SUB, SUB2]
    assert not fake_arm.duplicates()


def test_child_type_with_no_parent_is_recorded_as_collected_and_empty(fake_arm, make_options):
    fake_arm.serve([resource(VAULT, "kv")])
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [f"{APIM}/apis/policies", DIAG])
    for t in (f"{APIM}/apis", f"{APIM}/apis/policies", DIAG):
        assert coverage(snap, t) == [
            {"resourceType": t, "scope": f"/subscriptions/{SUB}", "status": "ok", "count": 0}
        ]


def test_secret_values_never_reach_the_snapshot(fake_arm, make_options):
    redis = resource(
        "Microsoft.Cache/redis",
        "r1",
        properties={
            "accessKeys": {"primaryKey": "c2VjcmV0LWtleQ==", "secondaryKey": "c2VjcmV0LWtleTI="},
            "redisConfiguration": {"maxmemory-policy": "volatile-lru"},
        },
    )
    app = resource(
        "Microsoft.App/containerApps",
        "app",
        properties={
            "template": {
                "containers": [
                    {
                        "name": "web",
                        "env": [
                            {
                                "name": "STORAGE",
                                "value": "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=bXlrZXk=;EndpointSuffix=core.windows.net",
                            },
                            {
                                "name": "APPLICATIONINSIGHTS_CONNECTION_STRING",
                                "value": "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://x/",
                            },
                            {
                                "name": "PLACEHOLDER",
                                "value": "mongodb+srv://<user>:<password>@host/",
                            },
                        ],
                    }
                ]
            }
        },
    )
    fake_arm.serve([redis, app])
    snap = collect_snapshot(
        make_options(subscriptions=[SUB]), ["Microsoft.Cache/redis", "Microsoft.App/containerApps"]
    )
    text = json.dumps(snap)
    assert "c2VjcmV0LWtleQ" not in text and "bXlrZXk" not in text
    got_redis = next(r for r in snap["resources"] if r["name"] == "r1")
    assert "accessKeys" not in got_redis["properties"]
    assert got_redis["properties"]["redisConfiguration"] == {"maxmemory-policy": "volatile-lru"}
    env = next(r for r in snap["resources"] if r["name"] == "app")["properties"]["template"][
        "containers"
    ][0]["env"]
    assert env[0]["value"].endswith("AccountKey=***redacted***;EndpointSuffix=core.windows.net")
    assert env[1]["value"].startswith("InstrumentationKey=00000000")  # an identifier, kept
    assert env[2]["value"] == "mongodb+srv://<user>:<password>@host/"  # a placeholder, kept


def test_unknown_types_use_the_generic_resources_api(fake_arm, make_options):
    site = resource(
        "Microsoft.Web/sites", "web-x", tags={"env": "prod"}, properties={"httpsOnly": True}
    )
    slot = child(site, "slots", "staging", httpsOnly=False)
    other = resource("Microsoft.Web/serverFarms", "plan")
    fake_arm.serve([site, slot, other, diagnostic_setting(site)])
    snap = collect_snapshot(make_options(subscriptions=[SUB]), ["Microsoft.Web/sites/slots", DIAG])
    assert snap["resources"] == sorted(
        [site, slot, diagnostic_setting(site)], key=lambda r: r["id"].lower()
    )
    got = paths(fake_arm)
    site_id = site["id"].lower()
    assert f"/subscriptions/{SUB}/providers/microsoft.web" in got  # api-version lookup, once
    assert got.count(f"/subscriptions/{SUB}/providers/microsoft.web") == 1
    assert f"/subscriptions/{SUB}/resources" in got
    assert site_id in got  # GET by id: the generic list carries no properties
    assert f"{site_id}/slots" in got
    generic_get = next(r for r in fake_arm.requests if r.path.lower() == site_id)
    assert generic_get.query["api-version"] == "2099-01-01"  # newest stable, not the preview


def test_importing_collect_loads_no_azure_sdk():
    probe = (
        "import sys, prodcheck.collect, prodcheck.collect.options, prodcheck.collect.catalog;"
        "print([m for m in sys.modules if m.startswith('azure')])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_snapshot_collects_every_type_the_catalog_knows(fake_arm, make_options):
    from prodcheck.collect.catalog import CATALOG

    estate = []
    # catalogues (no ARM ids, read per region) have their own tests: test_collect_catalogue.py;
    # so do metrics (read per resource over a window): test_collect_metrics.py
    entries = [e for e in CATALOG.values() if e.how not in ("catalogue", "metrics")]
    for entry in entries:
        if entry.type == DIAG:
            continue
        parts = entry.type.split("/")
        parent = resource("/".join(parts[:2]), "p-" + parts[1].lower()[:20])
        item = parent
        for segment in parts[2:]:
            # a child without a list (a singleton) is read by its one name
            item = child(item, segment, entry.singleton or "c-" + segment.lower())
        estate.append(item)
    # complete the parent chains
    by_id = {}
    for r in estate:
        rid_parts = r["id"].split("/")
        for cut in range(9, len(rid_parts) + 1, 2):
            pid = "/".join(rid_parts[:cut])
            ptype = "/".join(r["type"].split("/")[: 2 + (cut - 9) // 2])
            by_id.setdefault(
                pid.lower(),
                {"id": pid, "name": rid_parts[cut - 1], "type": ptype, "properties": {}},
            )
    fake_arm.serve(list(by_id.values()))
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [e.type for e in entries])
    assert sorted(ids(snap), key=str.lower) == sorted(
        (v["id"] for v in by_id.values()), key=str.lower
    )
    assert all(c["status"] == "ok" for c in snap["coverage"]), [
        c for c in snap["coverage"] if c["status"] != "ok"
    ]
    assert not fake_arm.duplicates()
    assert {r.method for r in fake_arm.requests} == {"GET"}


def test_progress_display_runs_from_worker_threads(fake_arm, make_options, capsys):
    fake_arm.serve(small_estate())
    snap = collect_snapshot(
        make_options(subscriptions=[SUB], quiet=False, progress=True), [VAULT, f"{APIM}/apis"]
    )
    assert len(snap["resources"]) == 5
    err = capsys.readouterr().err
    assert "collected 5 resources with" in err


def test_quiet_means_nothing_on_stderr(fake_arm, make_options, capsys):
    fake_arm.serve(small_estate())
    collect_snapshot(make_options(subscriptions=[SUB], quiet=True, progress=True), [VAULT])
    assert capsys.readouterr().err == ""
