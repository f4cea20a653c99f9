"""Reading snapshots: the format v1 file, and the inventories other tools write.

See docs/snapshot-format.md. Every problem with the input is a `UserError` that names the file,
what is wrong and what to do; nothing here modifies the input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodcheck.errors import UserError
from prodcheck.inventory import CoverageRecord, Inventory
from prodcheck.jsonfile import read_json
from prodcheck.paths import demos_dir

FORMAT = "prodcheck.snapshot/v1"
DEMOS = ("flat", "hardened")


@dataclass
class Snapshot:
    resources: list[dict[str, Any]]
    coverage: list[CoverageRecord] | None = None
    scope: dict[str, Any] = field(default_factory=dict)
    collected_at: str | None = None
    # What the audit read: a file path, "demo:flat", "live".
    source: str = ""
    # "snapshot" (format v1), "array", "arm-list" or "resource-graph".
    input_kind: str = "snapshot"

    def inventory(self) -> Inventory:
        return Inventory(self.resources, coverage=self.coverage, scope=self.scope)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"format": FORMAT}
        if self.collected_at:
            doc["collectedAt"] = self.collected_at
        doc["scope"] = self.scope
        if self.coverage is not None:
            doc["coverage"] = [
                {
                    k: v
                    for k, v in {
                        "resourceType": c.resource_type,
                        "scope": c.scope,
                        "status": c.status,
                        "statusCode": c.status_code or None,
                        "errorCode": c.error_code or None,
                        "message": c.message or None,
                        "permission": c.permission or None,
                        "count": c.count if not c.failed else None,
                    }.items()
                    if v is not None
                }
                for c in self.coverage
            ]
        doc["resources"] = self.resources
        return doc


def parse_snapshot(data: Any, source: str) -> Snapshot:
    """Interpret already-parsed JSON as a snapshot; `source` names it in error messages."""
    if isinstance(data, list):
        return Snapshot(_check_resources(data, source), source=source, input_kind="array")
    if not isinstance(data, dict):
        raise UserError(
            f"{source} is a JSON {type(data).__name__}, not a snapshot: expected an object with "
            f'"format": "{FORMAT}", a JSON array of resources, {{"value": [...]}} or {{"data": [...]}}'
        )
    if "format" in data:
        fmt = data.get("format")
        if fmt != FORMAT:
            raise UserError(
                f"{source} has format {fmt!r}, which this prodcheck does not read: "
                f"it reads {FORMAT!r}; re-collect it with 'prodcheck snapshot' or upgrade prodcheck"
            )
        if "resources" not in data:
            raise UserError(f'{source} has no "resources" list: a {FORMAT} snapshot needs one')
        coverage_raw = data.get("coverage")
        coverage = None
        if coverage_raw is not None:
            if not isinstance(coverage_raw, list) or not all(
                isinstance(c, dict) for c in coverage_raw
            ):
                raise UserError(
                    f'{source}: "coverage" must be a list of objects (see docs/snapshot-format.md)'
                )
            coverage = [CoverageRecord.from_json(c) for c in coverage_raw]
        scope = data.get("scope") or {}
        if not isinstance(scope, dict):
            raise UserError(f'{source}: "scope" must be an object')
        return Snapshot(
            _check_resources(data["resources"], source),
            coverage=coverage,
            scope=scope,
            collected_at=data.get("collectedAt"),
            source=source,
        )
    if isinstance(data.get("value"), list):
        return Snapshot(
            _check_resources(data["value"], source), source=source, input_kind="arm-list"
        )
    if isinstance(data.get("data"), list):
        return Snapshot(
            _check_resources(data["data"], source), source=source, input_kind="resource-graph"
        )
    raise UserError(
        f'{source} is not a snapshot: it has no "format" key (expected "{FORMAT}"), '
        'and no "value" or "data" list of resources'
    )


def _check_resources(resources: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(resources, list):
        raise UserError(f'{source}: "resources" must be a list of ARM resources')
    for i, resource in enumerate(resources):
        if not isinstance(resource, dict):
            raise UserError(f"{source}: resource #{i + 1} is not a JSON object")
        for key in ("id", "type"):
            if not isinstance(resource.get(key), str) or not resource.get(key):
                raise UserError(
                    f"{source}: resource #{i + 1} has no {key!r}: every resource needs the 'id' "
                    "and 'type' ARM returns"
                )
    return resources


def load_snapshot(path: str | Path) -> Snapshot:
    """Read a snapshot file (or '-' for standard input)."""
    data, source = read_json(path, "snapshot", "re-collect it with 'prodcheck snapshot'")
    return parse_snapshot(data, source)


def load_demo(name: str) -> Snapshot:
    """One of the built-in demo inventories."""
    if name not in DEMOS:
        raise UserError(f"unknown demo {name!r}: use one of {', '.join(DEMOS)}")
    snapshot = load_snapshot(demos_dir() / f"{name}.json")
    snapshot.source = f"demo:{name}"
    return snapshot
