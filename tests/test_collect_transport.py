"""The collection's HTTP transport: its short way sends what requests' way sends, and falls back
to requests' way for anything out of the ordinary (a proxy, no TLS verification)."""

from __future__ import annotations

import ssl
import sys
import threading

import pytest
from fake_arm.arm_json import SUB, resource
from fake_arm.server import RecordingServer, _Handler, _Server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodcheck.collect import collect_snapshot

pytest_plugins = ["fake_arm.fixtures"]

VAULT = "Microsoft.KeyVault/vaults"
# Headers that differ between two sends of the same request whichever way they go.
_VARYING = {"x-ms-client-request-id"}


@pytest.fixture
def recorder(arm_ca):
    with RecordingServer(arm_ca) as server:
        yield server


def _clients(options):
    from prodcheck.collect.clients import Clients, RequestStats
    from prodcheck.collect.limiter import RateLimiter

    return Clients(
        options.credential, options.resolved_cloud(), options, RateLimiter(0, 250), RequestStats()
    )


class Ways:
    """Counts the requests the transport sent its short way and requests' way."""

    def __init__(self, monkeypatch, short: bool = True) -> None:
        from prodcheck.collect import transport

        self.short = 0
        self.requests = 0
        send_on = transport.ArmTransport._send_on
        send = transport.RequestsTransport.send

        def counted_send_on(transport_self, *args):
            self.short += 1
            return send_on(transport_self, *args)

        def counted_send(transport_self, *args, **kwargs):
            self.requests += 1
            return send(transport_self, *args, **kwargs)

        monkeypatch.setattr(transport.ArmTransport, "_send_on", counted_send_on)
        monkeypatch.setattr(transport.RequestsTransport, "send", counted_send)
        if not short:
            monkeypatch.setattr(transport.ArmTransport, "_route", lambda *args: None)


def _send_both_ways(recorder, make_options, monkeypatch, path, params):
    """The request `path` with `params` as the recorder saw it, sent the short way, then
    requests' way."""
    from azure.core.rest import HttpRequest

    from prodcheck.collect.engine import _send

    seen = []
    for short in (True, False):
        with monkeypatch.context() as patch:
            ways = Ways(patch, short=short)
            clients = _clients(make_options(arm_endpoint=recorder.base_url, subscriptions=[SUB]))
            try:
                client = clients.get("resources", SUB)
                answer = _send(client, HttpRequest("GET", path, params=params))
                assert answer.status_code == 200
                assert answer.json() == {"value": []}
            finally:
                clients.close()
            assert (ways.short, ways.requests) == ((1, 0) if short else (0, 1))
        (request,) = recorder.requests
        recorder.requests.clear()
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower() not in _VARYING}
        seen.append((request.method, request.path, headers))
    return seen


def test_the_short_way_sends_the_request_requests_would_send(recorder, make_options, monkeypatch):
    path = f"/subscriptions/{SUB}/resourceGroups/rg one/providers/{VAULT}"
    short, long = _send_both_ways(
        recorder, make_options, monkeypatch, path, {"api-version": "2023-07-01", "$filter": "a b"}
    )
    assert short == long
    method, raw_path, headers = short
    assert method == "GET"
    assert raw_path.startswith(f"/subscriptions/{SUB}/resourceGroups/rg%20one/providers/")
    assert headers["authorization"].startswith("Bearer ")
    assert headers["user-agent"].startswith("prodcheck/")
    assert "gzip" in headers["accept-encoding"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    name=st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20
    ).filter(lambda s: s.strip() and "/" not in s and "?" not in s and "#" not in s),
    # (azure-core formats a URL as a template: a brace in a query value is refused before any
    # transport sees it)
    value=st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="{}"),
        max_size=20,
    ),
)
def test_odd_paths_and_queries_go_out_the_same_either_way(
    name, value, recorder, make_options, monkeypatch
):
    from prodcheck.collect.ids import url_path

    path = url_path(f"/subscriptions/{SUB}/resourceGroups/{name}/providers/{VAULT}")
    short, long = _send_both_ways(
        recorder, make_options, monkeypatch, path, {"api-version": "2023-07-01", "q": value}
    )
    assert short == long


def test_a_collection_takes_the_short_way_and_reads_the_same(fake_arm, make_options, monkeypatch):
    fake_arm.page_size = 1
    fake_arm.serve([resource(VAULT, "kv-1"), resource(VAULT, "kv-2")])
    snapshots = []
    for short in (True, False):
        with monkeypatch.context() as patch:
            ways = Ways(patch, short=short)
            snapshots.append(collect_snapshot(make_options(subscriptions=[SUB]), [VAULT]))
            assert (ways.short > 0, ways.requests > 0) == (short, not short)
    short_snap, long_snap = snapshots
    assert short_snap["resources"] == long_snap["resources"]
    assert short_snap["coverage"] == long_snap["coverage"]
    assert len(short_snap["resources"]) == 2


def test_a_proxy_in_the_environment_is_honoured(fake_arm, make_options, monkeypatch):
    """HTTPS_PROXY is requests' to apply: the request goes to the proxy (here, nobody listens
    there), not straight to the endpoint."""
    fake_arm.serve([resource(VAULT, "kv")])
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    ways = Ways(monkeypatch)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [VAULT])
    assert snap["resources"] == []
    assert [c["errorCode"] for c in snap["coverage"]] == ["ConnectionError"]
    assert fake_arm.requests == []
    assert ways.short == 0 and ways.requests > 0


