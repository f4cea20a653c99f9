"""Live collection: read a subscription through the Azure management SDKs into a snapshot.

Importing this package imports no Azure SDK (they cost over a second); they load when a
collection starts. See docs/live-audit.md for running it and docs/snapshot-format.md for
what it produces.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from prodcheck.collect.options import CollectOptions

__all__ = ["CollectOptions", "collect_snapshot"]


def collect_snapshot(options: CollectOptions, needs: Collection[str]) -> dict[str, Any]:
    """Collect the resources of the types in `needs` (ARM types, any case) as a snapshot v1.

    A child type (`Microsoft.ApiManagement/service/apis/policies`) brings its parent chain;
    `Microsoft.Insights/diagnosticSettings` means the diagnostic settings of every collected
    top-level resource that can have them. Reads are GET only; each collection is read once.

    Raises `prodcheck.errors.UserError` for a bad option or a credential that cannot get a
    token. Any read that fails (403, 404, throttling beyond the retries, a timeout, a malformed
    page) is recorded as a `failed` coverage record instead, and collection goes on.
    """
    from prodcheck.collect.engine import collect
    from prodcheck.collect.scrub import scrub_snapshot

    snapshot, _stats = collect(options, needs)
    return scrub_snapshot(snapshot)
