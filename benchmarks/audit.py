"""The offline-audit benchmark: a snapshot file of N resources audited, and its reports written.

For each size N the runner writes an estate of N resources to a snapshot file (by default
`benchmarks/estate.py`, copies of the demo workloads; `--estate synthetic` uses
`benchmarks/generate.py`, the collection benchmark's subscription), then audits it in a fresh
process with the whole built-in rule pack, the way `prodcheck audit --snapshot FILE -f json
-f html -f sarif --output-dir DIR` does: read the file, evaluate the rules, render and write
the three reports, with the garbage collector set as the command line sets it
(`prodcheck.heap`). The process reports the CPU time of each stage, its wall time and its peak
memory (max RSS); the runner prints a Markdown table, with the cost per resource so that growth
shows. CPU time is the figure to compare on a shared machine: wall time also counts the time
other processes held the cores.

    .venv/bin/python benchmarks/audit.py --sizes 1000 10000 50000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "src")]

FORMATS = ("json", "html", "sarif")
STAGES = ("load", "rules", *FORMATS)


def estate(kind: str, n: int) -> dict[str, Any]:
    if kind == "synthetic":
        from generate import generate

        return generate(n)
    from estate import replicate

    return replicate(n)


def _peak_mb() -> float:
    """The peak resident memory of this process so far (max RSS), in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(snapshot_file: Path, out_dir: Path) -> None:
    """Audit one snapshot file and write its reports, timing each stage (its own process)."""
    began = time.perf_counter()
    from prodcheck import api, heap
    from prodcheck.cli import write_atomically
    from prodcheck.engine import audit as run_audit
    from prodcheck.reporters import Renderer, RenderOptions, extension
    from prodcheck.snapshot import load_snapshot

    heap.for_bulk_data()  # as the command line does
    registry = api.Registry.load()
    imports = time.perf_counter() - began
    times: dict[str, float] = {}
    wall = time.perf_counter()
    started = time.process_time()
    snapshot = load_snapshot(snapshot_file)
    times["load"] = time.process_time() - started
    peaks = {"load": _peak_mb()}
    started = time.process_time()
    # As the command line does: the engine's report goes to the reporters, which clean it.
    report = run_audit(snapshot, api.select_rules(registry=registry), None)
    times["rules"] = time.process_time() - started
    peaks["rules"] = _peak_mb()
    renderer = Renderer(report)  # as the command line renders several formats
    for fmt in FORMATS:
        started = time.process_time()
        # As the command line writes a report: rendered, cleaned and written piece by piece
        # to a new file that then replaces the old one.
        destination = out_dir / f"prodcheck-report.{extension(fmt)}"
        write_atomically(destination, renderer.pieces(fmt, RenderOptions()), [snapshot_file])
        times[fmt] = time.process_time() - started
        peaks[fmt] = _peak_mb()
    wall = time.perf_counter() - wall
    sizes = {
        fmt: (out_dir / f"prodcheck-report.{extension(fmt)}").stat().st_size for fmt in FORMATS
    }
    print(
        json.dumps(
            {
                "resources": len(snapshot.resources),
                "findings": len(report.findings),
                "rules": len(registry),
                "times": times,
                "wall": wall,
                "imports": imports,
                "bytes": sizes,
                "peakMB": _peak_mb(),
                "peaks": peaks,
            }
        )
    )


def run_size(kind: str, n: int, workdir: Path) -> dict[str, Any]:
    snapshot_file = workdir / f"estate-{n}.json"
    snapshot_file.write_text(json.dumps(estate(kind, n)), encoding="utf-8")
    out_dir = workdir / f"reports-{n}"
    out_dir.mkdir(exist_ok=True)
    command = [sys.executable, __file__, "--worker", str(snapshot_file), str(out_dir)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path[:2]))
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"worker failed for N={n}:\n{done.stderr}")
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    row["n"] = n
    row["total"] = sum(row["times"][s] for s in STAGES)
    snapshot_file.unlink()
    return row


def table(rows: list[dict[str, Any]], kind: str) -> str:
    lines = [
        f"estate: {kind}; CPU seconds per stage, in a fresh process per size (imports apart)",
        "",
        "| N | resources | findings | load | rules | JSON | HTML | SARIF | CPU total (s) "
        "| µs per resource | wall (s) | peak RSS (MB) | KB per resource |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        t = r["times"]
        per = r["total"] / max(r["resources"], 1) * 1e6
        kb = r["peakMB"] * 1024 / max(r["resources"], 1)
        lines.append(
            f"| {r['n']:,} | {r['resources']:,} | {r['findings']:,} | {t['load']:.2f} | "
            f"{t['rules']:.2f} | {t['json']:.2f} | {t['html']:.2f} | {t['sarif']:.2f} | "
            f"{r['total']:.2f} | {per:.0f} | {r['wall']:.2f} | {r['peakMB']:.0f} | {kb:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="prodcheck offline-audit benchmark")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000, 100000])
    parser.add_argument("--estate", choices=["replicated", "synthetic"], default="replicated")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            row = run_size(args.estate, n, Path(tmp))
            rows.append(row)
            print(
                f"N={n}: {row['total']:.1f} s CPU, {row['wall']:.1f} s wall, {row['peakMB']:.0f} MB, "
                f"{row['findings']:,} findings",
                file=sys.stderr,
            )
    print(table(rows, args.estate))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
