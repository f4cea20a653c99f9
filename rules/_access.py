"""Azure RBAC, evaluated: which principal may do what where, from the assignments read.

Decisions rest on each role definition's `actions` / `notActions` / `dataActions` /
`notDataActions` (with `*` wildcards), never on a role's name, so custom roles count. Built once
per inventory (`inv.derived`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

from prodcheck.inventory import Inventory, Resource

from ._workload import listed

ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
ROLE_DEFINITION = "Microsoft.Authorization/roleDefinitions"
USER_IDENTITY = "Microsoft.ManagedIdentity/userAssignedIdentities"
RBAC_TYPES = (ROLE_ASSIGNMENT, ROLE_DEFINITION)


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.IGNORECASE)


def action_matches(pattern: str, action: str) -> bool:
    """Whether an RBAC action pattern (`Microsoft.KeyVault/*`, `*/read`) covers `action`."""
    return bool(_pattern(pattern.strip()).fullmatch(action.strip()))


def definition_grants(definition: Resource, action: str, *, data: bool) -> bool:
    """Whether any permission block of the definition allows `action` and does not exclude it."""
    allow, deny = ("dataActions", "notDataActions") if data else ("actions", "notActions")
    for block in listed(definition.get("properties.permissions")):
        if not isinstance(block, dict):
            continue
        granted = any(
            isinstance(p, str) and action_matches(p, action) for p in listed(block.get(allow))
        )
        if granted and not any(
            isinstance(p, str) and action_matches(p, action) for p in listed(block.get(deny))
        ):
            return True
    return False


def guid_of(definition_id: str) -> str:
    return definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def scope_covers(scope: str, target: str) -> bool:
    """An assignment at `scope` applies to `target`: same id, or an ancestor of it.

    Assignments above the subscription (the root `/`, management groups) are only returned by
    ARM when they apply to the listed scope, so they cover everything in it.
    """
    s, t = scope.strip().lower().rstrip("/"), target.strip().lower().rstrip("/")
    if not s or s.startswith("/providers/microsoft.management/managementgroups/"):
        return True
    return t == s or t.startswith(s + "/")


def is_broad_scope(scope: str) -> bool:
    """A subscription, resource group, management group or the root."""
    s = scope.strip().lower().rstrip("/")
    if not s or s.startswith("/providers/microsoft.management/managementgroups/"):
        return True
    parts = s.split("/")
    return (len(parts) == 3 and parts[1] == "subscriptions") or (
        len(parts) == 5 and parts[1] == "subscriptions" and parts[3] == "resourcegroups"
    )


@dataclass
class Access:
    """Role assignments by principal id, role definitions by GUID."""

    by_principal: dict[str, list[Resource]] = field(default_factory=dict)
    definitions: dict[str, Resource] = field(default_factory=dict)


def build_access(inv: Inventory) -> Access:
    access = Access()
    for definition in inv.of_type(ROLE_DEFINITION):
        access.definitions[guid_of(definition.id)] = definition
    for assignment in inv.of_type(ROLE_ASSIGNMENT):
        principal = str(assignment.get("properties.principalId") or "").lower()
        if principal:
            access.by_principal.setdefault(principal, []).append(assignment)
    return access


def access_of(inv: Inventory) -> Access:
    return inv.derived(build_access, *RBAC_TYPES)


@dataclass
class Check:
    """The answer to "may this principal do this on that target?"."""

    granted: str = ""  # what grants it: "<role> at <scope>"
    conditional: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def undecided(self) -> list[str]:
        return self.conditional + self.unknown


def role_name(definition: Resource | None, fallback: str) -> str:
    if definition is None:
        return fallback
    return str(definition.get("properties.roleName") or definition.name)


def check(access: Access, principal: str, target: str, action: str, *, data: bool) -> Check:
    result = Check()
    for assignment in access.by_principal.get(principal.lower(), []):
        scope = str(assignment.get("properties.scope") or "")
        if not scope_covers(scope, target):
            continue
        definition_id = str(assignment.get("properties.roleDefinitionId") or "")
        definition = access.definitions.get(guid_of(definition_id)) if definition_id else None
        if definition is None:
            result.unknown.append(
                f"role assignment {assignment.name} uses role definition "
                f"{guid_of(definition_id) or '(none)'}, which was not read"
            )
            continue
        if not definition_grants(definition, action, data=data):
            continue
        name = role_name(definition, assignment.name)
        if assignment.get("properties.condition"):
            result.conditional.append(
                f"{name} at {scope} carries a condition that cannot be evaluated here"
            )
            continue
        result.granted = f"{name} at {scope}"
        return result
    return result


# ---- who an identity is ---------------------------------------------------------------------


def _folded(mapping: Any) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in mapping.items()} if isinstance(mapping, dict) else {}


def principal_of(inv: Inventory, res: Resource, reference: str) -> tuple[str, str | None]:
    """(label, principal id) of the identity `reference` names on `res`: `system` or a
    user-assigned identity's resource id. None when its principal id is not in the data."""
    if reference.strip().lower() == "system":
        principal = res.identity.get("principalId")
        return f"{res.name} (system-assigned)", str(principal) if principal else None
    key = reference.strip().lower()
    label = key.rstrip("/").rsplit("/", 1)[-1]
    entry = _folded(res.identity.get("userAssignedIdentities")).get(key)
    principal = entry.get("principalId") if isinstance(entry, dict) else None
    if not principal:
        uami = inv.get(reference)
        principal = uami.get("properties.principalId") if uami is not None else None
    return label, str(principal) if principal else None


def identities_of(inv: Inventory, res: Resource) -> list[tuple[str, str | None]]:
    """Every identity of `res`: the system-assigned one, then each user-assigned one."""
    found = []
    if "systemassigned" in str(res.identity.get("type", "")).replace(" ", "").lower():
        found.append(principal_of(inv, res, "system"))
    for key in _folded(res.identity.get("userAssignedIdentities")):
        found.append(principal_of(inv, res, key))
    return found


def by_client_id(inv: Inventory, res: Resource, client_id: str) -> tuple[str, str | None] | None:
    """The user-assigned identity of `res` whose client id is `client_id`."""
    for key, entry in _folded(res.identity.get("userAssignedIdentities")).items():
        cid = entry.get("clientId") if isinstance(entry, dict) else None
        if cid is None:
            uami = inv.get(key)
            cid = uami.get("properties.clientId") if uami is not None else None
        if cid and str(cid).lower() == client_id.strip().lower():
            return principal_of(inv, res, key)
    return None


# ---- hosts ----------------------------------------------------------------------------------


def host_of(value: str) -> str:
    """The host name in a URL, or in a bare `host[:port]`; "" when there is none."""
    if type(value) is str and len(value) <= 2048:
        # The same URLs are read by many rules, and again per workload unit: each parsed once.
        return _host_memo(value)
    return _host_of(value)


def _host_of(value: str) -> str:
    text = value.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        return (urlparse(text).hostname or "").lower()
    except ValueError:
        return ""


_host_memo = lru_cache(maxsize=1 << 15)(_host_of)


def assign_command(principal: str, role: str, scope: str) -> str:
    """A remediation: grant `role` to `principal` at `scope`, as prose and a command."""
    command = (
        f"az role assignment create --assignee-object-id {shlex.quote(principal)} "
        f"--assignee-principal-type ServicePrincipal --role {shlex.quote(role)} "
        f"--scope {shlex.quote(scope)}"
    )
    return f"Grant the identity {role} on the target.\n\n```sh\n{command}\n```"
