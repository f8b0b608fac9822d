"""One retry layer per kind of failure, each bounded: what a persistent Azure fault costs an adapter call.

Two layers used to wrap every Azure ML call, azure-core's RetryPolicy (3 retries) inside five tenacity
attempts: a persistent 500 or 429 cost 20 requests and about 25 s per adapter call. Now each failure has one
owner:

* **Transient answers and broken connections: azure-core's RetryPolicy**, configured once for every SDK
  client in `azure_clients.client_kwargs` (MODELWATCH_AZURE_RETRY_TOTAL, _BACKOFF, _BACKOFF_MAX,
  _TIMEOUT_SECONDS). It retries 408, 429, 500, 502, 503, 504 (and any error answer carrying Retry-After),
  connection errors and timeouts; it waits what the server's Retry-After asks, else `backoff x 2^(n-1)`
  (the first retry at once), each wait capped at `backoff_max` by `cap_sleep` (azure-core itself would
  sleep any Retry-After in full, an hour if asked). POST and PATCH are retried on 500/503/504 only.
* **409 Conflict while an endpoint is still Updating from a previous operation: `call_with_retry` here**,
  which azure-core does not retry (409 is not transient in general; here it is). It waits the 409's
  Retry-After if any, else exponential with jitter (1 s doubling up to 15 s), and stops at a deadline (120 s)
  or after `attempts` (10), whichever comes first; it never starts an attempt after the deadline. Nothing
  else is retried here: a 500 that outlived azure-core's retries surfaces at once.

Worst case per adapter call, with the defaults (retry_total 3, backoff 0.8 s, backoff_max 30 s, timeout 30 s,
connection timeout 10 s), for each HTTP request the call makes:

| persistent fault | requests | time |
|---|---|---|
| 500 / 502 / 504 without Retry-After | 4 (1 + retry_total) | about 5 s of waits (0 + 1.6 + 3.2 s) |
| 429 / 503 with Retry-After R | 4 | 3 x min(R, 30 s) <= 90 s |
| no answer (hang) | 4 | 4 x 30 s read timeout + 5 s <= 125 s (4 x 10 s when no connection is made) |

so never more than `(1 + retry_total) x (timeout + backoff_max)` (240 s) for one request. A read call
(`endpoint_traffic`, `deployments`, `model`...) is one request (a long listing, one per page). `set_traffic`
is a listing, then GET + PUT of the endpoint and the operation's polling: a persistent 409 adds at most 10
rounds of GET + PUT (20 requests) within 120 s of waiting. A call from the app's own job therefore ends, one
way or the other, well inside the host's function timeout (10 min), and the job is retried from the queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: statuses an Azure call may succeed on later (azure-core retries these; callers treat them as "try again
#: later" rather than a permanent failure once the retries are spent)
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
#: what azure-core does not retry and this module does: the endpoint is still Updating
CONFLICT_STATUS = 409
CONFLICT_DEADLINE_SECONDS = 120.0
CONFLICT_ATTEMPTS = 10


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


def is_conflict(exc: BaseException) -> bool:
    """A 409 Conflict from Azure: the resource is busy with another operation; worth waiting out."""
    from azure.core.exceptions import HttpResponseError

    return isinstance(exc, HttpResponseError) and _status(exc) == CONFLICT_STATUS


def call_with_retry(fn: Callable[[], T], *, attempts: int = CONFLICT_ATTEMPTS,
                    deadline: float = CONFLICT_DEADLINE_SECONDS, base_delay: float = 1.0, max_delay: float = 15.0,
                    sleep: Callable[[float], None] = time.sleep) -> T:
    """Call `fn`; while Azure answers 409 Conflict, wait (Retry-After, else exponential with jitter) and try again,
    at most `attempts` times, and never sleeping past `deadline` seconds after the first attempt started. Every
    other error propagates at once: the SDK's own retry policy has already retried what is transient."""
    from tenacity import (
        RetryCallState,
        Retrying,
        retry_if_exception,
        stop_after_attempt,
        stop_before_delay,
        wait_exponential_jitter,
    )

    backoff = wait_exponential_jitter(initial=base_delay, max=max_delay, jitter=base_delay)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after_seconds(exc) if exc else None
        return min(asked, max_delay) if asked is not None else backoff(state)

    retrying = Retrying(retry=retry_if_exception(is_conflict), wait=wait, sleep=sleep, reraise=True,
                        stop=stop_after_attempt(attempts) | stop_before_delay(deadline))
    return retrying(fn)


def cap_sleep(transport: Any, longest: float) -> Any:
    """Make an azure-core transport never sleep longer than `longest` seconds.

    azure-core's RetryPolicy sleeps a server's Retry-After in full through `transport.sleep` (and pollers
    wait there too): a Retry-After of an hour would hold the worker an hour. Capped, the retry comes sooner
    and Azure answers 429 again if it meant it, which costs one request of the bounded few."""
    sleep = transport.sleep

    def capped(duration: float) -> None:
        sleep(min(float(duration), longest))

    transport.sleep = capped
    return transport
