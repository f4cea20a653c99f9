"""Whether an alert works: the signal table of the guide's key metrics, and alert judging.

An alert counts for a signal on a resource only if it is enabled, its scope covers the
resource, its criterion is on the signal's metric in the right direction with a threshold
no looser than the guide's, it can fire within the signal's detection budget, and it notifies
at least one enabled action group with a receiver that can be reached. Metric alerts (`Microsoft.Insights/metricAlerts`) and log search alerts
(`Microsoft.Insights/scheduledQueryRules`) both count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prodcheck.arm import ArmId, norm
from prodcheck.inventory import Inventory, Resource

from ._workload import (
    APP_INSIGHTS,
    CONTAINER_APP,
    REDIS,
    REDIS_ENTERPRISE,
    cpu_cores,
    listed,
    workspaces_receiving,
)

METRIC_ALERT = "Microsoft.Insights/metricAlerts"
LOG_ALERT = "Microsoft.Insights/scheduledQueryRules"
ACTION_GROUP = "Microsoft.Insights/actionGroups"

ABOVE = "above"
BELOW = "below"

_OPERATORS = {
    ABOVE: {"greaterthan", "greaterthanorequal"},
    BELOW: {"lessthan", "lessthanorequal"},
}
# Dynamic thresholds: "GreaterOrLessThan" fires both ways, so it covers either direction.
_DYNAMIC_OPERATORS = {
    ABOVE: {"greaterthan", "greaterorlessthan"},
    BELOW: {"lessthan", "greaterorlessthan"},
}


@dataclass(frozen=True)
class SignalSpec:
    """One row of the guide's key-metrics table, with the parameters that configure it."""

    key: str
    label: str
    resource_types: tuple[str, ...]
    metric_param: str
    default_metric: str
    threshold_param: str
    default_threshold: float
    direction: str
    unit: str
    # A platform metric lives in the resource type's own namespace; a custom metric in any.
    platform: bool
    # Log search alerts: regular expressions a query must all match to be about this signal.
    # "{metric}" stands for the configured metric name.
    log_patterns: tuple[str, ...] = (r"\b{metric}\b",)
    # The longest an alert may take to fire after the breach begins (windowSize +
    # evaluationFrequency), in minutes: parameter `{key}_max_detection_minutes`.
    max_detection_minutes: float = 10.0

    @property
    def detection_param(self) -> str:
        return f"{self.key}_max_detection_minutes"


# The guide's "Key Metrics" table. Metric names are Azure Monitor's (supported-metrics lists):
# Container Apps `CpuPercentage` (percent of the CPU limit), Redis and Redis Enterprise
# `usedmemorypercentage`, Application Insights `requests/duration` (milliseconds) and
# `availabilityResults/availabilityPercentage`; the STT, TTS and call-drop metrics are custom
# metrics the application emits to Application Insights.
SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec(
        "cpu",
        "container CPU",
        (CONTAINER_APP,),
        "cpu_metric",
        "CpuPercentage",
        "cpu_threshold",
        85.0,
        ABOVE,
        "%",
        platform=True,
        max_detection_minutes=20.0,
    ),
    SignalSpec(
        "redis_memory",
        "Redis memory",
        (REDIS, REDIS_ENTERPRISE),
        "redis_memory_metric",
        "usedmemorypercentage",
        "redis_memory_threshold",
        80.0,
        ABOVE,
        "%",
        platform=True,
        max_detection_minutes=20.0,
    ),
    SignalSpec(
        "latency",
        "end-to-end latency",
        (APP_INSIGHTS,),
        "latency_metric",
        "requests/duration",
        "latency_threshold_ms",
        4000.0,
        ABOVE,
        " ms",
        platform=True,
        log_patterns=(r"\b(requests|AppRequests)\b", r"\b(duration|DurationMs)\b"),
    ),
    SignalSpec(
        "stt",
        "STT processing time",
        (APP_INSIGHTS,),
        "stt_metric",
        "speech_cascade.stt.recognition",
        "stt_threshold_ms",
        1000.0,
        ABOVE,
        " ms",
        platform=False,
    ),
    SignalSpec(
        "tts",
        "TTS generation time",
        (APP_INSIGHTS,),
        "tts_metric",
        "speech_cascade.tts.synthesis",
        "tts_threshold_ms",
        2000.0,
        ABOVE,
        " ms",
        platform=False,
    ),
    SignalSpec(
        "availability",
        "availability",
        (APP_INSIGHTS,),
        "availability_metric",
        "availabilityResults/availabilityPercentage",
        "availability_threshold",
        99.5,
        BELOW,
        "%",
        platform=True,
        log_patterns=(r"\b(availabilityResults|AppAvailabilityResults)\b",),
        max_detection_minutes=20.0,
    ),
    SignalSpec(
        "call_drop",
        "call drop rate",
        (APP_INSIGHTS,),
        "call_drop_metric",
        "voice.call_drop_rate",
        "call_drop_threshold",
        2.0,
        ABOVE,
        "%",
        platform=False,
        max_detection_minutes=20.0,
    ),
)


