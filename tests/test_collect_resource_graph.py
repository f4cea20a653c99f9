"""Listing through Azure Resource Graph: the same inventory as ARM's lists, fewer requests, and
never a shorter inventory when Resource Graph fails, lags behind permissions or runs out of quota.

The real SDK clients (azure-mgmt-resourcegraph among them) talk to the fake ARM over HTTPS.
"""

from __future__ import annotations

import json

import pytest
from fake_arm.arm_json import SUB, resource, small_estate

from prodcheck.collect import collect_snapshot
from prodcheck.collect.resource_graph import (
    FROM_GRAPH,
    ON_ARM,
    build_query,
    quota_reset_seconds,
    readable,
)

pytest_plugins = ["fake_arm.fixtures"]

SUBS = [
    SUB,
    "0b7d9e2c-5a1f-4e3b-8c6d-9f0a1b2c3d4e",
    "3c9e1f2a-7b4d-4e6f-8a1b-5c2d3e4f5a6b",
    "4d0f2a3b-8c5e-4f70-9b2c-6d3e4f5a6b7c",
    "5e1a3b4c-9d6f-4a81-8c3d-7e4f5a6b7c8d",
]
VAULT = "Microsoft.KeyVault/vaults"
NEEDS = [
    VAULT,
    "Microsoft.Storage/storageAccounts",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    "Microsoft.ApiManagement/service/apis/policies",
    "Microsoft.ApiManagement/service/policies",
    "Microsoft.Insights/diagnosticSettings",
    "Microsoft.Consumption/budgets",
]
GRAPH = "/providers/microsoft.resourcegraph/resources"


def estate(subscriptions=SUBS):
    out = []
    for sub in subscriptions:
        out += json.loads(json.dumps(small_estate()).replace(SUB, sub))
    return out


def graph_posts(fake):
    return [r for r in fake.requests if r.method == "POST"]


def arm_lists_of(fake, type_):
    """The ARM lists of a type that were started (their first pages)."""
    suffix = "/providers/" + type_.lower()
    return [
        r
        for r in fake.requests
        if r.method == "GET"
        and r.path.lower().endswith(suffix)
        and "$skiptoken" not in {k.lower() for k in r.query}
    ]


def outcome(snapshot):
    """What the rules see: the resources, and each coverage record's type, scope and status.
    Metric data names the time it was read for: only its id is compared."""
    resources = sorted(
        r["id"]
        if str(r.get("type")).lower() == "microsoft.insights/metrics"
        else json.dumps(r, sort_keys=True)
        for r in snapshot["resources"]
    )
    coverage = sorted(
        (c["resourceType"].lower(), c["scope"].lower(), c["status"], c.get("count"))
        for c in snapshot["coverage"]
    )
    return resources, coverage


def test_many_subscriptions_give_the_same_inventory_as_arm_lists_with_fewer_requests(
    fake_arm, make_options
):
    fake_arm.serve(estate())
    through_arm = collect_snapshot(make_options(subscriptions=SUBS, resource_graph="never"), NEEDS)
    arm_requests = len(fake_arm.requests)
    assert not graph_posts(fake_arm)
    fake_arm.clear()
    through_graph = collect_snapshot(make_options(subscriptions=SUBS), NEEDS)
    assert outcome(through_graph) == outcome(through_arm)
    assert len(graph_posts(fake_arm)) == 1
    assert not arm_lists_of(fake_arm, VAULT)
    assert not arm_lists_of(fake_arm, "Microsoft.Storage/storageAccounts")
    # budgets are not in Resource Graph: still listed through ARM, per subscription
    assert len(arm_lists_of(fake_arm, "Microsoft.Consumption/budgets")) == len(SUBS)
    assert len(fake_arm.requests) < arm_requests
    info = through_graph["scope"]["resourceGraph"]
    assert VAULT in info["types"] and "Microsoft.Consumption/budgets" not in info["types"]
    assert info["scopes"] == len(SUBS)
    assert info["queriedAt"].endswith("Z")
    assert "lag" in info and "fallbacks" not in info


