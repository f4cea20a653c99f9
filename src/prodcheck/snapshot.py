"""Reading snapshots: the format v1 file, and the inventories other tools write.

See docs/snapshot-format.md. Every problem with the input is a `UserError` that names the file,
what is wrong and what to do; nothing here modifies the input.

Input is untrusted and read fail-closed:

- a v1 snapshot is checked against the shipped JSON Schema (`schemas/snapshot-v1.schema.json`);
  its coverage records are read strictly, and any violation refuses the file;
- one malformed resource (its `properties` a list, its `tags` a string, ...) does not refuse the
  file: it gets a failed coverage record of its own (`MalformedResource`), so every verdict on
  it is ERROR;
- two resources with the same id (ARM ids are case-insensitive) refuse the file;
- types are normalised (`/Microsoft.DocumentDB/mongoClusters`, stray blanks), and a resource
  without a type takes it from its id; the report's scope says so;
- an inventory from another tool (a bare array, `{"value": [...]}`, `{"data": [...]}`) carries
  no coverage: the types present in it count as read, and every other type the rules need is
  "not in the input" (ERROR).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodcheck.arm import ArmId, norm
from prodcheck.errors import UserError
from prodcheck.inventory import CoverageRecord, Inventory
from prodcheck.jsonfile import read_json
from prodcheck.paths import demos_dir
from prodcheck.validation import (
    SNAPSHOT_SCHEMA,
    definition_errors,
    describe,
    path_text,
    schema_errors,
)

FORMAT = "prodcheck.snapshot/v1"
DEMOS = ("flat", "hardened")
# Inventories other tools write: a bare array, an ARM list response, Resource Graph output.
FOREIGN_KINDS = ("array", "arm-list", "resource-graph")
MALFORMED = "MalformedResource"
# Why a needed type is missing from another tool's inventory (Resource Graph, for one, never
# returns child and extension types such as private DNS zone groups or diagnostic settings).
NOT_IN_INPUT = (
    "not in the input: collect with `prodcheck snapshot` (the input is another tool's "
    "inventory, which holds no record of what it left out)"
)
_DOC = "see docs/snapshot-format.md"


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
    # Failed coverage records found on loading: one per malformed resource.
    problems: list[CoverageRecord] = field(default_factory=list)
    # What loading changed or inferred, for the report's scope (types taken from ids, ...).
    notes: dict[str, Any] = field(default_factory=dict)
    # The resources as the rules see them (types normalised); `resources` stays as read.
    _normalised: list[dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def foreign(self) -> bool:
        """Whether this is another tool's inventory (no coverage of its own)."""
        return self.input_kind in FOREIGN_KINDS

    def inventory(self) -> Inventory:
        resources = self._normalised if self._normalised is not None else self.resources
        if self.foreign:
            audited = audited_scope(self.scope, resources)
            counts: Counter[str] = Counter()
            spelling: dict[str, str] = {}
            for r in resources:
                rtype = str(r.get("type") or ArmId.parse(str(r.get("id") or "")).type)
                counts[norm(rtype)] += 1
                spelling.setdefault(norm(rtype), rtype)
            inferred = [
                CoverageRecord(
                    resource_type=spelling[key],
                    scope=audited,
                    status="ok",
                    message="present in the input",
                    count=counts[key],
                )
                for key in sorted(counts)
            ]
            return Inventory(
                resources,
                coverage=inferred + self.problems,
                scope=self.scope,
                coverage_basis="inferred",
            )
        if self.coverage is None:
            return Inventory(
                resources,
                coverage=list(self.problems),
                scope=self.scope,
                coverage_basis="asserted",
            )
        return Inventory(resources, coverage=self.coverage + self.problems, scope=self.scope)

    def to_json(self) -> dict[str, Any]:
        """The `prodcheck.snapshot/v1` document, every credential in it masked.

        A snapshot is data prodcheck audits again: misleading characters stay as they are (the
        snapshot file writes them as JSON escapes, which read back the same).
        """
        from prodcheck.outbound import clean_snapshot

        return clean_snapshot(self.unmasked_json())

    def unmasked_json(self) -> dict[str, Any]:
        """The document of `to_json` unmasked: only for writers that mask it themselves."""
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


