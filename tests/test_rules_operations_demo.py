"""The rule pack, part 2, on the built-in demos: what each rule says about the flat deployment and
the hardened one.

The flat demo is the voice agent accelerator as deployed (shared/reference: "What the real-time
voice agent accelerator actually deploys"); the hardened demo is the same workload after the
production guide. Items are numbered as in the rule pack's requirements (1-18).
"""

from __future__ import annotations

from functools import cache

import pytest

from prodcheck.api import audit_snapshot
from prodcheck.model import Severity, Status, worst_status
from prodcheck.report import Report
from prodcheck.snapshot import load_demo

ITEM_RULES = {
    1: ["PC-ID-001"],
    2: ["PC-ID-002"],
    3: ["PC-ID-003"],
    4: ["PC-ID-004"],
    5: ["PC-KV-001"],
    6: ["PC-KV-002"],
    7: ["PC-MON-001"],
    8: ["PC-MON-002"],
    9: ["PC-MON-003"],
    10: ["PC-MON-004"],
    11: ["PC-SCALE-001"],
    12: ["PC-SCALE-002"],
    13: ["PC-SCALE-003"],
    14: ["PC-GOV-001"],
    15: ["PC-MSG-001"],
    16: ["PC-AI-001"],
    17: ["PC-AUTH-001"],
    18: [f"PC-OPS-{n:03d}" for n in range(1, 13) if n != 9],
}
# The lines only a person can attest to (PC-OPS-008 reads the baselines from Azure Monitor).
OPS_LINES = [r for r in ITEM_RULES[18] if r != "PC-OPS-008"]
AUTOMATED = [r for item, rules in ITEM_RULES.items() if item != 18 for r in rules] + ["PC-ID-005"]
PART_TWO = AUTOMATED + ITEM_RULES[18]


@cache
def audit(demo: str) -> Report:
    return audit_snapshot(load_demo(demo), rules=PART_TWO)


def status_of(demo: str, rule_id: str) -> Status:
    return worst_status([f.status for f in audit(demo).findings if f.rule_id == rule_id])


def findings_of(demo: str, rule_id: str) -> list:
    return [f for f in audit(demo).findings if f.rule_id == rule_id]


# ---- flat -------------------------------------------------------------------------------------

FLAT_FAILS = [2, 6, 8, 9, 10, 11, 12, 13, 14, 17]


@pytest.mark.parametrize("item", FLAT_FAILS)
def test_flat_demo_fails_the_items_the_issue_names(item):
    for rule_id in ITEM_RULES[item]:
        assert status_of("flat", rule_id) == Status.FAIL, rule_id


def test_flat_demo_apps_have_managed_identity_and_pull_with_it():
    # Reference: both apps run with SystemAssigned+UserAssigned identity and pull from the
    # registry with their user-assigned identity (registry admin user off).
    assert status_of("flat", "PC-ID-001") == Status.PASS


def test_flat_demo_has_no_credential_in_plain_config_only_the_app_insights_connection_string():
    # Reference: env is the App Configuration endpoint and label, AZURE_CLIENT_ID, the App
    # Insights connection string (plain) and PORT. None is a credential (item 3 passes); the
    # connection string is reported by the separate low-severity rule.
    assert status_of("flat", "PC-ID-003") == Status.PASS
    plain = findings_of("flat", "PC-ID-005")
    assert {f.status for f in plain} == {Status.FAIL}
    assert {f.resource_name for f in plain} == {
        "artagent-frontend-k3x9p2qa",
        "artagent-backend-k3x9p2qa",
    }
    assert {f.severity for f in plain} == {Severity.LOW}


def test_flat_demo_apps_hold_no_secrets_so_item_4_has_nothing_to_judge():
    # Reference: "no secrets"; configuration comes from App Configuration.
    assert status_of("flat", "PC-ID-004") == Status.NOT_APPLICABLE


def test_flat_demo_has_a_vault_in_scope_and_no_reference_outside_it():
    # Reference: kv-k3x9p2qa is deployed; the apps reference no Key Vault secret directly.
    assert status_of("flat", "PC-KV-001") == Status.PASS


def test_flat_demo_app_insights_is_workspace_based_with_30_days():
    # Reference: ai-k3x9p2qa is workspace-based on log-k3x9p2qa, PerGB2018, 30-day retention.
    assert status_of("flat", "PC-MON-001") == Status.PASS


def test_flat_demo_lacks_managed_messaging_without_failing_the_gate_for_it():
    # Reference: no Service Bus, SignalR or Event Hubs. Item 15 is severity info: reported,
    # never gating by default.
    [finding] = findings_of("flat", "PC-MSG-001")
    assert finding.status == Status.FAIL and finding.severity == Severity.INFO
    assert finding not in audit("flat").blocking()


def test_flat_demo_model_deployments_keep_the_default_content_filter():
    # The accelerator deploys every model with the platform's default filter (Microsoft.DefaultV2).
    assert status_of("flat", "PC-AI-001") == Status.PASS


def test_flat_demo_failures_name_the_resources_a_reviewer_expects():
    failing = {
        (f.rule_id, f.resource_name) for f in audit("flat").findings if f.status == Status.FAIL
    }
    assert ("PC-KV-002", "kv-k3x9p2qa") in failing
    assert ("PC-SCALE-001", "artagent-frontend-k3x9p2qa") in failing
    assert ("PC-SCALE-001", "artagent-backend-k3x9p2qa") not in failing  # min 5, max 50
    assert ("PC-SCALE-003", "cae-artagent-dev-k3x9p2qa") in failing
    assert ("PC-AUTH-001", "artagent-backend-k3x9p2qa") in failing
    assert ("PC-ID-002", "cosmos-cluster-k3x9p2qa") in failing  # NativeAuth allowed
    assert ("PC-MON-003", "kv-k3x9p2qa") in failing


def test_flat_demo_has_no_error_from_this_pack():
    assert not [f for f in audit("flat").findings if f.status == Status.ERROR]


# ---- hardened ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rule_id", AUTOMATED)
def test_hardened_demo_passes_every_automated_item(rule_id):
    statuses = {f.status for f in findings_of("hardened", rule_id)}
    assert statuses == {Status.PASS}, [
        (f.resource_name, f.message) for f in findings_of("hardened", rule_id)
    ]


@pytest.mark.parametrize("demo", ["flat", "hardened"])
def test_operations_lines_stay_manual(demo):
    for rule_id in OPS_LINES:
        assert status_of(demo, rule_id) == Status.MANUAL, rule_id


def test_baselines_are_established_where_azure_monitor_holds_every_key_metric():
    assert status_of("hardened", "PC-OPS-008") == Status.PASS
    [flat] = findings_of("flat", "PC-OPS-008")
    assert flat.status == Status.MANUAL
    assert "availability (ai-k3x9p2qa)" in flat.message


def test_hardened_demo_names_its_load_testing_resource_as_partial_evidence():
    [finding] = findings_of("hardened", "PC-OPS-001")
    assert "lt-artagent-prod-p5h2n8wd" in finding.message
