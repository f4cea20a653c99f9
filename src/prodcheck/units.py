"""Workload units: the places scope-level rules judge one at a time.

A scope-level rule decides about a whole place ("a WAF gateway exists", "a Key Vault is in
scope", "a budget exists"). Over a tenant, "the place" is not the tenant but each workload in
it: `scope.unit` says what a workload is.

- `subscription` (the default): each subscription is a unit. An audit of one subscription is one
  unit, the audited scope itself, and is judged exactly as before.
- `resource-group`: each resource group is a unit.
- `tag:<key>`: each value of the tag `key` (matched without regard to case) is a unit, whatever
  the subscriptions and groups its resources are in; resources without the tag form one more
  unit, "untagged".

A child or extension resource (an API of an APIM service, a diagnostic setting) belongs to the
unit of the top-level resource it hangs off. A resource outside any resource group (a budget or
a role assignment on the subscription, a region's model catalogue) governs all of its
subscription: under `resource-group` and `tag:<key>` it belongs to every unit with resources in
that subscription (unless, under `tag:<key>`, it carries the tag itself).

Each unit is judged over a view of the inventory holding only its resources, and the coverage
records that could hide resources of it: fail closed, a failed read of its subscription, of its
resource group, or one that cannot be placed makes its verdicts ERROR. Under `tag:<key>` any
failed listing does (an unread resource may carry any tag).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from prodcheck.arm import ArmId, norm
from prodcheck.inventory import CoverageRecord, Inventory, Resource, ScopeTarget

SUBSCRIPTION = "subscription"
RESOURCE_GROUP = "resource-group"
TAG = "tag:"
UNTAGGED = "untagged"
DEFAULT = SUBSCRIPTION
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def parse_unit(text: Any) -> str:
    """`subscription`, `resource-group` or `tag:<key>`, checked; ValueError says what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"must be a string, not {type(text).__name__}")
    value = text.strip()
    if value.lower() in (SUBSCRIPTION, RESOURCE_GROUP):
        return value.lower()
    if value.lower().startswith(TAG):
        key = value[len(TAG) :].strip()
        if not key:
            raise ValueError("tag: needs the tag's key, as in tag:workload")
        if len(key) > 512 or _CONTROL.search(key) or any(c in key for c in "<>%&\\?/"):
            raise ValueError(
                f"{key[:40]!r} is not a tag key (at most 512 characters, none of < > % & \\ ? /)"
            )
        return TAG + key
    raise ValueError(f"{value[:40]!r} is not a unit: use subscription, resource-group or tag:<key>")


@dataclass
class Unit:
    """One workload unit: its id (a finding's resource id), a label, and its resources."""

    id: str
    label: str
    key: tuple[str, ...]
    subscriptions: set[str] = field(default_factory=set)
    members: list[Resource] = field(default_factory=list)


def _top_id(key: str) -> str:
    """The top-level resource a (case-folded) id hangs off: its first `providers/Ns/type/name`."""
    parts = key.split("/")
    try:
        i = parts.index("providers")
    except ValueError:
        return key
    return "/".join(parts[: i + 4]) if len(parts) >= i + 4 else key


def _tag(raw: dict[str, Any] | None, wanted: str) -> str | None:
    tags = raw.get("tags") if isinstance(raw, dict) else None
    if not isinstance(tags, dict):
        return None
    for k, v in tags.items():
        if isinstance(k, str) and k.strip().lower() == wanted:
            return str(v)
    return None


