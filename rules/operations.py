"""Operations — the checklist lines no API can prove.

Each line is a MANUAL finding saying what evidence a reviewer should attach; an attestation
in prodcheck.yaml turns it into PASS. Where the inventory holds partial evidence (an Azure Load
Testing resource), the finding says so — it still needs a human to confirm the outcome.
"""

from prodcheck import Severity, rule

LOAD_TEST = "Microsoft.LoadTestService/loadTests"


def _manual_rule(
    rule_id, checklist, title, evidence, severity=Severity.MEDIUM, needs=(), partial=None
):
    @rule(
        id=rule_id,
        title=title,
        checklist=checklist,
        severity=severity,
        needs=list(needs),
        rationale=f"No Azure API can show this; a person responsible for the go-live attests to it. {evidence}",
        remediation=f"Attach the evidence ({evidence[0].lower() + evidence[1:]}) and record an attestation for {rule_id} in prodcheck.yaml.",
    )
    def check(inv, p):
        hint = partial(inv) if partial else ""
        yield inv.scope.manual(
            f"needs a human attestation: {evidence}" + (f" ({hint})" if hint else "")
        )

    check.__doc__ = (
        f'## What it checks\nThe checklist line "{checklist}" needs a person to attest to it '
        f"with evidence: {evidence}\n\nThe finding is MANUAL until an attestation in "
        "`prodcheck.yaml` (who, when, evidence link, valid for N days) records it; then PASS."
    )
    check.__name__ = rule_id.lower().replace("-", "_")
    return check


def _load_testing_hint(inv):
    tests = inv.of_type(LOAD_TEST)
    if tests:
        names = ", ".join(t.name for t in tests)
        return f"partial evidence: Azure Load Testing resource {names} is in scope; attach its run at target scale"
    return "no Azure Load Testing resource in scope"


load_testing = _manual_rule(
    "PC-OPS-001",
    "Load testing completed at target scale",
    "Load test completed at target scale",
    "A load-test report at the target concurrent-call volume, with latency percentiles against the guide's targets.",
    severity=Severity.HIGH,
    needs=[LOAD_TEST],
    partial=_load_testing_hint,
)
security_assessment = _manual_rule(
    "PC-OPS-002",
    "Security assessment performed",
    "Security assessment performed",
    "A security assessment or penetration-test report with its findings resolved or accepted.",
    severity=Severity.HIGH,
)
disaster_recovery = _manual_rule(
    "PC-OPS-003",
    "Disaster recovery procedures documented",
    "Disaster recovery procedures documented",
    "The disaster-recovery runbook with RTO/RPO targets and the date of the last restore drill.",
    severity=Severity.HIGH,
)
environment_validated = _manual_rule(
    "PC-OPS-004",
    "Production environment validated",
    "Production environment validated",
    "A sign-off of the end-to-end validation in production (test calls placed and answered).",
)
rollback_tested = _manual_rule(
    "PC-OPS-005",
    "Rollback procedures tested",
    "Rollback procedures tested",
    "The record of a rollback rehearsal (revision switch or redeploy) and how long it took.",
)
support_trained = _manual_rule(
    "PC-OPS-006",
    "Support team trained and on standby",
    "Support team trained and on standby",
    "The on-call rota for launch and the training record of the support team.",
)
incident_playbooks = _manual_rule(
    "PC-OPS-007",
    "Incident response playbooks ready",
    "Incident response playbooks ready",
    "Links to the incident-response playbooks for the top failure modes (AI throttling, ACS outage, Redis loss).",
)
performance_baselines = _manual_rule(
    "PC-OPS-008",
    "Performance baselines established",
    "Performance baselines established",
    "The baseline dashboard or report: end-to-end, STT and TTS latency and call drop rate under normal load.",
)
metrics_reviewed = _manual_rule(
    "PC-OPS-009",
    "Metrics reviewed against targets",
    "Metrics reviewed against targets",
    "The post-launch review of the key metrics against the guide's targets.",
    severity=Severity.LOW,
)
cost_optimization = _manual_rule(
    "PC-OPS-010",
    "Cost optimization opportunities identified",
    "Cost optimization opportunities identified",
    "The cost review: right-sizing, reservations, caching and idle-timeout decisions.",
    severity=Severity.LOW,
)
improvement_roadmap = _manual_rule(
    "PC-OPS-011",
    "Continuous improvement roadmap updated",
    "Continuous improvement roadmap updated",
    "The updated roadmap with the items learnt from launch.",
    severity=Severity.LOW,
)
operator_mfa = _manual_rule(
    "PC-OPS-012",
    "Operator access through Entra ID with MFA",
    "Operators sign in through Entra ID with MFA",
    "The Conditional Access policy requiring MFA for the operators' and admins' group.",
    severity=Severity.HIGH,
)
