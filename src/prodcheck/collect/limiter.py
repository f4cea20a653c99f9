"""A client-side token bucket per subscription, modelled on Azure Resource Manager's read limits.

ARM gives each principal, per subscription (and region), a bucket of 250 reads refilled at 25 per
second, and answers 429 with Retry-After once it is empty. Staying inside the bucket on our side
keeps a large audit from being throttled at all; when ARM throttles anyway (other tools share the
principal, or a resource provider throttles on its own), a 429 pauses every request to that
subscription for the Retry-After time, not only the one that was refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prodcheck.collect.bounds import Deadline

# Longest pause honoured from one Retry-After; ARM asks for seconds, not minutes.
MAX_PAUSE = 60.0


def retry_after_seconds(headers: Mapping[str, Any]) -> float:
    """Seconds asked for by `retry-after-ms`, `x-ms-retry-after-ms` or `Retry-After` (0 if none)."""
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                pass
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                when = parsedate_to_datetime(str(value)).timestamp()
            except (TypeError, ValueError):
                return 0.0
            return max(0.0, when - time.time())
    return 0.0


class _Bucket:
    __slots__ = ("paused_until", "tokens", "updated")

    def __init__(self, tokens: float, now: float) -> None:
        self.tokens = tokens
        self.updated = now
        self.paused_until = 0.0


class RateLimiter:
    """Token buckets keyed by subscription id; `rate` 0 (or less) turns pacing off."""

    def __init__(
        self,
        rate: float = 25.0,
        burst: int = 250,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_pause: float = MAX_PAUSE,
    ) -> None:
        self.rate = rate
        self.max_pause = max_pause
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self.waited = 0.0  # total seconds callers spent waiting, for the benchmark

    def _bucket(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        return bucket

    def acquire(self, key: str, deadline: Deadline | None = None) -> None:
        """Take one token for `key`, waiting for the refill (or a 429 pause) when needed.

        Raises `DeadlineExceeded` rather than wait past `deadline`.
        """
        while True:
            with self._lock:
                now = self._clock()
                bucket = self._bucket(key, now)
                wait = bucket.paused_until - now
                if wait <= 0:
                    if self.rate <= 0:
                        return
                    bucket.tokens = min(
                        float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate
                    )
                    bucket.updated = now
                    if bucket.tokens >= 1.0 - 1e-9:  # float dust must not starve a caller
                        bucket.tokens = max(0.0, bucket.tokens - 1.0)
                        return
                    wait = max((1.0 - bucket.tokens) / self.rate, 1e-4)
                if deadline is not None and wait > deadline.remaining():
                    raise deadline.exceeded("Resource Manager's pacing allowed this read")
                self.waited += wait
            self._sleep(wait)

    def ready_in(self, key: str, ahead: int = 0) -> float:
        """Seconds until `key`'s bucket holds a token beyond the `ahead` ones already promised
        (requests on their way), 0 if now. The scheduler asks, so that a worker goes to a
        subscription that can send rather than wait in `acquire` for one that cannot."""
        return self.ready_many([(key, ahead)])[0]

    def ready_many(self, asked: list[tuple[str, int]]) -> list[float]:
        """`ready_in(key, ahead)` for each (key, ahead) in `asked`, under one lock."""
        with self._lock:
            now = self._clock()
            return [self._wait(key, ahead, now) for key, ahead in asked]

    def _wait(self, key: str, ahead: int, now: float) -> float:
        """`ready_in(key, ahead)` at `now`; the caller holds the lock."""
        bucket = self._buckets.get(key)
        if bucket is None:
            tokens, paused = float(self.burst), 0.0
        else:
            elapsed = max(0.0, now - bucket.updated)
            tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            paused = max(0.0, bucket.paused_until - now)
        if self.rate <= 0:
            return paused
        missing = ahead + 1.0 - 1e-9 - tokens
        return max(paused, missing / self.rate if missing > 0 else 0.0)

    def choose(self, candidates: Iterable[tuple[str, int, int]]) -> tuple[str, float, int] | None:
        """The scheduler's choice among `candidates` (key, requests on their way, turn), under
        one lock: the one whose bucket can send soonest (`ready_in(key, ahead)`; the key "",
        reads outside any subscription, can always send), then the one with fewest requests on
        their way, then the lowest turn (served longest ago). That key, its wait and how many
        candidates there were; None when there is none.

        One pass, without a list of every subscription's wait: the scheduler asks each time a
        worker is free, with every subscription that has a task waiting."""
        best_key: str | None = None
        best_wait = best_ahead = best_turn = 0.0
        count = 0
        with self._lock:
            now = self._clock()
            wait_of = self._wait
            for key, ahead, turn in candidates:
                count += 1
                wait = wait_of(key, ahead, now) if key else 0.0
                if (
                    best_key is None
                    or wait < best_wait
                    or (
                        wait == best_wait
                        and (ahead < best_ahead or (ahead == best_ahead and turn < best_turn))
                    )
                ):
                    best_key, best_wait, best_ahead, best_turn = key, wait, ahead, turn
        return None if best_key is None else (best_key, best_wait, count)

    def pause(self, key: str, seconds: float) -> None:
        """ARM said 429: hold every request to `key` for `seconds` and empty its bucket."""
        seconds = min(max(seconds, 0.0), self.max_pause)
        with self._lock:
            now = self._clock()
            bucket = self._bucket(key, now)
            bucket.paused_until = max(bucket.paused_until, now + seconds)
            bucket.tokens = 0.0
            bucket.updated = now + seconds
