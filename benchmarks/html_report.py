"""The HTML report benchmark: page size and speed in a real browser (Debian's Chromium).

Audits synthetic subscriptions of N resources (benchmarks/generate.py), renders the HTML report,
opens it in headless Chromium and measures: the file's size, first contentful paint, the time
until the page is interactive (the load event, after the report's script has run), the time one
keystroke in the search box takes to filter, and the time to open the largest blocking group.
Prints a Markdown table.

    .venv/bin/python benchmarks/html_report.py --sizes 1000 5000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "src")]

from generate import generate  # noqa: E402

from prodcheck import api  # noqa: E402
from prodcheck.reporters import render  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def measure(browser, n: int, directory: Path) -> dict[str, float]:
    report = api.audit_snapshot(generate(n))
    started = time.perf_counter()
    page_text = render(report, "html")
    render_s = time.perf_counter() - started
    path = directory / f"report-{n}.html"
    path.write_text(page_text, encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    started = time.perf_counter()
    page.goto(path.as_uri(), wait_until="load")
    interactive_s = time.perf_counter() - started
    paint = page.evaluate(
        "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0"
    )
    # One keystroke in the search box, until the filtered page has been laid out.
    search = page.locator("#filter-text")
    search.fill("kv")
    page.wait_for_timeout(200)  # past the input's debounce
    keystroke_ms = page.evaluate(
        """() => {
          const box = document.getElementById('filter-text');
          box.value = box.value + 'x';
          const t0 = performance.now();
          box.dispatchEvent(new Event('change', {bubbles: true}));
          document.getElementById('filters').dispatchEvent(new Event('change'));
          document.body.offsetHeight;
          return performance.now() - t0;
        }"""
    )
    page.evaluate("() => { const b = document.getElementById('reset-filters'); b.click(); }")
    open_ms = page.evaluate(
        """() => {
          const g = document.querySelector('details.bgroup');
          if (!g) { return 0; }
          const t0 = performance.now();
          g.open = true;
          g.dispatchEvent(new Event('toggle'));
          document.body.offsetHeight;
          return performance.now() - t0;
        }"""
    )
    context.close()
    return {
        "n": n,
        "findings": len(report.findings),
        "mb": len(page_text.encode("utf-8")) / 1e6,
        "render_s": render_s,
        "paint_ms": paint,
        "interactive_s": interactive_s,
        "keystroke_ms": keystroke_ms,
        "open_ms": open_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="prodcheck HTML report benchmark")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        rows = [measure(browser, n, Path(tmp)) for n in args.sizes]
        browser.close()
    print(
        "| N | findings | page (MB) | render (s) | first paint (ms) | interactive (s) "
        "| filter keystroke (ms) | open largest group (ms) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['n']:,} | {r['findings']:,} | {r['mb']:.1f} | {r['render_s']:.2f} "
            f"| {r['paint_ms']:.0f} | {r['interactive_s']:.2f} | {r['keystroke_ms']:.0f} "
            f"| {r['open_ms']:.0f} |"
        )


if __name__ == "__main__":
    main()
