"""The HTTP transport of a live collection: azure-core's requests transport, with a short way
for the requests a collection sends.

`requests.Session` redoes per request what never changes within a collection: it merges the
session's settings, cookies and hooks into a prepared request, parses and re-quotes the URL,
looks the CA bundle up on disk, works out the proxy and the connection pool, and prepares the
next request of a redirect it will not follow. Through the fake ARM that is about a third of the
client's CPU time per request. `ArmTransport` works the route out once per (scheme, host, port)
and TLS setting — the environment's proxy and CA settings as requests reads them, the CA loaded
once into one TLS context — and sends each request on that route's urllib3 connection pool
itself: the same request line, headers (requests' defaults: keep-alive, gzip), body, timeouts
and TLS verification, the answer read and decoded by a `requests.Response` as before, and every
error mapped to the azure-core error requests' transport gives (a timeout, a refused
connection, a truncated body), so that retries and coverage records are unchanged.

Anything out of the ordinary takes requests' own way: a route through a proxy (HTTPS_PROXY and
NO_PROXY as requests reads them), TLS verification turned off, a client certificate, a
streamed or multipart body, a streamed answer, options requests' transport knows and this one
does not.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from azure.core.exceptions import (
    HttpResponseError,
    IncompleteReadError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline._tools import handle_non_stream_rest_response, is_rest
from azure.core.pipeline.transport import RequestsTransport
from azure.core.pipeline.transport._requests_basic import RequestsTransportResponse
from azure.core.rest._requests_basic import RestRequestsTransportResponse
from requests.structures import CaseInsensitiveDict
from requests.utils import (
    DEFAULT_CA_BUNDLE_PATH,
    check_header_validity,
    extract_zipped_paths,
    get_encoding_from_headers,
    requote_uri,
    select_proxy,
)
from urllib3 import HTTPSConnectionPool, Timeout
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import InvalidHeader as Urllib3InvalidHeader
from urllib3.exceptions import ProxyError as Urllib3ProxyError
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.util.retry import Retry
from urllib3.util.ssl_ import create_urllib3_context

# The keyword arguments of a send that the short way knows; any other takes requests' way.
_KNOWN = frozenset(
    {"connection_timeout", "read_timeout", "connection_verify", "connection_cert", "stream"}
)
# Retries belong to azure-core's RetryPolicy; urllib3 must not retry or follow redirects.
_NO_RETRIES = Retry(total=False, redirect=False, raise_on_status=False)


class _Route:
    """One origin's connection pool, with its TLS context loaded once."""

    def __init__(self, host: str, port: int, verify: str, pool_size: int) -> None:
        context = create_urllib3_context()
        if os.path.isdir(verify):
            context.load_verify_locations(capath=verify)
        else:
            context.load_verify_locations(cafile=verify)
        self.pool = HTTPSConnectionPool(
            host,
            port,
            maxsize=pool_size,
            block=False,
            cert_reqs="CERT_REQUIRED",
            ssl_context=context,
            retries=_NO_RETRIES,
        )