def test_the_query_asks_for_the_types_and_subscriptions_and_pages_of_a_thousand(
    fake_arm, make_options
):
    vaults = [resource(VAULT, f"kv-{i:04d}", sub=s) for s in SUBS for i in range(250)]
    fake_arm.serve(vaults)
    snap = collect_snapshot(make_options(subscriptions=SUBS), [VAULT])
    assert len(snap["resources"]) == 1250
    queries = fake_arm.graph_queries
    assert len(queries) == 2
    assert sorted(queries[0]["subscriptions"]) == sorted(SUBS)
    assert queries[0]["options"]["$top"] == 1000
    assert queries[0]["options"]["resultFormat"] == "objectArray"
    assert "$skipToken" not in queries[0]["options"]
    assert queries[1]["options"]["$skipToken"] == "1000"
    assert "'microsoft.keyvault/vaults'" in queries[0]["query"]
    assert {c["status"] for c in snap["coverage"]} == {"ok"}
    assert sum(c["count"] for c in snap["coverage"]) == 1250


def test_rows_become_arm_bodies(fake_arm, make_options):
    fake_arm.serve(estate())
    snap = collect_snapshot(make_options(subscriptions=SUBS), [VAULT])
    vault = next(r for r in snap["resources"] if r["name"] == "kv-x")
    assert vault["type"] == VAULT  # ARM's spelling, not Resource Graph's lower case
    assert not {"tenantId", "resourceGroup", "subscriptionId"} & set(vault)
    assert not [k for k, v in vault.items() if v is None or v == ""]


def test_one_subscription_reads_through_arm_by_default(fake_arm, make_options):
    fake_arm.serve(estate([SUB]))
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [VAULT])
    assert not graph_posts(fake_arm)
    assert "resourceGraph" not in snap["scope"]
    fake_arm.clear()
    snap = collect_snapshot(make_options(subscriptions=[SUB], resource_graph="always"), [VAULT])
    assert len(graph_posts(fake_arm)) == 1
    assert len(snap["resources"]) == 2


def test_a_tenant_wide_scope_uses_it_by_default(fake_arm, make_options):
    fake_arm.serve(estate(SUBS[:2]))
    snap = collect_snapshot(make_options(all_subscriptions=True), [VAULT])
    assert len(graph_posts(fake_arm)) == 1
    assert len(snap["resources"]) == 4


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 403},
        {"status": 500},
        {"status": 400, "code": "InvalidQuery"},
        {"malformed": True},
        {"body": '{"data": "nope", "totalRecords": 1}'},
        {"body": '{"data": [], "totalRecords": "many"}'},
        {"body": "<html>gateway</html>", "content_type": "text/html"},
    ],
)
def test_a_failed_query_falls_back_to_arm_lists(fault, fake_arm, make_options):
    fake_arm.serve(estate())
    expected = outcome(
        collect_snapshot(make_options(subscriptions=SUBS, resource_graph="never"), NEEDS)
    )
    fake_arm.clear()
    fake_arm.fault("^/providers/Microsoft.ResourceGraph/resources$", **fault)
    snap = collect_snapshot(make_options(subscriptions=SUBS), NEEDS)
    assert graph_posts(fake_arm)
    assert outcome(snap) == expected
    assert len(arm_lists_of(fake_arm, VAULT)) == len(SUBS)
    assert snap["scope"]["resourceGraph"]["fallbacks"]


@pytest.mark.parametrize("flag", ["graph_truncate", "graph_short"])
def test_a_truncated_or_short_result_is_not_a_shorter_inventory(flag, fake_arm, make_options):
    vaults = [resource(VAULT, f"kv-{i:04d}", sub=s) for s in SUBS for i in range(300)]
    fake_arm.serve(vaults)
    setattr(fake_arm, flag, True)
    snap = collect_snapshot(make_options(subscriptions=SUBS), [VAULT])
    assert len(snap["resources"]) == 1500
    assert {c["status"] for c in snap["coverage"]} == {"ok"}
    assert len(arm_lists_of(fake_arm, VAULT)) == len(SUBS)
    assert "incomplete" in " ".join(snap["scope"]["resourceGraph"]["fallbacks"]) or (
        "truncated" in " ".join(snap["scope"]["resourceGraph"]["fallbacks"])
    )


