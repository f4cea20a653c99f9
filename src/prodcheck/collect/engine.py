"""Live collection: list what the rules need, concurrently, read-only, failing closed.

The plan is the closure of the needed types (a child type brings its parent chain). Every
top-level list (per subscription, or per resource group when the scope names groups) is one task;
each resource that arrives schedules its child collections and, when asked for, its diagnostic
settings, so children are read while their parents are still being listed. A bounded thread pool
(`concurrency`, and `subscription_concurrency` in any one subscription) runs the tasks; every HTTP attempt goes through the per-subscription limiter.

Nothing that goes wrong while reading stops the collection: it becomes a `failed` coverage record
(status, ARM error code, message, the RBAC action that would have allowed the read), and the
collections that depended on the failed one get failed records too.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from prodcheck.arm import with_catalogue_id
from prodcheck.collect.auth import (
    CachedCredential,
    build_credential,
    check_credential,
    cli_default_subscription,
    one_line,
)
from prodcheck.collect.bounds import Deadline, Pages
from prodcheck.collect.catalog import (
    DIAGNOSTIC_SETTINGS,
    METRICS,
    PLATFORM_METRICS,
    Collector,
    MetricQuery,
    collector_for,
    diagnostics_base,
    metrics_need,
)
from prodcheck.collect.clients import (
    Clients,
    Planned,
    RequestStats,
    capture_responses,
    plan_request,
)
from prodcheck.collect.failures import Failure, MalformedResponse, describe
from prodcheck.collect.ids import Parent, last_segment, namespace, parent_type, type_key, url_path
from prodcheck.collect.limiter import RateLimiter
from prodcheck.collect.options import MAX_METRICS_WINDOW, Cloud, CollectOptions
from prodcheck.collect.progress import Progress
from prodcheck.collect.resource_graph import MODES as GRAPH_MODES
from prodcheck.collect.resource_graph import Listing, from_graph
from prodcheck.collect.resource_graph import wanted as graph_wanted
from prodcheck.collect.scrub import drop_secrets
from prodcheck.errors import UserError
from prodcheck.outbound import MaskingFilter
from prodcheck.outbound import one_line as one_line_out

FORMAT = "prodcheck.snapshot/v1"
# A URL path that no quoting changes: letters, digits and `/ - _ . ~` only.
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9/_.~-]+$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_GROUP = re.compile(r"^[-\w.()]{1,90}$")
_MANAGEMENT_GROUP = re.compile(r"^[-\w.()]{1,90}$")
_SUBSCRIPTION_API = "2022-12-01"
_PROVIDERS_API = "2021-04-01"
_MANAGEMENT_GROUPS_API = "2020-05-01"
_LIST_PERMISSION = "Microsoft.Resources/subscriptions/read"
# The subscription id of the client that reads tenant-level lists (subscriptions, management
# groups); its operations are never used, only its pipeline.
_TENANT = "00000000-0000-0000-0000-000000000000"
# Seconds past the deadline a read may still take to end on its own before it is abandoned.
_GRACE = 0.5
# How long a thread may run before a waiting one asks for the interpreter, while collecting
# (Python's default is 5 ms). The workers are I/O-bound: each gives the interpreter up at every
# read and write of its socket anyway, and forcing a switch in the middle of a short stretch of
# work (a page parsed and scrubbed) only makes the threads hand it back and forth. At 50
# subscriptions in two processes (docs/performance.md) 20 to 100 ms took about a sixth off the
# wall time and the CPU per request.
SWITCH_INTERVAL = 0.05


# --------------------------------------------------------------------------- plan


class Plan:
    """What to collect: the needed types, their parent chains, and who hangs off whom."""

    def __init__(self, needs: Collection[str]) -> None:
        self.collectors: dict[str, Collector] = {}
        # `{type}/providers/Microsoft.Insights/diagnosticSettings` asks for the diagnostic settings
        # of that type only; a bare `Microsoft.Insights/diagnosticSettings` for every needed type
        # that can have them. Reading only what a rule judges saves one request per resource.
        self.diagnostics_of: set[str] = set()
        self.diagnostics_of_all = False
        # `{type}/providers/Microsoft.Insights/metrics[?...]`: the metric reads on each resource
        # of that type (platform metrics, or the custom ones the query names), merged by
        # namespace and aggregation so that each resource costs one request per namespace.
        self.metrics_of: dict[str, list[MetricQuery]] = {}
        metrics_of_all = False
        for need in needs:
            if not need or not need.strip("/"):
                continue
            asked = metrics_need(need)
            if asked is not None:
                self._add(asked[0])
                self._add(METRICS)
                for query in asked[1]:
                    self._ask_metrics(asked[0], query)
                continue
            if type_key(need.split("?", 1)[0]) == type_key(METRICS):
                metrics_of_all = True
                self._add(METRICS)
                continue
            base = diagnostics_base(need)
            if base is not None:
                self._add(base)
                self._add(DIAGNOSTIC_SETTINGS)
                self.diagnostics_of.add(type_key(base))
                continue
            if type_key(need) == type_key(DIAGNOSTIC_SETTINGS):
                self.diagnostics_of_all = True
            self._add(need)
        if metrics_of_all:  # a bare `Microsoft.Insights/metrics`: platform metrics of all
            for key in list(self.collectors):
                for query in PLATFORM_METRICS.get(key, ()):
                    self._ask_metrics(key, query)
        self.diagnostics: Collector | None = self.collectors.get(type_key(DIAGNOSTIC_SETTINGS))
        self.metrics: Collector | None = self.collectors.get(type_key(METRICS))
        self.top = [
            c
            for c in self.collectors.values()
            if not c.is_child and c.how not in ("diagnostics", "metrics")
        ]
        self.children: dict[str, list[Collector]] = {}
        self._heights: dict[str, int] = {}
        for c in self.collectors.values():
            p = (
                (c.follows or parent_type(c.type))
                if c.how not in ("diagnostics", "metrics")
                else None
            )
            if p:
                self.children.setdefault(type_key(p), []).append(c)

    def _ask_metrics(self, resource_type: str, query: MetricQuery) -> None:
        queries = self.metrics_of.setdefault(type_key(resource_type), [])
        for i, known in enumerate(queries):
            if (known.namespace.lower(), known.aggregation) == (
                query.namespace.lower(),
                query.aggregation,
            ):
                names = dict.fromkeys(known.names + query.names)
                queries[i] = MetricQuery(known.namespace, tuple(names), known.aggregation)
                return
        queries.append(query)

    def _add(self, resource_type: str) -> None:
        collector = collector_for(resource_type)
        key = type_key(collector.type)
        if key in self.collectors:
            return
        self.collectors[key] = collector
        if collector.how in ("diagnostics", "metrics"):
            return
        parent = collector.follows or parent_type(collector.type)
        if parent:
            self._add(parent)

    def height(self, collector: Collector) -> int:
        """How many reads, one after the other, hang below a read of `collector`'s type.

        Tasks run tallest first (a critical-path schedule): an APIM service list, with APIs,
        operations and operation policies queued behind it, starts before a flat list.
        """
        key = type_key(collector.type)
        if key not in self._heights:
            below = [self.height(c) for c in self.children.get(key, [])]
            if self.wants_diagnostics(collector) or self.metric_queries(collector):
                below.append(1)
            self._heights[key] = 1 + max(below, default=0)
        return self._heights[key]

    def descendants(self, collector: Collector) -> list[Collector]:
        out: list[Collector] = []
        for child in self.children.get(type_key(collector.type), []):
            out.append(child)
            out.extend(self.descendants(child))
        return out

    def metric_queries(self, collector: Collector) -> list[MetricQuery]:
        if self.metrics is None:
            return []
        return self.metrics_of.get(type_key(collector.type), [])

    def wants_diagnostics(self, collector: Collector) -> bool:
        if self.diagnostics is None or not collector.diagnostics:
            return False
        return self.diagnostics_of_all or type_key(collector.type) in self.diagnostics_of


# --------------------------------------------------------------------------- helpers


def to_json(model: Any) -> dict[str, Any]:
    """An SDK model as its ARM REST JSON."""
    if isinstance(model, dict):
        return model
    if isinstance(model, MutableMapping):  # new-style (TypeSpec) models
        return dict(model.as_dict())  # type: ignore[attr-defined]
    return dict(model.serialize(keep_readonly=True))  # old-style (msrest) models


def _items(result: Any) -> Iterable[Any]:
    """What an SDK list call returned, as an iterable of models.

    Most are pagers; a few APIM calls (`api_policy.list_by_api`) return one collection object.
    """
    if result is None:
        return ()
    if isinstance(result, MutableMapping):
        return result.get("value") or ()
    value = getattr(result, "value", None)
    if value is not None and not hasattr(result, "by_page"):
        return value
    return result


def _decoded(pipeline_response: Any) -> Any:
    """The JSON object the pipeline's ContentDecodePolicy already parsed from this response's
    text (the same `json.loads` of the same text), or None: then the caller parses the text.
    A body is parsed once, not once by the pipeline and again by prodcheck."""
    context = getattr(pipeline_response, "context", None)
    body = context.get("deserialized_data") if context is not None else None
    return body if isinstance(body, dict) else None


def _json(pipeline_response: Any) -> Any:
    """A response's JSON, parsed once (see `_decoded`); ValueError if it is not JSON."""
    body = _decoded(pipeline_response)
    if body is None:
        body = json.loads(pipeline_response.http_response.text())
    return body


