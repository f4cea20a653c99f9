"""Performance: the guide's key metrics from Azure Monitor against its targets (PC-PERF-001 to
PC-PERF-007), and the baselines they make (PC-OPS-008)."""

from __future__ import annotations

import json

import pytest
from builders import SUB, arm, metric_item, metrics_record, run, run_cli, snapshot, statuses
from hypothesis import given, settings
from hypothesis import strategies as st

from prodcheck.api import audit_snapshot, needs_of, select_rules
from prodcheck.reporters import html as html_report

APP = "Microsoft.App/containerApps"
AI = "microsoft.insights/components"
REDIS_E = "Microsoft.Cache/redisEnterprise"
CUSTOM = "azure.applicationinsights"
STT = "speech_cascade.stt.recognition"


def app(name: str = "api") -> dict:
    return arm(APP, name)


def ai(name: str = "ai-prod") -> dict:
    return arm(AI, name)


def cpu_record(resource: dict, cpu: list, memory: list | None = None) -> dict:
    items = [metric_item(resource["id"], "CpuPercentage", cpu)]
    items.append(metric_item(resource["id"], "MemoryPercentage", memory or [40.0] * len(cpu)))
    return metrics_record(resource, APP, items)


def test_cpu_under_target_passes_with_the_figures_and_over_target_fails():
    calm, busy = app("calm"), app("busy")
    resources = [
        calm,
        cpu_record(calm, [30.0] * 100 + [65.0] * 4),
        busy,
        cpu_record(busy, [40.0] * 90 + [85.0] * 10),
    ]
    findings = [f for f in run("PC-PERF-001", resources) if f.subject == "cpu"]
    assert statuses(findings) == {"calm": "PASS", "busy": "FAIL"}
    failing = next(f for f in findings if f.resource_name == "busy")
    assert "95th percentile of the hourly averages 85 %" in failing.message
    assert "misses < 70 %" in failing.message
    assert failing.evidence["value"] == 85.0
    assert failing.evidence["hours with data"] == 100
    assert failing.evidence["series"]["target"] == 70.0
    assert len(failing.evidence["series"]["values"]) == 100


def test_cpu_and_memory_are_separate_findings_of_one_app():
    api = app()
    findings = run("PC-PERF-001", [api, cpu_record(api, [20.0] * 24, [90.0] * 24)])
    by_subject = {f.subject: f.status.value for f in findings}
    assert by_subject == {"cpu": "PASS", "memory": "FAIL"}


def test_target_and_percentile_are_parameters():
    api = app()
    resources = [api, cpu_record(api, [50.0] * 95 + [90.0] * 5)]
    assert run("PC-PERF-001", resources)[0].status.value == "PASS"
    strict = run("PC-PERF-001", resources, params={"percentile": 100.0})
    assert next(f for f in strict if f.subject == "cpu").status.value == "FAIL"
    loose = run("PC-PERF-001", resources, params={"percentile": 100.0, "cpu_max_percent": 95.0})
    assert next(f for f in loose if f.subject == "cpu").status.value == "PASS"


def test_no_data_points_in_the_window_stays_manual_and_says_why():
    api = app()
    findings = run("PC-PERF-001", [api, cpu_record(api, [None] * 168, [None] * 168)])
    assert {f.status.value for f in findings} == {"MANUAL"}
    assert "no data points in 2026-11-19T09:00:00Z/2026-11-26T09:00:00Z" in findings[0].message
    assert "load test" in findings[0].message


def test_an_app_without_any_metrics_record_stays_manual_on_a_complete_snapshot():
    findings = run("PC-PERF-001", [app()])
    assert {f.status.value for f in findings} == {"MANUAL"}


def test_redis_and_managed_redis_are_judged_on_their_hourly_maxima():
    cache = arm(REDIS_E, "redis-prod")
    classic = arm("Microsoft.Cache/redis", "redis-old")
    resources = [
        cache,
        metrics_record(
            cache,
            REDIS_E,
            [metric_item(cache["id"], "usedmemorypercentage", [35.0] * 48, aggregation="maximum")],
        ),
        classic,
        metrics_record(
            classic,
            "Microsoft.Cache/redis",
            [
                metric_item(
                    classic["id"], "usedmemorypercentage", [78.0] * 48, aggregation="maximum"
                )
            ],
        ),
    ]
    assert statuses(run("PC-PERF-002", resources)) == {"redis-prod": "PASS", "redis-old": "FAIL"}


