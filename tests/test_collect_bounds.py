"""Every live read is bounded, and the bearer token goes to the Resource Manager endpoint only."""

from __future__ import annotations

import time

import pytest
from fake_arm.arm_json import SUB, resource, small_estate
from fake_arm.server import RecordingServer
from hypothesis import given, settings
from hypothesis import strategies as st

from prodcheck.collect import collect_snapshot

pytest_plugins = ["fake_arm.fixtures"]

VAULT = "Microsoft.KeyVault/vaults"  # listed through the SDK's pager
STORAGE = "Microsoft.Storage/storageAccounts"  # listed through prodcheck's REST pager


def failed(snapshot):
    return [c for c in snapshot["coverage"] if c["status"] == "failed"]


@pytest.fixture
def elsewhere(arm_ca):
    with RecordingServer(arm_ca) as server:
        yield server


def two_pages(fake_arm):
    fake_arm.page_size = 1
    fake_arm.serve(
        [resource(VAULT, "kv-1"), resource(VAULT, "kv-2")]
        + [resource(STORAGE, "st1"), resource(STORAGE, "st2")]
    )


@pytest.mark.parametrize("resource_type", [VAULT, STORAGE])
def test_a_next_link_to_another_host_is_not_followed_and_the_read_fails(
    resource_type, fake_arm, make_options, elsewhere
):
    two_pages(fake_arm)
    fake_arm.fault(r"providers/" + resource_type + "$", next_link=elsewhere.base_url)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [resource_type])
    assert elsewhere.requests == []
    (record,) = failed(snap)
    assert record["errorCode"] == "ForeignEndpoint"
    assert elsewhere.base_url in record["message"]
    assert fake_arm.base_url in record["message"]
    assert record["count"] == 1  # the first page is kept, the gap is recorded


def test_a_next_link_on_another_port_or_scheme_of_the_same_host_is_refused(fake_arm, make_options):
    two_pages(fake_arm)
    other_port = f"https://127.0.0.1:{fake_arm.port + 1}"
    fake_arm.fault(r"providers/" + VAULT + "$", next_link=other_port)
    fake_arm.fault(r"providers/" + STORAGE + "$", next_link=f"http://127.0.0.1:{fake_arm.port}")
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [VAULT, STORAGE])
    assert sorted(r["errorCode"] for r in failed(snap)) == ["ForeignEndpoint"] * 2


def test_a_redirect_to_another_host_is_refused(fake_arm, make_options, elsewhere):
    two_pages(fake_arm)
    fake_arm.fault(
        r"providers/" + VAULT + "$",
        status=302,
        headers={"Location": f"{elsewhere.base_url}/subscriptions/{SUB}/x"},
    )
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [VAULT])
    assert elsewhere.requests == []
    assert [r["errorCode"] for r in failed(snap)] == ["ForeignEndpoint"]


@pytest.mark.parametrize("resource_type", [VAULT, STORAGE])
def test_a_next_link_that_repeats_stops_the_read(resource_type, fake_arm, make_options):
    two_pages(fake_arm)
    fake_arm.fault(r"providers/" + resource_type, next_link="loop")
    started = time.monotonic()
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [resource_type])
    assert time.monotonic() - started < 10
    (record,) = failed(snap)
    assert record["errorCode"] == "PagingLoop"
    assert "same nextLink" in record["message"]
    assert len(fake_arm.requests) <= 4


@pytest.mark.parametrize("resource_type", [VAULT, STORAGE])
def test_a_list_without_end_stops_at_the_page_limit(resource_type, fake_arm, make_options):
    two_pages(fake_arm)
    fake_arm.fault(r"providers/" + resource_type, next_link="endless")
    snap = collect_snapshot(make_options(subscriptions=[SUB], max_pages=5), [resource_type])
    (record,) = failed(snap)
    assert record["errorCode"] == "PageLimitExceeded"
    assert "5 pages" in record["message"]
    lists = [r for r in fake_arm.requests if r.path.lower().endswith(resource_type.lower())]
    assert len(lists) == 5


def test_a_huge_retry_after_fails_the_read_at_once(fake_arm, make_options):
    fake_arm.serve(small_estate())
    fake_arm.fault(r"providers/" + VAULT + "$", status=429, retry_after=3600)
    started = time.monotonic()
    snap = collect_snapshot(
        make_options(subscriptions=[SUB], retry_total=3, max_retry_after=0.5), [VAULT]
    )
    assert time.monotonic() - started < 30  # not the hour asked for
    (record,) = failed(snap)
    assert (record["statusCode"], record["errorCode"]) == (429, "RetryAfterTooLong")
    assert "3600 s" in record["message"] and "max_retry_after" in record["message"]


def test_an_answer_trickling_in_stops_at_the_deadline(fake_arm, make_options):
    fake_arm.serve(small_estate())
    fake_arm.fault(r"providers/" + VAULT + "$", drip=0.2)
    started = time.monotonic()
    snap = collect_snapshot(
        make_options(subscriptions=[SUB], timeout=1.0, deadline=1.5),
        [VAULT, "Microsoft.Network/privateEndpoints"],
    )
    assert time.monotonic() - started < 30  # the answer would take minutes
    (record,) = failed(snap)
    assert (record["resourceType"], record["errorCode"]) == (VAULT, "DeadlineExceeded")
    assert "--deadline" in record["message"]
    assert [r["name"] for r in snap["resources"]] == ["pe-kv"]


