"""The quick schema tests of a snapshot never pass what the shipped schema refuses.

Reading a snapshot runs the JSON Schema only to explain what the quick tests
(`plainly_valid` for a resource, `_plain_top` for the rest of the document) cannot vouch for:
whatever they vouch for must satisfy the schema.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from prodcheck.snapshot import FORMAT, _plain_top, parse_snapshot, plainly_valid
from prodcheck.validation import SNAPSHOT_SCHEMA, definition_errors, schema_errors

_odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 1000),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-2, max_value=2),
    st.sampled_from(["", "ok", "failed", "x", "2026-11-19T10:00:00Z"]),
    st.lists(st.sampled_from(["", "a", 1]), max_size=2),
    st.dictionaries(st.sampled_from(["a", "value"]), st.sampled_from(["x", 1]), max_size=2),
)


def _members(keys: list[str], value: st.SearchStrategy) -> st.SearchStrategy:
    return st.dictionaries(st.sampled_from(keys), value, max_size=len(keys))


_graph = _members(
    ["types", "scopes", "queries", "rows", "queriedAt", "lag", "fallbacks", "other"], _odd
)
_scope = st.one_of(
    _odd,
    _members(["subscriptions", "resourceGroups", "tags", "cloud", "resourceGraph", "x"], _odd),
    st.fixed_dictionaries(
        {},
        optional={
            "subscriptions": st.lists(st.sampled_from(["s", ""]), max_size=2),
            "tags": st.dictionaries(st.sampled_from(["env"]), st.sampled_from(["prod", 1])),
            "resourceGraph": _graph,
        },
    ),
)
_record = st.one_of(
    _odd,
    st.fixed_dictionaries(
        {
            "resourceType": st.sampled_from(["Microsoft.Web/sites", "", 5]),
            "scope": st.sampled_from(["/subscriptions/s", None]),
            "status": st.sampled_from(["ok", "failed", "OK", True]),
        },
        optional={
            "statusCode": st.sampled_from([200, 403, 999, 1000, -1, True, 403.0, "403"]),
            "count": st.sampled_from([0, 3, -1, False, 2.0, None]),
            "errorCode": _odd,
            "message": _odd,
            "permission": _odd,
            "Status": st.just("failed"),
        },
    ),
)
_top = st.fixed_dictionaries(
    {"format": st.sampled_from([FORMAT, "prodcheck.snapshot/v2"])},
    optional={
        "collectedAt": _odd,
        "scope": _scope,
        "coverage": st.one_of(_odd, st.lists(_record, max_size=3)),
        "Coverage": st.just([]),
    },
)


@settings(max_examples=500, deadline=None)
@given(_top)
def test_a_document_the_quick_test_passes_satisfies_the_schema(doc):
    if _plain_top(doc):
        assert list(schema_errors({**doc, "resources": []}, SNAPSHOT_SCHEMA)) == []


_METRICS = "Microsoft.Insights/metrics"
_resource = st.fixed_dictionaries(
    {"id": st.sampled_from(["/subscriptions/s/x", "", 5])},
    optional={
        "type": st.sampled_from(
            [_METRICS, _METRICS.lower(), "microsoft.insights/metrics\n", " " + _METRICS, "x", None]
        ),
        "name": st.one_of(_odd, st.just("app")),
        "location": _odd,
        "tags": _odd,
        "zones": _odd,
        "sku": _odd,
        "properties": st.one_of(
            _odd,
            _members(["value", "timespan", "interval", "namespace", "cost"], _odd),
            st.fixed_dictionaries(
                {"value": st.lists(st.sampled_from([{}, {"average": 1.5}, 1]), max_size=2)}
            ),
        ),
    },
)


_metrics_answer = st.fixed_dictionaries(
    {
        "id": st.just("/subscriptions/s/x/providers/Microsoft.Insights/metrics/m"),
        "type": st.sampled_from(
            [_METRICS, "MICROSOFT.INSIGHTS/METRICS", "microſoft.insights/metrics"]
        ),
        "name": st.sampled_from(["m", "m", "", None, 5]),
        "properties": st.fixed_dictionaries(
            {"value": st.lists(st.sampled_from([{}, {"average": 1.5}, {}, 1]), max_size=2)},
            optional={
                "timespan": st.sampled_from(["P1D", "P1D", 1]),
                "interval": st.sampled_from(["PT1H", "PT1H", None]),
                "namespace": st.sampled_from(["Microsoft.Web/sites", None]),
            },
        )
        | _members(["value", "timespan"], _odd),
    },
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(_resource, _metrics_answer))
def test_a_resource_the_quick_test_passes_satisfies_the_schema(resource):
    if plainly_valid(resource):
        assert list(definition_errors(resource, SNAPSHOT_SCHEMA, "resource")) == []


def test_a_metrics_answer_whose_values_are_not_a_list_is_a_malformed_resource():
    answer = {
        "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a"
        "/providers/Microsoft.Insights/metrics/x",
        "type": _METRICS,
        "name": "x",
        "properties": {"value": "not a list"},
    }
    snapshot = parse_snapshot({"format": FORMAT, "resources": [answer]}, "snap.json")
    assert [p.scope for p in snapshot.problems] == [answer["id"]]
    assert "properties.value" in snapshot.problems[0].message
