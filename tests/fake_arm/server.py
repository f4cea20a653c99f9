"""A local fake of Azure Resource Manager, for tests and benchmarks.

`FakeArm` is an HTTPS server on 127.0.0.1 (certificate from a trustme CA) that serves a snapshot's
resources through the REST paths the Azure management SDKs call:

- subscription-wide and resource-group lists of a type
  (`/subscriptions/{s}/providers/{Ns}/{type}`, `.../resourceGroups/{rg}/providers/{Ns}/{type}`);
- GET by id, and child collections (`{parent id}/{child type}`), including APIM policies with
  `?format=xml` or `rawxml`;
- diagnostic settings (`{resource id}/providers/Microsoft.Insights/diagnosticSettings`);
- Azure Monitor metrics (`{resource id}/providers/Microsoft.Insights/metrics?metricnamespace=..
  &metricnames=...`), answered from the served `Microsoft.Insights/metrics` records (one
  answer, never paged);
- the generic resources API (`/subscriptions/{s}/resources?$filter=resourceType eq '...'`), the
  providers API (`/subscriptions/{s}/providers/{Ns}`) and `GET /subscriptions/{s}`;
- the tenant's subscriptions (`GET /subscriptions`) and a management group's descendants
  (`/providers/Microsoft.Management/managementGroups/{id}/descendants`, see
  `management_groups`);
- the caller's permissions at a subscription or group
  (`{scope}/providers/Microsoft.Authorization/permissions`, see `permissions`);
- Azure Resource Graph queries (`POST /providers/Microsoft.ResourceGraph/resources`) of the shape
  prodcheck sends: the top-level resources of the body's subscriptions, filtered by the query's
  `type in~ (...)` and `resourceGroup in~ (...)`, in the order of its `order by` (id and name,
  ascending), in Resource Graph's row shape
  (lower-case type, its own columns, nulls), leaving out what `permissions` does not let the
  caller read, paged by `$top` and `$skipToken`, with the quota headers (see `graph_quota`) and
  faults of its own (`graph_truncate`, `graph_short`).

It ignores api-version, pages every collection with absolute `nextLink`s (`page_size`), keeps a
request log, wants a bearer token, and injects faults per path: latency, any status with an ARM
error body and Retry-After (403 with ARM's AuthorizationFailed body), hangs (timeouts), an answer
trickling in byte by byte, malformed or truncated JSON, any other body (an HTML page, `value` not
a list), and nextLinks that loop, never end, or name another host.

For benchmarks, `FakeArm(..., processes=N)` answers from N forked processes on one listening
socket, each with a lean HTTP/1.1 reader, so that the fake is not the bottleneck of what it
measures (a threaded Python server is bound to one core): the same answers, the Resource Graph
quota shared, and the log and the peak requests in flight gathered from every process when it
stops.

`RecordingServer` is that other host: it logs every request with its headers and answers an
empty page, so a test can show that nothing (least of all the token) was sent there.
"""

from __future__ import annotations

import contextlib
import copy
import fnmatch
import json
import platform
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

API_VERSIONS = ["2099-01-01", "2098-06-01-preview"]

