"""Listing top-level resources through Azure Resource Graph, for scopes of many subscriptions.

Resource Manager lists one type in one subscription per request; Resource Graph answers one
query for many types across up to 1,000 subscriptions, 1,000 resources a page. For a tenant-wide
audit that saves one list request per (type, subscription). What it costs, and how prodcheck
keeps the audit honest:

- **Only what ARM GET gives.** Each row is the resource's envelope and `properties` as Resource
  Graph holds them, projected to ARM's fields (`id`, `name`, `type`, `kind`, `location`, `tags`,
  `sku`, `plan`, `identity`, `zones`, `managedBy`, `extendedLocation`, `properties`); the
  columns Resource Graph adds (`tenantId`, `resourceGroup`, `subscriptionId`) are dropped, the
  lower-cased `type` gets ARM's spelling back. Only the types in `FROM_GRAPH` come from it:
  types whose rules need properties that only a newer api-version returns, types Resource Graph
  does not hold in its `resources` table (role assignments, budgets), child and extension types
  (APIM policies, DNS zone groups, diagnostic settings) and types prodcheck has no collector
  for stay on the ARM lists (`ON_ARM` says why for each).
- **It lags.** Resource Graph is updated from ARM's change notifications, usually within
  seconds, with no documented upper bound. The snapshot's scope says which types came from it
  and when it was queried (`resourceGraph`), and so does the report.
- **It shows only what the identity can read, silently.** A principal with Reader on one
  resource group gets that group's resources, and no error for the rest, where ARM's
  subscription list answers 403. So before a scope is queried, prodcheck asks ARM which actions
  the identity holds there (`{scope}/providers/Microsoft.Authorization/permissions`, a GET) and
  takes a type from Resource Graph only where `{type}/read` is granted at that scope; every
  other (scope, type) is listed through ARM, where a refusal is a failed read.
- **Fail closed.** A query that fails, a page that is not Resource Graph's JSON, a result it
  says was truncated, fewer rows than the `totalRecords` it announced, or a quota wait beyond
  `max_retry_after` or the deadline: the (scope, type) pairs of that query are listed through
  ARM instead, and what the query had stored is dropped first. Never a shorter inventory.
- **Quota.** Resource Graph allots each user a number of queries per window and says so on
  every answer (`x-ms-user-quota-remaining`, `x-ms-user-quota-resets-after`): when none is
  left, the next query waits for the reset (bounded like a Retry-After); a 429 waits for the
  reset it names.
- **Read-only.** The query is a POST that reads. The pipeline's guard lets exactly that path
  through (`/providers/Microsoft.ResourceGraph/resources`) and refuses every other POST.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from azure.core.pipeline.policies import HTTPPolicy

from prodcheck.collect.bounds import Deadline, ReadStopped
from prodcheck.collect.catalog import Collector
from prodcheck.collect.failures import MalformedResponse, describe
from prodcheck.collect.ids import type_key

MODES = ("auto", "always", "never")
# `auto` uses Resource Graph from this many subscriptions on, and for every tenant-wide scope
# (--all-subscriptions, --management-group).
AUTO_MIN_SUBSCRIPTIONS = 5
# The query path, the only POST prodcheck sends.
QUERY_PATH = "/providers/Microsoft.ResourceGraph/resources"
# Rows per page ($top allows at most 1,000) and subscriptions per query (the API's limit).
PAGE_SIZE = 1000
MAX_SUBSCRIPTIONS = 1000
# Pages of one query at most (10 million rows): a query going on beyond fails.
MAX_PAGES = 10_000
PERMISSIONS_API = "2022-04-01"
LAG = (
    "Resource Graph is updated from Resource Manager's change notifications, usually within "
    "seconds but with no guaranteed bound: a change made just before the audit may not show "
    "yet (audit with --resource-graph never to read Resource Manager itself)"
)

# The top-level types listed through Resource Graph when it is used: their rules read fields
# that every api-version Resource Graph may hold returns. Every other type is listed through ARM.
FROM_GRAPH: frozenset[str] = frozenset(
    {
        "Microsoft.Network/applicationGateways",
        "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
        "Microsoft.Network/privateEndpoints",
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/publicIPAddresses",
        "Microsoft.Network/privateDnsZones",
        "Microsoft.ApiManagement/service",
        "Microsoft.App/managedEnvironments",
        "Microsoft.App/containerApps",
        "Microsoft.Insights/metricAlerts",
        "Microsoft.Insights/scheduledQueryRules",
        "Microsoft.Insights/actionGroups",
        "Microsoft.Insights/components",
        "Microsoft.Insights/webtests",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.KeyVault/vaults",
        "Microsoft.Cache/redis",
        "Microsoft.DocumentDB/databaseAccounts",
        "Microsoft.CognitiveServices/accounts",
        "Microsoft.AppConfiguration/configurationStores",
        "Microsoft.ContainerRegistry/registries",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.ServiceBus/namespaces",
        "Microsoft.EventHub/namespaces",
        "Microsoft.EventGrid/topics",
        "Microsoft.EventGrid/domains",
        "Microsoft.EventGrid/systemTopics",
        "Microsoft.SignalRService/signalR",
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.Dashboard/grafana",
        "Microsoft.LoadTestService/loadTests",
    }
)
# Top-level types the rules read that stay on ARM, and why.
ON_ARM: dict[str, str] = {
    "Microsoft.Cache/redisEnterprise": "publicNetworkAccess only from api-version 2025-07-01",
    "Microsoft.DocumentDB/mongoClusters": "authConfig only from api-version 2025-04-01-preview",
    "Microsoft.Communication/communicationServices": (
        "disableLocalAuth and publicNetworkAccess only from api-version 2025-05-01"
    ),
    "Microsoft.Network/networkSecurityPerimeters": "a new type: not known to be held",
    "Microsoft.Insights/workbooks": "listed by category; the content is not held",
    "Microsoft.Portal/dashboards": "the lenses are not known to be held whole",
    "Microsoft.Authorization/roleAssignments": "held in authorizationresources, not resources",
    "Microsoft.Authorization/roleDefinitions": "held in authorizationresources, not resources",
    "Microsoft.Consumption/budgets": "not held by Resource Graph",
}
_BY_KEY = {type_key(t): t for t in FROM_GRAPH}
# The fields of an ARM resource body; Resource Graph's own columns are left out.
ARM_FIELDS = (
    "id",
    "name",
    "type",
    "kind",
    "location",
    "tags",
    "sku",
    "plan",
    "identity",
    "zones",
    "managedBy",
    "extendedLocation",
    "properties",
)
_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)(?:/resourcegroups/([^/]+))?", re.IGNORECASE)


def from_graph(resource_type: str) -> bool:
    return type_key(resource_type) in _BY_KEY


def wanted(mode: str, tenant_wide: bool, subscriptions: int) -> bool:
    """Whether a collection lists through Resource Graph (`mode` is checked by the caller)."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    return tenant_wide or subscriptions >= AUTO_MIN_SUBSCRIPTIONS


