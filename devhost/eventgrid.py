"""`/runtime/webhooks/eventgrid?functionName=NAME`, answering as the Functions Event Grid extension.

404 `cannot find function: 'X'` for a missing/unknown function; OPTIONS = CloudEvents abuse-protection
handshake; `aeg-event-type: SubscriptionValidation` echoes the validation code (200); `Notification`
decodes every element with the library's own converter, invokes the function once per element in
parallel, and answers 202 when all succeeded or 500 with the exception message when one failed (Event
Grid then redelivers the whole batch); `Unsubscribe` / `SubscriptionDeletion` give 202; anything else
400. Only a body that is not JSON (or nests deeper than 64 levels, Newtonsoft.Json's limit in the real
host), or is JSON but neither an event nor an array, is refused with 400 before anything is invoked.

Each element is decoded on its own. One the library cannot decode (an `eventTime` it cannot parse, an
element that is not an object) is acknowledged without invoking the function: it is logged as a warning
and recorded with outcome `undecodable` and the reason, and its valid siblings run as usual. In Azure the
Python worker would fail that one invocation and the extension would answer 500 for the batch, so Event
Grid would redeliver it until its retry policy gives up, though retrying cannot make such an event
decodable; the app could not even see it to audit it, since the worker fails before calling it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from devhost.auth import admin_allowed, is_master, presented_key
from devhost.indexing import EVENT_GRID, FunctionSpec
from devhost.invoker import Invoker
from devhost.jsonsafe import TooDeep, loads
from devhost.logs import record_invocation
from devhost.settings import Keys

log = logging.getLogger("devhost.eventgrid")
REASON_CHARS = 500  # an undecodable event's reason quotes its value; a 1 MB value need not be logged whole

ALLOWED_ORIGINS = (
    "eventgrid.azure.net",
    "eventgrid.azure.us",
    "eventgrid.azure.eaglex.ic.gov",
    "eventgrid.azure.microsoft.scloud",
    "eventgrid.azure.cn",
)


class BadEvents(ValueError):
    """A delivery body, or one element of it, that cannot be taken as events; the message says why."""


def parse_events(body: bytes | str) -> list[Any]:
    """A delivery body as a list of elements (a single CloudEvents object is wrapped); elements are not checked
    here: each is decoded on its own (`decode_event`), so one bad element never refuses its siblings."""
    try:
        parsed = loads(body)
    except TooDeep as exc:
        raise BadEvents(f"request body is {exc}") from None
    except ValueError as exc:
        raise BadEvents(f"request body is not valid JSON: {exc}") from None
    if isinstance(parsed, dict):
        return [parsed]
    if not isinstance(parsed, list):
        raise BadEvents(f"expected an event object or an array of events, got JSON {type(parsed).__name__}")
    return parsed


def decode_event(event: Any, index: int = 0) -> Any:
    """func.EventGridEvent or func.CloudEvent, exactly as the worker would build it; BadEvents saying why not."""
    if not isinstance(event, dict):
        raise BadEvents(f"element [{index}] is a JSON {type(event).__name__}, not an event object")
    try:
        return EventGridEventInConverter.decode(
            meta.Datum(type="json", value=json.dumps(event)), trigger_metadata=None
        )
    except Exception as exc:  # the library's converter failing for any reason means: not decodable
        reason = f"{type(exc).__name__}: {exc}"
        if len(reason) > REASON_CHARS:
            reason = reason[:REASON_CHARS] + f"... ({len(reason) - REASON_CHARS} more characters)"
        raise BadEvents(f"event {event.get('id')!r} cannot be decoded (element [{index}]): {reason}") from None


def validation_code(body: bytes) -> str:
    events = parse_events(body)
    first = events[0] if events else None
    data = first.get("data") if isinstance(first, dict) else None
    if isinstance(data, str):  # CloudEvents validation: data is JSON inside a string
        try:
            data = loads(data)
        except ValueError:  # not JSON, or too deep (TooDeep)
            data = None
    code = data.get("validationCode") if isinstance(data, dict) else None
    if not code:
        raise BadEvents("SubscriptionValidation event without data.validationCode")
    return str(code)


def _handshake(request: Request) -> Response:
    origin = request.headers.get("webhook-request-origin", "").strip().lower()
    allowed = origin if origin in ALLOWED_ORIGINS else ALLOWED_ORIGINS[0]
    return Response(status_code=200, headers={"WebHook-Allowed-Origin": allowed, "Allow": "POST"})


class EventGridWebhook:
    def __init__(self, functions: list[FunctionSpec], invoker: Invoker, keys: Keys) -> None:
        self._functions = {s.name: s for s in functions if s.trigger_type == EVENT_GRID}
        self._invoker = invoker
        self._keys = keys

    async def handle(self, request: Request) -> Response:
        key = presented_key(request.headers, request.query_params)
        if not admin_allowed(self._keys, key):
            return Response(status_code=401)
        name = request.query_params.get("functionName", "")
        spec = self._functions.get(name)
        if spec is None or (spec.disabled and not is_master(self._keys, key)):
            return PlainTextResponse(f"cannot find function: '{name}'", status_code=404)
        if request.method == "OPTIONS":
            return _handshake(request)
        kind = request.headers.get("aeg-event-type", "")
        body = await request.body()
        try:
            if kind == "SubscriptionValidation":
                return JSONResponse({"validationResponse": validation_code(body)})
            if kind == "Notification":
                return await self.notify(spec, parse_events(body))
        except BadEvents as exc:
            return PlainTextResponse(str(exc), status_code=400)
        if kind in ("Unsubscribe", "SubscriptionDeletion"):
            return Response(status_code=202)
        return PlainTextResponse(
            "aeg-event-type header must be SubscriptionValidation, Notification or Unsubscribe, "
            f"got {kind!r}",
            status_code=400,
        )

    async def notify(self, spec: FunctionSpec, events: list[Any]) -> Response:
        runs = []
        for index, raw in enumerate(events):
            try:
                event = decode_event(raw, index)
            except BadEvents as exc:
                self._undecodable(spec, raw, str(exc))
                continue
            runs.append(self._invoker.invoke(spec, event, raw, event_id=raw.get("id")))
        results = await asyncio.gather(*runs)
        failed = [r for r in results if not r.succeeded]
        if failed:
            return PlainTextResponse(failed[0].error_message, status_code=500)
        return Response(status_code=202)

    @staticmethod
    def _undecodable(spec: FunctionSpec, raw: Any, reason: str) -> None:
        """Acknowledge an element the library cannot decode: say so in the log, never invoke the function."""
        log.warning("%s; acknowledged without invoking '%s' (in Azure this one invocation would fail and Event "
                    "Grid would redeliver the batch)", reason, spec.name)
        event_id = raw.get("id") if isinstance(raw, dict) else None
        record_invocation(function=spec.name, trigger=spec.trigger_type, invocation_id=str(uuid.uuid4()),
                          duration_ms=0.0, outcome="undecodable", reason=reason, event_id=event_id)
