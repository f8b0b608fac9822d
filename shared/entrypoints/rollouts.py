"""Canary analyses and rollbacks over HTTP, as an azure.functions Blueprint (`bp`), registered by function_app.

Routes:
    GET  /api/endpoints/{endpoint}/analyses                   (function key) newest first, with verdicts
    GET  /api/endpoints/{endpoint}/analyses/{id}[?format=html] (function key) one analysis; html: its report
    POST /api/endpoints/{endpoint}/analyses/{id}/retry        (admin key) body {"by": "alice"}: release the
         sticky rollback record and analyse the canary anew
    POST /api/endpoints/{endpoint}/rollback                   (admin key) body {"reason": "...", "by": "alice",
         "deployment": "green" (default: the smallest live share), "to": "blue" (default: the others)}

A manual rollback skips the mode, the sticky record and the cool-down, never the safety checks: a refused
rollback answers 409 naming why. Errors are JSON `{"error": {"status", "message"}}`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import azure.functions as func

from shared import telemetry
from shared.entrypoints.http import BadJson, error, json_response, parse_json
from shared.entrypoints.wiring import services

log = logging.getLogger(__name__)
bp = func.Blueprint()


def _answer(call: Callable[[], Any]) -> func.HttpResponse:
    from shared.services.rollouts import Invalid, NotFound

    try:
        result = call()
    except BadJson as exc:
        return error(400, f"request body is {exc}")
    except Invalid as exc:
        return error(400, str(exc), field=exc.field)
    except NotFound as exc:
        return error(404, str(exc))
    if isinstance(result, func.HttpResponse):
        return result
    if isinstance(result, dict) and result.get("action") == "refuse":
        return json_response(result, 409)
    if isinstance(result, dict) and result.get("action") == "busy":
        return json_response(result, 409)
    return json_response(result)


def _body(req: func.HttpRequest) -> dict[str, Any]:
    raw = req.get_body() or b"{}"
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise BadJson("not a JSON object")
    return value


def _rollouts() -> Any:
    from shared.services.rollouts import Rollouts

    return Rollouts(services().checks)


@bp.function_name("analyses_list")
@bp.route(route="endpoints/{endpoint}/analyses", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@telemetry.traced("http")
def analyses_list(req: func.HttpRequest) -> func.HttpResponse:
    endpoint = req.route_params.get("endpoint", "")
    return _answer(lambda: {"endpoint": endpoint, "analyses": _rollouts().analyses(endpoint)})


@bp.function_name("analyses_get")
@bp.route(route="endpoints/{endpoint}/analyses/{id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@telemetry.traced("http")
def analyses_get(req: func.HttpRequest) -> func.HttpResponse:
    endpoint, analysis_id = req.route_params.get("endpoint", ""), req.route_params.get("id", "")
    if (req.params.get("format") or "json").lower() == "html":
        return _answer(lambda: func.HttpResponse(_rollouts().report(endpoint, analysis_id), mimetype="text/html",
                                                 charset="utf-8"))
    return _answer(lambda: _rollouts().analysis(endpoint, analysis_id))


@bp.function_name("analyses_retry")
@bp.route(route="endpoints/{endpoint}/analyses/{id}/retry", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@telemetry.traced("http")
def analyses_retry(req: func.HttpRequest) -> func.HttpResponse:
    from shared.services.rollouts import Invalid

    endpoint, analysis_id = req.route_params.get("endpoint", ""), req.route_params.get("id", "")

    def call() -> Any:
        body = _body(req)
        by = body.get("by")
        if not isinstance(by, str) or not by.strip():
            raise Invalid("'by' is required: who decided to retry", "by")
        return _rollouts().retry(endpoint, analysis_id, by.strip(), services().clock.now())

    return _answer(call)


@bp.function_name("endpoint_rollback")
@bp.route(route="endpoints/{endpoint}/rollback", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@telemetry.traced("http")
def endpoint_rollback(req: func.HttpRequest) -> func.HttpResponse:
    endpoint = req.route_params.get("endpoint", "")
    return _answer(lambda: _rollouts().rollback(endpoint, _body(req), services().clock.now()))
