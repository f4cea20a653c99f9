"""Recognising credentials, so that prodcheck can flag them and never print them.

The one place that knows what a credential looks like:

- rules detect them (a connection string in a plain environment variable is a finding);
- collection masks them in every string it stores, so a snapshot never holds one;
- the engine masks finding messages and redacts evidence, so no report can print one.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "***redacted***"

# Detection (what rules flag): (label, pattern) for values that carry a credential. Labels are
# what reports show.
VALUE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("AccountKey=", re.compile(r"AccountKey\s*=\s*[^;\s]+", re.IGNORECASE)),
    ("SharedAccessKey=", re.compile(r"SharedAccessKey\s*=\s*[^;\s]+", re.IGNORECASE)),
    ("AccessKey=", re.compile(r"(?<![A-Za-z])AccessKey\s*=\s*[^;\s]+", re.IGNORECASE)),
    ("Password=", re.compile(r"(?<![A-Za-z])(Password|Pwd)\s*=\s*[^;\s]+", re.IGNORECASE)),
    ("mongodb://user:pass@", re.compile(r"mongodb(\+srv)?://[^:/@\s]+:[^@\s]+@", re.IGNORECASE)),
    ("redis://:pass@", re.compile(r"rediss?://[^:/@\s]*:[^@\s]+@", re.IGNORECASE)),
    ("sig=", re.compile(r"[?&]sig=[^&\s]+", re.IGNORECASE)),
]

# Masking (what collection and the engine apply): the secret part is replaced, the label stays.
_MASKS: list[tuple[re.Pattern[str], str]] = [
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


def mask_credentials(text: str) -> str:
    """`text` with the secret part of each credential in it replaced by REDACTED.

    The label stays (`AccountKey=***redacted***`), so a reader (or a rule, reading a masked
    snapshot) still sees that a credential was there. Collection masks every string it stores
    with this; the engine masks every finding message.
    """
    if "=" not in text and "://" not in text:
        return text
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


# Names of variables or settings that hold a credential when they hold a literal value.
NAME_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("*CONNECTION_STRING*", re.compile(r"CONNECTION_?STRING", re.IGNORECASE)),
    (
        "*_KEY",
        re.compile(r"(^|[_-])(API_?|ACCESS_?|ACCOUNT_?|SECRET_?|PRIMARY_?)?KEY$", re.IGNORECASE),
    ),
    ("*_SECRET", re.compile(r"(^|[_-])(CLIENT_?)?SECRET$", re.IGNORECASE)),
    ("*_PASSWORD", re.compile(r"(^|[_-])(PASSWORD|PASSWD|PWD)$", re.IGNORECASE)),
]

# An Application Insights connection string carries an instrumentation key, which
# identifies where telemetry goes; it is not a credential.
_APP_INSIGHTS = re.compile(r"^\s*InstrumentationKey=[0-9a-fA-F-]{36}(;[A-Za-z]+=[^;]*)*;?\s*$")
_APP_INSIGHTS_NAME = re.compile(r"APPLICATIONINSIGHTS_CONNECTION_STRING|APPINSIGHTS", re.IGNORECASE)


_KEY_VAULT_REFERENCE = "@microsoft.keyvault("


def is_app_insights_connection_string(name: str, value: str) -> bool:
    """True for an Application Insights connection string (an identifier, not a credential)."""
    if not isinstance(value, str):
        return False
    if credential_in_value(value):
        # Instrumentation key or not, a value that also carries a key or password is a credential.
        return False
    if _APP_INSIGHTS.match(value):
        return True
    return bool(_APP_INSIGHTS_NAME.search(name or "")) and "instrumentationkey=" in value.lower()


def credential_in_value(value: Any) -> str | None:
    """The label of the credential pattern found in `value`, or None."""
    if not isinstance(value, str) or not value:
        return None
    for label, pattern in VALUE_PATTERNS:
        if pattern.search(value):
            return label
    return None


def credential_name(name: str) -> str | None:
    """The label of the credential-like name pattern `name` matches, or None."""
    for label, pattern in NAME_PATTERNS:
        if pattern.search(name or ""):
            return label
    return None


def credential_in_setting(name: str, value: Any) -> str | None:
    """Why a name/literal-value pair is a credential (the matched pattern), or None.

    An Application Insights connection string is not reported here.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    if is_app_insights_connection_string(name, value):
        return None
    if value.strip().lower().startswith(_KEY_VAULT_REFERENCE):
        # `@Microsoft.KeyVault(SecretUri=...)` names where the secret is; it is not the secret.
        return None
    return credential_in_value(value) or credential_name(name)


_SECRET_KEYS = re.compile(
    r"(password|secret|connectionstring|connection_string|accountkey|sharedaccesskey|primarykey|secondarykey)",
    re.IGNORECASE,
)


def redact(value: Any, key: str = "") -> Any:
    """A copy of `value` with every credential replaced by REDACTED.

    Strings that match a credential pattern are redacted wholesale; mappings are walked, and a
    string under a secret-sounding key (`password`, `connectionString`, ...) is redacted too.
    Application Insights connection strings pass through.
    """
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, str) and _SECRET_KEYS.search(str(k)):
                out[k] = v if is_app_insights_connection_string(str(k), v) else REDACTED
            else:
                out[k] = redact(v, str(k))
        return out
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        if is_app_insights_connection_string(key, value):
            return value
        if credential_in_value(value):
            return REDACTED
        return value
    return value
