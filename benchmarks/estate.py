"""Synthetic estates for the offline-audit benchmark: the demo workloads, replicated.

`replicate(n)` returns a snapshot of about `n` resources made of copies of the two built-in
demo inventories (the hardened production deployment and the flat development one, about four
hardened copies to one flat), each copy in a resource group of its own, fifty resource groups to
a subscription. Every id, name, host name and resource group of a copy is renamed, so that the
cross-references of a copy (alerts scoped to its resources, private endpoints, gateway backends,
Key Vault references) point inside that copy and nowhere else, as in a landing zone of many
workloads. Deterministic for a given `n`.

    python benchmarks/estate.py 10000 -o /tmp/estate-10000.json
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEMOS = ROOT / "src" / "prodcheck" / "demos"

SUBSCRIPTION = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7d9c0a11"
COPIES_PER_SUBSCRIPTION = 50

# (demo file, its resource group, its name token, its environment's domain): every place a copy
# must differ.
_HARDENED = ("hardened.json", "rg-artagent-prod", "p5h2n8wd", "calmwave-5d2c81e7")
_FLAT = ("flat.json", "rg-artagent-dev", "k3x9p2qa", "gentlesky-41b07c9e")
_DEMOS = (_HARDENED, _HARDENED, _HARDENED, _HARDENED, _FLAT)
# The hardened virtual network's address space: each copy in a subscription gets its own /16
# (spokes of one subscription do not overlap; separate subscriptions may).
_ADDRESS = re.compile(r"\b10\.40\.")
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_ROLE_DEFINITION = re.compile(r"roleDefinitions/([0-9a-f-]{36})", re.IGNORECASE)
_TENANT = "3e9f2d41-7b6a-4c8d-9e0f-1a2b3c4d5e6f"


def _own_guids(text: str, index: int) -> str:
    """Every GUID of a copy made its own (principal and client ids, role assignment names),
    except the tenant, the subscription and role definitions, which copies share."""
    shared = {SUBSCRIPTION, _TENANT, *(m.lower() for m in _ROLE_DEFINITION.findall(text))}

    def own(match: re.Match[str]) -> str:
        guid = match.group(0)
        return guid if guid.lower() in shared else f"{guid[:-5]}{index:05x}"

    return _GUID.sub(own, text)


def _subscription(index: int) -> str:
    """A subscription id per block of copies (the demo's own for the first block)."""
    block = index // COPIES_PER_SUBSCRIPTION
    return SUBSCRIPTION if block == 0 else f"{block:08x}-3d4a-4c8e-9b1a-2e5f7d9c0a11"


def _texts() -> list[tuple[str, re.Pattern[str], re.Pattern[str], str]]:
    out = []
    for file, group, token, domain in _DEMOS:
        data = json.loads((DEMOS / file).read_text(encoding="utf-8"))
        out.append(
            (
                json.dumps(data["resources"]),
                re.compile(re.escape(group), re.IGNORECASE),
                re.compile(re.escape(token), re.IGNORECASE),
                domain,
            )
        )
    return out


def replicate(n: int) -> dict[str, Any]:
    """A snapshot of copies of the demo workloads, with at least `n` resources (n >= 1)."""
    texts = _texts()
    resources: list[dict[str, Any]] = []
    subscriptions: list[str] = []
    seen: set[str] = set()
    index = 0
    while len(resources) < n:
        text, group, token, domain = texts[index % len(texts)]
        subscription = _subscription(index)
        if subscription not in subscriptions:
            subscriptions.append(subscription)
        # Names keep the token's length class (letters and digits only) so that they stay
        # valid storage, vault and registry names.
        copy = _own_guids(text, index)
        copy = token.sub(lambda m, i=index: f"{m.group(0)[:4]}{i:05d}", copy)
        copy = group.sub(lambda m, i=index: f"{m.group(0)}-{i:05d}", copy)
        copy = copy.replace(SUBSCRIPTION, subscription).replace(domain, f"{domain}{index:05d}")
        copy = _ADDRESS.sub(f"10.{40 + index % COPIES_PER_SUBSCRIPTION}.", copy)
        for resource in json.loads(copy):
            # Subscription-level resources (role definitions) are shared by the copies there.
            key = str(resource.get("id", "")).lower()
            if key not in seen:
                seen.add(key)
                resources.append(resource)
        index += 1
    return {
        "format": "prodcheck.snapshot/v1",
        "scope": {"subscriptions": subscriptions, "resourceGroups": [], "tags": {}},
        "resources": resources,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    args.output.write_text(json.dumps(replicate(args.n)), encoding="utf-8")


if __name__ == "__main__":
    main()
