"""Retries for Azure calls the SDK's own retry policy does not cover.

azure-core already retries 408/429/500/502/503/504 honouring Retry-After. What it leaves to us: an
Azure ML endpoint answers 409 Conflict while a previous operation is still Updating it, and an
operation that exhausted the SDK's retries may deserve one more patient round. tenacity does the
looping; we only decide what is retryable and how long the server asked us to wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


def retry_after_seconds(exc: BaseException) -> float | None:
    """The server's Retry-After (seconds or ms variants), if the error carries a response with one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        if headers.get(name):
            try:
                return float(headers[name]) / 1000
            except ValueError:
                pass
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def is_retryable(exc: BaseException) -> bool:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return True
    return isinstance(exc, HttpResponseError) and _status(exc) in RETRYABLE_STATUS


def call_with_retry(fn: Callable[[], T], *, attempts: int = 5, base_delay: float = 1.0, max_delay: float = 30.0,
                    sleep: Callable[[float], None] = time.sleep) -> T:
    """Call `fn`; on a retryable Azure error wait (Retry-After if given, else exponential) and try again."""
    from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

    backoff = wait_exponential_jitter(initial=base_delay, max=max_delay)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after_seconds(exc) if exc else None
        return min(asked, max_delay) if asked is not None else backoff(state)

    retrying = Retrying(retry=retry_if_exception(is_retryable), stop=stop_after_attempt(attempts), wait=wait,
                        sleep=sleep, reraise=True)
    return retrying(fn)
