"""Operations: one MANUAL rule per checklist line no API can prove (PC-OPS-001 to PC-OPS-012;
PC-OPS-008, the performance baselines, reads Azure Monitor: tests/test_rules_performance.py)."""

from __future__ import annotations

from builders import arm, registry, run, statuses

from prodcheck.checklist import section_of

# The operations lines of the guide's checklist, and the guide's MFA requirement for operators.
OPERATIONS_LINES = [
    "Load testing completed at target scale",
    "Security assessment performed",
    "Disaster recovery procedures documented",
    "Production environment validated",
    "Rollback procedures tested",
    "Support team trained and on standby",
    "Incident response playbooks ready",
    "Cost optimization opportunities identified",
    "Continuous improvement roadmap updated",
    "Operator access through Entra ID with MFA",
]
# "Performance baselines established" is PC-OPS-008, automated where Azure Monitor has data;
# "Metrics reviewed against targets" is the PC-PERF rules' line.
OPS_IDS = [f"PC-OPS-{n:03d}" for n in range(1, 13) if n not in (8, 9)]


def test_one_rule_per_operations_line_each_on_a_checklist_line_the_guide_has():
    rules = {r.id: r for r in registry().all() if r.id in OPS_IDS}
    assert sorted(rules) == OPS_IDS
    assert "PC-OPS-009" not in {r.id for r in registry().all()}
    assert sorted(r.checklist for r in rules.values()) == sorted(OPERATIONS_LINES)
    assert all(section_of(r.checklist) for r in rules.values())


def test_every_line_is_manual_at_the_scope_and_says_what_to_attach():
    for rule_id in OPS_IDS:
        findings = run(rule_id, [])
        assert statuses(findings) == {"scope": "MANUAL"}, rule_id
        assert findings[0].message.startswith("needs an attestation; attach "), rule_id
        assert findings[0].evidence["attach"], rule_id
        assert "prodcheck.yaml" in findings[0].remediation, rule_id


def test_every_line_documents_how_to_attest():
    for rule_id in OPS_IDS:
        doc = registry().get(rule_id).doc
        assert "## What it checks" in doc and "## How to attest" in doc, rule_id


def test_operator_mfa_line_asks_for_the_conditional_access_policy():
    findings = run("PC-OPS-012", [])
    assert "Conditional Access policy that requires MFA" in findings[0].message
    assert registry().get("PC-OPS-012").severity.value == "high"


def test_load_testing_resource_in_scope_is_named_as_partial_evidence():
    load_test = arm("Microsoft.LoadTestService/loadTests", "lt-prod")
    findings = run("PC-OPS-001", [load_test])
    assert statuses(findings) == {"scope": "MANUAL"}
    assert (
        "partial evidence: Azure Load Testing resource lt-prod is in scope" in findings[0].message
    )
    assert findings[0].evidence["partial evidence"] == [load_test["id"]]


def test_without_load_testing_resource_the_finding_says_so():
    assert "no Azure Load Testing resource in scope" in run("PC-OPS-001", [])[0].message


def test_unreadable_load_testing_data_is_not_reported_as_absent():
    coverage = [
        {
            "resourceType": "Microsoft.LoadTestService/loadTests",
            "scope": "/subscriptions/00000000-1111-2222-3333-444444444444",
            "status": "failed",
            "statusCode": 403,
            "permission": "Microsoft.LoadTestService/loadTests/read",
        }
    ]
    findings = run("PC-OPS-001", [], coverage=coverage)
    manual = [f for f in findings if f.status.value == "MANUAL"]
    assert "could not be read" in manual[0].message
    assert "no Azure Load Testing resource" not in manual[0].message
    # The engine adds the coverage gap itself, as for every rule.
    assert any(f.status.value == "ERROR" for f in findings)


def test_action_group_with_receivers_is_partial_evidence_of_an_on_call_team():
    group = arm(
        "Microsoft.Insights/actionGroups",
        "oncall",
        properties={
            "enabled": True,
            "emailReceivers": [{"name": "ops", "emailAddress": "ops@example.com"}],
        },
    )
    findings = run("PC-OPS-006", [group])
    assert "action group oncall (1 receiver)" in findings[0].message
    silent = run("PC-OPS-006", [])
    assert "alerts reach nobody" in silent[0].message


def test_workbook_is_partial_evidence_for_baselines():
    workbook = arm(
        "microsoft.insights/workbooks", "wb", properties={"displayName": "Voice operations"}
    )
    assert "Voice operations can show the baselines" in run("PC-OPS-008", [workbook])[0].message