def _page_body(sink: list[Any], what: str) -> Any:
    """The JSON of the one page the SDK just read (None if none was captured), checked to be
    ARM's list shape: an object whose `value` is a list of objects."""
    responses = list(sink)
    sink.clear()
    if len(responses) != 1:
        return None
    try:
        body = _json(responses[0])
    except (ValueError, TypeError) as exc:
        raise MalformedResponse(f"a page of {what} is not JSON: {one_line(str(exc))}") from exc
    _check_page(body, what)
    return body


def _check_page(body: Any, what: str) -> None:
    if not isinstance(body, dict):
        raise MalformedResponse(f"a page of {what} is not a JSON object")
    value = body.get("value")
    if not isinstance(value, list):
        shown = "missing" if value is None else f"a {type(value).__name__}, not a list"
        raise MalformedResponse(f"a page of {what} has no 'value' list ('value' is {shown})")
    if not all(isinstance(item, dict) for item in value):
        raise MalformedResponse(f"a page of {what} has an item that is not an object")


def _raw_items(body: Any, models: list[Any]) -> list[dict[str, Any]]:
    """The page's items as ARM sent them (see `capture_responses`), else the models as JSON."""
    value = body.get("value") if isinstance(body, dict) else None
    if isinstance(value, list) and len(value) == len(models):
        return value
    return [to_json(m) for m in models]


def planned_url(call: Callable[[], Any]) -> str | None:
    """The URL of the first GET an SDK list call sends (see `clients.plan_request`), without
    sending it; None if the call sent nothing."""
    with plan_request():
        try:
            result = call()
            if hasattr(result, "by_page"):
                for _ in result.by_page():
                    break
        except Planned as planned:
            return planned.url
    return None


def sdk_items(
    call: Callable[[], Any], client: Any, pages: Pages, url: str | None = None
) -> Iterator[dict[str, Any]]:
    """Run an SDK list call and yield its items as ARM JSON, page by page.

    The SDK builds the request (its path, api-version and query, exactly as it would send it);
    prodcheck sends it and reads the pages itself (`rest_pages`), as ARM sent them: the SDK's
    models of each page would cost more than the read and be thrown away. Only an SDK call that
    sends nothing to plan is read through the SDK's own pager (below). `url`, when given, is
    the URL the call would send (see `Run._child_url`): then the SDK is not asked.

    Every page is checked before the pager may follow its nextLink: a repeated link or a list
    longer than `pages` allows stops the read. A few SDK operations model a list as unpaged
    (metric alerts, action groups); should ARM send a nextLink there anyway, the rest of the
    pages are read rather than silently dropped.
    """
    url = url or planned_url(call)
    if url is not None:
        query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        api_version = next((v for k, v in query.items() if k.lower() == "api-version"), "")
        yield from rest_pages(client, url, api_version, pages=pages)
        return
    next_link = None
    with capture_responses() as sink:
        result = call()
        if hasattr(result, "by_page"):
            for page in result.by_page():
                models = list(page)
                body = _page_body(sink, pages.what)
                next_link = body.get("nextLink") if isinstance(body, dict) else None
                pages.page(next_link)
                yield from _raw_items(body, models)
        else:  # one collection object (a few APIM policy lists)
            models = list(_items(result))
            body = _page_body(sink, pages.what)
            next_link = body.get("nextLink") if isinstance(body, dict) else None
            pages.page(next_link)
            yield from _raw_items(body, models)
    if next_link and isinstance(next_link, str):
        api_version = str(getattr(getattr(client, "_config", None), "api_version", "") or "")
        yield from rest_pages(client, next_link, api_version, pages=pages)


def _send(client: Any, request: Any, *, pipeline_response: bool = False) -> Any:
    """Send `request` through `client`'s pipeline: its HTTP response, or with
    `pipeline_response` the pipeline's response, whose context holds the JSON the pipeline
    parsed (see `_decoded`)."""
    pipeline: Any = getattr(client, "_client", None)
    base = getattr(pipeline, "_base_url", None)
    if isinstance(base, str) and base and "{" not in base:
        # What the SDK client's `send_request` does (the URL made absolute against the client's
        # endpoint, then the client's pipeline), without the deep copy of the request it makes
        # first: prodcheck makes a new request for every send. A client whose endpoint is a
        # template (`{endpoint}`) goes through its own `send_request`.
        request.url = pipeline.format_url(request.url)
        return pipeline.send_request(request, _return_pipeline_response=pipeline_response)
    send = getattr(client, "send_request", None) or client._send_request
    if pipeline_response:
        return send(request, _return_pipeline_response=True)
    return send(request)