def test_reads_queued_past_the_deadline_fail_without_being_sent(fake_arm, make_options):
    fake_arm.serve(small_estate())
    fake_arm.fault(r"providers/Microsoft\.ApiManagement/service$", latency=1.2)
    snap = collect_snapshot(
        make_options(subscriptions=[SUB], deadline=1.0, concurrency=1),
        ["Microsoft.ApiManagement/service/apis", VAULT],
    )
    codes = {(c["resourceType"], c["errorCode"]) for c in failed(snap)}
    assert ("Microsoft.ApiManagement/service/apis", "DeadlineExceeded") in codes
    assert all(code == "DeadlineExceeded" for _, code in codes)
    assert not any("/apis" in r.path.lower() for r in fake_arm.requests)


def test_a_run_cut_off_at_the_deadline_takes_no_child_type_as_read_or_empty(fake_arm, make_options):
    """A parent stored before the deadline may not have had its children asked for yet: its
    child types are failed reads in the listed scope, never "collected, and empty"."""
    fake_arm.serve(small_estate())
    fake_arm.fault(r"providers/" + VAULT + "$", drip=0.2)
    child = "Microsoft.ApiManagement/service/apis"
    snap = collect_snapshot(
        make_options(subscriptions=[SUB], timeout=1.0, deadline=1.0),
        [VAULT, child],
    )
    records = [c for c in snap["coverage"] if c["resourceType"] == child]
    assert any(
        c["status"] == "failed"
        and c["errorCode"] == "DeadlineExceeded"
        and c["scope"].lower() == f"/subscriptions/{SUB}"
        for c in records
    ), records
    assert not any(
        c["status"] == "ok" and c["scope"].lower() == f"/subscriptions/{SUB}" for c in records
    )


def test_a_timeout_names_the_bound(fake_arm, make_options):
    fake_arm.serve(small_estate())
    fake_arm.fault(r"providers/" + VAULT + "$", hang=True)
    snap = collect_snapshot(make_options(subscriptions=[SUB], timeout=0.3, retry_total=0), [VAULT])
    (record,) = failed(snap)
    assert record["errorCode"] == "Timeout"
    assert "--timeout 0.3 s" in record["message"]


_ENDPOINTS = [
    "https://management.azure.com",
    "https://management.azure.com/",
    "https://127.0.0.1:8443",
    "https://Management.USGovCloudApi.net:443/",
    "http://127.0.0.1",
]
_URL_TEXT = st.lists(
    st.sampled_from([*"ab/?#@:%.;\\\t\n -_=&[]", "\u00e9", "\u200b", ":1", "//"]), max_size=30
).map("".join)


@settings(max_examples=600, deadline=None)
@given(
    endpoint=st.sampled_from(_ENDPOINTS),
    start=st.sampled_from(
        [
            "https://management.azure.com",
            "https://management.azure.com:443",
            "https://management.azure.com:8443",
            "https://management.azure.com.evil.example",
            "https://127.0.0.1:8443",
            "https://127.0.0.1",
            "https://management.usgovcloudapi.net",
            "http://127.0.0.1",
            "http://127.0.0.1:80",
            " https://management.azure.com",
            "",
        ]
    ),
    slash=st.booleans(),
    rest=_URL_TEXT,
)
def test_a_url_read_without_parsing_has_the_origin_and_path_urlsplit_reads(
    endpoint, start, slash, rest
):
    """The policies read a plain URL to the endpoint without parsing it: whenever that reading
    gives a path, the URL's origin is the endpoint's and the path is the one urlsplit gives."""
    from urllib.parse import urlsplit

    from prodcheck.collect.bounds import origin, origin_prefixes, plain_path

    url = start + ("/" if slash else "") + rest
    path = plain_path(url, origin_prefixes(endpoint))
    if path is None:
        return
    assert origin(url) == origin(endpoint)
    assert path == urlsplit(url).path


def test_plain_urls_to_the_endpoint_are_read_without_parsing_and_others_are_not():
    from prodcheck.collect.bounds import origin_prefixes, plain_path

    prefixes = origin_prefixes("https://management.azure.com")
    assert plain_path("https://management.azure.com/subscriptions/s?x=1#f", prefixes) == (
        "/subscriptions/s"
    )
    assert plain_path("https://management.azure.com:443/a", prefixes) == "/a"
    for other in (
        "https://management.azure.com.evil.example/a",
        "https://management.azure.com@evil.example/a",
        "https://management.azure.com:8443/a",
        "https://management.azure.com/list\tKeys",
        "https://management.azure.com/\u00e9",
        "HTTPS://management.azure.com/a",
    ):
        assert plain_path(other, prefixes) is None, other
    assert plain_path("https://127.0.0.1/a", origin_prefixes("https://127.0.0.1:8443")) is None
