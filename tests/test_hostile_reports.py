"""Saved reports read back by `report`, `diff` and `audit --baseline` are refused in one line when damaged."""

from __future__ import annotations

import copy
import json

import pytest
from builders import arm, run_cli, snapshot

VAULT = arm("Microsoft.KeyVault/vaults", "kv", properties={"softDeleteRetentionInDays": 7})


@pytest.fixture(scope="module")
def good_report(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    snap = base / "snap.json"
    snap.write_text(json.dumps(snapshot([VAULT])))
    out = base / "report.json"
    with pytest.raises(SystemExit):
        from prodcheck.cli import main

        main(
            ["audit", "--snapshot", str(snap), "--rule", "PC-KV-002", "-f", "json", "-o", str(out)]
        )
    return json.loads(out.read_text())


def _damage(doc, path, value):
    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


DAMAGE = [
    (("findings",), {"ruleId": "PC-KV-002"}),
    (("findings", 0, "status"), "PASSED"),
    (("findings", 0, "severity"), 3),
    (("findings", 0, "evidence"), "none"),
    (("findings", 0), "a finding"),
    (("rules",), "PC-KV-002"),
    (("rules", 0, "severity"), None),
    (("gate",), []),
    (("gate", "failOn"), "severe"),
    (
        ("coverageGaps",),
        [{"resourceType": "x", "scope": "/", "status": "failed", "statusCode": "403"}],
    ),
    (("scope",), "all"),
    (("tool",), None),
]


@pytest.mark.parametrize(("path", "value"), DAMAGE, ids=[".".join(map(str, p)) for p, _ in DAMAGE])
@pytest.mark.parametrize("command", ["report", "diff", "baseline"])
def test_a_damaged_report_is_one_line_and_exit_2(
    capsys, tmp_path, good_report, command, path, value
):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_damage(good_report, path, value)))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(good_report))
    if command == "report":
        args = ["report", str(bad), "-f", "json", "-o", str(tmp_path / "out.json")]
    elif command == "diff":
        args = ["diff", str(good), str(bad)]
    else:
        snap = tmp_path / "snap.json"
        snap.write_text(json.dumps(snapshot([VAULT])))
        args = ["audit", "--snapshot", str(snap), "--rule", "PC-KV-002", "--baseline", str(bad)]
    code, out, err = run_cli(capsys, *args)
    assert code == 2, out + err
    assert len(err.strip().splitlines()) == 1
    assert "bad.json" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"format": "prodcheck.report/v1", "format": "prodcheck.report/v1"}', "appears twice"),
        ('{"format": "prodcheck.report/v1", "gate": {"blocking": NaN}}', "NaN"),
        ("[" * 5000 + "]" * 5000, "nests deeper"),
    ],
)
def test_a_report_file_that_is_not_plain_json_is_refused(capsys, tmp_path, text, expected):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    code, _, err = run_cli(capsys, "report", str(bad))
    assert code == 2
    assert expected in err and len(err.strip().splitlines()) == 1


def test_an_undamaged_report_renders_again(capsys, tmp_path, good_report):
    path = tmp_path / "good.json"
    path.write_text(json.dumps(good_report))
    code, out, _ = run_cli(capsys, "report", str(path), "-f", "json")
    assert code == 0
    assert json.loads(out)["findings"] == good_report["findings"]
