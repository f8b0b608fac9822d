"""HTTP API and outbox timer for alerts, as an azure.functions Blueprint (`bp`), registered by function_app.

Routes (function keys; admin key for silences):
    GET    /api/alerts?state=active|open|acknowledged|resolved|all&severity=Sev0..Sev4&endpoint=NAME
    GET    /api/alerts/{id}            POST /api/alerts/{id}/ack        POST /api/alerts/{id}/resolve
    GET    /api/alerts/{id}/report     POST /api/alerts/test
    GET|POST /api/silences             DELETE /api/silences/{id}
Timer `alerts_outbox_timer` (every minute): resolves, re-notifies, drains the outbox.

Handlers are thin: parse -> shared.alerts.api -> respond. Only azure.functions is imported at module load
(`import function_app` must stay fast); the service is built on first use from app settings and reused.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import azure.functions as func

from shared import telemetry

if TYPE_CHECKING:
    from shared.alerts.api import AlertApi, ApiResponse

log = logging.getLogger(__name__)
bp = func.Blueprint()

OUTBOX_SCHEDULE = "0 */1 * * * *"  # every minute, on the second 0 (NCRONTAB, UTC)
_SETTING_PREFIXES = (
    "MODELWATCH_",
    "AzureWebJobsStorage",
    "WEBSITE_OWNER_NAME",
    "WEBSITE_RESOURCE_GROUP",
    "WEBSITE_SITE_NAME",
)


@lru_cache(maxsize=4)
def _api_for(settings: tuple[tuple[str, str], ...]) -> AlertApi:
    from shared.alerts.api import AlertApi
    from shared.bootstrap import alert_service

    return AlertApi(alert_service(dict(settings)))


def _api() -> AlertApi:
    """One service per distinct set of settings (tests and the devhost change settings between calls)."""
    relevant = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_SETTING_PREFIXES)))
    return _api_for(relevant)


def _respond(call: Callable[[AlertApi], ApiResponse]) -> func.HttpResponse:
    from shared.alerts.api import ApiResponse, error_body, handle
    from shared.config import SettingsError

    try:
        api = _api()
    except SettingsError as exc:  # names the setting, never its value
        log.error("alert API unavailable: %s", exc)
        answer = ApiResponse(500, error_body(500, str(exc)))
    else:
        answer = handle(lambda: call(api))
    return func.HttpResponse(
        answer.payload(),
        status_code=answer.status,
        mimetype=answer.content_type,
        charset="utf-8",
        headers=answer.headers,
    )


def _headers(req: func.HttpRequest) -> dict[str, str]:
    return {k.lower(): v for k, v in req.headers.items()}


@bp.function_name("alerts_list")
@bp.route(route="alerts", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@telemetry.traced("http")
def alerts_list(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(lambda api: api.list_alerts(dict(req.params)))


@bp.function_name("alerts_test")
@bp.route(route="alerts/test", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@telemetry.traced("http")
def alerts_test(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(lambda api: api.test(req.get_body(), _headers(req)))


@bp.function_name("alerts_get")
@bp.route(route="alerts/{id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@telemetry.traced("http")
def alerts_get(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(lambda api: api.get_alert(req.route_params.get("id")))


@bp.function_name("alerts_ack")
@bp.route(route="alerts/{id}/ack", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@telemetry.traced("http")
def alerts_ack(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(lambda api: api.acknowledge(req.route_params.get("id"), req.get_body(), _headers(req)))


@bp.function_name("alerts_resolve")
@bp.route(route="alerts/{id}/resolve", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@telemetry.traced("http")
def alerts_resolve(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(lambda api: api.resolve(req.route_params.get("id"), req.get_body(), _headers(req)))


@bp.function_name("alerts_report")
@bp.route(route="alerts/{id}/report", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@telemetry.traced("http")
def alerts_report(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(lambda api: api.report(req.route_params.get("id")))


@bp.function_name("silences")
@bp.route(route="silences", methods=["GET", "POST"], auth_level=func.AuthLevel.ADMIN)
@telemetry.traced("http")
def silences(req: func.HttpRequest) -> func.HttpResponse:
    if req.method == "POST":
        return _respond(lambda api: api.create_silence(req.get_body()))
    return _respond(lambda api: api.list_silences(dict(req.params)))


@bp.function_name("silences_delete")
@bp.route(route="silences/{id}", methods=["DELETE"], auth_level=func.AuthLevel.ADMIN)
@telemetry.traced("http")
def silences_delete(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(lambda api: api.expire_silence(req.route_params.get("id"), _headers(req)))


@bp.function_name("alerts_outbox_timer")
@bp.timer_trigger(arg_name="timer", schedule=OUTBOX_SCHEDULE, run_on_startup=False, use_monitor=True)
@telemetry.traced("timer")
def alerts_outbox_timer(timer: func.TimerRequest) -> None:
    report: Any = _api().service.tick()
    outcomes: dict[str, int] = {}
    for delivery in report.deliveries:
        outcomes[delivery.outcome] = outcomes.get(delivery.outcome, 0) + 1
    log.info(
        "alerts timer: resolved=%d notified=%d deliveries=%s past_due=%s",
        len(report.resolved),
        len(report.notified),
        outcomes,
        timer.past_due,
    )
