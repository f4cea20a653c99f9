"""What a live collection is asked to do: scope, credentials, endpoint and pacing.

Plain data with no Azure SDK import, so that the CLI can build it cheaply.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

# Default requests in flight per subscription read, and at most per collecting process (see
# `caps`).
PER_SUBSCRIPTION = 8
MAX_CONCURRENCY = 64
# And at most this many in all by default, however many processes collect: each request in
# flight holds a connection to Resource Manager, and a host behind Azure's default outbound
# access or a small NAT allocation has about a thousand source ports for one destination.
MAX_CONCURRENCY_IN_ALL = 256
# By default one collecting process per this many subscriptions, at most one more than the CPUs
# (see `processes`): one process keeps up with about ten subscriptions read at ARM's pace.
SUBSCRIPTIONS_PER_PROCESS = 8

AUTH_MODES = ("default", "cli", "env", "managed-identity", "workload-identity")


# The metrics window: a week by default; the Metrics API keeps 93 days.
DEFAULT_METRICS_WINDOW = 7 * 86400.0
MAX_METRICS_WINDOW = 93 * 86400.0
_WINDOW = re.compile(
    r"^\s*(?:(\d{1,4})\s*([dh])|P(\d{1,4})D|PT(\d{1,5})H)\s*$", re.IGNORECASE | re.ASCII
)


def parse_metrics_window(text: str | int | float, where: str = "--metrics-window") -> float:
    """Seconds of a metrics window written `7d`, `36h`, `P7D` or `PT36H` (a bare number is
    days); from one hour to 93 days. A UserError naming `where` otherwise."""
    from prodcheck.errors import UserError

    seconds: float | None = None
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text) * 86400.0 if math.isfinite(text) else None
    elif isinstance(text, str):
        match = _WINDOW.match(text)
        if match:
            number, unit, days, hours = match.groups()
            if number is not None:
                seconds = int(number) * (86400.0 if unit.lower() == "d" else 3600.0)
            elif days is not None:
                seconds = int(days) * 86400.0
            else:
                seconds = int(hours) * 3600.0
        elif text.strip().isdigit():
            seconds = int(text.strip()) * 86400.0
    if seconds is None or not 3600.0 <= seconds <= MAX_METRICS_WINDOW:
        raise UserError(
            f"{where}: {str(text)[:40]!r} is not a metrics window: write a duration from 1h to "
            "93d, such as 7d, 36h or P7D"
        )
    return seconds


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system says), at least 1."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return max(1, len(affinity(0)))
        except OSError:
            pass
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Cloud:
    """An Azure cloud: where Resource Manager answers and who issues its tokens."""

    name: str
    arm_endpoint: str
    credential_scope: str
    authority_host: str


CLOUDS: dict[str, Cloud] = {
    "public": Cloud(
        "public",
        "https://management.azure.com",
        "https://management.azure.com/.default",
        "login.microsoftonline.com",
    ),
    "usgov": Cloud(
        "usgov",
        "https://management.usgovcloudapi.net",
        "https://management.usgovcloudapi.net/.default",
        "login.microsoftonline.us",
    ),
    "china": Cloud(
        "china",
        "https://management.chinacloudapi.cn",
        "https://management.chinacloudapi.cn/.default",
        "login.chinacloudapi.cn",
    ),
}

# A custom Resource Manager endpoint (Azure Stack Hub, a proxy, a test double) and its token scope.
ENV_ARM_ENDPOINT = "PRODCHECK_ARM_ENDPOINT"
ENV_CREDENTIAL_SCOPE = "PRODCHECK_TOKEN_SCOPE"


@dataclass
class CollectOptions:
    """Options of one live collection (see docs/live-audit.md)."""

    # Subscription ids; empty means the Azure CLI's default subscription.
    subscriptions: list[str] = field(default_factory=list)
    # Every subscription the identity can read, or the descendants of a management group,
    # minus these (instead of `subscriptions`).
    all_subscriptions: bool = False
    management_group: str | None = None
    exclude_subscriptions: list[str] = field(default_factory=list)
    # Resource group names; empty means the whole subscription.
    resource_groups: list[str] = field(default_factory=list)
    # Keep only top-level resources carrying all of these tags (children follow their parent).
    tags: dict[str, str] = field(default_factory=dict)
    # cli | env | managed-identity | workload-identity | default (DefaultAzureCredential).
    auth: str = "default"
    tenant: str | None = None
    # public | usgov | china
    cloud: str = "public"
    # Custom Resource Manager endpoint; PRODCHECK_ARM_ENDPOINT when None.
    arm_endpoint: str | None = None
    # Token scope; derived from the cloud or the custom endpoint when None
    # (PRODCHECK_TOKEN_SCOPE overrides the derivation).
    credential_scope: str | None = None
    # An azure-core TokenCredential to use instead of building one from `auth`.
    credential: Any | None = None
    # CA bundle path, or False to skip verification; None keeps the HTTP stack's own settings
    # (REQUESTS_CA_BUNDLE and the system store).
    connection_verify: str | bool | None = None
    # Requests in flight at once, across all subscriptions; None: 8 per subscription read, at
    # most 64 per collecting process and 256 in all (see `caps`).
    concurrency: int | None = None
    # Requests in flight at once in any one subscription; None: see `caps`.
    subscription_concurrency: int | None = None
    # Processes that collect, each reading its share of the subscriptions; None: see
    # `processes`. 1 reads everything in this process.
    collect_processes: int | None = None
    # No progress display on stderr.
    quiet: bool = False
    # Retries of one request on 408/429/5xx and connection errors (azure-core RetryPolicy).
    retry_total: int = 4
    # Seconds each attempt waits for a connection and for each read of the answer.
    timeout: float = 60.0
    # Seconds the whole collection may take; reads still open then fail (DeadlineExceeded).
    # None: no deadline.
    deadline: float | None = 3600.0
    # Longest Retry-After honoured; a longer one fails the read at once (RetryAfterTooLong).
    max_retry_after: float = 60.0
    # Pages read of one collection at most; a list going on beyond fails (PageLimitExceeded).
    max_pages: int = 10_000
    # Exponential backoff base between retries, in seconds (Retry-After wins when present).
    retry_backoff: float = 0.8
    # Client-side token bucket per subscription: ARM allows each principal a burst of 250 reads
    # per subscription, refilled at 25 per second. 0 disables the limiter.
    rate_limit: float = 25.0
    rate_burst: int = 250
    # List top-level resources through Azure Resource Graph: "auto" (for a tenant-wide scope or
    # 5 subscriptions and more), "always" or "never". See collect/resource_graph.py.
    resource_graph: str = "auto"
    # Show the progress display even when stderr is not a terminal (None: only on a terminal).
    progress: bool | None = None
    # Seconds of Azure Monitor metrics the metric rules judge, ending when collection starts.
    metrics_window: float = DEFAULT_METRICS_WINDOW

    def caps(self, subscriptions: int, processes: int = 1) -> tuple[int, int]:
        """The requests in flight at once (across all subscriptions, in any one of them) when
        reading `subscriptions` subscriptions in `processes` collecting processes.

        By default 8 per subscription, at most 64 per collecting process (and 256 in all), and
        each subscription at most 8 (and at most half of the whole when there are several), so
        that every subscription can run at ARM's pace while none can hold every worker. The
        bound is per process because each process has its own threads and its own share of the
        subscriptions: a process reading 25 subscriptions at ARM's pace (625 reads a second)
        needs about 60 requests in flight at 100 ms an answer, and 64 shared by two such
        processes left each one waiting on its answers with CPU to spare.
        """
        total = self.concurrency
        if total is None:
            per_process = MAX_CONCURRENCY * max(1, processes)
            total = min(
                per_process, MAX_CONCURRENCY_IN_ALL, PER_SUBSCRIPTION * max(1, subscriptions)
            )
        total = max(1, total)
        if self.subscription_concurrency is not None:
            return total, max(1, min(self.subscription_concurrency, total))
        if subscriptions <= 1:
            return total, total
        return total, max(1, min(PER_SUBSCRIPTION, total // 2))

    def processes(self, subscriptions: int, cpus: int | None = None) -> int:
        """The processes that collect `subscriptions` subscriptions.

        A subscription is read by one process only (ARM paces each principal per
        subscription), so never more processes than subscriptions, nor than requests in flight
        in all. By default one process per 8 subscriptions, at most one more than the CPUs this
        process may run on: a process spends its own CPU time on every request (TLS, HTTP,
        JSON), and Python runs one thread of a process at a time, so one process uses one CPU
        at most; and less than that, since its threads wait to hand the interpreter to one
        another (at 50 subscriptions on two CPUs, three processes took about a seventh off the
        wall time of two, and four were slower than three).
        """
        wanted = self.collect_processes
        if wanted is None:
            if cpus is None:
                cpus = available_cpus()
            wanted = min(cpus + 1, subscriptions // SUBSCRIPTIONS_PER_PROCESS)
        if os.name == "nt":  # the workers talk over an inherited socket: POSIX only
            wanted = 1
        total, _ = self.caps(subscriptions, max(1, wanted))
        return max(1, min(wanted, subscriptions, total))

    def resolved_cloud(self) -> Cloud:
        """The cloud with the custom endpoint and scope applied."""
        base = CLOUDS.get((self.cloud or "public").lower())
        if base is None:
            from prodcheck.errors import UserError

            raise UserError(
                f"unknown cloud {self.cloud!r}: use one of {', '.join(CLOUDS)}, or give a custom "
                f"Resource Manager endpoint with --arm-endpoint (or {ENV_ARM_ENDPOINT})"
            )
        endpoint = (self.arm_endpoint or os.environ.get(ENV_ARM_ENDPOINT) or "").strip()
        scope = (self.credential_scope or os.environ.get(ENV_CREDENTIAL_SCOPE) or "").strip()
        if endpoint:
            endpoint = endpoint.rstrip("/")
            scope = scope or endpoint + "/.default"
            return Cloud(base.name, endpoint, scope, base.authority_host)
        return Cloud(
            base.name, base.arm_endpoint, scope or base.credential_scope, base.authority_host
        )