def default_params() -> dict[str, Any]:
    """The parameters of the key-metrics rule: every signal's metric and threshold, and more."""
    params: dict[str, Any] = {"signals": [s.key for s in SIGNALS]}
    for spec in SIGNALS:
        params[spec.metric_param] = spec.default_metric
        params[spec.threshold_param] = spec.default_threshold
    for spec in SIGNALS:
        params[spec.detection_param] = spec.max_detection_minutes
    # CPU in nanocores is accepted too, converted to percent of the app's CPU limit.
    params["cpu_nanocores_metric"] = "UsageNanoCores"
    params["accept_dynamic_thresholds"] = False
    params["min_dynamic_sensitivity"] = "Medium"
    params["allow_http_webhooks"] = False
    return params


@dataclass(frozen=True)
class AlertQuality:
    """What an alert must do beyond its threshold: how dynamic thresholds and receivers count."""

    accept_dynamic_thresholds: bool = False
    min_dynamic_sensitivity: str = "Medium"
    allow_http_webhooks: bool = False

    @classmethod
    def from_params(cls, params: Any) -> AlertQuality:
        sensitivity = str(params.min_dynamic_sensitivity).strip().capitalize()
        if sensitivity not in _SENSITIVITY:
            raise ValueError(
                f"min_dynamic_sensitivity {params.min_dynamic_sensitivity!r}: use Low, Medium "
                "or High"
            )
        return cls(
            bool(params.accept_dynamic_thresholds), sensitivity, bool(params.allow_http_webhooks)
        )


# Dynamic threshold sensitivity: Low fires only on large deviations from the baseline.
_SENSITIVITY = {"Low": 0, "Medium": 1, "High": 2}
_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", re.IGNORECASE)


def duration_minutes(value: Any) -> float | None:
    """An ISO 8601 duration as ARM writes alert timing (`PT5M`, `PT1H`, `P1D`), in minutes."""
    match = _DURATION.fullmatch(str(value or "").strip())
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return days * 1440 + hours * 60 + minutes + seconds / 60


@dataclass(frozen=True)
class Signal:
    """A signal with its parameters applied."""

    spec: SignalSpec
    metric: str
    threshold: float
    max_detection_minutes: float = 10.0
    # Other metric names that count, each with a converter of its threshold to the signal's unit.
    alternatives: Mapping[str, Callable[[Resource, float, str], float | None]] = field(
        default_factory=dict
    )

    @property
    def label(self) -> str:
        return self.spec.label

    def wanted(self) -> str:
        """What the guide alerts on, as 'CpuPercentage > 85%'."""
        sign = ">" if self.spec.direction == ABOVE else "<"
        return f"{self.metric} {sign} {number(self.threshold)}{self.spec.unit}"

    def about(self, metric_name: str) -> bool:
        return norm(metric_name) in {norm(self.metric), *(norm(a) for a in self.alternatives)}


def number(value: float) -> str:
    return f"{value:.10g}"


