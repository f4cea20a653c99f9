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

A GET sent on a connection that is open already (every request but the first on each
connection) is written and its answer's head read by a lean reader rather than by urllib3 and
http.client, whose header parsing (through the `email` package) and response objects cost
about a third of what is left per request: the same bytes go out (request line, Host, the
headers in order), the head is read with http.client's limits and errors, and an answer framed
the ordinary way (header lines `name: value`, one Content-Length, no Transfer-Encoding or
Content-Encoding) is read to its length; any other (chunked, compressed, HTTP/1.0, a folded
header line ...) is handed to http.client's and urllib3's responses from the point the head
ends, and read as before. Every error becomes the urllib3 error their way raises, so the
azure-core error is the same. `tests/test_collect_transport.py` reads odd and broken answers
both ways and requires the same outcome.

Anything out of the ordinary takes requests' own way: a route through a proxy (HTTPS_PROXY and
NO_PROXY as requests reads them), TLS verification turned off, a client certificate, a
streamed or multipart body, a streamed answer, options requests' transport knows and this one
does not.
"""

from __future__ import annotations

import errno
import http.client
import os
import re
import threading
from collections.abc import Callable, Mapping
from functools import lru_cache
from ssl import SSLError as BaseSSLError
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
from azure.core.rest._helpers import get_charset_encoding
from azure.core.rest._requests_basic import RestRequestsTransportResponse
from requests.structures import CaseInsensitiveDict
from requests.utils import (
    DEFAULT_CA_BUNDLE_PATH,
    check_header_validity,
    extract_zipped_paths,
    get_encoding_from_headers,
    select_proxy,
)
from urllib3 import HTTPHeaderDict, HTTPSConnectionPool, Timeout
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    IncompleteRead,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import InvalidHeader as Urllib3InvalidHeader
from urllib3.exceptions import ProxyError as Urllib3ProxyError
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.util.retry import Retry
from urllib3.util.ssl_ import create_urllib3_context
from urllib3.util.url import _encode_target

# The keyword arguments of a send that the short way knows; any other takes requests' way.
_KNOWN = frozenset(
    {"connection_timeout", "read_timeout", "connection_verify", "connection_cert", "stream"}
)
# Retries belong to azure-core's RetryPolicy; urllib3 must not retry or follow redirects.
_NO_RETRIES = Retry(total=False, redirect=False, raise_on_status=False)


class _Route:
    """One origin's connection pool, with its TLS context loaded once."""

    def __init__(self, host: str, port: int, verify: str, pool_size: int) -> None:
        self.host = _host_header(host, port)
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
        target = _target(request.url)
        if target is None:  # requests' way says what is wrong with the URL
            return RequestsTransport.send(self, request, **kwargs)
        body = request.data
        if isinstance(body, str):
            body = body.encode("utf-8")
        error: Exception | None = None
        response = None
        try:
            response = self._exchange(
                route, request, target, body, Timeout(connect=connection_timeout, read=read_timeout)
            )
            if isinstance(response, _LeanResponse):
                response.finish()
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
            content_type = response.headers.get("Content-Type")
            if isinstance(content_type, str) and content_type:
                rest.encoding = _charset(content_type)
            handle_non_stream_rest_response(rest)
            return rest
        return RequestsTransportResponse(request, response, block_size)

    def _exchange(
        self, route: _Route, request: Any, target: str, body: bytes | None, timeout: Timeout
    ) -> requests.Response:
        """Send on the route's pool; urllib3's errors become requests' as its adapter maps them."""
        headers = self._headers(request)
        try:
            if request.method == "GET" and body is None and route.host is not None:
                lean = self._lean(route, request, target, headers, timeout)
                if lean is not None:
                    return lean
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
        return _as_requests_response(raw, request)

    def _lean(
        self,
        route: _Route,
        request: Any,
        target: str,
        headers: dict[str, str],
        timeout: Timeout,
    ) -> requests.Response | None:
        """Send a GET on a connection of the route's pool that is open already, and read the
        head of its answer; None (nothing sent) when no open connection is free or the request
        is one http.client would write otherwise: then urllib3 sends it (and connects).

        What goes out is what urllib3 writes (`_head`); the answer is read as http.client and
        urllib3 read it, and each error becomes the urllib3 error they raise (which `_exchange`
        maps as before): a timeout ReadTimeoutError, an SSL error SSLError, a closed or broken
        connection ProtocolError("Connection aborted."). An answer framed the ordinary way
        (`_simple_headers`) is read by `_LeanResponse.finish`; any other is handed to
        http.client and urllib3 as they would have read it from here on.
        """
        connect, read = timeout.connect_timeout, timeout.read_timeout
        if not isinstance(connect, float | int) or not isinstance(read, float | int) or read <= 0:
            return None
        assert route.host is not None
        head = _head("GET", target, route.host, headers)
        pool = route.pool
        if head is None or pool.pool is None:
            return None
        conn: Any = pool._get_conn()
        if conn.sock is None:  # new, or dropped by the server: urllib3 connects it
            pool._put_conn(conn)
            return None
        try:
            return self._lean_head(route, conn, request, target, head, connect, read)
        except BaseException:
            conn.close()
            pool._put_conn(conn)
            raise

    def _lean_head(
        self,
        route: _Route,
        conn: Any,
        request: Any,
        target: str,
        head: bytes,
        connect: float,
        read: float,
    ) -> requests.Response:
        sock = conn.sock
        conn.timeout = connect
        sock.settimeout(connect)
        try:
            sock.sendall(head)
        except BrokenPipeError:
            pass  # urllib3 reads the answer a server may have sent before closing
        except OSError as err:
            if err.errno not in (errno.EPROTOTYPE, errno.ECONNRESET):
                raise _aborted(err) from err
        conn.timeout = read
        if read != connect:
            sock.settimeout(read)
        fp = sock.makefile("rb")
        try:
            while True:
                version, status, reason = _status(fp.readline(_MAXLINE + 1))
                if status != 100:
                    break
                _read_head_lines(fp)  # the head of a 100 Continue is skipped, as http.client does
            lines = _read_head_lines(fp)
        except (OSError, http.client.HTTPException) as err:
            fp.close()
            if isinstance(err, TimeoutError) or getattr(err, "errno", None) in (
                errno.EAGAIN,
                errno.EWOULDBLOCK,
            ):
                raise ReadTimeoutError(
                    route.pool, target, f"Read timed out. (read timeout={read})"
                ) from err
            raise _aborted(err) from err
        simple = None
        if version == "HTTP/1.1" and status >= 200 and status not in (204, 304):
            try:
                simple = _simple_headers(lines)
            except _Unusual:
                simple = None
        if simple is None:
            return self._long_answer(
                route, conn, fp, request, target, version, status, reason, lines
            )
        headers, length, closes = simple
        response = _LeanResponse()
        response.status_code = status
        response.headers = headers
        response.encoding = get_encoding_from_headers(headers)
        response.reason = reason.strip()
        response.url = request.url

        def body() -> bytes:
            try:
                data = _read_up_to(fp, length)
            except TimeoutError as err:
                raise requests.exceptions.ConnectionError(
                    ReadTimeoutError(route.pool, None, "Read timed out.")
                ) from err
            except BaseSSLError as err:
                raise requests.exceptions.SSLError(Urllib3SSLError(err)) from err
            except OSError as err:
                raise requests.exceptions.ChunkedEncodingError(
                    ProtocolError(f"Connection broken: {err!r}", err)
                ) from err
            finally:
                fp.close()
            if len(data) < length:
                short = IncompleteRead(len(data), length - len(data))
                raise requests.exceptions.ChunkedEncodingError(
                    ProtocolError(f"Connection broken: {short!r}", short)
                )
            return data

        def done(ok: bool) -> None:
            if not ok or closes:
                conn.close()
            route.pool._put_conn(conn)

        response.pending(body, done)
        return response

    def _long_answer(
        self,
        route: _Route,
        conn: Any,
        fp: Any,
        request: Any,
        target: str,
        version: str,
        status: int,
        reason: str,
        lines: list[bytes],
    ) -> requests.Response:
        """An answer not framed the ordinary way (chunked, compressed, without a length, of
        HTTP/1.0, with a header line http.client parses its own way): the status and the head
        already read are handed to http.client's parser and response as its `begin` would
        have set them, then to urllib3's response, and read by requests as before."""
        from io import BytesIO

        from urllib3.connection import _normalize_header_values
        from urllib3.response import HTTPResponse as Urllib3Response

        try:
            message = http.client.parse_headers(BytesIO(b"".join(lines)))
            answer = http.client.HTTPResponse(conn.sock, method="GET")
            answer.fp.close()
            answer.fp = fp
            answer.code = answer.status = status  # type: ignore[attr-defined]
            answer.reason = reason.strip()
            if version in ("HTTP/1.0", "HTTP/0.9"):
                answer.version = 10
            elif version.startswith("HTTP/1."):
                answer.version = 11
            else:
                raise http.client.UnknownProtocol(version)
            answer.headers = answer.msg = message
            encoding = message.get("transfer-encoding")
            answer.chunked = bool(encoding and encoding.lower() == "chunked")
            answer.chunk_left = None
            answer.will_close = answer._check_close()  # type: ignore[attr-defined]
            answer.length = None
            length = message.get("content-length")
            if length and not answer.chunked:
                try:
                    answer.length = int(length)
                except ValueError:
                    answer.length = None
                else:
                    if answer.length < 0:
                        answer.length = None
            if status in (204, 304) or 100 <= status < 200:
                answer.length = 0
            if not answer.will_close and not answer.chunked and answer.length is None:
                answer.will_close = True
        except (OSError, http.client.HTTPException) as err:
            fp.close()
            raise _aborted(err) from err
        if answer.will_close:
            conn.sock = None  # the answer holds the socket now, as http.client does
        raw = Urllib3Response(
            body=answer,
            headers=HTTPHeaderDict(_normalize_header_values(message)),
            status=status,
            version=answer.version,
            version_string="HTTP/1.1",
            reason=answer.reason,
            preload_content=False,
            decode_content=False,
            original_response=answer,
            enforce_content_length=True,
            request_method="GET",
            request_url=target,
        )
        raw._connection = conn
        raw._pool = route.pool
        return _as_requests_response(raw, request)