def audited_scope(scope: dict[str, Any], resources: list[dict[str, Any]]) -> str:
    """The ARM scope the whole audit covers: one subscription or group, else `/`."""
    subs = scope.get("subscriptions") or sorted(
        {ArmId.parse(str(r.get("id") or "")).subscription for r in resources} - {""}
    )
    groups = scope.get("resourceGroups") or []
    if len(subs) == 1 and len(groups) == 1:
        return f"/subscriptions/{subs[0]}/resourceGroups/{groups[0]}"
    if len(subs) == 1:
        return f"/subscriptions/{subs[0]}"
    return "/"


def parse_snapshot(data: Any, source: str) -> Snapshot:
    """Interpret already-parsed JSON as a snapshot; `source` names it in error messages."""
    if isinstance(data, list):
        return _foreign(data, source, "array", "")
    if not isinstance(data, dict):
        raise UserError(
            f"{source} is a JSON {type(data).__name__}, not a snapshot: expected an object with "
            f'"format": "{FORMAT}", a JSON array of resources, {{"value": [...]}} or {{"data": [...]}}'
        )
    if "format" in data:
        return _v1(data, source)
    if isinstance(data.get("value"), list):
        return _foreign(data["value"], source, "arm-list", "value")
    if isinstance(data.get("data"), list):
        return _foreign(data["data"], source, "resource-graph", "data")
    raise UserError(
        f'{source} is not a snapshot: it has no "format" key (expected "{FORMAT}"), '
        'and no "value" or "data" list of resources'
    )


def _v1(data: dict[str, Any], source: str) -> Snapshot:
    fmt = data.get("format")
    if fmt != FORMAT:
        raise UserError(
            f"{source} has format {_short(fmt)}, which this prodcheck does not read: "
            f"it reads {FORMAT!r}; re-collect it with 'prodcheck snapshot' or upgrade prodcheck"
        )
    if "resources" not in data:
        raise UserError(f'{source} has no "resources" list: a {FORMAT} snapshot needs one ({_DOC})')
    if not isinstance(data["resources"], list):
        raise UserError(f'{source}: "resources" must be a list of ARM resources ({_DOC})')
    if data.get("coverage") is not None and not isinstance(data.get("coverage"), list):
        raise UserError(f'{source}: "coverage" must be a list of objects ({_DOC})')
    malformed = _check_schema(data, source, "resources")
    scope = data.get("scope") or {}
    resources = data["resources"]
    audited = audited_scope(scope, resources)
    coverage: list[CoverageRecord] | None = None
    if data.get("coverage") is not None:
        coverage = []
        for i, raw in enumerate(data["coverage"]):
            try:
                coverage.append(CoverageRecord.from_json(raw, audited))
            except ValueError as exc:
                raise UserError(
                    f"{source}: {_coverage_label(data, ['coverage', i])}: {exc} ({_DOC})"
                ) from None
    snapshot = Snapshot(
        resources,
        coverage=coverage,
        scope=scope,
        collected_at=data.get("collectedAt"),
        source=source,
    )
    _prepare(snapshot, malformed, "resources")
    return snapshot


def _foreign(resources: list[Any], source: str, kind: str, key: str) -> Snapshot:
    malformed = _check_schema({"format": FORMAT, "resources": resources}, source, key)
    snapshot = Snapshot(resources, source=source, input_kind=kind)
    _prepare(snapshot, malformed, key)
    return snapshot


# The kinds of a resource's top-level fields, as `$defs/resource` in the schema declares them:
# a quick test that passes almost every resource, so that the schema (slow on 100,000
# resources) only has to explain the few that fail it.
_NONE = type(None)
_FIELD_KINDS: dict[str, tuple[type, ...]] = {
    "name": (str, _NONE),
    "type": (str, _NONE),
    "location": (str, _NONE),
    "kind": (str, _NONE),
    "sku": (dict, _NONE),
    "identity": (dict, _NONE),
    "tags": (dict, _NONE),
    "zones": (list, _NONE),
    "properties": (dict,),
}


def plainly_valid(resource: Any) -> bool:
    """Whether `resource` certainly satisfies the schema's `$defs/resource`."""
    if not isinstance(resource, dict):
        return False
    rid = resource.get("id")
    if not isinstance(rid, str) or not rid:
        return False
    return all(isinstance(resource[k], kinds) for k, kinds in _FIELD_KINDS.items() if k in resource)


