"""SARIF 2.1.0, for GitHub code scanning and the Azure DevOps SARIF viewers.

One result per failing finding (FAIL, and ERROR: a check that could not verify fails closed).
Waived findings are left out by default. With `--sarif-include-waived` they are kept as
results carrying an accepted external `suppressions` entry with the waiver's reason. GitHub
code scanning sets the alert of such a result to closed (not dismissed: the reason is not
recorded there); other viewers may ignore `suppressions` and show the finding as open, which
is why it is not the default. Rules carry their help text and a level derived from their effective severity;
GitHub reads `security-severity` to rank them.

Findings are about Azure resources, not files. Each result names its resource as a logical
location (the ARM id); because GitHub code scanning also requires a physical location, the
ARM id doubles as a relative artifact URI (`subscriptions/.../providers/...`). A finding with
a subject (PC-MON-002 makes one per signal on an Application Insights component) gets the
subject as a last path segment after `~` (`.../components/appi/~/latency`), so each finding has
a location of its own. A finding of a Terraform plan whose `.tf` sources were found points
at the line of the resource's block instead (`infra/main.tf`, relative to `%SRCROOT%`, the
repository's root), with the Terraform address as a further logical location, so code
scanning annotates the code. `partialFingerprints` and `correlationGuid` derive from the finding's
`findingId` (rule, resource and subject): one alert per finding, stable across runs.

When the gate requires attestations (`--require-attestations`, `gate.require_attestations`),
every MANUAL finding (a checklist line nobody attested) fails the gate, so it is a result too:
level `error`, whatever the rule's severity, its message naming the checklist line and how to
attest it (an entry under `attestations:` in prodcheck.yaml), as JUnit makes it a `<failure>`
and the terminal counts it in the gate's reasons. Without that flag MANUAL lines do not gate and
are left out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from prodcheck.jsonfile import iter_indented
from prodcheck.model import Finding, Severity, Status
from prodcheck.report import Report, RuleInfo
from prodcheck.reporters import RenderOptions

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub maps security-severity to critical (>= 9.0), high (7.0-8.9), medium (4.0-6.9), low.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
REPORTED = (Status.FAIL, Status.ERROR, Status.WAIVED)
# The base of the relative `.tf` file paths of a plan's findings: the repository's root.
SOURCE_ROOT = "%SRCROOT%"


# Namespace of the correlation GUIDs: uuid5(namespace, findingId) is stable across runs.
_GUID_NAMESPACE = uuid.UUID("6f1c2e0a-3b5d-5c8e-9a7f-2d4b6e8a0c1e")


def artifact_uri(resource_id: str, subject: str = "") -> str:
    """A relative URI reference naming the finding's place: its ARM id (and subject), encoded."""
    path = resource_id.strip().lstrip("/") or "scope"
    if subject:
        path = f"{path.rstrip('/')}/~/{subject.strip()}"
    return quote(path, safe="/-_.~")


def fingerprint(f: Finding) -> str:
    """The finding's `findingId`: one code-scanning alert per finding."""
    return f.finding_id


def _pascal(title: str) -> str:
    words = [w for w in "".join(c if c.isalnum() else " " for c in title).split() if w]
    return "".join(w[:1].upper() + w[1:] for w in words) or "Rule"


def _help(info: RuleInfo) -> dict[str, str]:
    parts_text = [info.title]
    parts_md = [f"**{info.title}**", "", f"Checklist: {info.section} — {info.checklist}"]
    if info.rationale:
        parts_text.append(f"Why: {info.rationale}")
        parts_md += ["", info.rationale]
    if info.remediation:
        parts_text.append(f"Fix: {info.remediation}")
        # Remediations are Markdown already: prose and fenced commands or snippets.
        parts_md += ["", "**Fix:**", "", info.remediation]
    if info.links:
        parts_text.append("See: " + " ".join(info.links))
        parts_md += [""] + [f"- <{link}>" for link in info.links]
    return {"text": "\n".join(parts_text), "markdown": "\n".join(parts_md)}


def _rule(info: RuleInfo) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": info.id,
        "name": _pascal(info.title),
        "shortDescription": {"text": info.title or info.id},
        "fullDescription": {"text": info.rationale or info.title or info.id},
        "help": _help(info),
        "defaultConfiguration": {"level": LEVEL[info.severity]},
        "properties": {
            "tags": ["security", "azure", "production-readiness", info.section],
            "precision": "high",
            "problem.severity": LEVEL[info.severity],
            "security-severity": SECURITY_SEVERITY[info.severity],
            "severity": info.severity.value,
            "section": info.section,
            "checklist": info.checklist,
        },
    }
    if info.links and info.links[0].startswith(("http://", "https://")):
        descriptor["helpUri"] = info.links[0]
    return descriptor


def _message(f: Finding) -> str:
    name = f.resource_name or f.resource_id or "scope"
    if f.status == Status.ERROR and not f.message.lower().startswith("not verified"):
        return f"{name}: not verified — {f.message}"
    return f"{name}: {f.message}"


