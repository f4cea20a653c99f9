"""prodcheck: a production-readiness auditor for Azure workloads."""

__version__ = "0.1.0"

# The names a rule author needs; importing them costs nothing heavy (no Azure SDK).
from prodcheck.inventory import Inventory, Resource  # noqa: E402
from prodcheck.model import Finding, Severity, Status  # noqa: E402
from prodcheck.rule import Params, rule  # noqa: E402

__all__ = [
    "Finding",
    "Inventory",
    "Params",
    "Resource",
    "Severity",
    "Status",
    "__version__",
    "rule",
]
