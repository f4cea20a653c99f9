"""ARM ids and types, as much as collection needs of them (case-insensitive throughout)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


def type_key(resource_type: str) -> str:
    return resource_type.strip().strip("/").lower()


def parent_type(resource_type: str) -> str | None:
    """`Ns/a/b` -> `Ns/a`; a top-level type `Ns/a` has none."""
    parts = resource_type.strip("/").split("/")
    return "/".join(parts[:-1]) if len(parts) > 2 else None


def namespace(resource_type: str) -> str:
    return resource_type.strip("/").split("/")[0]


def last_segment(resource_type: str) -> str:
    return resource_type.strip("/").split("/")[-1]


@dataclass(frozen=True)
class Parent:
    """A collected resource that child collections hang off.

    `names` are the resource names along its chain: for
    `.../providers/Microsoft.ApiManagement/service/apim-x/apis/echo` they are `["apim-x", "echo"]`.
    """

    id: str
    subscription: str
    resource_group: str
    names: tuple[str, ...]

    @classmethod
    def from_id(cls, resource_id: str) -> Parent:
        parts = [p for p in resource_id.split("/") if p]
        lowered = [p.lower() for p in parts]
        subscription = resource_group = ""
        if len(parts) > 1 and lowered[0] == "subscriptions":
            subscription = parts[1]
        if len(parts) > 3 and lowered[2] == "resourcegroups":
            resource_group = parts[3]
        names: tuple[str, ...] = ()
        if "providers" in lowered:
            last = len(lowered) - 1 - lowered[::-1].index("providers")
            names = tuple(parts[last + 3 :: 2])
        return cls(resource_id, subscription, resource_group, names)


def url_path(resource_id: str) -> str:
    """An ARM id as a URL path: names may hold characters that need escaping (`%`, spaces, `#`)."""
    return quote(resource_id, safe="/:@!$&'()*+,;=-._~")
