"""The inventory: ARM resources as ARM returns them, with the lookups rules need.

Rules read the inventory and nothing else. Every lookup here is case-insensitive on ids and
types, because ARM is not consistent about case (see `prodcheck.arm`).

Every lookup also says what its answer depends on, through `Inventory.note_read`: the types
it looked at, and where (a parent for a child collection, a resource for its own data). While
a rule runs, the engine collects these reads per verdict, so that a verdict resting on data
that could not be collected is ERROR, however the rule reached that data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache, partial
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar

from prodcheck.arm import ArmId, norm
from prodcheck.model import Status

_MISSING = object()
_T = TypeVar("_T")
_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_UNKNOWN_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+|\*)\]")

# Where a resource built from a deployment plan lists the paths whose values are known only after
# deployment (`"properties.vaultUri"`, `"properties.ipRules[*].value"`); see docs/shift-left.md.
UNKNOWN_KEY = "x-prodcheck-unknown"


def _path_tokens(path: str) -> tuple[str | int, ...]:
    """`a.B[0].c[*]` as ("a", "b", 0, "c", -1): keys folded, `[*]` (any element) as -1."""
    return tuple(
        key.lower() if key else (-1 if index == "*" else int(index))
        for key, index in _UNKNOWN_TOKEN.findall(path)
    )


def _overlaps(read: tuple[str | int, ...], unknown: tuple[str | int, ...]) -> bool:
    """Whether reading `read` reads (part of) `unknown`: one path lies inside the other."""
    for a, b in zip(read, unknown, strict=False):
        if a == b or (isinstance(a, int) and b == -1) or (a == -1 and isinstance(b, int)):
            continue
        return False
    return True


def dig(obj: Any, path: str, default: Any = None) -> Any:
    """Read a nested value safely: ``dig(r, "properties.ipRules[0].value")``.

    Returns `default` when any step is missing or of the wrong kind. Keys are matched
    exactly first and then case-insensitively, because some resource providers spell the
    same property differently (`DisableLocalAuth` and `disableLocalAuth`).
    """
    if type(path) is str:
        keys = _KEYS.get(path)
        if keys is None:
            keys = _keys_of(path)
        if keys:
            # A path of keys only, through plain dicts holding each key as spelt: the usual
            # read, done without the general walk below (which any other step goes back to).
            current = obj
            for key in keys:
                if type(current) is not dict:
                    break
                current = current.get(key, _MISSING)
                if current is _MISSING:
                    break
            else:
                return default if current is None else current
    return _dig(obj, path, default)


# Path -> its keys when it has no index step, else (); filled as paths are first read.
_KEYS: dict[str, tuple[str, ...]] = {}


def _keys_of(path: str) -> tuple[str, ...]:
    steps = _steps(path)
    keys = tuple(key for key, _ in steps if key is not None)
    if len(keys) != len(steps):
        keys = ()
    if len(_KEYS) < 4096:
        _KEYS[path] = keys
    return keys


def _dig(obj: Any, path: str, default: Any) -> Any:
    current = obj
    for key, index in _steps(path) if type(path) is str else _parse_steps(path):
        if key is None:
            if not isinstance(current, list) or index >= len(current):
                return default
            current = current[index]
            continue
        if not isinstance(current, dict):
            return default
        if key in current:
            current = current[key]
            continue
        lowered = key.lower()
        if type(current) is dict and _no_str_key_folds_to(lowered, current):
            return default
        for k, v in current.items():
            if isinstance(k, str) and k.lower() == lowered:
                current = v
                break
        else:
            return default
    return default if current is None else current


def _parse_steps(path: str) -> tuple[tuple[str | None, int], ...]:
    """The steps of a `dig` path: (key, 0) for a key, (None, n) for the index `[n]`."""
    return tuple(
        (None, int(index)) if index else (key, 0) for key, index in _PATH_TOKEN.findall(path)
    )


# Rules read the same few hundred paths again and again: each is taken apart once.
_steps = lru_cache(maxsize=4096)(_parse_steps)


def _no_str_key_folds_to(lowered: str, mapping: dict[Any, Any]) -> bool:
    """True when no key of `mapping` is a string whose lower case is `lowered` (a pass in C
    for the usual mapping, whose keys are all strings); False when one may be."""
    try:
        return lowered not in map(str.lower, mapping)
    except TypeError:  # a key that is not a string: look key by key
        return False


@dataclass(slots=True)
class Verdict:
    """What a rule says about one target; the engine turns it into a `Finding`."""

    target_id: str
    status: Status
    message: str
    target_name: str = ""
    target_type: str = ""
    resource_group: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    remediation: str | None = None
    # What on the target the verdict is about, when a rule says several things about one
    # target (a metric, a listener): part of the finding's identity, so keep it stable.
    subject: str = ""


class _Target:
    """Something a verdict can be about: a resource, or the audited scope."""

    id: str
    name: str
    type: str
    resource_group: str

    def _verdict(
        self,
        status: Status,
        parts: tuple[str, ...],
        evidence: dict[str, Any] | None,
        remediation: str | None,
        subject: str = "",
    ) -> Verdict:
        message = "; ".join([p for p in parts if p]) or status.value.lower()
        return Verdict(
            target_id=self.id,
            status=status,
            message=message,
            target_name=self.name,
            target_type=self.type,
            resource_group=self.resource_group,
            evidence=dict(evidence or {}),
            remediation=remediation,
            subject=subject,
        )

    def ok(
        self,
        *why: str,
        evidence: dict[str, Any] | None = None,
        remediation: str | None = None,
        subject: str = "",
    ) -> Verdict:
        """PASS, saying what makes it pass (joined with '; ')."""
        return self._verdict(Status.PASS, why, evidence, remediation, subject)

    def fail(
        self,
        *problems: str,
        evidence: dict[str, Any] | None = None,
        remediation: str | None = None,
        subject: str = "",
    ) -> Verdict:
        """FAIL, listing each problem found (joined with '; ')."""
        return self._verdict(Status.FAIL, problems, evidence, remediation, subject)

    def not_applicable(
        self, *why: str, evidence: dict[str, Any] | None = None, subject: str = ""
    ) -> Verdict:
        """NOT_APPLICABLE: the check has nothing to judge here; say why."""
        return self._verdict(Status.NOT_APPLICABLE, why, evidence, None, subject)

    def manual(
        self, *what: str, evidence: dict[str, Any] | None = None, subject: str = ""
    ) -> Verdict:
        """MANUAL: a human must attest to this; say what evidence to attach."""
        return self._verdict(Status.MANUAL, what, evidence, None, subject)

    def error(
        self, *why: str, evidence: dict[str, Any] | None = None, subject: str = ""
    ) -> Verdict:
        """ERROR: the rule could not decide from the data it has; say what is missing."""
        return self._verdict(Status.ERROR, why, evidence, None, subject)


class Resource(_Target):
    """One ARM resource. `raw` is the JSON exactly as ARM returned it."""

    __slots__ = (
        "raw",
        "arm",
        "id",
        "key",
        "name",
        "type",
        "type_key",
        "parent_key",
        "resource_group",
        "unknown",
        "_reads",
        "memo",
    )

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.id: str = str(raw.get("id") or "")
        self.arm = ArmId.parse(self.id)
        self.name: str = str(raw.get("name") or self.arm.name)
        self.type: str = str(raw.get("type") or self.arm.type)
        # The case-folded id and type, for dictionaries and comparisons.
        self.key: str = norm(self.id)
        self.type_key: str = _type_key(self.type)
        # The case-folded id of the parent, or None for a resource without one.
        self.parent_key: str | None = norm(self.arm.parent) if self.arm.parent else None
        self.resource_group = self.arm.resource_group
        # Paths known only after deployment (resources from a plan), and where reads of them go.
        listed = raw.get(UNKNOWN_KEY)
        self.unknown: tuple[tuple[str, tuple[str | int, ...]], ...] = (
            tuple((p, _path_tokens(p)) for p in listed if isinstance(p, str) and p)
            if isinstance(listed, list)
            else ()
        )
        self._reads: list[tuple[str, str, str]] | None = None
        # What rule helpers derive from this resource's own data alone, kept so that each is
        # derived once (say, the data points of a metric): None until one is kept.
        self.memo: dict[Any, Any] | None = None

    def _note(self, path: str) -> None:
        """Record a read of `path` that touches a value known only after deployment."""
        if self._reads is None:
            return
        tokens = _path_tokens(path)
        for shown, unknown in self.unknown:
            if _overlaps(tokens, unknown):
                self._reads.append((self.key, self.name, shown))

    def __repr__(self) -> str:
        return f"Resource({self.id!r})"

    @property
    def subscription(self) -> str:
        return self.arm.subscription

    @property
    def parent_id(self) -> str:
        return self.arm.parent

    @property
    def location(self) -> str:
        self._note("location")
        return str(self.raw.get("location") or "")

    @property
    def kind(self) -> str:
        self._note("kind")
        return str(self.raw.get("kind") or "")

    @property
    def sku(self) -> dict[str, Any]:
        self._note("sku")
        sku = self.raw.get("sku")
        return sku if isinstance(sku, dict) else {}

    @property
    def tags(self) -> dict[str, str]:
        self._note("tags")
        tags = self.raw.get("tags")
        return tags if isinstance(tags, dict) else {}

    @property
    def identity(self) -> dict[str, Any]:
        self._note("identity")
        identity = self.raw.get("identity")
        return identity if isinstance(identity, dict) else {}

    @property
    def zones(self) -> list[str]:
        self._note("zones")
        zones = self.raw.get("zones")
        return [str(z) for z in zones] if isinstance(zones, list) else []

    @property
    def props(self) -> dict[str, Any]:
        """`properties`, or an empty dict."""
        self._note("properties")
        props = self.raw.get("properties")
        return props if isinstance(props, dict) else {}

    def get(self, path: str, default: Any = None) -> Any:
        """Safe nested access from the resource root: ``r.get("properties.publicNetworkAccess")``.

        On a resource from a deployment plan, reading a value known only after deployment (or
        an object holding one) is recorded, and the engine reports the verdict as ERROR.
        """
        if self.unknown:
            self._note(path)
        return dig(self.raw, path, default)

    def is_type(self, *types: str) -> bool:
        return self.type_key in _kinds(types)

    def evidence(self, *paths: str) -> dict[str, Any]:
        """The values at `paths`, for a verdict's evidence (missing values show as None)."""
        return {path: dig(self.raw, path) for path in paths}


