"""Performance — "Performance baselines established" and "Metrics reviewed against targets".

The guide's key metrics, read from Azure Monitor over the metrics window (`--metrics-window`,
a week by default) and judged against its targets: end-to-end response < 2.5 s, STT < 500 ms,
TTS < 1 s, availability 99.9 %, call drop < 1 %, container CPU < 70 %, Redis memory < 70 %.

Each metric read is a `Microsoft.Insights/metrics` record under the resource it describes
(docs/snapshot-format.md#metrics), holding the Metrics API's answer: hour by hour, the
aggregations asked for. A metric with data points in the window is PASS or FAIL with the
figures; one with none stays MANUAL (a baseline needs traffic or a load test); one whose data
could not be read, or is not numbers, is ERROR.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from prodcheck import Severity, rule
from prodcheck.arm import norm
from prodcheck.inventory import Inventory, Resource

from .operations import DASHBOARDS

METRICS = "Microsoft.Insights/metrics"
CONTAINER_APP = "Microsoft.App/containerApps"
REDIS = "Microsoft.Cache/redis"
REDIS_ENTERPRISE = "Microsoft.Cache/redisEnterprise"
APP_INSIGHTS = "Microsoft.Insights/components"
REVIEWED = "Metrics reviewed against targets"
BASELINES = "Performance baselines established"

# The namespace custom metrics of Application Insights live in, and the accelerator's own
# OpenTelemetry histograms (milliseconds) for STT recognition and TTS synthesis.
CUSTOM_NAMESPACE = "azure.applicationinsights"
STT_METRIC = "speech_cascade.stt.recognition"
TTS_METRIC = "speech_cascade.tts.synthesis"
# The accelerator emits no call-drop metric: this is the name a workload is expected to use.
CALL_DROP_METRIC = "voice.call_drop_rate"

# Hourly values kept for the report's chart (a week of hours).
_CHART_POINTS = 168
_UNIT_SCALE = {"seconds": 1000.0, "milliseconds": 1.0, "ms": 1.0}


def _metrics_need(rtype: str, query: str = "") -> str:
    return f"{rtype}/providers/{METRICS}" + (f"?{query}" if query else "")


def _custom_need(prefix: str) -> str:
    return _metrics_need(
        APP_INSIGHTS, f"metricnamespace={{{prefix}_namespace}}&metricnames={{{prefix}_metric}}"
    )


@dataclass(frozen=True)
class Metric:
    """One key metric: where it lives, which aggregation and statistic judge it, its target."""

    key: str
    label: str
    namespace: str
    name: str
    aggregation: str  # the hourly aggregation judged: "average" or "maximum"
    unit: str  # what the figures are shown in: "%" or "ms"
    target: float
    lower_is_better: bool = True
    percentile: float | None = 95.0  # None: the mean over the window

    @property
    def statistic(self) -> str:
        hourly = f"hourly {'averages' if self.aggregation == 'average' else 'maxima'}"
        if self.percentile is None:
            return f"mean of the {hourly}"
        if self.percentile >= 100:
            return f"highest of the {hourly}"
        return f"{_number(self.percentile)}th percentile of the {hourly}"

    def target_text(self) -> str:
        return f"{'<' if self.lower_is_better else '>='} {_figure(self.target, self.unit)}"


@dataclass
class Series:
    """The data points of one metric on one resource over the window."""

    values: list[float]
    unit: str
    timespan: str


class Unreadable(Exception):
    """Metric data that is not what the Metrics API returns: the verdict is ERROR."""


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


def _figure(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"
    return (
        f"{value:.2f} %" if abs(value) < 100 and not float(value).is_integer() else f"{value:g} %"
    )


def _text(value: Any, limit: int = 80) -> str:
    return str(value)[:limit]


def _metric_name(item: dict[str, Any]) -> str:
    name = item.get("name")
    if isinstance(name, dict):
        name = name.get("value")
    return name if isinstance(name, str) else ""


def _records(inv: Inventory, resource: Resource) -> list[Resource]:
    return inv.children(resource, METRICS)


def find_series(inv: Inventory, resource: Resource, metric: Metric) -> Series | None:
    """The data points of `metric` on `resource` in the window, None when no record holds it.

    Raises `Unreadable` for data that is not the Metrics API's shape: a record without a
    `value` list, a metric that reports an error, or a value that is not a finite number.
    """
    found: Series | None = None
    for record in _records(inv, resource):
        for unit, timespan, values in _record_series(resource, record, metric):
            found = found or Series([], unit, timespan)
            found.values.extend(values)
    return found


def _record_series(
    resource: Resource, record: Resource, metric: Metric
) -> list[tuple[str, str, list[float]]]:
    """(unit, timespan, values) of each item of one metrics record that holds `metric`.

    Several rules read the same metrics (each its own, then the baseline all of them, once per
    workload unit too): what a record holds is read once and kept on the record, since it is
    a function of the record's own data. A record from a deployment plan is read each time, so
    that reading a value known only after deployment is noted each time.
    """
    if record.unknown:
        return _read_record(resource, record, metric)
    memo = record.memo
    if memo is None:
        memo = record.memo = {}
    key = ("series", metric)
    done = memo.get(key)
    if done is None:
        try:
            done = _read_record(resource, record, metric)
        except Unreadable as problem:
            done = str(problem)
        memo[key] = done
    if isinstance(done, str):
        raise Unreadable(done)
    return done


def _read_record(
    resource: Resource, record: Resource, metric: Metric
) -> list[tuple[str, str, list[float]]]:
    namespace = record.get("properties.namespace")
    if isinstance(namespace, str) and namespace.lower() != metric.namespace.lower():
        return []
    items = record.get("properties.value")
    if not isinstance(items, list):
        raise Unreadable(f"the metrics record {_text(record.name)} has no 'value' list")
    timespan = record.get("properties.timespan")
    found: list[tuple[str, str, list[float]]] = []
    for item in items:
        if not isinstance(item, dict) or _metric_name(item).lower() != metric.name.lower():
            continue
        code = item.get("errorCode")
        if code not in (None, "", "Success"):
            message = _text(item.get("errorMessage") or "", 200)
            raise Unreadable(f"Azure Monitor answered {_text(code)} for it {message}".strip())
        found.append(
            (str(item.get("unit") or ""), str(timespan or ""), _values(item, metric.aggregation))
        )
    return found


def _values(item: dict[str, Any], aggregation: str) -> list[float]:
    timeseries = item.get("timeseries")
    if timeseries is None:
        return []
    if not isinstance(timeseries, list):
        raise Unreadable("its 'timeseries' is not a list")
    values: list[float] = []
    for series in timeseries:
        data = series.get("data") if isinstance(series, dict) else None
        if data is None and isinstance(series, dict):
            continue
        if not isinstance(data, list):
            raise Unreadable("a time series has no 'data' list")
        values += _series_values(data, aggregation)
    return values


def _series_values(data: list[Any], aggregation: str) -> list[float]:
    """The `aggregation` of each data point that has one, each a finite number."""
    if type(data) is list and _OBJECT.issuperset(map(type, data)):
        # The usual case, checked a whole series at a time: hourly floats within range.
        found = [point.get(aggregation) for point in data]
        found = [value for value in found if value is not None]
        if (
            _FLOAT.issuperset(map(type, found))
            and all(map(math.isfinite, found))
            and (not found or max(map(abs, found)) <= 1e15)
        ):
            return found
    # Anything else point by point, so that the first bad one is the one reported.
    values: list[float] = []
    for point in data:
        if not isinstance(point, dict):
            raise Unreadable("a data point is not an object")
        value = point.get(aggregation)
        if value is None:  # no data in that hour: ARM leaves the aggregation out
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Unreadable(f"a data point's {aggregation} is not a number: {_text(value)!r}")
        number = float(value)
        if not math.isfinite(number) or abs(number) > 1e15:
            raise Unreadable(f"a data point's {aggregation} is not a finite number")
        values.append(number)
    return values


_OBJECT = frozenset((dict,))
_FLOAT = frozenset((float,))


def _scaled(series: Series, metric: Metric) -> list[float]:
    """The values in the metric's own unit (a latency reported in seconds, in milliseconds)."""
    if metric.unit != "ms":
        return series.values
    scale = _UNIT_SCALE.get(series.unit.lower(), 1.0)
    return [v * scale for v in series.values] if scale != 1.0 else series.values


