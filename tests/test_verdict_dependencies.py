"""A verdict rests on what its rule read: data that could not be read makes it ERROR."""

from __future__ import annotations

from builders import SUB, arm, child_id, registry, rid, run

from prodcheck import Severity, Status, rule
from prodcheck.engine import run_rule
from prodcheck.inventory import CoverageRecord, Inventory, Read

VAULT = "Microsoft.KeyVault/vaults"
APP = "Microsoft.App/containerApps"
NSP = "Microsoft.Network/networkSecurityPerimeters"
ACS = "Microsoft.Communication/CommunicationServices"
RG_B = f"/subscriptions/{SUB}/resourceGroups/rg-b"


def _ok(type_, scope=f"/subscriptions/{SUB}"):
    return {"resourceType": type_, "scope": scope, "status": "ok", "count": 1}


def _forbidden(type_, scope):
    return {
        "resourceType": type_,
        "scope": scope,
        "status": "failed",
        "statusCode": 403,
        "errorCode": "AuthorizationFailed",
        "permission": f"{type_}/read",
    }


def _inv(resources, coverage):
    return Inventory(
        resources,
        coverage=[CoverageRecord.from_json(c) for c in coverage],
        scope={"subscriptions": [SUB]},
    )


def test_every_lookup_notes_what_its_answer_depends_on():
    vault = arm(VAULT, "kv")
    inv = _inv([vault], [])
    inv.record_reads(True)
    inv.of_type(VAULT)
    assert inv.take_reads() == {Read(frozenset({VAULT.lower()}))}
    inv.get(vault["id"])
    assert inv.take_reads() == {Read(frozenset({VAULT.lower()}), vault["id"].lower())}
    inv.children(vault["id"], "Microsoft.Insights/diagnosticSettings")
    assert inv.take_reads() == {
        Read(frozenset({"microsoft.insights/diagnosticsettings"}), vault["id"].lower())
    }
    list(inv)
    assert inv.take_reads() == {Read(None)}
    inv.record_reads(False)
    inv.of_type(VAULT)
    assert inv.take_reads() == frozenset()


def _read_everything(rule_id):
    return [_ok(t) for t in registry().get(rule_id).needs]


def test_claim_about_every_governed_resource_is_error_when_one_governed_type_failed():
    apps = [arm(APP, "api", tags={"env": "prod"})]
    coverage = [*_read_everything("PC-GOV-001"), _forbidden(VAULT, RG_B)]
    findings = run("PC-GOV-001", apps, coverage=coverage)
    scope = [f for f in findings if f.resource_id == f"/subscriptions/{SUB}"]
    assert [f.status for f in scope] == [Status.ERROR]
    assert "on what was read: PASS, none of 1 resources" in scope[0].message
    assert any(f.resource_id == RG_B and f.status is Status.ERROR for f in findings)


def test_claim_about_every_governed_resource_passes_when_everything_was_read():
    apps = [arm(APP, "api", tags={"env": "prod"})]
    findings = run("PC-GOV-001", apps, coverage=_read_everything("PC-GOV-001"))
    assert {f.status for f in findings} == {Status.PASS}


def _perimeter(resource_id: str):
    nsp_id = rid(NSP, "nsp1")
    profile_id = child_id(nsp_id, "profiles", "p1")
    association = arm(
        f"{NSP}/resourceAssociations",
        "assoc1",
        id=child_id(nsp_id, "resourceAssociations", "assoc1"),
        properties={
            "privateLinkResource": {"id": resource_id},
            "profile": {"id": profile_id},
            "accessMode": "Enforced",
        },
    )
    return association, profile_id


def test_perimeter_whose_access_rules_could_not_be_read_is_not_said_to_admit_nothing():
    acs = arm(
        ACS, "acs1", location="global", properties={"publicNetworkAccess": "SecuredByPerimeter"}
    )
    association, profile_id = _perimeter(acs["id"])
    coverage = [
        _ok(ACS),
        _ok(f"{NSP}/resourceAssociations"),
        _forbidden(f"{NSP}/profiles/accessRules", profile_id),
    ]
    findings = run("PC-NET-001", [acs, association], coverage=coverage)
    [verdict] = [f for f in findings if f.resource_name == "acs1"]
    assert verdict.status is Status.ERROR
    assert "accessRules could not be read" in verdict.message
    assert "admitting no address ranges" in verdict.evidence["verdict on the data that was read"]


def test_vault_keeps_its_pass_when_vaults_of_another_group_could_not_be_listed():
    @rule(id="TEST-KV-001", title="t", checklist="c", severity=Severity.LOW, needs=[VAULT])
    def purge_protected(inv, p):
        for vault in inv.of_type(VAULT):
            yield vault.ok("purge-protected")

    here = arm(VAULT, "kv-a")
    there = arm(VAULT, "kv-b", rg="rg-b")
    coverage = [_ok(VAULT), _forbidden(VAULT, RG_B)]
    by_name = {
        f.resource_name: f.status
        for f in run_rule(purge_protected.__prodcheck_rule__, _inv([here, there], coverage))
    }
    # kv-b came through a listing that failed part-way: its own data may be incomplete.
    assert by_name == {"kv-a": Status.PASS, "kv-b": Status.ERROR, "rg-b": Status.ERROR}


def test_verdict_that_compares_a_resource_with_its_siblings_needs_all_of_them():
    @rule(id="TEST-KV-002", title="t", checklist="c", severity=Severity.LOW, needs=[VAULT])
    def unique_names(inv, p):
        vaults = inv.of_type(VAULT)
        for vault in vaults:
            inv.note_read(VAULT, compares=True)
            clash = [v for v in vaults if v is not vault and v.name[:2] == vault.name[:2]]
            yield vault.fail("name clash") if clash else vault.ok("unique")

    inv = _inv([arm(VAULT, "kv-a")], [_ok(VAULT), _forbidden(VAULT, RG_B)])
    findings = run_rule(unique_names.__prodcheck_rule__, inv)
    assert {f.status for f in findings} == {Status.ERROR}
