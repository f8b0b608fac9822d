"""Event Grid and CloudEvents parsing, scope filtering and routing to jobs.

Pure: takes the event the Functions library decoded (either schema) and the allowed workspaces, and
says what to do with it: enqueue a job, ignore it (known but not ours to act on), or reject it (outside
the allowed scope, or malformed). Never raises for bad input: every event gets a decision, and the
caller acknowledges it, because retrying a bad event cannot make it good. Event data keys are read
case-insensitively: Azure ML's samples use PascalCase, its SDK models camelCase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from shared.jobs import Job

ML_PREFIX = "Microsoft.MachineLearningServices."
MODEL_REGISTERED = "Microsoft.MachineLearningServices.ModelRegistered"
MODEL_DEPLOYED = "Microsoft.MachineLearningServices.ModelDeployed"
RUN_COMPLETED = "Microsoft.MachineLearningServices.RunCompleted"
RUN_STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
DATASET_DRIFT = "Microsoft.MachineLearningServices.DatasetDriftDetected"
RESOURCE_WRITE_SUCCESS = "Microsoft.Resources.ResourceWriteSuccess"
RESOURCE_DELETE_SUCCESS = "Microsoft.Resources.ResourceDeleteSuccess"

_RESOURCE = re.compile(
    r"^(?P<workspace>/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices"
    r"/workspaces/[^/]+)(?:/onlineEndpoints/(?P<endpoint>[^/]+)(?:/deployments/(?P<deployment>[^/]+))?)?/?$",
    re.IGNORECASE,
)
_MODEL_SUBJECT = re.compile(r"^models/(?P<name>[^:/]+):(?P<version>[^:/]+)$")

Action = Literal["enqueue", "ignore", "reject"]


@dataclass(frozen=True)
class InboundEvent:
    """One event, schema-neutral. `source` is Event Grid's `topic` or CloudEvents' `source`."""

    id: str
    source: str
    subject: str
    type: str
    time: datetime | None
    data: Any
    schema: Literal["EventGridSchema", "CloudEventSchemaV1_0"]


@dataclass(frozen=True)
class Routing:
    """What to do with one event, and why (the why goes to the audit trail)."""

    action: Action
    reason: str
    job: Job | None = None
    workspace_id: str | None = None
    details: dict[str, str] = field(default_factory=dict)


def from_function_event(event: Any) -> InboundEvent:
    """Read an `azure.functions.EventGridEvent` or `azure.functions.CloudEvent` (duck-typed)."""
    if hasattr(event, "specversion"):
        return InboundEvent(
            id=str(getattr(event, "id", "") or ""),
            source=str(getattr(event, "source", "") or ""),
            subject=str(getattr(event, "subject", "") or ""),
            type=str(getattr(event, "type", "") or ""),
            time=getattr(event, "time", None),
            data=event.get_json(),
            schema="CloudEventSchemaV1_0",
        )
    return InboundEvent(
        id=str(getattr(event, "id", "") or ""),
        source=str(getattr(event, "topic", "") or ""),
        subject=str(getattr(event, "subject", "") or ""),
        type=str(getattr(event, "event_type", "") or ""),
        time=getattr(event, "event_time", None),
        data=event.get_json(),
        schema="EventGridSchema",
    )


def malformed_reason(event: InboundEvent) -> str | None:
    """Why this event cannot be processed at all, or None if it has what routing needs."""
    missing = [name for name in ("id", "source", "type") if not getattr(event, name)]
    if missing:
        names = {"source": "topic/source", "type": "eventType/type"}
        return "event lacks " + ", ".join(names.get(m, m) for m in missing)
    if event.data is not None and not isinstance(event.data, dict):
        return f"event data must be a JSON object, got {type(event.data).__name__}"
    return None


def field_of(data: dict[str, Any], name: str) -> Any:
    """`data[name]` with the key matched case-insensitively (None when absent).

    Azure ML's documented samples spell event data in PascalCase (`ModelName`, `DataDriftName`), the SDK's
    models in camelCase (`modelName`, `dataDriftName`); both arrive, so both are read. An exact match wins.
    """
    if name in data:
        return data[name]
    folded = name.casefold()
    return next((value for key, value in data.items() if isinstance(key, str) and key.casefold() == folded), None)


def _text(data: dict[str, Any], name: str) -> str:
    value = field_of(data, name)
    return "" if value is None else str(value)


def _time(event: InboundEvent) -> str | None:
    return event.time.astimezone(UTC).isoformat() if isinstance(event.time, datetime) else None


def _job(event: InboundEvent, kind: str, workspace: str, target: dict[str, str]) -> Job:
    return Job(
        id=f"evt-{event.id}",
        kind=kind,
        workspace_id=workspace,
        source_event_id=event.id,
        source_event_type=event.type,
        target={k: v for k, v in target.items() if v},
        event_time=_time(event),
        created_at=datetime.now(UTC).isoformat(),
    )


def _scope_check(workspace: str | None, allowed: tuple[str, ...], where: str) -> Routing | None:
    if workspace is None:
        return Routing("reject", f"{where} is not an Azure ML workspace resource")
    if workspace.lower() not in {w.lower() for w in allowed}:
        return Routing("reject", f"workspace {workspace} is not in MODELWATCH_ALLOWED_WORKSPACES",
                       workspace_id=workspace)
    return None


def route_ml_event(event: InboundEvent, allowed: tuple[str, ...]) -> Routing:
    """An event from an Azure ML workspace system topic (source = the workspace id)."""
    if (why := malformed_reason(event)) is not None:
        return Routing("reject", f"malformed event: {why}")
    if not event.type.startswith(ML_PREFIX):
        return Routing("ignore", f"event type {event.type} is not an Azure ML event; on_ml_event ignores it")
    match = _RESOURCE.match(event.source)
    ws = match.group("workspace") if match and not match.group("endpoint") else None
    if (rejected := _scope_check(ws, allowed, f"topic {event.source!r}")) is not None:
        return rejected
    assert ws is not None
    data: dict[str, Any] = event.data or {}
    if event.type == MODEL_REGISTERED:
        name, version = field_of(data, "ModelName"), field_of(data, "ModelVersion")
        subject = _MODEL_SUBJECT.match(event.subject)
        name = name or (subject.group("name") if subject else None)
        version = version if version is not None else (subject.group("version") if subject else None)
        if not name or version is None:
            return Routing("reject", "malformed ModelRegistered: no ModelName/ModelVersion in data or subject",
                           workspace_id=ws)
        return Routing("enqueue", "model version registered", workspace_id=ws,
                       job=_job(event, "model_registered", ws, {"model": str(name), "version": str(version)}))
    if event.type == RUN_STATUS_CHANGED:
        status = _text(data, "runStatus").lower()
        if status != "failed":
            return Routing("ignore", f"run status {status or 'unknown'} is not a failure", workspace_id=ws)
        target = {"run_id": _text(data, "runId"), "experiment": _text(data, "experimentName")}
        return Routing("enqueue", "run failed", workspace_id=ws, job=_job(event, "run_failed", ws, target))
    if event.type == DATASET_DRIFT:
        target = {"drift_monitor": _text(data, "DataDriftName"), "run_id": _text(data, "RunId"),
                  "drift_coefficient": _text(data, "DriftCoefficient")}
        return Routing("enqueue", "Azure ML dataset drift monitor fired", workspace_id=ws,
                       job=_job(event, "azureml_drift_detected", ws, target))
    if event.type == MODEL_DEPLOYED:
        return Routing("ignore", "ModelDeployed comes from v1 ACI/AKS services; online endpoints are "
                       "watched through ARM resource events (on_resource_event)", workspace_id=ws)
    return Routing("ignore", f"event type {event.type} is not acted on", workspace_id=ws)


def route_resource_event(event: InboundEvent, allowed: tuple[str, ...]) -> Routing:
    """An ARM resource event (resource group or subscription topic; subject = the resource id)."""
    if (why := malformed_reason(event)) is not None:
        return Routing("reject", f"malformed event: {why}")
    if event.type not in (RESOURCE_WRITE_SUCCESS, RESOURCE_DELETE_SUCCESS):
        return Routing("ignore", f"event type {event.type} is not a resource write/delete success")
    match = _RESOURCE.match(event.subject)
    if match is None or not match.group("endpoint"):
        return Routing("ignore", f"resource {event.subject!r} is not an online endpoint or deployment")
    ws = match.group("workspace")
    if (rejected := _scope_check(ws, allowed, f"resource {event.subject!r}")) is not None:
        return rejected
    endpoint, deployment = match.group("endpoint"), match.group("deployment")
    deleted = event.type == RESOURCE_DELETE_SUCCESS
    if deployment:
        kind = "deployment_deleted" if deleted else "deployment_changed"
    else:
        kind = "endpoint_deleted" if deleted else "endpoint_changed"
    target = {"endpoint": endpoint, "deployment": deployment or ""}
    data: dict[str, Any] = event.data or {}
    if field_of(data, "operationName"):
        target["operation"] = _text(data, "operationName")
    return Routing("enqueue", kind.replace("_", " "), workspace_id=ws, job=_job(event, kind, ws, target))
