"""pytest fixtures around the fake ARM server.

Use from a test module with `pytest_plugins = ["fake_arm.fixtures"]`. The only fake is the token:
the real SDK clients talk HTTPS to the fake with the trustme CA as their trust store.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from fake_arm.credential import FakeCredential
from fake_arm.server import FakeArm
from prodcheck.collect.options import CollectOptions


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


FAKE_AZ_SUBSCRIPTION = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7d9c0a11"


@pytest.fixture
def fake_az(tmp_path, monkeypatch):
    """An `az` on PATH that answers get-access-token and account show, and logs its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "az-calls.jsonl"
    script = bin_dir / "az"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import json, os, sys
            args = sys.argv[1:]
            with open({str(log)!r}, "a") as f:
                f.write(json.dumps(args) + "\\n")
            if os.environ.get("FAKE_AZ_LOGGED_OUT"):
                sys.stderr.write("ERROR: Please run 'az login' to setup account.\\n")
                sys.exit(1)
            if args[:2] == ["account", "get-access-token"]:
                print(json.dumps({{"accessToken": "cli-token", "expires_on": 4070908800,
                                  "tokenType": "Bearer", "subscription": "{FAKE_AZ_SUBSCRIPTION}"}}))
            elif args[:2] == ["account", "show"]:
                print(json.dumps({{"id": "{FAKE_AZ_SUBSCRIPTION}", "name": "Contoso Prod", "isDefault": True}}))
            else:
                sys.exit(2)
            """
        )
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")

    def calls():
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    return calls
