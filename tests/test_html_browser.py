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
        return self.page.locator("li.finding-wrap:visible").count()

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


def test_status_filter_changes_what_is_shown(open_page, hostile_html):
    p = open_page(hostile_html)
    total = p.visible_findings()
    assert total == len(sample_report().findings)
    assert "Showing 8 of 8 findings." in p.page.locator("#shown-count").inner_text()
    p.page.get_by_label("Fail", exact=True).uncheck()
    assert p.visible_findings() == total - 2
    assert p.page.locator("details.finding[data-status='FAIL']:visible").count() == 0
    p.page.get_by_role("button", name="Problems only").click()
    statuses = p.page.locator("li.finding-wrap:visible details").evaluate_all(
        "els => els.map(e => e.dataset.status)"
    )
    assert sorted(statuses) == ["ERROR", "FAIL", "FAIL"]
    p.page.get_by_role("button", name="Show all").click()
    assert p.visible_findings() == total


def test_severity_section_group_and_text_filters(open_page, hostile_html):
    p = open_page(hostile_html)
    total = p.visible_findings()
    p.page.get_by_label("high", exact=True).uncheck()
    assert p.page.locator("details.finding[data-severity='high']:visible").count() == 0
    assert 0 < p.visible_findings() < total
    p.page.get_by_label("high", exact=True).check()

    p.page.get_by_label("Section").select_option("Go-Live")
    assert p.visible_findings() == 1
    assert p.page.locator("section.section:visible").count() == 1
    p.page.get_by_label("Section").select_option("")

    p.page.get_by_label("Resource group").select_option("rg-data")
    assert p.visible_findings() == 2
    p.page.get_by_label("Resource group").select_option("")

    p.page.get_by_label("Search").fill("ca-backend")
    assert p.visible_findings() == 1
    p.page.get_by_label("Search").fill("no such thing anywhere")
    assert p.visible_findings() == 0
    assert p.page.locator("#no-match").is_visible()


def test_expanding_a_finding_shows_its_evidence_and_remediation(open_page, hostile_html):
    p = open_page(hostile_html)
    finding = p.page.locator("details.finding[data-status='FAIL']").first
    evidence = finding.locator(".evidence")
    assert not evidence.is_visible()  # collapsed to one line when JavaScript runs
    finding.locator("summary").click()
    assert evidence.is_visible()
    assert "properties.publicNetworkAccess" in evidence.inner_text()
    assert "Enabled" in evidence.inner_text()
    assert finding.locator(".remediation").is_visible()
    assert finding.locator(".links a").first.get_attribute("href").startswith("https://")


def test_xss_resource_names_render_as_text(open_page, hostile_html):
    p = open_page(hostile_html)
    p.page.get_by_role("button", name="Expand all").click()
    names = p.page.locator(".resource-name").all_inner_texts()
    assert SCRIPT_NAME in names
    assert IMG_NAME in names
    assert p.dialogs == []
    assert p.page.locator("img").count() == 0
    assert p.page.locator("script").count() == 1
    assert p.errors == [] and p.requests == [p.url]
    assert [m for m in p.console if m[0] == "error"] == []


def test_works_with_javascript_disabled(open_page, hostile_html):
    p = open_page(hostile_html, java_script_enabled=False)
    assert p.visible_findings() == len(sample_report().findings)
    evidence = p.page.locator("details.finding .evidence")
    assert evidence.count() == len(sample_report().findings)
    assert all(evidence.nth(i).is_visible() for i in range(evidence.count()))
    assert not p.page.locator("#filters").is_visible()
    assert p.requests == [p.url]


def test_print_layout_hides_the_controls(open_page, hostile_html):
    p = open_page(hostile_html)
    p.page.emulate_media(media="print")
    assert not p.page.locator("#filters").is_visible()
    pdf = p.page.pdf()  # printing runs the beforeprint handler: findings print expanded
    assert pdf.startswith(b"%PDF")


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
    p.page.get_by_role("button", name="Expand all").click()
    assert p.page.evaluate(CONTRAST_JS) == []