def statistic(values: list[float], metric: Metric) -> float:
    """The figure judged: a percentile (nearest rank) or the mean of the hourly values."""
    if metric.percentile is None:
        return sum(values) / len(values)
    ordered = sorted(values)
    rank = math.ceil(min(metric.percentile, 100.0) / 100.0 * len(ordered))
    return ordered[max(rank, 1) - 1]


def _chart(values: list[float], metric: Metric) -> list[float]:
    """At most `_CHART_POINTS` values, in order: the worst of each bucket when there are more."""
    if len(values) <= _CHART_POINTS:
        return list(map(round, values, repeat(3, len(values))))  # round(v, 3) of each
    worst = max if metric.lower_is_better else min
    size = len(values) / _CHART_POINTS
    return [
        round(worst(values[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)]), 3)
        for i in range(_CHART_POINTS)
    ]


def _unread(inv: Inventory, types: tuple[str, ...], resource: Resource | None = None) -> str:
    """Why data a "no data" verdict rests on may be missing ('' when it is not): a failed
    read of `types` (where it touches `resource`), or metrics never collected. The engine
    turns PASS and FAIL on such data into ERROR; a MANUAL "no data" it leaves alone, so the
    rule says so itself rather than take a failed read for an idle workload."""
    if inv.coverage is None:
        return ""
    collected, failed = _coverage_index(inv)
    if inv.coverage_basis != "asserted" and norm(METRICS) not in collected:
        return "Azure Monitor metrics were not collected: collect again with `prodcheck snapshot`"
    for kind in dict.fromkeys(norm(t) for t in types):
        by_scope, anywhere, below = failed.get(kind, ({}, None, {}))
        if resource is None:
            if anywhere is not None:
                return anywhere.describe()
            continue
        rid = norm(resource.id)
        found = below.get(rid)  # a failed read under the resource (or of itself)
        cut = len(rid)
        while found is None and cut > 0:  # a failed read of a scope holding the resource
            found = by_scope.get(rid[:cut])
            cut = rid.rfind("/", 0, cut)
        if found is None:
            found = by_scope.get("")  # a failed read of everything audited ("/")
        if found is not None:
            return found.describe()
    return ""


