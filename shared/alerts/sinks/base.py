"""The one interface every sink implements, and the HTTP status rules they share.

Must never retry, sleep or touch storage: that is the outbox's job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

from shared.alerts.model import Notification

# Worth another try later: the receiver is overloaded, restarting, or timed out. Other 4xx mean our request
# or our configuration is wrong, and repeating it cannot help (Slack's invalid_payload, a revoked webhook).
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one send. `error` is already free of secrets."""

    ok: bool
    retryable: bool = False
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None

    @classmethod
    def delivered(cls, status: int | None = None) -> SendOutcome:
        return cls(ok=True, status=status)


class Notifier(Protocol):
    """A destination for notifications. `name` keys the outbox and the delivery ids."""

    name: str

    def send(self, notification: Notification, delivery_id: str) -> SendOutcome: ...


def is_retryable(status: int) -> bool:
    return status in RETRYABLE_STATUS or status >= 500


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date. None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def outcome_for_status(
    status: int, body: str, retry_after: str | None, redact: Callable[[object], str]
) -> SendOutcome:
    """Classify a non-2xx answer. The body excerpt helps the on-call engineer (Slack says
    `invalid_payload` or `channel_is_archived`) and is redacted like everything else."""
    excerpt = " ".join(body.split())[:300]
    error = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
    return SendOutcome(
        ok=False,
        retryable=is_retryable(status),
        status=status,
        error=redact(error),
        retry_after=parse_retry_after(retry_after),
    )
