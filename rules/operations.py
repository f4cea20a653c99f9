"""Operations — the checklist lines no API can prove.

Each line is one rule whose finding is MANUAL and says what evidence a reviewer should attach.
An attestation recorded in the configuration turns it into PASS. Where the inventory holds
partial evidence (an Azure Load Testing resource, an action group that reaches people) the
finding says so; a person still has to confirm the outcome. The performance baselines and the
review of metrics against targets read Azure Monitor instead: rules/performance.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prodcheck import Severity, rule
from prodcheck.arm import norm
from prodcheck.inventory import Inventory

from ._alerts import ACTION_GROUP, receivers

LOAD_TEST = "Microsoft.LoadTestService/loadTests"
DASHBOARDS = [
    "Microsoft.Portal/dashboards",
    "Microsoft.Insights/workbooks",
    "Microsoft.Dashboard/grafana",
]


@dataclass(frozen=True)
class Hint:
    """Partial evidence the inventory can give: a sentence, and the resources it rests on."""

    text: str
    resources: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Line:
    """One checklist line that a person attests to."""

    id: str
    checklist: str
    title: str
    attach: str
    severity: Severity = Severity.MEDIUM
    needs: tuple[str, ...] = ()
    partial: Callable[[Inventory], Hint | None] | None = None


def _unreadable(inv: Inventory, *types: str) -> bool:
    wanted = {norm(t) for t in types}
    return any(c.failed and norm(c.resource_type) in wanted for c in inv.coverage or [])


def _load_tests(inv: Inventory) -> Hint:
    if _unreadable(inv, LOAD_TEST):
        return Hint("Azure Load Testing resources could not be read")
    tests = inv.of_type(LOAD_TEST)
    if not tests:
        return Hint("no Azure Load Testing resource in scope")
    names = ", ".join(t.name for t in tests)
    return Hint(
        f"partial evidence: Azure Load Testing resource {names} is in scope; "
        "attach its run at target scale",
        [t.id for t in tests],
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _on_call(inv: Inventory) -> Hint | None:
    if _unreadable(inv, ACTION_GROUP):
        return Hint("action groups could not be read")
    reached = [
        g
        for g in inv.of_type(ACTION_GROUP)
        if g.get("properties.enabled") is not False and receivers(g)
    ]
    if not reached:
        return Hint("no enabled action group with a receiver in scope: alerts reach nobody")
    names = ", ".join(f"{g.name} ({_count(len(receivers(g)), 'receiver')})" for g in reached)
    return Hint(
        f"partial evidence: alerts can reach action group {names}; attach who stands behind them",
        [g.id for g in reached],
    )


LINES = [
    Line(
        "PC-OPS-001",
        "Load testing completed at target scale",
        "Load test completed at target scale",
        "a load-test report at the target number of concurrent calls, with latency percentiles "
        "against the guide's targets (end-to-end < 2.5 s, STT < 500 ms, TTS < 1 s)",
        Severity.HIGH,
        (LOAD_TEST,),
        _load_tests,
    ),
    Line(
        "PC-OPS-002",
        "Security assessment performed",
        "Security assessment performed",
        "the security assessment or penetration-test report, with each finding resolved or "
        "accepted by its owner",
        Severity.HIGH,
    ),
    Line(
        "PC-OPS-003",
        "Disaster recovery procedures documented",
        "Disaster recovery procedures documented",
        "the disaster-recovery runbook with RTO and RPO targets and the date of the last restore drill",
        Severity.HIGH,
    ),
    Line(
        "PC-OPS-004",
        "Production environment validated",
        "Production environment validated",
        "the sign-off of the end-to-end validation in production: test calls placed and answered "
        "through the production entry point",
    ),
    Line(
        "PC-OPS-005",
        "Rollback procedures tested",
        "Rollback procedures tested",
        "the record of a rollback rehearsal (revision switch or redeploy) and how long it took",
    ),
    Line(
        "PC-OPS-006",
        "Support team trained and on standby",
        "Support team trained and on standby",
        "the on-call rota for the launch and the training record of the support team",
        needs=(ACTION_GROUP,),
        partial=_on_call,
    ),
    Line(
        "PC-OPS-007",
        "Incident response playbooks ready",
        "Incident response playbooks ready",
        "links to the incident-response playbooks for the top failure modes (model throttling, "
        "Communication Services outage, Redis loss, regional failover)",
    ),
    Line(
        "PC-OPS-010",
        "Cost optimization opportunities identified",
        "Cost optimization opportunities identified",
        "the cost review: right-sizing, reservations, caching and idle-timeout decisions",
        Severity.LOW,
    ),
    Line(
        "PC-OPS-011",
        "Continuous improvement roadmap updated",
        "Continuous improvement roadmap updated",
        "the updated roadmap with what was learnt from the launch",
        Severity.LOW,
    ),
    Line(
        "PC-OPS-012",
        "Operator access through Entra ID with MFA",
        "Operators sign in through Entra ID with MFA",
        "the Conditional Access policy that requires MFA for the operators' and administrators' "
        "group, and the list of its members",
        Severity.HIGH,
    ),
]


def _doc(line: Line) -> str:
    partial = ""
    if line.partial is not None:
        kinds = ", ".join(f"`{t}`" for t in line.needs)
        partial = (
            f"\n\nThe inventory gives partial evidence ({kinds}): the finding names what it found, "
            "but a person still attests to the outcome."
        )
    return (
        "## What it checks\n"
        f'The checklist line "{line.checklist}". No Azure API can show it: the finding is '
        f"MANUAL and asks the reviewer to attach {line.attach}.{partial}\n\n"
        "## How to attest\n"
        "A person responsible for the go-live records an attestation for "
        f"{line.id} in `prodcheck.yaml`: who, when, a link to the evidence, and how many days it "
        "stays valid. An attested line is PASS with the attestation as its evidence; when the "
        "attestation expires it is MANUAL again."
    )


def _manual_rule(line: Line):
    def check(inv, p):
        hint = line.partial(inv) if line.partial is not None else None
        evidence: dict[str, object] = {"attach": line.attach}
        if hint is not None and hint.resources:
            evidence["partial evidence"] = hint.resources
        message = f"needs an attestation; attach {line.attach}"
        yield inv.scope.manual(message + (f"; {hint.text}" if hint else ""), evidence=evidence)

    check.__name__ = check.__qualname__ = line.id.lower().replace("-", "_")
    check.__doc__ = _doc(line)
    return rule(
        id=line.id,
        title=line.title,
        checklist=line.checklist,
        severity=line.severity,
        needs=list(line.needs),
        rationale=(
            "The guide's go-live checklist asks for it and no Azure API can show it; the "
            "audit is complete only when someone accountable attests to it."
        ),
        remediation=(
            f"Attach {line.attach}, and record an attestation for {line.id} in prodcheck.yaml:\n"
            "\n```yaml\n"
            "attestations:\n"
            f"  - rule: {line.id}\n"
            "    by: someone.accountable@example.com\n"
            "    date: 2026-01-31  # the day of the review\n"
            "    evidence: https://example.com/link-to-the-document\n"
            "    valid_days: 90\n"
            "```"
        ),
    )(check)


for _line in LINES:
    globals()[_line.id.lower().replace("-", "_")] = _manual_rule(_line)
