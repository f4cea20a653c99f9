"""Remediations people can paste: prose apart from commands, and every command of the rule pack
valid shell once the finding's placeholders are filled, even for hostile resource names."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from builders import run_cli

from prodcheck import api
from prodcheck.model import fill_remediation, split_remediation
from prodcheck.paths import demos_dir
from prodcheck.registry import Registry

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from generate import generate  # noqa: E402

RULES = Registry.load().all()
HOSTILE = "x; touch pwned $(id) `id` 'q' \"d\""
VALUES = {
    "name": "kv-prod",
    "resource_group": "rg-prod",
    "id": "/subscriptions/s/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv-prod",
    "subscription": "s",
}
# An Azure CLI command written into prose, where no one can paste it.
COMMAND_IN_PROSE = re.compile(r"(^|[\s(`])az [a-z][a-z-]+ [a-z-]+")


def bash_n(commands: list[str]) -> str:
    """bash's complaint about `commands` (parsed, never run), or ''."""
    done = subprocess.run(
        ["bash", "-n"], input="\n".join(commands) + "\n", capture_output=True, text=True
    )
    return done.stderr if done.returncode else ""


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_says_what_to_do_and_its_commands_are_valid_shell(rule):
    assert rule.remediation, f"{rule.id} has no remediation"
    for values in (VALUES, {}, dict(VALUES, name=HOSTILE, resource_group=HOSTILE)):
        remedy = split_remediation(fill_remediation(rule.remediation, **values))
        assert remedy.prose, f"{rule.id}: say in words what the fix does"
        assert not COMMAND_IN_PROSE.search(remedy.prose), (
            f"{rule.id}: a command in prose cannot be pasted; put it in a ```sh block"
        )
        assert not bash_n(remedy.commands), (rule.id, bash_n(remedy.commands))


def _findings_with_remediations():
    reports = [api.audit_snapshot(demos_dir() / f"{d}.json") for d in ("flat", "hardened")]
    reports.append(api.audit_snapshot(generate(1000)))
    seen: dict[tuple[str, str], str] = {}
    for report in reports:
        for f in report.findings:
            if f.remediation:
                seen.setdefault((f.rule_id, f.remediation), f.rule_id)
    return sorted(seen)


def test_every_remediation_a_finding_carries_has_valid_commands_and_no_commands_in_prose():
    found = _findings_with_remediations()
    assert len({rule for rule, _ in found}) > 20
    bad = []
    for rule_id, text in found:
        remedy = split_remediation(text)
        if COMMAND_IN_PROSE.search(remedy.prose):
            bad.append((rule_id, "command in prose", remedy.prose))
        if error := bash_n(remedy.commands):
            bad.append((rule_id, error, remedy.commands))
        if any("{" + key + "}" in c for c in remedy.commands for key in VALUES):
            bad.append((rule_id, "placeholder not filled", remedy.commands))
    assert not bad, bad


def test_filled_values_stay_one_word_in_commands_and_plain_in_prose():
    template = "Fix {name} in {resource_group}.\n\n```sh\naz thing update -n {name} -g {resource_group}\n```"
    text = fill_remediation(template, name=HOSTILE, resource_group="rg")
    remedy = split_remediation(text)
    assert remedy.prose == f"Fix {HOSTILE} in rg."
    [command] = remedy.commands
    assert shlex.split(command) == ["az", "thing", "update", "-n", HOSTILE, "-g", "rg"]
    # Unknown values stay visible placeholders, still valid shell.
    [blank] = split_remediation(fill_remediation(template)).commands
    assert shlex.split(blank)[4] == "<name>" and not bash_n([blank])
    # JSON braces in an argument are not placeholders.
    json_arg = "```sh\naz x --logs '[{\"enabled\":true}]' --resource {id}\n```"
    [cmd] = split_remediation(fill_remediation(json_arg, id="/s/x")).commands
    assert cmd == "az x --logs '[{\"enabled\":true}]' --resource /s/x"


def test_split_keeps_snippets_apart_and_joins_continued_commands():
    text = "Do it.\n\n```sh\n# a comment\naz a b \\\n  --c d\n```\n\n```bicep\nresource x 'T' = {}\n```"
    remedy = split_remediation(text)
    assert remedy.prose == "Do it."
    assert remedy.commands == ["az a b --c d"]
    assert remedy.snippets == [("bicep", "resource x 'T' = {}")]
    assert remedy.first_line == "az a b --c d"
    assert split_remediation("Only words.\nMore.").first_line == "Only words."


def test_the_terminal_shows_each_failing_rules_first_fix_line_and_where_to_read_more(capsys):
    code, out, _ = run_cli(capsys, "audit", "--demo", "--rule", "PC-KV-002")
    assert code == 1
    lines = out.splitlines()
    fix = next(line for line in lines if line.strip().startswith("fix: "))
    assert "az keyvault update -n kv-" in fix and "--enable-purge-protection true" in fix
    assert any("docs: prodcheck rules show PC-KV-002 · https://" in line for line in lines)
    code, out, _ = run_cli(capsys, "audit", "--demo", "hardened", "--rule", "PC-KV-002")
    assert "fix: " not in out  # passing rules show no fix


def test_rules_show_prints_the_whole_remediation(capsys):
    code, out, _ = run_cli(capsys, "rules", "show", "PC-WAF-002")
    assert code == 0
    assert "## Remediation" in out and "```sh" in out
    rule = next(r for r in RULES if r.id == "PC-WAF-002")
    assert all(c in out for c in split_remediation(rule.remediation).commands)


def test_manual_lines_show_the_attestation_to_record():
    rule = next(r for r in RULES if r.id == "PC-OPS-001")
    [(lang, snippet)] = split_remediation(rule.remediation).snippets
    assert lang == "yaml" and "rule: PC-OPS-001" in snippet
    import yaml

    assert yaml.safe_load(snippet)["attestations"][0]["rule"] == "PC-OPS-001"
    assert json.dumps(yaml.safe_load(snippet), default=str)
