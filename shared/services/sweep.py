"""The scheduled sweep: once per schedule slot, enqueue one periodic-check job per allowed workspace.

Timers are at-least-once and may fire on two instances (the Functions host's singleton lock is not
a hard guarantee: azure-functions-host#2968), so the slot is
claimed with an idempotency record: however many runs a slot gets, one of them enqueues.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.jobs import Job
from shared.services.intake import Audit, Claims

SWEEP_SCHEDULE = "0 */5 * * * *"
SLOT_MINUTES = 5


def slot_of(now: datetime, minutes: int = SLOT_MINUTES) -> str:
    floored = now.astimezone(UTC).replace(second=0, microsecond=0)
    floored = floored.replace(minute=floored.minute - floored.minute % minutes)
    return floored.strftime("%Y%m%dT%H%MZ")


@dataclass
class Sweep:
    allowed_workspaces: tuple[str, ...]
    claims: Claims
    send_job: Callable[[str], object]
    audit: Audit

    def run(self, now: datetime, past_due: bool) -> str:
        slot = slot_of(now)
        key = f"timer/scheduled_sweep/{slot}"
        claim = self.claims.claim(key)
        if claim.status != "new":
            state = "ran" if claim.status == "duplicate" else "running"
            self.audit.append("timer", "scheduled_sweep", "skipped", {"slot": slot, "reason": f"slot already {state}"})
            return "skipped"
        jobs: list[str] = []
        try:
            for ws in self.allowed_workspaces:
                digest = hashlib.sha256(ws.lower().encode()).hexdigest()[:12]
                job = Job(id=f"sweep-{slot}-{digest}", kind="scheduled_sweep", workspace_id=ws,
                          source_event_id=f"timer-{slot}", source_event_type="timer", created_at=now.isoformat())
                self.send_job(job.to_json())
                jobs.append(job.id)
        except Exception as exc:
            # Give the slot back so a retry (or a run by hand) can do it now; jobs already sent are deduped by id.
            self.claims.release(key, claim.token)
            self.audit.append("timer", "scheduled_sweep", "failed", {"slot": slot, "jobs_sent": jobs,
                                                                    "reason": f"{type(exc).__name__}: {exc}"})
            raise
        self.claims.complete(key, {"jobs": jobs})
        self.audit.append("timer", "scheduled_sweep", "executed", {"slot": slot, "past_due": past_due, "jobs": jobs})
        return "executed"
