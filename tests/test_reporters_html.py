"""The HTML report as a document: self-contained, escaped, its data embedded once, and the
blocking findings and checklist complete without JavaScript.

Behaviour in a real browser (filters, expanding, console, network) is in test_html_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

from fixtures.sample_report import IMG_NAME, MARKUP_NAME, SCRIPT_NAME, sample_report

from prodcheck.reporters import render
from prodcheck.reporters.html import json_for_script


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.data: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script" and dict(attrs).get("type") == "application/json":
            self._in = "data"
        elif tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in or (tag == "script" and self._in == "data"):
            self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "data":
            self.data.append(data)
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


def data(page: str) -> dict:
    blocks = parse(page).data
    assert len(blocks) == 1
    return json.loads(blocks[0])


def test_hostile_resource_names_are_escaped_text():
    page = html()
    doc = parse(page)
    assert SCRIPT_NAME not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page
    assert len(doc.scripts) == 1  # only the report's own script (and the inert data block)
    assert [t for t, _ in doc.tags if t == "img"] == []
    text = "".join(doc.text)
    assert SCRIPT_NAME in text and IMG_NAME in text  # the blocking list names them, as text
    # no attribute of any element carries an event handler
    assert not any(k.startswith("on") for _, attrs in doc.tags for k in attrs)
    # The data block holds them too, unable to end the block or be read as markup.
    block = doc.data[0]
    assert "<" not in block and ">" not in block and "&" not in block
    names = [r[1] for r in data(page)["resources"]]
    assert SCRIPT_NAME in names and IMG_NAME in names and MARKUP_NAME in names


def test_json_for_a_script_element_escapes_what_could_end_it():
    hostile = "</script><!--<script> & \u2028\u2029"
    out = json_for_script({"x": hostile})
    assert "<" not in out and ">" not in out and "&" not in out
    assert "\u2028" not in out and "\u2029" not in out
    assert json.loads(out) == {"x": hostile}


def test_control_characters_are_shown_not_passed_through():
    page = html()
    assert "\x1b" not in page and "\x07" not in page
    values = [v for f in data(page)["findings"] for _, v in f[5]]
    assert any("\\x1b]8;;https://evil.example\\x07click" in v for v in values)


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


def test_only_http_links_are_marked_as_links():
    rules = {r[0]: r for r in data(html())["rules"]}
    links = dict((url, ok) for url, ok in rules["PC-NET-001"][6])
    assert links == {
        "https://learn.microsoft.com/azure/private-link/": True,
        "javascript:alert(3)": False,
    }


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


def test_without_javascript_the_blocking_findings_and_checklist_are_complete():
    report = sample_report()
    page = render(report, "html")
    doc = parse(page)
    groups = [a for t, a in doc.tags if t == "details" and "bgroup" in a.get("class", "")]
    assert {g["data-rule"] for g in groups} == {f.rule_id for f in report.blocking()}
    text = "".join(doc.text)
    for f in report.blocking():
        assert (f.resource_name or f.resource_id) in text
    assert "Fix:" in text and "az redis update" in text  # the fix's first line
    rules = [a["data-rule"] for t, a in doc.tags if t == "details" and a.get("class") == "rule"]
    assert sorted(rules) == sorted(i.id for i in report.rules)
    panel = [a for t, a in doc.tags if a.get("id") == "filter-panel"][0]
    assert "hidden" in panel
    assert "<noscript>" in page
    # Blocking findings come first, before the summary and the checklist.
    assert (
        page.index('id="blocking"')
        < page.index('id="summary-heading"')
        < page.index('id="checklist"')
    )


def test_the_data_block_holds_every_finding_once():
    report = sample_report()
    page = render(report, "html")
    d = data(page)
    assert len(d["findings"]) == len(report.findings)
    statuses = {d["statuses"][f[1]] for f in d["findings"]}
    assert statuses == {"FAIL", "ERROR", "PASS", "WAIVED", "MANUAL", "NOT_APPLICABLE"}
    assert sum(f[9] for f in d["findings"]) == len(report.blocking())
    evidence = [k for f in d["findings"] for k, _ in f[5]]
    assert "properties.publicNetworkAccess" in evidence
    notes = [v for f in d["findings"] for _, v in f[8]]
    assert "platform-team@contoso.com" in notes  # the waiver's owner
    groups = {r[3] for r in d["resources"]}
    assert {"rg-app", "rg-data"} <= groups
    # No markup is repeated per finding: the page holds no element per finding.
    assert parse(page).tags.count(("details", {"class": "finding"})) == 0


def test_remediations_are_stored_once_per_rule_and_restored_exactly():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from generate import generate

    from prodcheck import api

    report = api.audit_snapshot(generate(300))
    d = data(render(report, "html"))
    with_fix = [f for f in report.findings if f.remediation]
    assert len(d["remediations"]) < len(with_fix) / 3
    for f, row in zip(report.findings, d["findings"], strict=True):
        if not f.remediation:
            assert row[6] == -1
            continue
        res = d["resources"][row[3]]
        restored = (
            d["remediations"][row[6]]
            .replace("\x03", res[1])
            .replace("\x02", res[3])
            .replace("\x01", res[0])
        )
        assert restored == f.remediation


def test_the_page_at_5000_resources_stays_small():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from generate import generate

    from prodcheck import api

    report = api.audit_snapshot(generate(5000))
    page = render(report, "html")
    assert len(page.encode("utf-8")) < 5_000_000
    assert len(data(page)["findings"]) == len(report.findings)


def test_top_of_page_has_verdict_chart_counts_and_scope():
    page = html()
    assert "Gate failed" in page
    assert "3 findings block go-live: FAIL or ERROR at or above <strong>low</strong>" in page
    assert "2 manual lines still await attestation (not gated)" in page
    assert re.search(r'<svg class="bar"[^>]*aria-label="Pre-Production: 33% ready', page)
    assert "Findings by status" in page and "FAIL and ERROR by severity" in page
    assert "2026-11-26T09:00:00Z" in page and "snapshot.json" in page
    assert "Configuration notices" in page


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


def test_filter_options_name_groups_exactly_as_the_data_does():
    from dataclasses import replace

    report = sample_report()
    report.findings = [replace(f, resource_group="rg-\x1bweird") for f in report.findings]
    page = render(report, "html")
    doc = parse(page)
    groups = {r[3] for r in data(page)["resources"]}
    options = set()
    in_group_select = False
    for tag, attrs in doc.tags:
        if tag == "select":
            in_group_select = attrs.get("id") == "filter-group"
        elif tag == "option" and in_group_select and attrs.get("value"):
            options.add(attrs["value"])
    assert options == groups == {"rg-\\x1bweird"}