class ScopeTarget(_Target):
    """The audited scope, for verdicts about the whole of it ("a WAF gateway exists")."""

    def __init__(self, scope_id: str, label: str) -> None:
        self.id = scope_id
        self.name = label
        self.type = "scope"
        self.resource_group = ""


@dataclass(frozen=True)
class PrivateEndpointLink:
    """A private endpoint connection to a resource, seen from either side.

    `source` is `"endpoint"` when found on a `Microsoft.Network/privateEndpoints` resource,
    `"resource"` when found in the target's own `properties.privateEndpointConnections`.
    """

    endpoint_id: str
    state: str
    source: str
    group_ids: tuple[str, ...] = ()

    @property
    def approved(self) -> bool:
        return self.state.lower() == "approved"


_COVERAGE_TEXT_KEYS = ("errorCode", "message", "permission")
_COVERAGE_KEYS = ("resourceType", "scope", "status", "statusCode", "count", *_COVERAGE_TEXT_KEYS)
_SCOPE_WORDS = {"subscriptions": "subscriptions", "resourcegroups": "resourceGroups"}
_SCOPE_WORDS["providers"] = "providers"


def arm_scope(text: str) -> str | None:
    """`text` as a canonical ARM scope, or None when it names no place in an estate.

    Canonical: no surrounding blanks, no empty or trailing segments, ARM's own spelling of
    `subscriptions`, `resourceGroups` and `providers`. A scope is `/` (everything audited) or
    starts with `/subscriptions/{id}`; anything else (a bare resource-group name, a path
    without its leading `/`, a management-group path) cannot be placed among resource ids.
    """
    text = text.strip()
    if not text.startswith("/"):
        return None
    parts = [p.strip() for p in text.split("/") if p.strip()]
    if not parts:
        return "/"
    parts = [_SCOPE_WORDS.get(p.lower(), p) if i % 2 == 0 else p for i, p in enumerate(parts)]
    if parts[0] != "subscriptions" or len(parts) < 2:
        return None
    if len(parts) > 2 and parts[2] not in ("resourceGroups", "providers"):
        return None
    return "/" + "/".join(parts)