# Per inventory: the types with coverage records, and per type its failed records by scope,
# the first of them, and by every scope above theirs. Built once, so that each "no data"
# verdict costs a lookup per segment of its resource id, not a pass over the coverage.
_COVERAGE_INDEX: weakref.WeakKeyDictionary[Inventory, Any] = weakref.WeakKeyDictionary()


def _coverage_index(inv: Inventory):
    index = _COVERAGE_INDEX.get(inv)
    if index is None:
        collected: set[str] = set()
        failed: dict[str, tuple[dict[str, Any], Any, dict[str, Any]]] = {}
        for c in inv.coverage or []:
            kind = norm(c.resource_type)
            collected.add(kind)
            if not c.failed:
                continue
            by_scope, anywhere, below = failed.get(kind, ({}, None, {}))
            scope = norm(c.scope).rstrip("/")
            by_scope.setdefault(scope, c)
            cut = len(scope)
            while cut > 0:
                below.setdefault(scope[:cut], c)
                cut = scope.rfind("/", 0, cut)
            failed[kind] = (by_scope, anywhere or c, below)
        index = _COVERAGE_INDEX[inv] = (collected, failed)
    return index


def judge(inv: Inventory, resource: Resource, metric: Metric, *, subject: str = ""):
    """One verdict on `metric` of `resource` against its target."""
    where = f"{metric.label} ({metric.name})"
    try:
        series = find_series(inv, resource, metric)
    except Unreadable as problem:
        return resource.error(
            f"{where}: the metric data cannot be read: {problem}",
            evidence={"metric": metric.name},
            subject=subject,
        )
    if series is None or not series.values:
        missing = _unread(inv, (METRICS,), resource)
        if missing:
            return resource.error(
                f"{where}: the metric data could not be read: {missing}",
                evidence={"metric": metric.name},
                subject=subject,
            )
    if series is None and isinstance(inv.scope_info.get("plan"), dict):
        return resource.manual(
            f"{where}: a deployment plan holds no metrics; judge it after deployment, under "
            f"traffic or a load test (target {metric.target_text()})",
            evidence={"metric": metric.name},
            subject=subject,
        )
    if series is None or not series.values:
        window = f" in {series.timespan}" if series is not None and series.timespan else ""
        return resource.manual(
            f"{where}: no data points{window}; a baseline needs traffic or a load test at "
            f"target scale, then audit again (target {metric.target_text()})",
            evidence={"metric": metric.name, "window": series.timespan if series else None},
            subject=subject,
        )
    values = _scaled(series, metric)
    figure = statistic(values, metric)
    met = figure < metric.target if metric.lower_is_better else figure >= metric.target
    evidence = {
        "metric": metric.name,
        "window": series.timespan,
        "statistic": metric.statistic,
        "value": round(figure, 3),
        "target": metric.target_text(),
        "hours with data": len(values),
        "series": {
            "values": _chart(values, metric),
            "target": metric.target,
            "unit": metric.unit,
            "better": "lower" if metric.lower_is_better else "higher",
        },
    }
    shown = (
        f"{where}: {metric.statistic} {_figure(figure, metric.unit)} over {len(values)} "
        f"hour{'s' if len(values) != 1 else ''} with data"
    )
    if met:
        return resource.ok(
            f"{shown}, meets {metric.target_text()}", evidence=evidence, subject=subject
        )
    return resource.fail(
        f"{shown}, misses {metric.target_text()}", evidence=evidence, subject=subject
    )