def rest_pages(
    client: Any,
    path: str,
    api_version: str,
    query: dict[str, str] | None = None,
    *,
    pages: Pages,
) -> Iterator[dict[str, Any]]:
    """GET an ARM collection through `client`'s pipeline and yield its items, page by page."""
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.exceptions import ARMErrorFormat

    url: str | None = path
    params: dict[str, str] = dict(query or {})
    if api_version and "api-version=" not in path.lower():
        params["api-version"] = api_version
    while url:
        answer = _send(client, HttpRequest("GET", url, params=params), pipeline_response=True)
        response = answer.http_response
        if response.status_code != 200:
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        try:
            body = _json(answer)
        except ValueError as exc:
            raise MalformedResponse(
                f"a page of {pages.what} is not JSON: {one_line(str(exc))}"
            ) from exc
        _check_page(body, pages.what)
        next_link = body.get("nextLink")
        pages.page(next_link)
        yield from body["value"]
        if not next_link:
            break
        url = next_link
        params = (
            {}
            if "api-version=" in next_link.lower() or not api_version
            else {"api-version": api_version}
        )


def rest_singleton(client: Any, path: str, api_version: str) -> Iterator[dict[str, Any]]:
    """GET the one child of a parent that has no list (a storage account's `managementPolicies/
    default`): the resource, or nothing when ARM answers 404 (the parent has none)."""
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.exceptions import ARMErrorFormat

    answer = _send(
        client,
        HttpRequest("GET", path, params={"api-version": api_version}),
        pipeline_response=True,
    )
    response = answer.http_response
    if response.status_code == 404:
        return
    if response.status_code != 200:
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)
    try:
        body = _json(answer)
    except ValueError as exc:
        raise MalformedResponse(f"GET {path} is not JSON: {one_line(str(exc))}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
        raise MalformedResponse(f"GET {path} returned no resource id")
    yield body


# Metric values hour by hour: 168 points a metric over the default week.
METRICS_INTERVAL = "PT1H"


def metrics_record_name(query: MetricQuery) -> str:
    """The name of the snapshot record of one metrics read: its namespace and metric names,
    joined by `~`, each `/` made `_` (`Microsoft.App_containerApps~CpuPercentage~...`)."""
    return "~".join(p.replace("/", "_") for p in (query.namespace, *query.names))


def metrics_timespan(window_seconds: float, now: datetime | None = None) -> str:
    """`{start}/{end}` (ISO 8601, UTC, whole seconds) of a window ending now."""
    from datetime import timedelta

    end = (now or datetime.now(UTC)).replace(microsecond=0)
    start = end - timedelta(seconds=window_seconds)
    return f"{start.strftime('%Y-%m-%dT%H:%M:%SZ')}/{end.strftime('%Y-%m-%dT%H:%M:%SZ')}"


def metrics_page(
    client: Any, path: str, api_version: str, query: dict[str, str], what: str
) -> dict[str, Any]:
    """GET one Metrics API answer through `client`'s pipeline: a JSON object whose `value` is
    a list of objects (not paged: the API answers in one response)."""
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.exceptions import ARMErrorFormat

    params = {**query, "api-version": api_version}
    answer = _send(client, HttpRequest("GET", path, params=params), pipeline_response=True)
    response = answer.http_response
    if response.status_code != 200:
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)
    try:
        body = _json(answer)
    except ValueError as exc:
        raise MalformedResponse(f"the answer of {what} is not JSON: {one_line(str(exc))}") from exc
    _check_page(body, what)
    if body.get("nextLink"):
        raise MalformedResponse(f"the answer of {what} has a nextLink: the API is not paged")
    return dict(body)


def _tags_match(resource: dict[str, Any], wanted: dict[str, str]) -> bool:
    if not wanted:
        return True
    tags = resource.get("tags") or {}
    if not isinstance(tags, dict):
        return False
    folded = {str(k).lower(): v for k, v in tags.items()}
    return all(folded.get(k.lower()) == v for k, v in wanted.items())


def _under(resource_id: str, scope: str) -> bool:
    rid, sc = resource_id.lower().rstrip("/"), scope.lower().rstrip("/")
    return rid == sc or rid.startswith(sc + "/")


def _task_read(args: tuple[Any, ...]) -> tuple[Collector, str] | None:
    """The collection a task reads: (its collector, its scope), from the task's arguments."""
    collector = args[0] if args and isinstance(args[0], Collector) else None
    if collector is None:
        return None
    for arg in reversed(args[1:]):
        if isinstance(arg, dict) and isinstance(arg.get("id"), str):
            return collector, arg["id"]
        if isinstance(arg, str) and arg.lower().startswith("/subscriptions/"):
            return collector, arg
    return None


def _task_subscription(args: tuple[Any, ...]) -> str:
    """The subscription (lower case) a task reads in, '' if none."""
    read = _task_read(args)
    if read is None:
        return ""
    parts = read[1].split("/")
    return parts[2].lower() if len(parts) > 2 else ""


# --------------------------------------------------------------------------- the run


# The scheduler's chooser when nothing paces the reads: every subscription can send at once.
_UNPACED = RateLimiter(rate=0)


