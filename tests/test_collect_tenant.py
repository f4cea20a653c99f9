"""Tenant-wide live audits: every readable subscription, or a management group's, read in turns."""

from __future__ import annotations

import json

import pytest
from fake_arm.arm_json import SUB, SUB2, resource

from prodcheck.cli import main
from prodcheck.collect import collect_snapshot
from prodcheck.errors import UserError

pytest_plugins = ["fake_arm.fixtures"]

VAULT = "Microsoft.KeyVault/vaults"
SUB3 = "3c9e1f2a-7b4d-4e6f-8a1b-5c2d3e4f5a6b"


def estate():
    return [resource(VAULT, f"kv-{i}", sub=s) for i, s in enumerate([SUB, SUB2, SUB3])]


def vault_subscriptions(snapshot):
    return sorted(r["id"].split("/")[2] for r in snapshot["resources"])


def test_all_subscriptions_reads_every_readable_one_but_the_excluded(fake_arm, make_options):
    fake_arm.serve(estate())
    snap = collect_snapshot(
        make_options(all_subscriptions=True, exclude_subscriptions=[SUB2]), [VAULT]
    )
    assert vault_subscriptions(snap) == sorted([SUB, SUB3])
    assert snap["scope"]["subscriptions"] == sorted([SUB, SUB3])
    assert {c["scope"] for c in snap["coverage"]} == {
        f"/subscriptions/{SUB}",
        f"/subscriptions/{SUB3}",
    }
    assert not any(SUB2 in r.path for r in fake_arm.requests)


def test_subscriptions_that_are_off_are_left_out(fake_arm, make_options, capsys):
    fake_arm.serve(estate())
    fake_arm.subscription_states[SUB3] = "Disabled"
    snap = collect_snapshot(make_options(all_subscriptions=True), [VAULT])
    assert vault_subscriptions(snap) == sorted([SUB, SUB2])
    assert "Disabled" in capsys.readouterr().err


def test_a_management_group_reads_its_descendant_subscriptions(fake_arm, make_options):
    fake_arm.serve(estate())
    fake_arm.management_groups = {"mg-prod": [SUB, "mg-child"], "mg-child": [SUB3]}
    snap = collect_snapshot(make_options(management_group="mg-prod"), [VAULT])
    assert vault_subscriptions(snap) == sorted([SUB, SUB3])
    assert any(
        r.path.lower().endswith("/managementgroups/mg-prod/descendants") for r in fake_arm.requests
    )


@pytest.mark.parametrize(
    "fault, words",
    [
        ({"status": 403}, "could not list the subscriptions of the tenant"),
        ({"next_link": "loop"}, "same nextLink"),
    ],
)
def test_a_tenant_listing_that_fails_is_a_user_error(fault, words, fake_arm, make_options):
    fake_arm.serve(estate())
    fake_arm.fault(r"^/subscriptions$", **fault)
    with pytest.raises(UserError, match=words):
        collect_snapshot(make_options(all_subscriptions=True), [VAULT])


def test_an_unknown_management_group_is_a_user_error(fake_arm, make_options):
    fake_arm.serve(estate())
    with pytest.raises(UserError, match="management group mg-nope"):
        collect_snapshot(make_options(management_group="mg-nope"), [VAULT])


@pytest.mark.parametrize(
    "overrides",
    [
        {"all_subscriptions": True, "subscriptions": [SUB]},
        {"all_subscriptions": True, "management_group": "mg"},
        {"exclude_subscriptions": [SUB]},
        {"all_subscriptions": True, "exclude_subscriptions": ["not-a-guid"]},
        {"management_group": "mg/../x"},
    ],
)
def test_contradictory_or_malformed_tenant_options_are_user_errors(overrides, make_options):
    with pytest.raises(UserError):
        collect_snapshot(make_options(**overrides), [VAULT])


def test_subscriptions_take_turns(fake_arm, make_options):
    """One worker, three subscriptions: their lists interleave, none waits for another's end."""
    fake_arm.serve(estate())
    types = [VAULT, "Microsoft.Network/privateEndpoints", "Microsoft.Storage/storageAccounts"]
    collect_snapshot(
        make_options(all_subscriptions=True, concurrency=1, resource_graph="never"), types
    )
    order = [r.path.split("/")[2] for r in fake_arm.requests if r.path.count("/") >= 4]
    assert len(order) == 9
    assert [len(set(order[i : i + 3])) for i in range(0, 9, 3)] == [3, 3, 3]


def test_cli_audits_all_subscriptions_but_the_excluded(
    fake_arm, fake_az, tmp_path, monkeypatch, capsys
):
    fake_arm.serve(estate())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake_arm.ca_path(tmp_path))
    out = tmp_path / "snap.json"
    args = ["snapshot", "-o", str(out), "--arm-endpoint", fake_arm.base_url, "--auth", "cli"]
    args += ["-q", "--all-subscriptions", "--exclude-subscription", SUB3, "--rule", "PC-KV-*"]
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code in (0, None), capsys.readouterr().err
    snap = json.loads(out.read_text())
    assert snap["scope"]["subscriptions"] == sorted([SUB, SUB2])
    assert vault_subscriptions(snap) == sorted([SUB, SUB2])


