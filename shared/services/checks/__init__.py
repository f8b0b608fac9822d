"""Checks: where a job becomes a decision.

One handler per job kind (`job_handlers`). Event jobs (a model registered, a run failed, an endpoint or
deployment written or deleted) run at once; the timer's `scheduled_sweep` job fans out one `check` job
per check and target whose cadence is due (`fanout`), so a slow check never delays another and the
work spreads over instances. A `check` job names its check in `target["check"]`; each lives in its own
module here and follows `base.py`: adapters fetch plain data, a pure judge in `monitors/` decides,
`base.apply` records alerts, the latest verdict and the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.jobs import Job
    from shared.services.checks.base import CheckContext

#: check name -> module in this package with `run(ctx, job, now) -> list[Finding]`
CHECK_MODULES = {
    "slo": "shared.services.checks.slo",
    "drift": "shared.services.checks.drift",
    "quota": "shared.services.checks.quota",
    "cost": "shared.services.checks.cost",
    "canary": "shared.services.checks.canary",
    "replay": "shared.services.checks.replay",
}


class UnknownCheck(ValueError):
    """A `check` job names a check this app does not have: retrying cannot fix it."""


def run_check(ctx: CheckContext, job: Job) -> dict[str, Any]:
    from shared.services.checks.base import apply

    name = job.target.get("check", "")
    if name not in CHECK_MODULES:
        raise UnknownCheck(f"job {job.id} names check {name!r}; known: {', '.join(sorted(CHECK_MODULES))}")
    module = import_module(CHECK_MODULES[name])
    return apply(ctx, job, module.run(ctx, job, ctx.clock.now()))


def _unless_unconfigured(ctx: CheckContext, handler: Callable[[Job], dict[str, Any]]
                         ) -> Callable[[Job], dict[str, Any]]:
    from shared.services.checks.base import AzureNotConfigured, subject_of

    def run(job: Job) -> dict[str, Any]:
        try:
            return handler(job)
        except AzureNotConfigured as exc:
            ctx.audit.append("check", subject_of(job.workspace_id, job.target.get("endpoint"),
                                                 job.target.get("deployment")), "skipped",
                             {"job_id": job.id, "reason": str(exc)})
            return {"skipped": str(exc)}

    return run


def _run_each(steps: dict[str, Callable[[], dict[str, Any]]]) -> dict[str, Any]:
    """Run every step of a job even when one raises, so one failure never hides another's result (each records
    its own verdict); then raise the first failure, the others named in its notes, so the job is retried."""
    out: dict[str, Any] = {}
    failed: list[tuple[str, Exception]] = []
    for name, step in steps.items():
        try:
            out[name] = step()
        except Exception as exc:  # raised below, after the other steps ran
            failed.append((name, exc))
    if failed:
        first = failed[0][1]
        for name, exc in failed[1:]:
            first.add_note(f"{name} failed too: {type(exc).__name__}: {exc}")
        first.add_note(f"failed: {', '.join(n for n, _ in failed)}; completed: {', '.join(out) or 'none'}")
        raise first
    return out


def job_handlers(ctx: CheckContext) -> dict[str, Callable[[Job], dict[str, Any]]]:
    from shared.services.checks import events, fanout, gate, reference

    handlers: dict[str, Callable[[Job], dict[str, Any]]] = {
        "scheduled_sweep": lambda job: fanout.fan_out(ctx, job, ctx.clock.now()),
        "check": lambda job: run_check(ctx, job),
        "model_registered": lambda job: _run_each({
            "reference": lambda: reference.on_model_registered(ctx, job, ctx.clock.now()),
            "gate": lambda: gate.evaluate_gate(ctx, job, ctx.clock.now()),
        }),
        "run_failed": lambda job: events.on_run_failed(ctx, job, ctx.clock.now()),
        "azureml_drift_detected": lambda job: events.on_azureml_drift(ctx, job, ctx.clock.now()),
        "endpoint_deleted": lambda job: events.on_deleted(ctx, job, ctx.clock.now()),
        "deployment_deleted": lambda job: events.on_deleted(ctx, job, ctx.clock.now()),
        "endpoint_changed": lambda job: events.on_changed(ctx, job, ctx.clock.now()),
        "deployment_changed": lambda job: events.on_changed(ctx, job, ctx.clock.now()),
    }
    return {kind: _unless_unconfigured(ctx, handler) for kind, handler in handlers.items()}
