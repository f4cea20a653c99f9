"""The collection's HTTP transport: its short way sends what requests' way sends, and falls back
to requests' way for anything out of the ordinary (a proxy, no TLS verification)."""

from __future__ import annotations

import ssl
import sys
import threading

import pytest
from fake_arm.arm_json import SUB, resource
from fake_arm.server import RecordingServer, _Handler, _Server
from hypothesis import HealthCheck, example, given, settings
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

    from prodcheck.collect import transport
    from prodcheck.collect.engine import _send

    seen = []
    for short in (True, False):
        with monkeypatch.context() as patch:
            ways = Ways(patch, short=short)
            lean = []
            lean_head = transport.ArmTransport._lean_head

            def counted(self, *args, _lean=lean, _lean_head=lean_head):
                _lean.append(args[-3])  # the head it writes
                return _lean_head(self, *args)

            patch.setattr(transport.ArmTransport, "_lean_head", counted)
            clients = _clients(make_options(arm_endpoint=recorder.base_url, subscriptions=[SUB]))
            try:
                client = clients.get("resources", SUB)
                # The first request opens the connection (urllib3's way); the second is sent
                # on it, the lean way when the short way is taken.
                assert _send(client, HttpRequest("GET", "/warm")).status_code == 200
                recorder.requests.clear()
                answer = _send(client, HttpRequest("GET", path, params=params))
                assert answer.status_code == 200
                assert answer.json() == {"value": []}
            finally:
                clients.close()
            assert (ways.short, ways.requests) == ((2, 0) if short else (0, 2))
            assert len(lean) == (1 if short else 0)
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


@example(name="%", value="%0G")  # an invalid escape in the query: the path is not quoted twice
@example(name="[a]", value="%41b")
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


# ---- answers read on an open connection: the lean reader against urllib3's reading


def _ok(body: bytes = b'{"value": []}', extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
        + extra
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, mtime=0)


_BODY = b'{"value": [{"id": "/subscriptions/x", "name": "caf\xc3\xa9"}]}'
ANSWERS = {
    "ordinary": dict(head=_ok(_BODY)),
    "repeated and spaced headers": dict(
        head=_ok(extra=b"X-A: 1\r\nx-a:\t 2 \r\nX-Empty:\r\nX-Latin: caf\xe9\r\n")
    ),
    "a folded header line": dict(head=_ok(extra=b"X-Folded: a\r\n  b\r\n")),
    "bare line feeds": dict(
        head=b'HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: 13\n\n{"value": []}'
    ),
    "chunked": dict(
        head=b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"val\r\n8\r\nue": []}\r\n0\r\n\r\n'
    ),
    "gzip": dict(
        head=b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: " + str(len(_gzip(_BODY))).encode() + b"\r\n\r\n" + _gzip(_BODY)
    ),
    "no length, then closed": dict(
        head=b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
        + _BODY,
        close=True,
    ),
    "HTTP/1.0": dict(head=_ok().replace(b"HTTP/1.1", b"HTTP/1.0"), close=True),
    "Connection: close": dict(head=_ok(extra=b"Connection: close\r\n"), close=True),
    "204": dict(head=b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"),
    "100 Continue first": dict(head=b"HTTP/1.1 100 Continue\r\nX-Skip: 1\r\n\r\n" + _ok()),
    "two different lengths": dict(
        head=b'HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Length: 14\r\n\r\n{"value": []}',
        close=True,
    ),
    "a body cut short": dict(head=_ok(b'{"value": []}' + b" " * 50)[:-40], close=True),
    "a body of several read steps": dict(
        head=_ok(b'{"value": [' + b",".join([b'"' + b"x" * 1000 + b'"'] * 2600) + b"]}")
    ),
    "a length far beyond the body": dict(
        head=b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000000000000000\r\n\r\n{"value": []}',
        close=True,
    ),
    "a 503": dict(
        head=_ok(b'{"error": {"code": "Busy", "message": "try again"}}').replace(
            b"200 OK", b"503 Service Unavailable"
        )
    ),
    "not HTTP": dict(head=b"HTTQ/1.1 200 OK\r\n\r\n", close=True),
    "closed without an answer": dict(head=b""),
    "a head too slow": dict(head=b"", pause=1.5, close=True),
    "a body too slow": dict(head=_ok(_BODY)[: -len(_BODY)], rest=_BODY, pause=1.5, close=True),
}


@pytest.fixture
def scripted(arm_ca):
    from fake_arm.server import ScriptedServer

    with ScriptedServer(arm_ca) as server:
        yield server


