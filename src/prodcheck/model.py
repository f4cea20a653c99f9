"""The vocabulary every stage shares: severities, statuses and findings."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.Enum):
    """How much a failing check matters for go-live. Ordered: CRITICAL is the highest."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe (critical = 4, info = 0)."""
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            from prodcheck.errors import UserError

            raise UserError(f"unknown severity {text!r}: use one of {names}") from None


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Status(enum.Enum):
    """The verdict of one check on one resource (or on the whole scope)."""

    PASS = "PASS"
    FAIL = "FAIL"
    # The check could not see its data (not collected, 403, throttled, timeout) or the rule broke.
    ERROR = "ERROR"
    # Nothing of the kind the check is about exists in scope, or the check does not apply to it.
    NOT_APPLICABLE = "NOT_APPLICABLE"
    # Needs a human attestation: no API can prove it.
    MANUAL = "MANUAL"
    # A FAIL or ERROR accepted by a waiver with an owner and an expiry date.
    WAIVED = "WAIVED"

    @property
    def blocks_gate(self) -> bool:
        return self in (Status.FAIL, Status.ERROR)


# When several findings roll up into one checklist item, the worst one names the item.
STATUS_PRECEDENCE = [
    Status.FAIL,
    Status.ERROR,
    Status.MANUAL,
    Status.WAIVED,
    Status.PASS,
    Status.NOT_APPLICABLE,
]


def worst_status(statuses: list[Status]) -> Status:
    """The status a group of findings shows: FAIL beats ERROR beats MANUAL ... beats NOT_APPLICABLE."""
    for status in STATUS_PRECEDENCE:
        if status in statuses:
            return status
    return Status.NOT_APPLICABLE


@dataclass(frozen=True)
class Finding:
    """One verdict of one rule on one resource, or on the audited scope as a whole.

    `resource_id` is an ARM id, or for "something must exist" checks the scope itself
    (`/subscriptions/{id}` or the resource group). `evidence` maps the property paths that
    decided the verdict to their values, with secret values already redacted.
    """

    rule_id: str
    resource_id: str
    status: Status
    severity: Severity
    message: str
    resource_name: str = ""
    resource_type: str = ""
    resource_group: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    remediation: str = ""
    # Set when a waiver or attestation changed the status: who decided, why, until when.
    note: dict[str, Any] = field(default_factory=dict)