_LINKS = [
    "https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/metrics-index",
    "https://learn.microsoft.com/rest/api/monitor/metrics/list",
]
_RATIONALE = (
    "The guide's targets are the budget of a natural conversation. A metric beyond its target "
    "in the last week is a call that felt slow, dropped or failed, before go-live or since."
)
_NO_DATA = """
    ## No data
    A resource with no data points for a metric in the window (no traffic yet, or the metric
    is not emitted) is MANUAL: run a load test at target scale (Azure Load Testing) and audit
    again, or attest with the load-test report. A metric whose data could not be read (403 on
    `Microsoft.Insights/metrics/read`, throttling, a malformed answer) is ERROR.
"""


@rule(
    id="PC-PERF-001",
    title="Container apps stay under the CPU and memory targets",
    checklist=REVIEWED,
    severity=Severity.MEDIUM,
    needs=[CONTAINER_APP, _metrics_need(CONTAINER_APP)],
    params={"cpu_max_percent": 70.0, "memory_max_percent": 70.0, "percentile": 95.0},
    rationale=_RATIONALE,
    remediation="""
        Scale out before the replicas saturate.

        Lower the scale rule's threshold, raise the maximum replicas, or give each replica
        more CPU and memory.

        ```sh
        az containerapp update -n {name} -g {resource_group} --min-replicas 2 --max-replicas 20 --scale-rule-name http --scale-rule-type http --scale-rule-http-concurrency 20
        ```
    """,
    links=_LINKS,
)
def container_apps_under_cpu_target(inv, p):
    for app in inv.of_type(CONTAINER_APP):
        for key, label, name, target in (
            ("cpu", "CPU", "CpuPercentage", p.cpu_max_percent),
            ("memory", "memory", "MemoryPercentage", p.memory_max_percent),
        ):
            metric = Metric(
                key, label, CONTAINER_APP, name, "average", "%", target, True, p.percentile
            )
            yield judge(inv, app, metric, subject=key)


@rule(
    id="PC-PERF-002",
    title="Redis stays under the memory target",
    checklist=REVIEWED,
    severity=Severity.MEDIUM,
    needs=[REDIS, REDIS_ENTERPRISE, _metrics_need(REDIS), _metrics_need(REDIS_ENTERPRISE)],
    params={"max_percent": 70.0, "percentile": 95.0},
    rationale=(
        "A cache near its memory limit evicts session state mid-call or refuses writes; the "
        "guide alerts at 80 % and targets under 70 %."
    ),
    remediation="""
        Scale the cache up to a larger memory size.

        Or set expiries and an eviction policy that keep the hot set small.

        ```sh
        az redisenterprise update -n {name} -g {resource_group} --sku 'Balanced_B10'
        ```
    """,
    links=_LINKS,
)
def redis_under_memory_target(inv, p):
    for cache in inv.of_type(REDIS, REDIS_ENTERPRISE):
        namespace = REDIS_ENTERPRISE if cache.is_type(REDIS_ENTERPRISE) else REDIS
        metric = Metric(
            "redis-memory",
            "Redis used memory",
            namespace,
            "usedmemorypercentage",
            "maximum",
            "%",
            p.max_percent,
            True,
            p.percentile,
        )
        yield judge(inv, cache, metric)


@rule(
    id="PC-PERF-003",
    title="Server response time meets the end-to-end target",
    checklist=REVIEWED,
    severity=Severity.HIGH,
    needs=[APP_INSIGHTS, _metrics_need(APP_INSIGHTS)],
    params={"max_ms": 2500.0, "percentile": 95.0},
    rationale=_RATIONALE,
    remediation="""
        Find the slow dependency in Application Insights, fix it, and load-test again.

        Open Performance, then the slowest operations' dependencies: model latency, a cold
        replica, Redis round trips, or a region hop.

        ```sh
        az monitor app-insights metrics show --app {name} -g {resource_group} --metric requests/duration --aggregation avg max --interval PT1H --offset 7d
        ```
    """,
    links=_LINKS,
)
def response_time_meets_target(inv, p):
    for component in inv.of_type(APP_INSIGHTS):
        metric = Metric(
            "end-to-end",
            "server response time",
            APP_INSIGHTS,
            "requests/duration",
            "average",
            "ms",
            p.max_ms,
            True,
            p.percentile,
        )
        yield judge(inv, component, metric)


