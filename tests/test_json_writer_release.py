"""Writing a report's findings lets each one go once written, and writes the same text."""

from __future__ import annotations

import copy
import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from prodcheck.jsonfile import dumps_indented

_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["line\nfeed", "\u2028", "AccountKey=abc123def456"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        | st.dictionaries(st.integers(0, 9), inner, max_size=3)
    ),
    max_leaves=25,
)


def _standard(value: object, sort_keys: bool = True) -> str:
    return json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _values, max_size=4), st.lists(_values, max_size=5))
def test_released_findings_are_written_as_the_standard_library_writes_them(doc, findings):
    doc = {**doc, "findings": findings, "notices": ["kept"]}
    expected = _standard(doc)
    unsorted = _standard(doc, sort_keys=False)
    written = copy.deepcopy(doc)
    assert dumps_indented(written, end="\n", release=("findings",)) == expected + "\n"
    assert written["findings"] == [None] * len(findings)
    assert written["notices"] == ["kept"]
    assert dumps_indented(copy.deepcopy(doc), sort_keys=False, release=("findings",)) == unsorted


def test_a_finding_the_fast_writer_does_not_know_is_written_by_the_standard_library():
    doc = {"findings": [{"a": 1}, {1: "one", 2: [math.inf]}, {"deep": [[[["x\ny"]]]]}]}
    expected = _standard(doc)
    assert dumps_indented(copy.deepcopy(doc), release=("findings",)) == expected
