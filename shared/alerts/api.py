"""The alert HTTP API without the HTTP framework: parse and validate a request, call the service, shape the
answer. The blueprint only moves bytes between azure.functions and this module.

Bad input -> 400 with a message that says which field is wrong and how; unknown id -> 404; an action that
makes no sense in the alert's state -> 409. Must never put a secret or a stack trace in a response.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from shared.alerts.errors import AlertNotFound, InvalidSilence, SilenceNotFound
from shared.alerts.lifecycle import TransitionError, parse_alert_id
from shared.alerts.model import Alert, AlertState, Matcher, Severity, Silence, explain
from shared.alerts.schema import links
from shared.alerts.service import AlertService
from shared.alerts.settings import parse_duration
from shared.entrypoints.http import BadJson, parse_json

STATES = {
    "open": [AlertState.OPEN],
    "acknowledged": [AlertState.ACKNOWLEDGED],
    "resolved": [AlertState.RESOLVED],
    "active": [AlertState.OPEN, AlertState.ACKNOWLEDGED],
    "all": None,
}
SILENCE_STATES = ("active", "pending", "expired", "all")
PRINCIPAL_HEADER = "x-ms-client-principal-name"  # set by App Service authentication (Easy Auth)
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
MAX_MATCHERS = 100  # a silence is matched against every alert each time one fires; no real one needs more


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> str:
        return self.body if isinstance(self.body, str) else json.dumps(self.body, default=str)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SilenceRequest(BaseModel):
    """POST /api/silences body: Alertmanager's silence fields, plus `duration` as an alternative to endsAt."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    matchers: list[Matcher] = Field(min_length=1, max_length=MAX_MATCHERS)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    duration: str | None = None
    created_by: str = Field(min_length=1, max_length=200)
    comment: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _one_end(self) -> SilenceRequest:
        if (self.ends_at is None) == (self.duration is None):
            raise ValueError("give exactly one of endsAt (RFC 3339 time) or duration (e.g. 2h)")
        return self


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str | None = Field(default=None, min_length=1, max_length=200)
    comment: str | None = Field(default=None, max_length=2000)


def alert_view(alert: Alert, base_url: str | None, detail: bool = False) -> dict[str, Any]:
    """The API's view of an alert: the record without outbox internals, plus links."""
    exclude = {"pending_events"} | (set() if detail else {"timeline", "evidence"})
    view = alert.model_dump(mode="json", by_alias=True, exclude=exclude)
    view["links"] = links(alert.id, alert.has_report, base_url)
    return view


def silence_view(silence: Silence, now: datetime) -> dict[str, Any]:
    return {**silence.to_dict(), "status": {"state": silence.state_at(now)}}


def _json_body(body: bytes, model: type[BaseModel], required: bool) -> Any:
    if not body.strip():
        if required:
            raise ApiError(400, "request body: expected a JSON object, got an empty body")
        return model()
    try:
        data = parse_json(body)
    except BadJson as exc:
        raise ApiError(400, f"request body: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"request body: expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, f"request body: {explain(exc)}") from exc


