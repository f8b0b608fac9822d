"""Event Grid triggers: Azure ML workspace events and ARM resource events for online endpoints.

Both acknowledge fast: route, dedupe, enqueue, audit (shared.intake). A delivery fails (500, so
Event Grid redelivers) only when the app cannot do its part right now: bad settings, storage down,
or the same event in flight elsewhere.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import azure.functions as func

from shared.events import from_function_event, route_ml_event, route_resource_event

if TYPE_CHECKING:
    from shared.bootstrap import Services

bp = func.Blueprint()
log = logging.getLogger("modelwatch.events")


def _services() -> Services:
    """Built on first use, so loading the app touches no storage and imports no SDK."""
    from shared.bootstrap import services

    return services()


@bp.function_name("on_ml_event")
@bp.event_grid_trigger(arg_name="event")
def on_ml_event(event: func.EventGridEvent) -> None:
    inbound = from_function_event(event)
    decision = _services().intake.handle(inbound, route_ml_event)
    log.info("on_ml_event %s %s -> %s", inbound.type, inbound.id, decision)


@bp.function_name("on_resource_event")
@bp.event_grid_trigger(arg_name="event")
def on_resource_event(event: func.EventGridEvent) -> None:
    inbound = from_function_event(event)
    decision = _services().intake.handle(inbound, route_resource_event)
    log.info("on_resource_event %s %s -> %s", inbound.type, inbound.id, decision)
