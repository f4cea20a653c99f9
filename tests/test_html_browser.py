"""The HTML report in a real browser: Debian's headless Chromium driven by Playwright.

Runs wherever /usr/bin/chromium exists, and always in CI (`.ci/run` installs Chromium, and a
missing browser there is a failure, not a skip). A screenshot of the demo report is saved to
test-artifacts/ for reviewers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.sample_report import IMG_NAME, SCRIPT_NAME, sample_report

from prodcheck.engine import audit
from prodcheck.registry import Registry
from prodcheck.reporters import render
from prodcheck.snapshot import load_demo

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed at /usr/bin/chromium (CI installs it)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def demo_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = audit(load_demo("flat"), Registry.load(plugins=False).all())
    path = tmp_path_factory.mktemp("html") / "demo-report.html"
    path.write_text(render(report, "html"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "hostile-report.html"
    path.write_text(render(sample_report(), "html"), encoding="utf-8")
    return path


class Page:
    """A page with everything the browser logged and requested recorded."""

    def __init__(self, browser, path: Path, **context_options) -> None:
        self.context = browser.new_context(
            viewport={"width": 1280, "height": 900}, **context_options
        )
        self.requests: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.url = path.as_uri()
        self.page.goto(self.url)
        self.page.wait_for_load_state("load")

    def visible_findings(self) -> int:
        return self.page.locator("details.finding:visible").count()

    def expand_all(self) -> None:
        """Open every rule and every folded list of passing findings, and wait until the
        script has rendered them (it renders on the `toggle` event, which comes later)."""
        self.page.get_by_role("button", name="Expand all").click()
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('details.rule[open]:not([hidden])')]"
            ".every(d => d.querySelector('.rule-findings').childElementCount > 0)"
        )
        self.page.evaluate(
            "() => document.querySelectorAll('details.quiet').forEach(d => d.open = true)"
        )
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('details.quiet')]"
            ".every(d => d.querySelector('div').childElementCount > 0)"
        )

    def open_findings(self) -> None:
        self.page.evaluate(
            "() => document.querySelectorAll('details.finding').forEach(d => d.open = true)"
        )
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('details.finding')]"
            ".every(d => d.querySelector('.finding-body'))"
        )

    def shown(self, expected: int | None = None) -> int:
        """The number of findings the filters let through (waiting for `expected`, if given)."""
        if expected is not None:
            self.page.wait_for_function(
                "n => document.getElementById('shown-count').textContent.startsWith('Showing ' + n + ' ')",
                arg=expected,
            )
        return int(self.page.locator("#shown-count").inner_text().split()[1])

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_page(browser) -> Iterator:
    pages: list[Page] = []

    def _open(path: Path, **options) -> Page:
        page = Page(browser, path, **options)
        pages.append(page)
        return page

    yield _open
    for p in pages:
        p.close()


def test_demo_report_loads_cleanly_offline_and_is_screenshotted(open_page, demo_html):
    p = open_page(demo_html)
    assert p.errors == []
    assert [m for m in p.console if m[0] in ("error", "warning")] == []
    assert p.requests == [p.url]  # nothing but the file itself
    assert p.page.locator("h1").count() == 1
    assert "Gate failed" in p.page.locator(".verdict").inner_text()
    assert p.page.locator("#filters").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    p.page.screenshot(path=str(ARTIFACTS / "html-report-demo.png"), full_page=False)
    p.page.screenshot(path=str(ARTIFACTS / "html-report-demo-full.png"), full_page=True)


def test_dark_mode_follows_the_system_preference(open_page, demo_html):
    light = open_page(demo_html, color_scheme="light")
    dark = open_page(demo_html, color_scheme="dark")

    def background(p: Page) -> str:
        return p.page.evaluate("getComputedStyle(document.body).backgroundColor")

    assert background(light) == "rgb(255, 255, 255)"
    assert background(dark) != background(light)
    ARTIFACTS.mkdir(exist_ok=True)
    dark.page.screenshot(path=str(ARTIFACTS / "html-report-demo-dark.png"))
    assert dark.console == [] and dark.requests == [dark.url]


def test_the_page_opens_on_the_blocking_findings_with_their_fix(open_page, demo_html):
    p = open_page(demo_html)
    first_heading = p.page.locator("main h2").first.inner_text()
    assert first_heading.startswith("Blocking findings")
    group = p.page.locator("details.bgroup").first
    summary = group.locator("summary").inner_text()
    assert "PC-NET-004" in summary and "Fix:" in summary
    assert p.page.locator("details.finding").count() == 0  # nothing rendered until opened
    group.locator("summary").click()
    group.locator("details.finding").first.wait_for()
    assert not group.locator(".names").is_visible()


def test_status_filter_changes_what_is_shown(open_page, hostile_html):
    p = open_page(hostile_html)
    p.expand_all()
    total = len(sample_report().findings)
    assert p.page.locator("#checklist details.finding").count() == total
    assert "Showing 8 of 8 findings." in p.page.locator("#shown-count").inner_text()
    p.page.get_by_label("Fail", exact=True).uncheck()
    assert p.page.locator("#checklist details.finding[data-status='FAIL']").count() == 0
    p.page.get_by_role("button", name="Problems only").click()
    statuses = p.page.locator("#checklist details.finding:visible").evaluate_all(
        "els => els.map(e => e.dataset.status)"
    )
    assert sorted(statuses) == ["ERROR", "FAIL", "FAIL"]
    p.page.get_by_role("button", name="Show all").click()
    p.expand_all()
    assert p.page.locator("#checklist details.finding").count() == total


def test_severity_section_subscription_group_and_text_filters(open_page, hostile_html):
    p = open_page(hostile_html)
    p.expand_all()

    def shown(expected: int | None = None) -> int:
        return p.shown(expected)

    total = shown()
    p.page.get_by_label("high", exact=True).uncheck()
    assert 0 < shown() < total
    p.expand_all()
    assert p.page.locator("#checklist details.finding[data-severity='high']").count() == 0
    p.page.get_by_label("high", exact=True).check()

    p.page.get_by_label("Section").select_option("Go-Live")
    assert shown() == 1
    assert p.page.locator("section.section:visible").count() == 1
    p.page.get_by_label("Section").select_option("")

    p.page.get_by_label("Resource group").select_option("rg-data")
    assert shown() == 2
    p.page.get_by_label("Resource group").select_option("")

    p.page.get_by_label("Subscription").select_option(index=1)
    assert 0 < shown() <= total
    p.page.get_by_label("Subscription").select_option("")

    p.page.get_by_label("Search").fill("ca-backend")
    assert shown(1) == 1  # the search box waits for typing to pause, then filters
    p.page.get_by_label("Search").fill("no such thing anywhere")
    assert shown(0) == 0
    assert p.page.locator("#no-match").is_visible()


def test_expanding_a_finding_shows_its_evidence_and_remediation(open_page, hostile_html):
    p = open_page(hostile_html)
    rule = p.page.locator("details.rule[data-rule='PC-NET-001']")
    rule.locator("summary").click()
    finding = rule.locator("details.finding[data-status='FAIL']").first
    finding.wait_for()
    assert finding.locator(".evidence").count() == 0  # rendered when opened
    finding.locator("summary").click()
    evidence = finding.locator(".evidence")
    evidence.wait_for(state="visible")
    assert "properties.publicNetworkAccess" in evidence.inner_text()
    assert "Enabled" in evidence.inner_text()
    assert finding.locator(".remediation").is_visible()
    assert finding.locator(".links a").first.get_attribute("href").startswith("https://")
    assert finding.locator(".links a").count() == 1  # javascript: stays text


def test_remediation_commands_show_as_code_to_paste(open_page, demo_html):
    p = open_page(demo_html)
    rule = p.page.locator("details.rule[data-rule='PC-KV-002']")
    rule.locator("summary").click()
    rule.locator("details.finding summary").first.click()
    pre = rule.locator(".remediation pre[data-lang='sh']")
    pre.first.wait_for()
    assert pre.count() == 1
    assert pre.inner_text().startswith("az keyvault update -n kv-")
    assert "```" not in rule.locator(".remediation").inner_text()


def test_passing_findings_stay_collapsed_until_asked_for(open_page, demo_html):
    p = open_page(demo_html)
    rule = p.page.locator("details.rule[data-rule='PC-NET-004']")
    rule.locator("summary").click()
    quiet = rule.locator("details.quiet")
    quiet.wait_for()
    assert quiet.count() == 1 and "passing or not applicable" in quiet.inner_text()
    assert rule.locator("details.finding[data-status='PASS']").count() == 0
    quiet.locator("summary").click()
    rule.locator("details.finding[data-status='PASS']").first.wait_for()


def test_xss_resource_names_render_as_text(open_page, hostile_html):
    p = open_page(hostile_html)
    p.expand_all()
    p.open_findings()
    names = p.page.locator(".resource-name").all_inner_texts()
    assert SCRIPT_NAME in names
    assert IMG_NAME in names
    assert p.dialogs == []
    assert p.page.locator("img").count() == 0
    assert p.page.locator("script:not([type='application/json'])").count() == 1
    assert p.errors == [] and p.requests == [p.url]
    assert [m for m in p.console if m[0] == "error"] == []


def test_works_with_javascript_disabled(open_page, hostile_html):
    p = open_page(hostile_html, java_script_enabled=False)
    report = sample_report()
    groups = p.page.locator("details.bgroup")
    assert groups.count() == len({f.rule_id for f in report.blocking()})
    groups.first.locator("summary").click()
    assert groups.first.locator(".names").is_visible()
    assert p.page.locator("details.rule").count() == len(report.rules)
    assert not p.page.locator("#filter-panel").is_visible()
    assert p.requests == [p.url]


def test_print_puts_blocking_findings_first_and_says_when_filtered(open_page, hostile_html):
    p = open_page(hostile_html)
    p.page.get_by_label("Section").select_option("Pre-Production")
    note = p.page.locator("#print-filter")
    p.page.emulate_media(media="print")
    assert not p.page.locator("#filter-panel").is_visible()
    assert note.is_visible() and "Filtered printout" in note.inner_text()
    assert "section Pre-Production" in note.inner_text()
    pdf = p.page.pdf()  # printing runs the beforeprint handler: blocking findings print in full
    assert pdf.startswith(b"%PDF")
    p.page.emulate_media(media="screen")
    p.page.get_by_label("Section").select_option("")
    assert not note.is_visible()


def test_on_a_phone_the_filters_fold_away(browser, hostile_html):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(hostile_html.as_uri())
    panel = page.locator("#filter-panel")
    assert panel.is_visible() and panel.evaluate("d => d.open") is False
    box = panel.bounding_box()
    assert box is not None and box["height"] < 0.15 * 844
    page.mouse.wheel(0, 2000)
    page.wait_for_timeout(100)
    assert (
        page.evaluate("getComputedStyle(document.getElementById('filter-panel')).position")
        != "sticky"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "html-report-390px.png"))
    context.close()


def test_an_estate_of_5000_resources_opens_and_filters(open_page, tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from generate import generate

    from prodcheck import api

    report = api.audit_snapshot(generate(5000))
    path = tmp_path / "estate.html"
    path.write_text(render(report, "html"), encoding="utf-8")
    p = open_page(path)
    assert p.errors == []
    assert f"of {len(report.findings)} findings" in p.page.locator("#shown-count").inner_text()
    group = p.page.locator("details.bgroup").first
    group.locator("summary").click()
    group.locator("details.finding").first.wait_for()
    assert group.locator("details.finding").count() == min(
        200, int(group.locator(".count").get_attribute("data-total"))
    )
    p.page.get_by_label("Search").fill("rg-bench-1")
    p.page.wait_for_function(
        "n => !document.getElementById('shown-count').textContent.includes('Showing ' + n + ' ')",
        arg=len(report.findings),
    )
    assert 0 < p.shown() < len(report.findings)


CONTRAST_JS = """
() => {
  function rgb(s) { const m = s.match(/[\\d.]+/g).map(Number); return m.length > 3 ? m : m.concat([1]); }
  function lum(c) {
    const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function background(el) {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { return c; }
    }
    return [255, 255, 255, 1];
  }
  const worst = [];
  const selector = "h1, h2, h3, h4, h5, p, dt, dd, th, td, label, legend, summary span, .badge, .sev, .muted, a, code, pre, button, select, input";
  for (const el of document.querySelectorAll(selector)) {
    if (!el.offsetParent && el.tagName !== "BODY") { continue; }
    const fg = lum(rgb(getComputedStyle(el).color));
    const bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) { worst.push([el.tagName, el.className, el.textContent.slice(0, 30), ratio.toFixed(2)]); }
  }
  return worst;
}
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_meets_wcag_aa_in_both_colour_schemes(open_page, hostile_html, scheme):
    p = open_page(hostile_html, color_scheme=scheme)
    p.expand_all()
    p.open_findings()
    assert p.page.evaluate(CONTRAST_JS) == []


