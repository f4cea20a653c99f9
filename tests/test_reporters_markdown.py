"""Markdown summary: snapshot-tested, and inert for hostile resource names."""

from __future__ import annotations

import os
from pathlib import Path

from fixtures.sample_report import sample_report

from prodcheck.model import Status
from prodcheck.reporters import render
from prodcheck.reporters.markdown import MAX_ROWS, code, md

SNAPSHOT = Path(__file__).parent / "fixtures" / "report.md"


def test_markdown_matches_the_snapshot():
    text = render(sample_report(), "markdown")
    if os.environ.get("PRODCHECK_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8"), (
        "the Markdown report changed; if intended, rerun with PRODCHECK_UPDATE_SNAPSHOTS=1"
    )


def test_summary_names_the_verdict_readiness_and_blocking_findings():
    text = render(sample_report(), "markdown")
    assert text.startswith("## ❌ prodcheck: gate failed")
    assert "**Readiness 29%**" in text and "**2** manual lines still await attestation" in text
    assert "### Blocking findings (3)" in text
    assert "Manual checks awaiting attestation (2)" in text
    assert "Waived findings (1)" in text
    assert "### Configuration notices" in text


def test_a_passing_report_says_so():
    report = sample_report(notices=[])
    report.findings = [f for f in report.findings if f.status == Status.PASS]
    text = render(report, "markdown")
    assert text.startswith("## ✅ prodcheck: gate passed")
    assert "Blocking findings" not in text


def test_untrusted_text_is_inert():
    assert md("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert\\(1\\)&gt;"
    assert "@\u200b" not in md("@team")  # the zero-width space is an entity, not a raw char
    assert md("@team") == "@&#8203;team"
    assert md("see #12") == "see #&#8203;12"
    assert md("https://evil.example") == "https:&#8203;//evil.example"
    assert md("[x](javascript:alert(1))") == "\\[x\\]\\(javascript:alert\\(1\\)\\)"
    assert md("a|b\nc") == "a\\|b c"
    assert code("a`b|c") == "``a`b\\|c``"
    assert code("`x`") == "`` `x` ``"
    assert code("a|b", in_table=False) == "`a|b`"


def test_repeated_findings_of_one_rule_are_one_row_and_long_lists_are_cut():
    report = sample_report()
    base = report.findings[0]
    from dataclasses import replace

    report.findings = [
        replace(base, resource_id=f"{base.resource_id}-{i}", resource_name=f"res-{i}")
        for i in range(18)
    ]
    text = render(report, "markdown")
    assert f"`{base.rule_id}` on 18 resources" in text
    assert "and 15 more | 18 findings, e.g." in text
    assert text.count(f"`{base.rule_id}`") == 1

    report.findings = [
        replace(base, rule_id=f"PC-X-{i:03d}", resource_id=f"{base.resource_id}-{i}")
        for i in range(MAX_ROWS + 5)
    ]
    text = render(report, "markdown")
    assert "…and 5 more rules: see the full report." in text


def test_the_summary_links_to_the_full_report_when_given_its_url():
    from prodcheck.reporters import RenderOptions

    url = "https://github.com/o/r/actions/runs/1/artifacts/2"
    text = render(sample_report(), "markdown", RenderOptions(report_url=url))
    assert f"**[Full report]({url})**" in text
    hostile = "javascript:alert(1)"
    text = render(sample_report(), "markdown", RenderOptions(report_url=hostile))
    assert "Full report" not in text and "javascript" not in text


def test_a_report_url_that_is_not_http_is_a_usage_error(capsys):
    from builders import run_cli

    code, _, err = run_cli(
        capsys, "audit", "--demo", "-f", "markdown", "--report-url", "https://x/a b)"
    )
    assert code == 2 and "--report-url" in err