@rule(
    id="PC-PERF-004",
    title="Availability meets the target",
    checklist=REVIEWED,
    severity=Severity.HIGH,
    needs=[APP_INSIGHTS, _metrics_need(APP_INSIGHTS)],
    params={"min_percent": 99.9},
    rationale=(
        "99.9 % is 10 minutes of outage a week. Availability tests measure it from outside, "
        "as callers see it."
    ),
    remediation="""
        Add an availability test on the public health endpoint, and fix what failed runs show.

        ```sh
        az monitor app-insights web-test create -n 'health-{name}' -g {resource_group} --web-test-kind standard --location eastus --defined-web-test-name 'health' --enabled true --frequency 300 --locations Id='us-va-ash-azr' --request-url 'https://<public-host>/health'
        ```
    """,
    links=_LINKS,
)
def availability_meets_target(inv, p):
    for component in inv.of_type(APP_INSIGHTS):
        metric = Metric(
            "availability",
            "availability",
            APP_INSIGHTS,
            "availabilityResults/availabilityPercentage",
            "average",
            "%",
            p.min_percent,
            False,
            None,
        )
        yield judge(inv, component, metric)


def _custom_rule_doc(what: str, default: str, target: str, fails: str) -> str:
    return (
        f"""
    ## What it checks
    For each Application Insights component, the custom metric `{what}_metric` in namespace
    `{what}_namespace` (defaults: `{default}` in `{CUSTOM_NAMESPACE}`, the OpenTelemetry
    histogram the accelerator records, in milliseconds; a unit of `Seconds` is converted) over
    the metrics window: the 95th percentile (parameter `percentile`) of the hourly averages is
    below {target}. A live audit reads the metric the parameters name.

    ## Example
    Passes: hourly averages whose 95th percentile is 312 ms.
    ```json
    {{"namespace": "{CUSTOM_NAMESPACE}", "value": [{{"name": {{"value": "{default}"}},
     "unit": "Unspecified", "timeseries": [{{"data": [{{"timeStamp": "2026-11-25T09:00:00Z",
       "average": 287.5, "maximum": 640.0, "count": 1312}}]}}]}}]}}
    ```
    Fails: {fails}.
    """
        + _NO_DATA
        + """
    Checked against the Metrics List answers of API version 2024-02-01 for custom metrics
    (`metricnamespace` given).
    """
    )


@rule(
    id="PC-PERF-005",
    title="Speech-to-text latency meets the target",
    checklist=REVIEWED,
    severity=Severity.MEDIUM,
    needs=[APP_INSIGHTS, _custom_need("stt")],
    params={
        "max_ms": 500.0,
        "percentile": 95.0,
        "stt_namespace": CUSTOM_NAMESPACE,
        "stt_metric": STT_METRIC,
    },
    rationale=_RATIONALE,
    remediation="""
        Keep Speech in the apps' region and tune recognition, then load-test again.

        Use continuous recognition with segmentation silence tuned for the call, and check
        the Speech resource for throttling.
    """,
    links=_LINKS,
)
def stt_latency_meets_target(inv, p):
    for component in inv.of_type(APP_INSIGHTS):
        metric = Metric(
            "stt",
            "STT latency",
            p.stt_namespace,
            p.stt_metric,
            "average",
            "ms",
            p.max_ms,
            True,
            p.percentile,
        )
        yield judge(inv, component, metric)


stt_latency_meets_target.__doc__ = _custom_rule_doc(
    "stt",
    STT_METRIC,
    '`max_ms` (the guide\'s "STT processing < 500 ms")',
    "a 95th percentile of 640 ms",
)