class Run:
    def __init__(
        self,
        options: CollectOptions,
        plan: Plan,
        clients: Clients,
        stats: RequestStats,
        progress: Progress,
        subscriptions: list[str],
        deadline: Deadline | None = None,
        limiter: RateLimiter | None = None,
        resource_graph: bool = False,
    ) -> None:
        self.options = options
        self.deadline = deadline or Deadline(None)
        # Every metrics read of the run covers the same window, ending when the run starts.
        self.metrics_timespan = metrics_timespan(options.metrics_window)
        self.plan = plan
        self.clients = clients
        self.stats = stats
        self.progress = progress
        self.subscriptions = subscriptions
        self.groups = list(dict.fromkeys(options.resource_groups))
        self.tags = dict(options.tags)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._order = itertools.count()
        # The scheduler (see `_next_task`): a queue per subscription, tallest task first; the
        # requests in flight per subscription; when each was last served (for turns).
        self.limiter = limiter
        workers, self.cap = options.caps(len(subscriptions))
        self._sched = threading.Condition(threading.Lock())
        self._queues: dict[str, list[tuple[int, int, Any, tuple[Any, ...]]]] = {}
        self._in_flight: dict[str, int] = {}
        self._served: dict[str, int] = {}
        self._serving = itertools.count()
        # Whether a free worker already waits for the soonest bucket to refill.
        self._timekeeper = False
        self._closing = False
        self._workers = [
            threading.Thread(target=self._work, name=f"prodcheck-collect-{i}", daemon=True)
            for i in range(workers)
        ]
        self.resources: dict[str, dict[str, Any]] = {}
        self.coverage: list[dict[str, Any]] = []
        self._collections: set[tuple[str, str]] = set()
        self._api_versions: dict[str, dict[str, str]] = {}
        self._api_locks: dict[str, threading.Lock] = {}
        # (SDK, child type) -> (endpoint, path after the parent's, query): see `_child_url`.
        self._child_urls: dict[tuple[str, str], tuple[str, str, str]] = {}
        # Tasks submitted and not yet finished (queued, on their way to a worker, or running),
        # by submission number; and whether the run was cut off at the deadline (then nothing
        # a straggling task finds is kept).
        self._open: dict[int, tuple[Any, tuple[Any, ...]]] = {}
        self.stopped = False
        # Tasks queued so far and still open, per subscription (for progress).
        self._sub_pending: dict[str, int] = {}
        # The top-level types listed through Resource Graph (see resource_graph.py), if any.
        self.graph: Listing | None = None
        if resource_graph:
            graph_types = [c for c in plan.top if from_graph(c.type)]
            if graph_types:
                self.graph = Listing(self, graph_types)

    # ---- scheduling

    def submit(self, height: int, fn: Any, *args: Any) -> None:
        """Queue a task in its subscription's queue, where taller ones (more reads hanging below
        them) run first; see `_next_task` for how the subscriptions share the workers."""
        subscription = _task_subscription(args)
        with self._lock:
            if self.stopped:
                return
            self._pending += 1
            self._sub_pending[subscription] = self._sub_pending.get(subscription, 0) + 1
            number = next(self._order)
            # Open from now on: a run cut off before a worker takes it still records its read.
            self._open[number] = (fn, args)
        with self._sched:
            heapq.heappush(self._queues.setdefault(subscription, []), (-height, number, fn, args))
            self._sched.notify()

    def _next_task(self) -> tuple[str, int, Any, tuple[Any, ...]] | None:
        """The next task for a free worker, waiting until there is one; None once closing.

        Fair scheduling across subscriptions: a subscription with `cap` requests in flight gets
        no more workers; among the others, one whose ARM bucket can send now (counting the
        requests already on their way) goes before one that would only wait in the limiter,
        then the one with fewest requests in flight, then the one served longest ago. So a
        large subscription, paced by its own bucket, holds at most `cap` workers and never
        the ones a small subscription could use, and the small ones finish early.
        """
        with self._sched:
            while not self._closing:
                queues = self._queues
                in_flight = self._in_flight
                served = self._served
                cap = self.cap
                candidates = (
                    (subscription, flying, served.get(subscription, -1))
                    for subscription, queue in queues.items()
                    if queue and (flying := in_flight.get(subscription, 0)) < cap
                )
                picked = (self.limiter or _UNPACED).choose(candidates)
                if picked is not None and picked[1] <= 0:
                    chosen, _, looked_at = picked
                    queue = queues[chosen]
                    _, number, fn, args = heapq.heappop(queue)
                    in_flight[chosen] = in_flight.get(chosen, 0) + 1
                    served[chosen] = next(self._serving)
                    if looked_at > 1 or queue:
                        # Another task may be sendable, or due soonest: a waiting worker looks
                        # (and, if none is, keeps the time until the next refill).
                        self._sched.notify()
                    return chosen, number, fn, args
                # Nothing can be sent now: wait for a task to end or arrive, or for the
                # soonest bucket to refill. One worker waits for the refill; the others wait
                # to be woken (or a second at most), so that a refill wakes one worker, not all.
                if picked is not None and not self._timekeeper:
                    self._timekeeper = True
                    try:
                        self._sched.wait(min(picked[1], 1.0))
                    finally:
                        self._timekeeper = False
                else:
                    self._sched.wait(1.0)
            return None

    def _work(self) -> None:
        while True:
            task = self._next_task()
            if task is None:
                return
            subscription, number, fn, args = task
            try:
                with self._lock:
                    if self.stopped:
                        continue
                fn(*args)
            except BaseException as exc:  # a bug in a task must not hang or abort the run
                if not self.stopped:
                    print(
                        f"prodcheck: internal error while collecting: {one_line_out(repr(exc))}",
                        file=sys.stderr,
                    )
                    self._task_broke(args, exc)
            finally:
                with self._sched:
                    self._in_flight[subscription] -= 1
                    self._sched.notify()
                self.progress.requests(self.stats.requests)
                with self._lock:
                    self._open.pop(number, None)
                    self._pending -= 1
                    self._sub_pending[subscription] -= 1
                    finished = self._sub_pending[subscription] == 0
                    if self._pending == 0:
                        self._idle.notify_all()
                if finished and subscription in self.subscriptions:
                    self.progress.subscription_done()

    def _close(self) -> None:
        """Let the workers go: they take no further task."""
        with self._sched:
            self._closing = True
            for queue in self._queues.values():
                queue.clear()
            self._sched.notify_all()

    def run(self, fill: bool = True) -> None:
        """Read everything; with `fill`, then record the child types no parent brought as
        read and empty (a caller merging several runs does that once, over all of them).

        While it reads, the interpreter is handed from thread to thread less often (see
        `SWITCH_INTERVAL`)."""
        previous = sys.getswitchinterval()
        sys.setswitchinterval(max(previous, SWITCH_INTERVAL))
        try:
            self._run(fill)
        finally:
            sys.setswitchinterval(previous)

    def _run(self, fill: bool) -> None:
        on_arm = [c for c in self.plan.top if self.graph is None or c not in self.graph.listed]
        for subscription in self.subscriptions:
            scopes = (
                [(f"/subscriptions/{subscription}/resourceGroups/{g}", g) for g in self.groups]
                if self.groups
                else [(f"/subscriptions/{subscription}", None)]
            )
            for collector in on_arm:
                for scope, group in scopes:
                    height = self.plan.height(collector)
                    self.submit(height, self.list_top, collector, subscription, group, scope)
        if self.graph is not None:
            self.graph.start()
        for worker in self._workers:
            worker.start()
        with self._lock:
            while self._pending:
                # Past the deadline every new attempt fails at once and every open one times
                # out; a read still open a moment later (an answer trickling in byte by byte)
                # is abandoned.
                left = self.deadline.remaining() + _GRACE
                if left <= 0:
                    break
                self._idle.wait(min(left, 1.0))
        if self._pending:
            self._stop_at_deadline()
            return
        self._close()
        for worker in self._workers:
            worker.join()
        if fill:
            self._fill_empty_child_types()

    def _stop_at_deadline(self) -> None:
        """Abandon the tasks still running or queued: each becomes a failed read, and whatever
        they find from now on is not kept (their threads are daemons and die with the process).
        """
        with self._lock:
            self.stopped = True
            open_tasks = list(self._open.values())
        self._close()
        with self._lock:
            recorded = {
                (type_key(r["resourceType"]), str(r["scope"]).lower()) for r in self.coverage
            }
            for fn, args in open_tasks:
                if fn == self.get_generic:  # only the listing's envelope was stored: drop it
                    self.resources.pop(str(args[1]).lower(), None)
        late = self.deadline.exceeded("this read finished")
        for _, args in open_tasks:
            read = _task_read(args)
            if read and (type_key(read[0].type), read[1].lower()) not in recorded:
                self._task_broke(args, late, force=True)
        # A top-level list no task recorded (one that a Resource Graph query was still reading)
        # is a failed read too.
        with self._lock:
            recorded = {
                (type_key(r["resourceType"]), str(r["scope"]).lower()) for r in self.coverage
            }
        for collector in self.plan.top:
            for scope in self._listing_scopes():
                if (type_key(collector.type), scope.lower()) not in recorded:
                    self._failed(collector, scope, late, 0, force=True)
        self._fail_child_types(late)

    # ---- bookkeeping

    def _claim(self, resource_type: str, scope: str) -> bool:
        """True the first time a collection is asked for: each is read once."""
        key = (type_key(resource_type), scope.lower())
        with self._lock:
            if key in self._collections:
                return False
            self._collections.add(key)
            return True

    def _task_broke(self, args: tuple[Any, ...], exc: BaseException, force: bool = False) -> None:
        """A task raised outside its own error handling: record its read as failed.

        Without a record the rules would judge the missing data as if there were none; with
        one, every verdict it could change is ERROR.
        """
        read = _task_read(args)
        if read is None:
            return
        collector, scope = read
        try:
            self._failed(collector, scope, exc, 0, force=force)
        except Exception:
            with self._lock:
                self.coverage.append(
                    Failure(0, "InternalError", one_line(repr(exc), 500), "").record(
                        collector.type, scope
                    )
                )

    def _ok(self, collector: Collector, scope: str, count: int, force: bool = False) -> None:
        record = {
            "resourceType": collector.type,
            "scope": scope,
            "status": "ok",
            "count": count,
        }
        with self._lock:
            if force or not self.stopped:
                self.coverage.append(record)

    def _failed(
        self,
        collector: Collector,
        scope: str,
        exc: BaseException,
        count: int,
        force: bool = False,
    ) -> None:
        failure = describe(
            exc, collector.read_permission, self.options.retry_total, self.options.timeout
        )
        records = [failure.record(collector.type, scope, count)]
        for descendant in self.plan.descendants(collector):
            records.append(
                Failure(
                    failure.status_code,
                    failure.error_code,
                    f"not collected: {collector.type} could not be read in {scope}: "
                    f"{failure.message}",
                    failure.permission,
                ).record(descendant.type, scope)
            )
        with self._lock:
            if force or not self.stopped:
                self.coverage.extend(records)

    def _accept(self, item: dict[str, Any], collector: Collector, top_level: bool) -> bool:
        """Store a resource that arrived; False for one filtered out or already stored."""
        rid = item.get("id")
        if not isinstance(rid, str) or not rid:
            return False
        if top_level and collector.tagged and not _tags_match(item, self.tags):
            return False
        drop_secrets(item)
        with self._lock:
            if self.stopped or rid.lower() in self.resources:
                return False
            self.resources[rid.lower()] = item
        self.progress.found(collector.service)
        return True

    def _arrived(self, collector: Collector, item: dict[str, Any]) -> None:
        """A resource was stored: schedule what hangs off it."""
        for child in self.plan.children.get(type_key(collector.type), []):
            self.submit(self.plan.height(child), self.list_children, child, item)
        if self.plan.wants_diagnostics(collector):
            assert self.plan.diagnostics is not None
            self.submit(1, self.list_diagnostics, self.plan.diagnostics, item)
        for query in self.plan.metric_queries(collector):
            assert self.plan.metrics is not None
            self.submit(1, self.read_metrics, self.plan.metrics, item, query)

    # ---- tasks

    def _pages(self, collector: Collector, scope: str) -> Pages:
        return Pages(f"{collector.type} in {scope}", self.options.max_pages)

    def list_top(
        self, collector: Collector, subscription: str, group: str | None, scope: str
    ) -> None:
        if not self._claim(collector.type, scope):
            return
        count = 0
        try:
            for item in self._top_items(collector, subscription, group):
                if self._accept(item, collector, top_level=True):
                    count += 1
                    if collector.how == "generic":
                        height = self.plan.height(collector)
                        self.submit(height, self.get_generic, collector, item["id"], subscription)
                    else:
                        self._arrived(collector, item)
        except Exception as exc:
            if self._unregistered(exc):
                self._ok(collector, scope, count)
            else:
                self._failed(collector, scope, exc, count)
            return
        self._ok(collector, scope, count)

    def _top_items(
        self, collector: Collector, subscription: str, group: str | None
    ) -> Iterator[dict[str, Any]]:
        where = f"/subscriptions/{subscription}" + (f"/resourceGroups/{group}" if group else "")
        pages = self._pages(collector, where)
        if collector.how == "sdk":
            client = self.clients.get(collector.client, subscription)
            assert collector.by_subscription is not None
            assert collector.by_resource_group is not None
            by_group, by_subscription = collector.by_resource_group, collector.by_subscription
            if group:
                yield from sdk_items(lambda: by_group(client, group), client, pages)
            else:
                yield from sdk_items(lambda: by_subscription(client), client, pages)
        elif collector.how == "rest":
            assert collector.api_version is not None
            yield from rest_pages(
                self.clients.get("resources", subscription),
                url_path(f"{where}/providers/{collector.type}"),
                collector.api_version,
                dict(collector.query),
                pages=pages,
            )
        else:  # generic: the resources API lists ids (no properties); get_generic reads each
            client = self.clients.get("resources", subscription)
            type_filter = f"resourceType eq '{collector.type}'"
            if group:
                yield from sdk_items(
                    lambda: client.resources.list_by_resource_group(group, filter=type_filter),
                    client,
                    pages,
                )
            else:
                yield from sdk_items(
                    lambda: client.resources.list(filter=type_filter), client, pages
                )

    def get_generic(self, collector: Collector, resource_id: str, subscription: str) -> None:
        """Read one resource of a type prodcheck has no collector for, by id."""
        try:
            api_version = self.api_version_for(collector.type, subscription)
            model = self.clients.get("resources", subscription).resources.get_by_id(
                url_path(resource_id), api_version=api_version
            )
            item = drop_secrets(to_json(model))
            if not item.get("id"):
                raise MalformedResponse(f"GET {resource_id} returned no resource id")
        except Exception as exc:
            with self._lock:  # the listing's envelope is not the resource: do not keep it
                self.resources.pop(resource_id.lower(), None)
            self._failed(collector, resource_id, exc, 0)
            return
        with self._lock:
            if self.stopped:
                return
            self.resources[resource_id.lower()] = item
        self._arrived(collector, item)

    def list_children(self, collector: Collector, parent_item: dict[str, Any]) -> None:
        parent = Parent.from_id(parent_item["id"])
        if collector.how == "catalogue":
            self.list_catalogue(collector, parent, parent_item)
            return
        if not self._claim(collector.type, parent.id):
            return
        if collector.when is not None and not collector.when(parent_item):
            self._ok(collector, parent.id, 0)  # a parent that cannot have this child type
            return
        count = 0
        try:
            for item in self._child_items(collector, parent):
                if self._accept(item, collector, top_level=False):
                    count += 1
                    self._arrived(collector, item)
        except Exception as exc:
            self._failed(collector, parent.id, exc, count)
            return
        self._ok(collector, parent.id, count)

    def list_catalogue(
        self, collector: Collector, parent: Parent, parent_item: dict[str, Any]
    ) -> None:
        """A catalogue of the region `parent_item` is in, read once per region."""
        region = str(parent_item.get("location") or "").replace(" ", "").lower()
        if not region:
            return
        ns, kind = collector.type.split("/")[0], collector.type.split("/")[-1]
        path = f"/subscriptions/{parent.subscription}/providers/{ns}/locations/{region}/{kind}"
        if not self._claim(collector.type, path):
            return
        count = 0
        try:
            assert collector.api_version is not None
            for item in rest_pages(
                self.clients.get("resources", parent.subscription),
                url_path(path),
                collector.api_version,
                pages=self._pages(collector, path),
            ):
                if self._accept(with_catalogue_id(item, path), collector, top_level=False):
                    count += 1
        except Exception as exc:
            self._failed(collector, path, exc, count)
            return
        self._ok(collector, path, count)

    def _child_items(self, collector: Collector, parent: Parent) -> Iterator[dict[str, Any]]:
        pages = self._pages(collector, parent.id)
        if collector.how == "sdk":
            assert collector.children is not None
            client = self.clients.get(collector.client, parent.subscription)
            children = collector.children
            call = lambda: children(client, parent)  # noqa: E731
            yield from sdk_items(call, client, pages, self._child_url(collector, parent, call))
            return
        api_version = collector.api_version or self.api_version_for(
            collector.type, parent.subscription
        )
        if collector.singleton:
            path = f"{url_path(parent.id)}/{last_segment(collector.type)}/{collector.singleton}"
            client = self.clients.get("resources", parent.subscription)
            yield from rest_singleton(client, path, api_version)
            return
        yield from rest_pages(
            self.clients.get("resources", parent.subscription),
            url_path(parent.id) + "/" + last_segment(collector.type),
            api_version,
            dict(collector.query),
            pages=pages,
        )

    def list_diagnostics(self, collector: Collector, resource: dict[str, Any]) -> None:
        rid = resource["id"]
        if not self._claim(collector.type, rid):
            return
        subscription = Parent.from_id(rid).subscription
        count = 0
        try:
            assert collector.api_version is not None
            for item in rest_pages(
                self.clients.get(collector.client, subscription),
                url_path(rid) + "/providers/" + DIAGNOSTIC_SETTINGS,
                collector.api_version,
                pages=self._pages(collector, rid),
            ):
                if self._accept(item, collector, top_level=False):
                    count += 1
        except Exception as exc:
            if self._not_supported(exc):
                self._ok(collector, rid, count)
            else:
                self._failed(collector, rid, exc, count)
            return
        self._ok(collector, rid, count)

    def read_metrics(
        self, collector: Collector, resource: dict[str, Any], query: MetricQuery
    ) -> None:
        """One Metrics API read on `resource`: stored as one `Microsoft.Insights/metrics`
        record holding ARM's answer (docs/snapshot-format.md#metrics)."""
        rid = resource["id"]
        name = metrics_record_name(query)
        if not self._claim(collector.type, f"{rid}/{name}"):
            return
        subscription = Parent.from_id(rid).subscription
        try:
            assert collector.api_version is not None
            body = metrics_page(
                self.clients.get(collector.client, subscription),
                url_path(rid) + "/providers/" + METRICS,
                collector.api_version,
                {
                    "metricnamespace": query.namespace,
                    "metricnames": ",".join(query.names),
                    "aggregation": query.aggregation,
                    "timespan": self.metrics_timespan,
                    "interval": METRICS_INTERVAL,
                },
                f"{METRICS} of {rid}",
            )
            record = {
                "id": f"{rid}/providers/{METRICS}/{name}",
                "name": name,
                "type": METRICS,
                "properties": body,
            }
            count = 1 if self._accept(record, collector, top_level=False) else 0
        except Exception as exc:
            self._failed(collector, rid, exc, 0)
            return
        self._ok(collector, rid, count)

    # ---- the URLs of SDK child lists

    def _child_url(
        self, collector: Collector, parent: Parent, call: Callable[[], Any]
    ) -> str | None:
        """The URL the SDK call `call` would send to list `collector`'s children of `parent`.

        The SDK is asked once per child type (`planned_url`); when its URL is the parent's id
        followed by a suffix and a query that name nothing of that parent (`/privateDnsZoneGroups
        ?api-version=...`), the same suffix and query are put after each other parent's id,
        whose path neither the SDK's quoting nor prodcheck's changes; otherwise the SDK is asked
        every time. Building a request through the SDK costs about as much as the read.
        """
        key = (collector.client, type_key(collector.type))
        parent_path = url_path(parent.id).rstrip("/")
        plain = bool(_PLAIN_PATH.match(parent_path))
        with self._lock:
            known = self._child_urls.get(key)
        if known is not None and plain:
            base, suffix, query = known
            return f"{base}{parent_path}{suffix}" + (f"?{query}" if query else "")
        url = planned_url(call)
        if url is None or known is not None or not plain:
            return url
        parts = urlsplit(url)
        suffix = parts.path[len(parent_path) :]
        named = [parent.subscription, parent.resource_group, *parent.names]
        if (
            parts.path.startswith(parent_path)
            and suffix.startswith("/")
            and not parts.fragment
            and not any(n and n.lower() in parts.query.lower() for n in named)
        ):
            with self._lock:
                self._child_urls.setdefault(
                    key, (f"{parts.scheme}://{parts.netloc}", suffix, parts.query)
                )
        return url

    # ---- api-versions for types without a collector

    def api_version_for(self, resource_type: str, subscription: str) -> str:
        """The provider's newest stable api-version of `resource_type` (one lookup per provider)."""
        ns = namespace(resource_type).lower()
        with self._lock:
            lock = self._api_locks.setdefault(ns, threading.Lock())
        with lock:
            versions = self._api_versions.get(ns)
            if versions is None:
                client = self.clients.get("resources", subscription)
                provider = to_json(client.providers.get(namespace(resource_type)))
                versions = {}
                for entry in provider.get("resourceTypes") or []:
                    listed = [str(v) for v in entry.get("apiVersions") or []]
                    stable = sorted((v for v in listed if "preview" not in v.lower()), reverse=True)
                    chosen = stable[0] if stable else (sorted(listed, reverse=True) or [""])[0]
                    if chosen:
                        versions[str(entry.get("resourceType", "")).lower()] = chosen
                self._api_versions[ns] = versions
        wanted = resource_type.split("/", 1)[1].lower() if "/" in resource_type else ""
        version = versions.get(wanted)
        if not version:
            raise LookupError(
                f"provider {namespace(resource_type)} lists no api-version for {resource_type}"
            )
        return version

    # ---- completion

    @staticmethod
    def _unregistered(exc: BaseException) -> bool:
        """A provider not registered in the subscription: none of its resources can exist there."""
        status = getattr(exc, "status_code", None)
        code = str(getattr(getattr(exc, "error", None), "code", "") or "")
        return status == 409 and code == "MissingSubscriptionRegistration"

    @staticmethod
    def _not_supported(exc: BaseException) -> bool:
        """ARM says the resource's type cannot have diagnostic settings: it has none."""
        from prodcheck.collect.failures import describe

        if getattr(exc, "status_code", None) != 400:
            return False
        return describe(exc, "", 0).error_code == "ResourceTypeNotSupported"

    def _listing_scopes(self) -> list[str]:
        return listing_scopes(self.subscriptions, self.groups)

    def _fill_empty_child_types(self) -> None:
        """A child type with no parent anywhere in a listed scope: collected, and empty.

        Only true once every task has run: see `_fail_child_types` for a run cut off.
        """
        with self._lock:
            records = empty_child_records(self.plan, self.coverage, self._listing_scopes())
            if not self.stopped:
                self.coverage.extend(records)

    def _fail_child_types(self, late: BaseException) -> None:
        """A run cut off at the deadline: every child and extension type is incomplete.

        A parent that was stored may not have had its children asked for yet (its task was
        queued, running, or about to queue them), so no child type can be taken as read, let
        alone as empty: each is a failed read in every listed scope, and the verdicts that read
        one are ERROR.
        """
        records = failed_records(
            _child_collectors(self.plan), self._listing_scopes(), late, self.options
        )
        with self._lock:
            self.coverage.extend(records)