# A path or query that every step below leaves as it is: no percent sign, only characters
# that need no quoting (unreserved, sub-delims, ":", "@", "/", and "?" in the query).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")
_PLAIN_QUERY = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|$)")


# What `urlsplit` drops without a word (tabs and line ends anywhere, controls and spaces at the
# ends), where requests percent-encodes it: such a URL takes requests' steps.
_SPLIT_DROPS = re.compile(r"[\x00-\x20]")


def _target(url: str) -> str | None:
    """The request target requests and urllib3 send for `url` (its path and query), None when
    requests refuses the URL.

    requests parses the URL with urllib3 (which percent-encodes what must be, keeps valid
    escapes and removes dot segments), requotes it, and urllib3 encodes the target once more
    before sending it. A URL whose path and query hold nothing any of these change (the usual
    ARM URL) is its own target; any other takes those steps.
    """
    parts = urlsplit(url)
    if (
        not _SPLIT_DROPS.search(url)
        and _PLAIN_PATH.fullmatch(parts.path)
        and _PLAIN_QUERY.fullmatch(parts.query)
        and not _DOT_SEGMENT.search(parts.path)
    ):
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except (requests.exceptions.RequestException, ValueError):
        return None
    return str(_encode_target(prepared.path_url))


@lru_cache(maxsize=64)
def _charset(content_type: str) -> str | None:
    """The encoding azure-core's response works out from a Content-Type (through the `email`
    package, on every response), worked out once per value: ARM sends the same one."""
    return get_charset_encoding(_ContentType(content_type))


