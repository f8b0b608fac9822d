"""The queue-triggered worker: runs each job once, records every outcome in the audit trail.

Checks plug in through `handlers` (job kind -> callable; `shared.services.checks.job_handlers`). A job
kind without a handler is recorded as received, so nothing is silently dropped. A message that is not a
job, or a handler that fails, raises: the host retries it and after 5 attempts moves it to the poison
queue; the audit trail says why at every attempt.

A job whose claim is held by another attempt is never dropped: that attempt may have died, and this
message may be the only copy left. The worker puts a copy back on the queue, visible once the claim
could have gone stale, and only then lets the host delete this one; when the copy comes back, either
the job is done (duplicate) or the stale claim is taken over and the job runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared import telemetry
from shared.jobs import Job, MalformedJob
from shared.services.intake import Audit, Claims


class JobBusy(RuntimeError):
    """Another attempt holds this job's claim and no copy could be re-queued: let the host retry."""


MAX_DEQUEUE_COUNT = 5  # the Functions host's default maxDequeueCount

JobHandler = Callable[[Job], dict[str, Any]]


@dataclass
class Worker:
    claims: Claims
    audit: Audit
    handlers: Mapping[str, JobHandler] = field(default_factory=dict)
    poison_queue: str = "modelwatch-jobs-poison"
    #: put a message back on the queue, visible after `delay` seconds (None: the job is then retried by the
    #: host instead, which costs one of its 5 attempts)
    requeue: Callable[[str, int], object] | None = None
    busy_retry_seconds: int = 60

    def handle(self, message: str, message_id: str, dequeue_count: int) -> str:
        """Returns the decision: done | duplicate | deferred. Raises to ask for a retry.

        Traced: span `job <kind>` in the trace of the event that caused the job (its `traceparent`), with the
        job's kind, id, event, endpoint, deployment and check, the decision and the Azure calls it made."""
        try:
            job = Job.from_json(message)
        except MalformedJob as exc:
            self._failed(f"queue message {message_id}", dequeue_count, str(exc), {"message_id": message_id})
            raise
        with telemetry.span(f"job {job.kind}", parent=job.traceparent, job_id=job.id, job_kind=job.kind,
                            event_id=job.source_event_id, endpoint=job.target.get("endpoint"),
                            deployment=job.target.get("deployment"), check=job.target.get("check"),
                            message_id=message_id, dequeue_count=dequeue_count) as current:
            decision = self._run(job, message, message_id, dequeue_count)
            current.set(decision=decision)
            return decision

    def _run(self, job: Job, message: str, message_id: str, dequeue_count: int) -> str:
        key = f"jobs/{job.id}"
        claim = self.claims.claim(key)
        subject = _subject(job)
        if claim.status == "duplicate":
            self.audit.append("job", subject, "duplicate", {"job_id": job.id, "message_id": message_id})
            return "duplicate"
        if claim.status == "busy":
            return self._defer(job, message, message_id, subject)
        handler = self.handlers.get(job.kind)
        try:
            outcome = handler(job) if handler else {"note": f"no handler for job kind {job.kind}"}
            self.claims.complete(key, outcome)
        except Exception as exc:
            self.claims.release(key, claim.token)
            self._failed(subject, dequeue_count, f"{type(exc).__name__}: {exc}", {"job_id": job.id})
            raise
        self.audit.append("job", subject, "done", {"job_id": job.id, "kind": job.kind,
                                                   "dequeue_count": dequeue_count, "outcome": outcome})
        return "done"

    def _defer(self, job: Job, message: str, message_id: str, subject: str) -> str:
        details = {"job_id": job.id, "message_id": message_id, "reason": "claim held by another attempt"}
        if self.requeue is None:
            self.audit.append("job", subject, "busy", {**details, "next": "retried by the host"})
            raise JobBusy(f"job {job.id} is claimed by another attempt; retry later")
        self.requeue(message, self.busy_retry_seconds)
        self.audit.append("job", subject, "deferred", {**details, "next": f"copy re-queued, visible in "
                                                                          f"{self.busy_retry_seconds}s"})
        return "deferred"

    def _failed(self, subject: str, dequeue_count: int, reason: str, details: dict[str, Any]) -> None:
        last = dequeue_count >= MAX_DEQUEUE_COUNT
        decision = "poisoned" if last else "failed"
        note = f"moved to {self.poison_queue}" if last else f"will be retried (attempt {dequeue_count})"
        self.audit.append("job", subject, decision, {**details, "reason": reason, "attempt": dequeue_count,
                                                     "next": note})


def _subject(job: Job) -> str:
    parts = [job.workspace_id]
    if job.target.get("endpoint"):
        parts.append(f"onlineEndpoints/{job.target['endpoint']}")
        if job.target.get("deployment"):
            parts.append(f"deployments/{job.target['deployment']}")
    elif job.target.get("model"):
        parts.append(f"models/{job.target['model']}/versions/{job.target.get('version', '')}")
    return "/".join(parts)
