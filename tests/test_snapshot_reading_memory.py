"""Reading a snapshot keeps each short string once, and reads the same values as `json.loads`."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from prodcheck.jsonfile import SHARED_STRING_CHARS, InvalidJson, parse_json

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**18), 10**18) | st.text(max_size=80),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


def test_repeated_short_values_are_held_once() -> None:
    points = [{"timeStamp": "2026-11-19T10:00:00Z", "average": 1.5} for _ in range(3)]
    doc = parse_json(json.dumps({"value": points}))
    stamps = [point["timeStamp"] for point in doc["value"]]
    assert all(stamp is stamps[0] for stamp in stamps)
    assert stamps[0] == "2026-11-19T10:00:00Z"


def test_long_values_are_read_as_they_are() -> None:
    long_text = "x" * (SHARED_STRING_CHARS + 1)
    doc = parse_json(json.dumps([{"a": long_text}, {"a": long_text}]))
    assert [item["a"] for item in doc] == [long_text, long_text]


def test_a_repeated_key_is_still_refused_after_a_shared_value() -> None:
    text = '[{"type": "Microsoft.Web/sites"}, {"type": "Microsoft.Web/sites", "type": "x"}]'
    try:
        parse_json(text)
    except InvalidJson as exc:
        assert "'type' appears twice" in str(exc)
    else:
        raise AssertionError("a repeated key was accepted")


@given(_json_values)
def test_reading_gives_what_json_loads_gives(value: object) -> None:
    text = json.dumps(value)
    assert parse_json(text) == json.loads(text)
