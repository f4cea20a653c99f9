"""The go-live gate and MANUAL lines: readiness counts them as not ready until attested, the
headline says how many remain, and --require-attestations (or gate.require_attestations) fails
the gate while any lacks a valid attestation."""

from __future__ import annotations

import datetime as dt
import json

from builders import run_cli

from prodcheck import api
from prodcheck.model import Status
from prodcheck.paths import demos_dir


def audit_json(capsys, *args: str) -> tuple[int, dict, str]:
    code, out, err = run_cli(capsys, "audit", "--demo", "hardened", "-f", "json", *args)
    return code, json.loads(out) if out.strip() else {}, err


def test_readiness_counts_unattested_manual_lines_as_not_ready():
    report = api.audit_snapshot(demos_dir() / "hardened.json")
    manual = [f for f in report.findings if f.status == Status.MANUAL]
    assert len(manual) == 10
    judged = [f for f in report.findings if f.status != Status.NOT_APPLICABLE]
    ready = [f for f in judged if f.status in (Status.PASS, Status.WAIVED)]
    assert report.readiness == round(100 * len(ready) / len(judged)) < 100
    assert len(report.manual_remaining()) == 10


def test_the_headline_says_how_many_manual_lines_remain(capsys):
    code, out, _ = run_cli(capsys, "audit", "--demo", "hardened")
    assert code == 0
    assert "10 manual lines await attestation" in out
    assert "--require-attestations" in out  # the gate passing says manual lines are not gated
    code, out, _ = run_cli(capsys, "audit", "--demo", "hardened", "-f", "markdown")
    assert "**10** manual lines still await attestation" in out


def test_require_attestations_fails_the_gate_on_unattested_manual_lines(capsys):
    code, doc, _ = audit_json(capsys)
    assert code == 0 and doc["gate"]["passed"] and doc["gate"]["manualRemaining"] == 10
    code, doc, _ = audit_json(capsys, "--require-attestations")
    assert code == 1
    assert doc["gate"]["requireAttestations"] is True and doc["gate"]["blocking"] == 10
    code, out, _ = run_cli(capsys, "audit", "--demo", "hardened", "--require-attestations")
    assert "10 MANUAL line(s) without attestation (exit 1)" in out


def _config(tmp_path, attest: bool, extra: str = "") -> str:
    lines = ["gate:", "  require_attestations: true", extra]
    if attest:
        today = dt.date.today().isoformat()
        lines.append("attestations:")
        for n in (n for n in range(1, 13) if n != 9):
            lines += [
                f"  - rule: PC-OPS-{n:03d}",
                "    by: jane.doe@example.com",
                f"    date: {today}",
                "    evidence: https://example.com/evidence.pdf",
                "    valid_days: 90",
            ]
    path = tmp_path / "prodcheck.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_the_configuration_can_require_attestations_and_attested_lines_pass(tmp_path, capsys):
    code, doc, err = audit_json(capsys, "--config", _config(tmp_path, attest=False))
    assert code == 1, err
    assert doc["gate"]["requireAttestations"] is True
    code, doc, err = audit_json(capsys, "--config", _config(tmp_path, attest=True))
    assert code == 0, err
    assert doc["gate"]["manualRemaining"] == 0 and doc["summary"]["readiness"] == 100


def test_a_require_attestations_that_is_not_a_boolean_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "prodcheck.yaml"
    path.write_text("gate:\n  require_attestations: sometimes\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "audit", "--demo", "--config", str(path))
    assert code == 2 and "require_attestations must be true or false" in err
    assert len(err.strip().splitlines()) == 1


def test_an_unknown_rule_id_suggests_the_closest_ids(capsys):
    code, _, err = run_cli(capsys, "audit", "--demo", "--rule", "PC-KV-02")
    assert code == 2 and "did you mean PC-KV-002" in err
    code, _, err = run_cli(capsys, "audit", "--demo", "--rule", "KV-002")
    assert code == 2 and "PC-KV-002" in err
    code, _, err = run_cli(capsys, "audit", "--demo", "--skip", "PC-NTE-*")
    assert code == 2 and "PC-NET-" in err


def test_sarif_carries_each_line_the_gate_requires_an_attestation_for(capsys):
    code, out, _ = run_cli(capsys, "audit", "--demo", "hardened", "-f", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    assert code == 0 and not [r for r in results if r["properties"]["status"] == "MANUAL"]
    code, out, _ = run_cli(
        capsys, "audit", "--demo", "hardened", "--require-attestations", "-f", "sarif"
    )
    results = json.loads(out)["runs"][0]["results"]
    manual = [r for r in results if r["properties"]["status"] == "MANUAL"]
    assert code == 1 and len(manual) == 10  # as many as the gate fails on
    assert all(r["level"] == "error" and "attestations:" in r["message"]["text"] for r in manual)
