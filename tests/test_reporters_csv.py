"""CSV: one row per finding for spreadsheets, blocking findings first, formulas made inert."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from fixtures.sample_report import sample_report

from prodcheck.reporters import render
from prodcheck.reporters.csv_report import COLUMNS, cell


def rows(report=None) -> list[dict[str, str]]:
    text = render(report or sample_report(), "csv")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_one_row_per_finding_with_its_identity_and_blocking_ones_first():
    report = sample_report()
    out = rows(report)
    assert len(out) == len(report.findings)
    assert list(out[0]) == COLUMNS
    assert {r["findingId"] for r in out} == {f.finding_id for f in report.findings}
    flags = [r["blocking"] for r in out]
    assert flags == sorted(flags, key=lambda x: x != "yes") and flags[0] == "yes"
    waived = next(r for r in out if r["status"] == "WAIVED")
    assert waived["waivedOrAttestedBy"] and waived["validUntil"]


def test_cells_a_spreadsheet_would_run_as_formulas_are_inert():
    assert cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    for lead in "+-@\t\r":
        assert cell(lead + "1").startswith("'")
    assert cell('plain, with "quotes"\nand lines') == 'plain, with "quotes"\nand lines'
    report = sample_report()
    report.findings = [replace(report.findings[0], resource_name="=cmd|'/c calc'!A1")]
    assert rows(report)[0]["resourceName"] == "'=cmd|'/c calc'!A1"