class _ContentType:
    """What `get_charset_encoding` reads of a response: its Content-Type header."""

    def __init__(self, value: str) -> None:
        self.headers = {"Content-Type": value}


# The most the lean reader asks of the socket at once. A buffered read is given room for all it
# is asked for before any byte arrives, so an answer's Content-Length, which the server chose, is
# never asked for whole: a length of a petabyte must end in the short read the answer really is.
_READ_STEP = 1 << 20


def _read_up_to(fp: Any, length: int) -> bytes:
    """At most `length` bytes of `fp`, fewer if it ends first, read `_READ_STEP` at a time."""
    if length <= _READ_STEP:
        return bytes(fp.read(length)) if length else b""
    parts = []
    left = length
    while left:
        part = fp.read(min(left, _READ_STEP))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _as_requests_response(raw: Any, request: Any) -> requests.Response:
    """urllib3's answer `raw` to `request` as requests' adapter wraps it (body not yet read)."""
    response = requests.Response()
    response.status_code = raw.status
    response.headers = CaseInsensitiveDict(raw.headers)
    response.encoding = get_encoding_from_headers(response.headers)
    response.raw = raw
    response.reason = raw.reason or ""
    response.url = request.url
    return response


def _aborted(err: BaseException) -> Exception:
    """The urllib3 error for a connection that failed while a request was sent or its head read
    (urllib3's `urlopen`: an SSL error, else "Connection aborted.")."""
    if isinstance(err, BaseSSLError):
        return Urllib3SSLError(err)
    return ProtocolError("Connection aborted.", err)


class _LeanResponse(requests.Response):
    """A `requests.Response` whose body the lean reader reads (`finish`), once."""

    def pending(self, body: Callable[[], bytes], done: Callable[[bool], None]) -> None:
        self._body: Callable[[], bytes] | None = body
        self._done = done

    def finish(self) -> None:
        body, self._body = self._body, None
        if body is None:
            return
        try:
            self._content = body()
        except BaseException:
            self._content_consumed = True
            self._done(False)
            raise
        self._content_consumed = True
        self._done(True)

    def close(self) -> None:
        if getattr(self, "_body", None) is not None:
            self._body = None
            self._done(False)


