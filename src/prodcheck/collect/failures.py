"""What went wrong with one read, as a coverage record wants it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from prodcheck.collect.auth import one_line

_ACTION = re.compile(r"perform action '([^']+)'", re.IGNORECASE)


class MalformedResponse(Exception):
    """A page that is not the JSON ARM promises (not JSON, no `value` list, a nextLink loop)."""


@dataclass(frozen=True)
class Failure:
    status_code: int  # 0 when there was no HTTP answer to speak of (timeout, malformed page)
    error_code: str
    message: str
    permission: str

    def record(self, resource_type: str, scope: str, count: int = 0) -> dict[str, object]:
        return {
            "resourceType": resource_type,
            "scope": scope,
            "status": "failed",
            "statusCode": self.status_code,
            "errorCode": self.error_code,
            "message": self.message,
            "permission": self.permission,
            "count": count,
        }


def _arm_error(exc: object) -> tuple[str, str]:
    """(code, message) from an azure-core HttpResponseError's ARM error body."""
    error = getattr(exc, "error", None)
    code = str(getattr(error, "code", "") or "")
    message = str(getattr(error, "message", "") or "")
    if not code or not message:
        response = getattr(exc, "response", None)
        try:
            body = json.loads(response.text()) if response is not None else None
        except (ValueError, TypeError, AttributeError):
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = code or str(body["error"].get("code") or "")
            message = message or str(body["error"].get("message") or "")
    if not message:
        message = str(getattr(exc, "reason", "") or getattr(exc, "message", "") or exc)
    return code, one_line(message, 500)


def describe(
    exc: BaseException, permission: str, retries: int, timeout: float | None = None
) -> Failure:
    """Map an exception raised while reading to a Failure; never raises."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        DecodeError,
        DeserializationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    from prodcheck.collect.bounds import ReadStopped
    from prodcheck.collect.clients import ReadOnlyViolation

    name = type(exc).__name__
    if isinstance(exc, ReadStopped):
        return Failure(exc.status_code, exc.code, one_line(str(exc), 500), permission)
    if isinstance(exc, DecodeError | DeserializationError | MalformedResponse):
        return Failure(
            0,
            "MalformedResponse",
            f"the response could not be read: {one_line(str(exc))}",
            permission,
        )
    if isinstance(exc, HttpResponseError) and getattr(exc, "status_code", None):
        status = int(exc.status_code or 0)
        code, message = _arm_error(exc)
        if status == 403:
            found = _ACTION.search(message)
            if found:
                permission = found.group(1)
            code = code or "AuthorizationFailed"
        elif status == 429:
            code = code or "TooManyRequests"
            message = f"still throttled after {retries} retries: {message}"
        elif status >= 500:
            message = f"server error after {retries} retries: {message}"
        return Failure(status, code or f"HTTP{status}", message, permission)
    if isinstance(exc, ClientAuthenticationError):
        return Failure(0, "AuthenticationFailed", one_line(str(exc)), permission)
    if isinstance(exc, ReadOnlyViolation):
        return Failure(0, "ReadOnlyGuard", one_line(str(exc)), permission)
    if isinstance(exc, ServiceResponseError | ServiceRequestError):
        text = one_line(str(exc))
        timed_out = "timeout" in name.lower() or "timed out" in text.lower()
        code = "Timeout" if timed_out else "ConnectionError"
        limit = f" (--timeout {timeout:g} s)" if timeout else ""
        what = f"no answer in time{limit}" if timed_out else "the connection failed"
        return Failure(0, code, f"{what} after {retries} retries: {text}", permission)
    return Failure(0, name, one_line(str(exc)) or name, permission)