def test_no_proxy_for_the_endpoint_takes_the_short_way(fake_arm, make_options, monkeypatch):
    fake_arm.serve([resource(VAULT, "kv")])
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    ways = Ways(monkeypatch)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [VAULT])
    assert len(snap["resources"]) == 1
    assert ways.short > 0 and ways.requests == 0


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_verification_turned_off_takes_requests_way(fake_arm, make_options, monkeypatch):
    fake_arm.serve([resource(VAULT, "kv")])
    ways = Ways(monkeypatch)
    snap = collect_snapshot(make_options(subscriptions=[SUB], connection_verify=False), [VAULT])
    assert len(snap["resources"]) == 1
    assert ways.short == 0 and ways.requests > 0


class _OtherName(RecordingServer):
    """A server whose certificate (from the trusted CA) names another host."""

    def start(self) -> _OtherName:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("other.example").configure_cert(context)
        self._server = _Server(("127.0.0.1", 0), _Handler, context, self)  # type: ignore[arg-type]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self


def test_a_certificate_for_another_host_is_refused(arm_ca, make_options, monkeypatch):
    with _OtherName(arm_ca) as server:
        ways = Ways(monkeypatch)
        snap = collect_snapshot(
            make_options(subscriptions=[SUB], arm_endpoint=server.base_url), [VAULT]
        )
        assert server.requests == []
    assert ways.short > 0
    (record,) = snap["coverage"]
    assert (record["status"], record["errorCode"]) == ("failed", "ConnectionError")
    assert "CERTIFICATE_VERIFY_FAILED" in record["message"]


def test_the_pool_keeps_one_connection_per_request_in_flight(fake_arm, make_options):
    """With as many connections kept as requests can be in flight, none is closed and
    reopened: a new connection (and TLS handshake) per request would cost both sides."""
    from azure.core.rest import HttpRequest

    from prodcheck.collect.engine import _send

    fake_arm.serve([resource(VAULT, "kv")])
    threads, rounds = 8, 10
    clients = _clients(make_options(subscriptions=[SUB], concurrency=threads))
    try:
        client = clients.get("keyvault", SUB)
        start = threading.Barrier(threads)

        def read() -> None:
            start.wait()
            for _ in range(rounds):
                request = HttpRequest(
                    "GET", f"/subscriptions/{SUB}/providers/{VAULT}", params={"api-version": "1"}
                )
                assert _send(client, request).status_code == 200

        workers = [threading.Thread(target=read) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        (route,) = [r for r in clients._transport._routes.values() if r is not None]
        assert len(fake_arm.requests) == threads * rounds
        assert route.pool.num_connections <= threads
    finally:
        clients.close()


def test_each_request_gets_its_own_client_request_id(recorder, make_options):
    from azure.core.rest import HttpRequest

    from prodcheck.collect.engine import _send

    clients = _clients(make_options(arm_endpoint=recorder.base_url, subscriptions=[SUB]))
    try:
        for _ in range(3):
            _send(clients.get("resources", SUB), HttpRequest("GET", f"/subscriptions/{SUB}/x"))
    finally:
        clients.close()
    ids = [
        {k.lower(): v for k, v in r.headers.items()}["x-ms-client-request-id"]
        for r in recorder.requests
    ]
    assert len(set(ids)) == 3
    assert all(len(i) == 36 for i in ids)


# --------------------------------------------------------------------------- SDK lists


@pytest.fixture
def synthetic(monkeypatch):
    """A synthetic subscription of 300 resources (benchmarks/generate.py) and what the rule
    pack reads."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import generate
    import run

    from prodcheck.collect.catalog import METRICS

    try:
        wanted = [n for n in run.needs() if METRICS.lower() not in n.lower()]
        yield generate.generate(300)["resources"], wanted, generate.SUBSCRIPTION
    finally:
        for name in ("generate", "run"):
            sys.modules.pop(name, None)


def _requests(fake_arm):
    return sorted(
        (r.method, r.path, tuple(sorted(r.query.items())), r.body) for r in fake_arm.requests
    )


def test_sdk_lists_read_the_same_through_planned_urls_and_the_sdk_pager(
    synthetic, fake_arm, make_options, monkeypatch
):
    """Three ways to read what an SDK lists: its own pager (models thrown away for the JSON
    ARM sent), the URL it plans sent by prodcheck, and that URL learned once per child type
    and put after each parent's id. Same requests (path, api-version, query), same snapshot."""
    from prodcheck.collect import engine

    resources, wanted, subscription = synthetic
    fake_arm.page_size = 7  # several pages for the larger lists
    fake_arm.serve(resources)
    runs = {}
    for way in ("pager", "planned", "learned"):
        with monkeypatch.context() as patch:
            if way == "pager":
                patch.setattr(engine, "planned_url", lambda call: None)
            if way in ("pager", "planned"):
                patch.setattr(engine.Run, "_child_url", lambda self, c, p, call: None)
            planned = engine.planned_url
            asked = []

            def counted(call, planned=planned, asked=asked):
                asked.append(1)
                return planned(call)

            patch.setattr(engine, "planned_url", counted)
            fake_arm.requests.clear()
            snap = collect_snapshot(make_options(subscriptions=[subscription]), wanted)
            runs[way] = (snap, _requests(fake_arm), len(asked))
    pager, planned, learned = runs["pager"], runs["planned"], runs["learned"]
    assert len(pager[0]["resources"]) > 250
    assert all(c["status"] == "ok" for c in pager[0]["coverage"])
    for snap, requests, _ in (planned, learned):
        assert snap["resources"] == pager[0]["resources"]
        assert snap["coverage"] == pager[0]["coverage"]
        assert requests == pager[1]
    # learned: the SDK is asked once per child type, not once per parent
    assert 0 < learned[2] <= planned[2] // 2
