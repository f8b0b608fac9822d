"""The emulator's ASGI application: every surface on one port, in front of one `Emulator`.

Routes: `/_emulator/*` (control API), `/score/{endpoint}` (scoring URIs), and everything else through
the case-insensitive Azure router (ARM Microsoft.MachineLearningServices, Azure Monitor metrics on both
the ARM path and the regional `metrics:getBatch`, Cost Management, the Log Analytics query API for the
traffic log). A fault/call-log middleware wraps the Azure surfaces. Background tasks: live-mode clock
ticking and periodic collector flushes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.routing import Route

from emulator import (  # noqa: F401  (route registration)
    arm,
    arm_data,
    arm_deployments,
    arm_models,
    costs_api,
    logs_api,
    metrics_api,
)
from emulator.control import ROUTES as CONTROL_ROUTES
from emulator.core import Emulator
from emulator.faults import FaultMiddleware
from emulator.routing import dispatch
from emulator.scenario import Scenario
from emulator.scoring import score

log = logging.getLogger("emulator")
ALL_METHODS = ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@dataclass
class Settings:
    storage_connection_string: str | None
    time_scale: float
    public_url: str
    blob_endpoint: str | None = None
    tick_seconds: float = 1.0


class Holder:
    """Keeps the current Emulator (a scenario reload replaces it) and the settings to build one."""

    def __init__(self, app: Starlette, settings: Settings) -> None:
        self.app, self.settings = app, settings

    def build(self, scenario: Scenario) -> Emulator:
        s = self.settings
        return Emulator(
            scenario,
            storage_connection_string=s.storage_connection_string,
            time_scale=s.time_scale,
            public_url=s.public_url,
            blob_endpoint=s.blob_endpoint,
        )

    async def replace(self, scenario: Scenario) -> Emulator:
        old: Emulator = self.app.state.emulator
        await old.shutdown()
        new = self.build(scenario)
        self.app.state.emulator = new
        if new.clock.live:
            await new.catch_up()
        return new


async def _ticker(app: Starlette, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        emu: Emulator = app.state.emulator
        try:
            if emu.clock.live:
                await emu.catch_up()
            else:
                await emu.collector.flush()
        except Exception:  # keep ticking: one failed upload must not stop the clock
            log.exception("background tick failed")


def create_app(scenario: Scenario, settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        emu: Emulator = app.state.emulator
        for sub in list(emu.bus.subscriptions.values()):
            asyncio.get_running_loop().create_task(emu.bus.validate(sub))
        if emu.clock.live:
            await emu.catch_up()
        task = asyncio.get_running_loop().create_task(_ticker(app, settings.tick_seconds))
        yield
        task.cancel()
        await app.state.emulator.shutdown()

    routes = [
        *CONTROL_ROUTES,
        Route("/score/{endpoint}", score, methods=["POST"]),
        Route("/{path:path}", dispatch, methods=ALL_METHODS),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    holder = Holder(app, settings)
    app.state.emulator = holder.build(scenario)
    app.state.replace = holder.replace
    app.add_middleware(
        FaultMiddleware,
        faults=lambda: app.state.emulator.faults,
        calls=lambda: app.state.emulator.calls,
        now=lambda: app.state.emulator.clock.now(),
    )
    return app
