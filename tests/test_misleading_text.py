"""Text that could mislead a reader is shown, never obeyed, in every output.

A resource name, tag, message or error carrying a bidirectional override (U+202E and kin), a
zero-width space, a line separator or a control character must not reorder, hide or forge
what a reviewer reads: every display format shows such characters as visible escapes, and the
data formats (the JSON report, the snapshot) write them as JSON escapes that read back
unchanged.
"""

from __future__ import annotations

import json

import pytest
from builders import SUB, arm, run_cli, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from prodcheck import api
from prodcheck.outbound import clean_output, neutralise, one_line, snapshot_text
from prodcheck.reporters import FORMATS, render

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)]
INVISIBLE = ["\u200b", "\u2028", "\u2029", "\ufeff", "\u2060", "\U000e0041"]
C0 = [chr(c) for c in range(0x20) if chr(c) not in "\n\t"] + ["\x7f"]
C1 = [chr(c) for c in range(0x80, 0xA0)]
MISLEADING = BIDI + INVISIBLE + C1
DISPLAY_FORMATS = sorted(f for f in FORMATS if f != "json")

# "kv-prod" shown reversed after an override: a reader would see a different name.
TROJAN = "kv-\u202edorp\u202c-\u2066admin\u2069\u200b\x1b[2J\x9b31m\u2028Gate: PASSED"


def hostile_report():
    vault = arm(
        "Microsoft.KeyVault/vaults",
        TROJAN,
        tags={"owner": TROJAN, "SecurityControl": "Ignore\u202e"},
        properties={"enablePurgeProtection": False, "note": TROJAN},
    )
    coverage = [
        {
            "resourceType": "Microsoft.Network/privateEndpoints",
            "scope": f"/subscriptions/{SUB}",
            "status": "failed",
            "statusCode": 403,
            "errorCode": "Authorization\u202eFailed",
            "message": TROJAN,
        }
    ]
    return api.audit_snapshot(snapshot([vault], coverage))


def raw_misleading(text: str, allow_c0: bool = False) -> list[str]:
    text = text.replace("\r\n", "\n")  # a CR LF line end is a format's own (CSV)
    found = [c for c in BIDI + INVISIBLE + C1 if c in text]
    if not allow_c0:
        found += [c for c in C0 if c in text]
    return found


@pytest.mark.parametrize("fmt", DISPLAY_FORMATS)
def test_no_display_format_carries_a_raw_misleading_character(fmt):
    text = render(hostile_report(), fmt)
    # The terminal's own colours are escape sequences; none come from the data (no colour here).
    assert raw_misleading(text) == []
    assert "\\u202e" in text


def test_sarif_keeps_no_raw_control_character_and_shows_it():
    sarif = json.loads(render(hostile_report(), "sarif"))
    messages = [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert any("\\u202e" in m for m in messages)
    assert all(raw_misleading(m) == [] for m in messages)


def test_json_report_escapes_misleading_characters_and_reads_back_the_same():
    report = hostile_report()
    text = render(report, "json")
    assert raw_misleading(text) == []
    doc = json.loads(text)
    names = {f["resourceName"] for f in doc["findings"]}
    assert TROJAN in names  # lossless: the JSON escape reads back as the very same string


def test_report_to_json_through_the_python_api_shows_misleading_characters():
    doc = hostile_report().to_json()
    text = json.dumps(doc, ensure_ascii=False)
    assert raw_misleading(text) == []
    names = {f["resourceName"] for f in doc["findings"]}
    assert neutralise(TROJAN) in names and "\\u202e" in neutralise(TROJAN)
    assert any("\\u202e" in c["errorCode"] for c in doc["coverageGaps"])


def test_terminal_report_cannot_forge_the_gate_line(capsys, tmp_path):
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snapshot([arm("Microsoft.KeyVault/vaults", TROJAN)])))
    _, out, err = run_cli(capsys, "audit", "--snapshot", str(path), "-v")
    # The name's "Gate: PASSED" stays inside its finding lines; one line starts the verdict.
    assert sum(1 for line in out.splitlines() if line.startswith("Gate:")) == 1
    assert any("\\u2028Gate: PASSED" in line for line in out.splitlines())
    assert raw_misleading(out + err) == []


def test_snapshot_text_escapes_misleading_characters_losslessly():
    doc = snapshot([arm("Microsoft.KeyVault/vaults", TROJAN)])
    text = snapshot_text(doc)
    assert raw_misleading(text) == []
    assert json.loads(text)["resources"][0]["name"] == TROJAN


def test_error_lines_show_misleading_characters(capsys):
    code, _, err = run_cli(capsys, "audit", "--demo", TROJAN)
    assert code == 2
    assert err.count("\n") == 1
    assert raw_misleading(err.rstrip("\n")) == []
    assert "\\u202e" in err


def test_zero_width_joiners_stay_for_the_scripts_that_need_them():
    text = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \U0001f469\u200d\U0001f4bb"
    assert neutralise(text) == text


def test_line_feed_and_tab_stay_in_documents_but_not_in_one_line():
    assert neutralise("a\n\tb") == "a\n\tb"
    assert one_line("a\nb") == "a\\x0ab"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(MISLEADING + C0 + list("ab \n")), max_size=40))
def test_no_misleading_character_survives_any_exit(text):
    assert raw_misleading(neutralise(text)) == []
    assert raw_misleading(one_line(text)) == []
    assert raw_misleading(clean_output(text)) == []
    assert raw_misleading(clean_output(text, "terminal"), allow_c0=True) == []
    escaped = clean_output(json.dumps(text, ensure_ascii=False), "json")
    assert raw_misleading(escaped) == []
    assert json.loads(escaped) == text


PLUGIN_RULE = '''
from prodcheck.rule import rule
from prodcheck.model import Severity

@rule(id="PC-EVIL-001", title="Evil \\x1b[2J \\u202eresab", checklist="Production environment validated",
      severity=Severity.LOW, needs=["Microsoft.KeyVault/vaults"],
      remediation="AccountKey=abcdefghijklmnopqrstuvwxyz0123456789ABCD==")
def evil(inv, p):
    """Doc with \\x1b]0;pwned\\x07 and Password=hunter2hunter2"""
    return []
'''


@pytest.mark.parametrize(
    "args",
    [("rules", "show", "PC-EVIL-001"), ("rules", "list"), ("rules", "list", "-f", "json")],
)
def test_a_plugin_rules_text_is_masked_and_inert_in_rules_show_and_list(capsys, tmp_path, args):
    (tmp_path / "evil.py").write_text(PLUGIN_RULE, encoding="utf-8")
    code, out, _ = run_cli(capsys, *args, "--rules-dir", str(tmp_path))
    assert code == 0 and "PC-EVIL-001" in out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "abcdefghijklmnopqrstuvwxyz0123456789ABCD" not in out and "hunter2hunter2" not in out