# Lists ARM answers in one response, without paging (the SDKs ignore a nextLink on these).
UNPAGED_TYPES = {"microsoft.insights/metricalerts", "microsoft.insights/actiongroups"}
# Lists of a group that also return what is above and below it (see `FakeArm._authorization`).
_METRICS_SUFFIX = "/providers/microsoft.insights/metrics"
AUTHORIZATION_TYPES = {
    "microsoft.authorization/roleassignments",
    "microsoft.authorization/roledefinitions",
}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    drip: float | None = None
    truncated: bool = False


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    # When the request arrived (time.monotonic()), and the requests to the same subscription
    # then being answered, this one included.
    at: float = field(default=0.0, compare=False)
    concurrent: int = field(default=0, compare=False)
    # The body of a Resource Graph query (b"" for every other request).
    body: bytes = b""

    @property
    def subscription(self) -> str:
        """The subscription the request reads in (lower case), '' for a tenant-level one."""
        parts = self.path.split("/")
        return parts[2].lower() if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two requests the same read: method, path, query (api-version aside)
        and, for a query POST, its body."""
        q = sorted((k.lower(), v) for k, v in self.query.items() if k.lower() != "api-version")
        if self.body:
            q.append(("body", self.body.decode("utf-8", "replace")))
        return self.method, self.path.lower().rstrip("/"), urlencode(q)


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int | None = None
    retry_after: float | None = None
    latency: float = 0.0
    hang: bool = False
    malformed: bool = False
    times: int | None = None  # None: every matching request
    code: str | None = None
    message: str | None = None
    body: bytes | None = None  # a 200 answer with this body instead of the resources
    content_type: str | None = None
    truncated: bool = False  # the body stops short of its Content-Length, then the line drops
    drip: float | None = None  # seconds between the bytes of the answer
    # Rewrite the nextLink of a list page: "loop" (this page's own URL again), "endless" (a new
    # link every time), or a base URL such as another server's, for the same path.
    next_link: str | None = None
    headers: dict[str, str] | None = None
    hits: int = 0

    def applies(self, path: str, target: str) -> bool:
        if not (self.pattern.search(path) or self.pattern.search(target)):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


def path_type(path: str) -> str:
    """The ARM type a path reads: `.../providers/Ns/a/x/b` -> `Ns/a/b`."""
    parts = [p for p in path.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        if len(parts) >= 3 and lowered[2] == "resourcegroups":
            return "Microsoft.Resources/subscriptions/resourceGroups"
        return "Microsoft.Resources/subscriptions"
    i = len(lowered) - 1 - lowered[::-1].index("providers")
    if i + 1 >= len(parts):
        return "Microsoft.Resources/providers"
    rest = parts[i + 2 :]
    return "/".join([parts[i + 1], *rest[0::2]]) if rest else parts[i + 1]


def arm_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def authorization_failed(path: str) -> dict[str, Any]:
    scope = path.split("?")[0]
    if scope.lower().endswith("/resources"):
        action = "Microsoft.Resources/subscriptions/resources/read"
    else:
        action = f"{path_type(scope)}/read"
    return arm_error(
        "AuthorizationFailed",
        "The client 'auditor@example.com' with object id '00000000-0000-0000-0000-0000000000aa' "
        f"does not have authorization to perform action '{action}' over scope '{scope}' or the "
        "scope is invalid. If access was recently granted, please refresh your credentials.",
    )


def load_resources(snapshot: Any) -> list[dict[str, Any]]:
    """Resources of a snapshot given as a dict, a list, a JSON string path or a Path."""
    if isinstance(snapshot, str | Path):
        snapshot = json.loads(Path(snapshot).read_text(encoding="utf-8"))
    if isinstance(snapshot, dict):
        for key in ("resources", "value", "data"):
            if isinstance(snapshot.get(key), list):
                return list(snapshot[key])
        raise ValueError("a snapshot dict needs a resources list")
    return list(snapshot)


class _Index:
    """The resources by id, by collection path and by (subscription, type)."""

    def __init__(self, resources: Iterable[dict[str, Any]], subscriptions: Iterable[str]) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        self.collections: dict[str, list[dict[str, Any]]] = {}
        self.by_sub_type: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.by_sub: dict[str, list[dict[str, Any]]] = {}
        self.groups: set[tuple[str, str]] = set()
        self.subscriptions: set[str] = {s.lower() for s in subscriptions}
        for r in sorted(resources, key=lambda r: str(r.get("id", "")).lower()):
            rid = str(r.get("id", "")).rstrip("/")
            if not rid:
                continue
            key = rid.lower()
            self.by_id[key] = r
            self.collections.setdefault(key.rsplit("/", 1)[0], []).append(r)
            parts = key.split("/")
            if len(parts) > 2 and parts[1] == "subscriptions":
                sub = parts[2]
                self.subscriptions.add(sub)
                self.by_sub.setdefault(sub, []).append(r)
                self.by_sub_type.setdefault((sub, str(r.get("type", "")).lower()), []).append(r)
                if len(parts) > 4 and parts[3] == "resourcegroups":
                    self.groups.add((sub, parts[4]))

    def add_group(self, subscription: str, group: str) -> None:
        self.subscriptions.add(subscription.lower())
        self.groups.add((subscription.lower(), group.lower()))


class FakeArm:
    """The fake ARM server. Use as a context manager, or start()/stop()."""

    def __init__(
        self, ca: Any, *, page_size: int = 100, latency: float = 0.0, processes: int = 1
    ) -> None:
        self.ca = ca
        # Benchmarks: this many forked processes answer on one listening socket, each with a
        # lean HTTP/1.1 reader (see `_serve_connection`). The answers are the same; the log
        # (`requests`, `peak_in_flight`) is gathered from every process when it stops, and
        # faults must be set before `start`.
        self.processes = processes
        self._children: list[tuple[int, Any]] = []
        self._spans: list[tuple[str, float, float]] = []
        self._shared_quota: Any = None
        # The CPU time the forked processes spent, once they stopped (seconds).
        self.processes_cpu = 0.0
        self.page_size = page_size
        self.latency = latency
        self.hang_seconds = 30.0
        self.require_token = True
        # Management group id (lower case) -> member subscription ids and child group ids.
        self.management_groups: dict[str, list[str]] = {}
        # Subscription id -> state other than Enabled (Disabled, Warned, ...).
        self.subscription_states: dict[str, str] = {}
        # Scope (lower case, `/subscriptions/{s}` or `.../resourcegroups/{g}`) -> the permission
        # sets the caller holds there; the default is Reader's.
        self.permissions: dict[str, list[dict[str, Any]]] = {}
        # Resource Graph: queries allowed per window (None: no quota), the window in seconds;
        # a result cut off with resultTruncated and no token; rows fewer than totalRecords says.
        # Like the real one it leaves out, silently, what `permissions` does not let the caller
        # read.
        self.graph_quota: int | None = None
        self.graph_window = 5.0
        self.graph_truncate = False
        self.graph_short = False
        self.graph_queries: list[dict[str, Any]] = []
        self._graph_cache: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        self._graph_used = 0
        self._graph_window_ends = 0.0
        self.requests: list[LoggedRequest] = []
        # Requests being answered now, and the most at once, per subscription (lower case).
        self.in_flight: dict[str, int] = {}
        self.peak_in_flight: dict[str, int] = {}
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._index = _Index([], [])
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ca_file: Path | None = None

    # ---- lifecycle

    def start(self) -> FakeArm:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._server = _Server(("127.0.0.1", 0), _Handler, context, self)
        if self.processes > 1:
            return self._fork()
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-arm", daemon=True
        )
        self._thread.start()
        return self

    def _fork(self) -> FakeArm:
        """Answer from `processes` forked processes; this one only gathers their logs."""
        import multiprocessing
        import os

        assert self._server is not None
        self._server.socket.setblocking(False)  # several processes race to accept
        self._server.lean = True
        self._shared_quota = (
            multiprocessing.Lock(),
            multiprocessing.Value("i", 0, lock=False),
            multiprocessing.Value("d", 0.0, lock=False),
        )
        for _ in range(self.processes):
            control, theirs = socket.socketpair()
            pid = os.fork()
            if pid == 0:  # the child: serve until told to stop, then send the log
                control.close()
                self._child(theirs)
            theirs.close()
            self._children.append((pid, control))
        return self

    def _child(self, control: socket.socket) -> None:
        import os
        import pickle

        assert self._server is not None
        server = self._server
        try:

            def watch() -> None:
                control.recv(1)  # a byte, or the parent gone
                server.shutdown()

            if self.faults:  # a fault may hang or drip: a thread per connection
                threading.Thread(target=watch, daemon=True).start()
                server.serve_forever(0.05)
            else:
                _serve_events(server.socket, server.ssl_context, self, control)
            with self._lock:
                log = pickle.dumps(
                    (self.requests, self._spans, self.graph_queries, time.process_time())
                )
            control.sendall(len(log).to_bytes(8, "big") + log)
        finally:
            os._exit(0)

    def _gather(self) -> None:
        import os
        import pickle

        for _, control in self._children:
            with contextlib.suppress(OSError):
                control.sendall(b"x")
        for pid, control in self._children:
            reader = control.makefile("rb")
            size = int.from_bytes(reader.read(8) or b"\0" * 8, "big")
            requests, spans, queries, cpu = (
                pickle.loads(reader.read(size)) if size else ([], [], [], 0.0)
            )
            self.processes_cpu += cpu
            self.requests.extend(requests)
            self._spans.extend(spans)
            self.graph_queries.extend(queries)
            reader.close()
            control.close()
            os.waitpid(pid, 0)
        self._children = []
        self.requests.sort(key=lambda r: r.at)
        # The most requests to one subscription answered at once, across the processes.
        events: dict[str, list[tuple[float, int]]] = {}
        for sub, begun, ended in self._spans:
            events.setdefault(sub, []).extend([(begun, 1), (ended, -1)])
        for sub, marks in events.items():
            now = peak = 0
            for _, step in sorted(marks, key=lambda m: (m[0], m[1])):
                now += step
                peak = max(peak, now)
            self.peak_in_flight[sub] = peak

    def stop(self) -> None:
        self._stopping.set()
        forked = bool(self._children) or self._shared_quota is not None
        if self._children:
            self._gather()
        if self._server is not None:
            if not forked:  # the forked processes served; this one never did
                self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeArm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stopping(self) -> threading.Event:
        return self._stopping

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def ca_path(self, directory: Path) -> str:
        """Write the CA certificate (PEM) into `directory` once and return its path."""
        if self._ca_file is None:
            self._ca_file = Path(directory) / "fake-arm-ca.pem"
            self.ca.cert_pem.write_to_path(str(self._ca_file))
        return str(self._ca_file)

    # ---- content

    def serve(
        self,
        snapshot: Any,
        *,
        subscriptions: Iterable[str] = (),
        resource_groups: Iterable[tuple[str, str]] = (),
    ) -> FakeArm:
        """Serve these resources (a snapshot dict, a list, or a file) from now on."""
        index = _Index(copy.deepcopy(load_resources(snapshot)), subscriptions)
        for sub, group in resource_groups:
            index.add_group(sub, group)
        with self._lock:
            self._index = index
        return self

    # ---- faults and the log

    def fault(
        self,
        pattern: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        latency: float = 0.0,
        hang: bool = False,
        malformed: bool = False,
        times: int | None = None,
        code: str | None = None,
        message: str | None = None,
        body: bytes | str | None = None,
        content_type: str | None = None,
        truncated: bool = False,
        drip: float | None = None,
        next_link: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Inject a fault on requests whose path, or `path?query`, matches `pattern` (regex, any case)."""
        fault = Fault(
            re.compile(pattern, re.IGNORECASE),
            status=status,
            retry_after=retry_after,
            latency=latency,
            hang=hang,
            malformed=malformed,
            times=times,
            code=code,
            message=message,
            body=body.encode() if isinstance(body, str) else body,
            content_type=content_type,
            truncated=truncated,
            drip=drip,
            next_link=next_link,
            headers=dict(headers or {}),
        )
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.faults.clear()
            self.peak_in_flight.clear()

    def duplicates(self) -> list[tuple[str, str, str]]:
        """Reads sent more than once (retries of injected faults count too)."""
        seen: set[tuple[str, str, str]] = set()
        dup: list[tuple[str, str, str]] = []
        for r in list(self.requests):
            if r.key in seen:
                dup.append(r.key)
            seen.add(r.key)
        return dup

    # ---- answering

    def _faults_for(self, path: str, target: str) -> list[Fault]:
        with self._lock:
            return [f for f in self.faults if f.applies(path, target)]

    def answer(
        self, method: str, raw_path: str, query: dict[str, str], headers: Any, body: bytes = b""
    ) -> Reply | None:
        """The reply to one request, or None to hang up without answering."""
        path, sub, arrived = self._arrive(method, raw_path, query, body)
        try:
            return self._answer(method, path, query, headers, body)
        finally:
            self._finish(sub, arrived.at)

    def answer_later(
        self, method: str, raw_path: str, query: dict[str, str], headers: Any, body: bytes = b""
    ) -> tuple[Reply | None, Callable[[], None]]:
        """The reply to one request without waiting the latency (the caller sends it that much
        later), and what to call once it is sent (until then the request counts as in flight)."""
        path, sub, arrived = self._arrive(method, raw_path, query, body)
        try:
            reply = self._answer(method, path, query, headers, body, wait=False)
        except BaseException:
            self._finish(sub, arrived.at)
            raise
        return reply, lambda: self._finish(sub, arrived.at)

    def _arrive(
        self, method: str, raw_path: str, query: dict[str, str], body: bytes
    ) -> tuple[str, str, LoggedRequest]:
        path = unquote(raw_path).rstrip("/") or "/"
        parts = path.split("/", 3)
        sub = parts[2].lower() if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""
        with self._lock:
            now = self.in_flight[sub] = self.in_flight.get(sub, 0) + 1
            self.peak_in_flight[sub] = max(self.peak_in_flight.get(sub, 0), now)
            arrived = LoggedRequest(
                method, path, dict(query), time.monotonic(), now, body if method == "POST" else b""
            )
            self.requests.append(arrived)
        return path, sub, arrived

    def _finish(self, sub: str, arrived_at: float) -> None:
        with self._lock:
            self.in_flight[sub] -= 1
            if self._shared_quota is not None:
                self._spans.append((sub, arrived_at, time.monotonic()))

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Any,
        body: bytes = b"",
        wait: bool = True,
    ) -> Reply | None:
        faults: list[Fault] = []
        if self.faults:  # the target is matched only against faults (the benchmark sets none)
            target = path + ("?" + urlencode(query) if query else "")
            faults = self._faults_for(path, target)
        delay = self.latency + sum(f.latency for f in faults)
        if delay and wait:
            time.sleep(delay)
        for f in faults:
            if f.hang:
                self._stopping.wait(self.hang_seconds)
                return None
            if f.status is not None:
                extra = dict(f.headers or {})
                if f.retry_after is not None:
                    extra["Retry-After"] = f"{f.retry_after:g}"
                if f.status == 403:
                    body = authorization_failed(path)
                else:
                    default_code = {
                        429: "SubscriptionRequestsThrottled",
                        500: "InternalServerError",
                        502: "BadGateway",
                        503: "ServiceUnavailable",
                        504: "GatewayTimeout",
                        404: "ResourceNotFound",
                    }.get(f.status, f"Http{f.status}")
                    body = arm_error(
                        f.code or default_code,
                        f.message or f"injected {f.status} for {path}",
                    )
                if f.status == 403 and (f.code or f.message):
                    body = arm_error(f.code or "AuthorizationFailed", f.message or "")
                return Reply(f.status, extra, json.dumps(body).encode())
            if f.malformed:
                return Reply(200, {}, b'{"value": [{"id": "/subscriptions/broken", "name": ')
            if f.body is not None:
                kind = f.content_type or "application/json; charset=utf-8"
                return Reply(200, {}, f.body, kind, truncated=f.truncated)
        graph_query = method == "POST" and path.lower() == GRAPH_PATH
        if method != "GET" and not graph_query:
            return Reply(405, {}, json.dumps(arm_error("MethodNotAllowed", method)).encode())
        auth = headers.get("Authorization") or ""
        if self.require_token and not auth.startswith("Bearer "):
            return Reply(
                401, {}, json.dumps(arm_error("AuthenticationFailed", "no bearer token")).encode()
            )
        if graph_query:
            return self._graph(body)
        status, body = self._route(path, query)
        for f in faults:
            if f.next_link and status == 200 and isinstance(body, dict) and "value" in body:
                body["nextLink"] = self._rewritten_link(f, path, query)
        drip = next((f.drip for f in faults if f.drip), None)
        truncated = any(f.truncated for f in faults)
        return Reply(status, {}, json.dumps(body).encode(), drip=drip, truncated=truncated)

    def _rewritten_link(self, fault: Fault, path: str, query: dict[str, str]) -> str:
        params = {k: v for k, v in query.items() if k.lower() != "$skiptoken"}
        if fault.next_link == "loop":
            return f"{self.base_url}{path}?{urlencode(query)}"
        if fault.next_link == "endless":
            params["$skiptoken"] = str(1_000_000 + fault.hits)
            return f"{self.base_url}{path}?{urlencode(params)}"
        params["$skiptoken"] = "1"
        return f"{str(fault.next_link).rstrip('/')}{path}?{urlencode(params)}"

    # ---- Resource Graph

    def _graph_quota_headers(self) -> tuple[bool, dict[str, str]]:
        """(allowed, headers) for one more query in the current quota window."""
        if self.graph_quota is None:
            return True, {
                "x-ms-user-quota-remaining": "14",
                "x-ms-user-quota-resets-after": "00:00:05",
            }
        if self._shared_quota is not None:  # one quota across the forked processes
            lock, used, ends = self._shared_quota
            with lock:
                now = time.monotonic()
                if now >= ends.value:
                    used.value, ends.value = 0, now + self.graph_window
                allowed = used.value < self.graph_quota
                if allowed:
                    used.value += 1
                left = max(0.0, ends.value - now)
                remaining = self.graph_quota - used.value
        else:
            with self._lock:
                now = time.monotonic()
                if now >= self._graph_window_ends:
                    self._graph_used, self._graph_window_ends = 0, now + self.graph_window
                allowed = self._graph_used < self.graph_quota
                if allowed:
                    self._graph_used += 1
                left = max(0.0, self._graph_window_ends - now)
                remaining = self.graph_quota - self._graph_used
        seconds = int(left) + (1 if left % 1 else 0)
        return allowed, {
            "x-ms-user-quota-remaining": str(remaining),
            "x-ms-user-quota-resets-after": f"00:{seconds // 60:02d}:{seconds % 60:02d}",
        }

    def _graph(self, raw: bytes) -> Reply:
        allowed, headers = self._graph_quota_headers()
        if not allowed:
            error = arm_error("RateLimiting", "Please provide below info when asking for support")
            return Reply(429, headers, json.dumps(error).encode())
        try:
            request = json.loads(raw or b"{}")
        except ValueError:
            return Reply(400, headers, json.dumps(arm_error("BadRequest", "not JSON")).encode())
        with self._lock:
            self.graph_queries.append(request)
        text = str(request.get("query") or "")
        options = request.get("options") or {}
        subscriptions = {str(s).lower() for s in request.get("subscriptions") or []}
        try:
            columns = _kql_order(text)
        except ValueError as exc:
            return Reply(400, headers, json.dumps(arm_error("BadRequest", str(exc))).encode())
        rows = self._graph_rows(text, subscriptions, columns)
        start = int(options.get("$skipToken") or 0)
        top = int(options.get("$top") or 100)
        page = rows[start : start + top]
        body: dict[str, Any] = {
            "totalRecords": len(rows) + (1 if self.graph_short else 0),
            "count": len(page),
            "data": page,
            "facets": [],
            "resultTruncated": "false",
        }
        if start + top < len(rows):
            if self.graph_truncate:
                body["resultTruncated"] = "true"
            else:
                body["$skipToken"] = str(start + top)
        return Reply(200, headers, json.dumps(body).encode())

    def _graph_rows(
        self, text: str, subscriptions: set[str], columns: list[str]
    ) -> list[dict[str, Any]]:
        """The rows a query asks for, in its order (`| order by` of `id` and `name`, ascending;
        by id if it names none). A query's pages all read the same rows: they are worked out
        once per query, served estate and permissions."""
        key = (text, tuple(sorted(subscriptions)), id(self._index), repr(self.permissions))
        with self._lock:
            cached = self._graph_cache.get(key)
        if cached is not None:
            return cached
        types = _kql_in(text, "type")
        groups = _kql_in(text, "resourceGroup")
        rows = []
        for sub in sorted(subscriptions & self._index.subscriptions):
            for r in self._index.by_sub.get(sub, []):
                rtype = str(r.get("type", "")).lower()
                rid = str(r.get("id", "")).lower()
                if rtype.count("/") != 1 or rid.count("/providers/") != 1:
                    continue  # child and extension resources are not in the resources table
                if types is not None and rtype not in types:
                    continue
                group = rid.split("/")[4] if rid.split("/")[3:4] == ["resourcegroups"] else ""
                if groups is not None and group not in groups:
                    continue
                held = self.permissions.get(f"/subscriptions/{sub}/resourcegroups/{group}")
                held = held or self.permissions.get(f"/subscriptions/{sub}", READER_PERMISSIONS)
                if not _grants(held, f"{rtype}/read"):
                    continue
                rows.append(_graph_row(r, sub, group))
        rows.sort(key=lambda row: tuple(str(row[c]).lower() for c in columns))
        with self._lock:
            if len(self._graph_cache) >= 8:
                self._graph_cache.clear()
            self._graph_cache[key] = rows
        return rows

    def _route(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        index = self._index
        p = path.lower()
        parts = p.split("/")
        if p == "/subscriptions":
            return self._page(
                path, query, [self._subscription(s) for s in sorted(index.subscriptions)]
            )
        if p.startswith("/providers/microsoft.management/managementgroups/") and p.endswith(
            "/descendants"
        ):
            group = parts[4]
            if group not in self.management_groups:
                return 404, arm_error("NotFound", f"'{group}' is not a management group.")
            return self._page(path, query, self._descendants(group))
        if len(parts) < 3 or parts[1] != "subscriptions":
            return 404, arm_error("InvalidResourceType", f"no route for {path}")
        sub = parts[2]
        if sub not in index.subscriptions:
            return 404, arm_error(
                "SubscriptionNotFound", f"The subscription '{sub}' could not be found."
            )
        n = len(parts)
        if n == 3:
            return 200, {
                "id": f"/subscriptions/{sub}",
                "subscriptionId": sub,
                "displayName": f"fake {sub[:8]}",
                "state": "Enabled",
            }
        if n == 4 and parts[3] == "resources":
            return self._page(path, query, self._generic(index.by_sub.get(sub, []), query))
        if n == 6 and parts[3] == "resourcegroups" and parts[5] == "resources":
            if (sub, parts[4]) not in index.groups:
                return 404, self._group_missing(parts[4])
            prefix = f"/subscriptions/{sub}/resourcegroups/{parts[4]}/"
            members = [r for r in index.by_sub.get(sub, []) if r["id"].lower().startswith(prefix)]
            return self._page(path, query, self._generic(members, query))
        if p.endswith("/providers/microsoft.authorization/permissions") and n in (6, 8):
            scope = p.rsplit("/providers/", 1)[0]
            if n == 8 and (sub, parts[4]) not in index.groups:
                return 404, self._group_missing(parts[4])
            return 200, {"value": self.permissions.get(scope, READER_PERMISSIONS)}
        if n == 5 and parts[3] == "providers":
            return 200, self._provider(sub, path.split("/")[4])
        if n == 6 and parts[3] == "providers":
            rtype = f"{parts[4]}/{parts[5]}"
            return self._page(path, query, index.by_sub_type.get((sub, rtype), []))
        if n == 8 and parts[3] == "resourcegroups" and parts[5] == "providers":
            if (sub, parts[4]) not in index.groups:
                return 404, self._group_missing(parts[4])
            rtype = f"{parts[6]}/{parts[7]}"
            if rtype in AUTHORIZATION_TYPES:
                return self._page(path, query, self._authorization(sub, parts[4], rtype))
            return self._page(path, query, index.collections.get(p, []))
        if n >= 5 and parts[3] == "resourcegroups" and (sub, parts[4]) not in index.groups:
            return 404, self._group_missing(parts[4])
        found = index.by_id.get(p)
        if found is not None:
            return 200, self._shape(found, query)
        if n == 8 and parts[3] == "providers" and parts[5] == "locations":
            # a catalogue (the model list of a region): items as ARM gives them, without the
            # id, name and type a snapshot adds
            items = index.collections.get(p, [])
            return self._page(
                path,
                query,
                [{k: v for k, v in r.items() if k not in ("id", "name", "type")} for r in items],
            )
        if p.endswith(_METRICS_SUFFIX) and p[: -len(_METRICS_SUFFIX)] in index.by_id:
            return 200, self._metrics(path, query, index.collections.get(p, []))
        parent = p.rsplit("/", 1)[0]
        if p.endswith("/providers/microsoft.insights/diagnosticsettings"):
            parent = p[: -len("/providers/microsoft.insights/diagnosticsettings")]
        if parent in index.by_id:
            return self._page(path, query, index.collections.get(p, []))
        if parent.rsplit("/", 1)[0] in index.by_id:
            return 404, arm_error("ResourceNotFound", f"The Resource '{path}' was not found.")
        return 404, arm_error("ParentResourceNotFound", f"The parent of '{path}' was not found.")

    @staticmethod
    def _metrics(path: str, query: dict[str, str], records: list[dict[str, Any]]) -> dict[str, Any]:
        """A Metrics API answer: the metrics asked for, from the served records of their
        namespace (`properties.value`), each without data when no record holds it."""
        q = {k.lower(): v for k, v in query.items()}
        namespace = q.get("metricnamespace", "")
        asked = [n.lower() for n in q.get("metricnames", "").split(",") if n]
        found: dict[str, dict[str, Any]] = {}
        for record in records:
            props = record.get("properties") if isinstance(record.get("properties"), dict) else {}
            if str(props.get("namespace", "")).lower() != namespace.lower():
                continue
            names = [
                str((i.get("name") or {}).get("value", "")).lower()
                for i in props.get("value") or []
                if isinstance(i, dict) and isinstance(i.get("name"), dict)
            ]
            if names == asked:  # the very answer the record holds
                return copy.deepcopy(props)
            for item in props.get("value") or []:
                name = item.get("name") if isinstance(item, dict) else None
                value = name.get("value") if isinstance(name, dict) else None
                if isinstance(value, str):
                    found.setdefault(value.lower(), item)
        resource = path[: -len(_METRICS_SUFFIX)]
        value = []
        for name in (n for n in q.get("metricnames", "").split(",") if n):
            value.append(
                found.get(name.lower())
                or {
                    "id": f"{resource}/providers/Microsoft.Insights/metrics/{name}",
                    "type": "Microsoft.Insights/metrics",
                    "name": {"value": name, "localizedValue": name},
                    "unit": "Unspecified",
                    "timeseries": [],
                    "errorCode": "Success",
                }
            )
        return {
            "cost": 0,
            "timespan": q.get("timespan", ""),
            "interval": q.get("interval", "PT1H"),
            "value": value,
            "namespace": namespace.lower(),
            "resourceregion": "eastus",
        }

    def _authorization(self, sub: str, group: str, rtype: str) -> list[dict[str, Any]]:
        """A group's role assignments are those at, above and below it (ARM's unfiltered list);
        its role definitions, every one of the subscription."""
        members = self._index.by_sub_type.get((sub, rtype), [])
        if rtype != "microsoft.authorization/roleassignments":
            return members
        here = f"/subscriptions/{sub}/resourcegroups/{group}"
        out = []
        for r in members:
            props = r.get("properties") if isinstance(r.get("properties"), dict) else {}
            scope = str(props.get("scope") or "").lower().rstrip("/")
            if here == scope or here.startswith(scope + "/") or scope.startswith(here + "/"):
                out.append(r)
        return out

    def _subscription(self, sub: str) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{sub}",
            "subscriptionId": sub,
            "displayName": f"fake {sub[:8]}",
            "state": self.subscription_states.get(sub, "Enabled"),
        }

    def _descendants(self, group: str) -> list[dict[str, Any]]:
        """The management group's descendants: child groups, and subscriptions at any depth."""
        out: list[dict[str, Any]] = []
        for member in self.management_groups[group]:
            if member.lower() in self.management_groups:
                out.append(
                    {
                        "id": f"/providers/Microsoft.Management/managementGroups/{member}",
                        "type": "Microsoft.Management/managementGroups",
                        "name": member,
                        "properties": {"displayName": member},
                    }
                )
                out.extend(self._descendants(member.lower()))
            else:
                out.append(
                    {
                        "id": f"/providers/Microsoft.Management/managementGroups/{group}"
                        f"/subscriptions/{member}",
                        "type": "Microsoft.Management/managementGroups/subscriptions",
                        "name": member,
                        "properties": {"displayName": f"fake {member[:8]}"},
                    }
                )
        return out

    @staticmethod
    def _group_missing(group: str) -> dict[str, Any]:
        return arm_error("ResourceGroupNotFound", f"Resource group '{group}' could not be found.")

    @staticmethod
    def _shape(
        resource: dict[str, Any], query: dict[str, str], fmt: str | None = None
    ) -> dict[str, Any]:
        """The resource as answered: a policy in the `format` the query asks for (`fmt`, when
        the caller has read it from the query already)."""
        if fmt is None:
            fmt = {k.lower(): v for k, v in query.items()}.get("format")
        if fmt and str(resource.get("type", "")).lower().endswith("/policies"):
            shaped = copy.deepcopy(resource)
            props = shaped.setdefault("properties", {})
            if isinstance(props, dict):
                props["format"] = fmt
            return shaped
        return resource

    @staticmethod
    def _generic(members: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
        """The generic resources API: top-level resources, envelope only, filtered by type."""
        wanted = None
        flt = {k.lower(): v for k, v in query.items()}.get("$filter", "")
        m = re.search(r"resourceType\s+eq\s+'([^']+)'", flt, re.IGNORECASE)
        if m:
            wanted = m.group(1).lower()
        out = []
        for r in members:
            rtype = str(r.get("type", "")).lower()
            if rtype.count("/") != 1 or r["id"].lower().count("/providers/") != 1:
                continue
            if wanted and rtype != wanted:
                continue
            out.append(
                {
                    k: r[k]
                    for k in ("id", "name", "type", "location", "tags", "kind", "sku", "identity")
                    if k in r
                }
            )
        return out

    def _provider(self, sub: str, namespace: str) -> dict[str, Any]:
        types: set[str] = set()
        for r in self._index.by_sub.get(sub, []):
            rtype = str(r.get("type", ""))
            ns, _, rest = rtype.partition("/")
            if ns.lower() == namespace.lower() and rest:
                types.add(rest)
        return {
            "id": f"/subscriptions/{sub}/providers/{namespace}",
            "namespace": namespace,
            "registrationState": "Registered",
            "resourceTypes": [
                {"resourceType": t, "locations": [], "apiVersions": API_VERSIONS}
                for t in sorted(types)
            ],
        }

    def _page(
        self, path: str, query: dict[str, str], items: list[dict[str, Any]]
    ) -> tuple[int, Any]:
        lowered = {k.lower(): k for k in query}
        start = int(query.get(lowered.get("$skiptoken", ""), "0") or 0)
        fmt = query.get(lowered["format"]) if "format" in lowered else ""
        rtype = path_type(path).lower()
        if rtype in UNPAGED_TYPES or rtype.endswith("/policies"):
            return 200, {"value": [self._shape(r, query, fmt) for r in items]}
        page = [self._shape(r, query, fmt) for r in items[start : start + self.page_size]]
        body: dict[str, Any] = {"value": page}
        if start + self.page_size < len(items):
            params = {k: v for k, v in query.items() if k.lower() != "$skiptoken"}
            params["$skiptoken"] = str(start + self.page_size)
            body["nextLink"] = f"{self.base_url}{path}?{urlencode(params)}"
        return 200, body


GRAPH_PATH = "/providers/microsoft.resourcegraph/resources"
READER_PERMISSIONS: list[dict[str, Any]] = [
    {"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}
]


def _grants(permissions: list[dict[str, Any]], action: str) -> bool:
    def match(patterns: Any) -> bool:
        return any(fnmatch.fnmatchcase(action, str(p).lower()) for p in patterns or [])

    return any(match(p.get("actions")) and not match(p.get("notActions")) for p in permissions)


def _kql_in(query: str, column: str) -> set[str] | None:
    """The values of `| where {column} in~ ('a', 'b')` in a query, lower case; None if absent."""
    m = re.search(rf"\|\s*where\s+{column}\s+in~\s*\(([^)]*)\)", query, re.IGNORECASE)
    if m is None:
        return None
    return {v.lower() for v in re.findall(r"'([^']*)'", m.group(1))}


def _kql_order(query: str) -> list[str]:
    """The columns of `| order by a asc, b asc` in a query (`id` and `name` only; ascending
    only); `["id"]` if it has none."""
    m = re.search(r"\|\s*order\s+by\s+([^|]*)", query, re.IGNORECASE)
    if m is None:
        return ["id"]
    columns = []
    for term in m.group(1).split(","):
        words = term.split()
        if words and words[0].lower() in ("id", "name") and words[1:] in ([], ["asc"]):
            columns.append(words[0].lower())
        else:
            raise ValueError(f"the fake orders by id or name, ascending: {term!r}")
    return columns or ["id"]


def _graph_row(resource: dict[str, Any], sub: str, group: str) -> dict[str, Any]:
    """A resource as a Resource Graph row: its type lower-cased, Resource Graph's own columns
    added, and the columns it lacks as nulls."""
    row: dict[str, Any] = {
        k: resource.get(k)
        for k in ("id", "name", "kind", "location", "tags", "sku", "plan", "identity", "zones")
    }
    row["kind"] = row["kind"] or ""
    row.update(
        {
            "type": str(resource.get("type", "")).lower(),
            "managedBy": resource.get("managedBy", ""),
            "extendedLocation": resource.get("extendedLocation"),
            "properties": resource.get("properties"),
            "tenantId": "00000000-0000-0000-0000-0000000000ee",
            "resourceGroup": group,
            "subscriptionId": sub,
        }
    )
    return row


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: Any, handler: Any, context: ssl.SSLContext, fake: FakeArm) -> None:
        self.ssl_context = context
        self.fake = fake
        # Read requests with `_serve_connection` rather than http.server's handler.
        self.lean = False
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's own thread. Headers and body go
        # out in separate writes: without TCP_NODELAY, Nagle and delayed ACKs add 40 ms to each.
        try:
            request.setblocking(True)
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            if self.lean:
                _serve_connection(tls, self.fake)
            else:
                self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            with contextlib.suppress(OSError):
                tls.close()


class _Headers(dict[str, str]):
    """Request headers by lower-case name (what `FakeArm.answer` reads of them)."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(name.lower(), default)


_REASONS = {s.value: s.phrase for s in HTTPStatus}
_SERVER = f"BaseHTTP/0.6 Python/{platform.python_version()}"


_DATE: list[Any] = [0, ""]


def _date() -> str:
    """The Date header, formatted once per second."""
    now = int(time.time())
    if _DATE[0] != now:
        from email.utils import formatdate

        _DATE[:] = [now, formatdate(now, usegmt=True)]
    return str(_DATE[1])


# The end of a request's head: an empty line (CRLF, or a bare LF as http.server allows).
_HEAD_END = re.compile(rb"\r?\n\r?\n")


def _reply_head(reply: Reply) -> bytes:
    length = len(reply.body) + (1000 if reply.truncated else 0)
    head = [
        f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, '')}",
        f"Server: {_SERVER}",
        f"Date: {_date()}",
        f"Content-Type: {reply.content_type}",
        f"Content-Length: {length}",
        "x-ms-request-id: fake",
        *(f"{k}: {v}" for k, v in reply.headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")


def _take_request(pending: bytes) -> tuple[tuple[str, str, _Headers, bytes] | None, bytes, bool]:
    """The first whole request in `pending` (method, target, headers, body), what is left, and
    whether the connection is to be dropped (a head that cannot be read or is too long)."""
    end = _HEAD_END.search(pending)
    if end is None:
        return None, pending, len(pending) > 1 << 20
    lines = pending[: end.start()].split(b"\n")
    try:
        method, target, _ = lines[0].rstrip(b"\r").decode("latin-1").split(" ", 2)
    except ValueError:
        return None, pending, True
    headers = _Headers()
    for raw in lines[1:]:
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    try:
        length = int(headers.get("Content-Length") or 0)
    except ValueError:
        return None, pending, True
    rest = pending[end.end() :]
    if len(rest) < length:
        return None, pending, False
    return (method, target, headers, rest[:length]), rest[length:], False


class _Connection:
    """One client connection of `_serve_events`: TLS over a non-blocking socket, the bytes read
    and not yet answered, the bytes to send."""

    def __init__(self, tls: Any) -> None:
        self.tls = tls
        self.shaken = False
        self.pending = b""
        self.outgoing = b""
        self.close_after = False
        self.closed = False


def _serve_events(
    listener: socket.socket, context: ssl.SSLContext, fake: FakeArm, control: socket.socket
) -> None:
    """Answer every connection from one thread until `control` says stop (benchmarks, no
    faults): each reply is worked out when its request is read and sent `fake.latency` later,
    from a timer, rather than from a thread per connection asleep for the latency. The answers
    are `FakeArm.answer`'s; a request counts as in flight until its reply is sent."""
    import heapq
    import selectors

    selector = selectors.DefaultSelector()
    listener.setblocking(False)
    selector.register(listener, selectors.EVENT_READ, None)
    selector.register(control, selectors.EVENT_READ, None)
    timers: list[tuple[float, int, _Connection, bytes, Callable[[], None]]] = []
    order = 0

    def close(conn: _Connection) -> None:
        if not conn.closed:
            conn.closed = True
            with contextlib.suppress(KeyError, ValueError, OSError):
                selector.unregister(conn.tls)
            with contextlib.suppress(OSError):
                conn.tls.close()

    def watch(conn: _Connection) -> None:
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.outgoing else 0)
        with contextlib.suppress(KeyError, ValueError):
            selector.modify(conn.tls, events, conn)

    def flush(conn: _Connection) -> None:
        while conn.outgoing and not conn.closed:
            try:
                sent = conn.tls.send(conn.outgoing)
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                break
            except (ssl.SSLError, OSError):
                close(conn)
                return
            conn.outgoing = conn.outgoing[sent:]
        if not conn.outgoing and conn.close_after:
            close(conn)
        elif not conn.closed:
            watch(conn)

    def readable(conn: _Connection) -> None:
        nonlocal order
        if not conn.shaken:
            try:
                conn.tls.do_handshake()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except (ssl.SSLError, OSError):
                close(conn)
                return
            conn.shaken = True
        while True:
            try:
                chunk = conn.tls.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                break
            except (ssl.SSLError, OSError):
                close(conn)
                return
            if not chunk:
                close(conn)
                return
            conn.pending += chunk
        while True:
            request, conn.pending, drop = _take_request(conn.pending)
            if drop:
                close(conn)
                return
            if request is None:
                return
            method, target, headers, body = request
            split = urlsplit(target)
            query = dict(parse_qsl(split.query, keep_blank_values=True))
            reply, sent = fake.answer_later(method, split.path, query, headers, body)
            if reply is None or reply.drip or reply.truncated:  # a fault's: none is set
                sent()
                close(conn)
                return
            data = _reply_head(reply) + reply.body
            if headers.get("Connection", "").lower() == "close":
                conn.close_after = True
            order += 1
            heapq.heappush(timers, (time.monotonic() + fake.latency, order, conn, data, sent))

    while True:
        wait = max(0.0, timers[0][0] - time.monotonic()) if timers else None
        for key, _ in selector.select(wait):
            if key.fileobj is control:
                selector.close()
                return
            if key.fileobj is listener:
                while True:
                    try:
                        sock, _ = listener.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    sock.setblocking(False)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    tls = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                    conn = _Connection(tls)
                    selector.register(tls, selectors.EVENT_READ, conn)
                continue
            conn = key.data
            if conn.outgoing:
                flush(conn)
            if not conn.closed:
                readable(conn)
        now = time.monotonic()
        while timers and timers[0][0] <= now:
            _, _, conn, data, sent = heapq.heappop(timers)
            sent()
            if not conn.closed:
                conn.outgoing += data
                flush(conn)


