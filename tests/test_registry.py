"""Loading rules: the built-in pack, extra directories, plugins, and clashes between them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from prodcheck.errors import UserError
from prodcheck.registry import Registry

RULE_MODULE = '''
from prodcheck import Severity, rule

@rule(id="{id}", title="Caches are tagged", checklist="Production guardrails not bypassed",
      severity=Severity.LOW, needs=["Microsoft.Cache/redis"])
def caches_are_tagged(inv, p):
    """## What it checks\nEvery cache has tags."""
    for cache in inv.of_type("Microsoft.Cache/redis"):
        yield cache.ok("tagged") if cache.tags else cache.fail("no tags")
'''


def _rules_dir(tmp_path: Path, rule_id: str, name: str = "extra") -> Path:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "tagging.py").write_text(RULE_MODULE.format(id=rule_id))
    return directory


def test_builtin_pack_loads_with_unique_ids_and_complete_metadata():
    registry = Registry.load(plugins=False)
    rules = registry.all()
    assert len(rules) >= 10
    for r in rules:
        assert r.origin == "builtin"
        assert r.title and r.checklist and r.section, r.id
        assert r.doc, f"{r.id} has no documentation (docstring)"
        assert r.remediation, f"{r.id} has no remediation"


def test_rules_from_a_directory_are_loaded_beside_the_builtin_pack(tmp_path):
    registry = Registry.load([_rules_dir(tmp_path, "ACME-TAG-001")], plugins=False)
    rule = registry.get("acme-tag-001")
    assert rule.origin.endswith("extra")
    assert "PC-KV-002" in registry


def test_a_directory_rule_reusing_a_builtin_id_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="PC-KV-002 is declared twice"):
        Registry.load([_rules_dir(tmp_path, "PC-KV-002")], plugins=False)


def test_a_missing_rules_directory_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        Registry.load([tmp_path / "nope"], plugins=False)


def test_a_rule_module_that_fails_to_import_names_the_file(tmp_path):
    directory = tmp_path / "bad"
    directory.mkdir()
    (directory / "broken.py").write_text("import not_a_module_anywhere\n")
    with pytest.raises(UserError, match="broken.py failed to import"):
        Registry.load([directory], plugins=False)


def test_rule_modules_share_helpers_through_relative_imports(tmp_path):
    directory = tmp_path / "pack"
    directory.mkdir()
    (directory / "_shared.py").write_text("WANTED = 'Disabled'\n")
    (directory / "uses_helper.py").write_text(
        textwrap.dedent(
            """
            from prodcheck import Severity, rule
            from ._shared import WANTED

            @rule(id="ACME-HELP-001", title="t", checklist="c", severity=Severity.LOW, needs=[])
            def check(inv, p):
                yield inv.scope.ok(WANTED)
            """
        )
    )
    registry = Registry.load([directory], builtin=False, plugins=False)
    assert [r.id for r in registry.all()] == ["ACME-HELP-001"]


def _install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule_id: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    module = f"acme_prodcheck_rules_{rule_id.replace('-', '_').lower()}"
    (site / f"{module}.py").write_text(RULE_MODULE.format(id=rule_id))
    dist = site / "acme_prodcheck-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-prodcheck\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[prodcheck.rules]\nacme = {module}\n")
    monkeypatch.syspath_prepend(str(site))


def test_plugins_register_rules_through_the_entry_point_group(tmp_path, monkeypatch):
    _install_plugin(tmp_path, monkeypatch, "ACME-PLUG-001")
    registry = Registry.load()
    assert registry.get("ACME-PLUG-001").origin == "plugin:acme-prodcheck"


def test_a_plugin_clashing_with_a_builtin_id_is_a_clear_error(tmp_path, monkeypatch):
    _install_plugin(tmp_path, monkeypatch, "PC-KV-002")
    with pytest.raises(UserError, match="declared twice.*plugin:acme-prodcheck"):
        Registry.load()


def test_selection_by_id_and_glob_minus_skips():
    registry = Registry.load(plugins=False)
    chosen = [r.id for r in registry.select(["PC-OPS-*"], ["PC-OPS-001"])]
    assert "PC-OPS-001" not in chosen
    assert "PC-OPS-002" in chosen
    assert all(rid.startswith("PC-OPS-") for rid in chosen)
    assert [r.id for r in registry.select(["pc-kv-002"])] == ["PC-KV-002"]


def test_a_selection_that_matches_no_rule_is_an_error_not_an_empty_audit():
    registry = Registry.load(plugins=False)
    with pytest.raises(UserError, match="unknown rule 'PC-NOPE-\\*'"):
        registry.select(["PC-NOPE-*"])
    with pytest.raises(UserError, match="prodcheck rules list"):
        registry.get("PC-XYZ-999")


@pytest.mark.parametrize(
    "body",
    [
        "import sys\nsys.exit(0)\n",
        "raise SystemExit(3)\n",
        "class Odd(BaseException):\n    pass\n\nraise Odd('at import')\n",
    ],
)
def test_a_rule_module_ending_the_process_at_import_is_a_clear_error(tmp_path, body):
    directory = tmp_path / "bad"
    directory.mkdir()
    (directory / "quits.py").write_text(body)
    with pytest.raises(UserError, match="quits.py failed to import"):
        Registry.load([directory], plugins=False)


def test_a_plugin_that_exits_while_loading_names_the_plugin(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "acme_quits.py").write_text("raise SystemExit('bye')\n")
    dist = site / "acme_quits-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-quits\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[prodcheck.rules]\nquits = acme_quits\n")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(UserError, match="rule plugin 'quits'.*SystemExit: bye.*uninstall"):
        Registry.load()
