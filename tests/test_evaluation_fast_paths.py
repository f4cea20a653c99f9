"""The shortcuts that make evaluating the rule pack cheap give the very result of the long way.

Each is checked against the long way it replaces: the whole rule pack over replicated demo
workloads with every shortcut turned off, and each shortcut on arbitrary data (hypothesis):
reading nested values (`dig`), reading a metric's data points, redacting evidence, filling a
remediation template. A rule run must also leave nothing for the cycle collector, so that its
verdicts are freed as soon as the engine is done with them.
"""

from __future__ import annotations

import gc
import math
import re
import shlex
import sys
import weakref
from functools import partial
from pathlib import Path
from typing import Any

from builders import registry
from hypothesis import given, settings
from hypothesis import strategies as st

from prodcheck import arm, engine, inventory, secrets, units
from prodcheck.arm import ArmId
from prodcheck.engine import run_rule
from prodcheck.inventory import Inventory, dig
from prodcheck.model import fill_remediation
from prodcheck.rule import call_with_budget
from prodcheck.secrets import REDACTED, redact

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from estate import replicate  # noqa: E402

# ---- the long ways -------------------------------------------------------------------------------

_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def dig_the_long_way(obj: Any, path: str, default: Any = None) -> Any:
    current = obj
    for key, index in _PATH_TOKEN.findall(path):
        if index:
            if not isinstance(current, list) or int(index) >= len(current):
                return default
            current = current[int(index)]
            continue
        if not isinstance(current, dict):
            return default
        if key in current:
            current = current[key]
            continue
        lowered = key.lower()
        for k, v in current.items():
            if isinstance(k, str) and k.lower() == lowered:
                current = v
                break
        else:
            return default
    return default if current is None else current


def redact_the_long_way(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, str) and secrets._secret_key(str(k)):
                out[k] = v if secrets.is_app_insights_connection_string(str(k), v) else REDACTED
            else:
                out[k] = v
        return secrets.redact_mapping(out, lambda v: redact_the_long_way(v))
    if isinstance(value, list):
        return [redact_the_long_way(v, key) for v in value]
    if isinstance(value, str):
        return secrets._redacted_text(key, value)
    return value


def values_the_long_way(data: list[Any], aggregation: str) -> list[float]:
    from rules.performance import Unreadable

    values = []
    for point in data:
        if not isinstance(point, dict):
            raise Unreadable("a data point is not an object")
        value = point.get(aggregation)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Unreadable(f"a data point's {aggregation} is not a number: {str(value)[:80]!r}")
        number = float(value)
        if not math.isfinite(number) or abs(number) > 1e15:
            raise Unreadable(f"a data point's {aggregation} is not a finite number")
        values.append(number)
    return values


_FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
_PLACEHOLDER = re.compile(r"\{(name|resource_group|id|subscription)\}")


def fill_the_long_way(template: str, **values: str) -> str:
    def fill(text: str, quote: bool) -> str:
        def one(m: re.Match[str]) -> str:
            value = values.get(m.group(1)) or f"<{m.group(1).replace('_', '-')}>"
            return shlex.quote(value) if quote else value

        return _PLACEHOLDER.sub(one, text)

    out, last = [], 0
    for m in _FENCE.finditer(template):
        out.append(fill(template[last : m.start(2)], False))
        out.append(fill(m.group(2), m.group(1).lower() in ("sh", "bash", "shell")))
        last = m.end(2)
    out.append(fill(template[last:], False))
    return "".join(out)