def _serve_connection(tls: Any, fake: FakeArm) -> None:
    """Answer the requests of one keep-alive connection as `_Handler` does, with a lean
    HTTP/1.1 reader and one write per answer (benchmarks: see `FakeArm.processes`)."""
    pending = b""
    try:
        while True:
            # The head arrives in one piece (a client writes it at once): read until the
            # request is whole rather than line by line.
            request, pending, drop = _take_request(pending)
            while request is None:
                chunk = b"" if drop else tls.recv(65536)
                if not chunk:
                    return
                request, pending, drop = _take_request(pending + chunk)
            method, target, headers, body = request
            split = urlsplit(target)
            query = dict(parse_qsl(split.query, keep_blank_values=True))
            reply = fake.answer(method, split.path, query, headers, body)
            if reply is None:
                return
            data = _reply_head(reply)
            if reply.drip:
                tls.sendall(data)
                for i in range(len(reply.body)):
                    if fake.stopping.wait(reply.drip):
                        return
                    tls.sendall(reply.body[i : i + 1])
            else:
                tls.sendall(data + reply.body)
            if reply.truncated or headers.get("Connection", "").lower() == "close":
                return
    except TimeoutError:
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.fake.answer(self.command, split.path, query, self.headers, body)
        if reply is None:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        length = len(reply.body) + (1000 if reply.truncated else 0)
        self.send_header("Content-Length", str(length))
        self.send_header("x-ms-request-id", "fake")
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if reply.drip:
            stopping = self.server.fake.stopping
            for i in range(len(reply.body)):
                if stopping.wait(reply.drip):
                    break
                self.wfile.write(reply.body[i : i + 1])
                self.wfile.flush()
        else:
            self.wfile.write(reply.body)
        if reply.truncated:
            self.wfile.flush()
            self.close_connection = True

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_PATCH = _handle
    do_DELETE = _handle
    do_HEAD = _handle


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]


