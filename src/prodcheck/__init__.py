"""prodcheck: a production-readiness auditor for Azure workloads."""

__version__ = "0.1.0"
