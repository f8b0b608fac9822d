"""The sweep's fan-out: one `check` job per check and target whose cadence is due.

Per-deployment checks (SLO, drift) get one job per deployment of every endpoint the workspace lists now,
so a deleted endpoint simply stops being checked; workspace checks (quota, cost) get one job; every running
canary analysis with an interval due by the app's clock gets its `canary` job. The sweep also records each
endpoint's traffic split, so a change no event reported still starts its analysis.

Which cadence slot was last enqueued for each (check, target) is kept in one small state document per
workspace, so a clock that jumps ahead (the emulator, or a sweep that missed slots) still runs each due
check once, and never a burst of the missed slots. A cost run a 429 left incomplete gets one follow-up job
from the first sweep after the wait. Job ids name the slot, so a re-run of the same sweep (a
retried job) enqueues nothing the worker would run twice.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.jobs import Job
from shared.services.canary import due_jobs, observe_traffic

if TYPE_CHECKING:
    from shared.services.checks.base import CheckContext

PER_DEPLOYMENT = ("slo", "drift")
PER_WORKSPACE = ("quota", "cost")


def slot_start(now: datetime, every: timedelta) -> datetime:
    """The start of the cadence slot `now` falls in (slots are aligned to the Unix epoch, in UTC)."""
    seconds = int(every.total_seconds())
    epoch = int(now.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def _workspace_key(workspace_id: str) -> str:
    return hashlib.sha256(workspace_id.lower().encode()).hexdigest()[:16]


def _schedule_name(workspace_id: str) -> str:
    return f"schedule/{_workspace_key(workspace_id)}.json"


def cost_follow_up_name(workspace_id: str) -> str:
    """The state document that asks the sweep for one more cost run after a 429: {"due": ISO time or null};
    the cost check writes it, the sweep reads and clears it."""
    return f"followup/{_workspace_key(workspace_id)}/cost.json"


def check_job(workspace_id: str, check: str, slot: datetime, source: str, now: datetime,
              endpoint: str | None = None, deployment: str | None = None, cause: str | None = None,
              **extra: str) -> Job:
    """The job of one check for one target and slot; `cause` (an event id) makes an event-driven run its own."""
    who = "-".join(p for p in (endpoint, deployment) if p) or "workspace"
    stamp = slot.strftime("%Y%m%dT%H%MZ")
    suffix = f"-{cause}" if cause else ""
    return Job(id=f"chk-{check}-{who}-{stamp}{suffix}"[:300], kind="check", workspace_id=workspace_id,
               source_event_id=source, source_event_type="check",
               target={k: v for k, v in {"check": check, "endpoint": endpoint or "", "deployment": deployment or "",
                                         "slot": slot.isoformat(), **extra}.items() if v},
               created_at=now.isoformat())


def fan_out(ctx: CheckContext, job: Job, now: datetime) -> dict[str, Any]:
    cadences = ctx.settings.checks.cadences()
    azure = ctx.azure
    targets: list[tuple[str, str | None, str | None]] = [(c, None, None) for c in PER_WORKSPACE]
    endpoints = azure.ml.endpoints()
    for endpoint in endpoints:
        observe_traffic(ctx, job.workspace_id, endpoint, now, cause=job.id)  # in case a write event was lost
        for deployment in azure.ml.deployments(endpoint.endpoint):
            targets += [(c, endpoint.endpoint, deployment.name) for c in PER_DEPLOYMENT]
    schedule_name = _schedule_name(job.workspace_id)
    schedule: dict[str, str] = (ctx.state.get_json(schedule_name) or {}).get("last", {})
    sent: list[str] = []
    for check, endpoint, deployment in targets:
        slot = slot_start(now, cadences[check])
        key = "/".join(p or "_" for p in (check, endpoint, deployment))
        if schedule.get(key) == slot.isoformat():
            continue
        child = check_job(job.workspace_id, check, slot, job.id, now, endpoint, deployment)
        ctx.send_job(child.to_json())
        schedule[key] = slot.isoformat()
        sent.append(child.id)
    for canary_job in due_jobs(ctx, job.workspace_id, [e.endpoint for e in endpoints], now, job.id):
        ctx.send_job(canary_job.to_json())
        sent.append(canary_job.id)
    follow_up = _cost_follow_up(ctx, job, now)
    if follow_up is not None:
        sent.append(follow_up)
    live = {"/".join(p or "_" for p in t) for t in targets}
    schedule = {k: v for k, v in schedule.items() if k in live}  # forget deleted endpoints and deployments
    ctx.state.put_json(schedule_name, {"last": schedule, "at": now.isoformat()})
    ctx.audit.append("sweep", job.workspace_id, "fanned_out", {"job_id": job.id, "now": now.isoformat(),
                                                               "jobs": sent, "targets": len(targets)})
    return {"jobs": sent, "targets": len(targets)}


def _cost_follow_up(ctx: CheckContext, job: Job, now: datetime) -> str | None:
    """One more cost run once the wait a 429 asked for has passed (the cost check plans it). The job id names
    the due time, so two sweeps enqueue it once."""
    name = cost_follow_up_name(job.workspace_id)
    plan = ctx.state.get_json(name)
    if not plan or not plan.get("due") or datetime.fromisoformat(plan["due"]) > now:
        return None
    child = check_job(job.workspace_id, "cost", datetime.fromisoformat(plan["due"]), job.id, now, cause="follow-up")
    ctx.send_job(child.to_json())
    ctx.state.put_json(name, {**plan, "due": None, "enqueued": child.id, "enqueued_at": now.isoformat()})
    return child.id
