"""An audit shared across processes (--jobs) gives the report one process gives, byte for
byte, and fails closed when a process evaluating rules or writing a report is lost."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodcheck import api, fanout
from prodcheck.cli import emit_report
from prodcheck.engine import PARALLEL_FROM, AuditSettings, audit
from prodcheck.errors import UserError
from prodcheck.plans import load_plan_demo
from prodcheck.reporters import Renderer
from prodcheck.snapshot import Snapshot, load_demo, load_snapshot

pytestmark = pytest.mark.skipif(not fanout.can_fork(), reason="forks only on Linux")

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
UNITS = ["subscription", "resource-group", "tag:workload"]


@cache
def _rules() -> tuple[Any, ...]:
    return tuple(api.select_rules())


def _demo(name: str) -> Snapshot:
    if name.endswith("-plan"):
        return load_plan_demo(name, [t for r in _rules() for t in r.needs])
    return load_demo(name)


def _json(snapshot: Snapshot, jobs: int, unit: str, rules: Any = None) -> str:
    chosen = list(rules if rules is not None else _rules())
    report = audit(snapshot, chosen, AuditSettings(jobs=jobs, unit=unit), now=NOW)
    return Renderer(report).render("json")


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("demo", ["flat", "hardened", "flat-plan", "hardened-plan"])
def test_shared_evaluation_gives_the_report_of_one_process_on_the_demos(demo, unit):
    serial = _json(_demo(demo), 1, unit)
    assert _json(_demo(demo), 2, unit) == serial
    assert _json(_demo(demo), 3, unit) == serial


@cache
def _estate_file(tmp: str) -> Path:
    """A replicated estate above the automatic threshold, with failed reads, types never
    collected and data that breaks rules."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from estate import replicate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    doc = replicate(PARALLEL_FROM + 200)
    subs = doc["scope"]["subscriptions"]
    resources = doc["resources"]
    for i, resource in enumerate(resources[::97]):
        broken = copy.deepcopy(resource)
        props = broken.setdefault("properties", {})
        if isinstance(props, dict):
            props["privateEndpointConnections"] = 7 if i % 2 else {"not": "a list"}
            props["networkAcls"] = "open"
        broken["sku"] = ["not", "an", "object"]
        resources[resources.index(resource)] = broken
    types = sorted({r["type"] for r in resources})
    coverage: list[dict[str, Any]] = [
        {"resourceType": t, "scope": f"/subscriptions/{s}", "status": "ok"}
        for t in types[::2]
        for s in subs
    ]
    coverage += [
        {
            "resourceType": "Microsoft.Network/privateEndpoints",
            "scope": f"/subscriptions/{subs[0]}",
            "status": "failed",
            "statusCode": 403,
            "errorCode": "AuthorizationFailed",
            "message": "no read permission",
        },
        {
            "resourceType": "Microsoft.Insights/metricAlerts",
            "scope": "/",
            "status": "failed",
            "errorCode": "Timeout",
        },
    ]
    doc["coverage"] = coverage
    doc["collectedAt"] = "2026-11-26T09:00:00Z"
    path = Path(tmp) / "estate.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _estate_file(str(tmp_path_factory.mktemp("estate")))


@pytest.mark.parametrize("unit", ["subscription", "resource-group"])
def test_shared_evaluation_gives_the_report_of_one_process_with_gaps_and_broken_data(estate, unit):
    snapshot = load_snapshot(estate)
    serial = _json(snapshot, 1, unit)
    report = json.loads(serial)
    statuses = {f["status"] for f in report["findings"]}
    assert "ERROR" in statuses and "FAIL" in statuses  # the gaps and failed reads are judged
    assert any(
        "Unreadable" in json.dumps(f) or "NotCollected" in json.dumps(f) for f in report["findings"]
    )
    assert _json(snapshot, 2, unit) == serial


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    demo=st.sampled_from(["flat", "hardened", "flat-plan"]),
    unit=st.sampled_from(UNITS),
    jobs=st.integers(2, 5),
    chosen=st.sets(st.integers(0, 200), min_size=2, max_size=40),
)
def test_any_selection_of_rules_shared_gives_the_report_of_one_process(demo, unit, jobs, chosen):
    rules = _rules()
    picked = [rules[i % len(rules)] for i in sorted(chosen)]
    picked = list({r.id: r for r in picked}.values())
    try:
        serial = _json(_demo(demo), 1, unit, picked)
    except UserError:  # only MANUAL rules: refused either way
        with pytest.raises(UserError):
            _json(_demo(demo), jobs, unit, picked)
        return
    assert _json(_demo(demo), jobs, unit, picked) == serial