def test_the_configuration_file_names_a_management_group_and_exclusions(
    fake_arm, fake_az, tmp_path, monkeypatch, capsys
):
    fake_arm.serve(estate())
    fake_arm.management_groups = {"mg-prod": [SUB, SUB2, SUB3]}
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake_arm.ca_path(tmp_path))
    config = tmp_path / "prodcheck.yaml"
    config.write_text(
        f"version: 1\nscope:\n  management_group: mg-prod\n  exclude_subscriptions: [{SUB2}]\n"
    )
    out = tmp_path / "report.json"
    args = ["audit", "--config", str(config), "--arm-endpoint", fake_arm.base_url, "--auth"]
    args += ["cli", "-q", "--rule", "PC-KV-*", "-f", "json", "-o", str(out)]
    with pytest.raises(SystemExit):
        main(args)
    capsys.readouterr()
    assert json.loads(out.read_text())["scope"]["subscriptions"] == sorted([SUB, SUB3])


def test_a_configuration_all_subscriptions_that_is_not_a_flag_is_exit_2(tmp_path, capsys):
    config = tmp_path / "prodcheck.yaml"
    config.write_text("version: 1\nscope:\n  all_subscriptions: everything\n")
    with pytest.raises(SystemExit) as exited:
        main(["audit", "--config", str(config), "--demo", "flat"])
    assert exited.value.code == 2
    assert "all_subscriptions" in capsys.readouterr().err


def test_progress_counts_each_subscription_done_once(fake_arm, make_options, monkeypatch):
    from prodcheck.collect.progress import Progress

    seen = {"total": 0, "done": 0}
    monkeypatch.setattr(Progress, "subscriptions", lambda self, n: seen.update(total=n))
    monkeypatch.setattr(
        Progress, "subscription_done", lambda self: seen.update(done=seen["done"] + 1)
    )
    fake_arm.serve(estate())
    collect_snapshot(
        make_options(all_subscriptions=True), [VAULT, "Microsoft.ApiManagement/service/apis"]
    )
    assert seen == {"total": 3, "done": 3}


VAULT_DIAGNOSTICS = f"{VAULT}/providers/Microsoft.Insights/diagnosticSettings"


def lopsided_estate(big: int = 120, small: int = 3):
    """One subscription of `big` vaults and two of `small`: a read per vault's settings."""
    return [resource(VAULT, f"kv-big-{i}", sub=SUB) for i in range(big)] + [
        resource(VAULT, f"kv-{s[:4]}-{i}", sub=s) for s in (SUB2, SUB3) for i in range(small)
    ]


def finished_at(fake_arm, subscription):
    return max(r.at for r in fake_arm.requests if r.subscription == subscription)


def big_reads(fake_arm):
    return sorted(r.at for r in fake_arm.requests if r.subscription == SUB)