class ArmTransport(RequestsTransport):
    """azure-core's `RequestsTransport` over a shared session, sending the requests a collection
    makes on a route worked out once per origin (see the module's docstring)."""

    def __init__(self, session: requests.Session, *, pool_size: int, **kwargs: Any) -> None:
        super().__init__(session=session, session_owner=False, **kwargs)
        self._pool_size = pool_size
        self._routes: dict[tuple[str, int, object, object], _Route | None] = {}
        self._lock = threading.Lock()

    def send(self, request: Any, *, proxies: Any = None, **kwargs: Any) -> Any:
        route = None
        if not proxies and not kwargs.get("stream") and _KNOWN.issuperset(kwargs):
            route = self._route(request, kwargs)
        if route is None:
            return super().send(request, proxies=proxies, **kwargs)
        return self._send_on(route, request, kwargs)

    def close_routes(self) -> None:
        """Close every route's connections (the session's own are closed with the session)."""
        with self._lock:
            routes, self._routes = list(self._routes.values()), {}
        for route in routes:
            if route is not None:
                route.pool.close()

    # ---- the route of a request

    def _route(self, request: Any, kwargs: Mapping[str, Any]) -> _Route | None:
        if request.files or not isinstance(request.data, bytes | str | None):
            return None
        verify = kwargs.get("connection_verify", self.connection_config.verify)
        cert = kwargs.get("connection_cert", self.connection_config.cert)
        try:
            parts = urlsplit(request.url)
            port = parts.port or 443
        except ValueError:
            return None
        host = parts.hostname
        if parts.scheme.lower() != "https" or not host or "@" in parts.netloc:
            return None
        try:
            key = (host, port, verify, cert)
            hash(key)
        except TypeError:
            return None
        with self._lock:
            if key not in self._routes:
                self._routes[key] = self._new_route(request.url, host, port, verify, cert)
            return self._routes[key]

    def _new_route(self, url: str, host: str, port: int, verify: Any, cert: Any) -> _Route | None:
        """The route to `url`'s origin, or None where requests' own way must be taken."""
        if cert or verify is False:
            return None
        # The environment's proxy and CA settings, exactly as the session reads them.
        settings = self.session.merge_environment_settings(url, {}, False, verify, cert)
        if select_proxy(url, settings.get("proxies") or {}):
            return None
        verify = settings.get("verify", verify)
        if verify is True or verify is None:
            verify = extract_zipped_paths(DEFAULT_CA_BUNDLE_PATH)
        if not isinstance(verify, str) or not os.path.exists(verify):
            return None  # requests says what is wrong with it
        return _Route(host, port, verify, self._pool_size)

    # ---- sending

    def _headers(self, request: Any) -> dict[str, str]:
        """The session's default headers with the request's over them (case-insensitively),
        checked as requests checks them."""
        merged: dict[str, tuple[str, Any]] = {}
        for name, value in self.session.headers.items():
            merged[name.lower()] = (name, value)
        for name, value in request.headers.items():
            merged[name.lower()] = (name, value)
        headers: dict[str, str] = {}
        for name, value in merged.values():
            if value is None:
                continue
            check_header_validity((name, value))
            headers[name] = value
        return headers

    def _send_on(self, route: _Route, request: Any, kwargs: Mapping[str, Any]) -> Any:
        connection_timeout = kwargs.get("connection_timeout", self.connection_config.timeout)
        read_timeout = kwargs.get("read_timeout", self.connection_config.read_timeout)
        parts = urlsplit(request.url)
        target = requote_uri((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        body = request.data
        if isinstance(body, str):
            body = body.encode("utf-8")
        error: Exception | None = None
        response = None
        try:
            response = self._exchange(
                route, request, target, body, Timeout(connect=connection_timeout, read=read_timeout)
            )
            response.content  # noqa: B018 - read the whole answer now, as requests does
        except NewConnectionError as err:
            error = ServiceRequestError(err, error=err)
        except ConnectTimeoutError as err:
            error = ServiceRequestTimeoutError(err, error=err)
        except requests.exceptions.ConnectTimeout as err:
            error = ServiceRequestTimeoutError(err, error=err)
        except requests.exceptions.ReadTimeout as err:
            error = ServiceResponseTimeoutError(err, error=err)
        except requests.exceptions.ConnectionError as err:
            if err.args and isinstance(err.args[0], ProtocolError):
                error = ServiceResponseError(err, error=err)
            else:
                error = ServiceRequestError(err, error=err)
        except requests.exceptions.ChunkedEncodingError as err:
            if "IncompleteRead" in str(err):
                error = IncompleteReadError(err, error=err)
            else:
                error = HttpResponseError(err, error=err)
        except requests.RequestException as err:
            error = ServiceResponseError(err, error=err)
        if error is not None:
            if response is not None:
                response.close()
            raise error
        assert response is not None
        block_size = self.connection_config.data_block_size
        if is_rest(request):
            rest = RestRequestsTransportResponse(
                request=request, internal_response=response, block_size=block_size
            )
            handle_non_stream_rest_response(rest)
            return rest
        return RequestsTransportResponse(request, response, block_size)

    def _exchange(
        self, route: _Route, request: Any, target: str, body: bytes | None, timeout: Timeout
    ) -> requests.Response:
        """Send on the route's pool; urllib3's errors become requests' as its adapter maps them."""
        headers = self._headers(request)
        try:
            raw = route.pool.urlopen(
                method=request.method,
                url=target,
                body=body,
                headers=headers,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                retries=_NO_RETRIES,
                timeout=timeout,
                enforce_content_length=True,
            )
        except (ProtocolError, OSError) as err:
            raise requests.exceptions.ConnectionError(err) from err
        except ClosedPoolError as err:
            raise requests.exceptions.ConnectionError(err) from err
        except Urllib3ProxyError as err:
            raise requests.exceptions.ProxyError(err) from err
        except Urllib3SSLError as err:
            raise requests.exceptions.SSLError(err) from err
        except ReadTimeoutError as err:
            raise requests.exceptions.ReadTimeout(err) from err
        except Urllib3InvalidHeader as err:
            raise requests.exceptions.InvalidHeader(err) from err
        response = requests.Response()
        response.status_code = raw.status
        response.headers = CaseInsensitiveDict(raw.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = raw
        response.reason = raw.reason or ""
        response.url = request.url
        return response
