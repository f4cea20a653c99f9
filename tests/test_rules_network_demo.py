"""The built-in demos give the outcomes the rule pack promises for the first three checklist lines.

The flat demo (the accelerator as deployed) fails the network perimeter, the missing WAF gateway
and the missing API Management, and has nothing to judge for the rest; the hardened demo passes
every rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from prodcheck.api import audit_snapshot
from prodcheck.model import Status

DEMOS = Path(__file__).resolve().parents[1] / "src" / "prodcheck" / "demos"
RULES = ["PC-NET-*", "PC-WAF-*", "PC-APIM-*"]

NET = [f"PC-NET-00{i}" for i in range(1, 7)]
WAF = [f"PC-WAF-00{i}" for i in range(1, 6)]
APIM = [f"PC-APIM-00{i}" for i in range(1, 8)]

FLAT_FAILS = {
    "PC-NET-001",
    "PC-NET-002",
    "PC-NET-004",
    "PC-NET-005",
    "PC-NET-006",
    "PC-WAF-001",
    "PC-APIM-001",
}


def findings_by_rule(demo: str) -> dict[str, list]:
    report = audit_snapshot(DEMOS / f"{demo}.json", rules=RULES)
    out: dict[str, list] = {}
    for finding in report.findings:
        out.setdefault(finding.rule_id, []).append(finding)
    return out


@pytest.fixture(scope="module")
def flat():
    return findings_by_rule("flat")


@pytest.fixture(scope="module")
def hardened():
    return findings_by_rule("hardened")


def test_every_rule_of_the_pack_reports_on_both_demos(flat, hardened):
    assert sorted(flat) == sorted(NET + WAF + APIM)
    assert sorted(hardened) == sorted(NET + WAF + APIM)


@pytest.mark.parametrize("rule_id", sorted(FLAT_FAILS))
def test_flat_demo_fails(flat, rule_id):
    found = {f.status for f in flat[rule_id]}
    assert Status.FAIL in found, [f.message for f in flat[rule_id]]
    assert Status.ERROR not in found


@pytest.mark.parametrize("rule_id", sorted(set(NET + WAF + APIM) - FLAT_FAILS))
def test_flat_demo_has_nothing_to_judge(flat, rule_id):
    assert [f.status for f in flat[rule_id]] == [Status.NOT_APPLICABLE], [
        f.message for f in flat[rule_id]
    ]


@pytest.mark.parametrize("rule_id", NET + WAF + APIM)
def test_hardened_demo_passes(hardened, rule_id):
    found = {f.status for f in hardened[rule_id]}
    assert Status.PASS in found
    assert found <= {Status.PASS, Status.NOT_APPLICABLE}, [
        (f.resource_name, f.status.value, f.message) for f in hardened[rule_id]
    ]


def test_flat_demo_names_the_world_open_mongodb_firewall_rule(flat):
    failing = [f for f in flat["PC-NET-004"] if f.status == Status.FAIL]
    assert [f.resource_name for f in failing] == ["cosmos-cluster-k3x9p2qa"]
    assert "allowAll" in failing[0].message


def test_flat_demo_reports_both_container_apps_as_directly_reachable(flat):
    assert sorted(f.resource_name for f in flat["PC-NET-006"] if f.status == Status.FAIL) == [
        "artagent-backend-k3x9p2qa",
        "artagent-frontend-k3x9p2qa",
    ]


def test_hardened_demo_rate_limits_both_apis_through_the_global_policy(hardened):
    assert {f.resource_name: f.status for f in hardened["PC-APIM-002"]} == {
        "openai": Status.PASS,
        "realtime-voice": Status.PASS,
    }
