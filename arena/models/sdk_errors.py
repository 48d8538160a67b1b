"""What the SDK adapters share when they turn an HTTP failure into a ModelError.

Each adapter keeps its own translation (one context manager around its SDK calls); this module
only holds the rules that do not depend on the SDK: which statuses are worth retrying, how to read
Retry-After, and which transport failures mean the connection or the stream was cut.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import httpx2

from arena.errors import ModelError

RETRYABLE_STATUS = frozenset({408, 409, 429})


def _transport_errors() -> tuple[type[Exception], ...]:
    """Failures below the HTTP layer: refused or dropped connections, timeouts, a body cut
    mid-way. The SDKs speak httpx2; a caller may still hand the OpenAI SDK a legacy httpx
    client, and then has httpx installed (the arena itself does not need it)."""
    try:
        import httpx
    except ImportError:
        return (httpx2.TransportError,)
    return (httpx2.TransportError, httpx.TransportError)


TRANSPORT_ERRORS: tuple[type[Exception], ...] = _transport_errors()


def retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS or status >= 500


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms`, else `retry-after` (seconds or an
    HTTP date). None when absent or unreadable."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def body_text(body: object) -> str | None:
    if body is None:
        return None
    if isinstance(body, str):
        return body
    try:
        return json.dumps(body)
    except (TypeError, ValueError):
        return str(body)


def transport_error(provider: str, exc: Exception) -> ModelError:
    """A connection that failed or a stream that was cut: always worth another try."""
    detail = str(exc) or type(exc).__name__
    return ModelError(
        f"connection failed or stream cut: {detail}", provider=provider, retryable=True
    )


def stream_ended_early(provider: str) -> ModelError:
    """The body ended cleanly but before the provider's end-of-message marker."""
    return ModelError(
        "stream ended before the reply was complete", provider=provider, retryable=True
    )


_HINTS = {
    401: "; check the API key",
    403: "; the key may not have access to this model",
    404: "; check the model name and the base URL",
}


def status_hint(status: int) -> str:
    """What the user can do about a non-retryable status, appended to the provider's message."""
    return _HINTS.get(status, "")