def _kql_list(values: list[str]) -> str:
    # Types and group names are validated (letters, digits and - _ . ( ) /): no quote to escape.
    return ", ".join("'" + v.replace("\\", "").replace("'", "") + "'" for v in values)


def build_query(types: list[str], groups: list[str]) -> str:
    """The one query shape prodcheck sends: the wanted types, optionally in some groups."""
    lines = ["Resources", f"| where type in~ ({_kql_list(sorted(t.lower() for t in types))})"]
    if groups:
        lines.append(f"| where resourceGroup in~ ({_kql_list(sorted(g.lower() for g in groups))})")
    lines.append("| project " + ", ".join(ARM_FIELDS))
    # By name first: each page then holds resources of every subscription the query spans, so
    # that every subscription's reads start with the first page rather than with its own (the
    # pages come one after another). By id last: a total order, which paging needs.
    lines.append("| order by name asc, id asc")
    return "\n".join(lines)


def arm_body(row: dict[str, Any], arm_type: str) -> dict[str, Any]:
    """A Resource Graph row as ARM's body: its fields only, ARM's type spelling, no empty
    columns ARM would not have sent."""
    out: dict[str, Any] = {}
    for key in ARM_FIELDS:
        if key not in row:
            continue
        value = row[key]
        if value is None or (value == "" and key in ("kind", "managedBy")):
            continue
        out[key] = value
    out["type"] = arm_type
    return out


# --------------------------------------------------------------------------- quota


def quota_reset_seconds(value: object) -> float | None:
    """`x-ms-user-quota-resets-after` (`hh:mm:ss`, or `d.hh:mm:ss`) in seconds; None if unreadable."""
    text = str(value or "").strip()
    match = re.fullmatch(r"(?:(\d{1,3})\.)?(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)", text)
    if not match:
        return None
    days, hours, minutes, seconds = match.groups()
    return ((int(days or 0) * 24 + int(hours)) * 60 + int(minutes)) * 60 + float(seconds)