def test_small_estates_are_evaluated_in_one_process_by_default(monkeypatch):
    calls: list[int] = []
    real = fanout.share

    def spy(tasks: Any, jobs: int, **kw: Any) -> Any:
        calls.append(jobs)
        return real(tasks, jobs, **kw)

    monkeypatch.setattr(fanout, "share", spy)
    audit(load_demo("flat"), list(_rules()), AuditSettings(), now=NOW)
    assert calls == []
    audit(load_demo("flat"), list(_rules()), AuditSettings(jobs=2), now=NOW)
    assert calls == [2]


# ---- the command line -------------------------------------------------------------------

KILLER = '''
import os
import time

from prodcheck import Severity, rule

STARTED_IN = os.getpid()


def _killer(number):
    @rule(id=f"ACME-KILL-00{{number}}", title="t", checklist="c", severity=Severity.LOW,
          needs=["Microsoft.Cache/redis"])
    def dies_elsewhere(inv, p):
        """## What it checks\nNothing: it ends any process but the one that loaded it,
        and takes its time in that one, so that another process meets one of the three."""
        if os.getpid() != STARTED_IN:
            os.{how}
        time.sleep(0.5)
        for cache in inv.of_type("Microsoft.Cache/redis"):
            yield cache.ok("fine")

    return dies_elsewhere


killer_1, killer_2, killer_3 = _killer(1), _killer(2), _killer(3)
'''