def _nanocores_to_percent(app: Resource, threshold: float, aggregation: str) -> float | None:
    """A `UsageNanoCores` threshold as percent of one replica's CPU limit, when that is known."""
    if aggregation.lower() not in ("average", "maximum", ""):
        return None
    cores = cpu_cores(app)
    if cores <= 0:
        return None
    return threshold / (cores * 1e9) * 100


def signals_from(params: Any) -> list[Signal]:
    """The enabled signals with their configured metric names and thresholds."""
    chosen = {str(k).lower() for k in params.signals}
    unknown = chosen - {s.key for s in SIGNALS}
    if unknown:
        known = ", ".join(s.key for s in SIGNALS)
        raise ValueError(f"unknown signal(s) {', '.join(sorted(unknown))}: use {known}")
    out = []
    for spec in SIGNALS:
        if spec.key not in chosen:
            continue
        alternatives: dict[str, Callable[[Resource, float, str], float | None]] = {}
        if spec.key == "cpu" and params.cpu_nanocores_metric:
            alternatives[str(params.cpu_nanocores_metric)] = _nanocores_to_percent
        out.append(
            Signal(
                spec,
                str(getattr(params, spec.metric_param)),
                float(getattr(params, spec.threshold_param)),
                float(getattr(params, spec.detection_param)),
                alternatives,
            )
        )
    return out


# ---- judging one alert --------------------------------------------------------------------------


@dataclass
class Judgement:
    """What one alert does for one signal on one resource."""

    alert: Resource
    works: bool = False
    # Set when the alert would work but an action group it notifies cannot be seen.
    unverifiable: bool = False
    reason: str = ""


def _action_group(inv: Inventory, group_id: str) -> Resource | None:
    found = inv.get(group_id)
    if found is None and "/notificationgroups/" in group_id.lower():
        # Older alerts name action groups by their former type, notificationGroups.
        i = group_id.lower().index("/notificationgroups/")
        found = inv.get(
            group_id[:i] + "/actionGroups/" + group_id[i + len("/notificationgroups/") :]
        )
    return found


def receiver_report(
    group: Resource, allow_http_webhooks: bool = False
) -> tuple[list[str], list[str]]:
    """(names of the receivers that can be reached, why each other receiver cannot).

    An email (or SMS, push...) receiver whose `status` is `Disabled` (its owner unsubscribed)
    reaches nobody; a webhook on `http://` sends the alert, and any token in its URL, in clear
    to anyone on the path, who can also answer in its place.
    """
    if group.unknown:
        return _receiver_report(group, allow_http_webhooks)
    # A function of the group's own data: worked out once per group (every alert that
    # notifies it asks), except on a plan, where reading it is noted each time.
    memo = group.memo
    if memo is None:
        memo = group.memo = {}
    key = ("receivers", bool(allow_http_webhooks))
    done = memo.get(key)
    if done is None:
        done = memo[key] = _receiver_report(group, allow_http_webhooks)
    return list(done[0]), list(done[1])


def _receiver_report(group: Resource, allow_http_webhooks: bool) -> tuple[list[str], list[str]]:
    names, dropped = [], []
    for key, value in group.props.items():
        if not str(key).lower().endswith("receivers"):
            continue
        kind = str(key)[: -len("receivers")] or "receiver"
        for receiver in listed(value):
            if not isinstance(receiver, dict):
                continue
            name = str(receiver.get("name") or key)
            uri = str(receiver.get("serviceUri") or "").strip().lower()
            if str(receiver.get("status", "")).lower() == "disabled":
                dropped.append(f"{kind} receiver {name} is Disabled")
            elif uri.startswith("http://") and not allow_http_webhooks:
                dropped.append(f"{kind} receiver {name} posts to http://, in clear")
            else:
                names.append(name)
    return names, dropped


def receivers(group: Resource, allow_http_webhooks: bool = False) -> list[str]:
    """Names of the action group's receivers that can be reached (see `receiver_report`)."""
    return receiver_report(group, allow_http_webhooks)[0]


