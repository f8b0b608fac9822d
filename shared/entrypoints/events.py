"""Event Grid triggers: Azure ML workspace events and ARM resource events for online endpoints.

Both acknowledge fast: route, dedupe, enqueue, audit (shared.services.intake). A delivery fails (500, so
Event Grid redelivers) only when the app cannot do its part right now: bad settings, storage down,
or the same event in flight elsewhere. Each delivery is the first span of the event's trace (shared.telemetry).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import azure.functions as func

from shared import telemetry
from shared.entrypoints.wiring import services
from shared.events import InboundEvent, Routing, from_function_event, route_ml_event, route_resource_event

bp = func.Blueprint()
log = logging.getLogger("modelwatch.events")


def _intake(function: str, event: func.EventGridEvent,
            route: Callable[[InboundEvent, tuple[str, ...]], Routing]) -> None:
    inbound = from_function_event(event)
    with telemetry.invocation(function, "eventgrid", event_id=inbound.id[:200], event_type=inbound.type[:200]):
        decision = services().intake.handle(inbound, route)
    log.info("%s %s %s -> %s", route.__name__, inbound.type, inbound.id, decision)


@bp.function_name("on_ml_event")
@bp.event_grid_trigger(arg_name="event")
def on_ml_event(event: func.EventGridEvent) -> None:
    _intake("on_ml_event", event, route_ml_event)


@bp.function_name("on_resource_event")
@bp.event_grid_trigger(arg_name="event")
def on_resource_event(event: func.EventGridEvent) -> None:
    _intake("on_resource_event", event, route_resource_event)
