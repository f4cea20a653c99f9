"""API Management policies: parsing them safely and working out the policy a request really gets.

APIM applies policies at four scopes, from the most general to the most specific: global (the
service), product, API and operation. Each scope's document has four sections (`inbound`,
`backend`, `outbound`, `on-error`). A section runs its parent's section only where it says
`<base />`; a section without `<base />` replaces everything above it, and a scope with no policy
document at all inherits its parent whole. So an API whose inbound section omits `<base />` does
not get the global rate limit, however strict the global policy is.

The XML is untrusted input: it is parsed with defusedxml (no entity expansion, no external
references), never searched as text, and comments are dropped by the parser, so a commented-out
`<rate-limit>` counts for nothing. `<include-fragment>` is expanded from the service's policy
fragments. A `<choose>` only guarantees a policy when every branch, `<otherwise>` included, does.
Named values (`{{name}}`) in attributes are resolved from the service's named values where ARM
returns their value (not for secret or Key Vault named values).
"""

from __future__ import annotations

import re
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from prodcheck.arm import norm

SERVICE = "Microsoft.ApiManagement/service"
API = "Microsoft.ApiManagement/service/apis"
API_POLICY = "Microsoft.ApiManagement/service/apis/policies"
OPERATION = "Microsoft.ApiManagement/service/apis/operations"
OPERATION_POLICY = "Microsoft.ApiManagement/service/apis/operations/policies"
GLOBAL_POLICY = "Microsoft.ApiManagement/service/policies"
PRODUCT = "Microsoft.ApiManagement/service/products"
PRODUCT_POLICY = "Microsoft.ApiManagement/service/products/policies"
PRODUCT_API = "Microsoft.ApiManagement/service/products/apis"
BACKEND = "Microsoft.ApiManagement/service/backends"
FRAGMENT = "Microsoft.ApiManagement/service/policyFragments"
NAMED_VALUE = "Microsoft.ApiManagement/service/namedValues"

# Every type the policy chain reads: rules that use it list these in `needs`.
POLICY_CHAIN_TYPES = [
    SERVICE,
    GLOBAL_POLICY,
    PRODUCT,
    PRODUCT_POLICY,
    PRODUCT_API,
    API,
    API_POLICY,
    OPERATION,
    OPERATION_POLICY,
    FRAGMENT,
]

SECTIONS = ("inbound", "backend", "outbound", "on-error")
_MAX_FRAGMENT_DEPTH = 5


class PolicyError(ValueError):
    """A policy document that cannot be read: malformed XML, a missing fragment, ..."""


@dataclass(frozen=True)
class Item:
    """One policy element of an effective section, and the scope it comes from."""

    element: ET.Element
    origin: str

    @property
    def tag(self) -> str:
        return _tag(self.element)


@dataclass
class PolicyDocument:
    """One scope's policy. `sections[name]` is None when the document has no such section."""

    origin: str
    sections: dict[str, list[ET.Element] | None]

    def has_base(self, section: str) -> bool:
        elements = self.sections.get(section)
        return elements is not None and any(_tag(e) == "base" for e in elements)


def _tag(element: ET.Element) -> str:
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag.rsplit("}", 1)[-1].lower()


def parse_xml(text: str, what: str) -> ET.Element:
    """Parse untrusted policy XML; a PolicyError says what is wrong and where."""
    try:
        return SafeET.fromstring(text)
    except DefusedXmlException as exc:
        raise PolicyError(f"{what} uses forbidden XML constructs ({type(exc).__name__})") from None
    except ET.ParseError as exc:
        raise PolicyError(f"{what} is not well-formed XML ({exc})") from None


def parse_policy(text: str, origin: str, fragments: dict[str, str] | None = None) -> PolicyDocument:
    """A policy document from its XML, with `<include-fragment>` expanded from `fragments`."""
    root = parse_xml(text, f"the {origin} policy")
    if _tag(root) != "policies":
        raise PolicyError(f"the {origin} policy has root <{_tag(root)}>, not <policies>")
    sections: dict[str, list[ET.Element] | None] = dict.fromkeys(SECTIONS)
    for child in root:
        name = _tag(child)
        if name in sections:
            sections[name] = _expand(list(child), fragments or {}, origin, 0)
    return PolicyDocument(origin, sections)


def _expand(
    elements: list[ET.Element], fragments: dict[str, str], origin: str, depth: int
) -> list[ET.Element]:
    out: list[ET.Element] = []
    for element in elements:
        if _tag(element) != "include-fragment":
            if len(element):
                copy = ET.Element(element.tag, element.attrib)
                copy.text, copy.tail = element.text, element.tail
                copy.extend(_expand(list(element), fragments, origin, depth))
                element = copy
            out.append(element)
            continue
        fragment_id = element.get("fragment-id", "")
        if depth >= _MAX_FRAGMENT_DEPTH:
            raise PolicyError(f"the {origin} policy nests fragments deeper than {depth} levels")
        xml = fragments.get(fragment_id.lower())
        if xml is None:
            raise PolicyError(
                f"the {origin} policy includes fragment {fragment_id!r}, which is not in the inventory"
            )
        root = parse_xml(xml, f"policy fragment {fragment_id!r}")
        out.extend(_expand(list(root), fragments, origin, depth + 1))
    return out


