"""Terraform plans (`terraform show -json plan.tfplan`, format 1.x) as ARM resources.

Read from `resource_changes[].change`: `after` with `after_unknown` (what is known only after
apply) and `after_sensitive` (values never to show), not `planned_values`, where an unknown value
and an absent one look the same. Sensitive values are replaced by a marker before anything else
sees them. `azapi_resource` bodies are ARM bodies already; azurerm resources go through the
mapping tables in `prodcheck.plans.azurerm`. Resource ids do not exist before the first apply:
each resource gets an id built from its type, resource group and name, and references between
resources (a diagnostic setting's target, a deployment's account) are followed through the
plan's `configuration`, as Terraform itself links them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from prodcheck.arm import catalogue_item_name
from prodcheck.errors import UserError
from prodcheck.inventory import UNKNOWN_KEY, CoverageRecord
from prodcheck.plans import not_evaluated, plan_coverage, scope_id, scope_of
from prodcheck.snapshot import Snapshot

SENSITIVE = "(sensitive value from the plan, not shown)"
PLACEHOLDER_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
_RERUN = "run 'terraform plan -out plan.tfplan && terraform show -json plan.tfplan > plan.json'"
_INDEX = re.compile(r"\[[^\]]*\]")

Path = tuple[str | int, ...]


def tf_path(text: str) -> Path:
    """`ingress[0].external_enabled` as ("ingress", 0, "external_enabled")."""
    out: list[str | int] = []
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", text):
        out.append(int(index) if index else key)
    return tuple(out)


def _lookup(value: Any, path: Path) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return None
            value = value[step]
        else:
            if not isinstance(value, dict):
                return None
            value = value.get(step)
    return value


def _leaves(marks: Any, path: Path = ()) -> list[Path]:
    """The paths marked `true` in an `after_unknown` / `after_sensitive` structure."""
    if marks is True:
        return [path]
    found: list[Path] = []
    if isinstance(marks, dict):
        for key, value in marks.items():
            found += _leaves(value, (*path, str(key)))
    elif isinstance(marks, list):
        for i, value in enumerate(marks):
            found += _leaves(value, (*path, i))
    return found


def _mask(value: Any, marks: Any) -> Any:
    """`value` with every part marked sensitive replaced by SENSITIVE (a copy)."""
    if marks is True:
        return SENSITIVE if value is not None else None
    if isinstance(value, dict):
        sub = marks if isinstance(marks, dict) else {}
        return {k: _mask(v, sub.get(k)) for k, v in value.items()}
    if isinstance(value, list):
        sub_list = marks if isinstance(marks, list) else []
        return [_mask(v, sub_list[i] if i < len(sub_list) else None) for i, v in enumerate(value)]
    return value


def _overlaps(a: Path, b: Path) -> bool:
    return all(x == y for x, y in zip(a, b, strict=False))


@dataclass
class Instance:
    """One planned resource instance: `module.ai.azapi_resource.redis["default"]`."""

    address: str
    module: str  # "module.ai." (instance keys kept), "" for the root module
    config_address: str  # "module.ai.azapi_resource.redis": no instance keys
    type: str
    name: str
    index: Any
    after: dict[str, Any]
    unknown: list[Path] = field(default_factory=list)
    wholly_unknown: bool = False

    def value(self, path: Path | str) -> Any:
        return _lookup(self.after, tf_path(path) if isinstance(path, str) else path)

    def is_unknown(self, path: Path | str) -> bool:
        p = tf_path(path) if isinstance(path, str) else path
        return self.wholly_unknown or any(_overlaps(p, u) for u in self.unknown)


class Configuration:
    """The plan's `configuration`: each resource's expressions, to follow references."""

    def __init__(self, data: Any) -> None:
        self.expressions: dict[str, dict[str, Any]] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        root = data.get("root_module") if isinstance(data, dict) else None
        self._walk(root, "", 0)

    def _walk(self, module: Any, prefix: str, depth: int) -> None:
        if not isinstance(module, dict) or depth > 32:
            return
        for resource in module.get("resources") or []:
            if isinstance(resource, dict) and isinstance(resource.get("address"), str):
                expressions = resource.get("expressions")
                self.expressions[prefix + resource["address"]] = (
                    expressions if isinstance(expressions, dict) else {}
                )
        outputs = module.get("outputs")
        if isinstance(outputs, dict):
            for name, output in outputs.items():
                if isinstance(output, dict):
                    self.outputs[f"{prefix}{name}"] = output
        calls = module.get("module_calls")
        if isinstance(calls, dict):
            for name, call in calls.items():
                if isinstance(call, dict):
                    self._walk(call.get("module"), f"{prefix}module.{name}.", depth + 1)

    def references(self, config_address: str, path: Path) -> list[str]:
        """The references of the expression at `path` of a resource (module-relative)."""
        return self.located(config_address, path)[0]

    def located(self, config_address: str, path: Path) -> tuple[list[str], int | None]:
        """The references at `path`, and the list index they stand for when the expression is
        a whole list (`scopes = [a.id, b.id]` has one expression for both elements)."""
        node: Any = self.expressions.get(config_address, {})
        element: int | None = None
        for step in path:
            if isinstance(step, int):
                if isinstance(node, list):
                    node = node[step] if step < len(node) else None
                elif isinstance(node, dict):
                    element = step
                    continue
            elif isinstance(node, list):
                node = node[0] if node else None
                node = node.get(step) if isinstance(node, dict) else None
            elif isinstance(node, dict):
                node = node.get(step)
            if node is None:
                return [], None
        if isinstance(node, list) and node and isinstance(node[0], dict):
            node = node[0]
        refs = node.get("references") if isinstance(node, dict) else None
        return [r for r in refs or [] if isinstance(r, str)], element


class Plan:
    """The managed resource instances of a plan, and how to find one from a reference."""

    def __init__(self, instances: list[Instance], configuration: Configuration) -> None:
        self.instances = instances
        self.configuration = configuration
        self.by_address = {i.address: i for i in instances}
        self.by_config: dict[str, list[Instance]] = {}
        for i in instances:
            self.by_config.setdefault(i.config_address, []).append(i)

    def referenced(self, inst: Instance, path: Path | str, depth: int = 0) -> Instance | None:
        """The resource instance the expression at `path` of `inst` refers to, if one."""
        p = tf_path(path) if isinstance(path, str) else path
        refs, element = self.configuration.located(inst.config_address, p)
        found: list[Instance] = []
        for ref in refs:
            target = self._resolve(ref, inst, depth)
            if target is not None and target not in found:
                found.append(target)
        if element is None:
            return found[0] if found else None
        # One expression for a whole list: its n-th resource is the n-th element, when every
        # element is a reference (`[a.id, b.id]`); otherwise it cannot be told.
        return found[element] if element < len(found) else None

    def referenced_by(self, ref: str, inst: Instance) -> Instance | None:
        """The resource instance one reference string of `inst`'s configuration names."""
        return self._resolve(ref, inst, 0)

    def _resolve(self, ref: str, inst: Instance, depth: int) -> Instance | None:
        if depth > 8 or ref.startswith(("var.", "local.", "data.", "each.", "count.", "path.")):
            return None
        module = _INDEX.sub("", inst.module)
        parts = ref.split(".")
        if parts[0] == "module" and len(parts) >= 3:
            # A module output: follow the output's own references inside the module.
            call = _INDEX.sub("", parts[1])
            output = self.configuration.outputs.get(f"{module}module.{call}.{parts[2]}")
            inner = output.get("expression", {}) if isinstance(output, dict) else {}
            inner_module = f"{inst.module}module.{parts[1]}."
            proxy = Instance("", inner_module, "", "", "", None, {})
            for r in inner.get("references") or [] if isinstance(inner, dict) else []:
                if isinstance(r, str):
                    found = self._resolve(r, proxy, depth + 1)
                    if found is not None:
                        return found
            return None
        if len(parts) < 2:
            return None
        type_, rest = parts[0], ".".join(parts[1:])
        match = re.match(r"([A-Za-z0-9_-]+)(\[[^\]]*\])?", rest)
        if not match:
            return None
        name, key = match.group(1), match.group(2)
        candidates = self.by_config.get(f"{module}{type_}.{name}", [])
        if key is not None:
            want = f"{inst.module}{type_}.{name}{key}"
            return next((c for c in candidates if c.address == want), None)
        if len(candidates) == 1:
            return candidates[0]
        same = [c for c in candidates if c.index == inst.index and inst.index is not None]
        return same[0] if len(same) == 1 else None


