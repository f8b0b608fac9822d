"""`/runtime/webhooks/eventgrid?functionName=NAME`, answering as the Functions Event Grid extension.

404 `cannot find function: 'X'` for a missing/unknown function; OPTIONS = CloudEvents abuse-protection
handshake; `aeg-event-type: SubscriptionValidation` echoes the validation code (200); `Notification`
decodes every element with the library's own converter, invokes the function once per element in
parallel, and answers 202 when all succeeded or 500 with the exception message when one failed (Event
Grid then redelivers the whole batch); `Unsubscribe` / `SubscriptionDeletion` give 202; anything else
400. A body that is not JSON, or not events, is refused with 400 before anything is invoked: a batch
is never half-run because of a bad element.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from devhost.auth import is_master, presented_key
from devhost.indexing import EVENT_GRID, FunctionSpec
from devhost.invoker import Invoker
from devhost.settings import Keys

ALLOWED_ORIGINS = (
    "eventgrid.azure.net",
    "eventgrid.azure.us",
    "eventgrid.azure.eaglex.ic.gov",
    "eventgrid.azure.microsoft.scloud",
    "eventgrid.azure.cn",
)


class BadEvents(ValueError):
    """The delivered body is not a JSON event or array of events; the message says why."""


def parse_events(body: bytes | str) -> list[dict[str, Any]]:
    """A delivery body as a list of event objects (a single CloudEvents object is wrapped)."""
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise BadEvents(f"request body is not valid JSON: {exc}") from None
    events = [parsed] if isinstance(parsed, dict) else parsed
    if not isinstance(events, list):
        raise BadEvents(f"expected an event object or an array of events, got JSON {type(parsed).__name__}")
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            raise BadEvents(f"element [{i}] is a JSON {type(event).__name__}, not an event object")
    return events


def decode_event(event: Mapping[str, Any]) -> Any:
    """func.EventGridEvent or func.CloudEvent, exactly as the worker would build it."""
    try:
        return EventGridEventInConverter.decode(
            meta.Datum(type="json", value=json.dumps(event)), trigger_metadata=None
        )
    except (ValueError, TypeError) as exc:
        raise BadEvents(f"event {event.get('id')!r} cannot be decoded: {exc}") from None


def validation_code(body: bytes) -> str:
    events = parse_events(body)
    data = events[0].get("data") if events else None
    if isinstance(data, str):  # CloudEvents validation: data is JSON inside a string
        try:
            data = json.loads(data)
        except ValueError:
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
        if self._keys.master_key and not is_master(self._keys, key):
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

    async def notify(self, spec: FunctionSpec, events: list[dict[str, Any]]) -> Response:
        decoded = [decode_event(e) for e in events]  # all or nothing: decode before invoking any
        results = await asyncio.gather(
            *(
                self._invoker.invoke(spec, ev, raw, event_id=raw.get("id"))
                for ev, raw in zip(decoded, events, strict=True)
            )
        )
        failed = [r for r in results if not r.succeeded]
        if failed:
            return PlainTextResponse(failed[0].error_message, status_code=500)
        return Response(status_code=202)
