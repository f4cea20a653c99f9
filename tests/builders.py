"""Small ARM JSON builders for tests: a resource in a few words, a snapshot around it.

Fixtures stay small and readable; the demo inventories are the only big ones.
"""

from __future__ import annotations

from typing import Any

import pytest

from prodcheck.cli import main
from prodcheck.engine import AuditSettings, run_rule
from prodcheck.inventory import CoverageRecord, Inventory
from prodcheck.model import Finding
from prodcheck.registry import Registry
from prodcheck.snapshot import FORMAT

SUB = "00000000-1111-2222-3333-444444444444"
RG = "rg-app"


def rid(type_: str, name: str, rg: str = RG, sub: str = SUB) -> str:
    """The ARM id of a top-level resource: rid('Microsoft.Cache/redis', 'r1')."""
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{type_}/{name}"


def child_id(parent: str, child_type: str, name: str) -> str:
    """The id of a child: child_id(apim_id, 'apis', 'openai')."""
    return f"{parent}/{child_type}/{name}"


def arm(
    type_: str,
    name: str,
    *,
    rg: str = RG,
    sub: str = SUB,
    id: str | None = None,
    location: str = "eastus",
    properties: dict[str, Any] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """An ARM resource as GET returns it. Extra keywords become top-level keys (sku, kind, ...)."""
    resource: dict[str, Any] = {
        "id": id or rid(type_, name, rg, sub),
        "name": name,
        "type": type_,
        "location": location,
        "properties": dict(properties or {}),
    }
    resource.update(top)
    return resource


def snapshot(
    resources: list[dict[str, Any]], coverage: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": FORMAT,
        "collectedAt": "2026-11-26T09:00:00Z",
        "scope": {"subscriptions": [SUB]},
        "resources": resources,
    }
    if coverage is not None:
        doc["coverage"] = coverage
    return doc


_REGISTRY: Registry | None = None


def registry() -> Registry:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry.load(plugins=False)
    return _REGISTRY


def run(
    rule_id: str,
    resources: list[dict[str, Any]],
    params: dict[str, Any] | None = None,
    coverage: list[dict[str, Any]] | None = None,
) -> list[Finding]:
    """The findings of one built-in rule on these resources."""
    rule = registry().get(rule_id)
    inv = Inventory(
        resources,
        coverage=[CoverageRecord.from_json(c) for c in coverage] if coverage is not None else None,
        scope={"subscriptions": [SUB]},
    )
    settings = AuditSettings(params={rule_id: params} if params else {})
    return run_rule(rule, inv, settings)


def by_name(findings: list[Finding]) -> dict[str, Finding]:
    """Findings keyed by resource name (the scope's findings under 'scope')."""
    return {(f.resource_name if f.resource_type != "scope" else "scope"): f for f in findings}


def statuses(findings: list[Finding]) -> dict[str, str]:
    return {k: f.status.value for k, f in by_name(findings).items()}


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command line in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err
