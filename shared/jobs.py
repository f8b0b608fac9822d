"""The job a webhook hands to the queue-triggered worker: plain data, serialized as JSON.

A job is keyed by the event that caused it (`id`), so a duplicate delivery, a redelivered queue
message or a replay all name the same job and the worker can run it once.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

JOB_KINDS = frozenset({
    "model_registered",
    "run_failed",
    "azureml_drift_detected",
    "endpoint_changed",
    "endpoint_deleted",
    "deployment_changed",
    "deployment_deleted",
    "scheduled_sweep",
    "check",
})


class MalformedJob(ValueError):
    """A queue message that is not a job this worker understands. Retrying cannot fix it."""


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    workspace_id: str
    source_event_id: str
    source_event_type: str
    target: dict[str, str] = field(default_factory=dict)
    event_time: str | None = None
    created_at: str | None = None
    #: W3C trace context of the span that enqueued the job (telemetry on), so the worker continues the trace of
    #: the event that caused it; not part of the job's identity, absent when telemetry is off
    traceparent: str | None = None

    def to_json(self) -> str:
        fields = asdict(self)
        if fields["traceparent"] is None:
            del fields["traceparent"]
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Job:
        try:
            raw: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MalformedJob(f"job message is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
        if not isinstance(raw, dict):
            raise MalformedJob(f"job message must be a JSON object, got {type(raw).__name__}")
        missing = [k for k in ("id", "kind", "workspace_id", "source_event_id", "source_event_type") if not raw.get(k)]
        if missing:
            raise MalformedJob(f"job message lacks required field(s): {', '.join(missing)}")
        if raw["kind"] not in JOB_KINDS:
            raise MalformedJob(f"job kind {raw['kind']!r} is unknown (known: {', '.join(sorted(JOB_KINDS))})")
        target = raw.get("target") or {}
        if not isinstance(target, dict):
            raise MalformedJob("job field 'target' must be an object")
        unknown = set(raw) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise MalformedJob(f"job message has unknown field(s): {', '.join(sorted(unknown))}")
        if raw.get("traceparent") is not None and not isinstance(raw["traceparent"], str):
            raise MalformedJob("job field 'traceparent' must be a string (a W3C traceparent)")
        return cls(**{**raw, "target": {str(k): str(v) for k, v in target.items()}})