def test_a_type_the_identity_cannot_read_at_the_scope_is_listed_through_arm(fake_arm, make_options):
    """Resource Graph silently leaves out what the identity cannot read; ARM's list says 403."""
    fake_arm.serve(estate())
    denied, group_only = SUBS[2], SUBS[3]
    fake_arm.permissions[f"/subscriptions/{denied}"] = [
        {"actions": ["*/read"], "notActions": ["Microsoft.KeyVault/*"]}
    ]
    # Reader on one group only: Resource Graph shows that group's vaults, ARM's list is a 403
    fake_arm.permissions[f"/subscriptions/{group_only}"] = [{"actions": [], "notActions": []}]
    fake_arm.permissions[f"/subscriptions/{group_only}/resourcegroups/rg-app"] = [
        {"actions": ["*/read"], "notActions": []}
    ]
    for sub in (denied, group_only):
        fake_arm.fault(f"^/subscriptions/{sub}/providers/Microsoft.KeyVault/vaults$", status=403)
    snap = collect_snapshot(make_options(subscriptions=SUBS), [VAULT])
    by_scope = {c["scope"].split("/")[2]: c for c in snap["coverage"]}
    assert {s for s, c in by_scope.items() if c["status"] == "failed"} == {denied, group_only}
    assert {by_scope[s]["statusCode"] for s in (denied, group_only)} == {403}
    assert all(by_scope[s]["count"] == 2 for s in SUBS if s not in (denied, group_only))
    assert sorted(r.path.split("/")[2] for r in arm_lists_of(fake_arm, VAULT)) == sorted(
        [denied, group_only]
    )


def test_a_scope_whose_permissions_cannot_be_read_is_listed_through_arm(fake_arm, make_options):
    fake_arm.serve(estate())
    fake_arm.fault(
        f"^/subscriptions/{SUBS[1]}/providers/Microsoft.Authorization/permissions$", status=403
    )
    snap = collect_snapshot(make_options(subscriptions=SUBS), [VAULT])
    assert {c["status"] for c in snap["coverage"]} == {"ok"}
    assert len(snap["resources"]) == 2 * len(SUBS)
    lists = arm_lists_of(fake_arm, VAULT)
    assert [r.path.split("/")[2] for r in lists] == [SUBS[1]]
    assert SUBS[1] not in graph_posts(fake_arm)[0].body.decode()


def test_a_conditional_permission_grants_nothing():
    assert readable([{"actions": ["*/read"], "notActions": []}], VAULT)
    assert not readable([{"actions": ["*/read"], "condition": "@Resource[x] == 'y'"}], VAULT)
    assert not readable([{"actions": ["Microsoft.Network/*"], "notActions": []}], VAULT)
    assert not readable([{"actions": ["*"], "notActions": ["*/read"]}], VAULT)
    assert not readable("everything", VAULT)


def test_resource_groups_are_queried_by_group_and_a_missing_group_fails_through_arm(
    fake_arm, make_options
):
    fake_arm.serve(estate())
    snap = collect_snapshot(
        make_options(subscriptions=SUBS, resource_groups=["rg-app", "rg-nope"]), [VAULT]
    )
    assert "resourceGroup in~ ('rg-app')" in fake_arm.graph_queries[0]["query"]
    assert sorted(r["name"] for r in snap["resources"]) == ["kv-x"] * len(SUBS)
    failed = {
        c["scope"].split("/")[-1]: c["errorCode"] for c in snap["coverage"] if c["status"] != "ok"
    }
    assert failed == {"rg-nope": "ResourceGroupNotFound"}


def test_the_quota_is_waited_for_when_used_up(fake_arm, make_options):
    vaults = [resource(VAULT, f"kv-{i:04d}", sub=s) for s in SUBS for i in range(500)]
    fake_arm.serve(vaults)
    fake_arm.graph_quota, fake_arm.graph_window = 1, 1.0
    snap = collect_snapshot(make_options(subscriptions=SUBS), [VAULT])
    assert len(fake_arm.graph_queries) == 3
    assert len(snap["resources"]) == 2500
    assert not arm_lists_of(fake_arm, VAULT)
    assert "fallbacks" not in snap["scope"]["resourceGraph"]


def test_a_query_throttled_by_quota_spent_elsewhere_is_retried_after_the_reset(
    fake_arm, make_options
):
    # Another process or tool sharing the identity spent the quota: this process's own count
    # still says some is left, and Resource Graph answers 429 (no Retry-After, the reset only).
    fake_arm.serve(estate())
    fake_arm.fault(
        "^/providers/Microsoft.ResourceGraph/resources$",
        status=429,
        code="RateLimiting",
        times=1,
        headers={"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:00:01"},
    )
    snap = collect_snapshot(make_options(subscriptions=SUBS), [VAULT])
    assert "fallbacks" not in snap["scope"]["resourceGraph"]
    assert not arm_lists_of(fake_arm, VAULT)
    posts = [r for r in fake_arm.requests if r.method == "POST"]
    assert len(posts) == 2
    assert posts[1].at - posts[0].at >= 0.9
    assert {c["status"] for c in snap["coverage"]} == {"ok"}