def test_server_response_time_in_milliseconds_against_two_and_a_half_seconds():
    comp = ai()
    slow = metric_item(comp["id"], "requests/duration", [3400.0] * 24, unit="MilliSeconds")
    findings = run("PC-PERF-003", [comp, metrics_record(comp, AI, [slow])])
    assert findings[0].status.value == "FAIL"
    assert "3.40 s" in findings[0].message and "misses < 2.50 s" in findings[0].message


def test_availability_is_the_mean_over_the_window_and_must_reach_the_target():
    comp = ai()
    name = "availabilityResults/availabilityPercentage"
    good = metric_item(comp["id"], name, [100.0] * 999 + [98.0])  # one bad hour: 99.998 %
    assert run("PC-PERF-004", [comp, metrics_record(comp, AI, [good])])[0].status.value == "PASS"
    bad = metric_item(comp["id"], name, [100.0] * 90 + [98.0] * 10)  # 99.8 %
    findings = run("PC-PERF-004", [comp, metrics_record(comp, AI, [bad])])
    assert findings[0].status.value == "FAIL" and "misses >= 99.90 %" in findings[0].message


def test_stt_latency_reads_the_accelerators_custom_metric_and_converts_seconds():
    comp = ai()
    in_ms = metric_item(comp["id"], STT, [300.0] * 24, unit="Unspecified")
    assert run("PC-PERF-005", [comp, metrics_record(comp, CUSTOM, [in_ms])])[0].status.value == (
        "PASS"
    )
    in_seconds = metric_item(comp["id"], STT, [0.7] * 24, unit="Seconds")
    findings = run("PC-PERF-005", [comp, metrics_record(comp, CUSTOM, [in_seconds])])
    assert findings[0].status.value == "FAIL" and "700 ms" in findings[0].message


def test_custom_metric_names_and_namespaces_are_parameters():
    comp = ai()
    ours = metric_item(comp["id"], "voice.tts.ms", [400.0] * 24)
    resources = [comp, metrics_record(comp, "voice", [ours])]
    assert run("PC-PERF-006", resources)[0].status.value == "MANUAL"
    params = {"tts_namespace": "voice", "tts_metric": "voice.tts.ms"}
    assert run("PC-PERF-006", resources, params=params)[0].status.value == "PASS"


def test_a_metric_of_another_namespace_is_not_taken_for_the_one_asked():
    comp = ai()
    elsewhere = metric_item(comp["id"], STT, [100.0] * 24)
    findings = run("PC-PERF-005", [comp, metrics_record(comp, "other.namespace", [elsewhere])])
    assert findings[0].status.value == "MANUAL"


def test_call_drop_is_manual_until_the_workload_emits_it_then_judged_on_the_mean():
    comp = ai()
    assert run("PC-PERF-007", [comp])[0].status.value == "MANUAL"
    drops = metric_item(comp["id"], "voice.call_drop_rate", [0.5] * 20 + [3.0] * 4)
    findings = run("PC-PERF-007", [comp, metrics_record(comp, CUSTOM, [drops])])
    assert findings[0].status.value == "PASS"  # mean 0.92 %
    worse = metric_item(comp["id"], "voice.call_drop_rate", [0.5] * 12 + [3.0] * 12)
    assert run("PC-PERF-007", [comp, metrics_record(comp, CUSTOM, [worse])])[0].status.value == (
        "FAIL"
    )


# ---- fail closed ----------------------------------------------------------------------------


def _denied(scope: str) -> dict:
    return {
        "resourceType": "Microsoft.Insights/metrics",
        "scope": scope,
        "status": "failed",
        "statusCode": 403,
        "errorCode": "AuthorizationFailed",
        "permission": "Microsoft.Insights/metrics/read",
    }


def _ok(resource_type: str, scope: str) -> dict:
    return {"resourceType": resource_type, "scope": scope, "status": "ok"}


def test_a_metrics_read_refused_is_error_naming_the_permission_not_manual():
    api = app()
    coverage = [_ok(APP, f"/subscriptions/{SUB}"), _denied(api["id"])]
    findings = run("PC-PERF-001", [api], coverage=coverage)
    assert {f.status.value for f in findings} == {"ERROR"}
    assert any("Microsoft.Insights/metrics/read" in f.message for f in findings)


