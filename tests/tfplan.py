"""Builders of Terraform plan JSON (`terraform show -json`, format 1.2) for tests.

A plan holds each resource three times over: `resource_changes` (what prodcheck reads), the
`planned_values` (where unknown and absent look alike) and the `configuration` (the expressions,
with the references that link resources before their ids exist).
"""

from __future__ import annotations

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
