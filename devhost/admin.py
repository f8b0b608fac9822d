"""The host admin API: run a non-HTTP function now, list functions, host status.

`POST /admin/functions/NAME` with `{"input": ...}` answers 202 and runs the function in the background
(timer: input ignored; queue: input is the message body; Event Grid: input is one event). When keys
are configured every admin call except status/ping needs the master key, as in Azure (function keys
alone close it: no key opens it); locally without keys nothing is required, as with `func start`.
Disabled functions can still be run here (the real host allows it with the master key). The API never
waits for the function: runs are in the background and their outcome is in the invocation log.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from devhost import __version__
from devhost.auth import admin_allowed, presented_key
from devhost.eventgrid import BadEvents, decode_event, parse_events
from devhost.indexing import EVENT_GRID, HTTP, QUEUE, TIMER, FunctionSpec
from devhost.jsonsafe import TooDeep, loads
from devhost.queues import manual_fields, trigger_input
from devhost.timers import MANUAL

if TYPE_CHECKING:
    from devhost.server import Host

STARTED = time.monotonic()


class BadInput(ValueError):
    """The admin request's input does not fit the function's trigger."""


def describe(host: Host, spec: FunctionSpec) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": spec.name,
        "trigger": spec.trigger_type,
        "isDisabled": spec.disabled,
        "language": "python",
        "config": {"bindings": [dict(spec.trigger.attrs), *(dict(b.attrs) for b in spec.outputs)]},
    }
    if spec.trigger_type == HTTP:
        info["invoke_url_template"] = host.http_url(spec)
    return info


class AdminApi:
    def __init__(self, host: Host) -> None:
        self.host = host

    def _denied(self, request: Request) -> Response | None:
        if not admin_allowed(self.host.config.keys, presented_key(request.headers, request.query_params)):
            return Response(status_code=401)
        return None

    async def status(self, request: Request) -> Response:
        return JSONResponse(
            {
                "state": "Running" if self.host.running else "Stopping",
                "id": self.host.config.host_id,
                "version": __version__,
                "processUptime": int((time.monotonic() - STARTED) * 1000),
                "functions": sorted(self.host.functions),
            }
        )

    async def ping(self, request: Request) -> Response:
        return Response(status_code=200)

    async def list_functions(self, request: Request) -> Response:
        return self._denied(request) or JSONResponse(
            [describe(self.host, s) for s in self.host.functions.values()]
        )

    async def function(self, request: Request) -> Response:
        denied = self._denied(request)
        if denied:
            return denied
        name = request.path_params["name"]
        spec = self.host.functions.get(name)
        if spec is None:
            return PlainTextResponse(f"function '{name}' not found", status_code=404)
        if request.method == "GET":
            return JSONResponse(describe(self.host, spec))
        try:
            payload = loads(await request.body() or b"{}")
        except TooDeep as exc:
            return PlainTextResponse(f"request body is {exc}", status_code=400)
        except ValueError as exc:
            return PlainTextResponse(f"request body is not valid JSON: {exc}", status_code=400)
        raw = payload.get("input") if isinstance(payload, dict) else None
        try:
            self._start(spec, raw)
        except (BadEvents, BadInput) as exc:
            return PlainTextResponse(str(exc), status_code=400)
        return Response(status_code=202)

    def _start(self, spec: FunctionSpec, raw: Any) -> None:
        host = self.host
        if spec.trigger_type == TIMER:
            host.background(host.timers[spec.name].fire(MANUAL))
        elif spec.trigger_type == QUEUE:
            if raw is None:
                raise BadInput('a queue function needs {"input": <message body>}')
            body = raw if isinstance(raw, str) else json.dumps(raw)
            message, metadata = trigger_input(body, manual_fields())
            host.background(host.invoker.invoke(spec, message, metadata, cause=MANUAL))
        elif spec.trigger_type == EVENT_GRID:
            if raw is None:
                raise BadInput('an Event Grid function needs {"input": <one event>}')
            events = parse_events(raw if isinstance(raw, str) else json.dumps(raw))
            if len(events) != 1:
                raise BadInput(f"input must be exactly one event, got {len(events)}")
            event = decode_event(events[0])
            host.background(host.invoker.invoke(spec, event, events[0], cause=MANUAL))
        else:
            raise BadInput(f"'{spec.name}' is an HTTP function: call it at {host.http_url(spec)}")
