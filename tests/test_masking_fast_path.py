"""The shortcuts that make masking cheap on a large report give the very result of the long way.

`prodcheck.secrets.mask_credentials` runs only the masks whose trigger words (and one word of
each of their requirements, such as `=` for a `key=value` pair) a text contains, skips its second round when no pattern matched at all, and remembers the result for each string
it has masked. Each shortcut is checked here against the long way on arbitrary text mixed with
credentials, trigger words in look-alike letters and control characters.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from prodcheck import secrets
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
