"""What every check shares: the verdict it records, the alerts it fires or clears, and the context it runs in.

A check is `run(ctx, job, now) -> list[Finding]`: it fetches plain data through adapters, asks a pure judge
in `monitors/` for a decision, and says which alerts hold (`firing=True`) and which cleared. `apply` then
does the recording the same way for every check: alert service (fire / clear, with keep-firing and
repeat handled there), the latest verdict per (endpoint, deployment, check) for the on-call API, and one
audit record carrying the evidence (model and version, profile hash, window, row counts, thresholds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from monitors.verdict import Verdict
from shared import telemetry

if TYPE_CHECKING:
    from shared.adapters.azure_ml import AzureMLAdapter
    from shared.adapters.collected_data import CollectedData
    from shared.adapters.costs import CostsAdapter
    from shared.adapters.metrics import MetricsAdapter
    from shared.alerts.model import AlertSignal
    from shared.alerts.service import AlertService
    from shared.clock import Clock
    from shared.config import Settings
    from shared.jobs import Job


class AzureNotConfigured(RuntimeError):
    """No Azure ML workspace is configured for Azure calls, so a check that needs one cannot run.

    Retrying cannot fix it: the job is recorded as skipped with this reason, and /api/health says so."""


class Audit(Protocol):
    def append(self, kind: str, subject: str, decision: str, details: dict | None = None) -> object: ...


class VerdictStore(Protocol):
    def put(self, verdict: Verdict) -> None: ...
    def for_endpoint(self, endpoint: str) -> list[Verdict]: ...


class Azure(Protocol):
    """The Azure adapters a check may use, built on first use (a check that needs none costs no SDK import)."""

    workspace_id: str

    @property
    def ml(self) -> AzureMLAdapter: ...
    @property
    def metrics(self) -> MetricsAdapter: ...
    @property
    def costs(self) -> CostsAdapter: ...
    @property
    def collected(self) -> CollectedData: ...
    def endpoint_resource_id(self, endpoint: str) -> str: ...


class StateStore(Protocol):
    """Small JSON documents a check keeps between runs (reference profiles, cost cache, schedules)."""

    def get_json(self, name: str) -> dict[str, Any] | None: ...
    def put_json(self, name: str, value: dict[str, Any]) -> None: ...
    def get_bytes(self, name: str) -> bytes | None: ...
    def put_bytes(self, name: str, value: bytes, content_type: str = "application/octet-stream") -> None: ...
    def create_json(self, name: str, value: dict[str, Any]) -> bool: ...
    def update_json(self, name: str, change: Callable[[dict[str, Any] | None], dict[str, Any] | None]
                    ) -> dict[str, Any] | None: ...
    def list_json(self, prefix: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class AlertDecision:
    """An alert condition and whether it holds now. Cleared conditions resolve after keep-firing."""

    signal: AlertSignal
    firing: bool


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    alerts: tuple[AlertDecision, ...] = ()


@dataclass
class CheckContext:
    settings: Settings
    clock: Clock
    audit: Audit
    alerts: AlertService
    verdicts: VerdictStore
    state: StateStore
    azure_factory: Callable[[], Azure]
    send_job: Callable[[str], object]
    leases: Any = None  # shared.adapters.leases.BlobLeases: once-at-a-time work (rollbacks)
    _azure: Azure | None = None

    @property
    def azure(self) -> Azure:
        if self._azure is None:
            self._azure = self.azure_factory()
        return self._azure


Check = Callable[[CheckContext, "Job", datetime], list[Finding]]


def subject_of(workspace_id: str, endpoint: str | None, deployment: str | None) -> str:
    parts = [workspace_id]
    if endpoint:
        parts.append(f"onlineEndpoints/{endpoint}")
        if deployment:
            parts.append(f"deployments/{deployment}")
    return "/".join(parts)


def apply(ctx: CheckContext, job: Job, findings: list[Finding]) -> dict[str, Any]:
    """Record each finding: alerts, the latest verdict, the audit trail. Returns the job's outcome.

    Traced: one span `check <name>` per verdict (check, endpoint, deployment, status, alerts fired and cleared),
    counted in the `modelwatch.checks.run` and `modelwatch.verdicts` metrics. A fired alert's evidence says where
    it came from (`origin`: the event, the job and, with telemetry on, the trace)."""
    telemetry.count("modelwatch.checks.run", job_kind=job.kind, check=job.target.get("check") or job.kind)
    out: list[dict[str, Any]] = []
    for finding in findings:
        v = finding.verdict
        with telemetry.span(f"check {v.check}", check=v.check, endpoint=v.endpoint, deployment=v.deployment,
                            status=v.status, job_kind=job.kind, job_id=job.id, event_id=job.source_event_id) as span:
            fired, cleared = [], []
            for decision in finding.alerts:
                signal = with_origin(decision.signal, job, span.trace_id) if decision.firing else decision.signal
                alert = ctx.alerts.observe(signal, decision.firing)
                if decision.firing and alert is not None:
                    fired.append(alert.id)
                elif alert is not None:
                    cleared.append(alert.id)
            ctx.verdicts.put(v)
            ctx.audit.append("check", subject_of(job.workspace_id, v.endpoint, v.deployment), v.status,
                             {"check": v.check, "job_id": job.id, "summary": v.summary, "evidence": v.evidence,
                              "alerts_fired": fired, "alerts_cleared": cleared})
            span.set(alerts_fired=fired, alerts_cleared=cleared)
        telemetry.count("modelwatch.verdicts", check=v.check, status=v.status)
        out.append({"check": v.check, "endpoint": v.endpoint, "deployment": v.deployment, "status": v.status,
                    "summary": v.summary, "alerts_fired": fired, "alerts_cleared": cleared})
    return {"verdicts": out}


def with_origin(signal: AlertSignal, job: Job, trace_id: str | None = None) -> AlertSignal:
    """The signal with `evidence.origin`: the event and job that led to it (and the trace, when traced), so an
    on-call engineer can go from the alert to the audit trail and the trace. Evidence is not part of an alert's
    identity, so this never opens a second alert."""
    origin = {"event_id": job.source_event_id, "job_id": job.id, "job_kind": job.kind}
    if trace_id:
        origin["trace_id"] = trace_id
    return signal.model_copy(update={"evidence": {**signal.evidence, "origin": origin}})