@pytest.mark.parametrize("pacing", [False, True], ids=["unpaced", "paced"])
def test_a_large_subscription_does_not_starve_the_small_ones(pacing, fake_arm, make_options):
    """The small subscriptions are done while the large one has read under a third of its
    share, whether its bucket is full or drained (then its workers go to the others)."""
    fake_arm.latency = 0.01
    fake_arm.serve(lopsided_estate())
    options = make_options(
        subscriptions=[SUB, SUB2, SUB3],
        concurrency=4,
        subscription_concurrency=2,
        rate_limit=60.0 if pacing else 0,
        rate_burst=5,
    )
    snap = collect_snapshot(options, [VAULT_DIAGNOSTICS])
    assert len(snap["resources"]) == 126
    assert all(c["status"] == "ok" for c in snap["coverage"])
    big = big_reads(fake_arm)
    assert len(big) > 120
    third = big[len(big) // 3]
    assert finished_at(fake_arm, SUB2) < third
    assert finished_at(fake_arm, SUB3) < third


def test_a_refill_wakes_one_free_worker_not_every_one(fake_arm, make_options, monkeypatch):
    """With the bucket drained, free workers wait; each refill lets one request go, and the
    scheduler looks at the buckets a few times per request, not once per waiting worker."""
    from prodcheck.collect.limiter import RateLimiter

    looks = []
    choose = RateLimiter.choose

    def counted(self, candidates):
        looks.append(1)
        return choose(self, candidates)

    monkeypatch.setattr(RateLimiter, "choose", counted)
    fake_arm.serve([resource(VAULT, f"kv-{i:02d}") for i in range(40)])
    options = make_options(
        subscriptions=[SUB],
        concurrency=16,
        subscription_concurrency=16,
        rate_limit=50.0,
        rate_burst=1,
    )
    snap = collect_snapshot(options, [VAULT_DIAGNOSTICS])
    assert len(snap["resources"]) == 40
    requests = len(fake_arm.requests)
    assert requests > 40
    assert len(looks) < 6 * requests


def test_no_subscription_has_more_than_its_cap_in_flight(fake_arm, make_options):
    fake_arm.latency = 0.02
    fake_arm.serve(lopsided_estate(big=60, small=30))
    options = make_options(
        subscriptions=[SUB, SUB2, SUB3], concurrency=6, subscription_concurrency=2
    )
    collect_snapshot(options, [VAULT_DIAGNOSTICS])
    peaks = {s: fake_arm.peak_in_flight.get(s, 0) for s in (SUB, SUB2, SUB3)}
    assert max(peaks.values()) == 2, peaks  # reached, never passed
    assert sum(1 for r in fake_arm.requests if r.concurrent > 2 and r.subscription) == 0


def test_several_subscriptions_share_the_global_cap_half_each_by_default(fake_arm, make_options):
    fake_arm.latency = 0.02
    fake_arm.serve(lopsided_estate(big=60, small=30))
    collect_snapshot(
        make_options(subscriptions=[SUB, SUB2, SUB3], concurrency=6), [VAULT_DIAGNOSTICS]
    )
    assert max(fake_arm.peak_in_flight[s] for s in (SUB, SUB2, SUB3)) <= 3


def test_one_subscription_may_use_the_whole_global_cap(fake_arm, make_options):
    fake_arm.latency = 0.02
    fake_arm.serve(lopsided_estate(big=60, small=0))
    collect_snapshot(make_options(subscriptions=[SUB], concurrency=6), [VAULT_DIAGNOSTICS])
    assert 3 < fake_arm.peak_in_flight[SUB] <= 6  # more than half of the cap: it is all its own


def test_a_subscription_cap_above_the_global_one_is_the_global_one(fake_arm, make_options):
    fake_arm.latency = 0.02
    fake_arm.serve(lopsided_estate(big=60, small=0))
    options = make_options(subscriptions=[SUB], concurrency=3, subscription_concurrency=10)
    collect_snapshot(options, [VAULT_DIAGNOSTICS])
    assert fake_arm.peak_in_flight[SUB] <= 3


def test_a_tenant_audit_judges_each_subscription_and_names_where_a_read_failed(
    fake_arm, make_options
):
    """End to end through the fake ARM: a vault in one subscription does not make another one's
    'Key Vault in scope' pass, and a refused listing is named by its subscription."""
    from prodcheck.api import audit_live
    from prodcheck.report import finding_to_json

    fake_arm.serve(
        [
            resource(VAULT, "kv-one", sub=SUB),
            resource("Microsoft.App/containerApps", "app", sub=SUB2),
            resource(VAULT, "kv-two", sub=SUB3),
        ]
    )
    fake_arm.fault(rf"^/subscriptions/{SUB3}/providers/Microsoft.KeyVault/vaults$", status=403)
    # ARM's lists: the refusal is injected on the vault list of SUB3
    options = make_options(all_subscriptions=True, resource_graph="never")
    report = audit_live(options, rules=["PC-KV-001"])
    about_scope = {
        f.resource_id: f.status.value
        for f in report.findings
        if f.resource_type == "scope" and not f.subject
    }
    assert about_scope == {
        f"/subscriptions/{SUB}": "PASS",
        f"/subscriptions/{SUB2}": "FAIL",
        f"/subscriptions/{SUB3}": "ERROR",
    }
    (gap,) = [f for f in report.findings if f.subject == f"coverage of {VAULT}"]
    assert finding_to_json(gap)["subscriptionId"] == SUB3
    assert SUB3 in gap.message
    assert [g.scope for g in report.coverage_gaps if g.resource_type == VAULT] == [
        f"/subscriptions/{SUB3}"
    ]


def test_a_netrc_entry_for_the_endpoint_does_not_replace_the_token(
    fake_arm, make_options, tmp_path, monkeypatch
):
    """The HTTP session never reads ~/.netrc: its Basic credentials would replace the bearer
    token (the fake refuses a request without one)."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password not-a-token\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    fake_arm.serve(estate())
    snap = collect_snapshot(make_options(subscriptions=[SUB, SUB2]), [VAULT])
    assert all(c["status"] == "ok" for c in snap["coverage"]), snap["coverage"]
    assert vault_subscriptions(snap) == sorted([SUB, SUB2])


def test_threads_switch_less_often_while_collecting_and_as_before_once_done(
    fake_arm, make_options, monkeypatch
):
    import sys

    from prodcheck.collect import engine

    seen = []
    real = engine.Run._run

    def spy(self, fill):
        seen.append(sys.getswitchinterval())
        if len(seen) == 2:
            raise RuntimeError("a run that breaks")
        return real(self, fill)

    monkeypatch.setattr(engine.Run, "_run", spy)
    before = sys.getswitchinterval()
    assert before < engine.SWITCH_INTERVAL
    fake_arm.serve([resource(VAULT, "kv-a")])
    snapshot = collect_snapshot(make_options(subscriptions=[SUB]), [VAULT])
    assert [r["name"] for r in snapshot["resources"]] == ["kv-a"]
    assert seen == [pytest.approx(engine.SWITCH_INTERVAL)]
    assert sys.getswitchinterval() == before
    with pytest.raises(RuntimeError):
        collect_snapshot(make_options(subscriptions=[SUB]), [VAULT])
    assert sys.getswitchinterval() == before
