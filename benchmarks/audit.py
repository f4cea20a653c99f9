"""The offline-audit benchmark: a snapshot file of N resources audited, and its reports written.

For each size N the runner writes an estate of N resources to a snapshot file (by default
`benchmarks/estate.py`, copies of the demo workloads; `--estate synthetic` uses
`benchmarks/generate.py`, the collection benchmark's subscription), then audits it in a fresh
process with the whole built-in rule pack, the way `prodcheck audit --snapshot FILE -f json
-f html -f sarif --output-dir DIR [--jobs N]` does: read the file, evaluate the rules, render
and write the three reports, with the garbage collector set as the command line sets it
(`prodcheck.heap`), and the rules and reports shared with forked processes as the command line
shares them (`prodcheck.fanout`; `--jobs 1` for one process, default auto).

The process reports, per stage, the CPU time of all its processes (its own, and that of the
processes it forked and waited for, `RUSAGE_CHILDREN`), the wall time, and the peak memory of
all of them together, counted as an upper bound: for each stage, this process's peak RSS when
the last process it forked during the stage ended (before it read that process's results),
plus, for each of those processes, its own peak RSS less the pages it still shared with this
process when it ended (a page shared at the end was shared at the peak too, so what is left
bounds the pages it alone held); and this process's peak at the end of the stage, after them.
The peak is the largest of these.
With one process the reports are written one after the other and timed one by one; with
several they are written at once, and timed together. The runner prints a Markdown table, with
the cost per resource so that growth shows. CPU time is the figure to compare on a shared
machine: wall time also counts the time other processes held the cores.

    .venv/bin/python benchmarks/audit.py --sizes 1000 10000 50000 100000 [--jobs 1]
    .venv/bin/python benchmarks/audit.py --worker SNAPSHOT OUT_DIR [--jobs N]
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
STAGES = ("load", "rules", "reports")


def estate(kind: str, n: int) -> dict[str, Any]:
    if kind == "synthetic":
        from generate import generate

        return generate(n)
    from estate import replicate

    return replicate(n)


def _peak_mb() -> float:
    """The peak resident memory of this process so far, in MB (not its launcher's: see
    `benchmarks/memory.py`)."""
    from memory import own_peak_kib

    return own_peak_kib() / 1024


def _children_cpu() -> float:
    """CPU seconds of the forked processes this process has waited for."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Stages:
    """CPU (all processes), wall time and the memory bound of each stage (see the module)."""

    def __init__(self) -> None:
        from prodcheck import fanout

        self.fanout = fanout
        fanout.MEASURE.on = True
        self.times: dict[str, float] = {}
        self.own: dict[str, float] = {}
        self.busiest: dict[str, float] = {}
        self.walls: dict[str, float] = {}
        self.peaks: dict[str, float] = {}
        self.forked: dict[str, list[dict[str, float]]] = {}

    def start(self) -> None:
        self._own = time.process_time()
        self._cpu = self._own + _children_cpu()
        self._wall = time.perf_counter()
        self._seen = len(self.fanout.MEASURE.children)

    def end(self, name: str) -> None:
        self.times[name] = time.process_time() + _children_cpu() - self._cpu
        self.own[name] = time.process_time() - self._own
        self.walls[name] = time.perf_counter() - self._wall
        children = self.fanout.MEASURE.children[self._seen :]
        self.forked[name] = [
            {
                "cpu": c.cpu,
                "peakMB": c.peak_rss_kib / 1024,
                "sharedAtEndMB": c.shared_kib / 1024,
                "privateAtEndMB": c.private_kib / 1024,
                "parentPeakAtEndMB": c.parent_peak_kib / 1024,
            }
            for c in children
        ]
        # The CPU of the busiest process: what the stage's wall time cannot go below, however
        # idle the other CPUs are.
        self.busiest[name] = max([self.own[name], *(c.cpu for c in children)])
        # While the copies lived, this process held at most its peak when the last of them
        # ended (before it read their results), and each copy at most its peak less the pages
        # it still shared at its end; after them, this process's own peak.
        alone = sum(max(c.peak_rss_kib - c.shared_kib, 0) for c in children) / 1024
        meanwhile = max((c.parent_peak_kib for c in children), default=0) / 1024
        if any(c.parent_peak_kib <= 0 for c in children):
            meanwhile = _peak_mb()  # not known: this process's peak so far
        self.peaks[name] = max(_peak_mb(), meanwhile + alone) if children else _peak_mb()


