"""Fixtures for the SLO check: the checks layer's `world` (the real composition root on the session emulator and
Azurite), and `slo_world`, the same with objectives that fit the test scenario's small numbers.

The test scenario serves 20 requests a minute, 10% to green: about 20 green requests per 10-minute latency
window, and green's regression (p50 8 -> 80 ms at +30m) puts its P95 near 140 ms, under the 500 ms default.
`slo_world` therefore sets a 50 ms objective, a 10-request guard and a 30-minute keep-firing period (long
enough to see a passing check hold an alert open before it resolves).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.bootstrap import build_services
from tests.checks.conftest import World, world, world_env  # noqa: F401
from tests.fixtures.emulator import EmulatorHandle

SLO_ENV = {
    "MODELWATCH_SLO_LATENCY_P95_MS": "50",
    "MODELWATCH_SLO_MIN_REQUESTS": "10",
    "MODELWATCH_ALERT_KEEP_FIRING_FOR": "30m",
}


@pytest.fixture
def slo_world(emulator: EmulatorHandle, unique_name: str) -> Iterator[World]:
    env = world_env(emulator, unique_name, **SLO_ENV)
    services = build_services(env, jobs_queue=f"jobs-{unique_name}")
    yield World(emulator, services, env)
    services.queue.delete_queue()