def _outcome(func: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "value", func(*args)
    except Exception as exc:  # noqa: BLE001 - the error itself is the outcome compared
        return type(exc).__name__, str(exc)


# ---- the whole rule pack ---------------------------------------------------------------------------


def findings_of(inv: Inventory) -> list[tuple[Any, ...]]:
    return [
        (f.rule_id, f.resource_id, f.status, f.message, repr(f.evidence), f.remediation)
        for rule in registry().all()
        for f in run_rule(rule, inv)
    ]


def _pack_module(name: str) -> Any:
    """A helper module of the built-in rule pack, as the registry imported it."""
    package = sys.modules[registry().all()[0].func.__module__].__package__
    return sys.modules[f"{package}.{name}"]


def test_rule_pack_reaches_the_same_findings_with_every_shortcut_turned_off(monkeypatch):
    performance, apim_policy = _pack_module("performance"), _pack_module("_apim_policy")
    resources = replicate(700)["resources"]
    fast = findings_of(Inventory(resources))
    parsed: list[int] = []
    monkeypatch.setattr(inventory, "_steps", inventory._parse_steps)
    monkeypatch.setattr(inventory, "_KEYS", {})
    monkeypatch.setattr(inventory, "_keys_of", lambda path: ())
    monkeypatch.setattr(inventory, "_no_str_key_folds_to", lambda lowered, mapping: False)
    monkeypatch.setattr(secrets, "_plain_mapping", lambda d: None)
    monkeypatch.setattr(secrets, "_PLAIN", frozenset())
    monkeypatch.setattr(performance, "_OBJECT", frozenset())
    monkeypatch.setattr(apim_policy, "_parsed_of", lambda inv: parsed.append(1))
    monkeypatch.setattr(performance, "_record_series", performance._read_record)
    alerts = _pack_module("_alerts")
    monkeypatch.setattr(alerts, "receiver_report", alerts._receiver_report)
    monkeypatch.setattr(engine, "fill_remediation", fill_the_long_way)
    _turn_off_the_evaluation_shortcuts(monkeypatch)
    slow = findings_of(Inventory(resources))
    assert len(fast) > 500
    assert parsed, "the APIM rules parse policies without remembering them"
    assert any("series" in evidence for *_, evidence, _ in fast)
    assert fast == slow


def _turn_off_the_evaluation_shortcuts(monkeypatch: Any) -> None:
    """Every rule helper's memo taken out: each value worked out again where it is asked for."""
    alerts, access = _pack_module("_alerts"), _pack_module("_access")
    apim = _pack_module("api_management")
    monkeypatch.setattr(alerts, "_judged_alone", lambda judge_alone, *args: judge_alone(*args))
    monkeypatch.setattr(access, "_host_memo", access._host_of)
    monkeypatch.setattr(apim, "_url_host_memo", apim._url_host)
    monkeypatch.setattr(arm, "_parse_memo", ArmId._parse)
    monkeypatch.setattr(Inventory, "recall", lambda self, key, compute, *about: compute())


def per_unit_findings_of(resources: list[dict[str, Any]], unit: str) -> list[tuple[Any, ...]]:
    inv = Inventory(resources)
    views = units.split(inv, unit) or []
    settings_ = engine.AuditSettings(unit=unit)
    return [
        (f.rule_id, f.resource_id, f.status, f.message, repr(f.evidence), f.remediation)
        for rule in registry().all()
        for f in engine.run_per_unit(rule, inv, views, settings_)
    ]


def test_rule_pack_judges_workload_units_alike_with_the_shortcuts_turned_off(monkeypatch):
    # Scope-level rules run again over each unit's view, with the very same resources: what
    # a helper kept on a resource from the whole inventory's run must give what working it
    # out again gives.
    resources = replicate(700)["resources"]
    fast = per_unit_findings_of(resources, "resource-group")
    _turn_off_the_evaluation_shortcuts(monkeypatch)
    slow = per_unit_findings_of(resources, "resource-group")
    assert sum(1 for f in fast if f[0] == "PC-MON-002") > 20
    assert fast == slow


# ---- each shortcut on arbitrary data ------------------------------------------------------------

SEGMENTS = st.one_of(
    st.sampled_from(["subscriptions", "Subscriptions", "resourceGroups", "RESOURCEGROUPS"]),
    st.sampled_from(["providers", "Providers", "Microsoft.Web", "sites", "diagnosticSettings"]),
    st.sampled_from(["", " ", "a ", "İd", "x", "Microsoft.Insights"]),
    st.text(max_size=4),
)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(SEGMENTS, max_size=10),
    st.sampled_from(["", "/", " /", "//"]),
    st.sampled_from(["", "/", " "]),
    st.booleans(),
)
def test_resource_ids_are_parsed_as_the_long_way_parses_them(segments, before, after, usual):
    if usual:  # the usual shape's start, so that the shortcut's own checks are reached
        segments = ["subscriptions", "s", "resourceGroups", "g", "providers", *segments]
    resource_id = before + "/".join(segments) + after
    assert ArmId._parse_usual(resource_id) == ArmId._parse(resource_id)