def _prodcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodcheck", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize("how", ["kill(os.getpid(), 9)", "_exit(0)"])
def test_a_lost_rule_process_fails_the_audit_in_one_line_and_writes_nothing(tmp_path, how):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "killer.py").write_text(textwrap.dedent(KILLER.format(how=how)))
    out = tmp_path / "out"
    out.mkdir()
    (out / "prodcheck-report.json").write_text("old")
    done = _prodcheck(
        "audit", "--demo", "flat", "--rules-dir", str(rules), "--jobs", "2",
        "-f", "json", "-f", "html", "--output-dir", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "evaluating rules" in lines[0] and "--jobs 1" in lines[0]
    assert (out / "prodcheck-report.json").read_text() == "old"
    assert sorted(p.name for p in out.iterdir()) == ["prodcheck-report.json"]
    # One process: the rule runs where it was loaded, and the audit completes.
    done = _prodcheck(
        "audit", "--demo", "flat", "--rules-dir", str(rules), "--jobs", "1",
        "-f", "json", "-o", str(out / "prodcheck-report.json"), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1 and "ACME-KILL-003" in (out / "prodcheck-report.json").read_text()


def test_jobs_from_the_flag_and_the_configuration_are_checked_in_one_line(tmp_path):
    done = _prodcheck("audit", "--demo", "--jobs", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "prodcheck: error: --jobs must be auto or a whole number of processes from 1 to 64, "
        "not '0': --jobs 2 (1 runs everything in one process)"
    )
    (tmp_path / "prodcheck.yaml").write_text("rules:\n  jobs: many\n")
    done = _prodcheck("audit", "--demo", cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "rules.jobs" in done.stderr


@pytest.mark.parametrize(("text", "jobs"), [("3", 3), ("auto", None), ("1", 1)])
def test_rules_jobs_in_the_configuration(tmp_path, text, jobs):
    from prodcheck.config import parse_config

    cfg = parse_config(f"rules:\n  jobs: {text}\n", tmp_path / "prodcheck.yaml")
    assert cfg.jobs == jobs and cfg.settings().jobs == jobs


@pytest.mark.parametrize("text", ["0", "65", "-2", "1.5", "true", "[2]", "'3x'"])
def test_bad_rules_jobs_are_refused_in_one_line(tmp_path, text):
    from prodcheck.config import parse_config

    with pytest.raises(UserError) as info:
        parse_config(f"rules:\n  jobs: {text}\n", tmp_path / "prodcheck.yaml")
    assert "rules.jobs" in str(info.value) and "\n" not in str(info.value)


# ---- the report formats -----------------------------------------------------------------

FILES = ["json", "html", "sarif", "csv"]


def _report() -> Any:
    return audit(load_demo("flat"), list(_rules()), AuditSettings(jobs=1), now=NOW)


def test_report_files_written_by_several_processes_are_those_one_process_writes(tmp_path):
    report = _report()
    emit_report(report, FILES, None, tmp_path / "one", False, [], jobs=1)
    emit_report(report, FILES, None, tmp_path / "two", False, [], jobs=2)
    for name in os.listdir(tmp_path / "one"):
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()
    assert sorted(os.listdir(tmp_path / "two")) == sorted(os.listdir(tmp_path / "one"))


def test_a_lost_report_process_replaces_no_report_and_leaves_no_file(tmp_path, monkeypatch):
    report = _report()
    parent = os.getpid()
    real = Renderer.pieces

    def pieces(self: Renderer, fmt: str, options: Any = None) -> Any:
        if os.getpid() != parent:
            os.kill(os.getpid(), 9)
        return real(self, fmt, options)

    monkeypatch.setattr(Renderer, "pieces", pieces)
    for fmt in FILES:
        ext = "md" if fmt == "markdown" else fmt
        (tmp_path / f"prodcheck-report.{ext}").write_text("old")
    with pytest.raises(fanout.WorkLost, match="writing reports was killed by signal SIGKILL"):
        emit_report(report, FILES, None, tmp_path, False, [], jobs=2)
    assert sorted(os.listdir(tmp_path)) == sorted(f"prodcheck-report.{f}" for f in FILES)
    assert all(p.read_text() == "old" for p in tmp_path.iterdir())


def test_a_report_that_cannot_be_written_by_another_process_is_one_user_error(
    tmp_path, monkeypatch
):
    report = _report()
    parent = os.getpid()
    real = Renderer.pieces

    def pieces(self: Renderer, fmt: str, options: Any = None) -> Any:
        if os.getpid() != parent:
            raise UserError(f"cannot write the {fmt} report (No space left on device)")
        return real(self, fmt, options)

    monkeypatch.setattr(Renderer, "pieces", pieces)
    with pytest.raises(UserError, match="No space left on device"):
        emit_report(report, FILES, None, tmp_path, False, [], jobs=2)
    assert os.listdir(tmp_path) == []


def test_the_masks_are_built_before_the_processes_part(tmp_path, monkeypatch):
    """Every process masks what it finds and writes: the masks are built once, before the
    fork, rather than by every copy on its own."""
    from prodcheck import secrets

    built_at_fork: list[bool] = []
    real = fanout.share

    def share(*args: Any, **kwargs: Any) -> Any:
        built_at_fork.append(bool(secrets._MASK_SET))
        return real(*args, **kwargs)

    monkeypatch.setattr(fanout, "share", share)
    monkeypatch.setattr(secrets, "_MASK_SET", [])
    report = audit(load_demo("flat"), list(_rules()), AuditSettings(jobs=2), now=NOW)
    monkeypatch.setattr(secrets, "_MASK_SET", [])
    emit_report(report, FILES, None, tmp_path, False, [], jobs=2)
    assert built_at_fork == [True, True]
    assert len(os.listdir(tmp_path)) == len(FILES)
