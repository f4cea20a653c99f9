"""A small run of the rule-evaluation benchmark (benchmarks/audit.py), so that it keeps working."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "audit.py"
DEMO = ROOT / "src" / "prodcheck" / "demos" / "flat.json"


def test_audit_benchmark_prints_a_row_per_size():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", "20", "50"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [
        line
        for line in done.stdout.splitlines()
        if line.startswith("| 20 ") or line.startswith("| 50 ")
    ]
    assert len(rows) == 2
    findings = int(rows[1].split("|")[3].replace(",", ""))
    assert findings > 0
    # The machine's speed, probed before and after, stands beside the figures.
    (machine,) = [line for line in done.stdout.splitlines() if line.startswith("machine before:")]
    assert "µs a page; after: Python loop" in machine


def test_audit_benchmark_counts_the_forked_processes_cpu_and_memory(tmp_path):
    rows_file = tmp_path / "rows.json"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", "40", "--jobs", "2", "--json", str(rows_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    (row,) = json.loads(rows_file.read_text())
    assert row["processes"] == {"load": 1, "rules": 2, "reports": 2}
    for stage in ("rules", "reports"):
        (child,) = row["forked"][stage]
        assert child["cpu"] > 0 and child["sharedAtEndMB"] > 0
        assert child["peakMB"] > child["sharedAtEndMB"]
        # The stage's bound: this process's peak when the copy ended, plus what the copy alone
        # held; or this process's peak after it, if larger.
        meanwhile = child["parentPeakAtEndMB"] + child["peakMB"] - child["sharedAtEndMB"]
        assert 0 < child["parentPeakAtEndMB"] <= row["parentPeakMB"]
        assert row["peaks"][stage] >= meanwhile > child["parentPeakAtEndMB"]
        assert row["times"][stage] >= row["ownTimes"][stage] + child["cpu"] * 0.9
    assert row["peakMB"] == max(row["peaks"].values()) > row["parentPeakMB"]
    assert row["machine"]["before"]["loopMs"] > 0
    assert row["machine"]["after"]["touchUsPerPage"] > 0


def test_the_audit_process_does_not_count_its_launchers_memory(tmp_path):
    # Linux keeps a process's max RSS across exec: a worker started by a runner holding the
    # whole estate would report the runner's peak as its own.
    snapshot = DEMO
    launcher = (
        "import subprocess, sys\n"
        "held = bytearray(400 * 1024 * 1024)\n"
        "for i in range(0, len(held), 4096):\n"
        "    held[i] = 1\n"
        f"sys.exit(subprocess.run([sys.executable, {str(SCRIPT)!r}, '--worker', "
        f"{str(snapshot)!r}, {str(tmp_path)!r}, '--jobs', '1']).returncode)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", launcher], capture_output=True, text=True, check=True
    )
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert 0 < row["peakMB"] < 300, row["peakMB"]
