"""The wheel carries the built-in rules, templates, demos and schemas, and works on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
        text=True,
    )
    [built] = out.glob("prodcheck-*.whl")
    return built


def test_wheel_contains_rules_templates_demos_and_schemas(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    rule_modules = {p.name for p in (REPO / "rules").glob("*.py")}
    assert {f"prodcheck/rules/{n}" for n in rule_modules} <= names
    templates = {
        p.relative_to(REPO).as_posix() for p in (REPO / "templates").rglob("*") if p.is_file()
    }
    assert {f"prodcheck/{t}" for t in templates} <= names
    assert "prodcheck/demos/flat.json" in names
    assert "prodcheck/demos/hardened.json" in names
    assert "prodcheck/demos/flat-plan/containers.tf" in names  # the plan demo's sources
    assert "prodcheck/schemas/snapshot-v1.schema.json" in names
    assert "prodcheck/schemas/report-v1.schema.json" in names
    entry_points = [n for n in names if n.endswith("entry_points.txt")]
    assert entry_points


def test_installed_wheel_runs_its_own_rules_outside_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    probe = (
        "import json, prodcheck, prodcheck.paths as p;"
        "print(json.dumps([prodcheck.__file__, str(p.builtin_rules_dir()), str(p.templates_dir())]))"
    )
    where = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe],
            env=env,
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert all(str(target) in w for w in where), where
    listed = subprocess.run(
        [sys.executable, "-m", "prodcheck", "rules", "list", "--format", "json"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    ids = {r["id"] for r in json.loads(listed.stdout)}
    assert "PC-KV-002" in ids
    demo = subprocess.run(
        [sys.executable, "-m", "prodcheck", "audit", "--demo", "-f", "json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert demo.returncode == 1, demo.stderr
    assert json.loads(demo.stdout)["source"] == "demo:flat"


def test_every_sdk_the_collector_uses_is_a_declared_dependency():
    import re
    import tomllib

    from prodcheck.collect.clients import SDK_CLIENTS

    declared = {
        re.split(r"[<>=!~ \[]", d, maxsplit=1)[0].lower()
        for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    for module, _ in SDK_CLIENTS.values():
        distribution = "-".join(module.split(".")[:3])  # azure.mgmt.redis -> azure-mgmt-redis
        assert distribution in declared, (
            f"{distribution} is used by collection but not a dependency"
        )