def notification(
    inv: Inventory, group_ids: Iterable[str], allow_http_webhooks: bool = False
) -> tuple[list[str], list[str], list[str]]:
    """(working group names, problems, groups outside the inventory) for an alert's actions."""
    working, problems, unseen = [], [], []
    for group_id in group_ids:
        if not group_id:
            continue
        group = _action_group(inv, group_id)
        name = ArmId.parse(group_id).name or group_id
        if group is None:
            unseen.append(name)
        elif group.get("properties.enabled") is False:
            problems.append(f"action group {group.name} is disabled")
        else:
            reached, dropped = receiver_report(group, allow_http_webhooks)
            if reached:
                working.append(group.name)
            elif dropped:
                problems.append(f"action group {group.name} reaches nobody: {', '.join(dropped)}")
            else:
                problems.append(f"action group {group.name} has no receivers")
    return working, problems, unseen


def _threshold_problem(
    signal: Signal, threshold: Any, operator: str, metric: str, resource: Resource, aggregation: str
) -> str | None:
    """Why a static criterion does not catch the signal, or None when it does."""
    spec = signal.spec
    if norm(operator) not in _OPERATORS[spec.direction]:
        return f"fires on {metric} {operator or '(no operator)'} {threshold}, the wrong direction for {signal.wanted()}"
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        return f"has no numeric threshold ({threshold!r})"
    shown = f"{number(value)}{spec.unit}"
    convert = next((c for m, c in signal.alternatives.items() if norm(m) == norm(metric)), None)
    if convert is not None:
        converted = convert(resource, value, aggregation)
        if converted is None:
            return (
                f"alerts on {metric} {number(value)}, which cannot be compared with "
                f"{signal.wanted()} (the CPU limit or aggregation is unknown)"
            )
        value = converted
        shown = f"{number(round(value, 1))}{spec.unit} ({metric} {number(float(threshold))})"
    limit = f"{number(signal.threshold)}{spec.unit}"
    if spec.direction == ABOVE and value > signal.threshold:
        return f"threshold {shown} is looser than the guide's {limit}"
    if spec.direction == BELOW and value < signal.threshold:
        return f"threshold {shown} is looser than the guide's {limit}"
    return None