def source_uri(path: str) -> str:
    """A relative URI reference for a source file path (`infra/main.tf`), encoded."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return quote("/".join(parts), safe="/-_.~") or "main.tf"


def _location(f: Finding) -> dict[str, Any]:
    """Where the finding is: the `.tf` line declaring the resource when a plan's sources gave
    it (with the Terraform address as a logical location), else the ARM id as a path."""
    arm = {
        "name": f.resource_name or f.resource_id,
        "fullyQualifiedName": f.resource_id,
        "kind": "resource",
    }
    if f.source_file:
        return {
            "physicalLocation": {
                "artifactLocation": {"uri": source_uri(f.source_file), "uriBaseId": SOURCE_ROOT},
                "region": {"startLine": max(1, f.source_line)},
            },
            "logicalLocations": [
                {
                    "name": f.resource_name,
                    "fullyQualifiedName": f.resource_name,
                    "kind": "resource",
                },
                {**arm, "name": f.resource_id.rsplit("/", 1)[-1] or f.resource_id},
            ],
        }
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": artifact_uri(f.resource_id, f.subject)},
            "region": {"startLine": 1},
        },
        "logicalLocations": [arm],
    }


def _result(f: Finding, rule_index: int | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "kind": "fail",
        "level": LEVEL[f.severity],
        "message": {"text": _message(f)},
        "locations": [_location(f)],
        "partialFingerprints": {"prodcheckFinding/v2": fingerprint(f)},
        "correlationGuid": str(uuid.uuid5(_GUID_NAMESPACE, f.finding_id)),
        "properties": {
            "findingId": f.finding_id,
            "subject": f.subject,
            "status": f.status.value,
            "severity": f.severity.value,
            "resourceId": f.resource_id,
            "resourceType": f.resource_type,
            "resourceGroup": f.resource_group,
            "evidence": f.evidence,
            "remediation": f.remediation,
        },
    }
    if rule_index is not None:
        result["ruleIndex"] = rule_index
    if f.status == Status.WAIVED:
        note = f.note or {}
        justification = "; ".join(
            str(x)
            for x in (
                note.get("reason"),
                f"owner {note['owner']}" if note.get("owner") else None,
                f"expires {note['expires']}" if note.get("expires") else None,
            )
            if x
        )
        suppression: dict[str, Any] = {"kind": "external", "status": "accepted"}
        if justification:
            suppression["justification"] = justification
        result["suppressions"] = [suppression]
        result["properties"]["statusBeforeWaiver"] = note.get("statusBefore", "")
    return result


def _unattested(f: Finding, info: RuleInfo | None, rule_index: int | None) -> dict[str, Any]:
    """A MANUAL line the gate requires an attestation for: an error result saying how to attest."""
    result = _result(f, rule_index)
    line = info.checklist if info and info.checklist else f.rule_id
    how = (
        f"attest it in prodcheck.yaml under attestations: (rule: {f.rule_id}, by, date, "
        "evidence, valid_days; see docs/configuration.md#attestations)"
    )
    name = f.resource_name or f.resource_id or "scope"
    result["level"] = "error"
    result["message"] = {
        "text": f"{name}: checklist line '{line}' has no valid attestation and the gate "
        f"requires one — {f.message}; {how}"
    }
    result["properties"]["checklist"] = line
    result["properties"]["attestationRequired"] = True
    result["properties"]["howToAttest"] = how
    return result


def to_sarif(report: Report, include_waived: bool = False) -> dict[str, Any]:
    rules = sorted(report.rules, key=lambda i: i.id)
    index = {info.id: i for i, info in enumerate(rules)}
    reported = REPORTED if include_waived else (Status.FAIL, Status.ERROR)
    results = []
    for f in report.findings:
        position = index.get(f.rule_id)
        if f.status in reported:
            results.append(_result(f, position))
        elif f.status == Status.MANUAL and report.require_attestations:
            results.append(
                _unattested(f, rules[position] if position is not None else None, position)
            )
    blocking = report.blocking()
    run: dict[str, Any] = {}
    if any(
        loc["physicalLocation"]["artifactLocation"].get("uriBaseId") == SOURCE_ROOT
        for r in results
        for loc in r["locations"]
    ):
        run["originalUriBaseIds"] = {
            SOURCE_ROOT: {
                "description": {
                    "text": "The root of the repository that holds the Terraform configuration"
                }
            }
        }
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                **run,
                "tool": {
                    "driver": {
                        "name": "prodcheck",
                        "version": report.tool_version or "0",
                        "semanticVersion": report.tool_version or "0",
                        "rules": [_rule(info) for info in rules],
                    }
                },
                "automationDetails": {"id": "prodcheck/"},
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "properties": {
                            "gatePassed": not blocking,
                            "failOn": report.fail_on.value,
                            "blocking": len(blocking),
                            "requireAttestations": report.require_attestations,
                            "readiness": report.readiness,
                            "source": report.source,
                            "generatedAt": report.generated_at,
                        },
                    }
                ],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def render(report: Report, options: RenderOptions) -> str:
    return "".join(render_pieces(report, options))


def render_pieces(report: Report, options: RenderOptions) -> Iterator[str]:
    """The SARIF text in pieces, one result at a time (`runs` → run → `results` → result)."""
    sarif = to_sarif(report, include_waived=options.sarif_include_waived)
    return iter_indented(sarif, sort_keys=False, end="\n", levels=4)
