"""Credentials for a live collection, and the Azure CLI's default subscription.

Every failure to authenticate becomes one `UserError` line naming the credential that failed and
what to do about it; the CLI prints it and exits 2.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from typing import Any

from prodcheck.collect.options import AUTH_MODES, Cloud, CollectOptions
from prodcheck.errors import UserError

_FIX = {
    "cli": "run `az login` (and `az account set --subscription ID`), or pick another --auth",
    "env": "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET "
    "(or AZURE_CLIENT_CERTIFICATE_PATH) for a service principal",
    "managed-identity": "run on an Azure host with a managed identity "
    "(set AZURE_CLIENT_ID to pick a user-assigned one), or pick another --auth",
    "workload-identity": "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE "
    "(workload identity federation, e.g. from a CI OIDC token)",
    "default": "run `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, "
    "or use --auth to pick one credential",
    "injected": "check the credential passed in CollectOptions.credential",
}

_LABEL = {
    "cli": "the Azure CLI credential",
    "env": "the environment credential",
    "managed-identity": "the managed identity credential",
    "workload-identity": "the workload identity credential",
    "default": "DefaultAzureCredential (environment, workload identity, managed identity, "
    "Azure CLI, ...)",
    "injected": "the credential given",
}


def one_line(text: str, limit: int = 300) -> str:
    """The first meaningful line of an error text, trimmed."""
    for line in str(text).splitlines():
        line = " ".join(line.split())
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def build_credential(options: CollectOptions, cloud: Cloud) -> tuple[Any, str]:
    """The credential to use and the auth mode it stands for."""
    if options.credential is not None:
        return options.credential, "injected"
    mode = (options.auth or "default").lower()
    if mode not in AUTH_MODES:
        raise UserError(f"unknown auth mode {options.auth!r}: use one of {', '.join(AUTH_MODES)}")
    import azure.identity as identity

    tenant = options.tenant or None
    authority = cloud.authority_host
    try:
        if mode == "cli":
            return identity.AzureCliCredential(tenant_id=tenant or ""), mode
        if mode == "env":
            return identity.EnvironmentCredential(authority=authority), mode
        if mode == "managed-identity":
            return identity.ManagedIdentityCredential(), mode
        if mode == "workload-identity":
            kwargs: dict[str, Any] = {"authority": authority}
            if tenant:
                kwargs["tenant_id"] = tenant
            return identity.WorkloadIdentityCredential(**kwargs), mode
        kwargs = {"authority": authority, "exclude_interactive_browser_credential": True}
        if tenant:
            kwargs.update(
                workload_identity_tenant_id=tenant,
                shared_cache_tenant_id=tenant,
                visual_studio_code_tenant_id=tenant,
                interactive_browser_tenant_id=tenant,
                additionally_allowed_tenants=["*"],
            )
        return identity.DefaultAzureCredential(**kwargs), mode
    except (ValueError, TypeError) as exc:
        raise UserError(
            f"{_LABEL[mode]} could not be set up: {one_line(str(exc))}; {_FIX[mode]}"
        ) from exc


class CachedCredential:
    """Wraps a TokenCredential: one token fetch per scope for the whole collection.

    The SDK clients each hold an authentication policy; without this, every client (and the
    Azure CLI credential on every call) would fetch its own token.
    """

    def __init__(self, inner: Any, tenant: str | None = None) -> None:
        self._inner = inner
        self._tenant = tenant
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, ...], Any] = {}

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        key = tuple(scopes)
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and token.expires_on - 300 > time.time():
                return token
            if self._tenant and not kwargs.get("tenant_id"):
                kwargs["tenant_id"] = self._tenant
            kwargs.pop("enable_cae", None)
            token = self._inner.get_token(*scopes, **kwargs)
            self._tokens[key] = token
            return token

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()


def check_credential(credential: CachedCredential, mode: str, cloud: Cloud) -> None:
    """Get a token once, up front; a failure is the user's to fix, not a coverage gap."""
    from azure.core.exceptions import ClientAuthenticationError

    try:
        credential.get_token(cloud.credential_scope)
    except ClientAuthenticationError as exc:
        detail = one_line(exc.message if hasattr(exc, "message") else str(exc)).rstrip(". ")
        raise UserError(
            f"{_LABEL[mode]} could not get a token for {cloud.arm_endpoint}: {detail}; {_FIX[mode]}"
        ) from exc
    except Exception as exc:  # a broken credential: still the user's to fix
        detail = one_line(str(exc)).rstrip(". ")
        raise UserError(
            f"{_LABEL[mode]} failed getting a token for {cloud.arm_endpoint}: "
            f"{type(exc).__name__}: {detail}; {_FIX[mode]}"
        ) from exc


def cli_default_subscription() -> tuple[str, str]:
    """(id, name) of the Azure CLI's default subscription; a UserError when there is none."""
    az = shutil.which("az")
    hint = "pass --subscription ID, or run `az login` and `az account set --subscription ID`"
    if not az:
        raise UserError(
            f"no subscription given and the Azure CLI (az) is not installed to supply its default: {hint}"
        )
    try:
        done = subprocess.run(
            [az, "account", "show", "--output", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(
            f"no subscription given and `az account show` failed ({exc}): {hint}"
        ) from exc
    if done.returncode != 0:
        raise UserError(
            f"no subscription given and `az account show` failed: {one_line(done.stderr) or 'no default subscription'}; {hint}"
        )
    try:
        account = json.loads(done.stdout)
        return str(account["id"]), str(account.get("name") or "")
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(
            f"no subscription given and `az account show` gave no subscription id: {hint}"
        ) from exc
