"""Replay fixtures: the checks `world` (the app's real composition root on the session emulator and Azurite) on
the replay's own scenario, tests/replay/skewed.yaml: blue answers credit:1's golden set as recorded, green has a
preprocessing bug (income scaled by 0.001) so it answers credit:2's differently, plain serves credit:3, which
names no golden set. green and plain start without traffic, so shifting traffic to green starts a canary."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitors.verdict import Verdict
from shared.jobs import Job
from tests.checks.conftest import World
from tests.checks.conftest import world as world  # the fixture, re-exported
from tests.fixtures.emulator import EmulatorHandle

SKEWED = Path(__file__).with_name("skewed.yaml")
ENDPOINT = "credit-ep"


@pytest.fixture
def emulator(emulator_server: str, storage_connection_string: str) -> EmulatorHandle:
    scenario: dict[str, Any] = yaml.safe_load(SKEWED.read_text())
    scenario["storage_container"] = f"azureml-blobstore-t{os.urandom(6).hex()}"
    handle = EmulatorHandle(emulator_server, storage_connection_string, scenario)
    handle.control("POST", "scenario", {"scenario": scenario})
    return handle


def replay_job(app: World, deployment: str, **extra: str) -> Job:
    """A `replay` check job for one deployment of credit-ep, as a probe or a canary's start builds it."""
    from shared.services.checks.fanout import check_job

    now = app.services.clock.now()
    cause = f"test-{uuid.uuid4().hex[:8]}"
    return check_job(app.workspace_id, "replay", now, cause, now, ENDPOINT, deployment, cause=cause, **extra)


def replay(app: World, deployment: str) -> Verdict:
    """Run a replay of `deployment` through the real worker; its recorded verdict."""
    app.run(replay_job(app, deployment))
    return latest(app, deployment)


def latest(app: World, deployment: str, check: str = "replay") -> Verdict:
    [verdict] = [v for v in app.services.verdicts.for_endpoint(ENDPOINT)
                 if v.check == check and v.deployment == deployment]
    return verdict


def skew_alerts(app: World) -> list[Any]:
    return [a for a in app.services.alerts.list_alerts() if a.rule == "training-serving-skew"]


def set_skew(app: World, deployment: str, skew: dict[str, Any] | None) -> None:
    app.emulator.control("POST", f"deployments/{ENDPOINT}/{deployment}/behaviour", {"skew": skew})


def shift_traffic(app: World, traffic: dict[str, int]) -> list[Job]:
    """What a release pipeline does: set the split (through the real SDK); then Azure's write event reaches the app
    (handed to the worker directly). Returns the jobs the change enqueued. A sweep first records the split as it
    was (as the timer does), so the change is seen as one."""
    tag = uuid.uuid4().hex[:8]
    app.run(Job(id=f"sweep-{tag}", kind="scheduled_sweep", workspace_id=app.workspace_id,
                source_event_id=f"timer-{tag}", source_event_type="timer"))
    app.jobs()  # the sweep's periodic checks are not what these tests are about
    app.services.checks.azure.ml.set_traffic(ENDPOINT, traffic)
    event = f"write-{uuid.uuid4().hex[:12]}"
    app.run(Job(id=f"evt-{event}", kind="endpoint_changed", workspace_id=app.workspace_id,
                source_event_id=event, source_event_type="Microsoft.Resources.ResourceWriteSuccess",
                target={"endpoint": ENDPOINT}))
    return app.jobs()


def traffic(app: World) -> dict[str, int]:
    return {k: v for k, v in app.services.checks.azure.ml.endpoint_traffic(ENDPOINT).traffic.items() if v}