def effective(chain: list[PolicyDocument | None], section: str) -> list[Item]:
    """The elements a request runs in `section`, given the documents from global to most specific.

    `None` in the chain is a scope without a policy document: it inherits its parent whole.
    """
    items: list[Item] = []
    for document in chain:
        if document is None:
            continue
        elements = document.sections.get(section)
        parent, items = items, []
        for element in elements or []:
            if _tag(element) == "base":
                items.extend(parent)
            else:
                items.append(Item(element, document.origin))
    return items


def guaranteed(items: Iterable[Item], names: Iterable[str]) -> Item | None:
    """The first item that applies one of `names` to every request, or None.

    An element applies to every request when it stands at the top of the section, or inside a
    `<choose>` whose every branch (with an `<otherwise>`) applies it.
    """
    wanted = {n.lower() for n in names}
    for item in items:
        if item.tag in wanted or (
            item.tag == "choose" and _choose_guarantees(item.element, wanted)
        ):
            return item
    return None


def _choose_guarantees(choose: ET.Element, wanted: set[str]) -> bool:
    branches = [b for b in choose if _tag(b) in ("when", "otherwise")]
    if not any(_tag(b) == "otherwise" for b in branches):
        return False
    return all(_branch_guarantees(b, wanted) for b in branches)


def _branch_guarantees(branch: ET.Element, wanted: set[str]) -> bool:
    for element in branch:
        tag = _tag(element)
        if tag in wanted or (tag == "choose" and _choose_guarantees(element, wanted)):
            return True
    return False


def walk(items: Iterable[Item]) -> Iterator[Item]:
    """Every element of the section, nested ones included, with its origin."""
    for item in items:
        for element in item.element.iter():
            yield Item(element, item.origin)


def guaranteed_all(items: Iterable[Item], names: Iterable[str]) -> list[Item]:
    """Every item that applies one of `names` to every request (see `guaranteed`)."""
    wanted = {n.lower() for n in names}
    return [
        item
        for item in items
        if item.tag in wanted or (item.tag == "choose" and _choose_guarantees(item.element, wanted))
    ]


def elements_named(item: Item, names: Iterable[str]) -> list[ET.Element]:
    """The elements named in `names` that `item` is or holds (the branches of a `<choose>`)."""
    wanted = {n.lower() for n in names}
    return [e for e in item.element.iter() if _tag(e) in wanted]


def present(items: Iterable[Item], names: Iterable[str]) -> Item | None:
    """The first element named in `names` anywhere in the section (conditional or not)."""
    wanted = {n.lower() for n in names}
    return next((i for i in walk(items) if i.tag in wanted), None)


# ---- the chain of one API ----------------------------------------------------------------------


@dataclass
class RequestPath:
    """One way a request reaches an API: through a product (or none), to an operation."""

    product: str  # product name, or "" for requests without a subscription key
    operation: str  # operation name, or "" for operations without a policy of their own
    chain: list[PolicyDocument | None]
    # Where the effective sections of a chain of shared documents are kept (see `_document`):
    # every rule asks for the same ones.
    memo: dict[tuple[Any, ...], Any] | None = field(default=None, compare=False, repr=False)

    def effective(self, section: str) -> list[Item]:
        if self.memo is None:
            return effective(self.chain, section)
        key = ("effective", section, *map(id, self.chain))
        done = self.memo.get(key)
        if done is None:
            # The documents are kept with their items, so that no id above is reused.
            done = self.memo[key] = (tuple(self.chain), effective(self.chain, section))
        return list(done[1])

    def describe(self) -> str:
        parts = []
        if self.operation:
            parts.append(f"operation {self.operation}")
        parts.append(f"through product {self.product}" if self.product else "without a product")
        return " ".join(parts)


@dataclass
class ApiPolicies:
    """The request paths of one API, and what could not be read on the way."""

    paths: list[RequestPath] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _policy_text(resource) -> str:
    # `value` from API version 2019-01-01 on; 2017-03-01 and 2018-01-01 return `policyContent`.
    text = resource.get("properties.value") or resource.get("properties.policyContent")
    return str(text or "")


def _first_policy(inv, parent, policy_type: str):
    policies = inv.children(parent, policy_type)
    return policies[0] if policies else None


def fragments_of(inv, service) -> dict[str, str]:
    return {f.name.lower(): _policy_text(f) for f in inv.children(service, FRAGMENT)}


_NAMED_VALUE_REF = re.compile(r"\{\{([^{}]*)\}\}")