class QuotaExceeded(ReadStopped):
    code = "ResourceGraphQuotaExceeded"


class Quota:
    """Resource Graph's per-user quota as its answers last reported it."""

    def __init__(self, max_wait: float, deadline: Deadline) -> None:
        self.max_wait = max_wait
        self.deadline = deadline
        self._lock = threading.Lock()
        self._remaining: int | None = None
        self._resets_at = 0.0
        self.queries = 0
        self.waited = 0.0

    def before(self) -> None:
        """Wait for the quota to reset if none is left; raise if that wait is beyond a bound."""
        with self._lock:
            self.queries += 1
            wait = 0.0
            if self._remaining is not None and self._remaining <= 0:
                wait = max(0.0, self._resets_at - time.monotonic())
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise QuotaExceeded(
                f"Resource Graph's query quota is used up for {wait:g} s, longer than the "
                f"{self.max_wait:g} s prodcheck waits (max_retry_after)",
                429,
            )
        if wait > self.deadline.remaining():
            raise self.deadline.exceeded(f"Resource Graph's query quota reset ({wait:g} s)")
        time.sleep(wait)
        with self._lock:
            self.waited += wait
            if self._resets_at <= time.monotonic():
                self._remaining = None

    def after(self, headers: Any) -> None:
        remaining = headers.get("x-ms-user-quota-remaining")
        resets = quota_reset_seconds(headers.get("x-ms-user-quota-resets-after"))
        with self._lock:
            try:
                self._remaining = int(str(remaining).strip()) if remaining is not None else None
            except ValueError:
                self._remaining = None
            if resets is not None:
                self._resets_at = time.monotonic() + resets


class QuotaPolicy(HTTPPolicy):
    """Paces every attempt of a query by the quota Resource Graph last reported."""

    def __init__(self, quota: Quota) -> None:
        super().__init__()
        self._quota = quota

    def send(self, request: Any) -> Any:
        self._quota.before()
        response = self.next.send(request)
        self._quota.after(response.http_response.headers)
        return response


# --------------------------------------------------------------------------- permissions


def _matches(pattern: str, action: str) -> bool:
    regex = "^" + ".*".join(re.escape(part) for part in pattern.lower().split("*")) + "$"
    return re.match(regex, action.lower()) is not None


def readable(permissions: Any, resource_type: str) -> bool:
    """Whether the permissions ARM lists for a scope grant `{type}/read` there. A permission
    set with a condition, which prodcheck cannot evaluate, grants nothing."""
    if not isinstance(permissions, list):
        return False
    action = f"{resource_type}/read"
    for entry in permissions:
        if not isinstance(entry, dict) or entry.get("condition"):
            continue
        actions = entry.get("actions") or []
        not_actions = entry.get("notActions") or []
        if not isinstance(actions, list) or not isinstance(not_actions, list):
            continue
        if any(_matches(str(a), action) for a in actions) and not any(
            _matches(str(n), action) for n in not_actions
        ):
            return True
    return False


# --------------------------------------------------------------------------- the listing


