"""The terminal report treats resource names and values as untrusted text."""

from __future__ import annotations

from builders import arm

from prodcheck.api import audit_snapshot
from prodcheck.reporters import RenderOptions, render

HOSTILE = "[bold red]x[/]\x1b]0;pwned\x07\x1b[2J"


def _report():
    vault = arm("Microsoft.KeyVault/vaults", "kv", properties={"softDeleteRetentionInDays": 7})
    vault["name"] = HOSTILE
    return audit_snapshot([vault], rules=["PC-KV-002"])


def test_rich_markup_in_a_resource_name_is_shown_literally():
    text = render(_report(), "terminal", RenderOptions(color=True))
    assert "[bold red]x[/]" in text


def test_escape_sequences_in_a_resource_name_are_made_visible_not_sent():
    for color in (True, False):
        text = render(_report(), "terminal", RenderOptions(color=color))
        assert "\x1b]" not in text
        assert "\x1b[2J" not in text
        assert "\x07" not in text
        assert "\\x1b]0;pwned\\x07\\x1b[2J" in text


def test_no_colour_means_no_escape_codes_at_all():
    text = render(_report(), "terminal", RenderOptions(color=False))
    assert "\x1b" not in text


def test_colour_uses_ansi_styles_when_asked():
    text = render(_report(), "terminal", RenderOptions(color=True))
    assert "\x1b[" in text


def test_summary_counts_and_readiness():
    text = render(_report(), "terminal", RenderOptions())
    assert "Summary: 1 FAIL" in text
    assert "readiness 0%" in text


def _run_on_a_terminal(env_extra: dict[str, str]) -> bytes:
    """Run an audit with stdout on a pseudo-terminal; return what it printed."""
    import json
    import os
    import pty
    import subprocess
    import sys
    import tempfile

    vault = arm("Microsoft.KeyVault/vaults", "kv", properties={"softDeleteRetentionInDays": 7})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"format": "prodcheck.snapshot/v1", "resources": [vault]}, fh)
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(env_extra)
    proc = subprocess.Popen(
        [sys.executable, "-m", "prodcheck", "audit", "--snapshot", fh.name, "--rule", "PC-KV-002"],
        stdout=secondary,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(primary)
    os.unlink(fh.name)
    return b"".join(chunks)


def test_a_terminal_gets_colour_unless_no_color_is_set():
    assert b"\x1b[" in _run_on_a_terminal({})
    plain = _run_on_a_terminal({"NO_COLOR": "1"})
    assert b"Gate: FAILED" in plain
    assert b"\x1b[" not in plain


def test_a_line_break_in_a_resource_name_cannot_forge_a_line_of_the_report():
    vault = arm("Microsoft.KeyVault/vaults", "kv", properties={"softDeleteRetentionInDays": 7})
    vault["name"] = "kv\nGate: PASSED — all clear"
    text = render(audit_snapshot([vault], rules=["PC-KV-002"]), "terminal", RenderOptions())
    assert not any(line.startswith("Gate: PASSED") for line in text.splitlines())
    assert "kv\\x0aGate: PASSED" in text
