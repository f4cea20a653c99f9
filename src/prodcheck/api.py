"""The public Python API, for embedding prodcheck (a team's own test suite, a pipeline step).

    from prodcheck.api import audit_snapshot, audit_live
    report = audit_snapshot("snapshot.json", rules=["PC-NET-*"])
    assert report.gate_passed, [f.message for f in report.blocking()]

The CLI is a thin layer over these functions.

What they return is as safe as what the command line writes: every string of a `Report` they
return (messages, evidence, names, remediations) has its credentials masked, as in every
report format, and `Report.to_json()` also writes misleading characters (bidirectional
overrides, control characters) as visible escapes; a collected `Snapshot` was masked at
collection and `Snapshot.to_json()` masks it again (see `prodcheck.outbound`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodcheck.engine import AuditSettings, audit, check_selection
from prodcheck.outbound import clean
from prodcheck.registry import Registry
from prodcheck.report import Report
from prodcheck.rule import Rule
from prodcheck.snapshot import Snapshot, load_snapshot, parse_snapshot

if TYPE_CHECKING:  # the collection stage imports the Azure SDKs; load it only when collecting
    from prodcheck.collect.options import CollectOptions

__all__ = [
    "AuditSettings",
    "Registry",
    "Report",
    "Snapshot",
    "audit_live",
    "audit_snapshot",
    "collect",
    "collect_for",
    "needs_of",
    "select_rules",
]


def select_rules(
    rules: Sequence[str] = (),
    skip: Sequence[str] = (),
    rules_dirs: Sequence[str | Path] = (),
    registry: Registry | None = None,
) -> list[Rule]:
    """The rules to run: ids or globs in `rules` (all when empty), minus `skip`."""
    registry = registry or Registry.load([Path(d) for d in rules_dirs])
    return registry.select(rules, skip)


def needs_of(
    rules: Sequence[Rule], params: Mapping[str, Mapping[str, Any]] | None = None
) -> list[str]:
    """The resource types `rules` read, once each (case-insensitively), sorted; a need naming
    a parameter (`{stt_metric}`) is filled in with its value under `params` (per rule id, as
    in `AuditSettings.params`), else with its default."""
    seen: dict[str, str] = {}
    for r in rules:
        for t in r.needs_with(r.resolve_params((params or {}).get(r.id))):
            seen.setdefault(t.lower(), t)
    return [seen[k] for k in sorted(seen)]


def _as_snapshot(snapshot: Snapshot | dict[str, Any] | list[Any] | str | Path) -> Snapshot:
    if isinstance(snapshot, Snapshot):
        return snapshot
    if isinstance(snapshot, dict | list):
        return parse_snapshot(snapshot, "the snapshot given")
    return load_snapshot(snapshot)


def audit_snapshot(
    snapshot: Snapshot | dict[str, Any] | list[Any] | str | Path,
    *,
    rules: Sequence[str] = (),
    skip: Sequence[str] = (),
    rules_dirs: Sequence[str | Path] = (),
    settings: AuditSettings | None = None,
    registry: Registry | None = None,
) -> Report:
    """Audit a snapshot (a `Snapshot`, parsed JSON, or a file path)."""
    selected = select_rules(rules, skip, rules_dirs, registry)
    return _masked(audit(_as_snapshot(snapshot), selected, settings))


def _masked(report: Report) -> Report:
    """`report` with every credential in its text masked, as the reporters show it.

    Misleading characters stay as they are (the report is data: a JSON report keeps them as
    escapes that read back the same); `Report.to_json()` and the reporters make them visible.
    """
    return clean(report, visible=False)


def collect_for(
    options: CollectOptions,
    rules: Sequence[Rule],
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> Snapshot:
    """Collect from Azure exactly what `rules` need (with these parameters), as a snapshot."""
    from prodcheck.collect import collect_snapshot

    data = collect_snapshot(options, needs_of(rules, params))
    snapshot = parse_snapshot(data, "live collection")
    snapshot.source = "live"
    return snapshot


def collect(
    options: CollectOptions,
    *,
    rules: Sequence[str] = (),
    skip: Sequence[str] = (),
    rules_dirs: Sequence[str | Path] = (),
    registry: Registry | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> Snapshot:
    """Collect what the selected rules need from Azure, as a snapshot."""
    return collect_for(options, select_rules(rules, skip, rules_dirs, registry), params)


def audit_live(
    options: CollectOptions,
    *,
    rules: Sequence[str] = (),
    skip: Sequence[str] = (),
    rules_dirs: Sequence[str | Path] = (),
    settings: AuditSettings | None = None,
    registry: Registry | None = None,
) -> Report:
    """Collect from Azure with `options` (credential, scope, endpoint) and audit the result."""
    selected = select_rules(rules, skip, rules_dirs, registry)
    check_selection(selected)  # before asking Azure for anything
    params = settings.params if settings is not None else None
    return _masked(audit(collect_for(options, selected, params), selected, settings))