def test_usual_resource_ids_take_the_shortcut_and_parse_alike():
    base = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ApiManagement/service/apim"
    for resource_id in (
        base,
        base + "/apis/a/operations/o",
        base + "/providers/Microsoft.Insights/diagnosticSettings/d",
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.Insights/diagnosticSettings/d",
        "/subscriptions/s/resourceGroups/resourceGroups/x/providers/M.N/t/n",
    ):
        assert ArmId._parse_usual(resource_id) == ArmId._parse(resource_id)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), st.sampled_from(["https://a.b:443/x", "[::1", "a b.c/d"])))
def test_host_names_are_read_as_the_long_way_reads_them(text):
    access = _pack_module("_access")
    assert access.host_of(text) == access._host_of(text)


KEYS = ["name", "Name", "NAME", "value", "Value", "secrets", "properties", "password", "x", "İd"]
KEYS += ["API_KEY", "connectionString", "DisableLocalAuth", "disableLocalAuth", "type", "secret"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.sampled_from(["", "true", "Microsoft.KeyVault/vaults/secrets", "AccountKey=abcd1234efgh"]),
    st.sampled_from(["{{named}}", "InstrumentationKey=00000000-0000-0000-0000-000000000000"]),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=5),
    ),
    max_leaves=25,
)
paths = st.lists(
    st.one_of(st.sampled_from(KEYS), st.integers(0, 3).map(lambda i: f"[{i}]")), max_size=4
).map(lambda steps: ".".join(steps).replace(".[", "["))


@settings(max_examples=400, deadline=None)
@given(json_values, paths)
def test_dig_reads_what_the_long_way_reads(value, path):
    assert _outcome(dig, value, path) == _outcome(dig_the_long_way, value, path)


def test_dig_matches_keys_of_any_kind_the_long_way():
    mapping = {1: "one", "DisableLocalAuth": True}
    assert dig({"p": mapping}, "p.disableLocalAuth") is True
    assert dig({"p": {1: "one"}}, "p.missing", "none") == "none"


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_redact_gives_what_the_long_way_gives(value):
    assert repr(redact(value)) == repr(redact_the_long_way(value))


def test_redact_still_masks_credentials_under_plain_keys():
    evidence = {"series": {"values": [1.0, 2.0]}, "note": "AccountKey=abcd1234efgh5678ijkl"}
    assert redact(evidence) == redact_the_long_way(evidence)
    assert "abcd1234" not in repr(redact(evidence))


points = st.one_of(
    st.dictionaries(
        st.sampled_from(["average", "maximum", "timeStamp"]),
        st.one_of(st.none(), st.floats(), st.integers(-(10**16), 10**16), st.booleans()),
        max_size=3,
    ),
    st.sampled_from([[], "x", None, 3]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(points, max_size=8), st.sampled_from(["average", "maximum"]))
def test_metric_points_are_read_as_the_long_way_reads_them(data, aggregation):
    from rules.performance import _series_values

    fast = _outcome(_series_values, data, aggregation)
    assert fast == _outcome(values_the_long_way, data, aggregation)


TEMPLATE_PARTS = ["text ", "{name}", "{id}", "{resource_group}", "{subscription}", "{other}"]
TEMPLATE_PARTS += ["\n```sh\naz x -n ", "\n```\n", "\n```json\n{", "}\n```\n", "{", "}", "\n"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(TEMPLATE_PARTS), max_size=12).map("".join),
    st.sampled_from(["", "app; rm -rf /", "it's"]),
)
def test_remediation_is_filled_as_the_long_way_fills_it(template, name):
    values = {"name": name, "resource_group": "rg", "id": "/subscriptions/s", "subscription": ""}
    assert fill_remediation(template, **values) == fill_the_long_way(template, **values)


