"""Keeping secret values out of snapshots.

prodcheck never calls an action that returns secrets (listKeys, listSecrets, ...), but a GET can
still carry one: a key field a provider fills in, a connection string or SAS URL typed into an
app setting, a policy, a webhook, a tag, or an error message. Before a resource is stored:

- a field whose name says it holds a key, password or secret (`primaryKey`, `password`,
  `clientSecret`, ...; `prodcheck.secrets.SECRET_FIELDS`) and has a value is dropped;
- a secret held by structure is replaced by `***redacted***`: the literal value of an app
  setting or container variable whose name says credential (`DB_PASSWORD`), an APIM named value
  marked `secret`, a container app's `configuration.secrets[].value`, a Key Vault secret's
  `value`, a tag named like a credential (see `prodcheck.secrets.redact_mapping`);
- inside every other string (property values, tags, APIM policy XML, error messages), the secret
  part of a credential (`AccountKey=...`, `Password="..."`, `sig=...`, `scheme://user:password@`,
  `Bearer ...`, a GitHub token ...) is replaced by `***redacted***`, so that rules can still see
  that a credential was there (and flag it) without the snapshot holding it.

Application Insights connection strings and instrumentation keys are identifiers, not secrets,
and pass through unchanged.

API Management named values are kept only when they look like policy data (a number, a
duration, a policy expression, a short word): ARM returns the value of every named value not
marked `secret`, and a key stored without that mark would otherwise land in the snapshot.
"""

from __future__ import annotations

import re
from typing import Any

from prodcheck.secrets import (
    SECRET_FIELDS,
    credential_in_value,
    credential_name,
    mask_credentials,
    redact_mapping,
)

# A run of 20 letters and digits without a separator: a key or token, not a word.
_OPAQUE = re.compile(r"[A-Za-z0-9+/=_]{20,}")


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
    """`value` with secret fields dropped and credentials masked (dicts and lists in place)."""
    if isinstance(value, dict):
        if _is_named_value(value) and not _plain_policy_data(value):
            del value["value"]
        for key in list(value):
            if str(key).lower() in SECRET_FIELDS and value[key] not in (None, "", [], {}):
                del value[key]
        scrubbed = redact_mapping(value, _walk)
        value.clear()
        value.update(scrubbed)
        return value
    if isinstance(value, list):
        value[:] = [_walk(v) for v in value]
        return value
    if isinstance(value, str):
        return mask_credentials(value)
    return value


_KEPT = frozenset((int, float, bool, type(None)))


def _walk(value: Any) -> Any:
    """`drop_secrets` of a member of a mapping or list, without its type tests for the most
    common members: a string (masked) and a number, bool or null (kept as it is). Anything
    else, a subclass of one of these included, goes through `drop_secrets`."""
    kind = type(value)
    if kind is str:
        return mask_credentials(value)
    if kind in _KEPT:
        return value
    return drop_secrets(value)


def scrub_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A collected snapshot with its coverage records and scope masked too (in place).

    Resources are scrubbed as they arrive; a coverage record's message quotes what ARM said
    when a read failed, and ARM's error messages can quote a connection string or a URL.
    """
    for key in ("coverage", "scope"):
        if key in snapshot:
            snapshot[key] = drop_secrets(snapshot[key])
    return snapshot
