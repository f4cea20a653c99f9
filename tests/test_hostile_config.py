"""prodcheck.yaml is untrusted too: every hostile or careless file is one line and exit code 2."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from builders import arm, registry, run_cli, snapshot

from prodcheck.config import parse_config, schema_path, starter_config
from prodcheck.errors import UserError

TODAY = dt.date(2026, 11, 26)


def error_of(text: str, *, check_rules: bool = False) -> str:
    with pytest.raises(UserError) as caught:
        cfg = parse_config(text, Path("prodcheck.yaml"), today=TODAY)
        if check_rules:
            cfg.check_rules(registry())
    message = str(caught.value)
    assert "\n" not in message
    return message


ATTEST = "attestations:\n  - {rule: PC-OPS-001, by: a, date: DATE, evidence: x, valid_days: DAYS}\n"
WAIVE = "waivers:\n  - {rule: PC-KV-002, resource: '*', reason: r, owner: o, expires: DATE}\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            ATTEST.replace("DATE", "2026-01-01").replace("DAYS", "99999999999"),
            "prodcheck.yaml:2: attestation #1 valid_days is 99999999999",
        ),
        (
            ATTEST.replace("DATE", "0001-01-02").replace("DAYS", "5"),
            "attestation #1 date 0001-01-02 is out of range",
        ),
        (WAIVE.replace("DATE", "9999-12-31"), "waiver #1 expires 9999-12-31 is out of range"),
        ("rules: !custom {}\n", "prodcheck.yaml:1: the YAML tag '!custom' is not read here"),
        ("rules: !!python/object:os.system {}\n", "the YAML tag"),
        ("gate: {fail_on: !!binary aGlnaA==}\n", "the YAML tag"),
        ("scope: !!set {a, b}\n", "the YAML tag"),
        ("a: &x [1]\nb: *x\n", "anchors and aliases"),
        ("rules:\n  params: " + "{a: " * 40 + "1" + "}" * 40 + "\n", "nested deeper than 32"),
        ("a: " + "[" * 1500 + "]" * 1500 + "\n", "nested deeper than 32"),
        ('scope: {tags: {env: "\\ud800"}}\n', "lone UTF-16 surrogate"),
        ("scope: {subscriptions: abc}\n", "scope.subscriptions must be a list, not a string"),
        ("rules: {select: ['PC NET 001']}\n", "not of the form the schema expects"),
    ],
)
def test_a_hostile_configuration_is_one_line(text, expected):
    assert expected in error_of(text)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("{min_retention_days: -5}", "must not be negative (its default is 90), not -5"),
        ("{min_retention_days: 1e400}", "must be a int like 90"),
    ],
)
def test_a_negative_or_endless_parameter_is_refused(params, expected):
    text = f"rules:\n  params:\n    PC-KV-002: {params}\n"
    assert expected in error_of(text, check_rules=True)


def test_a_float_parameter_must_be_finite():
    rule = next(r for r in registry().all() if any(isinstance(v, float) for v in r.params.values()))
    name = next(n for n, v in rule.params.items() if isinstance(v, float))
    text = f"rules:\n  params:\n    {rule.id}: {{{name}: .nan}}\n"
    assert "must be a finite number" in error_of(text, check_rules=True)


@pytest.mark.parametrize(
    "text",
    [
        ATTEST.replace("DATE", "2026-01-01").replace("DAYS", "99999999999"),
        "rules: !custom {}\n",
        "a: " + "[" * 1500 + "]" * 1500 + "\n",
        "rules:\n  params:\n    PC-KV-002: {min_retention_days: -5}\n",
    ],
)
def test_the_cli_refuses_a_hostile_configuration_with_exit_2(capsys, tmp_path, text):
    config = tmp_path / "prodcheck.yaml"
    config.write_text(text, encoding="utf-8")
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(snapshot([arm("Microsoft.KeyVault/vaults", "kv")])))
    code, out, err = run_cli(capsys, "audit", "--snapshot", str(snap), "--config", str(config))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in out + err


# ---- the schema and the starter file -------------------------------------------------------


def _uncommented(text: str) -> str:
    """The starter file with every example (an indented comment) made live."""
    return re.sub(r"(?m)^([ ]+)# ", r"\1", text)


def test_init_writes_a_file_whose_first_line_names_the_schema(capsys, tmp_path):
    target = tmp_path / "prodcheck.yaml"
    code, _, _ = run_cli(capsys, "init", "-o", str(target))
    assert code == 0
    first = target.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    assert first.endswith("config-v1.schema.json")
    assert Path(schema_path()).is_file()


def test_the_starter_examples_uncommented_are_a_valid_configuration():
    text = _uncommented(starter_config())
    assert text != starter_config()
    cfg = parse_config(text, Path("prodcheck.yaml"), today=TODAY)
    cfg.check_rules(registry())
    assert [w.rule for w in cfg.waivers] == ["PC-NET-001"]
    assert [a.rule for a in cfg.attestations] == ["PC-OPS-001"]
    assert cfg.params == {"PC-KV-002": {"min_retention_days": 90}}
    assert cfg.subscriptions and cfg.resource_groups and cfg.tags


@pytest.mark.parametrize("uncomment", [False, True])
def test_the_starter_file_satisfies_the_shipped_schema(uncomment):
    text = _uncommented(starter_config()) if uncomment else starter_config()
    doc = json.loads(json.dumps(yaml.safe_load(text), default=str))
    schema = json.loads(schema_path().read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(doc, schema)
