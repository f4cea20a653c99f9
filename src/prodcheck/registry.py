"""Finding rules: the built-in pack, extra directories, and installed plugins.

Plugins register through the entry-point group ``prodcheck.rules``; the entry point names a
module (its `@rule` functions are collected), or a callable returning rules. Rule ids are
unique across all sources: a second rule with an id already taken is an error naming both.

Loading runs code from outside. A rule module or plugin that raises anything while loading
(even `SystemExit`), or does not finish within the rule time budget, is an error naming it:
its rules are unknown, so no audit could say what it skipped.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import importlib.util
import sys
import types
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar

from prodcheck.errors import UserError
from prodcheck.paths import builtin_rules_dir
from prodcheck.rule import DEFAULT_RULE_TIMEOUT, Rule, call_with_budget, rules_in

ENTRY_POINT_GROUP = "prodcheck.rules"
T = TypeVar("T")


def _load(what: str, fix: str, func: Callable[[], T], verb: str = "load") -> T:
    """`func()`, or a UserError naming `what` when it raises anything or never finishes."""
    try:
        value, timed_out = call_with_budget(DEFAULT_RULE_TIMEOUT, func)
    except (KeyboardInterrupt, UserError):
        raise
    except BaseException as exc:  # noqa: BLE001 - code from outside may raise anything
        raise UserError(f"{what} failed to {verb} ({type(exc).__name__}: {exc}): {fix}") from None
    if timed_out:
        raise UserError(f"{what} did not finish loading within {DEFAULT_RULE_TIMEOUT:g} s: {fix}")
    return value  # type: ignore[return-value]


def _package_name(directory: Path) -> str:
    digest = hashlib.sha1(str(directory).encode()).hexdigest()[:10]
    return f"_prodcheck_rules_{digest}"


def load_rules_from_dir(directory: Path, origin: str) -> list[Rule]:
    """Import every `*.py` module of `directory` (not starting with `_`) and collect its rules.

    The directory is imported as a package, so modules can share helpers through relative
    imports (`from ._apim_policy import effective_policy`).
    """
    directory = directory.resolve()
    if not directory.is_dir():
        raise UserError(f"rules directory {directory} does not exist: pass an existing directory")
    package = _package_name(directory)
    if package not in sys.modules:
        module = types.ModuleType(package)
        module.__path__ = [str(directory)]
        module.__package__ = package
        sys.modules[package] = module
    found: list[Rule] = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = f"{package}.{path.stem}"
        module = sys.modules.get(name)  # type: ignore[assignment]
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise UserError(f"cannot import rule module {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            loader = spec.loader
            try:
                _load(
                    f"rule module {path}",
                    "fix or remove it",
                    lambda: loader.exec_module(module),  # noqa: B023 - called at once
                    verb="import",
                )
            except UserError:
                del sys.modules[name]
                raise
        for meta in rules_in(vars(module)):
            meta.origin = origin
            found.append(meta)
    return found


def _rules_from_object(obj: Any) -> list[Rule]:
    if isinstance(obj, types.ModuleType):
        return rules_in(vars(obj))
    if isinstance(obj, Rule):
        return [obj]
    meta = getattr(obj, "__prodcheck_rule__", None)
    if isinstance(meta, Rule):
        return [meta]
    if callable(obj):
        return _rules_from_object(list(obj()))
    if isinstance(obj, Iterable):
        out: list[Rule] = []
        for item in obj:
            out.extend(_rules_from_object(item))
        return out
    return []


def load_plugin_rules() -> list[Rule]:
    """Rules from installed distributions declaring the `prodcheck.rules` entry-point group."""
    found: list[Rule] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        what = f"rule plugin {ep.name!r} ({ep.value})"
        fix = "upgrade or uninstall it"
        obj = _load(what, fix, ep.load)
        dist = ep.dist.name if ep.dist else ep.name
        for meta in _load(what, fix, lambda: _rules_from_object(obj)):  # noqa: B023
            meta.origin = f"plugin:{dist}"
            found.append(meta)
    return found


class Registry:
    """All known rules, by id."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules: dict[str, Rule] = {}
        for meta in rules:
            existing = self._rules.get(meta.id)
            if existing is not None and existing is not meta:
                raise UserError(
                    f"rule id {meta.id} is declared twice: in {_where(existing)} and in {_where(meta)}; "
                    "give one of them another id"
                )
            self._rules[meta.id] = meta

    @classmethod
    def load(
        cls,
        extra_dirs: Sequence[Path] = (),
        *,
        builtin: bool = True,
        plugins: bool = True,
    ) -> Registry:
        rules: list[Rule] = []
        if builtin:
            rules.extend(load_rules_from_dir(builtin_rules_dir(), "builtin"))
        for directory in extra_dirs:
            rules.extend(load_rules_from_dir(Path(directory), str(directory)))
        if plugins:
            rules.extend(load_plugin_rules())
        return cls(rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: str) -> bool:
        return rule_id.upper() in self._rules

    def all(self) -> list[Rule]:
        return [self._rules[k] for k in sorted(self._rules)]

    def get(self, rule_id: str) -> Rule:
        try:
            return self._rules[rule_id.strip().upper()]
        except KeyError:
            close = self.closest(rule_id)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise UserError(
                f"unknown rule {rule_id!r}{hint}: run 'prodcheck rules list' to see rule ids"
            ) from None

    def closest(self, text: str, n: int = 3) -> list[str]:
        """The rule ids most like `text`: a typo (PC-KV-02), a missing prefix (KV-002)."""
        wanted = text.strip().upper().replace("*", "").replace("?", "")
        ids = sorted(self._rules)
        close = difflib.get_close_matches(wanted, ids, n=n, cutoff=0.6)
        if not close:
            close = [r for r in ids if wanted and wanted in r][:n]
        return close

    def select(self, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[Rule]:
        """The rules matching any of `include` (ids or globs; all when empty) and none of `exclude`.

        A pattern that matches no rule is an error: a typo must not silently skip checks.
        """
        chosen = self._match(include) if include else set(self._rules)
        chosen -= self._match(exclude)
        return [self._rules[k] for k in sorted(chosen)]

    def _match(self, patterns: Sequence[str]) -> set[str]:
        matched: set[str] = set()
        for pattern in patterns:
            for part in pattern.split(","):
                part = part.strip().upper()
                if not part:
                    continue
                hits = {rid for rid in self._rules if fnmatch.fnmatchcase(rid, part)}
                if not hits:
                    close = self.closest(part)
                    hint = f" (did you mean {', '.join(close)}?)" if close else ""
                    raise UserError(
                        f"unknown rule {part!r}: no rule id matches it{hint}; "
                        "run 'prodcheck rules list'"
                    )
                matched |= hits
        return matched


def _where(meta: Rule) -> str:
    return f"{meta.origin} ({meta.source_file})" if meta.source_file else meta.origin
