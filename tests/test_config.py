"""prodcheck.yaml: loading, flags-over-file precedence, and every validation error path.

Each error is one line naming the file, the line, what is wrong and how to fix it.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from builders import registry

from prodcheck.config import find_config, load_config, parse_config, starter_config
from prodcheck.errors import UserError
from prodcheck.model import Severity

TODAY = dt.date(2026, 11, 26)
# Ids of rules the built-in pack has today; the checks below only need them to exist.
MANUAL_RULE = "PC-OPS-001"
KV_RULE = "PC-KV-002"


def parse(text: str):
    return parse_config(textwrap.dedent(text), Path("prodcheck.yaml"), today=TODAY)


def error_of(text: str, *, check_rules: bool = False) -> str:
    with pytest.raises(UserError) as exc:
        cfg = parse(text)
        if check_rules:
            cfg.check_rules(registry())
    message = str(exc.value)
    assert "\n" not in message, "errors are one line"
    return message


def kv_param() -> tuple[str, object]:
    """A parameter of the Key Vault rule and its default (whatever the rule declares)."""
    params = registry().get(KV_RULE).params
    assert params, f"{KV_RULE} is expected to declare parameters"
    name = sorted(params)[0]
    return name, params[name]


def test_a_full_configuration_loads():
    name, default = kv_param()
    cfg = parse(
        f"""
        version: 1
        scope:
          subscriptions: [00000000-1111-2222-3333-444444444444]
          resource_groups: [rg-app, rg-data]
          tags: {{environment: prod, cost-center: 42}}
        rules:
          select: ["PC-*"]
          skip: [pc-ops-011]
          dirs: [./our-rules]
          params:
            {KV_RULE}: {{{name}: {default!r}}}
          severity:
            PC-OPS-011: info
        gate:
          fail_on: HIGH
        waivers:
          - rule: PC-NET-*
            resource: "*/resourceGroups/rg-dev/*"
            reason: dev only
            owner: platform-team
            expires: 2027-01-31
        attestations:
          - rule: {MANUAL_RULE}
            by: jane.doe@contoso.com
            date: 2026-11-20
            evidence: https://contoso.sharepoint.com/load-test.pdf
            valid_days: 90
            note: 500 concurrent calls
        """
    )
    cfg.check_rules(registry())
    assert cfg.subscriptions == ["00000000-1111-2222-3333-444444444444"]
    assert cfg.resource_groups == ["rg-app", "rg-data"]
    assert cfg.tags == {"environment": "prod", "cost-center": "42"}
    assert cfg.select == ["PC-*"] and cfg.skip == ["PC-OPS-011"]
    assert cfg.rules_dirs == [Path("./our-rules")]
    assert cfg.params == {KV_RULE: {name: default}}
    assert cfg.severity == {"PC-OPS-011": Severity.INFO}
    assert cfg.fail_on == Severity.HIGH
    (w,) = cfg.waivers
    assert (w.rule, w.expires, w.number, w.where) == (
        "PC-NET-*",
        dt.date(2027, 1, 31),
        1,
        "prodcheck.yaml:18",
    )
    (a,) = cfg.attestations
    assert a.valid_until == dt.date(2027, 2, 18)
    assert a.resource == "*"


def test_settings_take_the_command_line_fail_on_over_the_file():
    cfg = parse("gate: {fail_on: high}\n")
    assert cfg.settings().fail_on == Severity.HIGH
    assert cfg.settings(Severity.CRITICAL).fail_on == Severity.CRITICAL
    assert parse("").settings().fail_on == Severity.LOW


def test_empty_file_and_absent_file_are_the_empty_configuration(tmp_path):
    assert parse("").waivers == []
    assert parse("# only comments\n").select == []
    assert load_config(None).path is None
    assert find_config(tmp_path) is None
    (tmp_path / "prodcheck.yaml").write_text("version: 1\n")
    assert find_config(tmp_path) == tmp_path / "prodcheck.yaml"


def test_the_starter_configuration_is_valid():
    cfg = parse_config(starter_config(), Path("prodcheck.yaml"), today=TODAY)
    cfg.check_rules(registry())
    assert cfg.fail_on == Severity.LOW and cfg.waivers == [] and cfg.attestations == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # syntax
        ("rules:\n  select: [PC-*\n", "prodcheck.yaml:3: not valid YAML"),
        ("gate:\n  fail_on: high\n bad: 1\n", "prodcheck.yaml:3: not valid YAML"),
        # structure and unknown keys
        ("- a\n- b\n", "prodcheck.yaml:1: the configuration must be a mapping, not a list"),
        (
            "gate: {fail-on: high}\n",
            "prodcheck.yaml:1: unknown key 'fail-on' in gate: did you mean 'fail_on'?",
        ),
        (
            "version: 1\nwaiver: []\n",
            "prodcheck.yaml:2: unknown key 'waiver' in the configuration: did you mean 'waivers'?",
        ),
        (
            "scope:\n  regions: [eastus]\n",
            "prodcheck.yaml:2: unknown key 'regions' in scope: use one of subscriptions, resource_groups, tags",
        ),
        (
            "gate: {fail_on: low}\ngate: {fail_on: high}\n",
            "prodcheck.yaml:2: 'gate' appears twice in the configuration (first at line 1): keep one",
        ),
        ("version: 2\n", "prodcheck.yaml:1: version must be 1"),
        # wrong types
        (
            "scope:\n  subscriptions: abc\n",
            "prodcheck.yaml:2: scope.subscriptions must be a list, not a string",
        ),
        (
            "scope:\n  resource_groups: [1]\n",
            "prodcheck.yaml:2: each entry of scope.resource_groups must be a non-empty string, not a number",
        ),
        ("scope:\n  tags: [a]\n", "prodcheck.yaml:2: scope.tags must be a mapping, not a list"),
        ("scope:\n  tags: {env: }\n", "tag 'env' needs a value"),
        (
            "rules:\n  select: PC-NET-001\n",
            "prodcheck.yaml:2: rules.select must be a list of rule ids or globs, not a string",
        ),
        ("rules: [PC-NET-001]\n", "prodcheck.yaml:1: rules must be a mapping, not a list"),
        ("rules:\n  params: [1]\n", "rules.params must map rule ids to parameters, not a list"),
        (
            "rules:\n  params:\n    PC-KV-002: 90\n",
            "prodcheck.yaml:3: rules.params of PC-KV-002 must map parameter names to values, not a number",
        ),
        (
            "rules:\n  severity: high\n",
            "rules.severity must map rule ids to severities, not a string",
        ),
        (
            "rules:\n  severity: {PC-KV-002: urgent}\n",
            "prodcheck.yaml:2: rules.severity of PC-KV-002 'urgent' is not a severity: use one of critical, high, medium, low, info",
        ),
        (
            "rules:\n  severity: {PC-KV-*: low}\n",
            "rules.severity must be one rule id, not the pattern 'PC-KV-*'",
        ),
        (
            "gate:\n  fail_on: 3\n",
            "prodcheck.yaml:2: gate.fail_on must be a non-empty string, not a number",
        ),
        ("gate:\n  fail_on: severe\n", "gate.fail_on 'severe' is not a severity"),
        ("waivers: {rule: x}\n", "prodcheck.yaml:1: waivers must be a list of entries"),
        (
            "attestations:\n  - just text\n",
            "prodcheck.yaml:2: attestation #1 must be a mapping, not a string",
        ),
    ],
)
def test_structural_errors_name_file_line_and_fix(text, expected):
    assert expected in error_of(text)


WAIVER = """
waivers:
  - rule: PC-KV-002
    resource: "*"
    reason: accepted for the pilot
    owner: platform-team
    expires: 2027-01-31
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    expires: 2027-01-31\n",
            "",
            "prodcheck.yaml:3: waiver #1 has no 'expires': every waiver needs rule, resource, reason, owner, expires",
        ),
        ("    owner: platform-team\n", "", "waiver #1 has no 'owner'"),
        (
            "    reason: accepted for the pilot\n",
            "    reason: ''\n",
            "prodcheck.yaml:5: waiver #1 reason must be a non-empty string, not an empty string",
        ),
        (
            "2027-01-31",
            "next year",
            "prodcheck.yaml:7: waiver #1 expires must be a date like 2027-03-31, not 'next year'",
        ),
        (
            "2027-01-31",
            "2027-13-01",
            "waiver #1 expires must be a date like 2027-03-31, not '2027-13-01'",
        ),
        (
            "    owner: platform-team\n",
            "    owner: platform-team\n    until: 2027-01-01\n",
            "prodcheck.yaml:7: unknown key 'until' in waiver #1",
        ),
    ],
)
def test_waiver_errors(old, new, expected):
    assert old in WAIVER
    assert expected in error_of(WAIVER.replace(old, new))


