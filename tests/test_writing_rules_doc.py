"""The worked example of docs/writing-rules.md runs as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from builders import arm, snapshot

from prodcheck.cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "writing-rules.md"


def _example_module() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    return next(b for b in blocks if "@rule(" in b and "ACME-OWN-001" in b)


def test_worked_example_rule_loads_runs_and_explains_itself(tmp_path, capsys):
    rules = tmp_path / "our-rules"
    rules.mkdir()
    (rules / "ownership.py").write_text(_example_module())
    apps = [
        arm("Microsoft.App/containerApps", "api", tags={"owner": "voice@teams.example.com"}),
        arm("Microsoft.App/containerApps", "web", tags={"owner": "alice@example.org"}),
        arm("Microsoft.KeyVault/vaults", "kv"),
    ]
    snap = tmp_path / "snapshot.json"
    snap.write_text(json.dumps(snapshot(apps)))

    with pytest.raises(SystemExit) as exited:
        main(
            [
                "audit",
                "--snapshot",
                str(snap),
                "--rules-dir",
                str(rules),
                "--rule",
                "ACME-*",
                "-f",
                "json",
            ]
        )
    assert exited.value.code == 1
    report = json.loads(capsys.readouterr().out)
    verdicts = {f["resourceName"]: (f["status"], f["message"]) for f in report["findings"]}
    assert verdicts["api"] == ("PASS", "owned by voice@teams.example.com")
    assert (
        verdicts["web"][0] == "FAIL"
        and "not a teams.example.com team mailbox" in verdicts["web"][1]
    )
    assert verdicts["kv"] == ("FAIL", "no 'owner' tag")

    with pytest.raises(SystemExit):
        main(["rules", "show", "ACME-OWN-001", "--rules-dir", str(rules)])
    shown = capsys.readouterr().out
    assert "Production resources name an owning team" in shown
    assert "`team_domain`" in shown
