"""The one fake in collection tests: the token."""

from __future__ import annotations

import threading
import time
from typing import Any


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
