"""Reading a snapshot keeps each short string once, reads the same values as `json.loads`, and
holds the file's text only a piece at a time."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from prodcheck import jsonfile
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


def test_a_large_file_is_read_without_holding_its_whole_text(tmp_path, monkeypatch):
    resources = [
        {"id": f"/subscriptions/s/providers/Microsoft.Web/sites/app{i}", "properties": {"n": i}}
        for i in range(3000)
    ]
    path = tmp_path / "snap.json"
    path.write_text(json.dumps({"format": "prodcheck.snapshot/v1", "resources": resources}))
    piece = 4096
    assert path.stat().st_size > 40 * piece
    monkeypatch.setattr(jsonfile, "READ_BYTES", piece)

    def no_long_way(*_args: object) -> None:
        raise AssertionError("the file was read whole, the long way")

    monkeypatch.setattr(jsonfile, "parse_json_long", no_long_way)
    widest = 0
    more = jsonfile._FastReader.more

    def watched_more(reader: jsonfile._FastReader, chars: int) -> bool:
        nonlocal widest
        added = more(reader, chars)
        widest = max(widest, len(reader.text))
        return added

    monkeypatch.setattr(jsonfile._FastReader, "more", watched_more)
    doc, _ = jsonfile.read_json(path, "snapshot", "re-collect it")
    assert doc["resources"] == resources
    # The text in hand is never more than what is left of one piece and the next.
    assert 0 < widest <= 2 * piece
