"""The command line: exit codes, outputs, and one-line errors for bad input."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re

import jsonschema
import pytest
from builders import arm, run_cli, snapshot

from prodcheck.paths import schemas_dir

GOOD_VAULT = arm(
    "Microsoft.KeyVault/vaults",
    "kv-good",
    properties={
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": 90,
        "enablePurgeProtection": True,
        "enableRbacAuthorization": True,
    },
)
BAD_VAULT = arm("Microsoft.KeyVault/vaults", "kv-bad", properties={"softDeleteRetentionInDays": 7})


@pytest.fixture
def snap_file(tmp_path):
    def write(resources, name="snapshot.json"):
        path = tmp_path / name
        path.write_text(json.dumps(snapshot(resources)))
        return path

    return write


def test_gate_passes_with_exit_0_when_nothing_fails(capsys, snap_file):
    code, out, _ = run_cli(
        capsys, "audit", "--snapshot", str(snap_file([GOOD_VAULT])), "--rule", "PC-KV-002"
    )
    assert code == 0
    assert "Gate: PASSED" in out


def test_gate_fails_with_exit_1_on_a_failing_finding(capsys, snap_file):
    code, out, _ = run_cli(
        capsys, "audit", "--snapshot", str(snap_file([BAD_VAULT])), "--rule", "PC-KV-002"
    )
    assert code == 1
    assert "Gate: FAILED" in out
    assert "kv-bad" in out and "purge protection is off" in out


def test_fail_on_threshold_above_the_finding_severity_lets_the_gate_pass(capsys, snap_file):
    path = str(snap_file([BAD_VAULT]))
    code, _, _ = run_cli(
        capsys, "audit", "--snapshot", path, "--rule", "PC-KV-002", "--fail-on", "critical"
    )
    assert code == 0
    code, _, _ = run_cli(
        capsys, "audit", "--snapshot", path, "--rule", "PC-KV-002", "--fail-on", "high"
    )
    assert code == 1


def test_manual_findings_do_not_fail_the_gate(capsys, snap_file):
    code, out, _ = run_cli(
        capsys,
        "audit",
        "--snapshot",
        str(snap_file([])),
        "--rule",
        "PC-OPS-*",
        "--rule",
        "PC-KV-002",
    )
    assert code == 0
    assert "MANUAL" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--rule", "PC-NOPE-1"], "unknown rule 'PC-NOPE-1'"),
        (["--fail-on", "severe"], "unknown severity 'severe'"),
        (["--format", "pdf"], "unknown format 'pdf'"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(capsys, snap_file, args, expected):
    code, out, err = run_cli(capsys, "audit", "--snapshot", str(snap_file([GOOD_VAULT])), *args)
    assert code == 2
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_malformed_snapshot_is_exit_2_and_left_untouched(capsys, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"format": "prodcheck.snapshot/v1", "resources": [{"id": ')
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, _, err = run_cli(capsys, "audit", "--snapshot", str(path))
    assert code == 2
    assert err.startswith("prodcheck: error: snapshot") and "truncated" in err
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_report_is_never_written_over_the_input(capsys, snap_file):
    path = snap_file([GOOD_VAULT])
    before = path.read_bytes()
    code, _, err = run_cli(capsys, "audit", "--snapshot", str(path), "-f", "json", "-o", str(path))
    assert code == 2
    assert "refusing to write the report over the input" in err
    assert path.read_bytes() == before


def test_a_report_that_cannot_be_written_is_one_line_exit_2_and_clobbers_nothing(
    capsys, snap_file, tmp_path, monkeypatch
):
    path = str(snap_file([BAD_VAULT, GOOD_VAULT]))
    out_dir = tmp_path / "reports"
    out_dir.mkdir()
    kept = out_dir / "prodcheck-report.html"
    kept.write_text("the report of yesterday\n")
    real_fdopen = os.fdopen

    class FullDisk:
        """A file whose disk fills after the first megabyte."""

        def __init__(self, fh):
            self.fh, self.written = fh, 0

        def write(self, text):
            self.written += len(text)
            if self.written > 1000:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.fh.write(text)

        def flush(self):
            self.fh.flush()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: FullDisk(real_fdopen(*a, **k)))
    code, _, err = run_cli(capsys, "audit", "--snapshot", path, "-f", "html", "-o", str(kept))
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"prodcheck: error: cannot write {kept} (No space left on device)")
    assert kept.read_text() == "the report of yesterday\n"
    assert sorted(p.name for p in out_dir.iterdir()) == [kept.name]  # no half-written file
    monkeypatch.undo()
    code, _, err = run_cli(
        capsys, "audit", "--snapshot", path, "-f", "json", "-o", "/proc/no-such-dir/r.json"
    )
    assert code == 2 and err.count("\n") == 1 and "cannot write /proc/no-such-dir/r.json" in err


def test_json_report_is_deterministic_but_for_the_timestamp_and_valid(capsys, snap_file, tmp_path):
    path = str(snap_file([BAD_VAULT, GOOD_VAULT]))
    outputs = []
    for name in ("a.json", "b.json"):
        target = tmp_path / name
        code, _, _ = run_cli(
            capsys,
            "audit",
            "--snapshot",
            path,
            "--rule",
            "PC-KV-002",
            "-f",
            "json",
            "-o",
            str(target),
        )
        assert code == 1
        outputs.append(target.read_text())
    strip = [re.sub(r'"generatedAt": "[^"]*"', "", text) for text in outputs]
    assert strip[0] == strip[1]
    doc = json.loads(outputs[0])
    schema = json.loads((schemas_dir() / "report-v1.schema.json").read_text())
    jsonschema.validate(doc, schema)
    assert doc["format"] == "prodcheck.report/v1"
    assert doc["gate"] == {
        "failOn": "low",
        "passed": False,
        "exitCode": 1,
        "blocking": 1,
        "baseline": None,
        "requireAttestations": False,
        "manualRemaining": 0,
    }
    statuses = {(f["ruleId"], f["resourceName"]): f["status"] for f in doc["findings"]}
    assert statuses[("PC-KV-002", "kv-bad")] == "FAIL"
    assert statuses[("PC-KV-002", "kv-good")] == "PASS"


def test_terminal_and_json_in_one_run(capsys, snap_file, tmp_path):
    target = tmp_path / "report.json"
    code, out, _ = run_cli(
        capsys,
        "audit",
        "--snapshot",
        str(snap_file([BAD_VAULT])),
        "-f",
        "terminal",
        "-f",
        "json",
        "-o",
        str(target),
    )
    assert code == 1
    assert "Gate: FAILED" in out
    assert json.loads(target.read_text())["gate"]["passed"] is False


def test_rules_list_and_show(capsys):
    code, out, _ = run_cli(capsys, "rules", "list")
    assert code == 0
    assert "PC-KV-002" in out and "Key Vault is recoverable" in out
    code, out, _ = run_cli(capsys, "rules", "show", "pc-kv-002")
    assert code == 0
    assert "min_retention_days" in out and "| `min_retention_days` | `90` |" in out
    assert "enablePurgeProtection" in out
    code, _, err = run_cli(capsys, "rules", "show", "PC-NOPE-001")
    assert code == 2 and "unknown rule" in err


def test_live_scope_options_cannot_be_mixed_with_a_snapshot(capsys, snap_file):
    code, _, err = run_cli(capsys, "audit", "--snapshot", str(snap_file([])), "--subscription", "x")
    assert code == 2
    assert "live scope" in err


def test_version(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0
    assert out.startswith("prodcheck ")


def test_written_reports_follow_the_umask_not_private_temp_file_modes(capsys, snap_file, tmp_path):
    import os

    target = tmp_path / "report.json"
    old = os.umask(0o022)
    try:
        run_cli(
            capsys,
            "audit",
            "--snapshot",
            str(snap_file([GOOD_VAULT])),
            "-f",
            "json",
            "-o",
            str(target),
        )
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644


def test_an_error_quoting_hostile_input_prints_one_inert_line(capsys, tmp_path):
    path = tmp_path / "evil\x1b]0;pwned\x07\nGate: PASSED.json"
    code, _, err = run_cli(capsys, "audit", "--snapshot", str(path))
    assert code == 2
    assert "\x1b" not in err
    assert len(err.strip().splitlines()) == 1
