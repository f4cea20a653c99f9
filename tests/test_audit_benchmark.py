"""A small run of the rule-evaluation benchmark (benchmarks/audit.py), so that it keeps working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "audit.py"


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
