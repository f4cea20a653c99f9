"""The collection benchmark: synthetic subscriptions collected from the fake ARM.

For each size N the runner generates a subscription of N resources (benchmarks/generate.py),
serves it from the fake ARM (tests/fake_arm) with a fixed latency added to every request, and
runs a live collection of everything the rule pack reads in a separate process, which reports
its wall time and peak memory (max RSS). The runner counts the requests the fake received,
checks them against the minimum (one per listed page and per child collection, no duplicates)
and prints a Markdown table, then a second one with the cost of some reads in requests per
resource they are read for (Cosmos DB SQL databases and containers, blob lifecycle policies, role
assignments and definitions, the model catalogue).

    .venv/bin/python benchmarks/run.py --sizes 100 1000 5000 --latency 0.05
    .venv/bin/python benchmarks/run.py --sizes 1000 --arm-limits   # with ARM's 25 reads/s pacing

By default the client-side limiter is lifted (the fake does not throttle), which measures the
collector itself; --arm-limits keeps it at ARM's real numbers (a burst of 250, 25 reads per
second per subscription), the floor any client meets against real ARM.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests"), str(ROOT / "src")]

from generate import SUBSCRIPTION, generate  # noqa: E402
from memory import own_peak_kib  # noqa: E402

PAGE_SIZE = 100


def needs() -> list[str]:
    """What a full audit collects: every type the built-in rules read."""
    from prodcheck import api

    return api.needs_of(api.select_rules())


def expected_requests(snapshot: dict[str, Any], wanted: list[str], page_size: int) -> int:
    """The fewest requests that can collect `wanted` from `snapshot`: one per listed page, one
    per child collection (per parent), one per resource's diagnostic settings, one per metrics
    read of a resource (per namespace and aggregation set), plus the one subscription check."""
    from fake_arm.server import UNPAGED_TYPES

    from prodcheck.collect.engine import Plan

    plan = Plan(wanted)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for r in snapshot["resources"]:
        by_type.setdefault(r["type"].lower(), []).append(r)
    total = 1
    for collector in plan.top:
        count = len(by_type.get(collector.type.lower(), []))
        paged = collector.type.lower() not in UNPAGED_TYPES
        total += max(1, math.ceil(count / page_size)) if paged else 1
    for parent_key, children in plan.children.items():
        parents = by_type.get(parent_key, [])
        for child in children:
            if child.how == "catalogue":  # one list per region of the parents
                total += len({str(p.get("location", "")).replace(" ", "").lower() for p in parents})
                continue
            for parent in parents:
                if child.when is not None and not child.when(parent):
                    continue  # a parent that cannot have this child: not asked
                prefix = parent["id"].lower() + "/" + child.type.split("/")[-1].lower() + "/"
                n = sum(
                    1
                    for r in by_type.get(child.type.lower(), [])
                    if r["id"].lower().startswith(prefix)
                )
                paged = not child.type.lower().endswith("/policies")
                total += max(1, math.ceil(n / page_size)) if paged else 1
    if plan.diagnostics is not None:
        for collector in plan.collectors.values():
            if plan.wants_diagnostics(collector):
                total += len(by_type.get(collector.type.lower(), []))
    for collector in plan.collectors.values():  # one metrics read per resource and query
        total += len(plan.metric_queries(collector)) * len(by_type.get(collector.type.lower(), []))
    return total


# The reads whose cost is reported per resource: (label, ARM type read, the type it is read for).
PER_RESOURCE_READS = [
    (
        "Cosmos DB SQL databases",
        "Microsoft.DocumentDB/databaseAccounts/sqlDatabases",
        "Microsoft.DocumentDB/databaseAccounts",
    ),
    (
        "Cosmos DB containers",
        "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers",
        "Microsoft.DocumentDB/databaseAccounts/sqlDatabases",
    ),
    (
        "blob lifecycle policies",
        "Microsoft.Storage/storageAccounts/managementPolicies",
        "Microsoft.Storage/storageAccounts",
    ),
    (
        "role assignments",
        "Microsoft.Authorization/roleAssignments",
        "Microsoft.Authorization/roleAssignments",
    ),
    (
        "role definitions",
        "Microsoft.Authorization/roleDefinitions",
        "Microsoft.Authorization/roleDefinitions",
    ),
    (
        "model catalogue",
        "Microsoft.CognitiveServices/locations/models",
        "Microsoft.CognitiveServices/accounts",
    ),
]


def read_costs(snapshot: dict[str, Any], paths: list[str]) -> list[dict[str, Any]]:
    """For each of PER_RESOURCE_READS: the requests the fake received for that type, the
    resources it is read for (or the items listed, for a subscription-wide list) and the
    requests per such resource."""
    from fake_arm.server import path_type

    sent: dict[str, int] = {}
    for path in paths:
        key = path_type(path).lower()
        sent[key] = sent.get(key, 0) + 1
    counts: dict[str, int] = {}
    for r in snapshot["resources"]:
        counts[r["type"].lower()] = counts.get(r["type"].lower(), 0) + 1
    rows = []
    for label, read, per in PER_RESOURCE_READS:
        requests = sent.get(read.lower(), 0)
        resources = counts.get(per.lower(), 0)
        rows.append(
            {
                "read": label,
                "type": read,
                "per": per,
                "requests": requests,
                "resources": resources,
                "perResource": requests / resources if resources else None,
            }
        )
    return rows


def worker(args: argparse.Namespace) -> None:
    """Run one collection (in its own process, for a clean peak-memory figure)."""
    from prodcheck.collect.engine import collect
    from prodcheck.collect.options import CollectOptions

    class Token:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            from azure.core.credentials import AccessToken

            return AccessToken("bench", int(time.time()) + 3600)

    wanted = json.loads(Path(args.needs_file).read_text())
    options = CollectOptions(
        subscriptions=[SUBSCRIPTION],
        credential=Token(),
        arm_endpoint=args.endpoint,
        connection_verify=args.ca,
        concurrency=args.concurrency,
        quiet=True,
        rate_limit=25.0 if args.arm_limits else 0.0,
        rate_burst=250,
    )
    # The SDK imports (about 1.3 s, paid once per process) are timed apart from the collection.
    import importlib

    from prodcheck.collect.clients import SDK_CLIENTS

    began = time.perf_counter()
    for module, _ in SDK_CLIENTS.values():
        importlib.import_module(module)
    imports = time.perf_counter() - began
    started = time.perf_counter()
    snapshot, stats = collect(options, wanted)
    wall = time.perf_counter() - started
    peak_kb = own_peak_kib()
    print(
        json.dumps(
            {
                "wall": wall,
                "imports": imports,
                "resources": len(snapshot["resources"]),
                "failed": sum(1 for c in snapshot["coverage"] if c["status"] != "ok"),
                "clientRequests": stats["requests"],
                "limiterWait": stats["limiterWaitSeconds"],
                "peakMB": peak_kb / 1024,
            }
        )
    )


def run_size(n: int, args: argparse.Namespace, wanted: list[str], workdir: Path) -> dict[str, Any]:
    import trustme
    from fake_arm.server import FakeArm

    snapshot = generate(n)
    needs_file = workdir / "needs.json"
    needs_file.write_text(json.dumps(wanted))
    with FakeArm(trustme.CA(), page_size=PAGE_SIZE, latency=args.latency) as fake:
        fake.require_token = True
        fake.serve(snapshot)
        command = [
            sys.executable,
            __file__,
            "--worker",
            "--endpoint",
            fake.base_url,
            "--ca",
            fake.ca_path(workdir),
            "--needs-file",
            str(needs_file),
            "--concurrency",
            str(args.concurrency),
        ] + (["--arm-limits"] if args.arm_limits else [])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path[:3]))
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"worker failed for N={n}:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        requests = len(fake.requests)
        costs = read_costs(snapshot, [r.path for r in fake.requests])
        duplicates = len(fake.duplicates())
        methods = sorted({r.method for r in fake.requests})
    minimum = expected_requests(snapshot, wanted, PAGE_SIZE)
    ideal = requests / args.concurrency * args.latency
    floor = max(0.0, (requests - 250) / 25) if args.arm_limits else 0.0
    return {
        "n": n,
        "resources": result["resources"],
        "requests": requests,
        "minimum": minimum,
        "duplicates": duplicates,
        "methods": methods,
        "failed": result["failed"],
        "wall": result["wall"],
        "imports": result["imports"],
        "ideal": ideal,
        "floor": floor,
        "ratio": result["wall"] / max(ideal, floor) if max(ideal, floor) > 0 else None,
        "peakMB": result["peakMB"],
        "reads": costs,
    }


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    limiter = "ARM limits (burst 250, 25/s)" if args.arm_limits else "lifted"
    lines = [
        f"latency {args.latency * 1000:.0f} ms per request, concurrency {args.concurrency}, "
        f"page size {PAGE_SIZE}, limiter {limiter}",
        "",
        "| N | resources collected | requests | minimum | duplicates | failed reads | wall (s) "
        "| (requests / concurrency) x latency (s) | ARM pacing floor (s) | ratio "
        "| peak RSS (MB) | SDK imports (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        lines.append(
            f"| {r['n']:,} | {r['resources']:,} | {r['requests']:,} | {r['minimum']:,} | "
            f"{r['duplicates']} | {r['failed']} | {r['wall']:.1f} | {r['ideal']:.1f} | "
            f"{r['floor']:.1f} | {ratio} | {r['peakMB']:.0f} | {r['imports']:.1f} |"
        )
    lines += [
        "",
        "What some reads cost, at the largest N: requests sent, and requests per resource they are "
        "read for (a subscription-wide list: per item listed).",
        "",
        "| read | requests | per | resources | requests per resource |",
        "|---|---:|---|---:|---:|",
    ]
    for c in rows[-1]["reads"] if rows else []:
        per = f"{c['perResource']:.3f}" if c["perResource"] is not None else "-"
        lines.append(
            f"| {c['read']} | {c['requests']:,} | {c['per'].split('/', 1)[1]} | "
            f"{c['resources']:,} | {per} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="prodcheck collection benchmark")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per request")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--arm-limits", action="store_true", help="keep ARM's read pacing")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--ca", help=argparse.SUPPRESS)
    parser.add_argument("--needs-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    wanted = needs()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            row = run_size(n, args, wanted, Path(tmp))
            rows.append(row)
            print(
                f"N={n}: {row['requests']} requests (minimum {row['minimum']}), "
                f"{row['wall']:.1f} s, {row['peakMB']:.0f} MB",
                file=sys.stderr,
            )
    print(table(rows, args))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