def test_a_quota_wait_beyond_the_bound_falls_back_to_arm(fake_arm, make_options):
    vaults = [resource(VAULT, f"kv-{i:04d}", sub=s) for s in SUBS for i in range(500)]
    fake_arm.serve(vaults)
    fake_arm.graph_quota, fake_arm.graph_window = 1, 30.0
    snap = collect_snapshot(make_options(subscriptions=SUBS, max_retry_after=2.0), [VAULT])
    assert len(snap["resources"]) == 2500
    assert {c["status"] for c in snap["coverage"]} == {"ok"}
    assert len(arm_lists_of(fake_arm, VAULT)) == len(SUBS)
    assert "quota" in " ".join(snap["scope"]["resourceGraph"]["fallbacks"])


def test_a_query_still_open_at_the_deadline_leaves_its_types_failed(fake_arm, make_options):
    fake_arm.serve(estate())
    fake_arm.fault("^/providers/Microsoft.ResourceGraph/resources$", hang=True)
    snap = collect_snapshot(
        make_options(subscriptions=SUBS, deadline=1.5, timeout=10.0),
        [VAULT, "Microsoft.Consumption/budgets"],
    )
    vaults = [c for c in snap["coverage"] if c["resourceType"] == VAULT]
    assert len(vaults) == len(SUBS)
    assert {c["status"] for c in vaults} == {"failed"}
    assert {c["errorCode"] for c in vaults} == {"DeadlineExceeded"}


def test_the_query_shape_names_only_types_and_groups():
    query = build_query([VAULT, "Microsoft.Storage/storageAccounts"], ["rg-a"])
    assert query.splitlines()[0] == "Resources"
    assert "microsoft.keyvault/vaults" in query and "rg-a" in query
    assert query.splitlines()[-1] == "| order by name asc, id asc"


def test_the_type_table_names_each_type_once():
    assert not {t.lower() for t in FROM_GRAPH} & {t.lower() for t in ON_ARM}
    assert all(t.count("/") == 1 for t in FROM_GRAPH)


@pytest.mark.parametrize(
    "text, seconds",
    [("00:00:03", 3.0), ("00:01:00", 60.0), ("1.00:00:00", 86400.0), ("soon", None), (None, None)],
)
def test_quota_reset_is_read_as_hh_mm_ss(text, seconds):
    assert quota_reset_seconds(text) == seconds


# --------------------------------------------------------------------------- read-only


@pytest.mark.parametrize(
    "method, path",
    [
        (
            "POST",
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/listKeys",
        ),
        (
            "POST",
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app/restart",
        ),
        ("POST", "/providers/Microsoft.ResourceGraph/resourceChanges"),
        ("POST", "/providers/Microsoft.ResourceGraph/resources/more"),
        ("POST", f"/subscriptions/{SUB}/providers/Microsoft.ResourceGraph/resources"),
        ("POST", "/batch"),
        ("PUT", "/providers/Microsoft.ResourceGraph/resources"),
        (
            "PUT",
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ResourceGraph/queries/q",
        ),
        ("DELETE", f"/subscriptions/{SUB}/resourceGroups/rg"),
        ("PATCH", f"/subscriptions/{SUB}/resourceGroups/rg"),
    ],
)
def test_the_guard_lets_the_query_post_through_and_no_other(method, path, fake_arm, make_options):
    from azure.core.rest import HttpRequest

    from prodcheck.collect.clients import Clients, ReadOnlyViolation, RequestStats
    from prodcheck.collect.engine import _send
    from prodcheck.collect.limiter import RateLimiter

    options = make_options(subscriptions=[SUB])
    clients = Clients(
        options.credential, options.resolved_cloud(), options, RateLimiter(0, 250), RequestStats()
    )
    try:
        for client in (clients.get("resources", SUB), clients.graph()):
            with pytest.raises(ReadOnlyViolation):
                _send(client, HttpRequest(method, path, params={"api-version": "2021-03-01"}))
        assert not fake_arm.requests
        answer = _send(
            clients.graph(),
            HttpRequest(
                "POST",
                "/providers/Microsoft.ResourceGraph/resources",
                params={"api-version": "2021-03-01"},
                json={"subscriptions": [SUB], "query": "Resources"},
            ),
        )
        assert answer.status_code == 200
        assert [r.method for r in fake_arm.requests] == ["POST"]
    finally:
        clients.close()


