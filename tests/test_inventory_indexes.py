"""The cross-reference indexes answer exactly what a scan of the inventory would.

`ScanningInventory` answers every cross-reference the slow way, by scanning the inventory on
each call, and rebuilds every derived cross-reference on each call. The whole rule pack must
reach the same findings over it as over the indexed `Inventory`, on an estate of replicated
demo workloads and on hostile shapes of the data the indexes read.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from builders import RG, SUB, arm, registry, rid
from hypothesis import given, settings
from hypothesis import strategies as st

from prodcheck.arm import ArmId, is_under, norm
from prodcheck.engine import run_rule
from prodcheck.inventory import Inventory, Resource

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from estate import replicate  # noqa: E402

T = TypeVar("T")
METRIC_ALERT = "Microsoft.Insights/metricAlerts"
LOG_ALERT = "Microsoft.Insights/scheduledQueryRules"
REDIS = "Microsoft.Cache/redis"
_CONTAINERS = ("Microsoft.Resources/resourceGroups", "Microsoft.Resources/subscriptions")


class ScanningInventory(Inventory):
    """The inventory without indexes: every question scans it again."""

    def alerts_covering(
        self, resource: Resource, alert_types: Iterable[str] = (METRIC_ALERT,)
    ) -> list[Resource]:
        covering = []
        for alert in self.of_type(*alert_types):
            scopes = alert.get("properties.scopes")
            targets = alert.get("properties.targetResourceTypes") or []
            targets = list(targets) if isinstance(targets, list) else [targets]
            targets.append(alert.get("properties.targetResourceType"))
            target_types = {norm(str(t)) for t in targets if t}
            for scope in scopes if isinstance(scopes, list) else []:
                if norm(str(scope)) == resource.key or (
                    is_under(resource.id, str(scope))
                    and (not target_types or norm(resource.type) in target_types)
                    and ArmId.parse(str(scope)).type in _CONTAINERS
                ):
                    covering.append(alert)
                    break
        return covering

    def alerts_scoped_to(
        self, scope_ids: Iterable[str], alert_types: Iterable[str]
    ) -> list[Resource]:
        keys = {norm(s) for s in scope_ids}
        found = []
        for alert in self.of_type(*alert_types):
            scopes = alert.get("properties.scopes")
            if any(norm(str(s)) in keys for s in (scopes if isinstance(scopes, list) else [])):
                found.append(alert)
        return found

    def derived(self, build: Callable[[Inventory], T], *reads: str) -> T:
        return build(self)


def findings_of(inv: Inventory) -> list[tuple[Any, ...]]:
    out = []
    for rule in registry().all():
        for f in run_rule(rule, inv):
            out.append((f.rule_id, f.resource_id, f.status, f.message, repr(f.evidence)))
    return sorted(out)


def test_rule_pack_reaches_the_same_findings_with_and_without_indexes():
    resources = replicate(700)["resources"]
    indexed = findings_of(Inventory(resources))
    scanned = findings_of(ScanningInventory(resources))
    assert len(indexed) > 500
    assert indexed == scanned


def test_alert_index_is_built_once_per_alert_type_and_inventory(monkeypatch):
    from prodcheck import inventory as module

    built = []
    real = module._AlertIndex

    def counting(alerts):
        built.append(len(alerts))
        return real(alerts)

    monkeypatch.setattr(module, "_AlertIndex", counting)
    inv = Inventory(replicate(400)["resources"])
    for resource in inv:
        inv.alerts_covering(resource)
        inv.alerts_covering(resource, [METRIC_ALERT.upper(), LOG_ALERT])
    assert len(built) == 2


def test_derived_cross_reference_is_built_once_and_reports_its_reads_every_time():
    calls = []
    reads = []

    class Recording(Inventory):
        def note_read(self, *types: str, parent: str | None = None) -> None:
            reads.append(types)

    def build(inv: Inventory) -> int:
        calls.append(inv)
        return 1

    inv = Recording([arm(REDIS, "cache")])
    assert inv.derived(build, REDIS) == 1
    assert inv.derived(build, REDIS) == 1
    assert calls == [inv]
    assert reads == [(REDIS,), (REDIS,)]


# ---- hostile alert scopes ------------------------------------------------------------------------

_SUBSCRIPTION = f"/subscriptions/{SUB}"
_GROUP = f"{_SUBSCRIPTION}/resourceGroups/{RG}"
_CACHE = rid(REDIS, "cache")
_OTHER = rid(REDIS, "cache", rg="rg-other")
_SCOPE_TEXTS = [
    _SUBSCRIPTION,
    _GROUP,
    _CACHE,
    _OTHER,
    f"{_GROUP}/providers/Microsoft.Cache",
    rid(REDIS, "cache2"),
    "/",
    "",
    f"/subscriptions/{SUB}/resourceGroups",
    f"{_SUBSCRIPTION}//resourceGroups/{RG}",
]


def _spelt(text: str, upper: bool, slash: bool, space: bool) -> str:
    text = text.upper() if upper else text
    text = text + "/" if slash else text
    return f" {text} " if space else text


scope = st.builds(
    _spelt, st.sampled_from(_SCOPE_TEXTS), st.booleans(), st.booleans(), st.booleans()
)
scopes = st.one_of(
    st.lists(scope, max_size=3),
    st.lists(st.one_of(scope, st.integers(), st.none()), max_size=3),
    scope,
    st.none(),
    st.dictionaries(scope, st.none(), max_size=2),
)
target = st.sampled_from([None, "", REDIS, REDIS.upper(), "Microsoft.Storage/storageAccounts"])
targets = st.one_of(target, st.lists(target, max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(scopes, target, targets), min_size=1, max_size=5))
def test_alerts_covering_and_scoped_to_agree_with_a_scan(alerts):
    resources: list[dict[str, Any]] = [
        arm(REDIS, "cache"),
        arm(REDIS, "cache", rg="rg-other"),
        arm(REDIS, "cache2"),
    ]
    for i, (alert_scopes, single, many) in enumerate(alerts):
        kind = METRIC_ALERT if i % 2 else LOG_ALERT
        properties = {"scopes": alert_scopes, "targetResourceType": single}
        properties["targetResourceTypes"] = many
        resources.append(arm(kind, f"alert-{i}", properties=properties))
    indexed, scanned = Inventory(resources), ScanningInventory(resources)
    for kinds in ([METRIC_ALERT], [LOG_ALERT], [LOG_ALERT, METRIC_ALERT.lower()]):
        for resource in indexed.of_type(REDIS):
            assert [a.id for a in indexed.alerts_covering(resource, kinds)] == [
                a.id for a in scanned.alerts_covering(scanned.get(resource.id), kinds)
            ]
        for ids in ([_CACHE], [_GROUP.upper() + "/"], [_OTHER, _SUBSCRIPTION]):
            assert [a.id for a in indexed.alerts_scoped_to(ids, kinds)] == [
                a.id for a in scanned.alerts_scoped_to(ids, kinds)
            ]
