"""The shortcuts of report writing give the very output of the long way.

The JSON report is written by `prodcheck.jsonfile.dumps_indented` instead of the standard
library's indented encoder, a report rendered in several formats is cleaned once for all of
them (`prodcheck.reporters.Renderer`), and ARM ids and evidence values are parsed and redacted
once per process. The JSON, HTML and SARIF reports are rendered, cleaned and written in pieces
(`prodcheck.jsonfile.iter_indented`, `prodcheck.outbound.clean_output_pieces`). Each is
checked here against the long way.
"""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prodcheck import api, outbound, secrets
from prodcheck.arm import ArmId
from prodcheck.jsonfile import dumps_indented, iter_indented
from prodcheck.outbound import clean_output
from prodcheck.paths import demos_dir
from prodcheck.reporters import FORMATS, Renderer, RenderOptions, html, render, sarif
from prodcheck.secrets import mask_credentials

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.sampled_from(["AccountKey=abc123def456", "\u202e", "\x1b[31m", "Paſſword=xyz12345"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=30,
)


def _standard(value):
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_the_json_writer_writes_what_the_standard_library_writes(value):
    assert dumps_indented(value) == _standard(value)
    unsorted = json.dumps(value, indent=2, ensure_ascii=False)
    assert dumps_indented(value, sort_keys=False) == unsorted


def test_the_json_writer_leaves_what_it_does_not_know_to_the_standard_library():
    for odd in ({1: "one", 2: [math.inf]}, {"x": {2.5: "y", 1.5: None}}, {"x": {True: 1}}):
        assert dumps_indented(odd) == _standard(odd)
    deep: list = []
    for _ in range(200):
        deep = [deep]
    assert dumps_indented(deep) == _standard(deep)
    for refused in ({"x": object()}, {None: 1, 2: 3}):
        with pytest.raises(TypeError):
            _standard(refused)
        with pytest.raises(TypeError):
            dumps_indented(refused)


@pytest.mark.parametrize("demo", ["flat", "hardened"])
def test_a_report_rendered_by_one_renderer_equals_each_format_rendered_alone(demo):
    report = api.audit_snapshot(demos_dir() / f"{demo}.json")
    renderer = Renderer(report)
    for fmt in [*FORMATS, "json", "html"]:
        assert renderer.render(fmt) == render(report, fmt), fmt


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), json_values)
def test_redacting_a_value_again_gives_the_first_result(key, value):
    first = secrets.redact(value, key)
    assert repr(secrets.redact(value, key)) == repr(first)  # repr: NaN is not equal to itself
    if isinstance(value, str):
        assert first == secrets._redacted_text(key, value)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "subscriptions",
                "s1",
                "resourceGroups",
                "rg",
                "providers",
                "Microsoft.Web",
                "sites",
                "app",
                "slots",
                "x",
                "",
                " ",
            ]
        ),
        max_size=10,
    ).map("/".join)
)
def test_a_parsed_id_is_the_same_parsed_again_or_without_memory(resource_id):
    assert ArmId.parse(resource_id) == ArmId._parse(resource_id)
    assert ArmId.parse(resource_id) is ArmId.parse(resource_id)


document_text = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "\n",
                "\r",
                "\r\n",
                "\x0b",
                "\x0c",
                "\x1c",
                "\x85",
                "\u2028",
                "\u202e",
                "\x1b[0m",
                "AccountKey=",
                "c2VjcmV0LXZhbHVlLXZhbHVl",
                '"password": "hunter22x"',
                " ",
                "x",
            ]
        ),
        st.text(max_size=6),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(document_text, st.integers(min_value=1, max_value=8))
def test_a_document_cleaned_piece_by_piece_equals_it_cleaned_whole(text, piece):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outbound, "_CHUNK", piece)
        _check_pieces(text)


def _check_pieces(text):
    pieces = outbound._pieces(text)
    assert "".join(text[start:end] for start, end in pieces) == text
    assert all(text[end - 1] == "\n" for _, end in pieces[:-1])
    lines = "".join(mask_credentials(line) for line in text.splitlines(keepends=True))
    assert outbound.mask_document(text) == lines
    assert clean_output(text, "json") == outbound._IN_TEXT.sub(outbound._json_escape, lines)
    assert clean_output(text, "terminal") == outbound._IN_OUTPUT.sub(outbound._visible, lines)
    for fmt in ("html", "sarif", "csv"):
        assert clean_output(text, fmt) == outbound._IN_DOCUMENT.sub(outbound._visible, lines)


def test_a_document_that_needs_no_change_is_returned_as_it_is():
    text = "a line\n" * 300_000
    assert clean_output(text, "json") is text
    assert clean_output(text, "html") is text


# ---- writing a report in pieces ------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(json_values, st.integers(min_value=0, max_value=5), st.booleans())
def test_json_written_in_pieces_is_what_the_standard_library_writes(value, levels, sort_keys):
    pieces = list(iter_indented(value, sort_keys=sort_keys, end="\n", levels=levels))
    expected = json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n"
    assert "".join(pieces) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values, max_size=5))