def listing_scopes(subscriptions: Iterable[str], groups: list[str]) -> list[str]:
    """The scopes top-level types are listed in: each subscription, or each of its groups."""
    return [
        f"/subscriptions/{s}" + (f"/resourceGroups/{g}" if g else "")
        for s in subscriptions
        for g in (groups or [""])
    ]


def _child_collectors(plan: Plan) -> list[Collector]:
    extras = [c for c in plan.collectors.values() if c.is_child]
    if plan.diagnostics is not None:
        extras.append(plan.diagnostics)
    if plan.metrics is not None:
        extras.append(plan.metrics)
    return extras


def empty_child_records(
    plan: Plan, coverage: list[dict[str, Any]], scopes: list[str]
) -> list[dict[str, Any]]:
    """`ok` records, count 0, for each child type with no record at all under a listed scope
    (no parent of it was found there). One pass over the coverage: a record's scope is under a
    listed scope when its first segments (`/subscriptions/{s}`, or with `/resourceGroups/{g}`)
    are that scope."""
    keys = {type_key(c.type) for c in _child_collectors(plan)}
    seen: dict[str, set[str]] = {k: set() for k in keys}
    for record in coverage:
        key = type_key(record["resourceType"])
        if key not in seen:
            continue
        parts = str(record["scope"]).lower().rstrip("/").split("/")
        seen[key].add("/".join(parts[:3]))
        if len(parts) >= 5:
            seen[key].add("/".join(parts[:5]))
    records: list[dict[str, Any]] = []
    for collector in _child_collectors(plan):
        found = seen[type_key(collector.type)]
        for scope in scopes:
            if scope.lower().rstrip("/") not in found:
                records.append(
                    {"resourceType": collector.type, "scope": scope, "status": "ok", "count": 0}
                )
    return records


