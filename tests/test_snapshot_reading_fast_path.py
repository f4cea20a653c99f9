"""The fast reading of JSON files reads what the long way reads, and refuses what it refuses.

`prodcheck.jsonfile` reads a file a few megabytes at a time, checks repeated keys, depth and
numbers while the decoder builds the document, and decodes the items of a top-level list one by
one; whatever it would refuse it hands to the long way (`parse_json_long`), which gives the
message. These tests hold the two against each other on arbitrary and hostile JSON: repeated
keys (also written with escapes) at any depth, nesting around the limit, NaN and Infinity,
numbers out of range, lone surrogates, a byte order mark, invalid UTF-8, truncated text and
trailing data, with the text cut into pieces anywhere.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from prodcheck import jsonfile
from prodcheck.errors import UserError
from prodcheck.jsonfile import MAX_DEPTH, _read_fast, _Unread, parse_json, parse_json_long

# ---- hostile JSON text ---------------------------------------------------------------------

_ws = st.sampled_from(["", " ", "\n", "\t", "\r\n  "])
# Keys as JSON text: few, so that an object often repeats one, also spelled with escapes.
_keys = st.sampled_from(['"id"', '"a"', '"\\u0061"', '"b"', '"\\u00e9"', '"é"', '""', '"}, {"'])
_hostile_numbers = st.sampled_from(
    [
        "1e999",
        "-1e999",
        "1E400",
        "1.5e-400",
        "NaN",
        "Infinity",
        "-Infinity",
        "9" * 20,
        "9" * 21,
        "-" + "9" * 20,
        "-" + "9" * 21,
        "1" + "0" * 20,
        "-0",
        "0.0",
        "-0.0",
    ]
)
_hostile_strings = st.sampled_from(
    [
        '"\\ud800"',
        '"a\\udfffb"',
        '"\\ud83d\\ude00"',
        '"\\\\ud800"',
        '"}, {"',
        '"]]]"',
        '"[[[{{{"',
        '"\\"}, {\\""',
        '"2026-11-19T10:00:00Z"',
    ]
)
_scalars = st.one_of(
    st.sampled_from(["true", "false", "null"]),
    st.integers(-(10**22), 10**22).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    _hostile_numbers,
    st.text(max_size=12).map(json.dumps),
    st.text(max_size=12).map(lambda s: json.dumps(s, ensure_ascii=False)),
    _hostile_strings,
)


def _array(items: list[tuple[str, str, str]]) -> str:
    return "[" + ",".join(before + item + after for item, before, after in items) + "]"


def _object(members: list[tuple[str, str, str]]) -> str:
    return "{" + ",".join(space + key + ":" + space + value for key, value, space in members) + "}"


_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(st.tuples(inner, _ws, _ws), max_size=4).map(_array)
        | st.lists(st.tuples(_keys, inner, _ws), max_size=4).map(_object)
    ),
    max_leaves=20,
)


@st.composite
def _nested(draw: st.DrawFn) -> str:
    """A value wrapped in lists and objects to about the depth limit, or well past it."""
    text = draw(_values)
    levels = draw(st.one_of(st.integers(0, 3), st.integers(MAX_DEPTH - 4, MAX_DEPTH + 2)))
    for _ in range(levels):
        text = "[" + text + "]" if draw(st.booleans()) else '{"k": ' + text + "}"
    return text


@st.composite
def _documents(draw: st.DrawFn) -> str:
    body = draw(st.one_of(_values, _nested(), st.lists(_values, max_size=6).map(_top_list)))
    text = draw(_ws) + body + draw(_ws)
    mutation = draw(st.sampled_from(["none"] * 6 + ["bom", "trailing", "truncated"]))
    if mutation == "bom":
        text = "\ufeff" + text
    elif mutation == "trailing":
        text += draw(st.sampled_from(["x", "{}", ",", "]", "1"]))
    elif mutation == "truncated":
        text = text[: draw(st.integers(0, len(text)))]
    return text


def _top_list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _pieces(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(cut % (len(text) + 1) for cut in cuts)})
    return [text[a:b] for a, b in zip(points, points[1:], strict=False)]


def _outcome(read):  # type: ignore[no-untyped-def]
    try:
        return ("read", repr(read()))
    except ValueError as exc:
        return ("refused", type(exc).__name__, str(exc))


# ---- the properties ------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    _documents(),
    st.lists(st.integers(0, 10_000), max_size=6),
    st.sampled_from([0, 1, 3, 8, jsonfile.READ_BYTES // 128]),
)
@example(text='{"a":0.0}', cuts=[7], ahead=0)  # a number cut after its "."
@example(text="[1, 2.5e1]", cuts=[6, 8], ahead=0)
@example(text="[true]", cuts=[2], ahead=0)  # an item that does not decode until the next piece
@example(text='["\\ud800"]', cuts=[3], ahead=0)  # an escape cut between two pieces
@example(text="[1, 2.5e1]", cuts=[6, 8], ahead=3)
def test_the_fast_reading_reads_exactly_what_the_long_way_reads(text, cuts, ahead):
    """With every amount of text kept ahead of an item: none (items cut at the end of the
    window, decoded again), a little (cut or not) and the reading's own."""
    long_way = _outcome(lambda: parse_json_long(text))
    try:
        fast = ("read", repr(_read_fast(iter(_pieces(text, cuts)), ahead=ahead)))
    except _Unread:
        fast = None
    if long_way[0] == "read":
        assert fast == long_way
    else:
        assert fast is None, long_way


