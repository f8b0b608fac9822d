"""The outbox relay: every notification reaches every sink at least once, in order, and is never re-posted
once its delivery is recorded.

A delivery is (notification event x sink) with a deterministic id `<alertId>.<seq>.<sink>`, stored as a
pending blob. The relay takes a 60 s lease on it, checks it is not already done, sends once, then records
the outcome: delivered (done record, pending removed), retry later (backoff, Retry-After honoured), or
dead-lettered after the last attempt or a non-retryable answer (kept in deadletter/, never lost). Per
fingerprint and sink, events go out in (episode, sequence) order, so a resolve never overtakes its trigger
nor the next episode's trigger.

This module decides *when* to send; sinks decide *how*. It must never decide whether an alert should
notify (lifecycle.py does) and never let a secret into a record or a log (errors come redacted).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.alerts.audit import AuditTrail
from shared.alerts.lifecycle import parse_alert_id, retry_delay
from shared.alerts.model import DeliveryRecord, Notification, OutboxItem
from shared.alerts.secrets import Redactor
from shared.alerts.sinks.base import Notifier, SendOutcome

if TYPE_CHECKING:
    from shared.alerts.repository import AlertRepository, PendingEntry

log = logging.getLogger(__name__)

DELIVERED, RETRYING, DEAD, SKIPPED = "delivered", "retrying", "dead-lettered", "skipped"


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 10
    backoff: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(minutes=30)
    max_parallel: int = 8


@dataclass(frozen=True)
class DeliveryReport:
    delivery_id: str
    sink: str
    outcome: str
    attempts: int = 0
    status: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "deliveryId": self.delivery_id,
            "sink": self.sink,
            "outcome": self.outcome,
            "attempts": self.attempts,
            "status": self.status,
            "error": self.error,
            "nextAttemptAt": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
        }


def delivery_id(event_id: str, sink: str) -> str:
    return f"{event_id}.{sink}"


def _queue_of(entry: PendingEntry) -> tuple[tuple[str, str], tuple[int, int]]:
    """(fingerprint, sink) and the entry's place in that queue: (episode, seq). Receivers key on the
    fingerprint (PagerDuty's dedup_key), so one episode's resolve must go before the next one's trigger."""
    try:
        fp, episode = parse_alert_id(entry.alert_id)
    except ValueError:  # not an alert episode (a test notification): its own queue
        return (entry.alert_id, entry.sink), (0, entry.seq)
    return (fp, entry.sink), (episode, entry.seq)


def heads_due(entries: list[PendingEntry], now: datetime) -> list[PendingEntry]:
    """For each (fingerprint, sink) queue, its earliest event, if that one is due. A later event (of this
    episode or a later one) never goes before an earlier one is delivered or dead-lettered."""
    heads: dict[tuple[str, str], PendingEntry] = {}
    places: dict[tuple[str, str], tuple[int, int]] = {}
    for entry in entries:
        key, place = _queue_of(entry)
        if key not in heads or place < places[key]:
            heads[key], places[key] = entry, place
    return sorted(
        (e for e in heads.values() if e.next_attempt_at <= now), key=lambda e: (e.alert_id, e.seq, e.sink)
    )


class OutboxRelay:
    def __init__(
        self,
        repo: AlertRepository,
        sinks: Mapping[str, Notifier],
        clock: Callable[[], datetime],
        policy: DeliveryPolicy,
        audit: AuditTrail,
        redact: Redactor,
    ) -> None:
        self.repo = repo
        self.sinks = dict(sinks)
        self.clock = clock
        self.policy = policy
        self.audit = audit
        self.redact = redact

    def enqueue(self, notification: Notification, seq: int) -> list[str]:
        """One pending delivery per configured sink. Idempotent: re-enqueueing an id changes nothing."""
        now = self.clock()
        ids = []
        for name in self.sinks:
            item = OutboxItem(
                delivery_id=delivery_id(notification.event_id, name),
                sink=name,
                seq=seq,
                notification=notification,
                created_at=now,
                next_attempt_at=now,
            )
            self.repo.enqueue(item)
            ids.append(item.delivery_id)
        return ids

    def deliver_due(self, only: Collection[str] | None = None, max_rounds: int = 10) -> list[DeliveryReport]:
        """Send what is due now. Rounds repeat while they make progress, so a queued resolve follows its
        trigger in the same run once the trigger is through."""
        reports: list[DeliveryReport] = []
        for _ in range(max_rounds):
            batch = heads_due(self.repo.pending_index(), self.clock())
            if only is not None:
                batch = [e for e in batch if e.delivery_id in only]
            if not batch:
                break
            workers = max(1, min(self.policy.max_parallel, len(batch)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alert-delivery") as pool:
                round_reports = list(pool.map(lambda e: self._deliver_isolated(e.delivery_id), batch))
            reports += round_reports
            if not any(r.outcome in (DELIVERED, DEAD) for r in round_reports):
                break
        return reports

    def _deliver_isolated(self, delivery: str) -> DeliveryReport:
        """One delivery's unexpected failure (a corrupt record, storage hiccup) is logged and reported,
        never allowed to stop the other deliveries of the run; the item stays pending for the next run."""
        try:
            return self._deliver(delivery)
        except Exception as exc:
            log.exception("delivery %s failed unexpectedly; it stays pending", delivery)
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            return DeliveryReport(delivery, "", RETRYING, error=reason[:300])

    def _deliver(self, delivery: str) -> DeliveryReport:
        lease = self.repo.lease_pending(delivery)
        if lease is None:
            return DeliveryReport(delivery, "", SKIPPED, error="held by another worker or already gone")
        try:
            item = self.repo.read_pending(delivery)
            if item is None:
                return DeliveryReport(delivery, "", SKIPPED, error="already gone")
            if self.repo.is_done(delivery):  # delivered before a crash left the pending blob behind
                self.repo.remove_pending(delivery, lease)
                return DeliveryReport(delivery, item.sink, SKIPPED, item.attempts, error="already delivered")
            if item.next_attempt_at > self.clock():
                return DeliveryReport(delivery, item.sink, SKIPPED, item.attempts, error="not due yet")
            return self._record(item, self._send(item), lease)
        finally:
            self.repo.release(lease)

    def _send(self, item: OutboxItem) -> SendOutcome:
        sink = self.sinks.get(item.sink)
        if sink is None:
            return SendOutcome(ok=False, retryable=False, error=f"sink {item.sink!r} is no longer configured")
        try:
            return sink.send(item.notification, item.delivery_id)
        except Exception as exc:  # a bug in a sink must not stop the other deliveries
            message = self.redact(f"{type(exc).__name__}: {exc}")
            log.error("sink %s raised while sending %s: %s", item.sink, item.delivery_id, message)
            return SendOutcome(ok=False, retryable=True, error=message)

    def _record(self, item: OutboxItem, outcome: SendOutcome, lease: Any) -> DeliveryReport:
        """After one send: done, try again later, or give up. The final record is written before the
        pending blob goes, so a crash in between can never lead to a second post."""
        attempts = item.attempts + 1
        if outcome.ok:
            self.repo.finish(self._final(item, DELIVERED, attempts, self.clock(), outcome))
            self.repo.remove_pending(item.delivery_id, lease)
            self.audit.append(
                "alert-delivery", item.delivery_id, DELIVERED, {"sink": item.sink, "attempts": attempts}
            )
            return DeliveryReport(item.delivery_id, item.sink, DELIVERED, attempts, outcome.status)
        if outcome.retryable and attempts < self.policy.max_attempts:
            return self._retry_later(item, outcome, attempts, lease)
        return self._dead_letter(item, outcome, attempts, lease)

    def _retry_later(
        self, item: OutboxItem, outcome: SendOutcome, attempts: int, lease: Any
    ) -> DeliveryReport:
        delay = retry_delay(attempts, self.policy.backoff, self.policy.backoff_max, outcome.retry_after)
        next_at = self.clock() + delay
        changes = {
            "attempts": attempts,
            "next_attempt_at": next_at,
            "last_error": outcome.error,
            "last_status": outcome.status,
        }
        self.repo.reschedule(item.model_copy(update=changes), lease)
        log.warning(
            "delivery %s to %s failed (attempt %d/%d): %s; next try at %s",
            item.delivery_id,
            item.sink,
            attempts,
            self.policy.max_attempts,
            outcome.error,
            next_at.isoformat(),
        )
        self.audit.append(
            "alert-delivery",
            item.delivery_id,
            "retry-scheduled",
            {
                "sink": item.sink,
                "attempts": attempts,
                "error": outcome.error,
                "status": outcome.status,
                "nextAttemptAt": next_at.isoformat(),
            },
        )
        return DeliveryReport(
            item.delivery_id, item.sink, RETRYING, attempts, outcome.status, outcome.error, next_at
        )

    def _dead_letter(
        self, item: OutboxItem, outcome: SendOutcome, attempts: int, lease: Any
    ) -> DeliveryReport:
        self.repo.finish(self._final(item, DEAD, attempts, self.clock(), outcome))
        self.repo.remove_pending(item.delivery_id, lease)
        why = "not retryable" if not outcome.retryable else f"gave up after {attempts} attempts"
        log.error("delivery %s to %s dead-lettered (%s): %s", item.delivery_id, item.sink, why, outcome.error)
        self.audit.append(
            "alert-delivery",
            item.delivery_id,
            DEAD,
            {
                "sink": item.sink,
                "attempts": attempts,
                "error": outcome.error,
                "status": outcome.status,
                "why": why,
            },
        )
        return DeliveryReport(item.delivery_id, item.sink, DEAD, attempts, outcome.status, outcome.error)

    @staticmethod
    def _final(
        item: OutboxItem, outcome: str, attempts: int, now: datetime, sent: SendOutcome
    ) -> DeliveryRecord:
        return DeliveryRecord(
            delivery_id=item.delivery_id,
            sink=item.sink,
            outcome=outcome,
            attempts=attempts,
            finished_at=now,
            last_error=sent.error,
            last_status=sent.status,
            notification=item.notification,
        )
