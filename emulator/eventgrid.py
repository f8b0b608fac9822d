"""Event Grid push delivery to webhooks, as Azure does it for system topics.

Subscriptions (from the scenario or the control API) name a webhook URL, a schema (EventGridSchema or
CloudEventSchemaV1_0), a topic (the workspace for Azure ML events, the resource group for ARM resource
events) and the event types they include. Before the first delivery a subscription is validated: a
POST of a SubscriptionValidationEvent (`aeg-event-type: SubscriptionValidation`) that must be echoed
with 200, or for CloudEvents an OPTIONS with `WebHook-Request-Origin`. Deliveries carry the `aeg-*`
headers, are retried on timeout or a non-2xx answer on Event Grid's schedule (compressed by the
time scale), are not retried on 400/401/403/413, and can be duplicated on purpose (at-least-once).
Every attempt is kept in the delivery log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from emulator.clock import SimClock, iso
from emulator.scenario import Subscription

log = logging.getLogger("emulator.eventgrid")
RETRY_SCHEDULE_SECONDS = [10, 30, 60, 300, 600, 1800, 3600, 10800, 21600] + [43200] * 21
NOT_RETRIED = {400, 401, 403, 413}
SUCCESS = {200, 201, 202, 203, 204}
ALLOWED_ORIGIN = "eventgrid.azure.net"


@dataclass
class SubscriptionState:
    spec: Subscription
    validated: bool = False
    provisioning_state: str = "AwaitingValidation"
    validation_error: str | None = None

    def wants(self, event: dict[str, Any], topic_kind: str) -> bool:
        spec = self.spec
        if spec.topic != "any" and spec.topic != topic_kind:
            return False
        types = spec.included_event_types
        if types and event["eventType"].lower() not in {t.lower() for t in types}:
            return False
        begins = spec.subject_begins_with
        return not (begins and not event["subject"].lower().startswith(begins.lower()))


@dataclass
class DeliveryRecord:
    event_id: str
    event_type: str
    subject: str
    subscription: str
    attempt: int
    status: int | None
    outcome: str
    error: str | None
    wall_time: str
    sim_time: str
    duplicate: bool = False


@dataclass
class EventBus:
    clock: SimClock
    seed: int
    timeout_seconds: float = 30.0
    duplicates: float = 0.0
    subscriptions: dict[str, SubscriptionState] = field(default_factory=dict)
    log: list[DeliveryRecord] = field(default_factory=list)
    published: list[dict[str, Any]] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _rng: random.Random = field(default_factory=random.Random)
    id_factory: Callable[[str], str] | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(f"eventgrid|{self.seed}")

    # ---- subscriptions --------------------------------------------------------------------------
    def add(self, spec: Subscription) -> SubscriptionState:
        state = SubscriptionState(spec)
        self.subscriptions[spec.name] = state
        return state

    def remove(self, name: str) -> bool:
        return self.subscriptions.pop(name, None) is not None

    async def validate(self, state: SubscriptionState) -> bool:
        """The handshake Event Grid does when a subscription is created."""
        try:
            async with httpx.AsyncClient(timeout=self.timeout_seconds) as client:
                ok, why = await (
                    self._validate_cloudevents(client, state)
                    if _is_ce(state)
                    else self._validate_eventgrid(client, state)
                )
        except httpx.HTTPError as exc:
            ok, why = False, f"{type(exc).__name__}: {exc}"
        state.validated = ok
        state.provisioning_state = "Succeeded" if ok else "Failed"
        state.validation_error = None if ok else why
        return ok

    async def _validate_eventgrid(
        self, client: httpx.AsyncClient, state: SubscriptionState
    ) -> tuple[bool, str]:
        code = self._new_id("validation")
        event = {
            "id": self._new_id("validation-event"),
            "topic": f"/subscriptions/{state.spec.name}",
            "subject": "",
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "eventTime": iso(datetime.now(UTC)),
            "metadataVersion": "1",
            "dataVersion": "1",
            "data": {
                "validationCode": code,
                "validationUrl": f"https://rp-emulator.eventgrid.azure.net/validate?id={code}",
            },
        }
        headers = {
            "aeg-event-type": "SubscriptionValidation",
            "aeg-subscription-name": state.spec.name.upper(),
            "aeg-delivery-count": "0",
            "aeg-metadata-version": "1",
            "aeg-data-version": "1",
        }
        response = await client.post(state.spec.endpoint, json=[event], headers=headers)
        if response.status_code != 200:
            return False, f"validation answered {response.status_code} (Event Grid requires 200)"
        try:
            echoed = response.json().get("validationResponse")
        except ValueError:
            echoed = None
        if echoed != code:
            return False, f"validationResponse {echoed!r} does not echo the validationCode"
        return True, ""

    async def _validate_cloudevents(
        self, client: httpx.AsyncClient, state: SubscriptionState
    ) -> tuple[bool, str]:
        response = await client.request(
            "OPTIONS", state.spec.endpoint, headers={"WebHook-Request-Origin": ALLOWED_ORIGIN}
        )
        allowed = response.headers.get("WebHook-Allowed-Origin", "")
        if response.status_code != 200 or allowed not in (ALLOWED_ORIGIN, "*"):
            return False, f"OPTIONS answered {response.status_code} with WebHook-Allowed-Origin {allowed!r}"
        return True, ""

    # ---- publishing -----------------------------------------------------------------------------
    def publish(self, event: dict[str, Any], topic_kind: str) -> None:
        """Queue an Event Grid-schema event for every matching subscription (delivery runs in tasks)."""
        self.published.append(event)
        for state in list(self.subscriptions.values()):
            if state.wants(event, topic_kind):
                self._spawn(self._deliver(state, event, duplicate=False))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, state: SubscriptionState, event: dict[str, Any], duplicate: bool) -> None:
        spec = state.spec
        first = datetime.now(UTC)
        for attempt in range(spec.max_delivery_attempts):
            status, error = await self._attempt(state, event, attempt)
            if status in SUCCESS:
                self._record(event, spec.name, attempt, status, "Delivered", None, duplicate)
                if not duplicate and self.duplicates and self._rng.random() < self.duplicates:
                    self._spawn(self._deliver(state, event, duplicate=True))
                return
            if status in NOT_RETRIED:
                self._record(event, spec.name, attempt, status, "Dropped", error, duplicate)
                return
            waited = (datetime.now(UTC) - first).total_seconds() * self.clock.time_scale
            if attempt + 1 >= spec.max_delivery_attempts or waited > spec.event_ttl_minutes * 60:
                self._record(event, spec.name, attempt, status, "DeadLettered", error, duplicate)
                return
            self._record(event, spec.name, attempt, status, "Retrying", error, duplicate)
            await asyncio.sleep(self.clock.wall_seconds(RETRY_SCHEDULE_SECONDS[attempt]))

    async def _attempt(
        self, state: SubscriptionState, event: dict[str, Any], attempt: int
    ) -> tuple[int | None, str]:
        if not state.validated and not await self.validate(state):
            return None, f"subscription validation failed: {state.validation_error}"
        spec = state.spec
        headers = {
            "aeg-event-type": "Notification",
            "aeg-subscription-name": spec.name.upper(),
            "aeg-delivery-count": str(attempt),
            "aeg-metadata-version": "1",
            "aeg-data-version": str(event.get("dataVersion", "")),
        }
        if _is_ce(state):
            body: Any = to_cloudevent(event)
            headers["Content-Type"] = "application/cloudevents+json; charset=utf-8"
            headers["aeg-metadata-version"] = "1.0"
        else:
            body = [event]
            headers["Content-Type"] = "application/json"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_seconds) as client:
                response = await client.post(spec.endpoint, content=json.dumps(body), headers=headers)
            return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.TimeoutException:
            return None, f"TimedOut after {self.timeout_seconds}s"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"

    def _record(
        self,
        event: dict[str, Any],
        sub: str,
        attempt: int,
        status: int | None,
        outcome: str,
        error: str | None,
        duplicate: bool,
    ) -> None:
        self.log.append(
            DeliveryRecord(
                event["id"],
                event["eventType"],
                event["subject"],
                sub,
                attempt + 1,
                status,
                outcome,
                error,
                iso(datetime.now(UTC)),
                iso(self.clock.now()),
                duplicate,
            )
        )

    def _new_id(self, kind: str) -> str:
        if self.id_factory:
            return self.id_factory(kind)
        return f"{kind}-{self._rng.getrandbits(64):016x}"

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for in-flight deliveries (tests and shutdown)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()


def _is_ce(state: SubscriptionState) -> bool:
    return state.spec.schema_ == "CloudEventSchemaV1_0"


def to_cloudevent(event: dict[str, Any]) -> dict[str, Any]:
    """Event Grid schema -> CloudEvents 1.0 (topic->source, eventType->type, eventTime->time)."""
    return {
        "specversion": "1.0",
        "id": event["id"],
        "source": event["topic"],
        "subject": event["subject"],
        "type": event["eventType"],
        "time": event["eventTime"],
        "datacontenttype": "application/json",
        "data": event["data"],
    }
