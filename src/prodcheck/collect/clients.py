"""The Azure management SDK clients of one collection, and the pipeline they share.

Every client is built with the same explicit azure-core policy list, so that all of them:

- talk to the configured Resource Manager endpoint with the configured token scope;
- send the bearer token nowhere but that endpoint: a request to any other scheme, host or
  port (a `nextLink` or a redirect pointing elsewhere) is refused before the authentication
  policy adds the token, and the read fails;
- retry 408/429/5xx and connection errors a bounded number of times, honouring a Retry-After
  up to a cap (a longer one fails the read at once), within the collection's deadline;
- wait at most `timeout` seconds for a connection and for each read of an attempt;
- pass every attempt through prodcheck's read-only guard (GET only, plus the Resource Graph
  query POST and no other; never a listKeys-style action) and the per-subscription token
  bucket;
- never auto-register a resource provider (the default ARM pipeline would POST a registration
  on a 409 MissingSubscriptionRegistration: a write, which an audit must not do);
- share one HTTP transport (`transport.ArmTransport`: one connection kept per request that can
  be in flight), one credential and the trust settings of the HTTP stack (HTTPS_PROXY, NO_PROXY
  and REQUESTS_CA_BUNDLE keep working when no CA is given);
- carry no policy that does nothing for a collection (per-call headers, proxies and hooks,
  tracing, HTTP body logging): each costs time on every request.

SDK modules are imported here, on first use, never at package import.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError
from azure.core.pipeline.policies import (
    ContentDecodePolicy,
    HTTPPolicy,
    RedirectPolicy,
    RetryPolicy,
    SansIOHTTPPolicy,
    SensitiveHeaderCleanupPolicy,
    UserAgentPolicy,
)
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy

from prodcheck import __version__
from prodcheck.collect.bounds import (
    Deadline,
    ForeignEndpoint,
    RetryAfterTooLong,
    origin,
    origin_prefixes,
    plain_path,
    show_origin,
)
from prodcheck.collect.limiter import RateLimiter, retry_after_seconds
from prodcheck.collect.options import MAX_CONCURRENCY, Cloud, CollectOptions
from prodcheck.collect.transport import ArmTransport

# client key -> (module, class). The catalog names clients by these keys.
SDK_CLIENTS: dict[str, tuple[str, str]] = {
    "network": ("azure.mgmt.network", "NetworkManagementClient"),
    "apimanagement": ("azure.mgmt.apimanagement", "ApiManagementClient"),
    "appcontainers": ("azure.mgmt.appcontainers", "ContainerAppsAPIClient"),
    "monitor": ("azure.mgmt.monitor", "MonitorManagementClient"),
    "keyvault": ("azure.mgmt.keyvault", "KeyVaultManagementClient"),
    "redis": ("azure.mgmt.redis", "RedisManagementClient"),
    "cosmosdb": ("azure.mgmt.cosmosdb", "CosmosDBManagementClient"),
    "cognitiveservices": (
        "azure.mgmt.cognitiveservices",
        "CognitiveServicesManagementClient",
    ),
    "resources": ("azure.mgmt.resource.resources", "ResourceManagementClient"),
    "resourcegraph": ("azure.mgmt.resourcegraph", "ResourceGraphClient"),
}
# The one request that is not a GET: a Resource Graph query, which reads (see resource_graph.py).
_QUERY_POST = "/providers/microsoft.resourcegraph/resources"

# Actions that return secrets or change state. None is ever requested; the guard makes sure.
_FORBIDDEN_ACTIONS = re.compile(
    r"/(list\w*keys?|list\w*secrets?|list\w*credentials?|listconnectionstrings?|listvalue|"
    r"regenerate\w*|getsecrets?)$",
    re.IGNORECASE,
)
_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)


class ReadOnlyViolation(AzureError):
    """A request prodcheck must never send (a write, or an action that returns secrets)."""


class RequestStats:
    """Counts of the HTTP attempts of a collection (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.throttled = 0

    def add(self, throttled: bool = False) -> None:
        with self._lock:
            self.requests += 1
            if throttled:
                self.throttled += 1


_capture = threading.local()


@contextlib.contextmanager
def capture_responses() -> Iterator[list[Any]]:
    """Collect the successful HTTP responses this thread receives inside the block.

    The SDKs deserialize ARM's JSON into models; the snapshot wants the JSON itself, exactly as
    ARM sent it (old-style models reformat timestamps and drop fields they do not know). The SDK
    still builds the requests and follows the pages; prodcheck keeps the bodies it received.
    """
    previous = getattr(_capture, "sink", None)
    sink: list[Any] = []
    _capture.sink = sink
    try:
        yield sink
    finally:
        _capture.sink = previous


class ClientRequestIdPolicy(SansIOHTTPPolicy):
    """Gives each request an `x-ms-client-request-id` (a random UUID), as azure-core's
    RequestIdPolicy does, without its time-based UUID: that one takes a lock and a clock read and
    cost about 5 % of the client's time per request."""

    def on_request(self, request: Any) -> None:
        headers = request.http_request.headers
        if "x-ms-client-request-id" not in headers:
            headers["x-ms-client-request-id"] = str(uuid.uuid4())


class Planned(Exception):  # noqa: N818 - not an error: the request an SDK call would send
    """Raised instead of sending inside `plan_request()`: carries the URL of the GET an SDK
    call would send. Not an `AzureError`, so that no policy retries it."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


@contextlib.contextmanager
def plan_request() -> Iterator[None]:
    """Inside the block, the first GET this thread would send through a client's pipeline is
    not sent: the guard raises `Planned` with its URL (after the endpoint and read-only checks,
    before the rate limiter). Anything but a plain GET is refused as it always is.

    An SDK call builds its request exactly as it would send it (path, api-version, query);
    sending that URL through `engine.rest_pages` then reads the pages without the SDK turning
    each one into models, which prodcheck would throw away for the JSON as ARM sent it.
    """
    previous = getattr(_capture, "plan", False)
    _capture.plan = True
    try:
        yield
    finally:
        _capture.plan = previous


class EndpointPolicy(HTTPPolicy):
    """Lets a request through only to the Resource Manager endpoint (scheme, host and port).

    It sits before the authentication policy, so a request bound anywhere else (a `nextLink` or
    a redirect naming another host) is refused before it carries the bearer token; it is never
    sent at all.
    """

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self._endpoint = endpoint
        self._origin = origin(endpoint)
        self._prefixes = origin_prefixes(endpoint)

    def send(self, request: Any) -> Any:
        url = request.http_request.url
        if plain_path(url, self._prefixes) is None and (
            self._origin is None or origin(url) != self._origin
        ):
            raise ForeignEndpoint(
                f"refused to send a request to {show_origin(url)}, which is not the Resource "
                f"Manager endpoint {show_origin(self._endpoint)}: a nextLink or redirect pointed "
                "there, and the bearer token goes to the endpoint only"
            )
        return self.next.send(request)


class BoundedRetryPolicy(RetryPolicy):
    """azure-core's RetryPolicy, but a Retry-After beyond the cap fails the read instead of
    being waited out, and no wait runs past the collection's deadline."""

    def __init__(self, max_retry_after: float, deadline: Deadline, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_retry_after = max_retry_after
        self._deadline = deadline

    def _is_method_retryable(
        self, settings: dict[str, Any], request: Any, response: Any = None
    ) -> bool:
        """azure-core retries no POST on a 429; a Resource Graph query reads, and Resource Graph
        answers 429 once the user's query quota is spent (by another process or tool sharing
        the identity, whose queries this process's quota count does not see): retried after
        the reset it names, like a GET, rather than given up at once."""
        if (
            response is not None
            and getattr(response, "status_code", 0) == 429
            and str(request.method).upper() == "POST"
            and urlsplit(request.url).path.lower() == _QUERY_POST
        ):
            return True
        return bool(super()._is_method_retryable(settings, request, response=response))

    def get_retry_after(self, response: Any) -> float | None:
        """Retry-After, or on a 429 from Resource Graph the quota reset it names."""
        wait = super().get_retry_after(response)
        if wait is None and getattr(response.http_response, "status_code", 0) == 429:
            from prodcheck.collect.resource_graph import quota_reset_seconds

            headers = response.http_response.headers
            wait = quota_reset_seconds(headers.get("x-ms-user-quota-resets-after"))
        return wait

    def sleep(self, settings: Any, transport: Any, response: Any = None) -> None:
        wait = self.get_retry_after(response) if response is not None else None
        if wait and wait > self._max_retry_after:
            status = int(getattr(response.http_response, "status_code", 0) or 0)
            raise RetryAfterTooLong(
                f"HTTP {status} asked to retry after {wait:g} s, longer than the "
                f"{self._max_retry_after:g} s prodcheck waits (max_retry_after): not retried",
                status,
            )
        if not wait:
            wait = self.get_backoff_time(settings)
        if wait > self._deadline.remaining():
            raise self._deadline.exceeded(f"a retry {wait:g} s later")
        super().sleep(settings, transport, response)


class GuardPolicy(HTTPPolicy):
    """Refuses anything but a plain read (a GET, or the POST of a Resource Graph query), keeps
    every attempt within the timeout and the deadline, and paces every attempt through the
    rate limiter."""

    def __init__(
        self,
        limiter: RateLimiter,
        stats: RequestStats,
        deadline: Deadline,
        timeout: float,
        endpoint: str = "",
    ) -> None:
        super().__init__()
        self._prefixes = origin_prefixes(endpoint) if endpoint else ()
        self._limiter = limiter
        self._stats = stats
        self._deadline = deadline
        self._timeout = timeout

    def send(self, request: Any) -> Any:
        http_request = request.http_request
        path = plain_path(http_request.url, self._prefixes)
        if path is None:
            path = urlsplit(http_request.url).path
        method = http_request.method.upper()
        query_post = method == "POST" and path.lower() == _QUERY_POST
        if (method != "GET" and not query_post) or _FORBIDDEN_ACTIONS.search(path.rstrip("/")):
            raise ReadOnlyViolation(
                f"prodcheck is read-only and refused to send {http_request.method} {path}"
            )
        if method == "GET" and getattr(_capture, "plan", False):
            raise Planned(http_request.url)
        match = _SUBSCRIPTION.match(path)
        subscription = match.group(1).lower() if match else ""
        self._limiter.acquire(subscription, self._deadline)
        remaining = self._deadline.remaining()
        if remaining <= 0:
            raise self._deadline.exceeded("this read was sent")
        # Each attempt waits at most `timeout` for a connection and for each read, and never
        # past the deadline.
        request.context.options["connection_timeout"] = min(self._timeout, remaining)
        request.context.options["read_timeout"] = min(self._timeout, remaining)
        response = self.next.send(request)
        status = response.http_response.status_code
        self._stats.add(throttled=status == 429)
        if status == 429:
            self._limiter.pause(subscription, retry_after_seconds(response.http_response.headers))
        sink = getattr(_capture, "sink", None)
        if sink is not None and status == 200:
            sink.append(response)  # its context gets the JSON the pipeline parses from it
        return response


def pool_size(options: CollectOptions) -> int:
    """Connections kept open per host: one for each request that can be in flight (a pool
    smaller than that would close a connection after most requests, and the next one would pay
    a new TLS handshake), and a couple for the Resource Graph listing."""
    return max(10, (options.concurrency or MAX_CONCURRENCY) + 2)


def _session(options: CollectOptions) -> Any:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    class Session(requests.Session):
        """A session that reads the environment's proxy and CA settings (HTTPS_PROXY, NO_PROXY,
        REQUESTS_CA_BUNDLE) once per host rather than once per request, and never ~/.netrc:
        ARM takes the bearer token, and a netrc entry's Basic credentials would replace it.
        Looking them up again costs about half a millisecond per request."""

        def __init__(self) -> None:
            super().__init__()
            self.auth = lambda request: request  # no netrc lookup: the token is in the headers
            self._environment: dict[Any, dict[str, Any]] = {}

        def merge_environment_settings(
            self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
        ) -> Any:
            if proxies:  # proxies given for one request: nothing to share
                return super().merge_environment_settings(url, proxies, stream, verify, cert)
            parts = urlsplit(str(url))
            key = (parts.scheme, parts.netloc, stream, verify, cert)
            try:
                found = self._environment.get(key)
            except TypeError:  # an unhashable setting: look it up as requests does
                return super().merge_environment_settings(url, proxies, stream, verify, cert)
            if found is None:
                found = self._environment[key] = super().merge_environment_settings(
                    url, proxies, stream, verify, cert
                )
            return dict(found, proxies=dict(found["proxies"]))

    session = Session()
    # Retries belong to azure-core's RetryPolicy; the adapter must not retry on its own.
    adapter = HTTPAdapter(
        pool_connections=4,
        pool_maxsize=pool_size(options),
        max_retries=Retry(total=False, redirect=False, raise_on_status=False),
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class Clients:
    """Lazily built SDK clients, one per (SDK, subscription), over one shared transport."""

    def __init__(
        self,
        credential: Any,
        cloud: Cloud,
        options: CollectOptions,
        limiter: RateLimiter,
        stats: RequestStats,
        deadline: Deadline | None = None,
    ) -> None:
        self._credential = credential
        self.deadline = deadline or Deadline(options.deadline)
        self._cloud = cloud
        self._options = options
        self._limiter = limiter
        self._stats = stats
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._session = _session(options)
        transport_kwargs: dict[str, Any] = {
            "session": self._session,
            "connection_timeout": options.timeout,
            "read_timeout": options.timeout,
        }
        if options.connection_verify is not None:
            transport_kwargs["connection_verify"] = options.connection_verify
        self._transport = ArmTransport(pool_size=pool_size(options), **transport_kwargs)
        from prodcheck.collect.resource_graph import Quota

        self.graph_quota = Quota(options.max_retry_after, self.deadline)

    def _policies(self, sdk: str) -> list[Any]:
        o = self._options
        paced: list[Any] = []
        if sdk == "resourcegraph":
            from prodcheck.collect.resource_graph import QuotaPolicy

            paced.append(QuotaPolicy(self.graph_quota))
        # Only the policies that do something for a collection: no per-call headers, proxies,
        # hooks, tracing spans or HTTP body logging are ever asked for (the environment's proxy
        # is the transport's), so their policies would only cost time on every request.
        return [
            ClientRequestIdPolicy(),
            UserAgentPolicy(user_agent=f"prodcheck/{__version__}", sdk_moniker=f"mgmt-{sdk}"),
            ContentDecodePolicy(),
            RedirectPolicy(),
            BoundedRetryPolicy(
                o.max_retry_after,
                self.deadline,
                retry_total=o.retry_total,
                retry_connect=o.retry_total,
                retry_read=o.retry_total,
                retry_status=o.retry_total,
                retry_backoff_factor=o.retry_backoff,
                retry_backoff_max=max(o.retry_backoff * 8, 1.0),
            ),
            EndpointPolicy(self._cloud.arm_endpoint),
            *paced,
            GuardPolicy(
                self._limiter, self._stats, self.deadline, o.timeout, self._cloud.arm_endpoint
            ),
            ARMChallengeAuthenticationPolicy(self._credential, self._cloud.credential_scope),
            SensitiveHeaderCleanupPolicy(),
            ARMHttpLoggingPolicy(),
        ]

    def get(self, sdk: str, subscription: str) -> Any:
        key = (sdk, subscription.lower())
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                module_name, class_name = SDK_CLIENTS[sdk]
                cls: Callable[..., Any] = getattr(importlib.import_module(module_name), class_name)
                client = cls(
                    self._credential,
                    subscription,
                    base_url=self._cloud.arm_endpoint,
                    credential_scopes=[self._cloud.credential_scope],
                    policies=self._policies(sdk),
                    transport=self._transport,
                )
                self._clients[key] = client
            return client

    def graph(self) -> Any:
        """The Resource Graph client (tenant-level: it takes no subscription)."""
        key = ("resourcegraph", "")
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                module_name, class_name = SDK_CLIENTS["resourcegraph"]
                cls: Callable[..., Any] = getattr(importlib.import_module(module_name), class_name)
                client = cls(
                    self._credential,
                    base_url=self._cloud.arm_endpoint,
                    credential_scopes=[self._cloud.credential_scope],
                    policies=self._policies("resourcegraph"),
                    transport=self._transport,
                )
                self._clients[key] = client
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                with contextlib.suppress(Exception):  # must not hide the collection's outcome
                    client.close()
            self._clients.clear()
        self._transport.close_routes()
        self._session.close()