def parse_terraform_plan(
    data: Any,
    source: str,
    needs: Iterable[str] = (),
    source_dir: str | PathLike[str] | None = None,
    source_prefix: str | None = None,
) -> Snapshot:
    """A snapshot of the resources a Terraform plan leaves in place, as ARM resources.

    With `source_dir`, each resource declared in a `.tf` file found there carries its file and
    line (`x-prodcheck-source`, see `prodcheck.plans.tfsource`)."""
    from prodcheck.plans.azurerm import Converter

    if not isinstance(data, dict):
        raise UserError(f"{source} is a JSON {type(data).__name__}, not a Terraform plan: {_RERUN}")
    version = data.get("format_version")
    if (
        not isinstance(version, str)
        or "resource_changes" not in data
        and "planned_values" not in data
    ):
        raise UserError(
            f"{source} is not a Terraform plan in JSON (no format_version and resource_changes): "
            f"{_RERUN}"
        )
    if version.split(".")[0] != "1":
        raise UserError(
            f"{source} has plan format {version!r}, which this prodcheck does not read: it reads "
            "format 1.x (Terraform 1.x); use a Terraform that writes 1.x, or upgrade prodcheck"
        )
    if data.get("errored") is True:
        raise UserError(
            f"{source} is a plan that failed (errored: true): fix the errors terraform plan "
            "reported and plan again"
        )
    changes = data.get("resource_changes") or []
    if not isinstance(changes, list):
        raise UserError(f'{source}: "resource_changes" must be a list; {_RERUN}')

    instances: list[Instance] = []
    deleted = context = 0
    deleted_ids: list[str] = []
    gaps: list[CoverageRecord] = []
    for i, rc in enumerate(changes):
        if not isinstance(rc, dict) or not isinstance(rc.get("change"), dict):
            raise UserError(
                f"{source}: resource change #{i + 1} is not a JSON object with a change"
            )
        address, type_ = rc.get("address"), rc.get("type")
        if not isinstance(address, str) or not isinstance(type_, str) or not address or not type_:
            raise UserError(f"{source}: resource change #{i + 1} has no address or type")
        change = rc["change"]
        actions = change.get("actions") if isinstance(change.get("actions"), list) else []
        if rc.get("mode") == "data":
            reads = _reads(type_, change.get("after"))
            if not reads:
                context += 1
                continue
            for key, body in reads:
                instances.append(
                    Instance(
                        address=address + (f'["{key}"]' if key else ""),
                        module=address[: address.find("data.")] if "data." in address else "",
                        config_address=address,
                        type="azapi_resource",
                        name=str(rc.get("name") or ""),
                        index=key or None,
                        after=body,
                        unknown=[],
                        wholly_unknown=False,
                    )
                )
            continue
        if "create" not in actions and ("delete" in actions or "forget" in actions):
            deleted += 1
            before = change.get("before")
            if isinstance(before, dict) and isinstance(before.get("id"), str):
                deleted_ids.append(before["id"])
            continue
        after = _mask(change.get("after"), change.get("after_sensitive"))
        wholly_unknown = not isinstance(after, dict)
        module = address[: address.rfind(f"{type_}.")] if f"{type_}." in address else ""
        instances.append(
            Instance(
                address=address,
                module=module,
                config_address=_INDEX.sub("", module) + f"{type_}.{rc.get('name') or ''}",
                type=type_,
                name=str(rc.get("name") or ""),
                index=rc.get("index"),
                after=after if isinstance(after, dict) else {},
                unknown=_leaves(change.get("after_unknown")),
                wholly_unknown=wholly_unknown,
            )
        )
    for deferred in data.get("deferred_changes") or []:
        rc = deferred.get("resource_change") if isinstance(deferred, dict) else None
        address = rc.get("address") if isinstance(rc, dict) else None
        gaps.append(
            not_evaluated(
                "unknown",
                "/",
                f"{address or 'a resource'} is deferred by Terraform: it is planned only after "
                "another apply",
            )
        )

    plan = Plan(instances, Configuration(data.get("configuration")))
    converter = Converter(plan, _subscription(data))
    resources = converter.convert()
    gaps += converter.gaps
    scope = scope_of(resources)
    sid = scope_id(scope)
    gaps = [g if g.scope != "/" else _rescope(g, sid) for g in gaps]
    scope["plan"] = {
        "kind": "terraform-plan",
        "terraformVersion": str(data.get("terraform_version") or ""),
        "resources": len(resources),
        "deleted": deleted,
        "deletedIds": deleted_ids,
        "dataSources": context,
        "notEvaluated": len(gaps),
        "unmapped": dict(sorted(converter.unmapped.items())),
        "unknownValues": sum(len(r.get(UNKNOWN_KEY, [])) for r in resources),
    }
    if source_dir is not None:
        scope["plan"]["sources"] = _locate(
            resources, instances, data.get("configuration"), source_dir, source_prefix
        )
    if isinstance(data.get("timestamp"), str):
        # when the plan, and the data sources it read, were made: dates are judged as of it
        scope["plan"]["timestamp"] = data["timestamp"]
    needed = list(needs)
    return Snapshot(
        resources,
        coverage=plan_coverage(needed, sid, gaps) if needed or gaps else None,
        scope=scope,
        source=source,
        input_kind="terraform-plan",
    )


