"""The fake ARM itself: the paths, pages, faults and log the collection tests rely on."""

from __future__ import annotations

import time

import requests
from fake_arm.arm_json import SUB, apim_policy, resource, small_estate

pytest_plugins = ["fake_arm.fixtures"]

AUTH = {"Authorization": "Bearer fake-token"}


def get(fake, path, tmp_path, headers=AUTH, **params):
    return requests.get(
        fake.base_url + path,
        params={"api-version": "2024-01-01", **params},
        headers=headers,
        verify=fake.ca_path(tmp_path),
        timeout=5,
    )


def test_lists_pages_with_absolute_next_links(fake_arm, tmp_path):
    fake_arm.page_size = 2
    fake_arm.serve([resource("Microsoft.KeyVault/vaults", f"kv{i}") for i in range(3)])
    first = get(
        fake_arm, f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/vaults", tmp_path
    ).json()
    assert [v["name"] for v in first["value"]] == ["kv0", "kv1"]
    assert first["nextLink"].startswith(fake_arm.base_url + "/subscriptions/")
    second = requests.get(
        first["nextLink"], headers=AUTH, verify=fake_arm.ca_path(tmp_path), timeout=5
    )
    assert [v["name"] for v in second.json()["value"]] == ["kv2"]
    assert "nextLink" not in second.json()


def test_get_by_id_child_lists_and_policy_formats(fake_arm, tmp_path):
    estate = small_estate()
    fake_arm.serve(estate)
    apim_id = estate[0]["id"]
    assert get(fake_arm, apim_id, tmp_path).json() == estate[0]
    apis = get(fake_arm, apim_id + "/apis", tmp_path).json()["value"]
    assert sorted(a["name"] for a in apis) == ["echo", "openai"]
    raw = get(fake_arm, apim_id + "/policies/policy", tmp_path, format="rawxml").json()
    assert raw["properties"]["format"] == "rawxml"
    xml = get(fake_arm, apim_id + "/policies/policy", tmp_path, format="xml").json()
    assert xml == apim_policy(estate[0])
    missing = get(fake_arm, apim_id + "/apis/nope", tmp_path)
    assert missing.status_code == 404
    assert get(fake_arm, apim_id.replace("apim-x", "nope") + "/apis", tmp_path).status_code == 404


def test_resource_group_lists_and_missing_groups(fake_arm, tmp_path):
    fake_arm.serve(small_estate())
    base = f"/subscriptions/{SUB}/resourceGroups"
    ok = get(fake_arm, f"{base}/rg-dev/providers/Microsoft.KeyVault/vaults", tmp_path).json()
    assert [v["name"] for v in ok["value"]] == ["kv-dev"]
    gone = get(fake_arm, f"{base}/rg-gone/providers/Microsoft.KeyVault/vaults", tmp_path)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "ResourceGroupNotFound")


def test_generic_resources_api_and_providers(fake_arm, tmp_path):
    fake_arm.serve(small_estate())
    listed = get(
        fake_arm,
        f"/subscriptions/{SUB}/resources",
        tmp_path,
        **{"$filter": "resourceType eq 'Microsoft.KeyVault/vaults'"},
    ).json()["value"]
    assert sorted(r["name"] for r in listed) == ["kv-dev", "kv-x"]
    assert all("properties" not in r for r in listed)
    provider = get(
        fake_arm, f"/subscriptions/{SUB}/providers/Microsoft.ApiManagement", tmp_path
    ).json()
    assert {t["resourceType"] for t in provider["resourceTypes"]} >= {"service", "service/apis"}


def test_token_is_required_and_only_reads_are_answered(fake_arm, tmp_path):
    fake_arm.serve(small_estate())
    path = f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/vaults"
    assert get(fake_arm, path, tmp_path, headers={}).status_code == 401
    posted = requests.post(
        fake_arm.base_url + path + "/x/listKeys",
        headers=AUTH,
        verify=fake_arm.ca_path(tmp_path),
        timeout=5,
    )
    assert posted.status_code == 405
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in fake_arm.requests] == [
        ("GET", "vaults"),
        ("POST", "listKeys"),
    ]


def test_faults(fake_arm, tmp_path):
    fake_arm.serve(small_estate())
    path = f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/vaults"
    fake_arm.fault("vaults$", status=403, times=1)
    denied = get(fake_arm, path, tmp_path)
    assert denied.status_code == 403
    error = denied.json()["error"]
    assert error["code"] == "AuthorizationFailed"
    assert "'Microsoft.KeyVault/vaults/read'" in error["message"]
    assert get(fake_arm, path, tmp_path).status_code == 200  # times=1: once only

    fake_arm.fault("vaults$", status=429, retry_after=3, times=1)
    throttled = get(fake_arm, path, tmp_path)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "3")

    fake_arm.fault("vaults$", malformed=True, times=1)
    assert get(fake_arm, path, tmp_path).status_code == 200  # but the body is not JSON
    fake_arm.fault("vaults$", latency=0.3, times=1)
    started = time.monotonic()
    get(fake_arm, path, tmp_path)
    assert time.monotonic() - started >= 0.3
    assert len(fake_arm.duplicates()) == 4


def graph(fake, tmp_path, query, subscriptions, **options):
    return requests.post(
        fake.base_url + "/providers/Microsoft.ResourceGraph/resources",
        params={"api-version": "2022-10-01"},
        json={"subscriptions": subscriptions, "query": query, "options": options},
        headers=AUTH,
        verify=fake.ca_path(tmp_path),
        timeout=5,
    )


def test_resource_graph_rows_follow_the_query_order_and_the_permissions_of_the_moment(
    fake_arm, tmp_path
):
    other = "0b7d9e2c-5a1f-4e3b-8c6d-9f0a1b2c3d4e"
    vault = "Microsoft.KeyVault/vaults"
    fake_arm.serve([resource(vault, f"kv{i}", sub=s) for s in (SUB, other) for i in range(3)])
    base = "Resources\n| where type in~ ('microsoft.keyvault/vaults')\n"

    def rows(order, **options):
        answer = graph(fake_arm, tmp_path, base + order, [SUB, other], **options)
        assert answer.status_code == 200
        return [(r["name"], r["subscriptionId"]) for r in answer.json()["data"]]

    by_id = rows("| order by id asc")
    assert [sub for _, sub in by_id] == sorted([SUB, other] * 3)
    by_name = rows("| order by name asc, id asc")
    assert by_name == sorted(by_id)  # each name in both subscriptions, one after the other
    assert rows("| order by name asc, id asc", **{"$top": 2, "$skipToken": "2"}) == by_name[2:4]
    # A grant taken away is seen at the next query, though the rows were worked out before.
    fake_arm.permissions[f"/subscriptions/{other}"] = [{"actions": [], "notActions": []}]
    assert {sub for _, sub in rows("| order by name asc, id asc")} == {SUB}
    refused = graph(fake_arm, tmp_path, base + "| order by name desc", [SUB])
    assert refused.status_code == 400