class Listing:
    """The Resource Graph part of one collection's run (see the module's doc).

    `run` is the collection's `Run`: its tasks, limits and bookkeeping are the listing's too.
    """

    def __init__(self, run: Any, collectors: list[Collector]) -> None:
        self.run = run
        self.collectors = {type_key(c.type): c for c in collectors}
        self.listed = list(collectors)
        self.height = max((run.plan.height(c) for c in collectors), default=1)
        self._lock = threading.Lock()
        self._checks_left = 0
        # listing scope -> the collectors Resource Graph lists there
        self._routed: dict[str, list[Collector]] = {}
        self.fallbacks: list[str] = []
        self.queried_at: str | None = None
        self.queries_ok = 0
        self.rows = 0

    # ---- start: which scope may use it

    def start(self) -> None:
        scopes = self.run._listing_scopes()
        with self._lock:
            self._checks_left = len(scopes)
        for subscription in self.run.subscriptions:
            self._hold(subscription, 1)
        for scope in scopes:
            self.run.submit(self.height + 1, self.check_access, scope)

    def _hold(self, subscription: str, delta: int) -> None:
        """Keep a subscription open on the progress display while its listing is under way."""
        run = self.run
        with run._lock:
            pending = run._sub_pending.get(subscription, 0) + delta
            run._sub_pending[subscription] = pending
        if delta < 0 and pending == 0:
            run.progress.subscription_done()

    def check_access(self, scope: str) -> None:
        from azure.core.rest import HttpRequest

        from prodcheck.collect.engine import _send

        subscription = scope.split("/")[2]
        routed: list[Collector] = []
        try:
            response = _send(
                self.run.clients.get("resources", subscription),
                HttpRequest(
                    "GET",
                    f"{scope}/providers/Microsoft.Authorization/permissions",
                    params={"api-version": PERMISSIONS_API},
                ),
            )
            if response.status_code == 200:
                body = json.loads(response.text())
                permissions = body.get("value") if isinstance(body, dict) else None
                routed = [c for c in self.collectors.values() if readable(permissions, c.type)]
            else:
                self._fell_back(
                    f"the permissions at {scope} could not be read (HTTP {response.status_code})"
                )
        except Exception as exc:
            failure = describe(exc, "", self.run.options.retry_total, self.run.options.timeout)
            self._fell_back(f"the permissions at {scope} could not be read: {failure.message}")
        listed = {type_key(c.type) for c in routed}
        for collector in self.collectors.values():
            if type_key(collector.type) not in listed:
                self._on_arm(collector, scope)
        with self._lock:
            if routed:
                self._routed[scope] = routed
            self._checks_left -= 1
            done = self._checks_left == 0
        if done:
            self._query_all()

    def _on_arm(self, collector: Collector, scope: str) -> None:
        parts = scope.split("/")
        group = parts[4] if len(parts) > 4 else None
        self.run.submit(
            self.run.plan.height(collector), self.run.list_top, collector, parts[2], group, scope
        )

    def _fell_back(self, why: str) -> None:
        with self._lock:
            if len(self.fallbacks) < 20:
                self.fallbacks.append(why)

    def _query_all(self) -> None:
        with self._lock:
            routed = dict(self._routed)
        # Subscriptions with the same types go in one query, up to the API's limit per query.
        by_types: dict[tuple[str, ...], list[str]] = {}
        for scope, collectors in routed.items():
            key = tuple(sorted(type_key(c.type) for c in collectors))
            by_types.setdefault(key, []).append(scope)
        batches = [
            (list(types), scopes[i : i + MAX_SUBSCRIPTIONS])
            for types, scopes in by_types.items()
            for i in range(0, len(scopes), MAX_SUBSCRIPTIONS)
        ]
        # Each query holds its subscriptions open; then the hold taken at the start goes.
        for _, scopes in batches:
            for subscription in {s.split("/")[2] for s in scopes}:
                self._hold(subscription, 1)
        for subscription in self.run.subscriptions:
            self._hold(subscription, -1)
        for types, scopes in batches:
            self.run.submit(self.height, self.query, types, scopes)

    # ---- one query

    def query(self, types: list[str], scopes: list[str]) -> None:
        run = self.run
        collectors = [self.collectors[t] for t in types]
        subscriptions = sorted({s.split("/")[2] for s in scopes})
        groups = sorted({s.split("/")[4] for s in scopes if len(s.split("/")) > 4})
        wanted_scopes = {s.lower() for s in scopes}
        counts: dict[tuple[str, str], int] = {(s.lower(), t): 0 for s in scopes for t in types}
        stored: dict[tuple[str, str], list[str]] = {}
        try:
            for row in self._rows(collectors, subscriptions, groups):
                rid = row.get("id")
                key = type_key(str(row.get("type") or ""))
                if not isinstance(rid, str) or key not in self.collectors or key not in types:
                    continue
                match = _SUBSCRIPTION.match(rid)
                if match is None:
                    continue
                sub, group = match.group(1).lower(), (match.group(2) or "").lower()
                scope = f"/subscriptions/{sub}" + (f"/resourcegroups/{group}" if groups else "")
                if scope not in wanted_scopes:
                    continue  # not asked for: a subscription or group outside the query
                collector = self.collectors[key]
                item = arm_body(row, collector.type)
                if run._accept(item, collector, top_level=True):
                    counts[(scope, key)] += 1
                    stored.setdefault((scope, key), []).append(rid.lower())
                    run._arrived(collector, item)
        except Exception as exc:
            failure = describe(exc, "", run.options.retry_total, run.options.timeout)
            self._fell_back(
                f"a query over {len(subscriptions)} subscription(s) failed "
                f"({failure.error_code}: {failure.message}); listed through Resource Manager"
            )
            with run._lock:
                for ids in stored.values():
                    for rid in ids:
                        run.resources.pop(rid, None)
            for scope in scopes:
                for collector in collectors:
                    self._on_arm(collector, scope)
            self._release(subscriptions)
            return
        with self._lock:
            self.queries_ok += 1
        spelled = {s.lower(): s for s in scopes}
        for (scope, key), count in counts.items():
            run._ok(self.collectors[key], spelled[scope], count)
        self._release(subscriptions)

    def _release(self, subscriptions: list[str]) -> None:
        for subscription in subscriptions:
            self._hold(subscription, -1)

    def _rows(
        self, collectors: list[Collector], subscriptions: list[str], groups: list[str]
    ) -> Iterator[dict[str, Any]]:
        """The rows of one query, page by page, checked as they come and counted at the end."""
        from azure.core.exceptions import HttpResponseError
        from azure.core.rest import HttpRequest
        from azure.mgmt.core.exceptions import ARMErrorFormat
        from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

        from prodcheck.collect.engine import _json as pipeline_json
        from prodcheck.collect.engine import _send

        client = self.run.clients.graph()
        api_version = str(client._config.api_version)
        query = build_query([c.type for c in collectors], groups)
        what = f"the Resource Graph query over {len(subscriptions)} subscription(s)"
        token: str | None = None
        seen_tokens: set[str] = set()
        total: int | None = None
        rows = 0
        for page in range(1, MAX_PAGES + 1):
            request = QueryRequest(
                subscriptions=subscriptions,
                query=query,
                options=QueryRequestOptions(
                    skip_token=token, top=PAGE_SIZE, result_format="objectArray"
                ),
            )
            # The POST the SDK's `resources` sends (its path, api-version and body), sent
            # through the same pipeline; its answer is read as JSON once, not also turned into
            # the SDK's models (a model per row and per cell, thrown away).
            answer = _send(
                client,
                HttpRequest(
                    "POST",
                    QUERY_PATH,
                    params={"api-version": api_version},
                    json=request.serialize(),
                    headers={"Accept": "application/json"},
                ),
                pipeline_response=True,
            )
            if answer.http_response.status_code != 200:
                raise HttpResponseError(response=answer.http_response, error_format=ARMErrorFormat)
            if self.queried_at is None:
                self.queried_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            try:
                body = pipeline_json(answer)
            except (ValueError, TypeError) as exc:
                raise MalformedResponse(f"a page of {what} is not JSON: {exc}") from exc
            if not isinstance(body, dict):
                raise MalformedResponse(f"a page of {what} is not a JSON object")
            data = body.get("data")
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise MalformedResponse(f"page {page} of {what} has no 'data' list of objects")
            announced = body.get("totalRecords")
            if not isinstance(announced, int) or isinstance(announced, bool) or announced < 0:
                raise MalformedResponse(f"page {page} of {what} has no whole totalRecords")
            if total is None:
                total = announced
            rows += len(data)
            with self._lock:
                self.rows += len(data)
            yield from data
            token = body.get("$skipToken")
            truncated = str(body.get("resultTruncated", "false")).lower() == "true"
            if not token:
                if truncated:
                    raise MalformedResponse(
                        f"{what} says its result was truncated after {rows} rows, with no "
                        "token to read on"
                    )
                break
            if not isinstance(token, str) or token in seen_tokens:
                raise MalformedResponse(
                    f"page {page} of {what} sent a $skipToken it sent before, or not a string"
                )
            seen_tokens.add(token)
        else:
            raise MalformedResponse(f"{what} went on past {MAX_PAGES} pages")
        if total is not None and rows != total:
            raise MalformedResponse(
                f"{what} announced {total} rows and gave {rows}: the listing is incomplete"
            )

    # ---- what the snapshot says

    def summary(self) -> dict[str, Any]:
        with self._lock:
            scopes = {s: sorted(c.type for c in cs) for s, cs in self._routed.items()}
        types = sorted({t for ts in scopes.values() for t in ts})
        out: dict[str, Any] = {
            "types": types,
            "scopes": len(scopes),
            "queries": self.run.clients.graph_quota.queries,
            "rows": self.rows,
            "lag": LAG,
        }
        if self.queried_at:
            out["queriedAt"] = self.queried_at
        if self.fallbacks:
            out["fallbacks"] = list(self.fallbacks)
        return out
