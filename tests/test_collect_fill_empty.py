"""Child types with no parent in a listed scope are recorded as read and empty: the one pass
over the coverage gives what a pass per type and per listed scope gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from prodcheck.collect.engine import Plan, _child_collectors, _under, empty_child_records
from prodcheck.collect.ids import type_key

SUBS = ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"]
GROUPS = ["rg-a", "RG-b", "rg-a2"]
PLAN = Plan(
    [
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        "Microsoft.ApiManagement/service/apis",
        "Microsoft.App/containerApps/authConfigs",
    ]
)
CHILD_TYPES = [c.type for c in _child_collectors(PLAN)]


def _listing_scopes(groups):
    return [
        f"/subscriptions/{s}" + (f"/resourceGroups/{g}" if g else "")
        for s in SUBS
        for g in (groups or [""])
    ]


def _long_way(coverage, scopes):
    added = []
    for collector in _child_collectors(PLAN):
        key = type_key(collector.type)
        found = [r["scope"] for r in coverage if type_key(r["resourceType"]) == key]
        for listing in scopes:
            if not any(_under(s, listing) for s in found):
                added.append((collector.type, listing))
    return added


scope = st.builds(
    lambda sub, case, group, tail, slash: (
        f"/{'Subscriptions' if case else 'subscriptions'}/{sub.upper() if case else sub}"
        + (f"/resourceGroups/{group.upper() if case else group}" if group else "")
        + tail
        + ("/" if slash else "")
    ),
    st.sampled_from(SUBS),
    st.booleans(),
    st.sampled_from(["", *GROUPS]),
    st.sampled_from(["", "/providers/Microsoft.Network/privateEndpoints/pe", "x", "/"]),
    st.booleans(),
)
record = st.fixed_dictionaries(
    {
        "resourceType": st.sampled_from(
            [*CHILD_TYPES, CHILD_TYPES[0].upper(), "Microsoft.Other/things"]
        ),
        "scope": scope,
    }
)


@settings(max_examples=300, deadline=None)
@given(
    coverage=st.lists(record, max_size=12),
    groups=st.sampled_from([[], ["rg-a"], ["rg-a", "RG-b"]]),
)
def test_the_one_pass_records_what_the_pass_per_scope_did(coverage, groups):
    scopes = _listing_scopes(groups)
    records = empty_child_records(PLAN, list(coverage), scopes)
    assert [(r["resourceType"], r["scope"]) for r in records] == _long_way(coverage, scopes)
    assert all((r["status"], r["count"]) == ("ok", 0) for r in records)