def named_values_of(inv, service) -> dict[str, str | None]:
    """The service's named values by display name (lower case, as policies write `{{name}}`).

    A secret named value, or one whose value lives in Key Vault, maps to None: ARM does not
    return its value, and prodcheck never asks for it (no listValue call).
    """
    values: dict[str, str | None] = {}
    for named in inv.children(service, NAMED_VALUE):
        value = named.get("properties.value")
        secret = named.get("properties.secret") is True or named.get("properties.keyVault")
        usable = None if secret or not isinstance(value, str) else value
        for key in {named.name, str(named.get("properties.displayName") or "")} - {""}:
            values[key.strip().lower()] = usable
    return values


def resolve_named_values(text: str, named: dict[str, str | None]) -> tuple[str, list[str]]:
    """`text` with each `{{name}}` replaced by its value, and the names that could not be."""
    unresolved: list[str] = []

    def replace(match: re.Match[str]) -> str:
        value = named.get(match.group(1).strip().lower())
        if value is None:
            unresolved.append(match.group(1).strip())
            return match.group(0)
        return value

    return _NAMED_VALUE_REF.sub(replace, text), unresolved


def _document(resource, origin: str, fragments: dict[str, str], errors: list[str], parsed=None):
    """The policy document of `resource`, or None (with the reason in `errors`).

    `parsed` remembers what each (text, origin, fragments) gave: every rule that judges an
    API's policy chain asks for the same documents, and the same policy text recurs across
    services. Only the parsing is remembered; the lookups that found the text are made anew.
    """
    if resource is None:
        return None
    text = _policy_text(resource)
    key = (text, origin, tuple(fragments.items()))
    done = parsed.get(key) if parsed is not None else None
    if done is None:
        try:
            done = parse_policy(text, origin, fragments)
        except PolicyError as exc:
            done = str(exc)
        if parsed is not None:
            parsed[key] = done
    if isinstance(done, str):
        errors.append(done)
        return None
    return done


# Per inventory: what each policy text parsed to (see `_document`). A parsed document is
# shared by the rules that ask for it and is never changed by them.
_PARSED: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()


def _parsed_of(inv) -> dict[tuple[Any, ...], Any]:
    try:
        return _PARSED.setdefault(inv, {})
    except TypeError:  # an inventory that cannot be referred to weakly: parse each time
        return {}


def products_of(inv, service, api) -> list:
    """The products of `service` that contain `api` (matched by API name, any case)."""
    found = []
    for product in inv.children(service, PRODUCT):
        if any(norm(link.name) == norm(api.name) for link in inv.children(product, PRODUCT_API)):
            found.append(product)
    return found


def api_policies(inv, service, api) -> ApiPolicies:
    """Every request path of `api`, with the policy chain that applies on it (worked out once
    per inventory: every APIM rule asks; see `Inventory.recall`). Not to be changed."""
    return inv.recall(
        ("api policies", service.key, api.key),
        partial(_api_policies, inv, service, api),
        service,
        api,
    )


def _api_policies(inv, service, api) -> ApiPolicies:
    result = ApiPolicies()
    fragments = fragments_of(inv, service)
    errors = result.errors
    parsed = _parsed_of(inv)
    global_doc = _document(
        _first_policy(inv, service, GLOBAL_POLICY), "global", fragments, errors, parsed
    )
    api_doc = _document(
        _first_policy(inv, api, API_POLICY), f"API {api.name}", fragments, errors, parsed
    )

    products: list[tuple[str, PolicyDocument | None]] = []
    for product in products_of(inv, service, api):
        doc = _document(
            _first_policy(inv, product, PRODUCT_POLICY),
            f"product {product.name}",
            fragments,
            errors,
            parsed,
        )
        products.append((product.name, doc))
    # Without a subscription key no product applies; that is possible when the API does not
    # require one, and it is the only path when the API is in no product.
    if not products or api.get("properties.subscriptionRequired", True) is False:
        products.append(("", None))

    operations: list[tuple[str, PolicyDocument | None]] = []
    plain_operation = False
    all_operations = inv.children(api, OPERATION)
    for operation in all_operations:
        policy = _first_policy(inv, operation, OPERATION_POLICY)
        if policy is None:
            plain_operation = True
            continue
        doc = _document(policy, f"operation {operation.name}", fragments, errors, parsed)
        operations.append((operation.name, doc))
    if plain_operation or not all_operations:
        operations.insert(0, ("", None))

    for product_name, product_doc in products:
        for operation_name, operation_doc in operations:
            result.paths.append(
                RequestPath(
                    product_name,
                    operation_name,
                    [global_doc, product_doc, api_doc, operation_doc],
                    parsed,
                )
            )
    return result


def current_apis(inv, service) -> list:
    """The APIs of `service`, without non-current revisions."""
    return [
        a for a in inv.children(service, API) if a.get("properties.isCurrent", True) is not False
    ]
