"""A small run of the collection benchmark (benchmarks/), so that it keeps working."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import generate
    import run

    yield generate, run
    for name in ("generate", "run"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("n", [1, 20, 100, 1000])
def test_generator_makes_exactly_n_distinct_resources(bench, n):
    generate, _ = bench
    resources = generate.generate(n)["resources"]
    assert len(resources) == n
    assert len({r["id"].lower() for r in resources}) == n


def test_benchmark_runs_at_n_20_with_no_latency(bench, tmp_path):
    _, run = bench
    args = argparse.Namespace(latency=0.0, concurrency=4, arm_limits=False)
    row = run.run_size(20, args, run.needs(), tmp_path)
    assert row["resources"] == 20
    assert row["requests"] == row["minimum"]
    assert row["duplicates"] == 0
    assert row["failed"] == 0
    assert row["methods"] == ["GET"]
    assert "| 20 |" in run.table([row], args)