@rule(
    id="PC-PERF-006",
    title="Text-to-speech latency meets the target",
    checklist=REVIEWED,
    severity=Severity.MEDIUM,
    needs=[APP_INSIGHTS, _custom_need("tts")],
    params={
        "max_ms": 1000.0,
        "percentile": 95.0,
        "tts_namespace": CUSTOM_NAMESPACE,
        "tts_metric": TTS_METRIC,
    },
    rationale=_RATIONALE,
    remediation="""
        Stream synthesis and keep Speech in the apps' region, then load-test again.

        Send the first audio chunk as soon as it arrives, and cache common prompts.
    """,
    links=_LINKS,
)
def tts_latency_meets_target(inv, p):
    for component in inv.of_type(APP_INSIGHTS):
        metric = Metric(
            "tts",
            "TTS latency",
            p.tts_namespace,
            p.tts_metric,
            "average",
            "ms",
            p.max_ms,
            True,
            p.percentile,
        )
        yield judge(inv, component, metric)


tts_latency_meets_target.__doc__ = _custom_rule_doc(
    "tts",
    TTS_METRIC,
    '`max_ms` (the guide\'s "TTS generation < 1 s")',
    "a 95th percentile of 1.4 s",
)


@rule(
    id="PC-PERF-007",
    title="Call drop rate meets the target",
    checklist=REVIEWED,
    severity=Severity.HIGH,
    needs=[APP_INSIGHTS, _custom_need("call_drop")],
    params={
        "max_percent": 1.0,
        "call_drop_namespace": CUSTOM_NAMESPACE,
        "call_drop_metric": CALL_DROP_METRIC,
    },
    rationale=_RATIONALE,
    remediation="""
        Emit the call drop rate as a custom metric, then fix the causes of the drops.

        The share of calls that ended abnormally (Communication Services call disconnected
        with an error, media stream lost), in percent, under the name the rule's parameters
        give; the causes are in the call logs.
    """,
    links=_LINKS,
)
def call_drop_meets_target(inv, p):
    for component in inv.of_type(APP_INSIGHTS):
        metric = Metric(
            "call-drop",
            "call drop rate",
            p.call_drop_namespace,
            p.call_drop_metric,
            "average",
            "%",
            p.max_percent,
            True,
            None,
        )
        yield judge(inv, component, metric)


# The key metrics a baseline holds, by the resource types that carry them.
_BASELINE: list[tuple[str, Metric]] = [
    (CONTAINER_APP, Metric("cpu", "CPU", CONTAINER_APP, "CpuPercentage", "average", "%", 70.0)),
    (REDIS, Metric("redis", "Redis memory", REDIS, "usedmemorypercentage", "maximum", "%", 70.0)),
    (
        REDIS_ENTERPRISE,
        Metric(
            "redis", "Redis memory", REDIS_ENTERPRISE, "usedmemorypercentage", "maximum", "%", 70.0
        ),
    ),
    (
        APP_INSIGHTS,
        Metric(
            "end-to-end", "end-to-end", APP_INSIGHTS, "requests/duration", "average", "ms", 2500
        ),
    ),
    (
        APP_INSIGHTS,
        Metric(
            "availability",
            "availability",
            APP_INSIGHTS,
            "availabilityResults/availabilityPercentage",
            "average",
            "%",
            99.9,
            False,
            None,
        ),
    ),
    (APP_INSIGHTS, Metric("stt", "STT", CUSTOM_NAMESPACE, STT_METRIC, "average", "ms", 500)),
    (APP_INSIGHTS, Metric("tts", "TTS", CUSTOM_NAMESPACE, TTS_METRIC, "average", "ms", 1000)),
    (
        APP_INSIGHTS,
        Metric("call-drop", "call drop", CUSTOM_NAMESPACE, CALL_DROP_METRIC, "average", "%", 1.0),
    ),
]


@rule(
    id="PC-OPS-008",
    title="Performance baselines established",
    checklist=BASELINES,
    severity=Severity.MEDIUM,
    needs=[
        CONTAINER_APP,
        REDIS,
        REDIS_ENTERPRISE,
        APP_INSIGHTS,
        _metrics_need(CONTAINER_APP),
        _metrics_need(REDIS),
        _metrics_need(REDIS_ENTERPRISE),
        _metrics_need(APP_INSIGHTS),
        _metrics_need(
            APP_INSIGHTS,
            f"metricnamespace={CUSTOM_NAMESPACE}&metricnames="
            f"{STT_METRIC},{TTS_METRIC},{CALL_DROP_METRIC}",
        ),
        *DASHBOARDS,
    ],
    rationale=(
        "A baseline is what the next change is compared with: without one, a regression is a "
        "feeling, not a number."
    ),
    remediation="""
        Run a load test at target scale, or attest to a baseline measured elsewhere.

        Azure Load Testing at target scale fills Azure Monitor with the key metrics; or record
        an attestation with the baseline you measured:

        ```yaml
        attestations:
          - rule: PC-OPS-008
            by: someone.accountable@example.com
            date: 2026-01-31  # the day of the measurement
            evidence: https://example.com/link-to-the-load-test-report
            valid_days: 90
        ```
    """,
    links=_LINKS,
)
def performance_baselines_established(inv, p):
    yield _baseline(inv)