def test_the_subscription_filter_shows_one_subscriptions_findings(open_page, tmp_path):
    from test_tenant_reports import SUB2, two_subscriptions

    from prodcheck.api import audit_snapshot

    report = audit_snapshot(two_subscriptions(), rules=["PC-KV-*"])
    path = tmp_path / "tenant-report.html"
    path.write_text(render(report, "html"), encoding="utf-8")
    p = open_page(path)
    total = p.shown()
    assert total == len(report.findings)
    wanted = sum(1 for f in report.findings if f.subscription_id == SUB2)
    p.page.get_by_label("Subscription").select_option(SUB2)
    assert 0 < p.shown(wanted) == wanted < total
    p.expand_all()
    shown = p.page.locator("#checklist details.finding:visible").count()
    assert shown == wanted


def test_a_metric_finding_draws_its_hourly_values_against_the_target(open_page, demo_html):
    p = open_page(demo_html)
    rule = p.page.locator("details.rule[data-rule='PC-PERF-003']")
    rule.locator("summary").click()
    finding = rule.locator("details.finding[data-status='FAIL']").first
    finding.locator("summary").click()
    chart = finding.locator(".evidence svg.sparkline")
    chart.wait_for(state="visible")
    assert chart.locator("line.target").count() == 1
    points = chart.locator("polyline.values").get_attribute("points") or ""
    assert len(points.split()) == 45  # the flat demo's hours with requests in its week
    assert "target 2500" in (chart.locator("title").text_content() or "")
    assert p.errors == [] and [m for m in p.console if m[0] == "error"] == []
    ARTIFACTS.mkdir(exist_ok=True)
    finding.screenshot(path=str(ARTIFACTS / "html-report-metric-chart.png"))