def test_findings_written_in_pieces_are_let_go_and_written_the_same(findings):
    doc = {"a": 1, "findings": findings, "notices": ["kept"]}
    expected = dumps_indented(copy.deepcopy(doc), end="\n")
    assert "".join(iter_indented(doc, end="\n", release=("findings",))) == expected
    assert doc["findings"] == [None] * len(findings)
    assert doc["notices"] == ["kept"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(document_text, max_size=6),
    st.integers(min_value=1, max_value=12),
    st.sampled_from(["json", "terminal", "html", "sarif", "csv", "text"]),
)
def test_a_document_cleaned_as_it_is_written_equals_it_cleaned_whole(pieces, chunk, fmt):
    # The pieces are cut anywhere (inside a line, inside a credential, between CR and LF);
    # cleaning gathers them up to line ends, so a secret split across pieces is still masked.
    text = "".join(pieces)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outbound, "_CHUNK", chunk)
        assert "".join(outbound.clean_output_pieces(pieces, fmt)) == clean_output(text, fmt)


def test_a_secret_cut_between_pieces_is_masked_as_it_is_whole():
    line = 'x AccountKey=c2VjcmV0LXZhbHVlLXZhbHVl; "password": "hunter22x"\n'
    text = ("filler line\n" * 50) + line + ("filler line\n" * 50)
    at = text.index("c2Vj") + 3
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outbound, "_CHUNK", 64)
        out = "".join(outbound.clean_output_pieces([text[:at], text[at:]], "html"))
    assert "c2VjcmV0" not in out and "hunter22x" not in out
    assert out == clean_output(text, "html")


def _whole_page(report, options):
    """The HTML report as one string, then cleaned: the way before it was written in pieces."""
    css, js = html._asset("report.css"), html._asset("report.js")
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src {html._csp_hash(css)}; script-src {html._csp_hash(js)}; "
        "base-uri 'none'; form-action 'none'"
    )
    template = html._environment().get_template(html.TEMPLATE)
    page = template.render(css=css, js=js, csp=csp, **html.context(report))
    return clean_output(page, "html")


@pytest.mark.parametrize("demo", ["flat", "hardened"])
def test_each_format_written_in_pieces_is_the_document_rendered_whole(demo):
    report = api.audit_snapshot(demos_dir() / f"{demo}.json")
    renderer = Renderer(report)
    cleaned = outbound.clean(report)
    options = RenderOptions()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outbound, "_CHUNK", 4096)  # many pieces
        pieces = {fmt: list(renderer.pieces(fmt)) for fmt in FORMATS}
    assert len(pieces["json"]) > 10 and len(pieces["html"]) > 10
    assert "".join(pieces["html"]) == _whole_page(cleaned, options)
    json_doc = outbound.clean(report, visible=False).unmasked_json()
    assert "".join(pieces["json"]) == clean_output(dumps_indented(json_doc, end="\n"), "json")
    sarif_doc = sarif.to_sarif(cleaned, include_waived=False)
    sarif_text = dumps_indented(sarif_doc, sort_keys=False) + "\n"
    assert "".join(pieces["sarif"]) == clean_output(sarif_text, "sarif")
    for fmt in FORMATS:
        assert "".join(pieces[fmt]) == render(report, fmt)


def test_html_data_written_finding_by_finding_is_the_data_block_written_whole():
    report = outbound.clean(api.audit_snapshot(demos_dir() / "hardened.json"))
    blocking = {f.finding_id for f in report.blocking()}
    whole = html.json_for_script(html._data(report, blocking))
    assert "".join(html._data_pieces(report)) == whole
    json.loads(whole)


def test_every_character_a_document_pattern_reads_is_one_isprintable_refuses():
    # `clean_output` skips its patterns on printable text: each of them must read nothing else.
    patterns = (outbound._IN_TEXT, outbound._IN_DOCUMENT, outbound._IN_OUTPUT)
    for code in range(0x110000):
        char = chr(code)
        if char.isprintable() or char in "\n\t":
            for pattern in patterns:
                assert pattern.search(char) is None, hex(code)
                assert pattern.search(char + "\n") is None, hex(code)
    assert not outbound._printable("a\rb") and outbound._printable("a\n\tb é ✓")


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=8),
        st.lists(st.integers(), min_size=1, max_size=8),
        st.lists(st.one_of(st.integers(), st.floats(), st.booleans()), min_size=1, max_size=8),
    ),
    st.integers(min_value=0, max_value=3),
)
def test_a_list_of_numbers_is_written_as_the_standard_library_writes_it(numbers, depth):
    value: object = numbers
    for _ in range(depth):
        value = {"series": {"values": value}}
    assert dumps_indented(value) == _standard(value)
    assert "".join(iter_indented(value, levels=depth)) == _standard(value)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_html_reports_encoders_write_what_the_standard_library_writes(value):
    shown = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)
    compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    assert html._SHOWN(value) == shown.encode(value)
    try:
        expected = compact.encode(value)
    except TypeError:  # a key JSON cannot sort or hold: refused the same way
        with pytest.raises(TypeError):
            html._COMPACT(value)
    else:
        assert html._COMPACT(value) == expected


def test_the_html_reports_encoder_refuses_a_cycle_and_then_encodes_as_before():
    loop: list = [1]
    loop.append({"again": loop})
    with pytest.raises(ValueError):
        html._COMPACT(loop)
    assert html._COMPACT({"a": [1, {"b": object.__name__}]}) == '{"a":[1,{"b":"object"}]}'
    assert html._SHOWN({"b": object(), "a": 1}).startswith('{"a": 1, "b": "<object object')