def test_a_refused_read_elsewhere_leaves_the_other_apps_verdicts_alone():
    api, other = app("api"), app("other")
    coverage = [_ok(APP, f"/subscriptions/{SUB}"), _denied(other["id"])]
    coverage.append(_ok("Microsoft.Insights/metrics", api["id"]))
    findings = run("PC-PERF-001", [api, cpu_record(api, [20.0] * 10), other], coverage=coverage)
    assert {f.status.value for f in findings if f.resource_name == "api"} == {"PASS"}
    assert {f.status.value for f in findings if f.resource_name == "other"} == {"ERROR"}


@pytest.mark.parametrize(
    "where",
    ["/", f"/subscriptions/{SUB}", f"/subscriptions/{SUB}/resourceGroups/rg-app"],
    ids=["everything audited", "the subscription", "the resource group"],
)
def test_a_metrics_read_refused_above_the_app_is_error_not_no_data(where):
    api, other = app("api"), app("other")
    coverage = [_ok(APP, f"/subscriptions/{SUB}"), _ok("Microsoft.Insights/metrics", api["id"])]
    coverage.append(_denied(where))
    findings = run("PC-PERF-001", [api, other], coverage=coverage)
    assert {f.status.value for f in findings if f.resource_name == "other"} == {"ERROR"}


def test_a_metrics_read_refused_in_another_group_leaves_no_data_manual():
    api = app("api")
    coverage = [_ok(APP, f"/subscriptions/{SUB}"), _ok("Microsoft.Insights/metrics", api["id"])]
    coverage.append(_denied(f"/subscriptions/{SUB}/resourceGroups/rg-elsewhere"))
    findings = run("PC-PERF-001", [api], coverage=coverage)
    assert {f.status.value for f in findings if f.resource_name == "api"} == {"MANUAL"}


def test_metrics_never_collected_are_error_not_an_idle_workload():
    api = app()
    findings = run("PC-PERF-001", [api], coverage=[_ok(APP, f"/subscriptions/{SUB}")])
    assert findings and {f.status.value for f in findings} == {"ERROR"}


def test_data_that_reports_an_error_is_error():
    comp = ai()
    item = metric_item(comp["id"], "requests/duration", [100.0])
    item["errorCode"] = "Throttled"
    item["errorMessage"] = "too many requests"
    findings = run("PC-PERF-003", [comp, metrics_record(comp, AI, [item])])
    assert findings[0].status.value == "ERROR" and "Throttled" in findings[0].message


@pytest.mark.parametrize(
    "hostile",
    ["NaN", "1e400", float("inf"), True, {"x": 1}, [1], "50"],
    ids=["nan-text", "huge-text", "inf", "bool", "object", "list", "text"],
)
def test_a_value_that_is_not_a_finite_number_is_error_never_a_pass(hostile):
    api = app()
    values = [20.0] * 10 + [hostile]
    findings = run("PC-PERF-001", [api, cpu_record(api, values)])
    cpu = next(f for f in findings if f.subject == "cpu")
    assert cpu.status.value == "ERROR", cpu.message


@pytest.mark.parametrize(
    "mangle",
    [
        lambda r: r["properties"].pop("value"),
        lambda r: r["properties"].__setitem__("value", "none"),
        lambda r: r["properties"]["value"][0].__setitem__("timeseries", {"data": []}),
        lambda r: r["properties"]["value"][0]["timeseries"][0].__setitem__("data", "x"),
        lambda r: r["properties"]["value"][0]["timeseries"][0]["data"].append("point"),
    ],
    ids=["no-value", "value-text", "timeseries-object", "data-text", "point-text"],
)
def test_a_malformed_metrics_record_is_error(mangle):
    api = app()
    record = cpu_record(api, [20.0] * 10)
    mangle(record)
    findings = run("PC-PERF-001", [api, record])
    assert "ERROR" in {f.status.value for f in findings if f.subject == "cpu"}
    assert "PASS" not in {f.status.value for f in findings if f.subject == "cpu"}


def test_null_and_empty_time_series_are_no_data_not_errors():
    api = app()
    record = cpu_record(api, [20.0])
    record["properties"]["value"][0]["timeseries"] = []
    record["properties"]["value"][1]["timeseries"] = None
    findings = run("PC-PERF-001", [api, record])
    assert {f.status.value for f in findings} == {"MANUAL"}


