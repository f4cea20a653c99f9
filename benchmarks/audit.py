"""The rule-evaluation benchmark: an offline audit of synthetic subscriptions.

Generates a subscription of N resources (benchmarks/generate.py, the same generator the
collection benchmark serves from the fake ARM), then times `audit_snapshot` over it with the
whole built-in rule pack, in this process, and prints a Markdown table.

    .venv/bin/python benchmarks/audit.py --sizes 100 1000 5000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "src")]

from generate import generate  # noqa: E402

from prodcheck import api  # noqa: E402


def measure(n: int, repeat: int) -> dict[str, float]:
    snapshot = generate(n)
    registry = api.Registry.load()
    best = float("inf")
    findings = 0
    for _ in range(repeat):
        start = time.perf_counter()
        report = api.audit_snapshot(snapshot, registry=registry)
        best = min(best, time.perf_counter() - start)
        findings = len(report.findings)
    return {"n": n, "rules": len(registry), "findings": findings, "seconds": best}


def main() -> None:
    parser = argparse.ArgumentParser(description="prodcheck rule-evaluation benchmark")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best is kept")
    args = parser.parse_args()
    rows = [measure(n, args.repeat) for n in args.sizes]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| N | rules | findings | audit (s, best of {args.repeat}) |")
    print("|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['n']:,} | {row['rules']} | {row['findings']:,} | {row['seconds']:.2f} |")
    print(f"\npeak RSS of the process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