def _baseline(inv: Inventory):
    views = inv.of_type(*DASHBOARDS)
    hint = ""
    if views:
        names = ", ".join(str(v.get("properties.displayName") or v.name) for v in views)
        hint = f"; {names} can show the baselines"
    have: dict[str, int] = {}
    missing: dict[str, list[str]] = {}
    broken: list[str] = []
    seen = False
    for rtype, metric in _BASELINE:
        for resource in inv.of_type(rtype):
            seen = True
            try:
                series = find_series(inv, resource, metric)
            except Unreadable as problem:
                broken.append(f"{metric.label} of {resource.name}: {problem}")
                continue
            if series is not None and series.values:
                have[metric.label] = min(
                    have.get(metric.label, len(series.values)), len(series.values)
                )
            else:
                missing.setdefault(metric.label, []).append(resource.name)
    evidence: dict[str, Any] = {"hours with data": dict(sorted(have.items()))}
    if views:
        evidence["partial evidence"] = [v.id for v in views]
    if not broken and (missing or not seen):
        unread = _unread(inv, (METRICS, *dict.fromkeys(t for t, _ in _BASELINE)))
        if unread:
            broken.append(unread)
    if broken:
        return inv.scope.error(
            "the metric data cannot be read: " + "; ".join(broken[:5]), evidence=evidence
        )
    if not seen:
        return inv.scope.manual(
            "no container app, Redis or Application Insights in scope holds the key metrics: "
            "attach the baseline under normal load (end-to-end, STT and TTS latency, "
            "availability, call drop rate, CPU and Redis memory)" + hint,
            evidence=evidence,
        )
    if missing:
        evidence["no data"] = {k: sorted(v) for k, v in sorted(missing.items())}
        listed = ", ".join(
            f"{label} ({', '.join(sorted(names)[:3])})" for label, names in sorted(missing.items())
        )
        return inv.scope.manual(
            f"no data in the metrics window for {listed}: a baseline needs traffic or a load "
            "test at target scale; audit again, or attest with the baseline measured" + hint,
            evidence=evidence,
        )
    # The fewest hours with data among the resources carrying each metric.
    figures = ", ".join(f"{k} {v} h" for k, v in sorted(have.items()))
    return inv.scope.ok(
        f"Azure Monitor holds the key metrics over the window ({figures})" + hint,
        evidence=evidence,
    )


container_apps_under_cpu_target.__doc__ = (
    """
    ## What it checks
    For each container app, Azure Monitor's `CpuPercentage` and `MemoryPercentage` (namespace
    `Microsoft.App/containerApps`: percent of the replicas' CPU and memory limits) over the
    metrics window: the 95th percentile (parameter `percentile`; 100 is the busiest hour) of
    the hourly averages is below `cpu_max_percent` (the guide's "Container CPU < 70 %") and
    `memory_max_percent` (the guide sets no memory target; 70 % leaves the same headroom).
    One finding per app and metric (subjects `cpu` and `memory`), with the hourly values.

    ## Example
    Passes: `CpuPercentage` hourly averages whose 95th percentile is 41 %.
    ```json
    {"namespace": "Microsoft.App/containerApps", "interval": "PT1H",
     "value": [{"name": {"value": "CpuPercentage"}, "unit": "Percent",
       "timeseries": [{"data": [{"timeStamp": "2026-11-25T09:00:00Z", "average": 38.5,
                                 "maximum": 52.0}]}]}]}
    ```
    Fails: the same with a 95th percentile of 83 %.
    """
    + _NO_DATA
    + """
    Checked against the Metrics List answers of API version 2024-02-01 (and 2023-10-01, the
    same shape), and the supported metrics of `Microsoft.App/containerApps`.
    """
)

