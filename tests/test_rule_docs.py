"""docs/rules/ is generated from the rules and kept in step with them."""

from __future__ import annotations

from pathlib import Path

from prodcheck.registry import Registry
from prodcheck.ruledocs import write_rule_docs

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


def test_rule_pages_match_the_rules(tmp_path):
    rules = Registry.load(plugins=False).all()
    write_rule_docs(rules, tmp_path)
    generated = {p.name: p.read_text() for p in tmp_path.glob("*.md")}
    committed = {p.name: p.read_text() for p in DOCS.glob("*.md")}
    stale = sorted(name for name in generated if committed.get(name) != generated[name])
    extra = sorted(set(committed) - set(generated))
    assert not stale and not extra, (
        f"docs/rules is out of date (stale: {stale}, no longer a rule: {extra}); "
        "run: prodcheck rules docs -o docs/rules"
    )


def test_every_rule_page_explains_what_it_checks_and_how_to_fix():
    for rule in Registry.load(plugins=False).all():
        page = (DOCS / f"{rule.id}.md").read_text()
        assert "## What it checks" in page, rule.id
        assert "## Remediation" in page, rule.id
