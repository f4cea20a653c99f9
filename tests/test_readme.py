"""The README opens with the two set-up commands, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _opening_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    before_prose = text.split("\nThe first command", 1)[0]
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", before_prose, re.DOTALL)]


def test_readme_opens_with_exactly_two_setup_commands():
    commands = _opening_commands()
    assert len(commands) == 2
    install_and_demo, tests = commands
    assert "pip install -e '.[test]'" in install_and_demo
    assert install_and_demo.endswith("prodcheck audit --demo")
    assert tests == "bash .ci/run"


def test_ci_script_runs_lint_types_and_the_whole_suite():
    script = (REPO / ".ci" / "run").read_text()
    assert "pip install --quiet -e '.[test]'" in script
    assert "ruff check" in script and "ruff format --check" in script
    assert ".venv/bin/mypy" in script
    assert script.rstrip().endswith(".venv/bin/python -m pytest")


def test_readme_documents_every_exit_code():
    text = (REPO / "README.md").read_text()
    for code in ("| 0 |", "| 1 |", "| 2 |"):
        assert code in text