redis_under_memory_target.__doc__ = (
    """
    ## What it checks
    For each Azure Cache for Redis (`Microsoft.Cache/redis`) and Azure Managed Redis
    (`Microsoft.Cache/redisEnterprise`), the metric `usedmemorypercentage` over the metrics
    window: the 95th percentile (parameter `percentile`) of the hourly maxima is below
    `max_percent` (the guide's "Redis memory < 70 %").

    ## Example
    Passes: hourly maxima of `usedmemorypercentage` whose 95th percentile is 34 %.
    ```json
    {"namespace": "Microsoft.Cache/redisEnterprise", "value": [{"name": {"value":
     "usedmemorypercentage"}, "unit": "Percent", "timeseries": [{"data": [
       {"timeStamp": "2026-11-25T09:00:00Z", "maximum": 33.7}]}]}]}
    ```
    Fails: the same at 78 %.
    """
    + _NO_DATA
    + """
    Checked against the Metrics List answers of API version 2024-02-01, and the supported
    metrics of `Microsoft.Cache/redis` and `Microsoft.Cache/redisEnterprise`.
    """
)

response_time_meets_target.__doc__ = (
    """
    ## What it checks
    For each Application Insights component, the standard metric `requests/duration` (server
    response time, milliseconds) over the metrics window: the 95th percentile (parameter
    `percentile`) of the hourly averages is below `max_ms` (the guide's "End-to-end response
    < 2.5 s"). The server's response time is the part of the end-to-end budget Azure Monitor
    sees; the telephony leg adds to it.

    ## Example
    Passes: hourly averages with a 95th percentile of 1.18 s.
    ```json
    {"namespace": "microsoft.insights/components", "value": [{"name": {"value":
     "requests/duration"}, "unit": "MilliSeconds", "timeseries": [{"data": [
       {"timeStamp": "2026-11-25T09:00:00Z", "average": 1043.2, "maximum": 2210.0}]}]}]}
    ```
    Fails: the same with a 95th percentile of 3.4 s.
    """
    + _NO_DATA
    + """
    Checked against the Metrics List answers of API version 2024-02-01, and the standard
    metrics of `Microsoft.Insights/components`.
    """
)

availability_meets_target.__doc__ = (
    """
    ## What it checks
    For each Application Insights component, the standard metric
    `availabilityResults/availabilityPercentage` (the share of availability test runs that
    passed) over the metrics window: the mean of the hourly averages is at least `min_percent`
    (the guide's "Service uptime 99.9 %"). A component without availability tests has no data:
    MANUAL.

    ## Example
    Passes: hourly averages whose mean is 99.97 %.
    ```json
    {"value": [{"name": {"value": "availabilityResults/availabilityPercentage"},
     "unit": "Percent", "timeseries": [{"data": [{"timeStamp": "2026-11-25T09:00:00Z",
       "average": 100.0, "count": 60}]}]}]}
    ```
    Fails: a mean of 99.2 %.
    """
    + _NO_DATA
    + """
    Checked against the Metrics List answers of API version 2024-02-01, and the standard
    metrics of `Microsoft.Insights/components`.
    """
)

call_drop_meets_target.__doc__ = (
    """
    ## What it checks
    For each Application Insights component, the custom metric `call_drop_metric` in namespace
    `call_drop_namespace` (defaults: `voice.call_drop_rate` in `azure.applicationinsights`; a
    percentage of calls dropped) over the metrics window: the mean of the hourly averages is
    below `max_percent` (the guide's "Call drop rate < 1 %"). The accelerator as deployed emits
    no such metric: MANUAL until the workload emits one (name it with the parameters).

    ## Example
    Passes: hourly averages whose mean is 0.4 %.
    ```json
    {"namespace": "azure.applicationinsights", "value": [{"name": {"value":
     "voice.call_drop_rate"}, "timeseries": [{"data": [{"timeStamp": "2026-11-25T09:00:00Z",
       "average": 0.4}]}]}]}
    ```
    Fails: a mean of 2.3 %.
    """
    + _NO_DATA
    + """
    Checked against the Metrics List answers of API version 2024-02-01 for custom metrics.
    """
)

performance_baselines_established.__doc__ = (
    """
    ## What it checks
    The guide's key metrics have data in Azure Monitor over the metrics window: container app
    CPU, Redis used memory, server response time and availability (Application Insights), and
    the STT, TTS and call-drop metrics the accelerator's defaults name (see PC-PERF-001 to
    PC-PERF-007, which judge them against the targets). One finding for the scope: PASS when
    every key metric of the resources in scope has data points, naming how many hours; MANUAL
    naming the metrics without data (a baseline needs traffic or a load test at target scale),
    or when no resource that carries them is in scope. A workbook or dashboard in scope is named
    as the place the baseline can be kept. An attestation turns a MANUAL finding into PASS.
    """
    + _NO_DATA
)
