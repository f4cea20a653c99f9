"""Reporters through the command line: several formats in one run, and `prodcheck report`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from builders import run_cli
from fixtures.sample_report import SCRIPT_NAME, sample_report


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(sample_report().to_json()))
    return path


def test_audit_writes_several_formats_in_one_run(tmp_path, capsys):
    code, out, err = run_cli(
        capsys,
        "audit",
        "--demo",
        "--format",
        "terminal",
        "--format",
        "html",
        "--format",
        "sarif",
        "--format",
        "junit",
        "--format",
        "markdown",
        "--format",
        "json",
        "--output-dir",
        str(tmp_path / "out"),
    )
    assert code == 1
    assert "Gate: FAILED" in out  # the terminal report still goes to stdout
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == [
        "prodcheck-report.html",
        "prodcheck-report.json",
        "prodcheck-report.md",
        "prodcheck-report.sarif",
        "prodcheck-report.xml",
    ]
    for fmt in ("html", "sarif", "junit", "markdown"):
        assert f"wrote {fmt} report" in err
    ET.parse(tmp_path / "out" / "prodcheck-report.xml")
    json.loads((tmp_path / "out" / "prodcheck-report.sarif").read_text())


def test_report_rerenders_a_saved_json_report_without_azure(saved, tmp_path, capsys):
    code, _, _ = run_cli(
        capsys, "report", str(saved), "--format", "html", "-o", str(tmp_path / "x.html")
    )
    assert code == 0
    page = (tmp_path / "x.html").read_text()
    assert "Gate failed" in page and SCRIPT_NAME not in page
    code, out, _ = run_cli(capsys, "report", str(saved))
    assert code == 0 and "Gate: FAILED" in out
    code, out, _ = run_cli(capsys, "report", str(saved), "-f", "markdown")
    assert out.startswith("## ❌ prodcheck: gate failed")


def test_report_round_trips_json_byte_for_byte(saved, capsys):
    code, out, _ = run_cli(capsys, "report", str(saved), "-f", "json")
    assert code == 0
    assert json.loads(out) == json.loads(saved.read_text())


def test_report_writes_several_formats_to_a_directory(saved, tmp_path, capsys):
    code, _, _ = run_cli(
        capsys,
        "report",
        str(saved),
        "-f",
        "sarif",
        "-f",
        "junit",
        "--output-dir",
        str(tmp_path / "d"),
    )
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [
        "prodcheck-report.sarif",
        "prodcheck-report.xml",
    ]


def test_report_refuses_to_overwrite_its_input_and_explains_bad_input(saved, tmp_path, capsys):
    code, _, err = run_cli(capsys, "report", str(saved), "-f", "json", "-o", str(saved))
    assert code == 2 and "refusing to write the report over the input" in err
    code, _, err = run_cli(capsys, "report", str(tmp_path / "nope.json"))
    assert code == 2 and "not found" in err
    code, _, err = run_cli(capsys, "report", str(saved), "-f", "pdf")
    assert code == 2 and "unknown format 'pdf'" in err and "sarif" in err


def test_format_help_names_every_format(capsys):
    code, out, _ = run_cli(capsys, "audit", "--help")
    assert code == 0
    for fmt in ("terminal", "json", "html", "sarif", "junit", "markdown"):
        assert fmt in out
    for option in ("--config", "--baseline"):
        assert option in out


def test_output_folders_that_do_not_exist_yet_are_created(tmp_path, capsys):
    target = tmp_path / "a" / "b" / "report.json"
    code, _, err = run_cli(capsys, "audit", "--demo", "hardened", "-f", "json", "-o", str(target))
    assert code in (0, 1), err
    assert json.loads(target.read_text(encoding="utf-8"))["format"] == "prodcheck.report/v1"
    out_dir = tmp_path / "c" / "d"
    code, _, err = run_cli(
        capsys, "audit", "--demo", "-f", "json", "-f", "sarif", "--output-dir", str(out_dir)
    )
    assert code == 1, err
    assert (out_dir / "prodcheck-report.sarif").is_file()


def test_an_output_folder_that_cannot_be_created_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code, _, err = run_cli(capsys, "audit", "--demo", "-f", "json", "-o", str(blocker / "r.json"))
    assert code == 2 and "cannot create directory" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv",
    [[], ["audit"], ["report"], ["diff"], ["init"], ["snapshot"], ["rules"], ["rules", "show"]],
)
def test_dash_h_is_help_on_every_command(capsys, argv):
    code, out, _ = run_cli(capsys, *argv, "-h")
    assert code == 0 and "Usage:" in out and "--help" in out