# ---- nothing left for the cycle collector ---------------------------------------------------------


class _Held:
    pass


def test_budgeted_call_frees_what_it_was_given_once_done():
    held = _Held()
    gone = weakref.ref(held)
    enabled = gc.isenabled()
    gc.disable()
    try:
        assert call_with_budget(5.0, partial(id, held))[1] is False
        del held
        assert gone() is None
    finally:
        if enabled:
            gc.enable()


# ---- what is kept on a resource -------------------------------------------------------------------


def test_unreadable_metric_data_is_reported_alike_each_time_it_is_read():
    from builders import arm, metric_item, metrics_record

    app = arm("Microsoft.App/containerApps", "api")
    item = metric_item(app["id"], "CpuPercentage", [1.0, float("nan")])
    inv = Inventory([app, metrics_record(app, "Microsoft.App/containerApps", [item])])
    rules = [r for r in registry().all() if r.id in ("PC-PERF-001", "PC-OPS-008")]
    first = [(f.rule_id, f.status.value, f.message) for r in rules for f in run_rule(r, inv)]
    again = [(f.rule_id, f.status.value, f.message) for r in rules for f in run_rule(r, inv)]
    assert first == again
    assert any(status == "ERROR" and "finite" in message for _, status, message in first)


# ---- what is worked out once per inventory ---------------------------------------------------------


def _reads_of(inv: Inventory, ask: Any) -> tuple[Any, Any, list[Any]]:
    inv.record_reads(True)
    inv.unknown_reads.clear()
    answer = ask()
    reads, unknown = inv.take_reads(), list(inv.unknown_reads)
    inv.record_reads(False)
    return answer, reads, unknown


def test_an_answer_recalled_notes_the_reads_of_working_it_out():
    apim_policy = _pack_module("_apim_policy")
    resources = replicate(100)["resources"]
    inv = Inventory(resources)
    service = inv.of_type(apim_policy.SERVICE)[0]
    api = apim_policy.current_apis(inv, service)[0]
    ask = partial(apim_policy.api_policies, inv, service, api)
    first, first_reads, _ = _reads_of(inv, ask)
    again, again_reads, _ = _reads_of(inv, ask)
    worked_out, long_reads, _ = _reads_of(
        inv, partial(apim_policy._api_policies, inv, service, api)
    )
    assert again is first
    assert first_reads == again_reads == long_reads
    assert any(read.where == api.key for read in first_reads)
    assert [p.describe() for p in first.paths] == [p.describe() for p in worked_out.paths]


def test_an_answer_recalled_on_a_plan_reads_its_unknown_values_again():
    inv = Inventory(
        [
            {
                "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv",
                "type": "Microsoft.KeyVault/vaults",
                "properties": {"vaultUri": None},
                inventory.UNKNOWN_KEY: ["properties.vaultUri"],
            }
        ]
    )
    vault = inv.of_type("Microsoft.KeyVault/vaults")[0]

    def uri() -> Any:
        return inv.recall(("uri", vault.key), lambda: vault.get("properties.vaultUri"), vault)

    _, first, unknown_first = _reads_of(inv, uri)
    _, again, unknown_again = _reads_of(inv, uri)
    assert unknown_first == unknown_again != []
    assert first == again


def test_an_answer_is_worked_out_anew_while_resources_are_hidden():
    calls: list[int] = []
    inv = Inventory([])
    inv.hide(["/x"])
    inv.recall("k", lambda: calls.append(1))
    inv.recall("k", lambda: calls.append(1))
    inv.hide(())
    inv.recall("k", lambda: calls.append(1))
    inv.recall("k", lambda: calls.append(1))
    assert len(calls) == 3