@dataclass(frozen=True)
class CoverageRecord:
    """What one collection attempt got: see docs/snapshot-format.md."""

    resource_type: str
    scope: str
    status: str
    status_code: int = 0
    error_code: str = ""
    message: str = ""
    permission: str = ""
    count: int = 0

    @property
    def failed(self) -> bool:
        return self.status.lower() != "ok"

    @classmethod
    def from_json(cls, data: Any, audited_scope: str = "/") -> CoverageRecord:
        """A record from its JSON form, read strictly: a `ValueError` names the first bad key.

        Fail closed: a record that says `ok` beside an `errorCode` or a 4xx/5xx `statusCode` is
        failed, and a scope that is not an ARM scope (see `arm_scope`) is `audited_scope`, the
        whole of what was audited, so that a failed read nobody can place still covers
        everything it might have touched.
        """
        if not isinstance(data, dict):
            raise ValueError(f"a coverage record must be an object, not {type(data).__name__}")
        unknown = sorted(str(k) for k in data if k not in _COVERAGE_KEYS)
        if unknown:
            raise ValueError(
                f"unknown key {unknown[0]!r} (known keys: {', '.join(_COVERAGE_KEYS)})"
            )
        for key in ("resourceType", "scope", "status"):
            if key not in data:
                raise ValueError(f"no {key!r} key")
        for key in ("resourceType", "scope", "status", *_COVERAGE_TEXT_KEYS):
            if key in data and not isinstance(data[key], str):
                raise ValueError(f"{key!r} must be a string, not {_kind(data[key])}")
        for key in ("statusCode", "count"):
            value = data.get(key, 0)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{key!r} must be a whole number, not {_kind(value)}")
            if not 0 <= value <= (999 if key == "statusCode" else 10**12):
                raise ValueError(f"{key!r} is out of range ({value})")
        resource_type = data["resourceType"].strip().strip("/")
        if not resource_type:
            raise ValueError("'resourceType' is empty")
        status = data["status"]
        if status not in ("ok", "failed"):
            raise ValueError(f'\'status\' must be "ok" or "failed", not {status!r}')
        status_code = int(data.get("statusCode", 0))
        error_code = data.get("errorCode", "")
        message = data.get("message", "")
        if status == "ok" and (error_code or status_code >= 400):
            status = "failed"
            said = f"HTTP {status_code}" if status_code >= 400 else f"error {error_code}"
            message = f"recorded as ok beside {said}, so read as failed" + (
                f": {message}" if message else ""
            )
        scope = arm_scope(data["scope"])
        if scope is None:
            scope = audited_scope
            if status == "failed":
                message = (message + "; " if message else "") + (
                    f"its scope {data['scope'][:80]!r} is not an ARM scope: "
                    "taken as the whole audited scope"
                )
        return cls(
            resource_type=resource_type,
            scope=scope,
            status=status,
            status_code=status_code,
            error_code=error_code,
            message=message,
            permission=data.get("permission", ""),
            count=int(data.get("count", 0)),
        )

    def describe(self) -> str:
        if self.error_code == "NotEvaluated":
            # From a deployment plan: nothing was read, the plan cannot show it (prodcheck.plans).
            return f"not evaluated before deployment: {self.resource_type} in {self.scope}: " + (
                self.message or "the plan does not show it"
            )
        code = f"HTTP {self.status_code}" if self.status_code else "no answer"
        what = f"could not read {self.resource_type} in {self.scope} ({code}"
        what += f" {self.error_code})" if self.error_code else ")"
        if self.message:
            what += f": {self.message}"
        if self.permission and self.status_code in (401, 403):
            what += f" — grant {self.permission}"
        return what


