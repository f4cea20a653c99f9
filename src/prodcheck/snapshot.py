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


# The same for `plainly_valid`, as exact types: a field that is absent reads as `_ABSENT`,
# which every field may be. A subclass of a kind (never read from JSON) is left to the schema.
class _Absent:
    pass


_ABSENT = _Absent()
_EXACT_KINDS = tuple((key, frozenset({*kinds, _Absent})) for key, kinds in _FIELD_KINDS.items())


def plainly_valid(resource: Any) -> bool:
    """Whether `resource` certainly satisfies the schema's `$defs/resource`."""
    if type(resource) is not dict:
        return False
    get = resource.get
    rid = get("id")
    if type(rid) is not str or not rid:
        return False
    for key, kinds in _EXACT_KINDS:
        if type(get(key, _ABSENT)) not in kinds:
            return False
    rtype = get("type")
    return not (type(rtype) is str and _metrics_type(rtype)) or _plain_metrics(resource)


# `$defs/resource` holds a resource of this type (a metrics answer) to `$defs/metricsRecord`.
_METRICS_TYPE = "microsoft.insights/metrics"


def _metrics_type(rtype: str) -> bool:
    """Whether the schema may read `rtype` as a metrics answer's type.

    Its pattern takes the type in any case, and (as Python reads `$`) before one line feed;
    this takes a little more, which is only handed to the schema.
    """
    return len(rtype) <= len(_METRICS_TYPE) + 1 and rtype.lower().rstrip("\n") == _METRICS_TYPE


def _plain_metrics(resource: dict[str, Any]) -> bool:
    """Whether a metrics answer certainly satisfies `$defs/metricsRecord`."""
    name, props = resource.get("name"), resource.get("properties")
    if not isinstance(name, str) or not name or not isinstance(props, dict):
        return False
    value = props.get("value")
    if not isinstance(value, list) or not all(isinstance(point, dict) for point in value):
        return False
    return all(
        isinstance(props[k], str) for k in ("timespan", "interval", "namespace") if k in props
    )


def _plain_top(doc: dict[str, Any]) -> bool:
    """Whether `doc` without its resources certainly satisfies the snapshot schema.

    The schema (and the `jsonschema` it needs) is then only read to explain a document that
    is not: an integer here is an `int` (the schema also counts 1.0), so anything unusual
    goes to the schema.
    """
    if not _TOP_KEYS.issuperset(doc) or doc.get("format") != FORMAT:
        return False
    collected = doc.get("collectedAt")
    if collected is not None and not isinstance(collected, str):
        return False
    if "scope" in doc and not _plain_scope(doc["scope"]):
        return False
    coverage = doc.get("coverage", [])
    return isinstance(coverage, list) and all(map(_plain_record, coverage))


_TOP_KEYS = frozenset({"format", "collectedAt", "scope", "coverage", "resources"})
_RECORD_KEYS = frozenset(
    {"resourceType", "scope", "status", "statusCode", "errorCode", "message", "permission", "count"}
)


def _count(value: Any, maximum: int | None = None) -> bool:
    return value.__class__ is int and value >= 0 and (maximum is None or value <= maximum)


def _names(value: Any, min_length: int = 0) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, str) and len(item) >= min_length for item in value
    )


def _plain_scope(scope: Any) -> bool:
    if not isinstance(scope, dict):
        return False
    for key in ("subscriptions", "resourceGroups"):
        if key in scope and not _names(scope[key], 1):
            return False
    tags = scope.get("tags", {})
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        return False
    if "cloud" in scope and not isinstance(scope["cloud"], str):
        return False
    graph = scope.get("resourceGraph", {})
    if not isinstance(graph, dict):
        return False
    return (
        all(_names(graph[k]) for k in ("types", "fallbacks") if k in graph)
        and all(_count(graph[k]) for k in ("scopes", "queries", "rows") if k in graph)
        and all(isinstance(graph[k], str) for k in ("queriedAt", "lag") if k in graph)
    )


def _plain_record(record: Any) -> bool:
    if not isinstance(record, dict) or not _RECORD_KEYS.issuperset(record):
        return False
    rtype = record.get("resourceType")
    if not isinstance(rtype, str) or not rtype or not isinstance(record.get("scope"), str):
        return False
    if record.get("status") not in ("ok", "failed") or not isinstance(record["status"], str):
        return False
    if "statusCode" in record and not _count(record["statusCode"], 999):
        return False
    if "count" in record and not _count(record["count"]):
        return False
    return all(
        isinstance(record[k], str) for k in ("errorCode", "message", "permission") if k in record
    )


def _check_schema(doc: dict[str, Any], source: str, key: str) -> dict[int, str]:
    """Refuse `doc` for any violation of the snapshot schema outside a single resource's fields.

    Returns, by index, the first problem of each resource that is an object with an id but has
    fields of the wrong kind: those resources are malformed, not the file.
    """

    def label(p: list[Any]) -> str:
        return _label(doc, p, key)

    if not _plain_top(doc):
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
    spelled: dict[str, str] = {}
    for i, resource in enumerate(snapshot.resources):
        rid = resource["id"]
        id_key = norm(rid)
        if id_key in seen:
            where = f"{key}[{i}]" if key else f"resource [{i}]"
            first = snapshot.resources[seen[id_key]]["id"]
            same = "the same id" if first == rid else "ids that differ only in case"
            raise UserError(
                f"{snapshot.source}: {where[: where.index('[')]}[{seen[id_key]}] and {where} have "
                f"{same} ({_short(first)} and {_short(rid)}): ARM ids are unique and "
                "case-insensitive; remove the duplicate"
            )
        seen[id_key] = i
        raw_type = resource.get("type")
        if isinstance(raw_type, str):
            # A snapshot holds few types, each in many resources: normalise each once.
            rtype = spelled.get(raw_type) or spelled.setdefault(raw_type, _type_spelling(raw_type))
        else:
            rtype = ""
        if not rtype:
            rtype = ArmId.parse(rid).type
            if not rtype:
                where = f"{key}[{i}]" if key else f"resource [{i}]"
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


def _type_spelling(raw_type: str) -> str:
    """A resource type as the rules spell it: no blanks around its parts, no outer slashes."""
    rtype = raw_type.strip().strip("/").strip()
    return "/".join(part.strip() for part in rtype.split("/"))


def load_snapshot(path: str | Path, jobs: int | None = 1) -> Snapshot:
    """Read a snapshot file (or '-' for standard input).

    `jobs` is the audit's `--jobs`: unless it is 1 (or auto on one CPU), a large file's
    resources are read by two processes (see `prodcheck.jsonfile.read_json`)."""
    from prodcheck import fanout

    split = fanout.jobs_for(jobs, 1, 1) > 1
    data, source = read_json(
        path, "snapshot", "re-collect it with 'prodcheck snapshot'", split=split
    )
    return parse_snapshot(data, source)


def load_demo(name: str) -> Snapshot:
    """One of the built-in demo inventories."""
    if name not in DEMOS:
        raise UserError(f"unknown demo {name!r}: use one of {', '.join(DEMOS)}")
    snapshot = load_snapshot(demos_dir() / f"{name}.json")
    snapshot.source = f"demo:{name}"
    return snapshot