# What a configuration reads from Azure that the rules judge a plan by: the role definitions its
# role assignments grant, and the model catalogue its model deployments run from.
ROLE_DEFINITIONS = "microsoft.authorization/roledefinitions"
MODEL_CATALOGUE = "microsoft.cognitiveservices/locations/models"


def _reads(tf_type: str, after: Any) -> list[tuple[str, dict[str, Any]]]:
    """(instance key, azapi-shaped body) of each resource a data source read that rules use.

    - `data "azapi_resource"` of a role definition (`response_export_values = ["*"]`): built-in
      definitions are never created by a plan, their permissions are what its role assignments
      mean;
    - `data "azapi_resource_list"` of `Microsoft.CognitiveServices/locations/models`: the
      region's model catalogue, one item each, named as a snapshot names them
      (docs/snapshot-format.md#catalogue-items).
    """
    if not isinstance(after, dict):
        return []
    versioned = str(after.get("type") or "")
    arm_type = versioned.split("@")[0]
    output = decode_body(after.get("output"))
    if not isinstance(output, dict):
        return []
    if tf_type == "azapi_resource" and arm_type.lower() == ROLE_DEFINITIONS:
        return [("", {**after, "body": {k: v for k, v in output.items() if k != "id"}})]
    if tf_type == "azapi_resource_list" and arm_type.lower() == MODEL_CATALOGUE:
        out = []
        for item in output.get("value") or []:
            if not isinstance(item, dict) or not isinstance(item.get("model"), dict):
                continue
            key = catalogue_item_name(item)  # as a snapshot names it
            body = {"type": versioned, "parent_id": after.get("parent_id"), "name": key}
            out.append((key, {**body, "body": item}))
        return out
    return []