_CONTAINER_SCOPES = ("Microsoft.Resources/resourceGroups", "Microsoft.Resources/subscriptions")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class _AlertIndex:
    """The alerts of one type by the scopes they name, so that finding those covering a resource
    costs the length of its id, not the number of alerts."""

    __slots__ = ("alerts", "by_scope", "by_container", "covered")

    def __init__(self, alerts: list[Resource]) -> None:
        self.alerts = alerts
        # (resource key, type) -> the positions of the alerts covering it, in order: rules ask
        # again for each signal they judge on the resource.
        self.covered: dict[tuple[str, str], list[int]] = {}
        # Every scope (case-folded) -> positions of the alerts naming it.
        self.by_scope: dict[str, set[int]] = defaultdict(set)
        # Resource group and subscription scopes -> (position, target types; empty for any).
        self.by_container: dict[str, list[tuple[int, frozenset[str]]]] = defaultdict(list)
        for position, alert in enumerate(alerts):
            targets = alert.get("properties.targetResourceTypes") or []
            targets = list(targets) if isinstance(targets, list) else [targets]
            targets.append(alert.get("properties.targetResourceType"))
            target_types = frozenset(norm(str(t)) for t in targets if t)
            for scope in _listed(alert.get("properties.scopes")):
                key = norm(str(scope))
                self.by_scope[key].add(position)
                if ArmId.parse(str(scope)).type in _CONTAINER_SCOPES:
                    self.by_container[key].append((position, target_types))

    def covering_in_order(self, resource: Resource) -> list[int]:
        """`sorted(self.covering(resource))`, worked out once per resource."""
        key = (resource.key, resource.type_key)
        found = self.covered.get(key)
        if found is None:
            found = self.covered[key] = sorted(self.covering(resource))
        return found

    def covering(self, resource: Resource) -> set[int]:
        rid, rtype = resource.key, resource.type_key
        found = set(self.by_scope.get(rid, ()))
        # The groups and subscription holding the resource are prefixes of its id ending at a
        # "/" (and the id itself): is_under(rid, scope) for exactly these scopes.
        end = rid.find("/")
        while True:
            for position, target_types in self.by_container.get(rid if end < 0 else rid[:end], ()):
                if not target_types or rtype in target_types:
                    found.add(position)
            if end < 0:
                return found
            end = rid.find("/", end + 1)

    def scoped_to(self, keys: set[str]) -> set[int]:
        found: set[int] = set()
        for key in keys:
            found |= self.by_scope.get(key, set())
        return found