class Units:
    """The units of an inventory under one `scope.unit`, and the view of each."""

    def __init__(self, inventory: Inventory, unit: str) -> None:
        self.inventory = inventory
        self.unit = unit
        self.units: dict[tuple[str, ...], Unit] = {}
        self._shared: dict[str, list[Resource]] = {}  # subscription -> resources
        self._everywhere: list[Resource] = []
        self._of_resource: dict[str, tuple[str, ...] | None] = {}
        self._assign()

    # ---- which unit a resource is in

    def _key_of(self, resource: Resource) -> tuple[str, ...] | None:
        """The unit key of a resource, or None when it is shared (see the module's docstring)."""
        sub, group = resource.arm.subscription.lower(), resource.resource_group.lower()
        if self.unit == SUBSCRIPTION:
            return (sub,) if sub else None
        if self.unit == RESOURCE_GROUP:
            return (sub, group) if sub and group else None
        wanted = self.unit[len(TAG) :].lower()
        top = self.inventory.resource(_top_id(resource.key))
        value = _tag(top.raw if top is not None else resource.raw, wanted)
        if value is None and not group:
            return None
        return ("tag", value) if value is not None else ("untagged",)

    def _unit(self, key: tuple[str, ...], raw_id: str) -> Unit:
        found = self.units.get(key)
        if found is not None:
            return found
        arm = ArmId.parse(raw_id)
        if self.unit == SUBSCRIPTION:
            unit = Unit(
                f"/subscriptions/{arm.subscription}", f"subscription {arm.subscription}", key
            )
        elif self.unit == RESOURCE_GROUP:
            gid = f"/subscriptions/{arm.subscription}/resourceGroups/{arm.resource_group}"
            unit = Unit(gid, f"resource group {arm.resource_group}", key)
        else:
            tag = self.unit[len(TAG) :]
            names = f"/tagNames/{quote(tag, safe='')}"
            if key[0] == "untagged":
                unit = Unit(f"{names}/{UNTAGGED}", f"{UNTAGGED} (no tag {tag})", key)
            else:
                value = key[1]
                unit = Unit(f"{names}/tagValues/{quote(value, safe='')}", f"tag {tag}={value}", key)
        self.units[key] = unit
        return unit

    def _assign(self) -> None:
        inv = self.inventory
        named = [str(s) for s in inv.scope_info.get("subscriptions", []) or []]
        groups = [str(g) for g in inv.scope_info.get("resourceGroups", []) or []]
        # Units the audit named, even with nothing in them: an empty subscription has no budget.
        for sub in named:
            if self.unit == SUBSCRIPTION:
                self._unit((sub.lower(),), f"/subscriptions/{sub}")
            elif self.unit == RESOURCE_GROUP:
                for g in groups:
                    self._unit((sub.lower(), g.lower()), f"/subscriptions/{sub}/resourceGroups/{g}")
        by_subscription = self.unit == SUBSCRIPTION
        of_resource = self._of_resource
        for resource in inv._resources:
            sub = resource.arm.subscription.lower()
            # (sub,) when the unit is the subscription: `_key_of` without its call
            key = ((sub,) if sub else None) if by_subscription else self._key_of(resource)
            of_resource[resource.key] = key
            if key is None:
                if sub:
                    self._shared.setdefault(sub, []).append(resource)
                else:
                    self._everywhere.append(resource)
                continue
            unit = self.units.get(key) or self._unit(key, resource.id)
            unit.members.append(resource)
            if sub:
                unit.subscriptions.add(sub)
        if self.unit in (SUBSCRIPTION, RESOURCE_GROUP):
            for unit in self.units.values():
                unit.subscriptions.add(unit.key[0])

    # ---- the views

    def _applies(self, record: CoverageRecord, unit: Unit) -> bool:
        """Whether a failed read could have hidden resources of `unit` (fail closed)."""
        scope = norm(record.scope)
        if not scope.startswith("/subscriptions/") or "," in scope:
            return True  # not placed: everywhere
        arm = ArmId.parse(scope)
        sub, group = arm.subscription.lower(), arm.resource_group.lower()
        if self.unit == SUBSCRIPTION:
            return sub == unit.key[0]
        if self.unit == RESOURCE_GROUP:
            return sub == unit.key[0] and (not group or group == unit.key[1])
        # A tag: a read of one known resource (its children, its settings) is that resource's
        # unit's; a failed listing may have hidden resources with any tag.
        top = _top_id(scope)
        if top in self._of_resource:
            owner = self._of_resource[top]
            return owner is None or owner == unit.key
        return True

    def views(self) -> list[Inventory]:
        """One inventory per unit, in id order, whose `scope` is the unit."""
        inv = self.inventory
        out = []
        for unit in sorted(self.units.values(), key=lambda u: u.id.lower()):
            members = list(unit.members)
            for sub in sorted(unit.subscriptions):
                members += self._shared.get(sub, [])
            members += self._everywhere
            coverage: list[CoverageRecord] | None = None
            if inv.coverage is not None:
                coverage = [c for c in inv.coverage if not c.failed or self._applies(c, unit)]
            scope = dict(inv.scope_info)
            scope["subscriptions"] = sorted(unit.subscriptions)
            view = Inventory(
                members, coverage=coverage, scope=scope, coverage_basis=inv.coverage_basis
            )
            view.scope = ScopeTarget(unit.id, unit.label)
            view.as_of = inv.as_of
            out.append(view)
        return out


def split(inventory: Inventory, unit: str) -> list[Inventory] | None:
    """The unit views of `inventory`, or None when the audit is judged as one place: the
    default unit (a subscription) over an audit of at most one subscription."""
    if unit == SUBSCRIPTION:
        subs = {str(s).lower() for s in inventory.scope_info.get("subscriptions", []) or []}
        subs |= {r.arm.subscription.lower() for r in inventory._resources if r.arm.subscription}
        if len(subs) <= 1:
            return None
    return Units(inventory, unit).views()