def failed_records(
    collectors: Iterable[Collector],
    scopes: list[str],
    exc: BaseException,
    options: CollectOptions,
) -> list[dict[str, Any]]:
    """A failed record for each collector in each scope, all for the same reason."""
    records: list[dict[str, Any]] = []
    for collector in collectors:
        failure = describe(exc, collector.read_permission, options.retry_total, options.timeout)
        records += [failure.record(collector.type, s) for s in scopes]
    return records


# --------------------------------------------------------------------------- entry point


def _quiet_sdk_logging() -> None:
    """The Azure SDKs log credential and retry trouble as warnings; with no logging configured,
    Python prints those on stderr. prodcheck reports the trouble itself (one line, or coverage),
    so give the `azure` loggers a handler of their own: nothing is printed unless the embedding
    program configured logging, whose handlers still receive the records."""
    logger = logging.getLogger("azure")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    # Whatever handler receives them, the SDK's records carry no credential.
    if not any(isinstance(f, MaskingFilter) for f in logger.filters):
        logger.addFilter(MaskingFilter())


def _validate(options: CollectOptions) -> None:
    for s in options.subscriptions:
        if not _GUID.match(s.strip()):
            raise UserError(
                f"{s!r} is not a subscription id: give the subscription's GUID "
                "(az account list --query '[].id' -o tsv)"
            )
    for s in options.exclude_subscriptions:
        if not _GUID.match(s.strip()):
            raise UserError(f"--exclude-subscription {s!r} is not a subscription id (a GUID)")
    if (options.all_subscriptions or options.management_group) and options.subscriptions:
        raise UserError(
            "--subscription names the subscriptions itself: drop it, or drop "
            "--all-subscriptions / --management-group"
        )
    if options.all_subscriptions and options.management_group:
        raise UserError("give either --all-subscriptions or --management-group, not both")
    if options.exclude_subscriptions and not (
        options.all_subscriptions or options.management_group
    ):
        raise UserError(
            "--exclude-subscription applies to --all-subscriptions or --management-group"
        )
    if options.management_group is not None and not _MANAGEMENT_GROUP.match(
        options.management_group
    ):
        raise UserError(
            f"{options.management_group!r} is not a management group id "
            "(letters, digits, - _ . ( ), up to 90)"
        )
    for g in options.resource_groups:
        if not _GROUP.match(g):
            raise UserError(f"{g!r} is not a resource group name (letters, digits, - _ . ( ))")
    for name, cap in (
        ("concurrency", options.concurrency),
        ("subscription_concurrency", options.subscription_concurrency),
        ("collect_processes", options.collect_processes),
    ):
        if cap is not None and cap < 1:
            raise UserError(f"{name} must be at least 1, not {cap}")
    if options.retry_total < 0 or not options.timeout > 0:
        raise UserError("retries must be 0 or more and the timeout more than 0 seconds")
    if options.deadline is not None and not options.deadline > 0:
        raise UserError(f"the deadline must be more than 0 seconds, not {options.deadline}")
    if options.resource_graph not in GRAPH_MODES:
        raise UserError(
            f"--resource-graph {options.resource_graph!r} is not known: use auto, always or never"
        )
    if options.max_pages < 1 or not options.max_retry_after >= 0:
        raise UserError("max_pages must be at least 1 and max_retry_after 0 seconds or more")
    if not 3600 <= options.metrics_window <= MAX_METRICS_WINDOW:
        raise UserError(
            f"the metrics window must be 1 hour to 93 days, not {options.metrics_window} seconds"
        )
    for k, v in options.tags.items():
        if not isinstance(k, str) or not k or not isinstance(v, str):
            raise UserError(f"bad tag filter {k!r}={v!r}: use KEY=VALUE")


