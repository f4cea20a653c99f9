"""Azure Monitor metrics through the fake ARM: one read per resource and namespace, stored as
ARM answered, over the metrics window; refusals, throttling and malformed answers fail closed."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from builders import metric_item, metrics_record
from fake_arm.arm_json import SUB, resource

from prodcheck.api import audit_snapshot, needs_of, select_rules
from prodcheck.collect import collect_snapshot
from prodcheck.collect.options import parse_metrics_window
from prodcheck.errors import UserError

pytest_plugins = ["fake_arm.fixtures"]

APP = "Microsoft.App/containerApps"
AI = "Microsoft.Insights/components"
METRICS = "Microsoft.Insights/metrics"


def estate():
    api = resource(APP, "api", properties={})
    comp = resource(AI, "ai-prod", properties={})
    cpu = metrics_record(
        api,
        APP,
        [
            metric_item(api["id"], "CpuPercentage", [35.0] * 24),
            metric_item(api["id"], "MemoryPercentage", [45.0] * 24),
        ],
    )
    stt = metric_item(
        comp["id"], "speech_cascade.stt.recognition", [320.0] * 24, unit="Unspecified"
    )
    custom = metrics_record(comp, "azure.applicationinsights", [stt])
    return [api, comp, cpu, custom]


def metric_reads(fake_arm):
    return [
        r
        for r in fake_arm.requests
        if r.path.lower().endswith("/providers/microsoft.insights/metrics")
    ]


def test_metrics_are_read_once_per_resource_and_namespace_with_the_window(fake_arm, make_options):
    fake_arm.serve(estate())
    rules = select_rules(["PC-PERF-001", "PC-PERF-003", "PC-PERF-004", "PC-PERF-005"])
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    snap = collect_snapshot(make_options(subscriptions=[SUB]), needs_of(rules))
    reads = metric_reads(fake_arm)
    # the app: one read; the component: duration, availability (other aggregations), custom
    assert len(reads) == 4
    assert {r.method for r in fake_arm.requests} == {"GET"}
    assert not fake_arm.duplicates()
    app_read = next(r for r in reads if "/containerapps/" in r.path.lower())
    assert app_read.query["metricnamespace"] == APP
    assert app_read.query["metricnames"] == "CpuPercentage,MemoryPercentage"
    assert app_read.query["aggregation"] == "average,maximum"
    assert app_read.query["interval"] == "PT1H"
    assert app_read.query["api-version"] == "2024-02-01"
    start, end = (
        dt.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        for t in app_read.query["timespan"].split("/")
    )
    assert end - start == dt.timedelta(days=7) and before <= end
    custom = next(r for r in reads if r.query["metricnamespace"] == "azure.applicationinsights")
    assert custom.query["metricnames"] == "speech_cascade.stt.recognition"
    records = [r for r in snap["resources"] if r["type"] == METRICS]
    assert len(records) == 4
    served = estate()[2]
    stored = next(r for r in records if r["id"] == served["id"])
    assert stored == served  # ARM's answer as it came, under the id the snapshot gives it
    ok = [c for c in snap["coverage"] if c["resourceType"] == METRICS]
    assert ok and all(c["status"] == "ok" for c in ok)
    report = audit_snapshot(snap, rules=["PC-PERF-001", "PC-PERF-005"])
    assert {f.status.value for f in report.findings} == {"PASS"}


def test_a_refused_metrics_read_is_a_failed_record_naming_the_permission_and_an_error(
    fake_arm, make_options
):
    fake_arm.serve(estate())
    fake_arm.fault(r"/containerApps/api/providers/Microsoft.Insights/metrics$", status=403)
    snap = collect_snapshot(
        make_options(subscriptions=[SUB]), needs_of(select_rules(["PC-PERF-001"]))
    )
    (failed,) = [c for c in snap["coverage"] if c["status"] == "failed"]
    assert failed["resourceType"] == METRICS
    assert failed["statusCode"] == 403
    assert failed["permission"] == "Microsoft.Insights/metrics/read"
    report = audit_snapshot(snap, rules=["PC-PERF-001", "PC-OPS-008"])
    assert {f.status.value for f in report.findings if f.resource_name == "api"} == {"ERROR"}
    assert "PASS" not in {f.status.value for f in report.findings}
    assert any("Microsoft.Insights/metrics/read" in f.message for f in report.findings)


def test_throttling_on_metrics_is_retried_then_a_failed_record_never_a_pass(fake_arm, make_options):
    fake_arm.serve(estate())
    fake_arm.fault(r"/providers/Microsoft.Insights/metrics$", status=429, retry_after=0.01, times=1)
    snap = collect_snapshot(
        make_options(subscriptions=[SUB]), needs_of(select_rules(["PC-PERF-001"]))
    )
    assert all(c["status"] == "ok" for c in snap["coverage"])  # one retry was enough
    fake_arm.clear()
    fake_arm.fault(r"/providers/Microsoft.Insights/metrics$", status=429, retry_after=0.01)
    snap = collect_snapshot(
        make_options(subscriptions=[SUB]), needs_of(select_rules(["PC-PERF-001"]))
    )
    (failed,) = [c for c in snap["coverage"] if c["status"] == "failed"]
    assert failed["statusCode"] == 429 and failed["resourceType"] == METRICS
    report = audit_snapshot(snap, rules=["PC-PERF-001"])
    assert {f.status.value for f in report.findings} == {"ERROR"}


@pytest.mark.parametrize(
    "body",
    [
        '{"value": "none"}',
        "<html>busy</html>",
        '{"value": [1, 2]}',
        '{"value": [], "nextLink": "x"}',
    ],
    ids=["value-text", "html", "items-not-objects", "paged"],
)
def test_a_malformed_metrics_answer_is_a_failed_record(fake_arm, make_options, body):
    fake_arm.serve(estate())
    fake_arm.fault(r"/containerApps/api/providers/Microsoft.Insights/metrics$", body=body)
    snap = collect_snapshot(
        make_options(subscriptions=[SUB]), needs_of(select_rules(["PC-PERF-001"]))
    )
    assert [c["resourceType"] for c in snap["coverage"] if c["status"] == "failed"] == [METRICS]
    assert not [r for r in snap["resources"] if r["type"] == METRICS]


def test_the_metrics_window_sets_the_timespan_asked_for(fake_arm, make_options):
    fake_arm.serve(estate())
    options = make_options(subscriptions=[SUB], metrics_window=parse_metrics_window("36h"))
    collect_snapshot(options, needs_of(select_rules(["PC-PERF-001"])))
    (read,) = metric_reads(fake_arm)
    start, end = (
        dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
        for t in read.query["timespan"].split("/")
    )
    assert end - start == dt.timedelta(hours=36)


def test_custom_metric_names_come_from_the_rule_parameters(fake_arm, make_options):
    fake_arm.serve(estate())
    rules = select_rules(["PC-PERF-005"])
    needs = needs_of(
        rules, {"PC-PERF-005": {"stt_metric": "voice.stt,odd", "stt_namespace": "ours"}}
    )
    collect_snapshot(make_options(subscriptions=[SUB]), needs)
    (read,) = metric_reads(fake_arm)
    assert read.query["metricnamespace"] == "ours"
    assert read.query["metricnames"] == "voice.stt,odd"  # a comma splits: two names asked


def test_resources_without_metrics_cost_no_metrics_read(fake_arm, make_options):
    fake_arm.serve([resource("Microsoft.KeyVault/vaults", "kv", properties={})])
    snap = collect_snapshot(
        make_options(subscriptions=[SUB]), needs_of(select_rules(["PC-PERF-*"]))
    )
    assert metric_reads(fake_arm) == []
    assert all(c["status"] == "ok" for c in snap["coverage"])


@pytest.mark.parametrize("window", ["0h", "94d", "1w", "", "-7d", "7.5d", "٣d"])
def test_a_bad_metrics_window_is_a_user_error(window):
    with pytest.raises(UserError, match="--metrics-window"):
        parse_metrics_window(window)


def test_a_secret_in_a_metrics_answer_is_masked_in_the_snapshot(fake_arm, make_options):
    items = estate()
    planted = "Password=hunter2hunter2hunter2"
    items[2]["properties"]["value"][0]["unit"] = planted
    fake_arm.serve(items)
    snap = collect_snapshot(
        make_options(subscriptions=[SUB]), needs_of(select_rules(["PC-PERF-001"]))
    )
    assert "hunter2" not in json.dumps(snap)


# ---- the window and the parameters from the command line and prodcheck.yaml -------------------


@pytest.fixture
def asked(monkeypatch, tmp_path):
    """Live collection replaced by a recorder of what it was asked: options and parameters."""
    from builders import snapshot

    from prodcheck import api
    from prodcheck.snapshot import parse_snapshot

    monkeypatch.chdir(tmp_path)
    seen: list = []

    def fake_collect_for(options, rules, params=None):
        seen.append((options, dict(params or {})))
        return parse_snapshot(snapshot([resource(APP, "api", properties={})]), "live collection")

    monkeypatch.setattr(api, "collect_for", fake_collect_for)
    return seen


LIVE = ["--subscription", SUB, "--quiet", "-r", "PC-PERF-005"]


def test_the_window_is_a_week_unless_the_flag_or_the_file_says_otherwise(asked, tmp_path, capsys):
    from builders import run_cli

    run_cli(capsys, "audit", *LIVE)
    run_cli(capsys, "audit", *LIVE, "--metrics-window", "36h")
    (tmp_path / "prodcheck.yaml").write_text(
        "scope:\n  metrics_window: 14d\nrules:\n  params:\n    PC-PERF-005: {stt_metric: ours}\n"
    )
    run_cli(capsys, "audit", *LIVE)
    run_cli(capsys, "audit", *LIVE, "--metrics-window", "P2D")
    run_cli(capsys, "snapshot", "-o", "out.json", *LIVE)
    windows = [options.metrics_window for options, _ in asked]
    assert windows == [7 * 86400, 36 * 3600, 14 * 86400, 2 * 86400, 14 * 86400]
    assert asked[2][1]["PC-PERF-005"] == {"stt_metric": "ours"}
    assert asked[4][1]["PC-PERF-005"] == {"stt_metric": "ours"}  # snapshot reads them too


@pytest.mark.parametrize("value", ["0d", "94d", "[7d]", "7.5", "soon"])
def test_a_bad_metrics_window_in_the_file_is_one_line_naming_the_line(
    asked, tmp_path, capsys, value
):
    from builders import run_cli

    (tmp_path / "prodcheck.yaml").write_text(f"scope:\n  metrics_window: {value}\n")
    code, _, err = run_cli(capsys, "audit", *LIVE)
    assert code == 2 and asked == []
    assert "prodcheck.yaml:2" in err and "scope.metrics_window" in err
    assert len(err.strip().splitlines()) == 1


def test_a_bad_metrics_window_flag_is_exit_2_before_collecting(asked, capsys):
    from builders import run_cli

    code, _, err = run_cli(capsys, "audit", *LIVE, "--metrics-window", "forever")
    assert code == 2 and asked == [] and "--metrics-window" in err
