"""`prodcheck diff` and `audit --baseline`, on two versions of the demo inventories."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest
from builders import run_cli
from fixtures.sample_report import COSMOS_ID, REDIS_ID, VAULT_ID, sample_report

from prodcheck.baseline import apply_baseline, compare, load_report, render_diff
from prodcheck.errors import UserError
from prodcheck.model import Status, finding_id_of
from prodcheck.paths import demos_dir

KV_RULE = "PC-KV-002"


# ---- comparing reports ----------------------------------------------------------------------


def keys(changes) -> set[tuple[str, str]]:
    return {(c.rule_id, c.resource_id) for c in changes}


def test_compare_sorts_changes_into_fixed_regressed_new_gone_and_still_failing():
    old = sample_report()
    new = sample_report()
    by_id = {(f.rule_id, f.resource_id): f for f in old.findings}
    new_vault = VAULT_ID.replace("kv-prod", "kv-new")
    new.findings = [
        replace(by_id[("PC-NET-001", REDIS_ID)], status=Status.PASS, message="private"),  # fixed
        by_id[("PC-NET-001", COSMOS_ID)],  # still failing
        replace(by_id[(KV_RULE, VAULT_ID)], status=Status.FAIL, message="purge protection off"),
        replace(
            by_id[(KV_RULE, VAULT_ID)],
            resource_id=new_vault,
            resource_name="kv-new",
            status=Status.FAIL,
        ),  # new
        *[f for f in old.findings if f.rule_id in ("PC-OPS-001", "PC-OPS-004", "PC-APP-001")],
    ]  # PC-MON-001's ERROR is gone; the waived PC-KV-002 finding is gone too (not failing)
    diff = compare(old, new)
    assert keys(diff.fixed) == {("PC-NET-001", REDIS_ID)}
    assert keys(diff.still_failing) == {("PC-NET-001", COSMOS_ID)}
    assert keys(diff.regressed) == {(KV_RULE, VAULT_ID)}
    assert keys(diff.new) == {(KV_RULE, new_vault)}
    assert [c.rule_id for c in diff.gone] == ["PC-MON-001"]
    assert diff.worse
    (regressed,) = diff.regressed
    assert (regressed.before, regressed.after) == (Status.PASS, Status.FAIL)


def test_resource_ids_are_compared_without_case():
    old = sample_report()
    new = sample_report()
    new.findings = [replace(f, resource_id=f.resource_id.upper()) for f in new.findings]
    diff = compare(old, new)
    assert not diff.new and not diff.regressed and not diff.fixed and not diff.gone


def test_a_waiver_expiring_counts_as_a_regression():
    old = sample_report()
    new = sample_report()
    new.findings = [
        replace(f, status=Status.FAIL, note={}) if f.status == Status.WAIVED else f
        for f in new.findings
    ]
    assert [c.rule_id for c in compare(old, new).regressed] == [KV_RULE]


def test_a_baseline_gate_counts_only_new_and_regressed_findings():
    old = sample_report()
    report = sample_report()
    assert not report.gate_passed
    apply_baseline(report, old, "old.json")
    assert report.gate_passed and report.exit_code == 0
    assert report.baseline["source"] == "old.json"
    assert report.baseline["summary"]["still_failing"] == 3
    report.findings = [
        replace(f, status=Status.FAIL) if f.status == Status.PASS else f for f in report.findings
    ]
    apply_baseline(report, old, "old.json")
    assert [(f.rule_id, f.resource_id) for f in report.blocking()] == [(KV_RULE, VAULT_ID)]
    # The JSON report records it, and re-reading keeps the same gate.
    from prodcheck.report import Report

    again = Report.from_json(json.loads(json.dumps(report.to_json())))
    assert [(f.rule_id, f.resource_id) for f in again.blocking()] == [(KV_RULE, VAULT_ID)]


def test_diff_renders_as_text_json_and_markdown():
    old = sample_report()
    new = sample_report()
    new.findings = [f for f in new.findings if f.resource_id != REDIS_ID]
    diff = compare(old, new)
    text = render_diff(diff, "text")
    assert "Gone (failing before, absent now): 1" in text and "<script>" in text
    doc = json.loads(render_diff(diff, "json"))
    assert doc["summary"]["gone"] == 1 and doc["gone"][0]["resourceId"] == REDIS_ID
    md = render_diff(diff, "markdown")
    assert md.startswith("## ✅ prodcheck diff")
    assert "`<script>alert(1)</script>`" in md  # inside a code span: inert
    with pytest.raises(UserError, match="unknown diff format"):
        render_diff(diff, "xml")


def test_loading_a_report_explains_what_is_wrong(tmp_path):
    with pytest.raises(UserError, match="not found: save one with"):
        load_report(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(UserError, match="is not valid JSON"):
        load_report(bad)
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps({"format": "prodcheck.snapshot/v1", "resources": []}))
    with pytest.raises(UserError, match="looks like a snapshot: audit it first"):
        load_report(snap)
    damaged = tmp_path / "damaged.json"
    damaged.write_text(
        json.dumps({"format": "prodcheck.report/v1", "findings": [{"status": "MAYBE"}]})
    )
    with pytest.raises(UserError, match="is damaged"):
        load_report(damaged)


# ---- two versions of the demo inventory -------------------------------------------------------


def demo(name: str) -> dict:
    return json.loads((demos_dir() / f"{name}.json").read_text(encoding="utf-8"))


def vault_of(doc: dict) -> dict:
    vaults = [r for r in doc["resources"] if r["type"].lower() == "microsoft.keyvault/vaults"]
    assert vaults, "the demo inventory has a Key Vault"
    return vaults[0]


def make_recoverable(vault: dict) -> None:
    vault["properties"].update(
        {
            "enableSoftDelete": True,
            "softDeleteRetentionInDays": 90,
            "enablePurgeProtection": True,
            "enableRbacAuthorization": True,
        }
    )


@pytest.fixture
def reports(tmp_path, capsys):
    """JSON reports of the demos, and a way to audit edited copies of them."""

    def audit_demo(name: str, *extra: str) -> tuple[int, dict]:
        out = tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}.json"
        code, _, err = run_cli(
            capsys, "audit", "--demo", name, "-f", "json", "-o", str(out), *extra
        )
        assert "error" not in err, err
        return code, json.loads(out.read_text())

    def audit_doc(doc: dict, *extra: str) -> tuple[int, dict, str]:
        n = len(list(tmp_path.iterdir()))
        snap = tmp_path / f"snapshot-{n}.json"
        snap.write_text(json.dumps(doc))
        out = tmp_path / f"report-{n}.json"
        code, _, err = run_cli(
            capsys, "audit", "--snapshot", str(snap), "-f", "json", "-o", str(out), *extra
        )
        assert "error:" not in err, err
        return code, json.loads(out.read_text()), str(out)

    return audit_demo, audit_doc


def finding(doc: dict, rule_id: str, resource_id: str) -> dict:
    (f,) = [
        f
        for f in doc["findings"]
        if f["ruleId"] == rule_id and f["resourceId"].lower() == resource_id.lower()
    ]
    return f


def test_diff_of_the_flat_demo_before_and_after_fixes_and_a_new_vault(tmp_path, capsys, reports):
    _, audit_doc = reports
    flat = demo("flat")
    code_old, old, old_path = audit_doc(flat)
    assert code_old == 1
    kv = vault_of(flat)
    assert finding(old, KV_RULE, kv["id"])["status"] == "FAIL"

    changed = copy.deepcopy(flat)
    make_recoverable(vault_of(changed))  # a fix
    newcomer = copy.deepcopy(kv)  # a new vault, with the old vault's weak settings
    newcomer["id"] = kv["id"].rsplit("/", 1)[0] + "/kv-newcomer"
    newcomer["name"] = "kv-newcomer"
    changed["resources"].append(newcomer)
    _, new, new_path = audit_doc(changed)
    assert finding(new, KV_RULE, kv["id"])["status"] == "PASS"

    code, out, _ = run_cli(capsys, "diff", old_path, new_path, "--format", "json")
    assert code == 0
    doc = json.loads(out)
    fixed = {(c["ruleId"], c["resourceId"]) for c in doc["fixed"]}
    new_failing = {(c["ruleId"], c["resourceId"]) for c in doc["new"]}
    assert (KV_RULE, kv["id"]) in fixed
    assert (KV_RULE, newcomer["id"]) in new_failing
    assert all(c["resourceId"] == newcomer["id"] for c in doc["new"])
    assert doc["summary"]["still_failing"] > 0

    code, out, _ = run_cli(capsys, "diff", old_path, new_path, "--exit-code")
    assert code == 1
    assert "Fixed:" in out and "kv-newcomer" in out
    code, out, _ = run_cli(capsys, "diff", old_path, old_path, "--exit-code")
    assert code == 0 and "no new or regressed findings" in out


def test_baseline_gates_only_on_what_changed_for_the_worse(tmp_path, capsys, reports):
    audit_demo, audit_doc = reports
    flat = demo("flat")
    code, old, old_path = audit_doc(flat)
    assert code == 1 and old["gate"]["blocking"] > 0

    # The same estate against its own baseline: existing findings do not fail the gate.
    code, same, _ = audit_doc(flat, "--baseline", old_path)
    assert code == 0
    assert same["gate"]["passed"] and same["gate"]["baseline"]["source"] == old_path
    assert same["gate"]["baseline"]["gated"] == []

    # A new vault with weak settings: only its findings fail the gate.
    changed = copy.deepcopy(flat)
    newcomer = copy.deepcopy(vault_of(flat))
    newcomer["id"] = newcomer["id"].rsplit("/", 1)[0] + "/kv-newcomer"
    newcomer["name"] = "kv-newcomer"
    changed["resources"].append(newcomer)
    code, new, _ = audit_doc(changed, "--baseline", old_path)
    assert code == 1
    gated = set(new["gate"]["baseline"]["gated"])
    by_id = {f["findingId"]: f for f in new["findings"]}
    assert finding_id_of(KV_RULE, newcomer["id"]) in gated
    assert all(by_id[g]["resourceId"] == newcomer["id"] for g in gated)
    assert 0 < new["gate"]["blocking"] < old["gate"]["blocking"]


def test_a_regression_on_the_hardened_demo_fails_the_baseline_gate(tmp_path, capsys, reports):
    audit_demo, audit_doc = reports
    hardened = demo("hardened")
    _, old, old_path = audit_doc(hardened)
    kv = vault_of(hardened)
    assert finding(old, KV_RULE, kv["id"])["status"] == "PASS"

    regressed = copy.deepcopy(hardened)
    vault_of(regressed)["properties"]["enablePurgeProtection"] = False
    code, new, new_path = audit_doc(regressed, "--baseline", old_path)
    assert code == 1
    assert finding_id_of(KV_RULE, kv["id"]) in new["gate"]["baseline"]["gated"]

    code, out, _ = run_cli(capsys, "diff", old_path, new_path, "--format", "markdown")
    assert code == 0
    assert "### Regressed" in out and f"`{KV_RULE}`" in out
    assert "| PASS | FAIL |" in out


def test_baseline_must_be_a_report(tmp_path, capsys):
    snap = demos_dir() / "flat.json"
    code, _, err = run_cli(capsys, "audit", "--demo", "flat", "--baseline", str(snap))
    assert code == 2
    assert "looks like a snapshot: audit it first" in err
    assert err.count("\n") == 1