@dataclass
class Merged:
    """What one run, or the runs of several processes put together, collected."""

    resources: dict[str, dict[str, Any]]
    coverage: list[dict[str, Any]]
    graph: dict[str, Any] | None
    requests: int = 0
    throttled: int = 0
    limiter_waited: float = 0.0
    graph_queries: int = 0
    # The peak memory of each worker process, when several collected (KiB).
    worker_peak_rss_kib: list[int] = field(default_factory=list)


def _check_subscriptions(
    clients: Clients, subscriptions: list[str], cloud: Cloud, options: CollectOptions
) -> None:
    """Check every named subscription, several at once; the first wrong one (in the order
    given) is the error."""
    if len(subscriptions) <= 1:
        for subscription in subscriptions:
            _check_subscription(clients, subscription, cloud)
        return
    from concurrent.futures import ThreadPoolExecutor

    total, _ = options.caps(len(subscriptions))
    with ThreadPoolExecutor(max_workers=min(total, len(subscriptions))) as pool:
        futures = [pool.submit(_check_subscription, clients, s, cloud) for s in subscriptions]
        for future in futures:
            future.result()


def _check_subscription(clients: Clients, subscription: str, cloud: Cloud) -> None:
    """One GET per subscription before collecting: a wrong id is the user's to fix."""
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest

    try:
        response = _send(
            clients.get("resources", subscription),
            HttpRequest(
                "GET", f"/subscriptions/{subscription}", params={"api-version": _SUBSCRIPTION_API}
            ),
        )
    except HttpResponseError:
        return
    except Exception:  # connection trouble: the collection will record it per read
        return
    if response.status_code == 404:
        raise UserError(
            f"subscription {subscription} was not found at {cloud.arm_endpoint}, or the identity "
            "cannot see it: check the id (az account list) and the cloud (--cloud)"
        )
    if response.status_code == 401:
        raise UserError(
            f"Resource Manager refused the token for subscription {subscription}: "
            f"{one_line(response.text())}; is the subscription in another tenant? use --tenant"
        )


