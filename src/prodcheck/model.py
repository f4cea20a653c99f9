"""The vocabulary every stage shares: severities, statuses and findings."""

from __future__ import annotations

import enum
import hashlib
import re
import shlex
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
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

    `subject` names what on the resource the finding is about when a rule says several things
    about one resource (PC-MON-002: the signal, such as `cpu`); it is empty otherwise. Rule,
    resource and subject make the finding's identity, `finding_id`, which stays the same from
    one audit to the next while the message may change (a threshold, a count).
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
    subject: str = ""
    # Where the resource is declared in code, when the input was a plan whose sources were
    # found: a relative file path (`infra/main.tf`) and the line of its block; else "" and 0.
    source_file: str = ""
    source_line: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        """Rule, resource and subject, compared without regard to case (ARM ids are not)."""
        return (
            self.rule_id.strip().upper(),
            self.resource_id.strip().lower(),
            self.subject.strip().lower(),
        )

    @property
    def finding_id(self) -> str:
        """A stable, opaque identity: the same finding gets the same id in every audit."""
        return finding_id_of(*self.key)

    @property
    def subscription_id(self) -> str:
        """The subscription the finding is in (see `subscription_of`)."""
        return subscription_of(self.resource_id)


_IN_SUBSCRIPTION = re.compile(
    r"^/subscriptions/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:/|$)",
    re.IGNORECASE,
)


def subscription_of(resource_id: str) -> str:
    """The subscription id (lower case) an ARM id or scope lies in; "" when it lies in none, or
    spans several (a tenant-wide scope, a tag's workload unit)."""
    match = _IN_SUBSCRIPTION.match(resource_id.strip())
    return match.group(1).lower() if match else ""


def finding_id_of(rule_id: str, resource_id: str, subject: str = "") -> str:
    """The id of the finding of `rule_id` on `resource_id` about `subject` (see `Finding.key`)."""
    if type(rule_id) is str and type(resource_id) is str and type(subject) is str:
        return _finding_id_memo(rule_id, resource_id, subject)
    return _finding_id(rule_id, resource_id, subject)


def _finding_id(rule_id: str, resource_id: str, subject: str) -> str:
    text = f"{rule_id.strip().upper()}|{resource_id.strip().lower()}|{subject.strip().lower()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


# Every report format asks each finding its id: each is computed once per process.
_finding_id_memo = lru_cache(maxsize=1 << 16)(_finding_id)


def with_unique_subjects(findings: list[Finding]) -> list[Finding]:
    """`findings`, each with an identity of its own.

    A rule names the subject of each of several verdicts on one resource (`subject=`). When it
    did not, and two findings would share an identity, each gets a subject derived from its
    message as a last resort: unique, but stable only while the message stays the same.
    """
    keys = [f.key for f in findings]
    if len(set(keys)) == len(keys):
        return findings
    counts = Counter(keys)
    out: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for f in findings:
        if counts[f.key] > 1:
            digest = hashlib.sha256(f.message.encode("utf-8")).hexdigest()[:8]
            subject = f"{f.subject} #{digest}".strip()
            candidate = replace(f, subject=subject)
            n = 1
            while candidate.key in seen or candidate.key in counts:
                n += 1
                candidate = replace(f, subject=f"{subject}-{n}")
            f = candidate
        seen.add(f.key)
        out.append(f)
    return out


# ---- remediation: prose, commands, snippets ------------------------------------------------------

# A remediation is Markdown: prose, then fenced blocks. ```sh blocks hold commands that run as
# written once the finding's placeholders are filled; other languages (bicep, xml, yaml, json)
# hold snippets to adapt. Values prodcheck cannot know are written as quoted placeholders
# ('<workspace-id>'), so that a command stays valid shell.
_FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
_PLACEHOLDER = re.compile(r"\{(name|resource_group|id|subscription)\}")
SHELL_LANGUAGES = ("sh", "bash", "shell")


@dataclass(frozen=True)
class Remedy:
    """A remediation taken apart: what to do (prose), what to run, what to adapt."""

    prose: str
    commands: list[str]
    snippets: list[tuple[str, str]]

    @property
    def first_line(self) -> str:
        """One line for a list of findings: the first command, else the first line of prose."""
        if self.commands:
            return self.commands[0]
        for line in self.prose.splitlines():
            if line.strip():
                return line.strip()
        return self.snippets[0][1].splitlines()[0] if self.snippets else ""


def split_remediation(text: str) -> Remedy:
    """Prose, shell commands (continuation lines joined, comments dropped) and snippets."""
    commands: list[str] = []
    snippets: list[tuple[str, str]] = []
    for lang, body in _FENCE.findall(text or ""):
        if lang.lower() in SHELL_LANGUAGES:
            joined = re.sub(r"[ \t]*\\\n\s*", " ", body)
            commands += [
                line.strip()
                for line in joined.splitlines()
                if line.strip() and not line.strip().startswith("#")
            ]
        else:
            snippets.append((lang or "text", body.rstrip("\n")))
    prose = re.sub(r"\n{3,}", "\n\n", _FENCE.sub("", text or "")).strip()
    return Remedy(prose=prose, commands=commands, snippets=snippets)


def fill_remediation(template: str, **values: str) -> str:
    """`template` with {name}, {resource_group}, {id} and {subscription} filled in.

    In shell blocks a value is shell-quoted (a name from a hostile snapshot cannot turn into a
    second command), and a value that is not known stays a quoted placeholder ('<name>'). Any
    other brace, as in JSON arguments, is left alone.
    """

    out: list[str] = []
    for text, key, quote in _template_parts(template or ""):
        if key:
            value = values.get(key) or f"<{key.replace('_', '-')}>"
            out.append(shlex.quote(value) if quote else value)
        else:
            out.append(text)
    return "".join(out)


@lru_cache(maxsize=1024)
def _template_parts(template: str) -> tuple[tuple[str, str, bool], ...]:
    """A remediation template taken apart once (every finding of a rule fills the same one):
    (text, "", False) for text kept as it is, ("", placeholder, quoted) for each placeholder,
    quoted in shell blocks."""
    parts: list[tuple[str, str, bool]] = []

    def split(text: str, quote: bool) -> None:
        last = 0
        for m in _PLACEHOLDER.finditer(text):
            parts.append((text[last : m.start()], "", False))
            parts.append(("", m.group(1), quote))
            last = m.end()
        parts.append((text[last:], "", False))

    last = 0
    for m in _FENCE.finditer(template):
        split(template[last : m.start(2)], False)
        split(m.group(2), m.group(1).lower() in SHELL_LANGUAGES)
        last = m.end(2)
    split(template[last:], False)
    return tuple(p for p in parts if p[0] or p[1])