@settings(max_examples=300, deadline=None)
@given(_documents())
def test_parsing_gives_the_long_ways_value_or_its_refusal(text):
    assert _outcome(lambda: parse_json(text)) == _outcome(lambda: parse_json_long(text))


_bytes_mutations = st.sampled_from(
    [b"", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\r", b"\r\n", b"\x00"]
)


@st.composite
def _file_bytes(draw: st.DrawFn) -> bytes:
    data = draw(_documents()).encode("utf-8", "surrogatepass")
    insert = draw(_bytes_mutations)
    at = draw(st.integers(0, len(data)))
    return data[:at] + insert + data[at:]


def _read_outcome(path: Path):  # type: ignore[no-untyped-def]
    try:
        return ("read", repr(jsonfile.read_json(path, "snapshot", "fix it")[0]))
    except UserError as exc:
        return ("refused", str(exc))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_file_bytes(), st.integers(1, 64))
def test_reading_a_file_gives_the_long_ways_value_or_its_message(tmp_path, data, piece_bytes):
    path = tmp_path / "doc.json"
    path.write_bytes(data)
    with mock.patch.object(jsonfile, "READ_BYTES", piece_bytes):
        fast = _read_outcome(path)
    with mock.patch.object(jsonfile, "_read_fast", side_effect=_Unread):
        long_way = _read_outcome(path)
    assert fast == long_way


# ---- what the fast reading is for ----------------------------------------------------------


def _no_long_way(*_args, **_kwargs):  # type: ignore[no-untyped-def]
    raise AssertionError("the document was read the long way")


def test_an_ordinary_snapshot_is_read_without_the_long_way(tmp_path):
    resources = [
        {
            "id": f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app{i}",
            "type": "Microsoft.Web/sites",
            "properties": {"metrics": [{"timeStamp": "2026-11-19T10:00:00Z", "average": 1.5}]},
        }
        for i in range(200)
    ]
    path = tmp_path / "snap.json"
    path.write_text(json.dumps({"format": "prodcheck.snapshot/v1", "resources": resources}))
    with (
        mock.patch.object(jsonfile, "parse_json_long", _no_long_way),
        mock.patch.object(jsonfile, "READ_BYTES", 997),
    ):
        doc, _ = jsonfile.read_json(path, "snapshot", "fix it")
    assert doc["resources"] == resources
    first, second = doc["resources"][0], doc["resources"][1]
    # Keys and short values are kept once across the items, each decoded on its own.
    assert [k for k in first if k == "properties"][0] is [k for k in second if k == "properties"][0]
    stamp = first["properties"]["metrics"][0]["timeStamp"]
    assert stamp is second["properties"]["metrics"][0]["timeStamp"]