def test_a_year_of_minutes_is_judged_and_charted_in_a_bounded_number_of_points():
    api = app()
    values = [30.0] * 500_000 + [99.0] * 100
    findings = run("PC-PERF-001", [api, cpu_record(api, values, [10.0])])
    cpu = next(f for f in findings if f.subject == "cpu")
    assert cpu.status.value == "PASS"
    assert cpu.evidence["hours with data"] == 500_100
    chart = cpu.evidence["series"]["values"]
    assert len(chart) == 168 and max(chart) == 99.0  # the worst of each bucket is kept


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=100)), max_size=60))
def test_any_hourly_values_give_one_verdict_per_metric_matching_the_percentile(values):
    api = app()
    findings = run("PC-PERF-001", [api, cpu_record(api, values, values)])
    cpu = next(f for f in findings if f.subject == "cpu")
    present = sorted(v for v in values if v is not None)
    if not present:
        assert cpu.status.value == "MANUAL"
    else:
        p95 = present[max(-(-95 * len(present) // 100), 1) - 1]
        assert cpu.status.value == ("PASS" if p95 < 70 else "FAIL")


# ---- secrets and the report ----------------------------------------------------------------

PLANTED = "AccountKey=c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=="


@pytest.mark.parametrize("fmt", ["json", "html", "terminal", "sarif", "markdown"])
def test_a_secret_planted_in_a_metric_name_or_unit_reaches_no_report(tmp_path, capsys, fmt):
    comp = ai()
    item = metric_item(comp["id"], "requests/duration", [3000.0] * 5, unit=f"ms;{PLANTED}")
    item["errorMessage"] = PLANTED
    record = metrics_record(comp, AI, [item])
    record["properties"]["timespan"] = f"{PLANTED}/x"
    stt = metric_item(comp["id"], f"stt;{PLANTED}", [900.0] * 5, unit=PLANTED)
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(snapshot([comp, record, metrics_record(comp, CUSTOM, [stt])])))
    config = tmp_path / "prodcheck.yaml"
    config.write_text(f'rules:\n  params:\n    PC-PERF-005: {{stt_metric: "stt;{PLANTED}"}}\n')
    out = tmp_path / f"report.{fmt}"
    args = ["audit", "--snapshot", str(path), "--config", str(config), "-r", "PC-PERF-*"]
    code, stdout, stderr = run_cli(capsys, *args, "-r", "PC-OPS-008", "-f", fmt, "-o", str(out))
    assert code == 1, stderr
    written = out.read_text(encoding="utf-8") + stdout + stderr
    assert "PC-PERF-005" in written and "PC-PERF-003" in written
    assert PLANTED.split("=", 1)[1] not in written


def test_the_html_report_draws_metric_findings_as_a_chart_against_the_target():
    comp = ai()
    slow = metric_item(comp["id"], "requests/duration", [1000.0, 3000.0, 2000.0])
    report = audit_snapshot(
        snapshot([comp, metrics_record(comp, AI, [slow])]), rules=["PC-PERF-003"]
    )
    data = html_report._data(report, set())
    finding = next(f for f in data["findings"] if f[4].startswith("server response time"))
    assert finding[10] == [2500.0, 1, [1000.0, 3000.0, 2000.0]]


def test_live_collection_fills_custom_metric_names_from_the_parameters():
    rules = [r for r in select_rules(["PC-PERF-005"])]
    assert any(
        "metricnamespace=azure.applicationinsights&metricnames=speech_cascade.stt.recognition" in n
        for n in needs_of(rules)
    )
    needs = needs_of(rules, {"PC-PERF-005": {"stt_metric": "our stt&x=1", "stt_namespace": "v"}})
    assert any(n.endswith("metrics?metricnamespace=v&metricnames=our%20stt%26x%3D1") for n in needs)


# ---- PC-OPS-008: baselines ------------------------------------------------------------------


def test_baselines_pass_when_every_key_metric_has_data_and_say_how_many_hours():
    api = app()
    findings = run("PC-OPS-008", [api, cpu_record(api, [20.0] * 30 + [None] * 10)])
    assert findings[0].status.value == "PASS"
    assert "CPU 30 h" in findings[0].message


def test_baselines_stay_manual_naming_the_metrics_without_data():
    api, comp = app(), ai()
    findings = run("PC-OPS-008", [api, cpu_record(api, [20.0] * 30), comp])
    assert findings[0].status.value == "MANUAL"
    assert "end-to-end (ai-prod)" in findings[0].message
    assert "CPU" not in findings[0].evidence["no data"]


def test_baselines_on_unreadable_metrics_are_error():
    api = app()
    coverage = [_ok(APP, f"/subscriptions/{SUB}"), _denied(api["id"])]
    findings = run("PC-OPS-008", [api], coverage=coverage)
    assert {f.status.value for f in findings} == {"ERROR"}
