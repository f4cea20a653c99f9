"""The bounds that make every live collection end, and the errors that say which one was hit.

ARM answers are hostile input: a list can send the same `nextLink` forever, or an endless run of
new ones; a 429 can ask for an hour's wait; an endpoint can answer one byte at a time. Every
read is therefore bounded — pages per collection, the Retry-After prodcheck honours, the
retries and the time of each attempt, and one deadline for the whole collection — and a read
stopped by a bound is a failed read whose error code and message name the bound.

These errors are plain exceptions, not `AzureError`s: azure-core's RetryPolicy retries
`AzureError`s, and a bound that was hit must not be retried.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from urllib.parse import urlsplit


class ReadStopped(Exception):
    """A read prodcheck stopped on purpose; `code` is the coverage record's error code."""

    code = "ReadStopped"

    def __init__(self, message: str, status_code: int = 0) -> None:
        super().__init__(message)
        self.status_code = status_code


class PagingLoop(ReadStopped):
    code = "PagingLoop"


class PageLimitExceeded(ReadStopped):
    code = "PageLimitExceeded"


class RetryAfterTooLong(ReadStopped):
    code = "RetryAfterTooLong"


class DeadlineExceeded(ReadStopped):
    code = "DeadlineExceeded"


class ForeignEndpoint(ReadStopped):
    """A request to anywhere but the Resource Manager endpoint: the token must not go there."""

    code = "ForeignEndpoint"


class Deadline:
    """One deadline for a whole collection; `seconds` None means none."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends = math.inf if seconds is None else clock() + seconds

    def remaining(self) -> float:
        return self._ends - self._clock()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def exceeded(self, what: str) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"the collection's deadline of {self.seconds:g} s (--deadline) passed before {what}"
        )


class Pages:
    """Counts the pages of one collection and refuses a nextLink loop or a list without end."""

    def __init__(self, what: str, max_pages: int) -> None:
        self.what = what
        self.max_pages = max(1, max_pages)
        self.pages = 0
        self._seen: set[str] = set()

    def page(self, next_link: object) -> None:
        """A page arrived carrying `next_link` (None on the last page); raises to stop."""
        self.pages += 1
        if not next_link:
            return
        if not isinstance(next_link, str):
            from prodcheck.collect.failures import MalformedResponse

            raise MalformedResponse(
                f"page {self.pages} of {self.what} has a nextLink that is not a string"
            )
        if next_link in self._seen:
            raise PagingLoop(
                f"Resource Manager sent the same nextLink again on page {self.pages} of "
                f"{self.what}: the list would never end, so it was not followed"
            )
        if self.pages >= self.max_pages:
            raise PageLimitExceeded(
                f"{self.what} went on past {self.max_pages} pages (the page limit per "
                "collection): the rest was not read"
            )
        self._seen.add(next_link)


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute URL, the default port filled in; None if it has
    none, or carries user information (`https://user@host`) that could redirect credentials."""
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError:
        return None
    scheme = split.scheme.lower()
    host = (split.hostname or "").lower().rstrip(".")
    if not scheme or not host or "@" in split.netloc:
        return None
    if port is None:
        port = {"https": 443, "http": 80}.get(scheme, 0)
    return scheme, host, port


_DEFAULT_PORTS = {"https": 443, "http": 80}


def origin_prefixes(endpoint: str) -> tuple[str, ...]:
    """How a URL to `endpoint`'s origin plainly starts: `scheme://host:port/`, and without the
    port when it is the scheme's default (none when the endpoint has no origin). See
    `plain_path`."""
    found = origin(endpoint)
    if found is None:
        return ()
    scheme, host, port = found
    prefixes = [f"{scheme}://{host}:{port}/"]
    if _DEFAULT_PORTS.get(scheme) == port:
        prefixes.append(f"{scheme}://{host}/")
    return tuple(prefixes)


def plain_path(url: str, prefixes: tuple[str, ...]) -> str | None:
    """The path of `url` when it starts with one of `prefixes` (`origin_prefixes`) and holds
    nothing but printable ASCII, else None: then its origin is that endpoint's, and its path is
    the one `urlsplit` reads (what ends the host, and the path, cannot hide in such a URL; a
    tab or line break, which `urlsplit` drops, or a letter outside ASCII sends it the long way).
    The collector's policies read every request's URL; this reads it without parsing it."""
    if not url.startswith(prefixes) or not url.isascii() or not url.isprintable():
        return None
    start = url.index("/", url.index("//") + 2)
    end = len(url)
    for mark in ("?", "#"):
        at = url.find(mark, start)
        if at != -1 and at < end:
            end = at
    return url[start:end]


def show_origin(url: str) -> str:
    """The scheme, host and port of `url`, safe to print (no path, query or user information)."""
    try:
        split = urlsplit(url)
        host = split.hostname or "?"
        port = f":{split.port}" if split.port else ""
    except ValueError:
        return "an unreadable URL"
    return f"{split.scheme or '?'}://{host}{port}"
