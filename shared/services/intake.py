"""Intake of Event Grid events: route, dedupe, enqueue, audit. Fast by design: no check runs here.

An event is acknowledged (the function returns) once its job is durably on the queue and recorded, or
once it is known to be a duplicate, foreign, malformed or too large to queue (audited, never retried:
retrying cannot fix it). Two cases raise, so that the host answers 500 and Event Grid redelivers later:
a concurrent delivery of the same event still in flight elsewhere (`EventInFlight`; nothing is lost if
that other delivery dies), and storage failing right now (`IntakeUnavailable`). Neither message carries
a storage error's text (the host puts the message in the 500 body); the full error goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Protocol

from shared import telemetry
from shared.events import InboundEvent, Routing

log = logging.getLogger("modelwatch.intake")

QUEUE_MESSAGE_LIMIT = 64 * 1024  # bytes: Azure Storage's limit for one queue message, as stored
JOB_LIMIT = QUEUE_MESSAGE_LIMIT // 4 * 3  # the queue holds jobs in base64 (4 bytes per 3): 48 KB of job at most
TEXT_LIMIT = 1024  # characters of a subject or detail kept in the audit trail; an event may carry 1 MB


class Audit(Protocol):
    def append(self, kind: str, subject: str, decision: str, details: dict | None = None) -> object: ...


class Claims(Protocol):
    def claim(self, key: str): ...  # -> shared.adapters.idempotency.Claim
    def complete(self, key: str, outcome: dict | None = None) -> None: ...
    def release(self, key: str, token: str | None = None) -> None: ...


class EventInFlight(RuntimeError):
    """The same event is being handled by another delivery right now; let Event Grid retry this one."""


class IntakeUnavailable(RuntimeError):
    """Storage failed while taking an event in; the delivery fails so that Event Grid redelivers it.

    The message names the event and the step, never the storage error's text (it is chained and logged)."""


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """`text` cut to `limit` characters, saying how long it was, so an audit record stays small and honest."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters in all)"


def base64_size(size: int) -> int:
    return (size + 2) // 3 * 4


@dataclass
class Intake:
    allowed_workspaces: tuple[str, ...]
    claims: Claims
    send_job: Callable[[str], object]
    audit: Audit

    def handle(self, event: InboundEvent, route: Callable[[InboundEvent, tuple[str, ...]], Routing]) -> str:
        """Returns the decision: accepted | duplicate | ignored | rejected. Traced (span `intake`); an accepted
        job carries the span's traceparent, so the worker's spans join this event's trace."""
        with telemetry.span("intake", event_id=clip(event.id, 200), event_type=clip(event.type, 200)) as current:
            decision = self._handle(event, route, current)
            current.set(decision=decision)
            return decision

    def _handle(self, event: InboundEvent, route: Callable[[InboundEvent, tuple[str, ...]], Routing],
                current: telemetry.Span) -> str:
        routing = route(event, self.allowed_workspaces)
        details = {"event_id": clip(event.id), "event_type": clip(event.type), "source": clip(event.source),
                   "schema": event.schema, "reason": routing.reason}
        subject = clip(event.subject or event.source or event.id or "(unknown)")
        if routing.action in ("reject", "ignore"):
            decision = "rejected" if routing.action == "reject" else "ignored"
            with self._step(event, "auditing it"):
                self.audit.append("event", subject, decision, details)
            return decision
        assert routing.job is not None
        current.set(job_id=routing.job.id, job_kind=routing.job.kind)
        job = replace(routing.job, traceparent=telemetry.current_traceparent()).to_json()
        size = len(job.encode("utf-8", "surrogatepass"))
        if size > JOB_LIMIT:
            details["reason"] = (
                f"its job message would be {size:,} bytes ({base64_size(size):,} in base64), over the queue's "
                f"64 KB limit ({JOB_LIMIT:,} bytes before base64): a field of the event is far larger than "
                "Azure produces")
            with self._step(event, "auditing it"):
                self.audit.append("event", subject, "rejected", details)
            return "rejected"
        job_details = {"job_id": clip(routing.job.id)}
        key = f"events/{event.id}"
        with self._step(event, "claiming it"):
            claim = self.claims.claim(key)
        if claim.status == "duplicate":
            with self._step(event, "auditing it"):
                self.audit.append("event", subject, "duplicate", {**details, **job_details})
            return "duplicate"
        if claim.status == "busy":
            raise EventInFlight(f"event {clip(event.id, 200)} is being handled by another delivery; retry later")
        try:
            with self._step(event, "enqueueing its job"):
                self.send_job(job)
        except IntakeUnavailable:
            self._give_back(key, claim.token)
            raise
        with self._step(event, "completing its claim"):
            self.claims.complete(key, {"job_id": routing.job.id})
        with self._step(event, "auditing it"):
            self.audit.append("event", subject, "accepted", {**details, **job_details,
                                                             "job_kind": routing.job.kind})
        return "accepted"

    @staticmethod
    @contextmanager
    def _step(event: InboundEvent, what: str) -> Iterator[None]:
        """Run one storage step; a failure becomes IntakeUnavailable naming the step (full error in the log)."""
        try:
            yield
        except Exception as exc:
            log.exception("intake of event %s failed while %s", clip(event.id, 200), what)
            raise IntakeUnavailable(
                f"event {clip(event.id, 200)}: storage failed while {what} ({type(exc).__name__}); "
                "the delivery fails so that Event Grid redelivers it"
            ) from exc

    def _give_back(self, key: str, token: str | None) -> None:
        """Release the claim after a failed enqueue, so a redelivery can take it at once; if that fails too,
        the claim goes stale and is taken over after the claim timeout."""
        try:
            self.claims.release(key, token)
        except Exception:
            log.exception("could not release the claim %s; a redelivery takes it over once it is stale", clip(key))
