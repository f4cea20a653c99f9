"""Builders of Terraform plan JSON (`terraform show -json`, format 1.2) for tests.

A plan holds each resource three times over: `resource_changes` (what prodcheck reads), the
`planned_values` (where unknown and absent look alike) and the `configuration` (the expressions,
with the references that link resources before their ids exist).
"""

from __future__ import annotations

import copy
import re
from typing import Any


def change(
    address: str,
    after: dict[str, Any] | None,
    *,
    unknown: dict[str, Any] | None = None,
    sensitive: dict[str, Any] | None = None,
    actions: tuple[str, ...] = ("create",),
    mode: str = "managed",
    before: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One `resource_changes` entry; the type, name, index and module come from the address."""
    module = ""
    match = re.match(
        r"^((?:module\.[^.]+\.)*)(?:(data)\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)(\[.*\])?$", address
    )
    assert match, address
    module, _, type_, name, key = match.groups()
    entry: dict[str, Any] = {
        "address": address,
        "mode": mode,
        "type": type_,
        "name": name,
        "provider_name": "registry.terraform.io/"
        + ("azure/azapi" if type_.startswith("azapi") else "hashicorp/azurerm"),
        "change": {
            "actions": list(actions),
            "before": before,
            "after": after,
            "after_unknown": unknown or {},
            "before_sensitive": False if before is None else {},
            "after_sensitive": sensitive or {},
        },
    }
    if module:
        entry["module_address"] = module.rstrip(".")
    if key:
        inner = key[1:-1]
        entry["index"] = int(inner) if inner.isdigit() else inner.strip('"')
    return entry


def resource_config(address: str, **references: Any) -> dict[str, Any]:
    """A `configuration` resource whose attributes refer to others: name=[references].

    A block is a list of objects, as in the plan: template=[{"container": [{...}]}].
    """
    type_, name = address.split(".")[-2:]
    expressions: dict[str, Any] = {}
    for attr, refs in references.items():
        is_refs = isinstance(refs, list) and all(isinstance(r, str) for r in refs)
        expressions[attr] = {"references": refs} if is_refs else refs
    return {
        "address": f"{type_}.{name}",
        "mode": "managed",
        "type": type_,
        "name": name,
        "expressions": expressions,
    }


def plan(
    changes: list[dict[str, Any]],
    resources: list[dict[str, Any]] | None = None,
    modules: dict[str, list[dict[str, Any]]] | None = None,
    **top: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {
                "azurerm": {
                    "name": "azurerm",
                    "full_name": "registry.terraform.io/hashicorp/azurerm",
                }
            },
            "root_module": {
                "resources": resources or [],
                "module_calls": {
                    name: {"source": f"./modules/{name}", "module": {"resources": res}}
                    for name, res in (modules or {}).items()
                },
            },
        },
        "timestamp": "2026-11-30T10:00:00Z",
        "applyable": True,
        "complete": True,
        "errored": False,
    }
    doc.update(top)
    return doc


# ---- a day-two plan planned again as the first one ---------------------------------------------

# Read-only properties Azure fills in, which the day-two plan's bodies carry and a configuration
# never declares: a first plan's configured bodies have none of them.
READ_ONLY = frozenset(
    {
        "provisioningState",
        "runningStatus",
        "latestRevisionName",
        "latestReadyRevisionName",
        "latestRevisionFqdn",
        "outboundIpAddresses",
        "customDomainVerificationId",
        "fqdn",
        "defaultDomain",
        "staticIp",
        "principalId",
        "clientId",
        "endpoint",
        "endpoints",
        "primaryEndpoints",
        "gatewayUrl",
        "gatewayRegionalUrl",
        "developerPortalUrl",
        "portalUrl",
        "managementApiUrl",
        "scmUrl",
        "customerId",
        "ConnectionString",
        "InstrumentationKey",
        "createdAt",
        "createdAtUtc",
        "statusOfPrimary",
        "privateEndpointConnections",
        "resourceGuid",
        "networkInterfaces",
        "ipAddress",
        "serviceBusEndpoint",
        "secretUriWithVersion",
        "platformVersion",
        "infrastructureVersion",
        "privateIPAddresses",
        "publicIPAddresses",
        "loginServer",
        "vaultUri",
        "hostName",
    }
)


def first_plan(day_two: dict[str, Any]) -> dict[str, Any]:
    """`day_two` (a plan whose resources mostly exist) as the first plan of the same
    configuration: every managed resource is created, so

    - its `id` and azapi `output` are known only after apply, and its configured `body` holds
      no read-only property (READ_ONLY);
    - a value holding another planned resource's id (a `parent_id`, a private endpoint's
      service, an alert's scope, a subnet of a new network) is known only after apply, and the
      configuration refers to that resource: per attribute for `parent_id` and `identity_ids`,
      one list for the whole `body` (Terraform gives one expression per attribute);
    - an identity's principal id, and a new user-assigned identity's principal and client ids
      wherever they are used (role assignments), are known only after apply.

    Data sources read what exists already (role definitions, the model catalogue): unchanged.
    """
    from prodcheck.plans import ADDRESS_KEY
    from prodcheck.plans.terraform import parse_terraform_plan

    doc = copy.deepcopy(day_two)
    ids: dict[str, str] = {}
    for resource in parse_terraform_plan(day_two, "day two").resources:
        address = resource.get(ADDRESS_KEY)
        if isinstance(address, str) and not address.startswith("data."):
            ids.setdefault(str(resource["id"]).lower(), address)
    assigned: dict[str, str] = {}  # a value Azure assigns on creation -> what refers to it
    for rc in doc["resource_changes"]:
        after = rc["change"]["after"] or {}
        if rc["mode"] != "managed":
            continue
        for identity in after.get("identity") or []:
            if identity.get("principal_id"):
                assigned[identity["principal_id"].lower()] = f"{rc['address']}.identity"
        props = (after.get("body") or {}).get("properties") or {}
        if str(after.get("type", "")).startswith("Microsoft.ManagedIdentity/"):
            for key in ("principalId", "clientId"):
                if props.get(key):
                    assigned[props[key].lower()] = f"{rc['address']}.output"
    one_of = re.compile(
        "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True)) + r"(?![A-Za-z0-9_.-])",
        re.IGNORECASE,
    )
    configuration = []
    for rc in doc["resource_changes"]:
        if rc["mode"] != "managed":
            continue
        change_ = rc["change"]
        after = change_["after"]
        own = rc["address"]

        def references(text: str, own: str = own) -> list[str]:
            found = []
            for match in one_of.finditer(text):
                target = ids[match.group(0).lower()]
                if target != own:
                    found += [f"{target}.id", target]
            if text.lower() in assigned:
                found.append(assigned[text.lower()])
            return found

        change_.update(actions=["create"], before=None, before_sensitive=False)
        after.pop("id", None)
        after["output"] = None
        unknown: dict[str, Any] = {"id": True, "output": True}
        expressions: dict[str, Any] = {}
        parent = after.get("parent_id")
        if isinstance(parent, str) and references(parent):
            expressions["parent_id"] = {"references": references(parent)}
            after["parent_id"] = None
            unknown["parent_id"] = True
        for identity in after.get("identity") or []:
            marks: dict[str, Any] = {"principal_id": True, "tenant_id": True}
            identity["principal_id"] = identity["tenant_id"] = None
            listed = identity.get("identity_ids") or []
            refs = [references(v) if isinstance(v, str) else [] for v in listed]
            if any(refs):
                marks["identity_ids"] = [bool(r) for r in refs]
                identity["identity_ids"] = [
                    None if r else v for v, r in zip(listed, refs, strict=True)
                ]
                expressions["identity"] = [
                    {"identity_ids": {"references": [x for r in refs for x in r]}}
                ]
            unknown["identity"] = [marks]
        in_body: list[str] = []

        def configured(value: Any, in_body: list[str] = in_body) -> tuple[Any, Any]:
            """(the configured value, its after_unknown marks)."""
            if isinstance(value, str):
                found = references(value)
                in_body.extend(found)
                return (None, True) if found else (value, None)
            if isinstance(value, dict):
                out, marks = {}, {}
                for key, item in value.items():
                    if key in READ_ONLY:
                        continue
                    new, mark = configured(item)
                    if mark is True:
                        marks[key] = True
                    else:
                        out[key] = new
                        if mark:
                            marks[key] = mark
                return out, marks or None
            if isinstance(value, list):
                pairs = [configured(item) for item in value]
                marks_list = [m or False for _, m in pairs]
                return [v for v, _ in pairs], (marks_list if any(marks_list) else None)
            return value, None

        after["body"], body_marks = configured(after.get("body"))
        if body_marks:
            unknown["body"] = body_marks
        if in_body:
            expressions["body"] = {"references": list(dict.fromkeys(in_body))}
        change_["after_unknown"] = unknown
        configuration.append(
            {
                "address": own,
                "mode": "managed",
                "type": rc["type"],
                "name": rc["name"],
                "expressions": expressions,
            }
        )
    doc["configuration"]["root_module"]["resources"] = configuration
    return doc
