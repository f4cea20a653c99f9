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

from typing import Any

from prodcheck.secrets import mask_credentials

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
        return mask_credentials(value)
    return value
