"""ARM resource ids and types: parsing and case-insensitive comparison.

ARM treats ids and types as case-insensitive and is not consistent about case itself
(`Microsoft.Cache/Redis` in one response, `microsoft.cache/redis` in another; a resource
group spelt differently in a reference than in the group's own id). Everything here folds
case so that callers never have to.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any


def norm(value: str | None) -> str:
    """The comparison key of an ARM id or type: lower case, no trailing slash."""
    return (value or "").strip().rstrip("/").lower()


def is_under(resource_id: str, scope: str) -> bool:
    """True if `resource_id` is `scope` itself or lies below it (case-insensitive)."""
    rid, sc = norm(resource_id), norm(scope)
    return rid == sc or rid.startswith(sc + "/")


@dataclass(frozen=True, slots=True)
class ArmId:
    """The parts of an ARM resource id.

    `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe/privateDnsZoneGroups/default`
    has subscription `s`, resource group `rg`, type `Microsoft.Network/privateEndpoints/privateDnsZoneGroups`,
    name `default` and parent `.../privateEndpoints/pe`. Extension resources
    (`{id}/providers/Microsoft.Insights/diagnosticSettings/x`) take the type after the last
    `providers` segment and have the resource they extend as parent.
    """

    id: str
    subscription: str
    resource_group: str
    type: str
    name: str
    parent: str

    @classmethod
    def parse(cls, resource_id: str) -> ArmId:
        # Ids repeat (every finding on a resource, every report format): each is parsed once.
        if cls is ArmId and type(resource_id) is str and len(resource_id) <= 2048:
            return _parse_memo(resource_id)
        return cls._parse(resource_id)

    @classmethod
    def _parse_usual(cls, resource_id: str) -> ArmId:
        """`_parse`, with a shortcut for the usual shape of an id, which is most ids of an
        inventory: `/subscriptions/{s}/resourceGroups/{g}[/{extended resource}]/providers/
        {namespace}/{type}/{name}[/{type}/{name}...]`, in ASCII, no segment empty, and no
        `providers` segment at the end. Anything else takes the long way."""
        low = resource_id.lower()
        if (
            not low.startswith("/subscriptions/")
            or not resource_id.isascii()
            or "//" in low
            or low.endswith(("/", "/providers"))
            or resource_id[-1].isspace()
        ):
            return cls._parse(resource_id)
        g = low.find("/", 15)  # after the subscription
        e = low.find("/", g + 16)  # after the resource group
        p = low.rfind("/providers/")  # the last providers
        if (
            g < 0
            or not low.startswith("/resourcegroups/", g)
            or low[15:g] == "resourcegroups"
            or e < 0
            or p < e
        ):
            return cls._parse(resource_id)
        rest = resource_id[p + 11 :].split("/")  # namespace, type, name, type, name...
        if len(rest) < 3 or len(rest) % 2 == 0:
            return cls._parse(resource_id)
        kinds = rest[1::2]
        if len(kinds) > 1:
            parent = resource_id.rsplit("/", 2)[0]
        elif p == e:
            parent = ""
        else:
            # An extension resource: its parent is the resource it extends, unless that is
            # (by its segments) a subscription or resource group.
            parent = resource_id[:p]
            if low[:p].rsplit("/", 2)[-2] in ("resourcegroups", "subscriptions"):
                parent = ""
        rtype = rest[0] + "/" + "/".join(kinds)
        return cls(resource_id, resource_id[15:g], resource_id[g + 16 : e], rtype, rest[-1], parent)

    @classmethod
    def _parse(cls, resource_id: str) -> ArmId:
        parts = [p for p in resource_id.strip().split("/") if p]
        subscription = resource_group = ""
        lowered = [p.lower() for p in parts]
        if "subscriptions" in lowered:
            i = lowered.index("subscriptions")
            if i + 1 < len(parts):
                subscription = parts[i + 1]
        if "resourcegroups" in lowered:
            i = lowered.index("resourcegroups")
            if i + 1 < len(parts):
                resource_group = parts[i + 1]
        # The type comes from the segments after the last "providers".
        last = max((i for i, p in enumerate(lowered) if p == "providers"), default=-1)
        if last == -1 or last + 1 >= len(parts):
            if resource_group and lowered[-2:-1] == ["resourcegroups"]:
                return cls(
                    resource_id,
                    subscription,
                    resource_group,
                    "Microsoft.Resources/resourceGroups",
                    resource_group,
                    "/subscriptions/" + subscription,
                )
            if subscription and len(parts) == 2:
                return cls(
                    resource_id,
                    subscription,
                    "",
                    "Microsoft.Resources/subscriptions",
                    subscription,
                    "",
                )
            return cls(
                resource_id, subscription, resource_group, "", parts[-1] if parts else "", ""
            )
        namespace = parts[last + 1]
        rest = parts[last + 2 :]
        type_segments = rest[0::2]
        names = rest[1::2]
        rtype = "/".join([namespace, *type_segments])
        name = names[-1] if names else ""
        if len(type_segments) > 1:
            parent = "/" + "/".join(parts[: last + 2 + 2 * (len(type_segments) - 1)])
        elif last >= 2 and lowered[last - 2] not in ("resourcegroups", "subscriptions"):
            # An extension resource: its parent is the resource it extends.
            parent = "/" + "/".join(parts[:last])
        else:
            parent = ""
        return cls(resource_id, subscription, resource_group, rtype, name, parent)


_parse_memo = lru_cache(maxsize=1 << 16)(ArmId._parse_usual)


MODEL_CATALOGUE = "Microsoft.CognitiveServices/locations/models"


def catalogue_item_name(item: dict[str, Any]) -> str:
    """The name prodcheck gives a model catalogue item (ARM gives none):
    `{kind}~{model.format}~{model.name}~{model.version}`, a `/` in a part made `_`."""
    raw = item.get("model")
    model: dict[str, Any] = raw if isinstance(raw, dict) else {}
    parts = [item.get("kind"), model.get("format"), model.get("name"), model.get("version")]
    return "~".join(str(p or "").replace("/", "_") for p in parts)


def with_catalogue_id(item: dict[str, Any], list_path: str) -> dict[str, Any]:
    """A catalogue item read from `list_path` (`/subscriptions/{s}/providers/Microsoft.
    CognitiveServices/locations/{location}/models`) with the `id`, `name` and `type` a snapshot
    gives it (docs/snapshot-format.md#catalogue-items)."""
    name = catalogue_item_name(item)
    head, location, models = list_path.rstrip("/").rsplit("/", 2)
    path = f"{head}/{location.lower()}/{models}"
    return {**item, "id": f"{path}/{name}", "name": name, "type": MODEL_CATALOGUE}


DIAGNOSTIC_SETTINGS = "Microsoft.Insights/diagnosticSettings"
METRICS = "Microsoft.Insights/metrics"
# Extension types a rule can ask for on the resources of one type:
# `{type}/providers/Microsoft.Insights/diagnosticSettings`, `{type}/providers/Microsoft.Insights/
# metrics` (a metrics need may end in a query naming custom metrics, `?metricnamespace=...`).
EXTENSION_TYPES = (DIAGNOSTIC_SETTINGS, METRICS)


def extension_need(need: str) -> tuple[str, str] | None:
    """(`{type}`, the extension type) for a need written `{type}/providers/{extension type}`
    (any case, a query after `?` ignored); None for any other need."""
    key = norm(need.split("?", 1)[0])
    for extension in EXTENSION_TYPES:
        suffix = "/providers/" + extension.lower()
        if key.endswith(suffix) and len(key) > len(suffix):
            return need.split("?", 1)[0].strip().rstrip("/")[: -len(suffix)], extension
    return None


def need_type(need: str) -> str:
    """The ARM type whose coverage records answer for `need` (the extension type of an
    extension need, the need itself otherwise, without a query)."""
    extension = extension_need(need)
    return extension[1] if extension else need.split("?", 1)[0].strip()
