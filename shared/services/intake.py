"""Intake of Event Grid events: route, dedupe, enqueue, audit. Fast by design: no check runs here.

An event is acknowledged (the function returns) once its job is durably on the queue and recorded, or
once it is known to be a duplicate, foreign or malformed (audited, never retried: retrying cannot fix
it). The one case that raises is a concurrent delivery of the same event still in flight elsewhere:
the host then answers 500 and Event Grid redelivers later, so nothing is lost if that other
delivery dies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shared.events import InboundEvent, Routing


class Audit(Protocol):
    def append(self, kind: str, subject: str, decision: str, details: dict | None = None) -> object: ...


class Claims(Protocol):
    def claim(self, key: str): ...  # -> shared.adapters.idempotency.Claim
    def complete(self, key: str, outcome: dict | None = None) -> None: ...
    def release(self, key: str, token: str | None = None) -> None: ...


class EventInFlight(RuntimeError):
    """The same event is being handled by another delivery right now; let Event Grid retry this one."""


@dataclass
class Intake:
    allowed_workspaces: tuple[str, ...]
    claims: Claims
    send_job: Callable[[str], object]
    audit: Audit

    def handle(self, event: InboundEvent, route: Callable[[InboundEvent, tuple[str, ...]], Routing]) -> str:
        """Returns the decision: accepted | duplicate | ignored | rejected."""
        routing = route(event, self.allowed_workspaces)
        details = {"event_id": event.id, "event_type": event.type, "source": event.source,
                   "schema": event.schema, "reason": routing.reason}
        subject = event.subject or event.source or event.id or "(unknown)"
        if routing.action == "reject":
            self.audit.append("event", subject, "rejected", details)
            return "rejected"
        if routing.action == "ignore":
            self.audit.append("event", subject, "ignored", details)
            return "ignored"
        assert routing.job is not None
        key = f"events/{event.id}"
        claim = self.claims.claim(key)
        if claim.status == "duplicate":
            self.audit.append("event", subject, "duplicate", {**details, "job_id": routing.job.id})
            return "duplicate"
        if claim.status == "busy":
            raise EventInFlight(f"event {event.id} is being handled by another delivery; retry later")
        try:
            self.send_job(routing.job.to_json())
        except Exception:
            self.claims.release(key, claim.token)
            raise
        self.claims.complete(key, {"job_id": routing.job.id})
        self.audit.append("event", subject, "accepted", {**details, "job_id": routing.job.id,
                                                         "job_kind": routing.job.kind})
        return "accepted"