def worker(snapshot_file: Path, out_dir: Path, jobs: int | None = None) -> None:
    """Audit one snapshot file and write its reports, timing each stage (its own process)."""
    began = time.perf_counter()
    from prodcheck import api, heap
    from prodcheck.cli import PARALLEL_FINDINGS, emit_report, write_atomically
    from prodcheck.engine import AuditSettings
    from prodcheck.engine import audit as run_audit
    from prodcheck.fanout import jobs_for
    from prodcheck.reporters import Renderer, RenderOptions, extension
    from prodcheck.snapshot import load_snapshot

    heap.for_bulk_data()  # as the command line does
    registry = api.Registry.load()
    imports = time.perf_counter() - began
    stages = Stages()
    wall = time.perf_counter()
    stages.start()
    snapshot = load_snapshot(snapshot_file, jobs=jobs)  # as the command line reads it
    stages.end("load")
    stages.start()
    # As the command line does: the engine's report goes to the reporters, which clean it.
    report = run_audit(snapshot, api.select_rules(registry=registry), AuditSettings(jobs=jobs))
    stages.end("rules")
    stages.start()
    formats: dict[str, float] = {}
    if jobs_for(jobs, len(report.findings), PARALLEL_FINDINGS) > 1:
        # As the command line writes several formats: at once, by several processes.
        emit_report(report, list(FORMATS), None, out_dir, False, [snapshot_file], jobs=jobs)
    else:
        renderer = Renderer(report)  # as the command line renders several formats
        for fmt in FORMATS:
            started = time.process_time()
            # As the command line writes a report: rendered, cleaned and written piece by
            # piece to a new file that then replaces the old one.
            destination = out_dir / f"prodcheck-report.{extension(fmt)}"
            write_atomically(destination, renderer.pieces(fmt, RenderOptions()), [snapshot_file])
            formats[fmt] = time.process_time() - started
    stages.end("reports")
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
                "jobs": "auto" if jobs is None else jobs,
                "processes": {name: 1 + len(c) for name, c in stages.forked.items()},
                "times": stages.times,
                "ownTimes": stages.own,
                "busiest": stages.busiest,
                "formats": formats,
                "walls": stages.walls,
                "wall": wall,
                "imports": imports,
                "bytes": sizes,
                "peakMB": max(stages.peaks.values()),
                "parentPeakMB": _peak_mb(),
                "peaks": stages.peaks,
                "forked": stages.forked,
            }
        )
    )


def run_size(kind: str, n: int, workdir: Path, jobs: str) -> dict[str, Any]:
    snapshot_file = workdir / f"estate-{n}.json"
    snapshot_file.write_text(json.dumps(estate(kind, n)), encoding="utf-8")
    out_dir = workdir / f"reports-{n}"
    out_dir.mkdir(exist_ok=True)
    command = [sys.executable, __file__, "--worker", str(snapshot_file), str(out_dir)]
    command += ["--jobs", jobs]
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
        f"estate: {kind}; CPU seconds per stage, of all processes, in a fresh process per size "
        "(imports apart); the reports one by one with one process, together with several",
        "",
        "| N | resources | findings | processes | load | rules | JSON | HTML | SARIF | reports "
        "| CPU total (s) | µs per resource | busiest process CPU (s) | wall (s) "
        "| peak, all processes (MB) | KB per resource |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        t, f = r["times"], r["formats"]
        per = r["total"] / max(r["resources"], 1) * 1e6
        kb = r["peakMB"] * 1024 / max(r["resources"], 1)
        each = " | ".join(f"{f[x]:.2f}" if x in f else "–" for x in FORMATS)
        processes = max(r["processes"].values())
        lines.append(
            f"| {r['n']:,} | {r['resources']:,} | {r['findings']:,} | {processes} | "
            f"{t['load']:.2f} | {t['rules']:.2f} | {each} | {t['reports']:.2f} | "
            f"{r['total']:.2f} | {per:.0f} | {sum(r['busiest'].values()):.2f} | "
            f"{r['wall']:.2f} | {r['peakMB']:.0f} | {kb:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="prodcheck offline-audit benchmark")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000, 100000])
    parser.add_argument("--estate", choices=["replicated", "synthetic"], default="replicated")
    parser.add_argument(
        "--jobs", default="auto", help="processes, as prodcheck audit --jobs (default auto)"
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from prodcheck.fanout import parse_jobs

    jobs = parse_jobs(args.jobs, "--jobs")
    if args.worker:
        worker(*args.worker, jobs)
        return
    from machine import describe, probe

    before = probe()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            row = run_size(args.estate, n, Path(tmp), args.jobs)
            rows.append(row)
            print(
                f"N={n}: {row['total']:.1f} s CPU, {row['wall']:.1f} s wall, {row['peakMB']:.0f} MB, "
                f"{row['findings']:,} findings",
                file=sys.stderr,
            )
    after = probe()
    print(describe(before, after))
    print(table(rows, args.estate))
    if args.json:
        for row in rows:
            row["machine"] = {"before": before, "after": after}
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