def test_items_are_decoded_with_text_ahead_so_none_is_decoded_twice(tmp_path, monkeypatch):
    """An item cut off at the end of the window would be decoded twice, and the decoder's
    error counts the lines of the whole window first: the window is filled ahead instead."""
    resources = [
        {"id": f"/subscriptions/s/providers/Microsoft.Web/sites/app{i}", "properties": {"n": i}}
        for i in range(2000)
    ]
    path = tmp_path / "snap.json"
    path.write_text(json.dumps({"format": "prodcheck.snapshot/v1", "resources": resources}))
    piece = 1 << 14  # a resource here is shorter than the text kept ahead (a 128th of a piece)
    assert path.stat().st_size > 8 * piece
    monkeypatch.setattr(jsonfile, "READ_BYTES", piece)
    monkeypatch.setattr(jsonfile, "parse_json_long", _no_long_way)
    decoded_again = []
    value = jsonfile._FastReader.value

    def watched_value(reader: jsonfile._FastReader) -> object:
        decoded_again.append(reader.text[reader.pos])
        return value(reader)

    monkeypatch.setattr(jsonfile._FastReader, "value", watched_value)
    doc, _ = jsonfile.read_json(path, "snapshot", "fix it")
    assert doc["resources"] == resources
    # The top object's keys and format are read this way; no resource is.
    assert decoded_again and "{" not in decoded_again


def _nest(depth: int, kinds: str) -> str:
    text = "1"
    for level in range(depth):
        text = "[" + text + "]" if kinds[level % len(kinds)] == "[" else '{"k": ' + text + "}"
    return text


@pytest.mark.parametrize("kinds", ["[", "{", "[{", "{["])
@pytest.mark.parametrize("top", ["bare", "in-list", "in-object"])
def test_nesting_to_the_limit_is_read_and_one_level_more_is_refused(kinds, top):
    def document(depth: int) -> str:
        if top == "in-list":
            return "[1, " + _nest(depth - 1, kinds) + ", 2]"
        if top == "in-object":
            return '{"a": 1, "resources": [' + _nest(depth - 2, kinds) + "]}"
        return _nest(depth, kinds)

    assert parse_json(document(MAX_DEPTH)) == parse_json_long(document(MAX_DEPTH))
    with pytest.raises(_Unread):
        _read_fast(iter((document(MAX_DEPTH + 1),)))
    with pytest.raises(jsonfile.InvalidJson, match="nests deeper than 64 levels"):
        parse_json(document(MAX_DEPTH + 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[{"a": 1}, {"a": 1, "\\u0061": 2}]', "'a' appears twice"),
        ('{"resources": [], "resources": []}', "'resources' appears twice"),
        ('{"x": [[{"id": "r", "b": 1, "b": 2}]]}', "in the object with id 'r'"),
        ('[1, {"a": 1e999}]', "the number 1e999 is out of range"),
        ('{"a": [NaN]}', "NaN is not a JSON number"),
        ("[" + "9" * 21 + "]", "21 digits"),
        ('{"a": "\\udc00"}', "lone UTF-16 surrogate"),
    ],
)
def test_a_refusal_found_by_the_fast_reading_keeps_the_long_ways_message(text, expected):
    with pytest.raises(_Unread):
        _read_fast(iter((text,)))
    with pytest.raises(jsonfile.InvalidJson, match=expected):
        parse_json(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"format": "prodcheck.snapshot/v1", "resources": [{"id": "a", "id": "b"}]}',
        '{"a": [1,',
        "[]",
    ],
    ids=["refused", "truncated", "read"],
)
def test_a_pipe_is_read_as_a_file_is(tmp_path, text):
    """A pipe cannot be read twice: it is read whole, then fast or the long way, as a file is."""
    regular = tmp_path / "doc.json"
    regular.write_text(text, encoding="utf-8")
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    writer = threading.Thread(target=lambda: pipe.write_text(text, encoding="utf-8"))
    writer.start()
    try:
        from_pipe = _read_outcome(pipe)
    finally:
        writer.join(timeout=10)
    from_file = _read_outcome(regular)
    assert from_pipe == (from_file[0], from_file[1].replace(str(regular), str(pipe)))