def _tenant_subscriptions(clients: Clients, options: CollectOptions) -> list[str]:
    """The subscriptions of `--all-subscriptions` (every one the identity can read) or of
    `--management-group` (its descendants), minus the excluded ones and those that are off.

    Not knowing the scope is not a failed read that an audit can report: it is exit 2.
    """
    from prodcheck.collect.bounds import Pages

    client = clients.get("resources", _TENANT)
    if options.management_group:
        where = f"management group {options.management_group}"
        path = url_path(
            f"/providers/Microsoft.Management/managementGroups/{options.management_group}"
            "/descendants"
        )
        api_version = _MANAGEMENT_GROUPS_API
    else:
        where = "the tenant"
        path, api_version = "/subscriptions", _SUBSCRIPTION_API
    found: dict[str, str] = {}
    off: list[str] = []
    try:
        for item in rest_pages(
            client, path, api_version, pages=Pages(f"the subscriptions of {where}", 1000)
        ):
            if options.management_group:
                if not str(item.get("type", "")).lower().endswith("/subscriptions"):
                    continue  # a management group below it: its subscriptions are listed too
                sub, name, state = str(item.get("name", "")), "", ""
                props = item.get("properties")
                if isinstance(props, dict):
                    name = str(props.get("displayName") or "")
            else:
                sub = str(item.get("subscriptionId", ""))
                name, state = str(item.get("displayName") or ""), str(item.get("state") or "")
            if not _GUID.match(sub):
                continue
            if state.lower() in ("disabled", "deleted"):
                off.append(f"{name or sub} ({state})")
                continue
            found[sub.lower()] = name
    except Exception as exc:
        failure = describe(exc, _LIST_PERMISSION, options.retry_total, options.timeout)
        raise UserError(
            f"could not list the subscriptions of {where}: {failure.message}; grant the "
            f"identity Reader on them ({failure.permission}), or name them with --subscription"
        ) from None
    excluded = {s.strip().lower() for s in options.exclude_subscriptions}
    subscriptions = sorted(s for s in found if s not in excluded)
    if off:
        print(
            f"prodcheck: not auditing subscriptions that are off: {', '.join(off)}", file=sys.stderr
        )
    if not subscriptions:
        raise UserError(
            f"no subscription to audit in {where}"
            + (" once the excluded ones are left out" if found else "")
            + ": check the identity's role assignments (az role assignment list --assignee ...)"
        )
    if not options.quiet:
        print(
            f"prodcheck: auditing {len(subscriptions)} subscriptions of {where}"
            + (f" ({len(found) - len(subscriptions)} excluded)" if excluded & set(found) else ""),
            file=sys.stderr,
        )
    return subscriptions


def collect(
    options: CollectOptions, needs: Collection[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The snapshot (see `prodcheck.collect.collect_snapshot`) and how the collection went."""
    _validate(options)
    _quiet_sdk_logging()
    cloud = options.resolved_cloud()
    if not cloud.arm_endpoint.lower().startswith("https://"):
        raise UserError(
            f"the Resource Manager endpoint must be an https:// URL, not {cloud.arm_endpoint!r}"
        )
    subscriptions = list(dict.fromkeys(s.strip().lower() for s in options.subscriptions))
    tenant_wide = options.all_subscriptions or bool(options.management_group)
    if not subscriptions and not tenant_wide:
        sub_id, sub_name = cli_default_subscription()
        print(
            f"prodcheck: no --subscription given; using the Azure CLI's default subscription "
            f"{sub_name + ' ' if sub_name else ''}({sub_id})",
            file=sys.stderr,
        )
        subscriptions = [sub_id.lower()]

    inner, mode = build_credential(options, cloud)
    credential = CachedCredential(inner, options.tenant)
    check_credential(credential, mode, cloud)

    started = time.monotonic()
    deadline = Deadline(options.deadline)
    stats = RequestStats()
    limiter = RateLimiter(
        options.rate_limit, options.rate_burst, max_pause=max(options.max_retry_after, 0.0)
    )
    clients = Clients(credential, cloud, options, limiter, stats, deadline)
    progress = Progress(Progress.wanted(options.quiet, options.progress))
    plan = Plan(needs)
    merged: Merged | None = None
    run: Run | None = None
    try:
        if tenant_wide:
            subscriptions = _tenant_subscriptions(clients, options)
        else:
            _check_subscriptions(clients, subscriptions, cloud, options)
        graph = graph_wanted(options.resource_graph, tenant_wide, len(subscriptions))
        processes = options.processes(len(subscriptions))
        progress.subscriptions(len(subscriptions))
        progress.start()
        if processes > 1:
            from prodcheck.collect.processes import collect_in_processes

            merged = collect_in_processes(
                options,
                list(needs),
                plan,
                subscriptions,
                processes,
                credential,
                deadline,
                progress,
                stats,
                graph,
            )
        else:
            run = Run(
                options,
                plan,
                clients,
                stats,
                progress,
                subscriptions,
                deadline,
                limiter,
                resource_graph=graph,
            )
            run.run()
    finally:
        progress.stop()
        clients.close()
        if options.credential is None:
            credential.close()
    if merged is None:
        assert run is not None
        merged = Merged(
            run.resources,
            run.coverage,
            None if run.graph is None else run.graph.summary(),
            stats.requests,
            stats.throttled,
            limiter.waited,
            clients.graph_quota.queries,
        )
    else:
        merged.requests += stats.requests
        merged.throttled += stats.throttled
        merged.limiter_waited += limiter.waited
    seconds = time.monotonic() - started
    failed = sum(1 for r in merged.coverage if r["status"] != "ok")
    late = sum(1 for r in merged.coverage if r.get("errorCode") == "DeadlineExceeded")
    if late:
        print(
            f"prodcheck: the collection's deadline of {options.deadline:g} s passed; {late} "
            "reads did not finish and are reported as failed (raise it with --deadline)",
            file=sys.stderr,
        )
    if progress.enabled:
        print(
            f"prodcheck: collected {len(merged.resources)} resources with {merged.requests} "
            f"requests in {seconds:.1f} s"
            + (f"; {failed} reads failed (see the report)" if failed else ""),
            file=sys.stderr,
        )
    coverage = sorted(
        merged.coverage,
        key=lambda r: (type_key(r["resourceType"]), r["scope"].lower(), r["status"]),
    )
    snapshot: dict[str, Any] = {
        "format": FORMAT,
        "collectedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scope": {
            "subscriptions": subscriptions,
            "resourceGroups": list(dict.fromkeys(options.resource_groups)),
            "tags": dict(options.tags),
            "cloud": cloud.name,
        },
        "coverage": coverage,
        "resources": [merged.resources[k] for k in sorted(merged.resources)],
    }
    if merged.graph is not None:
        snapshot["scope"]["resourceGraph"] = merged.graph
    stats_out = {
        "requests": merged.requests,
        "throttled": merged.throttled,
        "seconds": round(seconds, 3),
        "limiterWaitSeconds": round(merged.limiter_waited, 3),
        "failedReads": failed,
        "deadlineExceeded": bool(late),
        "resourceGraphQueries": merged.graph_queries,
        "processes": processes,
        "workerPeakRssKiB": merged.worker_peak_rss_kib,
    }
    return snapshot, stats_out
