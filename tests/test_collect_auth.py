"""Credentials, clouds, endpoints and options of a live collection; the rate limiter."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError
from fake_arm.arm_json import SUB, resource
from fake_arm.credential import FakeCredential
from hypothesis import given, settings
from hypothesis import strategies as st

from prodcheck.collect import collect_snapshot
from prodcheck.collect.auth import build_credential
from prodcheck.collect.limiter import RateLimiter, retry_after_seconds
from prodcheck.collect.options import CollectOptions
from prodcheck.errors import UserError

pytest_plugins = ["fake_arm.fixtures"]

VAULT = "Microsoft.KeyVault/vaults"


def test_the_token_is_fetched_once_for_the_whole_collection(
    fake_arm, make_options, fake_credential
):
    fake_arm.serve([resource(VAULT, f"kv{i}") for i in range(5)])
    needs = [VAULT, "Microsoft.Insights/diagnosticSettings", "Microsoft.Network/privateEndpoints"]
    collect_snapshot(make_options(subscriptions=[SUB], concurrency=8), needs)
    assert fake_credential.calls == 1
    # a custom endpoint's token scope is derived from it
    assert fake_credential.scopes == (f"{fake_arm.base_url}/.default",)


def test_an_injected_credential_that_fails_is_a_user_error(fake_arm, make_options):
    options = make_options(
        subscriptions=[SUB],
        credential=FakeCredential(
            fail=ClientAuthenticationError("AADSTS7000215: Invalid client secret.")
        ),
    )
    with pytest.raises(UserError) as info:
        collect_snapshot(options, [VAULT])
    message = str(info.value)
    assert "\n" not in message
    assert "AADSTS7000215" in message
    assert fake_arm.requests == []  # nothing was sent without a token


def test_azure_cli_credential_through_a_fake_az(fake_arm, make_options, fake_az):
    fake_arm.serve([resource(VAULT, "kv")])
    options = make_options(subscriptions=[SUB], credential=None, auth="cli")
    snap = collect_snapshot(options, [VAULT])
    assert [r["name"] for r in snap["resources"]] == ["kv"]
    token_calls = [c for c in fake_az() if c[:2] == ["account", "get-access-token"]]
    assert len(token_calls) == 1
    assert token_calls[0][-2:] == ["--resource", fake_arm.base_url]


def test_azure_cli_logged_out_says_to_run_az_login(fake_arm, make_options, fake_az, monkeypatch):
    monkeypatch.setenv("FAKE_AZ_LOGGED_OUT", "1")
    options = make_options(subscriptions=[SUB], credential=None, auth="cli")
    with pytest.raises(UserError) as info:
        collect_snapshot(options, [VAULT])
    message = str(info.value)
    assert "Azure CLI credential" in message and "az login" in message
    assert "\n" not in message


def test_no_subscription_uses_the_cli_default_and_says_so(fake_arm, make_options, fake_az, capsys):
    fake_arm.serve([resource(VAULT, "kv")])
    snap = collect_snapshot(make_options(subscriptions=[]), [VAULT])
    assert snap["scope"]["subscriptions"] == [SUB]
    err = capsys.readouterr().err
    assert "Azure CLI's default subscription Contoso Prod" in err and SUB in err


def test_no_subscription_and_no_cli_is_a_user_error(make_options, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match="--subscription"):
        collect_snapshot(make_options(subscriptions=[]), [VAULT])


def test_environment_credential_without_variables_names_them(fake_arm, make_options):
    options = make_options(subscriptions=[SUB], credential=None, auth="env")
    with pytest.raises(UserError) as info:
        collect_snapshot(options, [VAULT])
    assert "AZURE_CLIENT_SECRET" in str(info.value)
    assert fake_arm.requests == []


def test_workload_identity_without_variables_names_them(make_options):
    options = make_options(subscriptions=[SUB], credential=None, auth="workload-identity")
    with pytest.raises(UserError) as info:
        collect_snapshot(options, [VAULT])
    assert "AZURE_FEDERATED_TOKEN_FILE" in str(info.value)


@pytest.mark.parametrize(
    ("auth", "class_name"),
    [
        ("default", "DefaultAzureCredential"),
        ("cli", "AzureCliCredential"),
        ("env", "EnvironmentCredential"),
        ("managed-identity", "ManagedIdentityCredential"),
    ],
)
def test_auth_modes_pick_their_credential(auth, class_name):
    # only built, never asked for a token: that would probe the managed identity endpoint
    options = CollectOptions(
        subscriptions=[SUB], auth=auth, tenant="72f988bf-0000-0000-0000-000000000000"
    )
    credential, mode = build_credential(options, options.resolved_cloud())
    assert type(credential).__name__ == class_name
    assert mode == auth


def test_unknown_auth_mode(make_options):
    with pytest.raises(UserError, match="auth"):
        collect_snapshot(make_options(subscriptions=[SUB], credential=None, auth="magic"), [VAULT])


@pytest.mark.parametrize(
    ("cloud", "endpoint", "scope"),
    [
        ("public", "https://management.azure.com", "https://management.azure.com/.default"),
        (
            "usgov",
            "https://management.usgovcloudapi.net",
            "https://management.usgovcloudapi.net/.default",
        ),
        (
            "china",
            "https://management.chinacloudapi.cn",
            "https://management.chinacloudapi.cn/.default",
        ),
    ],
)
def test_sovereign_clouds(cloud, endpoint, scope):
    resolved = CollectOptions(cloud=cloud).resolved_cloud()
    assert (resolved.arm_endpoint, resolved.credential_scope) == (endpoint, scope)


def test_custom_endpoint_and_scope_from_the_environment(
    fake_arm, make_options, fake_credential, monkeypatch
):
    fake_arm.serve([resource(VAULT, "kv")])
    monkeypatch.setenv("PRODCHECK_ARM_ENDPOINT", fake_arm.base_url + "/")
    monkeypatch.setenv("PRODCHECK_TOKEN_SCOPE", "https://management.core.windows.net/.default")
    snap = collect_snapshot(make_options(subscriptions=[SUB], arm_endpoint=None), [VAULT])
    assert len(snap["resources"]) == 1
    assert fake_credential.scopes == ("https://management.core.windows.net/.default",)


def test_requests_ca_bundle_keeps_working(fake_arm, make_options, monkeypatch, tmp_path):
    fake_arm.serve([resource(VAULT, "kv")])
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake_arm.ca_path(tmp_path))
    snap = collect_snapshot(make_options(subscriptions=[SUB], connection_verify=None), [VAULT])
    assert len(snap["resources"]) == 1


def test_tls_is_verified_by_default(fake_arm, make_options, monkeypatch):
    fake_arm.serve([resource(VAULT, "kv")])
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    snap = collect_snapshot(make_options(subscriptions=[SUB], connection_verify=None), [VAULT])
    assert snap["resources"] == []
    (record,) = snap["coverage"]
    assert (record["status"], record["statusCode"], record["errorCode"]) == (
        "failed",
        0,
        "ConnectionError",
    )
    assert "CERTIFICATE_VERIFY_FAILED" in record["message"]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"subscriptions": ["not-a-guid"]}, "not a subscription id"),
        ({"resource_groups": ["bad/group"]}, "resource group"),
        ({"concurrency": 0}, "concurrency"),
        ({"cloud": "mars"}, "unknown cloud"),
        ({"arm_endpoint": "http://127.0.0.1:1"}, "https://"),
    ],
)
def test_bad_options_are_user_errors(make_options, overrides, match):
    options = make_options(subscriptions=[SUB])
    for key, value in overrides.items():
        setattr(options, key, value)
    with pytest.raises(UserError, match=match):
        collect_snapshot(options, [VAULT])


def test_an_unknown_subscription_is_a_user_error(fake_arm, make_options):
    fake_arm.serve([resource(VAULT, "kv")])
    other = "11111111-2222-3333-4444-555555555555"
    with pytest.raises(UserError, match=f"subscription {other} was not found"):
        collect_snapshot(make_options(subscriptions=[other]), [VAULT])


def test_limiter_allows_the_burst_then_paces_at_the_rate():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(rate=25, burst=250, clock=lambda: now[0], sleep=sleep)
    for _ in range(250):
        limiter.acquire("sub-a")
    assert slept == []
    for _ in range(25):
        limiter.acquire("sub-a")
    assert now[0] == pytest.approx(1.0)
    limiter.acquire("sub-b")  # each subscription has its own bucket
    assert now[0] == pytest.approx(1.0)


def test_limiter_pauses_a_subscription_after_a_429():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(rate=25, burst=250, clock=lambda: now[0], sleep=sleep)
    limiter.acquire("s")
    limiter.pause("s", 3)
    limiter.acquire("s")
    assert now[0] >= 3.0
    limiter.acquire("t")
    assert now[0] < 3.1


def test_limiter_says_how_long_until_a_bucket_can_send_beyond_the_requests_on_their_way():
    now = [0.0]
    limiter = RateLimiter(rate=25, burst=250, clock=lambda: now[0], sleep=lambda s: None)
    for _ in range(250):
        limiter.acquire("drained")
    limiter.acquire("paused")
    limiter.pause("paused", 3)
    asked = [("drained", 0), ("drained", 2), ("unknown", 0), ("unknown", 250), ("paused", 0)]
    waits = limiter.ready_many(asked)
    assert waits == pytest.approx([0.04, 0.12, 0.0, 0.04, 3.0])
    assert [limiter.ready_in(key, ahead) for key, ahead in asked] == waits
    now[0] = 1.0  # 25 tokens back
    assert limiter.ready_many([("drained", 24), ("drained", 25)]) == pytest.approx([0.0, 0.04])
    off = RateLimiter(rate=0, burst=1)
    off.pause("s", 2)
    assert off.ready_many([("s", 5), ("t", 5)])[1] == 0.0


@settings(max_examples=200, deadline=None)
@given(
    rate=st.sampled_from([0.0, 25.0, 2.5]),
    drawn=st.lists(st.integers(0, 300), min_size=4, max_size=4),
    paused=st.lists(st.sampled_from([0.0, 0.5, 3.0]), min_size=4, max_size=4),
    elapsed=st.floats(0.0, 5.0),
    asked=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d", "new", ""]),
            st.integers(0, 260),
            st.integers(-1, 9),
        ),
        max_size=8,
    ),
)
def test_the_scheduler_choice_is_the_soonest_ready_then_fewest_on_their_way_then_oldest_turn(
    rate, drawn, paused, elapsed, asked
):
    """`choose` picks what sorting every candidate by (wait, on their way, turn) picks, first
    listed on a tie, with each wait as `ready_in` gives it (the key "" never waits)."""
    now = [0.0]
    limiter = RateLimiter(rate=rate, burst=250, clock=lambda: now[0], sleep=lambda s: None)
    for key, taken, pause in zip("abcd", drawn, paused, strict=True):
        for _ in range(min(taken, 250)):
            limiter.acquire(key)
        if pause:
            limiter.pause(key, pause)
    now[0] = elapsed
    picked = limiter.choose(iter(asked))
    if not asked:
        assert picked is None
        return
    waits = [limiter.ready_in(key, ahead) if key else 0.0 for key, ahead, _ in asked]
    keys = [(w, ahead, turn) for w, (_, ahead, turn) in zip(waits, asked, strict=True)]
    best = min(range(len(asked)), key=lambda i: keys[i])
    assert picked == (asked[best][0], pytest.approx(waits[best]), len(asked))


def test_limiter_off():
    limiter = RateLimiter(rate=0, burst=1, sleep=lambda s: pytest.fail("slept"))
    for _ in range(1000):
        limiter.acquire("s")


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"x-ms-retry-after-ms": "250"}, 0.25),
        ({}, 0.0),
        ({"Retry-After": "soon"}, 0.0),
    ],
)
def test_retry_after_parsing(headers, seconds):
    assert retry_after_seconds(headers) == pytest.approx(seconds)


def test_collect_options_defaults_match_arm_limits():
    o = CollectOptions()
    assert (o.rate_burst, o.rate_limit, o.caps(1), o.auth, o.cloud) == (
        250,
        25.0,
        (8, 8),
        "default",
        "public",
    )
    # Several subscriptions: 8 each, at most 64 per collecting process, none more than 8.
    assert (o.caps(4), o.caps(50)) == ((32, 8), (64, 8))
    assert (o.caps(50, processes=2), o.caps(50, processes=7), o.caps(4, processes=2)) == (
        (128, 8),
        (256, 8),  # 7 processes may not open 400 connections: 256 in all at most
        (32, 8),
    )
    # A --concurrency given is the bound in all, however many processes share it.
    assert CollectOptions(concurrency=20).caps(50, processes=2) == (20, 8)


def test_cli_prints_one_line_and_exits_2_when_the_credential_fails(fake_az, monkeypatch, capsys):
    from prodcheck.cli import main

    monkeypatch.setenv("FAKE_AZ_LOGGED_OUT", "1")
    with pytest.raises(SystemExit) as exited:
        main(["audit", "--subscription", SUB, "--auth", "cli"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "az login" in err[0]
