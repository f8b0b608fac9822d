"""Traffic-log fixtures: the canary world of tests/rollback (green without traffic, 200 requests a minute, no
timeline) with the app reading request-level data from the emulator's Log Analytics workspace, plus the same
app without a workspace setting, and helpers to reach the traffic log through the real LogsQueryClient."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.scenario import DEFAULT_LOG_ANALYTICS_WORKSPACE_ID as WORKSPACE
from shared.bootstrap import build_services
from tests.checks.conftest import World, world_env
from tests.fixtures.emulator import EmulatorHandle
from tests.rollback.conftest import emulator as emulator  # the fixtures, re-exported
from tests.rollback.conftest import world as world

__all__ = ["WORKSPACE", "emulator", "reload", "world", "world_without_workspace"]


@pytest.fixture
def world_without_workspace(emulator: EmulatorHandle, unique_name: str) -> Iterator[World]:
    """The same app with MODELWATCH_LOG_ANALYTICS_WORKSPACE_ID unset."""
    env = world_env(emulator, unique_name, MODELWATCH_LOG_ANALYTICS_WORKSPACE_ID="")
    services = build_services(env, jobs_queue=f"jobs-{unique_name}")
    yield World(emulator, services, env)
    services.queue.delete_queue()


def reload(app: World, *, traffic_log: bool = True, **overrides: Any) -> None:
    """Load the canary scenario again with the endpoint's diagnostic settings on or off (and top-level keys)."""
    endpoints = copy.deepcopy(app.emulator.scenario["endpoints"])
    endpoints[0]["traffic_log"] = traffic_log
    app.emulator.load(endpoints=endpoints, timeline=[], **overrides)