class AlertApi:
    def __init__(self, service: AlertService) -> None:
        self.service = service

    @property
    def base_url(self) -> str | None:
        return self.service.settings.public_base_url

    @staticmethod
    def _alert_id(value: str | None) -> str:
        try:
            parse_alert_id(value or "")
        except ValueError as exc:
            raise ApiError(400, str(exc)) from exc
        return value or ""

    @staticmethod
    def _actor(request: ActionRequest | None, headers: Mapping[str, str]) -> str:
        if request is not None and request.by:
            return request.by
        return headers.get(PRINCIPAL_HEADER) or "api-key-holder"

    def list_alerts(self, params: Mapping[str, str]) -> ApiResponse:
        state = params.get("state", "active")
        if state not in STATES:
            raise ApiError(400, f"state: expected one of {', '.join(STATES)}, got {state!r}")
        severity = params.get("severity") or None
        if severity is not None and severity not in {s.value for s in Severity}:
            raise ApiError(400, f"severity: expected one of Sev0, Sev1, Sev2, Sev3, Sev4, got {severity!r}")
        endpoint = params.get("endpoint") or None
        alerts = self.service.list_alerts(STATES[state], Severity(severity) if severity else None, endpoint)
        views = [alert_view(a, self.base_url) for a in alerts]
        return ApiResponse(200, {"count": len(views), "alerts": views})

    def get_alert(self, alert_id: str | None) -> ApiResponse:
        alert = self.service.get(self._alert_id(alert_id))
        return ApiResponse(200, alert_view(alert, self.base_url, detail=True))

    def acknowledge(self, alert_id: str | None, body: bytes, headers: Mapping[str, str]) -> ApiResponse:
        checked = self._alert_id(alert_id)
        request = _json_body(body, ActionRequest, required=False)
        try:
            alert = self.service.acknowledge(checked, self._actor(request, headers), request.comment)
        except TransitionError as exc:
            raise ApiError(409, str(exc)) from exc
        return ApiResponse(200, alert_view(alert, self.base_url, detail=True))

    def resolve(self, alert_id: str | None, body: bytes, headers: Mapping[str, str]) -> ApiResponse:
        checked = self._alert_id(alert_id)
        request = _json_body(body, ActionRequest, required=False)
        alert = self.service.resolve(checked, self._actor(request, headers), request.comment)
        return ApiResponse(200, alert_view(alert, self.base_url, detail=True))

    def report(self, alert_id: str | None) -> ApiResponse:
        html = self.service.report(self._alert_id(alert_id))
        return ApiResponse(200, html, "text/html", {"Content-Security-Policy": REPORT_CSP})

    def test(self, body: bytes, headers: Mapping[str, str]) -> ApiResponse:
        request = _json_body(body, ActionRequest, required=False)
        result = self.service.send_test(self._actor(request, headers))
        ok = all(d.outcome == "delivered" for d in result.deliveries)
        return ApiResponse(
            200 if ok else 502,
            {
                "notificationId": result.notification_id,
                "allDelivered": ok,
                "deliveries": [d.to_dict() for d in result.deliveries],
            },
        )

    def list_silences(self, params: Mapping[str, str]) -> ApiResponse:
        state = params.get("state", "all")
        if state not in SILENCE_STATES:
            raise ApiError(400, f"state: expected one of {', '.join(SILENCE_STATES)}, got {state!r}")
        now = self.service.clock()
        unreadable: list[dict[str, str]] = []  # stored silences that no longer parse: they silence nothing
        views = [silence_view(s, now) for s in self.service.list_silences(state, unreadable)]
        return ApiResponse(200, {"count": len(views), "silences": views, "unreadable": unreadable})

    def create_silence(self, body: bytes) -> ApiResponse:
        request: SilenceRequest = _json_body(body, SilenceRequest, required=True)
        start = request.starts_at or self.service.clock()
        if request.duration is not None:
            try:
                ends_at = start + parse_duration(request.duration)
            except ValueError as exc:
                raise ApiError(400, f"duration: {exc}") from exc
            except OverflowError as exc:
                raise ApiError(400, "duration: startsAt + duration is after the year 9999") from exc
        else:
            ends_at = request.ends_at  # type: ignore[assignment]
        try:
            silence = self.service.create_silence(
                request.matchers, ends_at, request.created_by, request.comment, request.starts_at
            )
        except InvalidSilence as exc:
            raise ApiError(400, str(exc)) from exc
        return ApiResponse(201, silence_view(silence, self.service.clock()))

    def expire_silence(self, silence_id: str | None, headers: Mapping[str, str]) -> ApiResponse:
        try:
            uuid.UUID(silence_id or "")
        except ValueError as exc:
            raise ApiError(400, f"silence id {silence_id!r} is not a UUID") from exc
        silence = self.service.expire_silence(silence_id or "", self._actor(None, headers))
        return ApiResponse(200, silence_view(silence, self.service.clock()))


def handle(call: Any) -> ApiResponse:
    """Run an API call and map known failures to status codes; anything else propagates (500 + host log)."""
    try:
        return call()
    except ApiError as exc:
        return ApiResponse(exc.status, error_body(exc.status, exc.message))
    except (AlertNotFound, SilenceNotFound) as exc:
        return ApiResponse(404, error_body(404, str(exc.args[0]) if exc.args else "not found"))


def error_body(status: int, message: str) -> dict[str, Any]:
    """The app's one error shape, the same as every other HTTP function's (shared.entrypoints.http.error)."""
    return {"error": {"status": status, "message": message}}