# ---- the lean exchange: a GET on a connection that is already open


# A header line http.client's parser reads as `name: value` and nothing else: a name of visible
# characters without a colon, a value without CR or LF, the line ending in CRLF or LF.
_SIMPLE_HEADER = re.compile(rb"([!-9;-~]+):([^\r\n]*)\r?\n")
# A Content-Length the framing of every layer reads the same way.
_DIGITS = re.compile(r"\d+")
# What http.client refuses in a request target (control characters, space, DEL).
_NOT_IN_TARGET = re.compile(r"[\x00-\x20\x7f]")
_MAXLINE = 65536  # http.client's limits on a line and on the headers of one answer
_MAXHEADERS = 100


class _Unusual(Exception):  # noqa: N818 - not an error: this answer takes the long way
    """Raised by `_simple_headers` for an answer whose head the lean reader leaves to
    http.client and urllib3."""


def _host_header(host: str, port: int) -> str | None:
    """The Host header http.client writes for `host`:`port`, None for a host it would encode
    (IDNA); then the long way sends it."""
    if not host.isascii():
        return None
    shown = f"[{host}]" if ":" in host else host
    return shown if port == 443 else f"{shown}:{port}"


def _head(method: str, target: str, host: str, headers: dict[str, str]) -> bytes | None:
    """The request head http.client writes for a request without a body, as urllib3 sends it
    (request line, Host, then the headers in order); None when it would add a header of its
    own (no User-Agent or Accept-Encoding given) or refuse a name, value or target: then the
    long way sends it and says what is wrong."""
    lowered = {name.lower() for name in headers}
    if "host" in lowered or not {"user-agent", "accept-encoding"} <= lowered:
        return None
    if not target.isascii() or _NOT_IN_TARGET.search(target):
        return None
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        if not isinstance(value, str):
            return None
        lines.append(f"{name}: {value}")
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        return None


def _status(line: bytes) -> tuple[str, int, str]:
    """The status line as http.client reads it (its errors too)."""
    if len(line) > _MAXLINE:
        raise http.client.LineTooLong("status line")
    if not line:
        raise http.client.RemoteDisconnected("Remote end closed connection without response")
    text = str(line, "iso-8859-1")
    try:
        version, status, reason = text.split(None, 2)
    except ValueError:
        try:
            version, status = text.split(None, 1)
            reason = ""
        except ValueError:
            version, status, reason = "", "", ""
    if not version.startswith("HTTP/"):
        raise http.client.BadStatusLine(text)
    try:
        code = int(status)
        if code < 100 or code > 999:
            raise http.client.BadStatusLine(text)
    except ValueError:
        raise http.client.BadStatusLine(text) from None
    return version, code, reason


def _read_head_lines(fp: Any) -> list[bytes]:
    """The header lines up to and with the empty one, as http.client reads them."""
    lines = []
    while True:
        line = fp.readline(_MAXLINE + 1)
        if len(line) > _MAXLINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > _MAXHEADERS:
            raise http.client.HTTPException(f"got more than {_MAXHEADERS} headers")
        if line in (b"\r\n", b"\n", b""):
            return lines


def _simple_headers(lines: list[bytes]) -> tuple[CaseInsensitiveDict, int, bool]:
    """(the headers as `requests.Response.headers` holds them, the body's length, whether the
    server closes the connection after it) for an answer framed the ordinary way: every header
    line simple, one Content-Length, no Transfer-Encoding or Content-Encoding. Anything else
    raises `_Unusual`.

    The same as http.client's parser (a header line `name: value`: the value without the
    spaces and tabs after the colon, and without the line end), urllib3's header dict (repeated
    names joined by ", ", the name spelled as it first came) and requests' dict over it.
    """
    items: list[tuple[str, str]] = []
    for line in lines[:-1]:
        match = _SIMPLE_HEADER.fullmatch(line)
        if match is None:
            raise _Unusual
        name = match.group(1).decode("ascii")
        items.append((name, match.group(2).decode("iso-8859-1").lstrip(" \t")))
    found: dict[str, tuple[str, list[str]]] = {}
    for name, value in items:
        known = found.get(name.lower())
        if known is None:
            found[name.lower()] = (name, [value])
        else:
            known[1].append(value)
    if "transfer-encoding" in found or "content-encoding" in found:
        raise _Unusual
    length = found.get("content-length")
    if length is None or len(length[1]) != 1 or not _DIGITS.fullmatch(length[1][0]):
        raise _Unusual
    connection = found.get("connection")
    closes = connection is not None and "close" in connection[1][0].lower()
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for name, values in found.values():
        headers[name] = ", ".join(values)
    return headers, int(length[1][0]), closes
