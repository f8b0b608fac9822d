"""One running emulator: the loaded scenario with its clock, resources, traffic, metrics, data and events.

Owns time: advancing the simulated clock replays the timeline and generates each minute's traffic,
which feeds the metric store and the data collector; timeline steps and ARM writes raise Event Grid
events. Long-running ARM operations complete here after their simulated provisioning time.
The HTTP surfaces (arm.py, scoring.py, control.py, ...) call into this object; it never parses HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from emulator.clock import SimClock, floor_minute, iso
from emulator.collector import Collector
from emulator.eventgrid import EventBus
from emulator.events import model_registered, resource_event
from emulator.faults import CallLog, Faults
from emulator.metrics import MetricsEngine, MetricStore
from emulator.scenario import Scenario, TimelineStep
from emulator.simulation import Simulator
from emulator.training import TrainingWriter
from emulator.world import Behaviour, World

log = logging.getLogger("emulator")


@dataclass
class Operation:
    """An Azure-AsyncOperation status resource."""

    id: str
    resource_id: str
    action: str
    status: str
    started: datetime
    ended: datetime | None = None
    error: dict[str, Any] | None = None


class Emulator:
    def __init__(
        self,
        scenario: Scenario,
        *,
        storage_connection_string: str | None,
        time_scale: float,
        public_url: str,
        blob_endpoint: str | None = None,
    ) -> None:
        self.scenario = scenario
        self.public_url = public_url
        self.blob_endpoint = blob_endpoint or "core.windows.net"
        wall_now = datetime.now(UTC)
        start = scenario.clock.resolve_start(wall_now)
        self.clock = SimClock(
            start, live=scenario.clock.mode == "live", time_scale=time_scale, speed=scenario.clock.speed
        )
        self.world = World(scenario, self.clock)
        self.store = MetricStore()
        self.collector = Collector(
            storage_connection_string, self.world.container, scenario.collector_batch, scenario.seed
        )
        self.sim = Simulator(self.world, self.store, self.collector)
        self.training = TrainingWriter(storage_connection_string, self.world.container, scenario.seed)
        self.training.write(self.world.take_training_files())
        self.engine = MetricsEngine(self.world, self.store)
        eg = scenario.eventgrid
        self.bus = EventBus(
            self.clock,
            scenario.seed,
            eg.delivery_timeout_seconds,
            eg.duplicates,
            id_factory=self.world.next_id,
        )
        for spec in eg.subscriptions:
            self.bus.add(spec)
        self.faults = Faults()
        self.calls = CallLog()
        self.operations: dict[str, Operation] = {}
        self.data_assets: dict[str, dict[str, dict[str, Any]]] = self.world.data_assets
        self.timeline: list[TimelineStep] = sorted(scenario.timeline, key=lambda s: s.offset)
        self.applied_steps: list[dict[str, Any]] = []
        self.generated_until = start
        self.live_rng = self.world.rng("live")
        self.lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        if self.clock.live:  # follow the wall clock; without prefill there is no history before now
            self.clock.jump_to(wall_now)
            if not scenario.clock.prefill:
                self.generated_until = floor_minute(self.clock.now())

    # ---- time -----------------------------------------------------------------------------------
    async def advance(self, delta: timedelta) -> dict[str, Any]:
        async with self.lock:
            self.clock.advance(delta)
            generated = self._generate_until(self.clock.now())
        records = await self.collector.flush()
        return {"now": iso(self.clock.now()), "requests": generated, "records": records}

    async def catch_up(self) -> int:
        """Live mode: generate every minute that has passed."""
        async with self.lock:
            generated = self._generate_until(self.clock.now())
        await self.collector.flush()
        return generated

    def _generate_until(self, target: datetime) -> int:
        total = 0
        minute = self.generated_until
        end = floor_minute(target)
        while minute < end:
            self._apply_due_steps(minute)
            for ep in list(self.world.endpoints.values()):
                total += self.sim.generate_minute(ep, minute)
            minute += timedelta(minutes=1)
        self.generated_until = max(self.generated_until, minute)
        self._apply_due_steps(target)
        return total

    def _apply_due_steps(self, moment: datetime) -> None:
        while self.timeline and self.clock.start + self.timeline[0].offset <= moment:
            step = self.timeline.pop(0)
            self.apply_step(step)
            self.applied_steps.append(
                {
                    "at": iso(self.clock.start + step.offset),
                    "note": step.note,
                    "step": step.model_dump(exclude_none=True, by_alias=True),
                }
            )

    # ---- the timeline ---------------------------------------------------------------------------
    def apply_step(self, step: TimelineStep) -> None:
        at = self.clock.start + step.offset
        if step.deployment:
            self._change_deployment(step.deployment, at)
        elif step.drift:
            self._drift(step.drift)
        elif step.traffic:
            change = step.traffic
            ep = self.world.endpoints[change.endpoint]
            if change.requests_per_minute is not None:
                ep.requests_per_minute = change.requests_per_minute
            if change.traffic is not None or change.mirror_traffic is not None:
                self.world.set_traffic(
                    ep.name,
                    change.traffic,
                    change.mirror_traffic,
                    "scenario timeline",
                    "timeline",
                    iso(datetime.now(UTC)),
                )
                self.arm_event(self.world.endpoint_id(ep.name), "onlineEndpoints/write", "PUT", "scenario")
        elif step.register_model:
            reg = step.register_model
            version = self.world.model_version_from_scenario(reg.name, reg.version, at)
            self.training.write(self.world.take_training_files())  # the data exists before the event says so
            self.register_model_version(reg.name, version.version, version.properties, version.predictor, at)

    def _change_deployment(self, change: Any, at: datetime) -> None:
        dep = self.world.endpoints[change.endpoint].deployments.get(change.deployment)
        if dep is None:
            return
        if change.latency_ms is not None:
            dep.behaviour.latency = change.latency_ms
        if change.error_rate is not None:
            dep.behaviour.error_rate = change.error_rate
        if change.client_error_rate is not None:
            dep.behaviour.client_error_rate = change.client_error_rate
        if change.instance_count is not None:
            self.world.set_capacity(change.endpoint, change.deployment, change.instance_count, at)

    def _drift(self, change: Any) -> None:
        features = {f.name: f for f in self.world.endpoints[change.endpoint].features}
        for name, drift in change.features.items():
            feature = features[name]
            if feature.dist == "categorical":
                if drift.values:
                    feature.values = dict(drift.values)
                continue
            if feature.dist == "uniform":
                centre, half = (
                    (feature.low + feature.high) / 2 + drift.shift,
                    (feature.high - feature.low) / 2,
                )
                feature.low, feature.high = centre - half * drift.scale, centre + half * drift.scale
            else:
                feature.mean += drift.shift
                feature.std *= drift.scale

    # ---- events ---------------------------------------------------------------------------------
    def register_model_version(
        self, name: str, version: str, properties: dict[str, Any], predictor: Any, at: datetime
    ) -> bool:
        """Add a model version (creating the container if needed); raises ModelRegistered if it is new."""
        from emulator.world import ModelContainerState, ModelVersionState

        container = self.world.models.get(name)
        if container is None:
            container = self.world.models[name] = ModelContainerState(name, "", {}, at)
        is_new = version not in container.versions
        container.versions[version] = ModelVersionState(name, version, properties, at, predictor)
        if is_new:
            event = model_registered(
                self.world,
                self.world.next_id("event"),
                at,
                name,
                version,
                properties.get("tags") or {},
                properties.get("properties") or {},
            )
            self._publish(event, "workspace")
        return is_new

    def arm_event(
        self, resource_id: str, action_suffix: str, method: str, who: str, delete: bool = False
    ) -> None:
        action = f"Microsoft.MachineLearningServices/workspaces/{action_suffix}"
        url = f"https://management.azure.com{resource_id}?api-version=2024-04-01"
        event = resource_event(
            self.world,
            self.world.next_id("event"),
            self.clock.now(),
            resource_id,
            action,
            method,
            url,
            who,
            self.world.next_id("correlation"),
            delete,
        )
        self._publish(event, "resource_group")

    def _publish(self, event: dict[str, Any], topic_kind: str) -> None:
        try:
            self.bus.publish(event, topic_kind)
        except RuntimeError:  # no running loop (building outside the server): keep the record only
            self.bus.published.append(event)

    # ---- long-running operations ------------------------------------------------------------
    def start_operation(self, resource_id: str, action: str, complete: Callable[[], None]) -> Operation:
        op = Operation(self.world.next_id("operation"), resource_id, action, "InProgress", self.clock.now())
        self.operations[op.id] = op

        async def finish() -> None:
            await asyncio.sleep(self.clock.wall_seconds(self.scenario.lro.seconds))
            try:
                complete()
                op.status = "Succeeded"
            except Exception as exc:  # a failed provisioning is reported through the operation, as ARM does
                log.exception("operation %s failed", op.id)
                op.status, op.error = "Failed", {"code": "InternalServerError", "message": str(exc)}
            op.ended = self.clock.now()

        task = asyncio.get_running_loop().create_task(finish())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return op

    def behaviour_for_new_deployment(self, model_ref: str) -> Behaviour:
        from emulator.scenario import Latency

        return Behaviour(Latency(), 0.0, 0.0, self.world.behaviour_for_model(model_ref), True)

    async def shutdown(self) -> None:
        await self.collector.flush()
        self.bus.cancel_all()
        for task in list(self._background):
            task.cancel()