class RecordingServer:
    """Another host on loopback (HTTPS, same CA): logs each request and its headers, answers an
    empty ARM page. Where a hostile nextLink points, to show nothing is sent there."""

    def __init__(self, ca: Any) -> None:
        self.ca = ca
        self.requests: list[SeenRequest] = []
        self.stopping = threading.Event()
        self._server: _Server | None = None

    def start(self) -> RecordingServer:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._server = _Server(("127.0.0.1", 0), _Handler, context, self)  # type: ignore[arg-type]
        threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="recording", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> RecordingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def answer(
        self, method: str, raw_path: str, query: dict[str, str], headers: Any, body: bytes = b""
    ) -> Reply:
        self.requests.append(SeenRequest(method, raw_path, dict(headers.items())))
        return Reply(200, {}, json.dumps({"value": []}).encode())


@dataclass
class Scripted:
    """One answer of a `ScriptedServer`: the bytes sent back, as they are (a head, then after
    `pause` seconds the rest), and whether the connection is closed after it."""

    head: bytes
    rest: bytes = b""
    pause: float = 0.0
    close: bool = False


class ScriptedServer:
    """Another host on loopback (HTTPS, same CA) that answers each request, on any connection,
    with the next `Scripted` of `script`, byte for byte: for testing how a client reads answers
    framed in odd ways, and broken ones."""

    def __init__(self, ca: Any) -> None:
        self.ca = ca
        self.script: list[Scripted] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> ScriptedServer:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        threading.Thread(target=self._accept, name="scripted", daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self.stopping.is_set():
            assert self._listener is not None
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            sock.setblocking(True)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self._context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            return
        rfile = tls.makefile("rb")
        try:
            while True:
                line = rfile.readline(65537)
                if not line:
                    return
                while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                with self._lock:
                    answer = self.script.pop(0) if self.script else Scripted(b"")
                tls.sendall(answer.head)
                if answer.pause and self.stopping.wait(answer.pause):
                    return
                if answer.rest:
                    tls.sendall(answer.rest)
                if answer.close or not answer.head:
                    return
        except (ssl.SSLError, OSError):
            return
        finally:
            rfile.close()
            with contextlib.suppress(OSError):
                tls.close()

    def stop(self) -> None:
        self.stopping.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._listener is not None, "start() the server first"
        return f"https://127.0.0.1:{self._listener.getsockname()[1]}"