# --------------------------------------------------------------------------- command line


def _cli(args, fake_arm, tmp_path, monkeypatch, capsys):
    from prodcheck.cli import main

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake_arm.ca_path(tmp_path))
    base = ["--arm-endpoint", fake_arm.base_url, "--auth", "cli", "-q", "--rule", "PC-KV-*"]
    with pytest.raises(SystemExit) as exited:
        main(args + base)
    return exited.value.code or 0, capsys.readouterr()


def test_cli_resource_graph_never_reads_only_arm(fake_arm, fake_az, tmp_path, monkeypatch, capsys):
    fake_arm.serve(estate())
    out = tmp_path / "snap.json"
    args = ["snapshot", "-o", str(out), "--all-subscriptions", "--resource-graph", "never"]
    code, _ = _cli(args, fake_arm, tmp_path, monkeypatch, capsys)
    assert code == 0
    assert not graph_posts(fake_arm)
    assert "resourceGraph" not in json.loads(out.read_text())["scope"]


def test_cli_refuses_an_unknown_resource_graph_mode(
    fake_arm, fake_az, tmp_path, monkeypatch, capsys
):
    args = ["snapshot", "-o", str(tmp_path / "s.json"), "--all-subscriptions"]
    code, streams = _cli(
        args + ["--resource-graph", "sometimes"], fake_arm, tmp_path, monkeypatch, capsys
    )
    assert code == 2
    assert "auto, always or never" in streams.err
    assert not fake_arm.requests


def test_the_report_says_the_listing_came_from_resource_graph_and_may_lag(
    fake_arm, fake_az, tmp_path, monkeypatch, capsys
):
    fake_arm.serve(estate())
    report = tmp_path / "report.json"
    args = ["audit", "--all-subscriptions", "-f", "json", "-f", "terminal", "-o", str(report)]
    code, streams = _cli(args, fake_arm, tmp_path, monkeypatch, capsys)
    assert code in (0, 1), streams.err
    doc = json.loads(report.read_text())
    scope = doc["scope"]
    assert VAULT in scope["resourceGraph"]["types"]
    assert "lag" in scope["resourceGraph"]
    from prodcheck.report import Report
    from prodcheck.reporters import RenderOptions, html, terminal

    again = Report.from_json(doc)
    for render in (terminal.render, html.render):
        shown = render(again, RenderOptions(width=400))
        assert "listed through Azure Resource Graph" in shown
        assert "can lag Resource Manager" in shown


def test_the_configuration_chooses_the_listing(fake_arm, fake_az, tmp_path, monkeypatch, capsys):
    fake_arm.serve(estate())
    config = tmp_path / "prodcheck.yaml"
    config.write_text("version: 1\nscope:\n  all_subscriptions: true\n  resource_graph: never\n")
    args = ["audit", "--config", str(config), "-f", "json", "-o", str(tmp_path / "r.json")]
    code, streams = _cli(args, fake_arm, tmp_path, monkeypatch, capsys)
    assert code in (0, 1), streams.err
    assert not graph_posts(fake_arm)
    config.write_text("version: 1\nscope:\n  resource_graph: sometimes\n")
    code, streams = _cli(args, fake_arm, tmp_path, monkeypatch, capsys)
    assert code == 2
    assert "resource_graph" in streams.err


def test_every_type_the_rules_read_gives_the_same_snapshot_either_way(fake_arm, make_options):
    """The benchmark's synthetic subscription, everything the rule pack reads."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from generate import SUBSCRIPTION, generate

    from prodcheck import api

    fake_arm.serve(generate(300))
    wanted = api.needs_of(api.select_rules())
    through_arm = collect_snapshot(
        make_options(subscriptions=[SUBSCRIPTION], resource_graph="never"), wanted
    )
    through_graph = collect_snapshot(
        make_options(subscriptions=[SUBSCRIPTION], resource_graph="always"), wanted
    )
    assert outcome(through_graph) == outcome(through_arm)
    assert len(through_graph["scope"]["resourceGraph"]["types"]) >= 10
