"""ARM what-if results (`az deployment group|sub what-if --no-pretty-print`, or the REST response).

Each change's `after` is the resource as the template will deploy it: an ARM body without the
server's defaults and read-only properties, in which values from `reference()` or `list*()`
stay unresolved template expressions (`"[reference(...).principalId]"`). Those expressions are
removed from the body and listed as unknown; missing properties keep the meaning ARM gives an
absent property, which the rules already encode.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from prodcheck.arm import ArmId
from prodcheck.errors import UserError
from prodcheck.inventory import UNKNOWN_KEY, CoverageRecord
from prodcheck.plans import not_evaluated, plan_coverage, scope_id, scope_of
from prodcheck.snapshot import Snapshot

_RERUN = (
    "run 'az deployment group what-if --resource-group <rg> --template-file <file> "
    "--result-format FullResourcePayloads --no-pretty-print > whatif.json' "
    "(or 'az deployment sub what-if ...') and pass that file"
)
_JUDGED = {"create", "modify", "nochange", "deploy"}
_EXPRESSION = re.compile(r"^\[(?!\[).*\]$", re.DOTALL)
_DEPLOYMENTS = "microsoft.resources/deployments"


def parse_what_if(data: Any, source: str, needs: Iterable[str] = ()) -> Snapshot:
    """A snapshot of the resources a what-if result says the deployment leaves in place."""
    if not isinstance(data, dict):
        raise UserError(
            f"{source} is a JSON {type(data).__name__}, not a what-if result: expected an object "
            f"with 'changes' (or 'properties.changes'); {_RERUN}"
        )
    error = data.get("error")
    if error:
        code = message = ""
        if isinstance(error, dict):
            code, message = str(error.get("code") or ""), str(error.get("message") or "")
        raise UserError(
            f"{source} is a what-if result that failed ({code or 'error'}: {message or 'no message'}"
            "): fix the template or its parameters and run what-if again"
        )
    status = data.get("status")
    if status is not None and str(status).lower() != "succeeded":
        raise UserError(
            f"{source} is a what-if result with status {status!r}, not 'Succeeded': "
            "wait for the operation to finish, or fix it and run what-if again"
        )
    changes = data.get("changes")
    potential = data.get("potentialChanges")
    properties = data.get("properties")
    if changes is None and isinstance(properties, dict):
        changes = properties.get("changes")
        potential = properties.get("potentialChanges")
    if not isinstance(changes, list):
        raise UserError(f"{source} is not a what-if result: it has no 'changes' list; {_RERUN}")
    if not isinstance(potential, list):
        potential = []
    for i, change in enumerate(changes + potential):
        if not isinstance(change, dict):
            raise UserError(f"{source}: change #{i + 1} is not a JSON object; {_RERUN}")
    if _resource_id_only(changes):
        raise UserError(
            f"{source} was saved with --result-format ResourceIdOnly: it lists resource ids "
            f"without their planned properties, so nothing can be judged; {_RERUN}"
        )

    resources: list[dict[str, Any]] = []
    gaps: list[tuple[str, str, str]] = []
    deleted = 0
    deleted_ids: list[str] = []
    for change in changes:
        kind = str(change.get("changeType") or "").lower()
        rid = str(change.get("resourceId") or "")
        if kind == "delete":
            deleted += 1
            if rid:
                deleted_ids.append(rid)
            continue
        after = change.get("after")
        if kind in _JUDGED and isinstance(after, dict):
            resource = _resource(after, rid)
            if resource is None:
                gaps.append((rid, "", "its planned body has no resource id or type"))
                continue
            if _is_linked_deployment(resource):
                gaps.append(
                    (
                        resource["id"],
                        "*",
                        "a nested deployment from a linked template or template spec: what-if "
                        "does not expand it",
                    )
                )
            resources.append(resource)
        elif kind == "ignore":
            gaps.append((rid, "", "what-if ignores it (outside the template, or past its limits)"))
        elif kind == "unsupported":
            reason = str(change.get("unsupportedReason") or "no reason given")
            gaps.append((rid, "", f"what-if cannot evaluate it: {reason}"))
        elif not rid and (change.get("extension") or change.get("identifiers")):
            gaps.append(
                ("", "", "an extensible (non-ARM) resource, which prodcheck does not judge")
            )
        else:
            gaps.append((rid, "", f"change type {change.get('changeType')!r} has no planned body"))
    for change in potential:
        rid = str(change.get("resourceId") or "")
        gaps.append((rid, "", "a potential change: what-if could not resolve it before deployment"))
    diagnostics = data.get("diagnostics")
    if diagnostics is None and isinstance(properties, dict):
        diagnostics = properties.get("diagnostics")
    noted = []
    for diagnostic in diagnostics if isinstance(diagnostics, list) else []:
        if not isinstance(diagnostic, dict):
            continue
        level = str(diagnostic.get("level") or "").lower()
        about = str(diagnostic.get("target") or "")
        text = f"{diagnostic.get('code') or 'diagnostic'}: {diagnostic.get('message') or ''}"
        if level in ("warning", "error") and ArmId.parse(about).type.lower() == _DEPLOYMENTS:
            # A nested deployment what-if could not analyse (short-circuited): anything inside.
            gaps.append((about, "*", f"what-if did not analyse this nested deployment ({text})"))
        elif level in ("warning", "error"):
            noted.append(text)

    scope = scope_of(resources + [{"id": rid} for rid, _, _ in gaps if rid])
    sid = scope_id(scope)
    records: list[CoverageRecord] = []
    needed = list(needs)
    for rid, type_, why in gaps:
        arm = ArmId.parse(rid) if rid else None
        where = rid or sid
        if type_ == "*":
            # Anything could be inside: every type the rules need is unseen in that scope.
            target = ArmId.parse(rid)
            group = (
                f"/subscriptions/{target.subscription}/resourceGroups/{target.resource_group}"
                if target.resource_group
                else sid
            )
            records.extend(not_evaluated(t, group, why) for t in needed)
            continue
        records.append(not_evaluated(arm.type if arm and arm.type else "unknown", where, why))
    scope["plan"] = {
        "kind": "what-if",
        "resources": len(resources),
        "deleted": deleted,
        "deletedIds": deleted_ids,
        "notEvaluated": len(gaps),
        "unknownValues": sum(len(r.get(UNKNOWN_KEY, [])) for r in resources),
        "diagnostics": noted,
    }
    return Snapshot(
        resources,
        # Without the rules' needs and with nothing missing, the plan is simply complete.
        coverage=plan_coverage(needed, sid, records) if needed or records else None,
        scope=scope,
        source=source,
        input_kind="what-if",
    )


def _resource_id_only(changes: list[Any]) -> bool:
    """Whether the result carries only ids: `Deploy` changes, or no body where one belongs."""
    for change in changes:
        kind = str(change.get("changeType") or "").lower()
        if kind == "deploy" and not isinstance(change.get("after"), dict):
            return True
        if (
            kind in ("create", "modify", "nochange")
            and change.get("after") is None
            and change.get("before") is None
            and change.get("delta") is None
        ):
            return True
    return False


def _resource(after: dict[str, Any], rid: str) -> dict[str, Any] | None:
    body = dict(after)
    body.pop("apiVersion", None)
    if not isinstance(body.get("id"), str) or not body.get("id"):
        if not rid:
            return None
        body["id"] = rid
    if not isinstance(body.get("type"), str) or not body.get("type"):
        parsed = ArmId.parse(body["id"]).type
        if not parsed:
            return None
        body["type"] = parsed
    if not isinstance(body.get("name"), str) or _EXPRESSION.match(body.get("name") or ""):
        body["name"] = ArmId.parse(body["id"]).name
    unknown: list[str] = []
    cleaned = _strip_expressions(body, "", unknown)
    assert isinstance(cleaned, dict)
    cleaned.pop(UNKNOWN_KEY, None)
    if unknown:
        cleaned[UNKNOWN_KEY] = unknown
    return cleaned


def _strip_expressions(value: Any, path: str, unknown: list[str]) -> Any:
    """`value` without unresolved template expressions, whose paths go to `unknown`.

    An expression as an object member removes the member; as a list element it becomes null,
    keeping the other elements in place (as Terraform does with its unknown values).
    """
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(item, str) and _EXPRESSION.match(item):
                unknown.append(where)
                continue
            out[key] = _strip_expressions(item, where, unknown)
        return out
    if isinstance(value, list):
        items: list[Any] = []
        for i, item in enumerate(value):
            where = f"{path}[{i}]"
            if isinstance(item, str) and _EXPRESSION.match(item):
                unknown.append(where)
                items.append(None)
            else:
                items.append(_strip_expressions(item, where, unknown))
        return items
    return value


def _is_linked_deployment(resource: dict[str, Any]) -> bool:
    if str(resource.get("type", "")).lower() != _DEPLOYMENTS:
        return False
    props = resource.get("properties")
    return isinstance(props, dict) and bool(props.get("templateLink"))
