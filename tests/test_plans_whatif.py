"""Auditing an ARM what-if result: the CLI and REST shapes, refusals, and values known only later."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import RG, SUB, rid, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from prodcheck.engine import audit
from prodcheck.errors import UserError
from prodcheck.inventory import Inventory, Verdict
from prodcheck.model import Severity, Status
from prodcheck.plans.whatif import parse_what_if
from prodcheck.rule import Rule
from prodcheck.snapshot import Snapshot

VAULT = "Microsoft.KeyVault/vaults"


def vault_body(name: str = "kv-app", **props: Any) -> dict[str, Any]:
    """A vault as a template declares it: what `after` holds, with apiVersion and no read-only data."""
    return {
        "apiVersion": "2023-07-01",
        "id": rid(VAULT, name),
        "name": name,
        "type": VAULT,
        "location": "eastus",
        "properties": {
            "tenantId": "11111111-2222-3333-4444-555555555555",
            "sku": {"family": "A", "name": "standard"},
            **props,
        },
    }


def change(change_type: str, after: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    resource_id = (after or {}).get("id") or extra.pop("resourceId", rid(VAULT, "kv-app"))
    return {
        "after": after,
        "before": None,
        "changeType": change_type,
        "delta": None,
        "resourceId": resource_id,
        "unsupportedReason": None,
        **extra,
    }


def cli_result(*changes: dict[str, Any]) -> dict[str, Any]:
    """As `az deployment group what-if --no-pretty-print` prints it: flattened, nulls kept."""
    return {
        "changes": list(changes),
        "diagnostics": None,
        "error": None,
        "potentialChanges": None,
        "status": "Succeeded",
    }


def rest_result(*changes: dict[str, Any]) -> dict[str, Any]:
    """As the REST API returns it: the changes under `properties`."""
    return {"status": "Succeeded", "properties": {"changes": list(changes)}}


GOOD_VAULT = {
    "enableRbacAuthorization": True,
    "enablePurgeProtection": True,
    "enableSoftDelete": True,
    "softDeleteRetentionInDays": 90,
}


def audit_file(tmp_path: Path, capsys, data: Any, *args: str) -> tuple[int, dict, str]:
    path = tmp_path / "whatif.json"
    path.write_text(json.dumps(data))
    code, out, err = run_cli(
        capsys, "audit", "--what-if", str(path), "-f", "json", "-r", "PC-KV-*", *args
    )
    return code, (json.loads(out) if out else {}), err


def findings_of(report: dict, rule_id: str) -> dict[str, dict]:
    return {f["resourceName"]: f for f in report["findings"] if f["ruleId"] == rule_id}


def test_cli_what_if_output_is_audited_as_the_resources_it_creates(tmp_path, capsys):
    data = cli_result(change("Create", vault_body(enableRbacAuthorization=True)))
    code, report, _ = audit_file(tmp_path, capsys, data)
    assert code == 1
    assert report["inputKind"] == "what-if"
    finding = findings_of(report, "PC-KV-002")["kv-app"]
    assert finding["status"] == "FAIL"
    assert "purge protection is off" in finding["message"]


def test_rest_what_if_response_gives_the_same_findings_as_the_cli_output(tmp_path, capsys):
    body = vault_body(enableRbacAuthorization=True)
    _, from_cli, _ = audit_file(tmp_path, capsys, cli_result(change("Create", body)))
    _, from_rest, _ = audit_file(tmp_path, capsys, rest_result(change("Create", body)))
    assert from_cli["findings"] == from_rest["findings"]


def test_modify_and_no_change_are_judged_on_the_planned_body(tmp_path, capsys):
    modified = change("Modify", vault_body("kv-a", **GOOD_VAULT))
    modified["before"] = vault_body("kv-a", enableRbacAuthorization=False)
    data = cli_result(modified, change("NoChange", vault_body("kv-b", **GOOD_VAULT)))
    code, report, _ = audit_file(tmp_path, capsys, data)
    statuses = {n: f["status"] for n, f in findings_of(report, "PC-KV-002").items()}
    assert statuses == {"kv-a": "PASS", "kv-b": "PASS"}
    assert code == 0


def test_a_deleted_resource_leaves_the_inventory(tmp_path, capsys):
    data = cli_result(change("Delete", None, before=vault_body(), resourceId=rid(VAULT, "kv-app")))
    data["changes"][0]["before"] = vault_body()
    _, report, _ = audit_file(tmp_path, capsys, data, "-r", "PC-KV-001")
    scope = [f for f in report["findings"] if f["ruleId"] == "PC-KV-001"]
    assert [f["status"] for f in scope] == ["FAIL"]
    assert "no Key Vault in scope" in scope[0]["message"]


def test_resource_id_only_output_is_refused_with_the_command_to_rerun(tmp_path, capsys):
    data = cli_result(
        change("Create", None, resourceId=rid(VAULT, "kv-app")),
        change("Deploy", None, resourceId=rid(VAULT, "kv-old")),
    )
    code, _, err = audit_file(tmp_path, capsys, data)
    assert code == 2
    assert "ResourceIdOnly" in err and "--result-format FullResourcePayloads" in err
    assert "Traceback" not in err


def test_a_failed_what_if_is_refused(tmp_path, capsys):
    data = cli_result()
    data["status"] = "Failed"
    data["error"] = {"code": "InvalidTemplate", "message": "Deployment template validation failed"}
    code, _, err = audit_file(tmp_path, capsys, data)
    assert code == 2
    assert "InvalidTemplate" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "data",
    [[], {"changes": "none"}, {"status": "Succeeded"}, {"changes": [1]}, "text"],
)
def test_what_if_files_of_the_wrong_shape_are_user_errors(tmp_path, capsys, data):
    code, _, err = audit_file(tmp_path, capsys, data)
    assert code == 2
    assert err.startswith("prodcheck: error:")


def test_an_unsupported_resource_makes_the_verdicts_needing_its_type_error(tmp_path, capsys):
    unsupported = change(
        "Unsupported",
        None,
        resourceId=rid(VAULT, "kv-app"),
        unsupportedReason="The resource type is not supported by what-if",
    )
    data = cli_result(unsupported)
    code, report, _ = audit_file(tmp_path, capsys, data)
    assert code == 1
    kv = [f for f in report["findings"] if f["ruleId"] == "PC-KV-002"]
    assert kv and all(f["status"] == "ERROR" for f in kv)
    assert any("not supported by what-if" in f["message"] for f in kv)
    assert any(f["message"].startswith("not evaluated before deployment: ") for f in kv)
    assert report["coverageGaps"]


def test_an_ignored_resource_is_listed_as_not_evaluated_never_dropped(tmp_path, capsys):
    data = cli_result(
        change("Create", vault_body("kv-a", **GOOD_VAULT)),
        change("Ignore", None, resourceId=rid(VAULT, "kv-old")),
    )
    code, report, _ = audit_file(tmp_path, capsys, data)
    assert code == 1
    errors = [f for f in report["findings"] if f["status"] == "ERROR"]
    assert any(f["resourceId"] == rid(VAULT, "kv-old") for f in errors)


def test_an_unresolved_expression_is_known_after_deployment_not_a_value(tmp_path, capsys):
    expression = (
        "[reference(resourceId('Microsoft.Resources/deployments', 'cfg')).outputs.rbac.value]"
    )
    body = vault_body(**{**GOOD_VAULT, "enableRbacAuthorization": expression})
    code, report, _ = audit_file(tmp_path, capsys, cli_result(change("Create", body)))
    assert code == 1
    finding = findings_of(report, "PC-KV-002")["kv-app"]
    assert finding["status"] == "ERROR"
    assert (
        "known after deployment: properties.enableRbacAuthorization of kv-app"
        in (finding["message"])
    )
    assert "outputs.rbac" not in json.dumps(report)


def test_an_unknown_the_verdict_does_not_read_leaves_it_alone(tmp_path, capsys):
    body = vault_body(**GOOD_VAULT, vaultUri="[reference('kv-app').vaultUri]")
    code, report, _ = audit_file(tmp_path, capsys, cli_result(change("Create", body)))
    assert findings_of(report, "PC-KV-002")["kv-app"]["status"] == "PASS"
    assert code == 0


def test_an_escaped_bracket_string_is_a_literal_not_an_expression():
    body = vault_body(**GOOD_VAULT)
    body["tags"] = {"note": "[[literal]"}
    snap = parse_what_if(cli_result(change("Create", body)), "whatif.json")
    assert "x-prodcheck-unknown" not in snap.resources[0]
    assert snap.resources[0]["tags"] == {"note": "[[literal]"}


def test_a_nested_deployment_from_a_linked_template_makes_every_needed_type_not_evaluated():
    deployment = {
        "apiVersion": "2022-09-01",
        "id": rid("Microsoft.Resources/deployments", "network"),
        "name": "network",
        "type": "Microsoft.Resources/deployments",
        "properties": {"mode": "Incremental", "templateLink": {"id": "/templateSpecs/x"}},
    }
    snap = parse_what_if(
        cli_result(change("Create", vault_body(**GOOD_VAULT)), change("Create", deployment)),
        "whatif.json",
        needs=[VAULT],
    )
    failed = [c for c in snap.coverage or [] if c.failed]
    assert [(c.resource_type, c.scope) for c in failed] == [
        (VAULT, f"/subscriptions/{SUB}/resourceGroups/{RG}")
    ]


def _reads_first_then_yields() -> Rule:
    """A rule that reads every vault before yielding anything."""

    def func(inv: Inventory, p: Any) -> list[Verdict]:
        judged = [(v, v.get("properties.enableRbacAuthorization")) for v in inv.of_type(VAULT)]
        return [v.ok("rbac") if rbac else v.fail("no rbac") for v, rbac in judged]

    return Rule(
        id="PC-TEST-001",
        title="t",
        checklist="c",
        severity=Severity.HIGH,
        needs=(VAULT,),
        func=func,
    )


def test_a_rule_that_reads_everything_before_yielding_still_has_each_unknown_caught():
    known = vault_body("kv-a", enableRbacAuthorization=True)
    unknown = vault_body("kv-b", enableRbacAuthorization="[parameters('rbac')]")
    snap = parse_what_if(
        cli_result(change("Create", known), change("Create", unknown)), "whatif.json"
    )
    report = audit(snap, [_reads_first_then_yields()])
    statuses = {f.resource_name: f.status for f in report.findings}
    assert statuses["kv-b"] == Status.ERROR
    # The first verdict is blamed for the reads it could not have avoided: fail closed.
    assert statuses["kv-a"] in (Status.PASS, Status.ERROR)


def test_snapshots_without_unknowns_are_judged_exactly_as_before():
    body = vault_body(**GOOD_VAULT)
    body.pop("apiVersion")
    plain = Snapshot([body])
    assert not plain.inventory().has_unknowns
    report = audit(plain, [_reads_first_then_yields()])
    assert [f.status for f in report.findings] == [Status.PASS]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    changes=st.lists(
        st.fixed_dictionaries(
            {
                "changeType": st.sampled_from(
                    [
                        "Create",
                        "Modify",
                        "NoChange",
                        "Delete",
                        "Ignore",
                        "Unsupported",
                        "Deploy",
                        "x",
                    ]
                ),
                "after": json_values,
                "resourceId": st.one_of(st.none(), st.just(rid(VAULT, "kv")), st.text(max_size=5)),
            }
        ),
        max_size=4,
    )
)
def test_hostile_what_if_results_give_a_snapshot_or_a_user_error(changes):
    try:
        snap = parse_what_if({"changes": changes, "status": "Succeeded"}, "whatif.json", [VAULT])
    except UserError:
        return
    for resource in snap.resources:
        assert isinstance(resource["id"], str) and resource["id"]
        assert isinstance(resource["type"], str) and resource["type"]
    audit(snap, [_reads_first_then_yields()])


def _rbac_by_name(inv: Inventory) -> dict[str, Any]:
    return {v.name: v.get("properties.enableRbacAuthorization") for v in inv.of_type(VAULT)}


def test_a_shared_cross_reference_passes_its_unknowns_to_every_rule_that_uses_it():
    def func(inv: Inventory, p: Any) -> list[Verdict]:
        rbac = inv.derived(_rbac_by_name, VAULT)
        return [inv.scope.ok("rbac") if all(rbac.values()) else inv.scope.fail("no rbac")]

    rules = [
        Rule(
            id=f"PC-TEST-00{i}",
            title="t",
            checklist="c",
            severity=Severity.HIGH,
            needs=(VAULT,),
            func=func,
        )
        for i in (1, 2)
    ]
    unknown = vault_body("kv-b", enableRbacAuthorization="[parameters('rbac')]")
    snap = parse_what_if(cli_result(change("Create", unknown)), "whatif.json")
    report = audit(snap, rules)
    assert [(f.rule_id, f.status) for f in report.findings] == [
        ("PC-TEST-001", Status.ERROR),
        ("PC-TEST-002", Status.ERROR),
    ]


def test_a_nested_deployment_what_if_could_not_analyse_is_not_evaluated():
    deployment_id = rid("Microsoft.Resources/deployments", "monitoring")
    data = cli_result(change("Create", vault_body(**GOOD_VAULT)))
    data["diagnostics"] = [
        {
            "level": "Warning",
            "code": "NestedDeploymentShortCircuited",
            "message": "A nested deployment got short-circuited and all its resources got skipped",
            "target": deployment_id,
        },
        {"level": "Info", "code": "Note", "message": "nothing to see", "target": ""},
    ]
    snap = parse_what_if(data, "whatif.json", needs=[VAULT, "Microsoft.Insights/metricAlerts"])
    failed = sorted(c.resource_type for c in snap.coverage or [] if c.failed)
    assert failed == ["Microsoft.Insights/metricAlerts", VAULT]
    assert all("short-circuited" in c.message for c in snap.coverage or [] if c.failed)


def test_a_plan_on_a_snapshot_judges_the_estate_after_the_deployment(tmp_path, capsys):
    deployed = [
        {
            k: v
            for k, v in vault_body("kv-a", enableRbacAuthorization=False).items()
            if k != "apiVersion"
        },
        {
            k: v
            for k, v in vault_body("kv-b", enableRbacAuthorization=False).items()
            if k != "apiVersion"
        },
        {k: v for k, v in vault_body("kv-c", **GOOD_VAULT).items() if k != "apiVersion"},
    ]
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(
        json.dumps(
            {
                "format": "prodcheck.snapshot/v1",
                "scope": {"subscriptions": [SUB]},
                "resources": deployed,
            }
        )
    )
    fixed = change("Modify", vault_body("kv-a", **GOOD_VAULT))
    removed = change("Delete", None, resourceId=rid(VAULT, "kv-b"))
    code, report, _ = audit_file(
        tmp_path, capsys, cli_result(fixed, removed), "--with-snapshot", str(snapshot)
    )
    statuses = {n: f["status"] for n, f in findings_of(report, "PC-KV-002").items()}
    assert statuses == {"kv-a": "PASS", "kv-c": "PASS"}
    assert report["inputKind"] == "what-if"
    assert code == 0


def test_with_snapshot_needs_a_plan(tmp_path, capsys):
    code, _, err = run_cli(
        capsys, "audit", "--demo", "flat", "--with-snapshot", str(tmp_path / "s.json")
    )
    assert code == 2
    assert "--with-snapshot goes with a plan" in err


def test_a_subscription_what_if_spans_its_resource_groups():
    group = {
        "apiVersion": "2024-03-01",
        "id": f"/subscriptions/{SUB}/resourceGroups/rg-data",
        "name": "rg-data",
        "type": "Microsoft.Resources/resourceGroups",
        "location": "eastus",
    }
    other = vault_body("kv-data", **GOOD_VAULT)
    other["id"] = rid(VAULT, "kv-data", rg="rg-data")
    snap = parse_what_if(
        cli_result(
            change("Create", group),
            change("Create", vault_body(**GOOD_VAULT)),
            change("Create", other),
        ),
        "whatif.json",
        needs=[VAULT],
    )
    assert snap.scope["resourceGroups"] == ["rg-app", "rg-data"]
    report = audit(snap, [_reads_first_then_yields()])
    assert report.scope["id"] == f"/subscriptions/{SUB}"
    assert {f.resource_name for f in report.findings if f.status == Status.PASS} == {
        "kv-app",
        "kv-data",
    }