class Read(NamedTuple):
    """What the answer of one lookup depends on.

    `types` are the (case-folded) resource types looked at, None meaning every type; `where`
    is the (case-folded) ARM id the answer is confined to: "" for the whole inventory, a
    parent's id for its child collection, a resource's id for its own data. A verdict about a
    resource that the answer listed rests only on that resource's own data, unless `compares`
    says the verdict weighs it against the others listed. (A named tuple: every lookup makes
    one, and a tuple is made at half the cost of a frozen dataclass.)
    """

    types: frozenset[str] | None
    where: str = ""
    compares: bool = False


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return repr(value)[:40]


_PE_TYPE = "microsoft.network/privateendpoints"
_DIAG_TYPE = "microsoft.insights/diagnosticsettings"


def _kinds(types: tuple[str, ...]) -> frozenset[str]:
    """The case-folded `types`, as a read notes them (each combination folded once)."""
    try:
        return _kinds_memo(types)
    except TypeError:  # something unhashable among them
        return frozenset(norm(t) for t in types)


@lru_cache(maxsize=4096)
def _kinds_memo(types: tuple[str, ...]) -> frozenset[str]:
    return frozenset(norm(t) for t in types)


_KEY = attrgetter("key")


def _type_key(rtype: str) -> str:
    """`norm(rtype)`, kept per spelling: an inventory holds a few hundred types at most."""
    found = _TYPE_KEYS.get(rtype)
    if found is None:
        found = norm(rtype)
        if len(_TYPE_KEYS) < 4096:
            _TYPE_KEYS[rtype] = found
    return found


_TYPE_KEYS: dict[str, str] = {}


def _raw_of(resource: dict[str, Any] | Resource) -> dict[str, Any]:
    return resource.raw if isinstance(resource, Resource) else resource


