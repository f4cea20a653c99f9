"""Where the built-in rule pack, report templates, demos and schemas are.

In a source checkout (and an editable install) the rule pack and templates sit at the top of
the repository; in a wheel they are packaged beside this module. Both layouts work.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_ROOT = PACKAGE_DIR.parent.parent


def _packaged_or_repo(name: str) -> Path:
    packaged = PACKAGE_DIR / name
    if packaged.is_dir():
        return packaged
    return _REPO_ROOT / name


def builtin_rules_dir() -> Path:
    return _packaged_or_repo("rules")


def templates_dir() -> Path:
    return _packaged_or_repo("templates")


def demos_dir() -> Path:
    return PACKAGE_DIR / "demos"


def schemas_dir() -> Path:
    return PACKAGE_DIR / "schemas"
