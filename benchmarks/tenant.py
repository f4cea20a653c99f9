"""The tenant benchmark: many synthetic subscriptions collected in parallel from the fake ARM.

For each subscription count S, the runner builds S copies of the synthetic subscription of
`--size` resources (benchmarks/generate.py, each copy under its own subscription id), serves all
of them from one fake ARM (tests/fake_arm) with `--latency` added to every request, and runs one
live collection of everything the rule pack reads across the S subscriptions, in a separate
process that reports its wall time, CPU time (its own and that of the collecting processes it
starts, `--collect-processes`) and peak memory (max RSS, its own plus each collecting
process's). The client-side limiter keeps ARM's pacing per subscription (a burst of 250 reads
refilled at 25 per second) unless `--no-arm-limits` is given.

The fake shares the machine's cores with the collection, so it is answered by
`--fake-processes` forked processes (default 2) on one listening socket, each reading requests
with a lean HTTP/1.1 reader; the answers are those the tests' threaded fake gives
(tests/test_fake_arm_processes.py). Its CPU time per request is reported too: a fake that cost
more than the collector would measure itself.

    .venv/bin/python benchmarks/tenant.py --subscriptions 1 4                   # 4 vs 1 at ARM pacing
    .venv/bin/python benchmarks/tenant.py --subscriptions 50                    # the landing zone
    .venv/bin/python benchmarks/tenant.py --subscriptions 50 --resource-graph never   # ARM lists only

For each run it prints the requests per subscription, the slowest subscription's pacing floor
((its requests - 250) / 25 s: what ARM allows one principal in one subscription), the wall time
against that floor and against the one-subscription run when there is one, when the first and
the last subscription were done, the CPU time of the collection and of the fake per request,
and the peak RSS.

`--resource-graph MODE` sets the collector's `resource_graph` option (for instance `always` or
`never`: list top-level resources through Azure Resource Graph or through ARM's lists), for
comparing requests and wall time with and without it; without the flag the collector's default
applies. It fails with a clear message when the collector has no such option.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
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
from run import PAGE_SIZE, needs  # noqa: E402

BURST, RATE = 250, 25.0


def subscription_ids(count: int) -> list[str]:
    """`count` distinct, deterministic subscription GUIDs."""
    return [f"{i + 1:08x}-7e57-4a11-8b5c-{i + 1:012x}" for i in range(count)]


def estate(count: int, size: int) -> list[dict[str, Any]]:
    """`count` copies of the `size`-resource synthetic subscription, one per subscription id."""
    text = json.dumps(generate(size)["resources"])
    resources: list[dict[str, Any]] = []
    for sub in subscription_ids(count):
        resources += json.loads(text.replace(SUBSCRIPTION, sub))
    return resources


def collect_options_for(args: argparse.Namespace, subscriptions: list[str]) -> Any:
    from prodcheck.collect.options import CollectOptions

    class Token:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            from azure.core.credentials import AccessToken

            return AccessToken("bench", int(time.time()) + 3600)

    extra: dict[str, Any] = {}
    if args.resource_graph is not None:
        names = {f.name for f in dataclasses.fields(CollectOptions)}
        if "resource_graph" not in names:
            raise SystemExit("--resource-graph: this collector has no Resource Graph listing")
        extra["resource_graph"] = args.resource_graph
    return CollectOptions(
        subscriptions=subscriptions,
        credential=Token(),
        arm_endpoint=args.endpoint,
        connection_verify=args.ca,
        concurrency=args.concurrency,
        subscription_concurrency=args.subscription_concurrency,
        collect_processes=args.collect_processes,
        quiet=True,
        rate_limit=0.0 if args.no_arm_limits else RATE,
        rate_burst=BURST,
        deadline=None,
        **extra,
    )


def worker(args: argparse.Namespace) -> None:
    """Run one collection (in its own process, for clean peak-memory and CPU figures)."""
    import importlib

    from prodcheck.collect.clients import SDK_CLIENTS
    from prodcheck.collect.engine import collect
    from prodcheck.heap import for_bulk_data

    for_bulk_data()  # as the command line does
    wanted = json.loads(Path(args.needs_file).read_text())
    options = collect_options_for(args, subscription_ids(args.count))
    for module, _ in SDK_CLIENTS.values():  # paid once per process, before the first request
        importlib.import_module(module)
    cpu0, children0 = time.process_time(), os.times()
    started = time.monotonic()
    snapshot, stats = collect(options, wanted)
    wall = time.monotonic() - started
    children = os.times()
    # The collecting processes this one started (ended and waited for by now).
    workers_cpu = (children.children_user - children0.children_user) + (
        children.children_system - children0.children_system
    )
    print(
        json.dumps(
            {
                "started": started,
                "wall": wall,
                "cpu": time.process_time() - cpu0 + workers_cpu,
                "processes": stats.get("processes", 1),
                "resources": len(snapshot["resources"]),
                "failed": sum(1 for c in snapshot["coverage"] if c["status"] != "ok"),
                # Why the listing went back to ARM's lists, where it did (none when it did not).
                "graphFallbacks": (snapshot.get("scope", {}).get("resourceGraph") or {}).get(
                    "fallbacks", []
                ),
                "throttled": stats["throttled"],
                # This process's peak, plus each worker's: an upper bound on the memory
                # the collection held at once.
                "peakMB": (own_peak_kib() + sum(stats.get("workerPeakRssKiB", []))) / 1024,
            }
        )
    )


def run_count(
    count: int, args: argparse.Namespace, needs_file: Path, workdir: Path
) -> dict[str, Any]:
    import trustme
    from fake_arm.server import FakeArm

    fake = FakeArm(
        trustme.CA(), page_size=PAGE_SIZE, latency=args.latency, processes=args.fake_processes
    )
    fake.serve(estate(count, args.size))
    fake.graph_quota, fake.graph_window = 15, 5.0
    with fake:
        command = [sys.executable, __file__, "--worker", "--count", str(count)]
        command += ["--endpoint", fake.base_url, "--ca", fake.ca_path(workdir)]
        command += ["--needs-file", str(needs_file)]
        if args.concurrency:
            command += ["--concurrency", str(args.concurrency)]
        if args.subscription_concurrency:
            command += ["--subscription-concurrency", str(args.subscription_concurrency)]
        if args.collect_processes:
            command += ["--collect-processes", str(args.collect_processes)]
        command += ["--no-arm-limits"] if args.no_arm_limits else []
        if args.resource_graph is not None:
            command += ["--resource-graph", args.resource_graph]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path[:3]))
        fake_cpu0 = time.process_time()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        fake_cpu = time.process_time() - fake_cpu0
        if done.returncode != 0:
            raise SystemExit(f"worker failed for {count} subscriptions:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        fake.stop()  # gathers the log of every process that answered
        # The fake's CPU: this process's threads, or the forked processes that answered.
        fake_cpu += fake.processes_cpu
        per_sub: dict[str, int] = {}
        finished: dict[str, float] = {}
        for r in fake.requests:
            if r.subscription:
                per_sub[r.subscription] = per_sub.get(r.subscription, 0) + 1
                finished[r.subscription] = max(finished.get(r.subscription, 0.0), r.at)
        requests = len(fake.requests)
        queries = sum(1 for r in fake.requests if r.method == "POST")
        peak = max(fake.peak_in_flight.values(), default=0)
    floors = [max(0.0, (n - BURST) / RATE) for n in per_sub.values()]
    floor = 0.0 if args.no_arm_limits else max(floors, default=0.0)
    done_at = sorted(t - result["started"] for t in finished.values())
    return {
        "subscriptions": count,
        "resources": result["resources"],
        "requests": requests,
        "graphQueries": queries,
        "perSubscription": max(per_sub.values(), default=0),
        "floor": floor,
        "wall": result["wall"],
        "cpu": result["cpu"],
        "processes": result["processes"],
        "fakeCpu": fake_cpu,
        "graphFallbacks": result.get("graphFallbacks", []),
        "firstDone": done_at[0] if done_at else 0.0,
        "lastDone": done_at[-1] if done_at else 0.0,
        "peakInFlightPerSubscription": peak,
        "failed": result["failed"],
        "throttled": result["throttled"],
        "peakMB": result["peakMB"],
    }


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    limiter = "lifted" if args.no_arm_limits else f"ARM pacing (burst {BURST}, {RATE:g}/s)"
    one = next((r["wall"] for r in rows if r["subscriptions"] == 1), None)
    lines = [
        f"{args.size} resources per subscription, latency {args.latency * 1000:.0f} ms, "
        f"concurrency {args.concurrency or 'default'}, per subscription "
        f"{args.subscription_concurrency or 'default'}, limiter {limiter}, "
        f"fake ARM processes {args.fake_processes}"
        + (f", Resource Graph {args.resource_graph}" if args.resource_graph is not None else ""),
        "",
        "| subscriptions | resources | requests | Resource Graph queries | per subscription "
        "| slowest floor (s) "
        "| processes | wall (s) | wall / floor | wall / one subscription | first / last done (s) "
        "| collector CPU (s) | per request (ms) | fake per request (ms) | failed reads "
        "| peak RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        vs_floor = f"{r['wall'] / r['floor']:.2f}" if r["floor"] else "-"
        vs_one = f"{r['wall'] / one:.2f}" if one else "-"
        lines.append(
            f"| {r['subscriptions']} | {r['resources']:,} | {r['requests']:,} | "
            f"{r['graphQueries']} | {r['perSubscription']:,} | {r['floor']:.1f} | "
            f"{r['processes']} | {r['wall']:.1f} | {vs_floor} | "
            f"{vs_one} | {r['firstDone']:.1f} / {r['lastDone']:.1f} | {r['cpu']:.1f} | "
            f"{r['cpu'] / max(r['requests'], 1) * 1000:.2f} | "
            f"{r['fakeCpu'] / max(r['requests'], 1) * 1000:.2f} | "
            f"{r['failed']} | {r['peakMB']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="prodcheck tenant collection benchmark")
    parser.add_argument("--subscriptions", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--size", type=int, default=1000, help="resources per subscription")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per request")
    parser.add_argument("--concurrency", type=int, default=None, help="default: the collector's")
    parser.add_argument("--subscription-concurrency", type=int, default=None)
    parser.add_argument(
        "--collect-processes", type=int, default=None, help="default: the collector's"
    )
    parser.add_argument("--no-arm-limits", action="store_true", help="lift the client's pacing")
    parser.add_argument(
        "--fake-processes",
        type=int,
        default=2,
        help="processes answering as the fake ARM (1: one threaded server, as in the tests)",
    )
    parser.add_argument(
        "--resource-graph",
        metavar="MODE",
        default=None,
        help="the collector's resource_graph option (e.g. always, never); default: its default",
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--ca", help=argparse.SUPPRESS)
    parser.add_argument("--needs-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    from machine import describe, probe

    before = probe()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        needs_file = Path(tmp) / "needs.json"
        needs_file.write_text(json.dumps(needs()))
        for count in args.subscriptions:
            row = run_count(count, args, needs_file, Path(tmp))
            rows.append(row)
            print(
                f"{count} subscriptions: {row['requests']} requests, {row['wall']:.1f} s "
                f"(floor {row['floor']:.1f} s), {row['peakMB']:.0f} MB",
                file=sys.stderr,
            )
            for why in row["graphFallbacks"]:
                print(f"  Resource Graph listing fell back to ARM lists: {why}", file=sys.stderr)
    after = probe()
    print(describe(before, after))
    print(table(rows, args))
    if args.json:
        for row in rows:
            row["machine"] = {"before": before, "after": after}
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