def _locate(
    resources: list[dict[str, Any]],
    instances: list[Instance],
    configuration: Any,
    source_dir: str | PathLike[str],
    prefix: str | None,
) -> dict[str, Any]:
    """Give each resource the file and line of its block; a summary of what was found."""
    from prodcheck.plans import ADDRESS_KEY
    from prodcheck.plans.tfsource import SOURCE_KEY, find_sources

    found = find_sources(source_dir, configuration, prefix=prefix)
    config_of = {i.address: i.config_address for i in instances}
    located = 0
    for r in resources:
        address = r.get(ADDRESS_KEY)
        if not isinstance(address, str):
            continue
        # `....private_dns_zone_group`, `....default_database`: a part of the instance's block
        config = config_of.get(address) or config_of.get(address.rsplit(".", 1)[0])
        where = found.locate(config) if config else None
        if where is not None:
            r[SOURCE_KEY] = {"file": where.file, "line": where.line}
            located += 1
    return found.summary(located, len(resources))


def _rescope(gap: CoverageRecord, sid: str) -> CoverageRecord:
    return CoverageRecord(
        resource_type=gap.resource_type,
        scope=sid,
        status=gap.status,
        error_code=gap.error_code,
        message=gap.message,
    )


def _subscription(data: dict[str, Any]) -> str:
    """The subscription of the plan, from any id it already knows; a placeholder otherwise."""
    pattern = re.compile(r"^/subscriptions/([0-9a-fA-F-]{36})(/|$)")
    for rc in data.get("resource_changes") or []:
        change = rc.get("change") if isinstance(rc, dict) else None
        for side in ("after", "before"):
            body = change.get(side) if isinstance(change, dict) else None
            rid = body.get("id") if isinstance(body, dict) else None
            match = pattern.match(rid) if isinstance(rid, str) else None
            if match:
                return match.group(1)
    return PLACEHOLDER_SUBSCRIPTION


def decode_body(value: Any) -> Any:
    """An azapi body: an object (azapi 2.x), or a JSON string (azapi 1.x)."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value
