"""Waivers and attestations: the configuration's human decisions, applied to an audit's report.

- A **waiver** accepts FAIL or ERROR findings of matching rules on matching resources, with a
  reason, an owner and an expiry date. A waived finding has status WAIVED and does not fail the
  gate. An expired waiver no longer applies and is reported; a waiver that matches no failing
  finding (while its rules ran) is reported as stale, so that waivers do not outlive their cause.
- An **attestation** records that a MANUAL checklist line is done: who, when, the evidence, and
  for how many days it holds. An attested line is PASS with the attestation as its evidence; an
  expired attestation leaves it MANUAL, and is reported.

`apply(report, config, today)` runs after `engine.audit`, so the rules never see either.
Reports show the notices this produces (`report.notices`); they do not change the gate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from prodcheck.config import Attestation, Config, Waiver, resource_matches
from prodcheck.model import Finding, Status
from prodcheck.report import Report

# A waiver this close to its expiry is mentioned, so that its owner renews or fixes in time.
EXPIRING_SOON_DAYS = 14


def _notice(kind: str, message: str, where: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "message": message, "where": where, **extra}


def _waive(f: Finding, waiver: Waiver) -> Finding:
    return replace(
        f,
        status=Status.WAIVED,
        note={
            "kind": "waiver",
            "statusBefore": f.status.value,
            "reason": waiver.reason,
            "owner": waiver.owner,
            "expires": waiver.expires.isoformat(),
            "waiver": waiver.number,
            "rule": waiver.rule,
            "resource": waiver.resource,
            "where": waiver.where,
        },
    )


def _attest(f: Finding, a: Attestation) -> Finding:
    evidence = dict(f.evidence)
    evidence.update(
        {
            "attestation.by": a.by,
            "attestation.date": a.date.isoformat(),
            "attestation.evidence": a.evidence,
            "attestation.validUntil": a.valid_until.isoformat(),
        }
    )
    if a.note:
        evidence["attestation.note"] = a.note
    return replace(
        f,
        status=Status.PASS,
        message=f"attested by {a.by} on {a.date.isoformat()} (valid until {a.valid_until.isoformat()})",
        evidence=evidence,
        remediation="",
        note={
            "kind": "attestation",
            "statusBefore": f.status.value,
            "by": a.by,
            "date": a.date.isoformat(),
            "evidence": a.evidence,
            "validUntil": a.valid_until.isoformat(),
            "attestation": a.number,
            "where": a.where,
        },
    )


def apply(report: Report, config: Config, today: dt.date | None = None) -> Report:
    """Apply `config`'s waivers and attestations to `report` (in place; also returned)."""
    today = today or dt.datetime.now(dt.UTC).date()
    ran = [info.id for info in report.rules]
    notices: list[dict[str, Any]] = []

    active = [w for w in config.waivers if w.expires >= today]
    expired = [w for w in config.waivers if w.expires < today]
    waived_by: dict[int, int] = {w.number: 0 for w in config.waivers}
    would_match: dict[int, int] = {w.number: 0 for w in expired}

    attest_current = [a for a in config.attestations if a.valid_until >= today]
    attest_expired = [a for a in config.attestations if a.valid_until < today]
    attested_by: dict[int, int] = {a.number: 0 for a in config.attestations}
    expired_hits: dict[int, int] = {a.number: 0 for a in attest_expired}

    findings: list[Finding] = []
    for f in report.findings:
        if f.status in (Status.FAIL, Status.ERROR):
            for w in expired:
                if w.matches_rule(f.rule_id) and w.matches_resource(f.resource_id, f.resource_name):
                    would_match[w.number] += 1
            waiver = next(
                (
                    w
                    for w in active
                    if w.matches_rule(f.rule_id)
                    and w.matches_resource(f.resource_id, f.resource_name)
                ),
                None,
            )
            if waiver is not None:
                waived_by[waiver.number] += 1
                f = _waive(f, waiver)
        elif f.status == Status.MANUAL:
            for a in attest_expired:
                if a.rule == f.rule_id and resource_matches(
                    a.resource, f.resource_id, f.resource_name
                ):
                    expired_hits[a.number] += 1
            attestation = next(
                (
                    a
                    for a in attest_current
                    if a.rule == f.rule_id
                    and resource_matches(a.resource, f.resource_id, f.resource_name)
                ),
                None,
            )
            if attestation is not None:
                attested_by[attestation.number] += 1
                f = _attest(f, attestation)
        findings.append(f)
    report.findings = findings

    for w in expired:
        hits = would_match[w.number]
        consequence = (
            f"{hits} finding{'s' if hits != 1 else ''} it covered fail{'s' if hits == 1 else ''} the gate again"
            if hits
            else "it matches no failing finding now"
        )
        notices.append(
            _notice(
                "waiver-expired",
                f"{w.describe()} at {w.where} expired on {w.expires.isoformat()}: it no longer applies "
                f"and {consequence}; fix the findings, or renew the waiver with a new expiry date",
                w.where,
                rule=w.rule,
                resource=w.resource,
                matched=hits,
            )
        )
    for w in active:
        evaluated = any(w.matches_rule(rid) for rid in ran)
        if waived_by[w.number] == 0 and evaluated:
            notices.append(
                _notice(
                    "waiver-stale",
                    f"{w.describe()} at {w.where} matches no FAIL or ERROR finding: "
                    "what it waived is fixed or gone; remove the waiver",
                    w.where,
                    rule=w.rule,
                    resource=w.resource,
                )
            )
        elif waived_by[w.number] and (w.expires - today).days <= EXPIRING_SOON_DAYS:
            notices.append(
                _notice(
                    "waiver-expiring",
                    f"{w.describe()} at {w.where} expires on {w.expires.isoformat()} "
                    f"({(w.expires - today).days} days left) and waives {waived_by[w.number]} finding(s): "
                    "fix them or renew it",
                    w.where,
                    rule=w.rule,
                    resource=w.resource,
                )
            )
    for a in attest_expired:
        notices.append(
            _notice(
                "attestation-expired",
                f"{a.describe()} at {a.where} expired on {a.valid_until.isoformat()} "
                f"(valid {a.valid_days} days): {a.rule} is MANUAL again; attest it anew with fresh evidence",
                a.where,
                rule=a.rule,
                matched=expired_hits[a.number],
            )
        )
    for a in attest_current:
        if attested_by[a.number] == 0 and a.rule in ran:
            notices.append(
                _notice(
                    "attestation-stale",
                    f"{a.describe()} at {a.where} matches no MANUAL finding: attestations only turn "
                    f"MANUAL checks into PASS; remove it, or use a waiver for an automated check",
                    a.where,
                    rule=a.rule,
                )
            )
    report.notices = list(report.notices) + notices
    return report
