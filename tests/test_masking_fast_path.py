"""The shortcuts that make masking cheap on a large report give the very result of the long way.

`prodcheck.secrets.mask_credentials` runs only the masks whose trigger words (and one word of
each of their requirements, such as `=` for a `key=value` pair) a text contains, skips its second round when no pattern matched at all, and remembers the result for each string
it has masked. A rendered document is read at once for the lines that masking may change
(`prodcheck.secrets.lines_to_mask`), and only those are masked. Each shortcut is checked here
against the long way on arbitrary text mixed with credentials, text each mask's own pattern
matches, trigger words in look-alike letters and control characters.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodcheck import outbound, secrets
from prodcheck.outbound import clean_text, neutralise
from prodcheck.reporters.html import json_for_script
from prodcheck.secrets import REDACTED, mask_credentials

FRAGMENTS = [
    "AccountKey=",
    "SharedAccessKey=",
    "Password=",
    "pwd=",
    "Paſſword=",
    "PASSWORD",
    "ſig=",
    "SİG=",
    "ſecret=",
    "api_Key=",
    "\u212aey=",
    "ToKen=",
    '"password": "',
    '\\"client_secret\\": \\"',
    "Authorization: Bearer ",
    "Basic ",
    "?sig=",
    "&code=",
    "%3BAccountKey%3D",
    "postgres://app:",
    "mongodb://u:",
    "rediss://:",
    "@db.example.net",
    '<set-header name="api-key"><value>',
    "</value></set-header>",
    "-----BEGIN RSA PRIVATE KEY-----\n",
    "\n-----END RSA PRIVATE KEY-----",
    "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "xoxb-123456789012-" + "aBcDeFgHiJkLmNoPqRsTuVwX",
    "AKIA" + "ABCDEFGHIJKLMNOP",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl",
    "abc" + "8Q~" + "abcdefghijklmnopqrstuvwxyz0123456",
    "A" * 86 + "==",
    "hunter2hunter2hunter2",
    "Zm9vYmFyYmF6cXV4MTIzNDU2",
    REDACTED,
    "{{named-value}}",
    "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x/)",
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-1",
    "Key Vault",
    "PASS",
    "=",
    "%3D",
    "%253D",
    "sig%3D",
    "@",
    "?",
    "&",
    "&amp;",
    "%26",
    "%3F",
    "; ",
    " ",
    "\n",
    "\t",
    '"',
    "'",
    ":",
    ".",
    "\x1b[31m",
    "\u202e",
    "\u200b",
    "\ud800",
]

texts = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), min_size=1, max_size=10
).map("".join)


def _long_way(text: str) -> str:
    """mask_credentials as it reads with every shortcut taken out: no memory, both rounds."""
    if not isinstance(text, str) or not text:
        return text
    masks = secrets._all_masks().for_text(text)
    spans = [span for mask in masks if mask.precise for span in mask.spans(text)]
    for mask in masks:
        if not mask.precise:
            spans += [
                (start, end)
                for start, end in mask.spans(text)
                if not any(start < e and s < end for s, e in spans)
            ]
    if spans:
        text = secrets._replace_spans(text, spans)
    for mask in masks:
        text = mask.sub(text)
    return text


@settings(max_examples=400, deadline=None)
@given(texts)
def test_a_mask_left_out_by_its_trigger_words_could_not_have_matched(text):
    chosen = {id(mask) for mask in secrets._all_masks().for_text(text)}
    for mask in secrets._all_masks().masks:
        if id(mask) not in chosen:
            assert not mask.search(text), (mask.label, text)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_masking_with_its_shortcuts_equals_masking_the_long_way(text):
    expected = _long_way(text)
    assert mask_credentials(text) == expected
    assert mask_credentials(text) == expected  # the remembered result, the second time
    assert secrets._mask(text) == expected


@settings(max_examples=100, deadline=None)
@given(texts)
def test_a_string_too_long_to_be_remembered_is_masked_the_same(text):
    long_text = (text + " ") * (secrets._MEMO_LENGTH // (len(text) + 1) + 1)
    assert len(long_text) > secrets._MEMO_LENGTH
    assert mask_credentials(long_text) == _long_way(long_text)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_a_cleaned_string_is_masked_then_neutralised(text):
    assert clean_text(text) == neutralise(_long_way(text))


def test_a_trigger_word_in_look_alike_letters_still_selects_its_mask():
    # A case-insensitive pattern reads "ſ" as s, "ı" and "İ" as i and the Kelvin sign as k.
    assert mask_credentials("x ſig=abcdefghijklmnop&a") == f"x ſig={REDACTED}&a"
    assert mask_credentials("x SİG=abcdefghijklmnop&a") == f"x SİG={REDACTED}&a"
    assert "abcdefghijklmnop" not in mask_credentials("x&api_\u212aey=abcdefghijklmnop")


hostile_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(hostile_values)
def test_script_data_written_one_item_a_line_reads_back_as_the_same_value(value):
    out = json_for_script(value)
    assert json.loads(out) == json.loads(json.dumps(value))
    assert "<" not in out and "\u2028" not in out and "\u2029" not in out


def test_script_data_puts_each_finding_on_a_line_of_its_own():
    findings = [["message " + str(n), {"k": "v"}] for n in range(1000)]
    out = json_for_script({"rules": [], "findings": findings})
    assert max(len(line) for line in out.splitlines()) < 100
    assert json.loads(out)["findings"] == findings


def test_a_short_credential_is_masked_as_a_long_one_is():
    assert mask_credentials("pwd=0") == secrets._mask("pwd=0") == f"pwd={REDACTED}"


# ---- reading a whole document for the lines to mask ----------------------------------------

ALL_MASKS = secrets._all_masks().masks


def _screen_passes(mask: secrets._Mask, line: str) -> bool:
    """Whether `lines_to_mask` would keep `line` for `mask` (see `_Mask.near`, `.exact`)."""
    if mask.exact is not None:
        return mask.exact.search(line) is not None
    folded = secrets._fold(line)
    return (
        any(w in folded for w in mask.words)
        and any(t in folded for t in mask.triggers)
        and all(any(w in folded for w in group) for group in mask.requires)
        and (not mask.near or any(p.search(folded) for p in mask.near))
    )


def _check_screen_holds(mask: secrets._Mask, text: str) -> None:
    for line in text.splitlines(keepends=True):
        if mask.search(line):
            assert _screen_passes(mask, line), (mask.label, mask.pattern.pattern, line)


@pytest.mark.parametrize("n", range(len(ALL_MASKS)), ids=lambda n: ALL_MASKS[n].label)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_what_a_mask_matches_holds_what_the_document_is_read_for(n, data):
    # Text the mask's own pattern matches, with anything around it: its `exact` pattern, or
    # its trigger words, requirements and `near` pattern, find something in every such line.
    mask = ALL_MASKS[n]
    text = data.draw(st.from_regex(mask.pattern))
    _check_screen_holds(mask, text)
    _check_screen_holds(mask, text.upper())
    _check_screen_holds(mask, text.replace("s", "ſ").replace("k", "\u212a").replace("i", "ı"))


@settings(max_examples=300, deadline=None)
@given(texts)
def test_no_mask_matches_a_line_without_what_the_document_is_read_for(text):
    for mask in ALL_MASKS:
        _check_screen_holds(mask, text)


lines_of_text = st.lists(
    st.one_of(texts, st.sampled_from(["\n", "\r\n", "\x0b", "\u2028", "\x85"])), max_size=12
).map(lambda parts: "".join(parts).splitlines(keepends=True))


@settings(max_examples=400, deadline=None)
@given(lines_of_text)
def test_the_lines_left_out_of_masking_are_the_lines_masking_leaves_as_they_are(lines):
    lines = list(dict.fromkeys(lines))
    kept = set(secrets.lines_to_mask(lines))
    for line in lines:
        if line not in kept:
            assert _long_way(line) == line, line


KEYS_AND_ENDINGS = [
    (secrets._QUERY_KEYS, secrets._QUERY_KEY_ENDINGS),
    (secrets._PAIR_KEYS, secrets._PAIR_KEY_ENDINGS),
    (secrets._JSON_KEYS, secrets._JSON_KEY_ENDINGS),
]


@pytest.mark.parametrize("n", range(len(KEYS_AND_ENDINGS)))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_every_credential_key_ends_with_an_ending_its_near_pattern_reads(n, data):
    keys, endings = KEYS_AND_ENDINGS[n]
    key = data.draw(st.from_regex(f"(?:{keys})", fullmatch=True))
    assert secrets._fold(key).endswith(endings), key


def test_a_document_is_read_for_every_mask_and_masked_line_by_line():
    screen = secrets._all_masks().screen()
    assert screen is not None  # no mask runs on every text: the document is read at once
    # Every detector pattern the screen knows is one detect-secrets ships: a table that no
    # longer matches the installed detectors is noticed here, not by a slower report.
    shipped = {mask.pattern.pattern for mask in secrets._detectors()}
    assert set(secrets._DETECTOR_EXACT) <= shipped
    assert set(secrets._DETECTOR_NEAR) <= shipped
    assert set(secrets._DETECTOR_WORDS) <= shipped
    lines = [
        "nothing here\n",
        "  x Paſſword=hunter22\n",
        '"clientSecret": "abc123def"\n',
        "Bearer abcdefghijklmnop1234\n",
        "https://app:s3cr3t-pass@db.example.net/x\n",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl\n",
        "xoxb-123456789012-aBcDeFgHiJkLmNoPqRsTuVwX\n",
        "Mabcdefghijklmnopqrstuvwx.abcdef.abcdefghijklmnopqrstuvwxyz0\n",
        "123456789:" + "a" * 35 + "\n",
        "sig: " + "A" * 86 + "==\n",
        "resource kv-1 has a key vault reference\n",
    ]
    chosen = secrets.lines_to_mask(lines)
    assert "nothing here\n" not in chosen
    for line in lines:
        if _long_way(line) != line:
            assert line in chosen, line
    document = "".join(lines) * 3
    assert outbound.mask_document(document) == "".join(_long_way(x) for x in lines) * 3


@pytest.mark.parametrize("n", range(len(ALL_MASKS)), ids=lambda n: ALL_MASKS[n].label)
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_text_a_mask_matches_is_never_left_out_of_masking(n, data):
    # `_mask` first reads a text as a document's line is read, and leaves it as it is when no
    # mask can match: text each mask's own pattern matches (line breaks and look-alike letters
    # included) is masked as the long way masks it.
    text = data.draw(texts) + data.draw(st.from_regex(ALL_MASKS[n].pattern)) + data.draw(texts)
    for variant in (text, text.upper(), text.replace("s", "ſ").replace("k", "\u212a")):
        assert secrets._mask(variant) == _long_way(variant), variant
