"""Handlers for the lifecycle events Azure ML sends: a run failed, Azure ML's own drift monitor fired, an
endpoint or deployment was written or deleted.

A run failure and Azure ML's drift signal are relayed as alerts (one per run, one per drift monitor), with
the event's facts as evidence. A deleted endpoint or deployment resolves every alert about it; its checks
stop because the sweep lists only what exists. A written endpoint or deployment is recorded with its
traffic split (a deployment that gains traffic starts a canary analysis, shared.services.canary) and gets an
SLO check at once, not at the next cadence slot.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitors.verdict import Verdict
from shared.services.checks.base import AlertDecision, Finding, apply, subject_of
from shared.services.checks.fanout import check_job, slot_start

if TYPE_CHECKING:
    from shared.jobs import Job
    from shared.services.checks.base import CheckContext

RUN_FAILED_RULE = "azureml-run-failed"
AZUREML_DRIFT_RULE = "azureml-dataset-drift"
RESOLVED_BY = "modelwatch"


def _signal(**fields: Any) -> Any:
    from shared.alerts.model import AlertSignal

    return AlertSignal(**fields)


def on_run_failed(ctx: CheckContext, job: Job, now: datetime) -> dict[str, Any]:
    run_id = job.target.get("run_id") or "(unknown run)"
    experiment = job.target.get("experiment") or "(unknown experiment)"
    target = f"{job.workspace_id}/jobs/{run_id}" if job.target.get("run_id") else job.workspace_id
    signal = _signal(
        rule=RUN_FAILED_RULE, severity="Sev3", signal_type="Log", targets=(target,),
        labels={"run": run_id, "experiment": experiment},
        description=f"Azure ML run {run_id} of experiment {experiment} failed",
        evidence={"run_id": run_id, "experiment": experiment, "event_id": job.source_event_id,
                  "event_time": job.event_time},
    )
    verdict = Verdict(check="run", status="alert", summary=signal.description, at=now,
                      evidence={"run_id": run_id, "experiment": experiment, "event_id": job.source_event_id})
    return apply(ctx, job, [Finding(verdict, (AlertDecision(signal, True),))])


def on_azureml_drift(ctx: CheckContext, job: Job, now: datetime) -> dict[str, Any]:
    monitor = job.target.get("drift_monitor") or "(unnamed drift monitor)"
    coefficient = job.target.get("drift_coefficient") or "unknown"
    signal = _signal(
        rule=AZUREML_DRIFT_RULE, severity="Sev3", signal_type="Log", targets=(job.workspace_id,),
        labels={"drift_monitor": monitor},
        description=f"Azure ML dataset drift monitor {monitor} detected drift (coefficient {coefficient})",
        evidence={"drift_monitor": monitor, "drift_coefficient": coefficient, "run_id": job.target.get("run_id"),
                  "event_id": job.source_event_id, "source": "Azure ML DatasetDriftDetected"},
    )
    verdict = Verdict(check="azureml_drift", status="alert", summary=signal.description, at=now,
                      evidence=dict(signal.evidence))
    return apply(ctx, job, [Finding(verdict, (AlertDecision(signal, True),))])


def on_deleted(ctx: CheckContext, job: Job, now: datetime) -> dict[str, Any]:
    endpoint, deployment = job.target.get("endpoint"), job.target.get("deployment") or None
    resolved = []
    for alert in ctx.alerts.list_alerts(endpoint=endpoint):
        if deployment and alert.labels.get("deployment") != deployment:
            continue
        what = f"deployment {endpoint}/{deployment}" if deployment else f"endpoint {endpoint}"
        ctx.alerts.resolve(alert.id, RESOLVED_BY, f"{what} was deleted (event {job.source_event_id})")
        resolved.append(alert.id)
    what = "deployment" if deployment else "endpoint"
    ctx.audit.append("check", subject_of(job.workspace_id, endpoint, deployment), "stopped",
                     {"job_id": job.id, "reason": f"{what} deleted", "alerts_resolved": resolved})
    ctx.verdicts.put(Verdict(check="lifecycle", status="deleted", summary=f"{what} deleted; its checks stopped",
                             at=now, endpoint=endpoint, deployment=deployment,
                             evidence={"event_id": job.source_event_id, "alerts_resolved": resolved}))
    return {"alerts_resolved": resolved}


def on_changed(ctx: CheckContext, job: Job, now: datetime) -> dict[str, Any]:
    """Record the endpoint's traffic as it is now (starting a canary analysis when traffic moved to a deployment
    that had none) and check its deployments' SLOs at once."""
    from shared.adapters.azure_ml import ResourceMissing
    from shared.services.canary import observe_traffic

    endpoint = job.target.get("endpoint", "")
    try:
        traffic = ctx.azure.ml.endpoint_traffic(endpoint)
        deployments = [d.name for d in ctx.azure.ml.deployments(endpoint)]
    except ResourceMissing as exc:  # written then deleted before we looked: the delete event follows
        ctx.audit.append("check", subject_of(job.workspace_id, endpoint, None), "gone", {"job_id": job.id,
                                                                                        "reason": str(exc)})
        return {"note": str(exc)}
    started = observe_traffic(ctx, job.workspace_id, traffic, now, cause=job.source_event_id)
    slot = slot_start(now, ctx.settings.checks.slo_every)
    sent = []
    for deployment in deployments:
        child = check_job(job.workspace_id, "slo", slot, job.id, now, endpoint, deployment,
                          cause=job.source_event_id)
        ctx.send_job(child.to_json())
        sent.append(child.id)
    ctx.audit.append("check", subject_of(job.workspace_id, endpoint, job.target.get("deployment") or None),
                     "traffic_recorded", {"job_id": job.id, "traffic": traffic.traffic,
                                          "mirror": traffic.mirror_traffic, "jobs": sent, "analyses_started": started})
    return {"traffic": traffic.traffic, "jobs": sent, "analyses_started": started}
