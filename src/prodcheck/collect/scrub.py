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

API Management named values are kept only when they look like policy data (a number, a
duration, a policy expression, a short word): ARM returns the value of every named value not
marked `secret`, and a key stored without that mark would otherwise land in the snapshot.
"""

from __future__ import annotations

import re
from typing import Any

from prodcheck.secrets import credential_in_value, credential_name, mask_credentials

# A run of 20 letters and digits without a separator: a key or token, not a word.
_OPAQUE = re.compile(r"[A-Za-z0-9+/=_]{20,}")

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


def _is_named_value(props: dict) -> bool:
    """The properties of an API Management named value (NamedValueContract)."""
    return "displayName" in props and "secret" in props and "value" in props


def _plain_policy_data(props: dict) -> bool:
    value = props.get("value")
    if not isinstance(value, str):
        return True
    text = value.strip()
    if props.get("secret") is True or credential_in_value(text):
        return False
    if text.startswith("@"):
        # A policy expression is code; a credential would sit in one of its string literals.
        literals = re.findall(r'"([^"]*)"', text.replace("&quot;", '"'))
        return len(text) <= 2000 and not any(_OPAQUE.search(lit) for lit in literals)
    if credential_name(str(props.get("displayName") or "")):
        return False
    return len(text) <= 64 and not _OPAQUE.search(text)


def drop_secrets(value: Any) -> Any:
    """`value` with secret fields dropped and credentials in strings masked (dicts in place)."""
    if isinstance(value, dict):
        if _is_named_value(value) and not _plain_policy_data(value):
            del value["value"]
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
        return mask_credentials(value)
    return value