def _metric_criterion(
    signal: Signal, resource: Resource, alert: Resource
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The alert's criterion on the signal's metric (or None), and its other criteria."""
    mine, others = None, []
    for criterion in listed(alert.get("properties.criteria.allOf")):
        if not isinstance(criterion, dict):
            continue
        name = str(criterion.get("metricName", ""))
        namespace = str(criterion.get("metricNamespace", "") or "")
        in_namespace = (
            not signal.spec.platform or not namespace or norm(namespace) == norm(resource.type)
        )
        if mine is None and signal.about(name) and in_namespace:
            mine = criterion
        else:
            others.append(criterion)
    return mine, others


def _timing_problem(signal: Signal, alert: Resource) -> tuple[str, bool] | None:
    """(why the alert fires too late, whether that is only unknown), or None when in budget.

    After a breach begins, an alert fires at the latest one evaluation after its window has
    filled with the breach: windowSize + evaluationFrequency.
    """
    frequency = alert.get("properties.evaluationFrequency")
    window = alert.get("properties.windowSize")
    every, over = duration_minutes(frequency), duration_minutes(window)
    if every is None or over is None:
        return (
            f"has no readable evaluationFrequency and windowSize ({frequency!r}, {window!r}): "
            "how fast it fires cannot be told",
            True,
        )
    budget = signal.max_detection_minutes
    if every + over > budget:
        return (
            f"evaluates every {frequency} over {window}: it can fire {number(every + over)} min "
            f"after the breach begins, beyond the {number(budget)} min budget for "
            f"{signal.label} (parameter {signal.spec.detection_param})",
            False,
        )
    return None


def _too_late(judgement: Judgement, signal: Signal, alert: Resource) -> bool:
    timing = _timing_problem(signal, alert)
    if timing is None:
        return False
    judgement.reason, judgement.unverifiable = timing
    return True


# What the alert's own data and the resource's say about the alert, before its action groups are
# looked up: None (about something else), or the judgement so far with the action group ids to
# look up (None: the judgement is final).
_Alone = tuple[Judgement, tuple[str, ...] | None] | None


def _judged_alone(
    judge_alone: Callable[[Signal, Resource, Resource, AlertQuality], _Alone],
    signal: Signal,
    resource: Resource,
    alert: Resource,
    quality: AlertQuality,
) -> _Alone:
    """`judge_alone(signal, resource, alert, quality)`, worked out once per alert, resource,
    signal and quality (the same alert is judged again for each workload unit): a function of
    the two resources' own data and the parameters. On a plan it is worked out each time, so
    that reading a value known only after deployment is noted each time."""
    if alert.unknown or resource.unknown:
        return judge_alone(signal, resource, alert, quality)
    memo = alert.memo
    if memo is None:
        memo = alert.memo = {}
    key = (
        judge_alone,
        resource.key,
        signal.spec,
        signal.metric,
        signal.threshold,
        signal.max_detection_minutes,
        tuple(signal.alternatives.items()),
        quality,
    )
    if key in memo:
        found: _Alone = memo[key]
        return found
    found = memo[key] = judge_alone(signal, resource, alert, quality)
    return found


def _finish(inv: Inventory, found: _Alone, quality: AlertQuality) -> Judgement | None:
    """The judgement of `_judged_alone`, with the action groups it names looked up."""
    if found is None:
        return None
    so_far, actions = found
    judgement = Judgement(so_far.alert, so_far.works, so_far.unverifiable, so_far.reason)
    if actions is None:
        return judgement
    return _notify(inv, judgement, list(actions), quality)


def judge_metric_alert(
    inv: Inventory, signal: Signal, resource: Resource, alert: Resource, quality: AlertQuality
) -> Judgement | None:
    """How a metric alert serves the signal on the resource; None when it is about something else."""
    return _finish(
        inv, _judged_alone(_metric_alert_alone, signal, resource, alert, quality), quality
    )


def _metric_alert_alone(
    signal: Signal, resource: Resource, alert: Resource, quality: AlertQuality
) -> _Alone:
    criterion, others = _metric_criterion(signal, resource, alert)
    if criterion is None:
        return None
    judgement = Judgement(alert)
    metric = str(criterion.get("metricName", ""))
    if alert.get("properties.enabled") is False:
        judgement.reason = "is disabled"
        return judgement, None
    if others:
        names = ", ".join(str(c.get("metricName") or c.get("name") or "?") for c in others)
        judgement.reason = f"also requires {names} (its criteria must all be met to fire)"
        return judgement, None
    operator = str(criterion.get("operator", ""))
    if str(criterion.get("criterionType", "")).lower() == "dynamicthresholdcriterion":
        if not quality.accept_dynamic_thresholds:
            judgement.reason = (
                f"uses a dynamic threshold, which cannot be shown to be no looser than "
                f"{signal.wanted()} (parameter accept_dynamic_thresholds)"
            )
            return judgement, None
        if norm(operator) not in _DYNAMIC_OPERATORS[signal.spec.direction]:
            judgement.reason = (
                f"fires when {metric} is {operator}, not {signal.spec.direction} its baseline"
            )
            return judgement, None
        sensitivity = str(criterion.get("alertSensitivity") or "").strip().capitalize()
        if _SENSITIVITY.get(sensitivity, -1) < _SENSITIVITY[quality.min_dynamic_sensitivity]:
            judgement.reason = (
                f"uses a dynamic threshold with {sensitivity or 'no'} sensitivity: it fires only "
                "on deviations far from the baseline (parameter min_dynamic_sensitivity, "
                f"{quality.min_dynamic_sensitivity})"
            )
            return judgement, None
    else:
        problem = _threshold_problem(
            signal,
            criterion.get("threshold"),
            operator,
            metric,
            resource,
            str(criterion.get("timeAggregation", "")),
        )
        if problem:
            judgement.reason = problem
            return judgement, None
    if _too_late(judgement, signal, alert):
        return judgement, None
    actions = tuple(
        str(a.get("actionGroupId", ""))
        for a in listed(alert.get("properties.actions"))
        if isinstance(a, dict)
    )
    return judgement, actions


def _log_criterion(signal: Signal, alert: Resource) -> tuple[dict[str, Any] | None, int]:
    patterns = [
        re.compile(p.format(metric=re.escape(signal.metric)), re.IGNORECASE)
        for p in signal.spec.log_patterns
    ]
    criteria = [c for c in listed(alert.get("properties.criteria.allOf")) if isinstance(c, dict)]
    for criterion in criteria:
        query = str(criterion.get("query", "") or "")
        if query and all(p.search(query) for p in patterns):
            return criterion, len(criteria) - 1
    return None, 0


def judge_log_alert(
    inv: Inventory, signal: Signal, resource: Resource, alert: Resource, quality: AlertQuality
) -> Judgement | None:
    """How a log search alert serves the signal; None when its query is about something else."""
    return _finish(inv, _judged_alone(_log_alert_alone, signal, resource, alert, quality), quality)


def _log_alert_alone(
    signal: Signal, resource: Resource, alert: Resource, quality: AlertQuality
) -> _Alone:
    if str(alert.raw.get("kind", "")).lower() == "logtometric":
        return None
    criterion, others = _log_criterion(signal, alert)
    if criterion is None:
        return None
    judgement = Judgement(alert)
    if alert.get("properties.enabled") is False:
        judgement.reason = "is disabled"
        return judgement, None
    if others:
        judgement.reason = "has other conditions that must all be met to fire"
        return judgement, None
    problem = _threshold_problem(
        signal,
        criterion.get("threshold"),
        str(criterion.get("operator", "")),
        signal.metric,
        resource,
        "",
    )
    if problem:
        judgement.reason = problem
        return judgement, None
    if _too_late(judgement, signal, alert):
        return judgement, None
    return judgement, tuple(str(a) for a in listed(alert.get("properties.actions.actionGroups")))


def _notify(
    inv: Inventory, judgement: Judgement, group_ids: list[str], quality: AlertQuality
) -> Judgement:
    working, problems, unseen = notification(inv, group_ids, quality.allow_http_webhooks)
    if working:
        judgement.works = True
        judgement.reason = f"notifies {', '.join(working)}"
    elif unseen:
        judgement.unverifiable = True
        judgement.reason = (
            f"notifies action group {', '.join(unseen)}, which is not in the audited scope"
        )
    elif problems:
        judgement.reason = "; ".join(problems)
    else:
        judgement.reason = "notifies no action group"
    return judgement


def log_alerts_covering(inv: Inventory, resource: Resource) -> list[Resource]:
    """Log search alerts scoped to the resource, its group or subscription, or its workspace."""
    found = inv.alerts_covering(resource, [LOG_ALERT])
    workspaces = workspaces_receiving(inv, resource)
    found += [a for a in inv.alerts_scoped_to(workspaces, [LOG_ALERT]) if a not in found]
    return found


def judge(
    inv: Inventory, signal: Signal, resource: Resource, quality: AlertQuality | bool
) -> list[Judgement]:
    """Every alert in scope that is about `signal` on `resource`, judged.

    `quality` may be a bare bool: whether dynamic thresholds count, other settings by default.
    """
    if isinstance(quality, bool):
        quality = AlertQuality(accept_dynamic_thresholds=quality)
    out: list[Judgement] = []
    for alert in inv.alerts_covering(resource, alert_types=(METRIC_ALERT,)):
        judged = judge_metric_alert(inv, signal, resource, alert, quality)
        if judged is not None:
            out.append(judged)
    for alert in log_alerts_covering(inv, resource):
        judged = judge_log_alert(inv, signal, resource, alert, quality)
        if judged is not None:
            out.append(judged)
    return out
