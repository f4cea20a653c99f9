"""pytest fixtures around the fake ARM server.

Use from a test module with `pytest_plugins = ["fake_arm.fixtures"]`. The only fake is the token:
the real SDK clients talk HTTPS to the fake with the trustme CA as their trust store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from fake_arm.server import FakeArm
from prodcheck.collect.options import CollectOptions


class FakeCredential:
    """A TokenCredential that hands out a fixed token and counts how often it was asked."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.calls = 0
        self.fail = fail
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        with self._lock:
            self.calls += 1
            self.scopes = scopes
        if self.fail is not None:
            raise self.fail
        return AccessToken("fake-token", int(time.time()) + 3600)


@pytest.fixture(scope="session")
def arm_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def fake_arm(arm_ca: trustme.CA) -> Iterator[FakeArm]:
    fake = FakeArm(arm_ca, page_size=50)
    fake.hang_seconds = 5.0
    with fake:
        yield fake


@pytest.fixture
def fake_credential() -> FakeCredential:
    return FakeCredential()


@pytest.fixture
def make_options(
    fake_arm: FakeArm, fake_credential: FakeCredential, tmp_path: Path
) -> Callable[..., CollectOptions]:
    """CollectOptions aimed at the fake: fast retries, short timeouts, no progress display."""

    def make(**overrides: Any) -> CollectOptions:
        values: dict[str, Any] = {
            "subscriptions": [],
            "credential": fake_credential,
            "arm_endpoint": fake_arm.base_url,
            "connection_verify": fake_arm.ca_path(tmp_path),
            "retry_total": 1,
            "retry_backoff": 0.01,
            "timeout": 2.0,
            "quiet": True,
            "rate_limit": 0,
        }
        values.update(overrides)
        return CollectOptions(**values)

    return make
