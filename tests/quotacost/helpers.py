"""Helpers for the quota and cost checks, run through the app's real composition root on the session emulator
and Azurite (the `world` fixture of tests/checks): load a variant of the test scenario, run a check job for the
current slot, read alerts and verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from monitors.verdict import Verdict
from shared.alerts.model import Alert, AlertState
from shared.jobs import Job
from shared.services.checks.fanout import check_job, slot_start
from tests.checks.conftest import World

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "test_minimal.yaml"


def scenario() -> dict[str, Any]:
    """A fresh copy of scenarios/test_minimal.yaml to change before `world.emulator.load(**...)`."""
    return yaml.safe_load(SCENARIO.read_text())


def check(world: World, name: str, run: str) -> Job:
    """A `check` job as the sweep would send it, made unique by `run` (the worker runs a job id once)."""
    now = world.services.clock.now()
    every = world.services.settings.checks.cadences()[name]
    return check_job(world.workspace_id, name, slot_start(now, every), f"test-{run}", now, cause=run)


def firing(world: World, rule: str) -> list[Alert]:
    return [a for a in world.services.alerts.list_alerts([AlertState.OPEN, AlertState.ACKNOWLEDGED])
            if a.rule == rule]


def resolved(world: World, rule: str) -> list[Alert]:
    return [a for a in world.services.alerts.list_alerts([AlertState.RESOLVED]) if a.rule == rule]


def verdict(world: World, check_name: str, endpoint: str | None = None) -> Verdict:
    """The latest verdict of a check for the workspace (endpoint None) or for one endpoint."""
    store = world.services.verdicts
    found = [v for v in (store.for_endpoint(endpoint) if endpoint else store.for_workspace())
             if v.check == check_name and v.deployment is None]
    assert found, f"no {check_name} verdict for {endpoint or 'the workspace'}"
    return found[0]
