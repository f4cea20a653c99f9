"""Masking what a collection keeps: the walk that skips its type tests for plain members masks
exactly what the walk through `drop_secrets` for every member masks."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from prodcheck.collect import scrub
from prodcheck.collect.scrub import drop_secrets
from prodcheck.secrets import (
    SECRET_FIELDS,
    mask_credentials,
    redact_mapping,
)


def _long_way(value: Any) -> Any:
    """`drop_secrets` as it was: every member of a mapping or list through itself."""
    if isinstance(value, dict):
        if scrub._is_named_value(value) and not scrub._plain_policy_data(value):
            del value["value"]
        for key in list(value):
            if str(key).lower() in SECRET_FIELDS and value[key] not in (None, "", [], {}):
                del value[key]
        scrubbed = redact_mapping(value, _long_way)
        value.clear()
        value.update(scrubbed)
        return value
    if isinstance(value, list):
        value[:] = [_long_way(v) for v in value]
        return value
    if isinstance(value, str):
        return mask_credentials(value)
    return value


class Text(str):
    """A str subclass: the short walk leaves it to `drop_secrets`."""


_WORDS = st.sampled_from(
    [
        "name",
        "value",
        "secret",
        "secrets",
        "type",
        "properties",
        "password",
        "DB_PASSWORD",
        "api-key",
        "primaryKey",
        "connectionString",
        "displayName",
        "Microsoft.KeyVault/vaults/secrets",
        "AccountKey=abcdefghijklmnopqrstuvwxyz0123456789==",
        "Server=x;Password=hunter2hunter2;",
        "https://u:pa55word@example.com/x",
        "sig=abcdefghijklmnopqrstuvwxyz0123",
        "Bearer abcdefghijklmnopqrstuvwxyz.0123456789",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "@(context.Variables)",
        "true",
        "",
        "plain words",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    _WORDS,
    st.text(max_size=30),
    _WORDS.map(Text),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(_WORDS, st.text(max_size=10)), inner, max_size=5),
    ),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.one_of(_WORDS, st.text(max_size=10)), _VALUES, max_size=6))
def test_a_resource_is_masked_the_same_as_the_long_way(resource):
    short, long = copy.deepcopy(resource), copy.deepcopy(resource)
    assert drop_secrets(short) == _long_way(long)
    assert repr(short) == repr(long)
