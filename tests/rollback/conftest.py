"""Canary and rollback fixtures: the checks `world` on a scenario where green starts without traffic, with
enough requests a minute that the per-minute metrics carry evidence, and no scripted timeline."""

from __future__ import annotations

import copy
import uuid

import pytest
import yaml

from tests.checks.conftest import World
from tests.checks.conftest import world as world  # the fixture, re-exported
from tests.fixtures.emulator import SCENARIO, EmulatorHandle


@pytest.fixture
def emulator(emulator_server: str, storage_connection_string: str) -> EmulatorHandle:
    base = yaml.safe_load(SCENARIO.read_text())
    endpoints = copy.deepcopy(base["endpoints"])
    endpoints[0]["traffic"] = {"blue": 100, "green": 0}
    endpoints[0]["requests_per_minute"] = 200
    for deployment in endpoints[0]["deployments"]:
        deployment["latency_ms"] = {"p50": 20, "p99": 60}
        deployment["error_rate"] = 0.001
    handle = EmulatorHandle(emulator_server, storage_connection_string, {})
    return handle.load(endpoints=endpoints, timeline=[])


def shift_traffic(app: World, traffic: dict[str, int]) -> None:
    """What a release pipeline does: set the split on the endpoint (through the real SDK), then Azure's write
    event reaches the app (here handed to the worker directly)."""
    from shared.jobs import Job

    app.services.checks.azure.ml.set_traffic("credit-ep", traffic)
    event = f"write-{uuid.uuid4().hex[:12]}"
    app.run(Job(id=f"evt-{event}", kind="endpoint_changed", workspace_id=app.workspace_id,
                source_event_id=event, source_event_type="Microsoft.Resources.ResourceWriteSuccess",
                target={"endpoint": "credit-ep"}))
    app.jobs()  # the SLO checks the change enqueued are not what these tests are about