class Inventory:
    """The resources under audit, indexed for the questions rules ask."""

    def __init__(
        self,
        resources: Iterable[dict[str, Any] | Resource],
        *,
        coverage: Iterable[CoverageRecord] | None = None,
        scope: dict[str, Any] | None = None,
        coverage_basis: str | None = None,
    ) -> None:
        # A view of another inventory (a workload unit) passes that inventory's Resource objects,
        # which are shared, except those with values known only after deployment: their reads
        # are noted in the inventory that holds them, so each gets its own.
        self._resources: list[Resource] = [
            r if isinstance(r, Resource) and not r.unknown else Resource(_raw_of(r))
            for r in resources
        ]
        self._resources.sort(key=_KEY)
        self.coverage: list[CoverageRecord] | None = (
            list(coverage) if coverage is not None else None
        )
        # What a type without a coverage record means: "recorded" (the snapshot lists every
        # collection: never collected), "asserted" (the file says it is complete: none exist;
        # its records are only the failures found on loading it) or "inferred" (another tool's
        # inventory: the types present were read, the others are not in the input).
        self.coverage_basis: str = coverage_basis or (
            "recorded" if coverage is not None else "asserted"
        )
        self.scope_info: dict[str, Any] = dict(scope or {})
        # The moment the data describes (the snapshot's collection time, set by the engine):
        # rules that compare dates (model retirements) judge as of it, so re-auditing the same
        # snapshot gives the same verdicts. None: not known, judge as of now.
        self.as_of: dt.datetime | None = None
        self._by_id: dict[str, Resource] = {}
        self._by_type: dict[str, list[Resource]] = defaultdict(list)
        self._children: dict[str, list[Resource]] = defaultdict(list)
        # The reads noted since the engine last took them, or None when nobody is recording.
        self._reads: set[Read] | None = None
        # Resources a rule is run without, because their data broke it (keys).
        self._hidden: frozenset[str] = frozenset()
        by_id, by_type, children = self._by_id, self._by_type, self._children
        for resource in self._resources:
            by_id.setdefault(resource.key, resource)
            by_type[resource.type_key].append(resource)
            if resource.parent_key is not None:
                children[resource.parent_key].append(resource)
        self._links: dict[str, list[PrivateEndpointLink]] | None = None
        self._alerts: dict[str, _AlertIndex] = {}
        # On a plan, the unknowns each shared index read while it was built: every answer from
        # the index rests on them, not only the one that built it.
        self._index_reads: dict[str, list[tuple[str, str, str]]] = {}
        self._derived: dict[Callable[[Inventory], Any], Any] = {}
        # Resources of several types, in id order, by the types asked for (see `of_type`).
        self._of_types: dict[tuple[str, ...], list[Resource]] = {}
        # What `recall` worked out: key -> (value, reads noted, unknown values read).
        self._recalled: dict[
            Any, tuple[Any, frozenset[Read], tuple[tuple[str, str, str], ...]]
        ] = {}
        # Reads of values known only after deployment: (resource key, name, path), in order.
        self.unknown_reads: list[tuple[str, str, str]] = []
        self._derived_reads: dict[Callable[[Inventory], Any], list[tuple[str, str, str]]] = {}
        self.has_unknowns = False
        for resource in self._resources:
            if resource.unknown:
                resource._reads = self.unknown_reads
                self.has_unknowns = True
        self.scope = ScopeTarget(*self._scope_id_and_label())

    # ---- what rules read ------------------------------------------------------------------

    def note_read(
        self, *types: str, parent: Resource | str | None = None, compares: bool = False
    ) -> None:
        """Record that the answer being computed depends on the resources of `types`.

        No `types` means every type. With `parent`, only on those under it: a parent's child
        collection, or, given the resource itself, its own data. Every lookup reports what it
        reads, including lookups answered from an index built earlier. A rule calls it itself
        only to say that a verdict about a resource also weighs the other resources of a
        listing that returned it (`compares=True`): by default such a verdict rests only on
        that resource's own data.
        """
        if self._reads is None:
            return
        place = parent.key if isinstance(parent, Resource) else norm(parent)
        self._reads.add(Read(_kinds(types) if types else None, place, compares))

    def _note_own(self, resource: Resource) -> None:
        if self._reads is not None:
            self._reads.add(Read(_kinds((resource.type_key,)), resource.key))

    def _note_under(self, type: str | None, key: str) -> None:
        """`note_read(type, parent=key)` (or `note_read(parent=key)` when `type` is None) for a
        `key` already case-folded."""
        if self._reads is not None:
            self._reads.add(Read(_kinds((type,)) if type else None, key))

    def record_reads(self, on: bool = True) -> None:
        """Start (or stop) collecting the reads that lookups note; drops what was collected."""
        self._reads = set() if on else None

    def take_reads(self) -> AbstractSet[Read]:
        """The reads noted since the last call, which are then forgotten."""
        taken = self._reads
        if taken is None:
            return frozenset()
        self._reads = set()
        return taken

    def hide(self, keys: Iterable[str]) -> None:
        """Run the next rule without these resources (case-folded ids); `hide(())` restores."""
        self._hidden = frozenset(keys)

    def holds(self, resource: Resource) -> bool:
        """Whether `resource` is this inventory's own object for its id (notes no read)."""
        return self._by_id.get(resource.key) is resource

    def resource(self, resource_id: str) -> Resource | None:
        """The resource with this id, for the engine (notes no read; rules use `get`)."""
        return self._by_id.get(norm(resource_id))

    def resource_count(self, type: str) -> int:
        """How many resources of `type` there are, for the engine (notes no read)."""
        return len(self._by_type.get(norm(type), ()))

    def _visible(self, found: list[Resource]) -> list[Resource]:
        if not self._hidden:
            return found
        return [r for r in found if r.key not in self._hidden]

    # ---- basic lookups -------------------------------------------------------------------

    @property
    def resources(self) -> list[Resource]:
        """Every resource, in id order (a claim about all of them rests on every type)."""
        self.note_read()
        return self._visible(list(self._resources))

    def __len__(self) -> int:
        self.note_read()
        return len(self._visible(self._resources))

    def __iter__(self) -> Iterator[Resource]:
        self.note_read()
        return iter(self._visible(self._resources))

    def of_type(self, *types: str) -> list[Resource]:
        """Resources of any of `types` (case-insensitive), in id order."""
        self.note_read(*types)
        if len(types) == 1:
            return self._visible(list(self._by_type.get(norm(types[0]), ())))
        try:
            ordered = self._of_types.get(types)
            kept = True
        except TypeError:  # something unhashable among them
            ordered, kept = None, False
        if ordered is None:
            found: list[Resource] = []
            for t in dict.fromkeys(norm(t) for t in types):
                found.extend(self._by_type.get(t, ()))
            ordered = sorted(found, key=_KEY)
            if kept:
                # Rules ask for the same sets of types again and again: each is sorted once.
                self._of_types[types] = ordered
        return self._visible(list(ordered))

    def get(self, resource_id: str | None) -> Resource | None:
        """The resource with this id (case-insensitive), or None."""
        if not resource_id:
            return None
        key = norm(resource_id)
        found = self._by_id.get(key)
        # The type is the id's own (not `type` as ARM spelt it), parsed only when not found.
        kind = found.arm.type if found is not None else ArmId.parse(key).type
        self._note_under(kind, key)
        if key in self._hidden:
            return None
        return found

    def children(self, parent: Resource | str, type: str | None = None) -> list[Resource]:
        """Direct child and extension resources of `parent`, optionally of one type."""
        key = parent.key if isinstance(parent, Resource) else norm(parent)
        self._note_under(type, key)
        kids = self._children.get(key)
        if not kids:
            return []
        if self._hidden:
            kids = self._visible(kids)
        if type is None:
            return list(kids)
        wanted = norm(type)
        return [k for k in kids if k.type_key == wanted]

    def parent(self, resource: Resource) -> Resource | None:
        return self.get(resource.parent_id)

    # ---- cross-references ----------------------------------------------------------------

    def private_endpoint_links(self, resource: Resource) -> list[PrivateEndpointLink]:
        """Every private endpoint connection to `resource`, from the endpoint side and its own side.

        The same endpoint seen from both sides is listed once (the endpoint's side wins, since it
        is what clients use); ids are compared case-insensitively.
        """
        # Any private endpoint anywhere may connect to `resource`; its own side is its own data.
        self.note_read(_PE_TYPE)
        self._note_own(resource)
        if self._links is None:
            self._links = self._indexed("private endpoints", self._index_private_endpoints)
        else:
            self.unknown_reads.extend(self._index_reads.get("private endpoints", ()))
        links: dict[str, PrivateEndpointLink] = {}
        for link in self._links.get(resource.key, []):
            links.setdefault(norm(link.endpoint_id), link)
        for conn in dig(resource.raw, "properties.privateEndpointConnections", []) or []:
            endpoint_id = str(dig(conn, "properties.privateEndpoint.id", ""))
            state = str(dig(conn, "properties.privateLinkServiceConnectionState.status", ""))
            groups = tuple(dig(conn, "properties.groupIds", []) or [])
            if endpoint_id:
                links.setdefault(
                    norm(endpoint_id), PrivateEndpointLink(endpoint_id, state, "resource", groups)
                )
        return sorted(links.values(), key=lambda link: norm(link.endpoint_id))

    def approved_private_endpoints(self, resource: Resource) -> list[PrivateEndpointLink]:
        return [link for link in self.private_endpoint_links(resource) if link.approved]

    def private_endpoints_targeting(self, resource: Resource) -> list[Resource]:
        """The `Microsoft.Network/privateEndpoints` resources in scope that connect to `resource`."""
        found = []
        for link in self.private_endpoint_links(resource):
            endpoint = self.get(link.endpoint_id)
            if endpoint is not None and endpoint not in found:
                found.append(endpoint)
        return found

    def private_link_targets(self, endpoint: Resource) -> list[tuple[str, str, tuple[str, ...]]]:
        """(target id, connection state, group ids) for each connection of a private endpoint."""
        self._note_own(endpoint)
        return _connections(endpoint)

    def _indexed(self, name: str, build: Callable[[], _T]) -> _T:
        """`build()`, remembering the unknowns it read under `name` (see `_index_reads`)."""
        before = len(self.unknown_reads)
        value = build()
        self._index_reads[name] = self.unknown_reads[before:]
        return value

    def _index_private_endpoints(self) -> dict[str, list[PrivateEndpointLink]]:
        index: dict[str, list[PrivateEndpointLink]] = defaultdict(list)
        for endpoint in self._by_type.get(_PE_TYPE, []):
            for target, state, groups in _connections(endpoint):
                index[norm(target)].append(
                    PrivateEndpointLink(endpoint.id, state, "endpoint", groups)
                )
        return index

    def diagnostic_settings(self, resource: Resource) -> list[Resource]:
        """The `Microsoft.Insights/diagnosticSettings` extension resources of `resource`."""
        return self.children(resource, _DIAG_TYPE)

    def alerts_covering(
        self,
        resource: Resource,
        alert_types: Iterable[str] = ("Microsoft.Insights/metricAlerts",),
    ) -> list[Resource]:
        """Alerts whose scopes cover `resource`, in id order.

        An alert covers a resource when one of its `scopes` is the resource itself, or is the
        resource group or subscription holding it and the alert targets the resource's type:
        `targetResourceType` (metric alerts) or `targetResourceTypes` (log search alerts), none
        meaning any type. Enabled or not: rules judge that.
        """
        types = list(alert_types)
        self.note_read(*types)
        self._note_own(resource)
        return self._alerts_where(types, lambda index: index.covering_in_order(resource))

    def alerts_scoped_to(
        self, scope_ids: Iterable[str], alert_types: Iterable[str]
    ) -> list[Resource]:
        """Alerts with one of `scope_ids` (say, a Log Analytics workspace) among their `scopes`."""
        types = list(alert_types)
        self.note_read(*types)
        keys = {norm(s) for s in scope_ids}
        return self._alerts_where(types, lambda index: index.scoped_to(keys))

    def _alerts_where(
        self, types: list[str], positions: Callable[[_AlertIndex], Iterable[int]]
    ) -> list[Resource]:
        """The alerts of `types` at `positions` in each type's index (a list: in order already;
        any other collection is sorted)."""
        found: list[Resource] = []
        keys = list(dict.fromkeys(norm(t) for t in types))
        for key in keys:
            index = self._alerts.get(key)
            if index is None:
                index = self._alerts[key] = self._indexed(
                    f"alerts {key}", partial(_AlertIndex, self._by_type.get(key, []))
                )
            else:
                self.unknown_reads.extend(self._index_reads.get(f"alerts {key}", ()))
            positioned = positions(index)
            ordered = positioned if type(positioned) is list else sorted(positioned)
            found.extend([index.alerts[i] for i in ordered])
        if len(keys) > 1:
            found.sort(key=_KEY)  # the order of `of_type` over several types
        return found

    # ---- derived cross-references ----------------------------------------------------------

    def derived(self, build: Callable[[Inventory], _T], *reads: str) -> _T:
        """What `build(inventory)` returns, computed once per inventory.

        For cross-references that a rule pack derives from the inventory (say, Key Vaults by
        host name): built on first use, then shared by every rule that asks, and dropped with
        the inventory. `reads` are the types `build` reads; each call reports them, since the
        answer depends on them however it was computed. `build` must be a pure function of the
        inventory, and its result must not be changed by callers.
        """
        self.note_read(*reads)
        shared = not self._hidden
        if shared and build in self._derived:
            # On a plan, every use of the answer reads the unknowns its build read.
            self.unknown_reads.extend(self._derived_reads.get(build, []))
            value: _T = self._derived[build]
            return value
        # What `build` reads is what `reads` says: its own lookups are not the verdict's.
        recording, self._reads = self._reads, None
        before = len(self.unknown_reads)
        try:
            value = build(self)
        finally:
            self._reads = recording
        if shared:
            # Built without the resources a rule is being run without, it is not for sharing.
            self._derived[build] = value
            self._derived_reads[build] = self.unknown_reads[before:]
        return value

    def recall(self, key: Any, compute: Callable[[], _T], *about: Resource) -> _T:
        """`compute()`, worked out once per inventory for `key`, for what several rules ask
        alike (say, the policy chain of one API): each call notes the reads the first one
        noted (and, on a plan, reads again the values known only after deployment it read), so
        that every verdict resting on the answer rests on the data it came from.

        `compute` must be a pure function of the inventory and of `key` (which names what it
        is about, `about` the resources among that), and its result must not be changed by
        callers. It is worked out each time while a rule is run without some resources, or
        when `about` holds a resource that is not this inventory's own object for its id.
        """
        if self._hidden or not all(self.holds(r) for r in about):
            return compute()
        try:
            found = self._recalled.get(key)
        except TypeError:  # a key that cannot be kept: work it out each time
            return compute()
        if found is not None:
            value, reads, unknown = found
            if self._reads is not None:
                self._reads |= reads
            if unknown:
                self.unknown_reads.extend(unknown)
            return value
        outer, self._reads = self._reads, set()
        before = len(self.unknown_reads)
        try:
            value = compute()
        finally:
            inner, self._reads = self._reads, outer
            if outer is not None and inner:
                outer |= inner
        self._recalled[key] = (value, frozenset(inner or ()), tuple(self.unknown_reads[before:]))
        return value

    # ---- scope ---------------------------------------------------------------------------

    def _scope_id_and_label(self) -> tuple[str, str]:
        subs = [str(s) for s in self.scope_info.get("subscriptions", []) or []]
        groups = [str(g) for g in self.scope_info.get("resourceGroups", []) or []]
        if not subs:
            subs = sorted({r.subscription for r in self._resources if r.subscription})
        if len(subs) == 1 and len(groups) == 1:
            sid = f"/subscriptions/{subs[0]}/resourceGroups/{groups[0]}"
            return sid, f"resource group {groups[0]}"
        if len(subs) == 1:
            return f"/subscriptions/{subs[0]}", f"subscription {subs[0]}"
        if subs:
            return "/subscriptions/" + ",".join(subs), f"subscriptions {', '.join(subs)}"
        return "/", "the audited scope"


def _connections(endpoint: Resource) -> list[tuple[str, str, tuple[str, ...]]]:
    out = []
    for key in ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections"):
        # through `get`: on a plan, a connection known only after deployment is noted
        for conn in endpoint.get(f"properties.{key}", []) or []:
            target = str(dig(conn, "properties.privateLinkServiceId", ""))
            state = str(dig(conn, "properties.privateLinkServiceConnectionState.status", ""))
            if not state and key == "privateLinkServiceConnections":
                # Auto-approved connections sometimes omit the state block; ARM approves them.
                state = "Approved"
            groups = tuple(dig(conn, "properties.groupIds", []) or [])
            if target:
                out.append((target, state, groups))
    return out