def _read_both_ways(scripted, make_options, monkeypatch, answer):
    """What the client makes of `answer`, sent on a connection that is open already, read by
    the lean reader and by urllib3: (how many reads each took the lean way, the outcome)."""
    from azure.core.rest import HttpRequest
    from fake_arm.server import Scripted

    from prodcheck.collect import transport
    from prodcheck.collect.engine import _send

    seen = []
    for lean in (True, False):
        with monkeypatch.context() as patch:
            heads = []
            lean_head = transport.ArmTransport._lean_head

            def counted(self, *args, _heads=heads, _lean_head=lean_head):
                _heads.append(1)
                return _lean_head(self, *args)

            patch.setattr(transport.ArmTransport, "_lean_head", counted)
            if not lean:
                patch.setattr(transport.ArmTransport, "_lean", lambda *args: None)
            options = make_options(
                arm_endpoint=scripted.base_url, subscriptions=[SUB], retry_total=0, timeout=0.75
            )
            clients = _clients(options)
            scripted.script = [Scripted(_ok()), Scripted(**answer), Scripted(_ok())]
            try:
                client = clients.get("resources", SUB)
                assert _send(client, HttpRequest("GET", "/warm")).status_code == 200
                try:
                    got = _send(client, HttpRequest("GET", "/scripted"))
                    outcome = ("answer", got.status_code, dict(got.headers.items()), got.text())
                except Exception as exc:
                    outcome = ("error", type(exc).__name__, str(exc))
                # the connection, or its replacement, serves the next request as before
                after = _send(client, HttpRequest("GET", "/after"))
                assert (after.status_code, after.json()) == (200, {"value": []})
            finally:
                clients.close()
            seen.append((len(heads), outcome))
    return seen


@pytest.mark.parametrize("name", list(ANSWERS))
def test_an_answer_on_an_open_connection_reads_the_same_either_way(
    name, scripted, make_options, monkeypatch
):
    (lean_reads, lean), (long_reads, long) = _read_both_ways(
        scripted, make_options, monkeypatch, ANSWERS[name]
    )
    assert lean == long
    assert lean_reads >= 1 and long_reads == 0
    if name == "ordinary":
        assert lean[:2] == ("answer", 200) and "café" in lean[3]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1),
            st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=12),
        ),
        max_size=6,
    ),
    st.sampled_from([b"\r\n", b"\n"]),
)
def test_head_lines_read_as_http_client_urllib3_and_requests_read_them(pairs, end):
    import http.client
    from io import BytesIO

    from requests.structures import CaseInsensitiveDict
    from urllib3 import HTTPHeaderDict
    from urllib3.connection import _normalize_header_values

    from prodcheck.collect.transport import _simple_headers, _Unusual

    lines = [name.encode() + b":" + value.encode("latin-1") + end for name, value in pairs]
    lines += [b"Content-Length: 2" + end, end]
    try:
        headers, length, _ = _simple_headers(lines)
    except _Unusual:
        return
    message = http.client.parse_headers(BytesIO(b"".join(lines)))
    expected = CaseInsensitiveDict(HTTPHeaderDict(_normalize_header_values(message)))
    assert list(headers.items()) == list(expected.items())
    assert length == 2


_URL_TEXT = st.lists(
    st.sampled_from(
        list("aZ09-._~!$&'()*+,;=:@/?%[]# \"<>^`{|}é\t\n\r\x00\x1f")
        + ["%41", "%2f", "%2F", "%22", "%0G", ".."]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(path=_URL_TEXT, query=_URL_TEXT)
def test_the_request_target_is_the_one_requests_and_urllib3_send(path, query):
    import requests
    from urllib3.util.url import _encode_target

    from prodcheck.collect.transport import _target

    url = f"https://127.0.0.1:8443/{path}" + (f"?{query}" if query else "")
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except (requests.exceptions.RequestException, ValueError):
        assert _target(url) is None
        return
    assert _target(url) == _encode_target(prepared.path_url)


def test_every_client_sends_what_its_own_send_request_would(recorder, make_options):
    """prodcheck sends through an SDK client's pipeline without the deep copy the client's own
    `send_request` makes first: the request that arrives is the same, for every client it uses
    (a client whose endpoint is a template goes through its own `send_request`)."""
    from azure.core.rest import HttpRequest

    from prodcheck.collect.clients import SDK_CLIENTS
    from prodcheck.collect.engine import _send

    clients = _clients(make_options(arm_endpoint=recorder.base_url, subscriptions=[SUB]))
    path = f"/subscriptions/{SUB}/resourceGroups/rg one/providers/{VAULT}/kv"
    params = {"api-version": "2023-07-01", "$filter": "a eq 'b c'"}
    try:
        for kind in sorted(SDK_CLIENTS):
            client = clients.graph() if kind == "resourcegraph" else clients.get(kind, SUB)
            own = getattr(client, "send_request", None) or client._send_request
            seen = []
            for send in (lambda r: _send(client, r), own):  # noqa: B023 - called at once
                recorder.requests.clear()
                assert send(HttpRequest("GET", path, params=params)).status_code == 200
                (request,) = recorder.requests
                headers = {
                    k.lower(): v for k, v in request.headers.items() if k.lower() not in _VARYING
                }
                seen.append((request.method, request.path, headers))
            assert seen[0] == seen[1], kind
            assert seen[0][1].startswith(f"/subscriptions/{SUB}/resourceGroups/rg%20one/"), kind
    finally:
        clients.close()
