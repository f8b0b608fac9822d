"""The on-call HTTP API for endpoints, as an azure.functions Blueprint (`bp`), registered by function_app.

Routes (function keys):
    GET  /api/endpoints[?format=html]
         each endpoint, its deployments and traffic, the latest verdict of every check
    POST /api/endpoints/{endpoint}/probe[?deployment=NAME][&timeout=10s][&format=html]
         body (optional): {"deployment": "blue", "sample": {"income": 52000, ...}, "by": "alice"}
         runs the endpoint's checks now within the time bound (`timeout` may shorten
         MODELWATCH_PROBE_TIMEOUT, never lengthen it) and scores one sample row on each deployment

JSON for machines, `?format=html` for a person. Errors are JSON `{"error": {"status", "message"}}`: 400 for a
bad parameter or body (naming it), 404 for an unknown endpoint or deployment, 502 when Azure failed before
any check could start, 503 when no workspace is configured. A check that fails or runs out of time is not
an HTTP error: the probe answers 200 and names it. Thin: parse -> shared.services.probe -> respond.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import azure.functions as func

from shared import telemetry
from shared.entrypoints.http import BadJson, error, json_response, parse_json
from shared.entrypoints.wiring import services

log = logging.getLogger(__name__)
bp = func.Blueprint()

FORMATS = ("json", "html")


class BadRequest(ValueError):
    def __init__(self, message: str, parameter: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def _format(req: func.HttpRequest) -> str:
    value = (req.params.get("format") or "json").lower()
    if value not in FORMATS:
        raise BadRequest(f"format={value!r} must be one of {', '.join(FORMATS)}", "format")
    return value


def _html(page: str) -> func.HttpResponse:
    return func.HttpResponse(page, status_code=200, mimetype="text/html", charset="utf-8")


def _unavailable(exc: Exception) -> func.HttpResponse | None:
    """The answer for failures that are not the caller's: no workspace, bad settings, Azure down."""
    from azure.core.exceptions import AzureError

    from shared.adapters.azure_ml import AzureUnavailable
    from shared.clock import ClockUnavailable
    from shared.config import SettingsError
    from shared.services.checks.base import AzureNotConfigured

    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, AzureNotConfigured | SettingsError | ClockUnavailable):
        return error(503, first)
    if isinstance(exc, AzureUnavailable | AzureError):
        return error(502, f"Azure failed before any check could start: {type(exc).__name__}: {first}")
    return None


@bp.function_name("endpoints_list")
@bp.route(route="endpoints", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@telemetry.traced("http")
def endpoints_list(req: func.HttpRequest) -> func.HttpResponse:
    from monitors.probe_report import render_endpoints
    from shared.services.probe import ProbeService

    try:
        fmt = _format(req)
        view = ProbeService(services().checks).endpoints_view()
    except BadRequest as exc:
        return error(400, str(exc), parameter=exc.parameter)
    except Exception as exc:
        answer = _unavailable(exc)
        if answer is None:
            raise
        return answer
    return _html(render_endpoints(view)) if fmt == "html" else json_response(view)


def _body(req: func.HttpRequest) -> dict[str, Any]:
    raw = req.get_body() or b""
    if not raw.strip():
        return {}
    try:
        body = parse_json(raw)
    except BadJson as exc:
        raise BadRequest(f"the body is {exc}", "body") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, got {type(body).__name__}", "body")
    for name, kind in (("deployment", str), ("sample", dict), ("by", str)):
        if body.get(name) is not None and not isinstance(body[name], kind):
            raise BadRequest(f"{name} must be a JSON {'string' if kind is str else 'object'}", name)
    return body


def _timeout(req: func.HttpRequest) -> timedelta | None:
    from shared.config import parse_duration

    raw = req.params.get("timeout")
    if not raw:
        return None
    try:
        value = parse_duration(raw)
    except ValueError as exc:
        raise BadRequest(f"timeout: {exc}", "timeout") from None
    if value <= timedelta(0):
        raise BadRequest(f"timeout={raw!r} must be longer than zero", "timeout")
    return value


@bp.function_name("endpoints_probe")
@bp.route(route="endpoints/{endpoint}/probe", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@telemetry.traced("http")
def endpoints_probe(req: func.HttpRequest) -> func.HttpResponse:
    from monitors.probe_report import render_probe
    from shared.services.probe import DeploymentNotFound, EndpointNotFound, ProbeRequest, ProbeService

    try:
        fmt, body, timeout = _format(req), _body(req), _timeout(req)
        query_deployment = req.params.get("deployment")
        if query_deployment and body.get("deployment") and query_deployment != body["deployment"]:
            raise BadRequest(f"deployment is {query_deployment!r} in the query but {body['deployment']!r} "
                             "in the body", "deployment")
        request = ProbeRequest(endpoint=req.route_params.get("endpoint", ""),
                               deployment=query_deployment or body.get("deployment") or None,
                               timeout=timeout, sample=body.get("sample"), by=body.get("by"))
        svc = services()
        report = ProbeService(svc.checks).probe(request, svc.clock.now())
    except BadRequest as exc:
        return error(400, str(exc), parameter=exc.parameter)
    except (EndpointNotFound, DeploymentNotFound) as exc:
        return error(404, str(exc))
    except Exception as exc:
        answer = _unavailable(exc)
        if answer is None:
            raise
        log.warning("probe of %s failed before any check: %s", req.route_params.get("endpoint"), exc)
        return answer
    payload = report.to_dict()
    return _html(render_probe(payload)) if fmt == "html" else json_response(payload)