def _check_schema(doc: dict[str, Any], source: str, key: str) -> dict[int, str]:
    """Refuse `doc` for any violation of the snapshot schema outside a single resource's fields.

    Returns, by index, the first problem of each resource that is an object with an id but has
    fields of the wrong kind: those resources are malformed, not the file.
    """

    def label(p: list[Any]) -> str:
        return _label(doc, p, key)

    for error in schema_errors({**doc, "resources": []}, SNAPSHOT_SCHEMA):
        raise UserError(f"{source}: {describe(error, label)} ({_DOC})")
    malformed: dict[int, str] = {}
    for i, resource in enumerate(doc["resources"]):
        if plainly_valid(resource):
            continue
        for error in definition_errors(resource, SNAPSHOT_SCHEMA, "resource"):
            path = list(error.absolute_path)
            if path and path[0] != "id":
                malformed.setdefault(i, describe(error, _field, ["resources", i]))
                continue
            raise UserError(f"{source}: {describe(error, label, ['resources', i])} ({_DOC})")
    return malformed


def _field(path: list[Any]) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path[2:]).replace(
        ".[", "["
    )


def _label(doc: dict[str, Any], path: list[Any], key: str) -> str:
    if len(path) >= 2 and path[0] == "coverage":
        return _coverage_label(doc, path)
    if len(path) >= 2 and path[0] == "resources":
        where = f"{key}[{path[1]}]" if key else f"resource [{path[1]}]"
        rest = path[2:]
        return where + ("." + ".".join(map(str, rest)) if rest else "")
    return path_text(path)


def _coverage_label(doc: dict[str, Any], path: list[Any]) -> str:
    index = path[1]
    record = doc["coverage"][index] if isinstance(index, int) else None
    rtype = record.get("resourceType") if isinstance(record, dict) else None
    where = f"coverage[{index}]" + (
        f" ({_short(rtype, quote=not rtype.isprintable())})" if isinstance(rtype, str) else ""
    )
    rest = path[2:]
    return where + (" " + ".".join(map(str, rest)) if rest else "")


def _short(value: Any, quote: bool = True) -> str:
    text = repr(value) if quote else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _prepare(snapshot: Snapshot, malformed: dict[int, str], key: str) -> None:
    """Normalise types, take missing ones from ids, refuse duplicate ids, mark malformed resources."""
    seen: dict[str, int] = {}
    normalised: list[dict[str, Any]] = []
    derived: Counter[str] = Counter()
    respelled: dict[str, str] = {}
    for i, resource in enumerate(snapshot.resources):
        where = f"{key}[{i}]" if key else f"resource [{i}]"
        rid = resource["id"]
        id_key = norm(rid)
        if id_key in seen:
            first = snapshot.resources[seen[id_key]]["id"]
            same = "the same id" if first == rid else "ids that differ only in case"
            raise UserError(
                f"{snapshot.source}: {where[: where.index('[')]}[{seen[id_key]}] and {where} have "
                f"{same} ({_short(first)} and {_short(rid)}): ARM ids are unique and "
                "case-insensitive; remove the duplicate"
            )
        seen[id_key] = i
        raw_type = resource.get("type")
        rtype = raw_type.strip().strip("/").strip() if isinstance(raw_type, str) else ""
        rtype = "/".join(part.strip() for part in rtype.split("/"))
        if not rtype:
            rtype = ArmId.parse(rid).type
            if not rtype:
                raise UserError(
                    f"{snapshot.source}: {where} has no 'type', and its id {_short(rid)} names "
                    "none: give the 'type' ARM returns"
                )
            derived[rtype] += 1
        elif isinstance(raw_type, str) and rtype != raw_type:
            respelled[raw_type] = rtype
        if rtype != raw_type:
            resource = {**resource, "type": rtype}
        normalised.append(resource)
        if i in malformed:
            snapshot.problems.append(
                CoverageRecord(
                    resource_type=rtype,
                    scope=rid,
                    status="failed",
                    error_code=MALFORMED,
                    message=f"the resource is malformed ({malformed[i]}): none of its data is "
                    "trusted; collect it again",
                )
            )
    snapshot._normalised = normalised
    if derived:
        snapshot.notes["typesFromIds"] = dict(sorted(derived.items()))
    if respelled:
        snapshot.notes["typesNormalised"] = dict(sorted(respelled.items()))
    if snapshot.problems:
        snapshot.notes["malformedResources"] = [p.scope for p in snapshot.problems]


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
