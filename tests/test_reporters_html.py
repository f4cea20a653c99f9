"""The HTML report as a document: self-contained, escaped, and complete without JavaScript.

Behaviour in a real browser (filters, expanding, console, network) is in test_html_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

from fixtures.sample_report import IMG_NAME, MARKUP_NAME, SCRIPT_NAME, sample_report

from prodcheck.reporters import render


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        else:
            self.text.append(data)


def parse(html: str) -> _Collector:
    c = _Collector()
    c.feed(html)
    return c


def html() -> str:
    return render(sample_report(), "html")


def test_hostile_resource_names_are_escaped_text():
    page = html()
    doc = parse(page)
    assert SCRIPT_NAME not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page
    assert len(doc.scripts) == 1  # only the report's own script
    assert [t for t, _ in doc.tags if t == "img"] == []
    text = "".join(doc.text)
    assert SCRIPT_NAME in text and IMG_NAME in text and MARKUP_NAME in text
    # no attribute of any element carries an event handler
    assert not any(k.startswith("on") for _, attrs in doc.tags for k in attrs)


def test_control_characters_are_shown_not_passed_through():
    page = html()
    assert "\x1b" not in page and "\x07" not in page
    assert "\\x1b]8;;https://evil.example\\x07click" in page


def test_self_contained_no_external_resources():
    page = html()
    doc = parse(page)
    for tag, attrs in doc.tags:
        assert "src" not in attrs, (tag, attrs)
        if tag == "link":
            assert attrs.get("href", "").startswith("data:"), attrs
    assert "@import" not in "".join(doc.styles)
    assert "url(" not in "".join(doc.styles)
    anchors = [attrs["href"] for tag, attrs in doc.tags if tag == "a"]
    assert all(h.startswith(("#", "https://", "http://")) for h in anchors), anchors


def test_only_http_links_become_anchors():
    page = html()
    doc = parse(page)
    hrefs = [attrs.get("href") for tag, attrs in doc.tags if tag == "a"]
    assert "https://learn.microsoft.com/azure/private-link/" in hrefs
    assert not any("javascript:" in (h or "") for h in hrefs)
    assert "javascript:alert(3)" in "".join(doc.text)  # shown as text


def test_content_security_policy_allows_only_the_inline_style_and_script():
    page = html()
    doc = parse(page)
    meta = [a for t, a in doc.tags if t == "meta" and a.get("http-equiv")]
    csp = meta[0]["content"]
    assert "default-src 'none'" in csp

    def digest(s: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"

    assert f"script-src {digest(doc.scripts[0])}" in csp
    assert f"style-src {digest(doc.styles[0])}" in csp


def test_without_javascript_every_finding_is_expanded_and_filters_hidden():
    page = html()
    doc = parse(page)
    details = [a for t, a in doc.tags if t == "details"]
    assert len(details) == len(sample_report().findings)
    assert all("open" in a for a in details)
    form = [a for t, a in doc.tags if t == "form"][0]
    assert "hidden" in form


def test_top_of_page_has_verdict_chart_counts_and_scope():
    page = html()
    assert "Gate failed" in page
    assert "3 FAIL or ERROR findings at or above <strong>low</strong>" in page
    assert re.search(r'<svg class="bar"[^>]*aria-label="Pre-Production: 33% ready', page)
    assert "Findings by status" in page and "FAIL and ERROR by severity" in page
    assert "2026-11-26T09:00:00Z" in page and "snapshot.json" in page
    assert "Configuration notices" in page


def test_findings_carry_filter_data_and_evidence():
    doc = parse(html())
    details = [a for t, a in doc.tags if t == "details"]
    statuses = {a["data-status"] for a in details}
    assert statuses == {"FAIL", "ERROR", "PASS", "WAIVED", "MANUAL", "NOT_APPLICABLE"}
    groups = {a["data-group"] for a in details}
    assert {"rg-app", "rg-data", "(no resource group)"} <= groups
    assert all(a["data-section"] for a in details)
    text = "".join(doc.text)
    assert "properties.publicNetworkAccess" in text
    assert "platform-team@contoso.com" in text  # the waiver's owner


def test_accessible_structure():
    page = html()
    doc = parse(page)
    assert '<html lang="en">' in page
    assert [t for t, _ in doc.tags].count("h1") == 1
    ids = {a.get("id") for _, a in doc.tags}
    for tag, attrs in doc.tags:
        if tag == "label" and attrs.get("for"):
            assert attrs["for"] in ids
    for tag, attrs in doc.tags:
        if tag == "svg":
            assert attrs.get("role") == "img" and attrs.get("aria-label")
    assert "prefers-color-scheme: dark" in "".join(doc.styles)
    assert "@media print" in "".join(doc.styles)


def test_a_baseline_gate_is_explained():
    report = sample_report(baseline={"source": "old.json", "gated": []})
    page = render(report, "html")
    assert "Gate passed" in page
    assert "new or regressed since the baseline (old.json)" in page