ATTESTATION = """
attestations:
  - rule: PC-OPS-001
    by: jane.doe@contoso.com
    date: 2026-11-20
    evidence: https://contoso.sharepoint.com/load-test.pdf
    valid_days: 90
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    valid_days: 90\n", "", "attestation #1 has no 'valid_days'"),
        ("    by: jane.doe@contoso.com\n", "", "attestation #1 has no 'by'"),
        (
            "valid_days: 90",
            "valid_days: ninety",
            "prodcheck.yaml:7: attestation #1 valid_days must be a whole number of days of at least 1, not 'ninety'",
        ),
        (
            "valid_days: 90",
            "valid_days: 0",
            "valid_days must be a whole number of days of at least 1, not 0",
        ),
        ("valid_days: 90", "valid_days: 1.5", "valid_days must be a whole number"),
        (
            "date: 2026-11-20",
            "date: 2026-12-24",
            "prodcheck.yaml:5: attestation #1 is dated 2026-12-24, in the future",
        ),
        (
            "rule: PC-OPS-001",
            "rule: PC-OPS-*",
            "attestation #1 rule must be one rule id, not the pattern 'PC-OPS-*'",
        ),
    ],
)
def test_attestation_errors(old, new, expected):
    assert old in ATTESTATION
    assert expected in error_of(ATTESTATION.replace(old, new))


def test_unknown_rule_ids_are_errors_once_rules_are_known():
    message = error_of("rules:\n  skip: [PC-KV-022]\n", check_rules=True)
    assert message.startswith(
        "prodcheck.yaml:2: unknown rule 'PC-KV-022' in rules.skip: did you mean"
    )
    assert "PC-KV-002" in message and "prodcheck rules list" in message
    assert "prodcheck.yaml:3: unknown rule 'PC-NOPE-*' in waiver #1 rule" in error_of(
        WAIVER.replace("rule: PC-KV-002", "rule: PC-NOPE-*"), check_rules=True
    )
    assert "unknown rule 'PC-XYZ-001' in rules.params" in error_of(
        "rules:\n  params:\n    PC-XYZ-001: {a: 1}\n", check_rules=True
    )
    assert "unknown rule 'PC-OPS-999' in attestation #1 rule" in error_of(
        ATTESTATION.replace("PC-OPS-001", "PC-OPS-999"), check_rules=True
    )


def test_unknown_parameter_and_wrong_parameter_type_are_errors():
    name, default = kv_param()
    message = error_of(f"rules:\n  params:\n    {KV_RULE}:\n      {name}x: 1\n", check_rules=True)
    assert message.startswith(f"prodcheck.yaml:4: rule {KV_RULE} has no parameter '{name}x'")
    assert f"did you mean '{name}'?" in message
    wrong = "[1, 2]" if not isinstance(default, list) else "7"
    message = error_of(
        f"rules:\n  params:\n    {KV_RULE}:\n      {name}: {wrong}\n", check_rules=True
    )
    assert message.startswith(f"prodcheck.yaml:4: parameter '{name}' of rule {KV_RULE} must be")


def test_parameter_values_are_coerced_to_the_default_type():
    name, default = kv_param()
    if not isinstance(default, int) or isinstance(default, bool):
        pytest.skip("the rule's first parameter is not a number")
    cfg = parse(f"rules:\n  params:\n    {KV_RULE}:\n      {name}: 120.0\n")
    cfg.check_rules(registry())
    assert cfg.params[KV_RULE][name] == 120 and isinstance(cfg.params[KV_RULE][name], int)


def test_file_problems_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="not found: check the path, or run 'prodcheck init'"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(UserError, match="is a directory"):
        load_config(tmp_path)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"gate: {fail_on: \xe9}\n")
    with pytest.raises(UserError, match="not UTF-8"):
        load_config(bad)
