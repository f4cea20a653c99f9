"""Keeping secret values out of snapshots.

prodcheck never calls an action that returns secrets (listKeys, listSecrets, ...), but a GET can
still carry one: a key field a provider fills in, a connection string or SAS URL typed into an
app setting, a policy or a webhook. Before a resource is stored:

- a field whose name says it holds a key, password or secret (`primaryKey`, `password`,
  `clientSecret`, ...) and has a value is dropped;
- inside any other string, the secret part of a credential (`AccountKey=...`, `SharedAccessKey=...`,
  `Password=...`, `sig=...`, `scheme://user:password@`) is replaced by `***redacted***`, so that
  rules can still see that a credential was there (and flag it) without the snapshot holding it.

Application Insights connection strings and instrumentation keys are identifiers, not secrets,
and pass through unchanged.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "***redacted***"

_SECRET_FIELDS = frozenset(
    name.lower()
    for name in (
        "primaryKey",
        "secondaryKey",
        "primaryConnectionString",
        "secondaryConnectionString",
        "primaryMasterKey",
        "secondaryMasterKey",
        "primaryReadonlyMasterKey",
        "secondaryReadonlyMasterKey",
        "accessKeys",
        "accountKey",
        "storageAccountKey",
        "sharedKey",
        "sharedAccessKey",
        "sasToken",
        "password",
        "adminPassword",
        "adminUserPassword",
        "administratorLoginPassword",
        "clientSecret",
        "secretValue",
    )
)

# (pattern, replacement): the secret part is group-replaced, the label stays.
_CREDENTIALS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"(?<![A-Za-z])((?:Account|SharedAccess|Access)Key\s*=\s*)(?!\*\*\*redacted)[^;\s\"'<]+",
            re.IGNORECASE,
        ),
        r"\1" + REDACTED,
    ),
    (
        re.compile(
            r"(?<![A-Za-z])((?:Password|Pwd)\s*=\s*)(?!\*\*\*redacted)[^;\s\"'<]+", re.IGNORECASE
        ),
        r"\1" + REDACTED,
    ),
    (
        re.compile(
            r"((?:SharedAccessSignature\s*=\s*|[?&;]sig=))(?!\*\*\*redacted)[^&;\s\"'<]+",
            re.IGNORECASE,
        ),
        r"\1" + REDACTED,
    ),
    (
        # a password, not a placeholder such as <password>
        re.compile(
            r"((?:mongodb(?:\+srv)?|rediss?|amqps?)://[^:/@\s]*:)"
            r"(?!\*\*\*redacted|<[^>@\s]*>@)[^@\s]+@"
        ),
        r"\1" + REDACTED + "@",
    ),
]


def _mask(text: str) -> str:
    if "=" not in text and "://" not in text:
        return text
    for pattern, replacement in _CREDENTIALS:
        text = pattern.sub(replacement, text)
    return text


def drop_secrets(value: Any) -> Any:
    """`value` with secret fields dropped and credentials in strings masked (dicts in place)."""
    if isinstance(value, dict):
        for key in list(value):
            item = value[key]
            if str(key).lower() in _SECRET_FIELDS and item not in (None, "", [], {}):
                del value[key]
            else:
                value[key] = drop_secrets(item)
        return value
    if isinstance(value, list):
        return [drop_secrets(v) for v in value]
    if isinstance(value, str):
        return _mask(value)
    return value
