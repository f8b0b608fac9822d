"""Telemetry, observed: events go through the app's entry points in a process of their own (trace_events.py) with
Application Insights configured through the Azure Monitor distro and an in-memory exporter and metric reader
added; the tests read what it traced and counted.

The app in that process has its own Azurite (so no other test's host takes its jobs from `modelwatch-jobs`) and
the session emulator (scenarios/test_minimal.yaml: credit-ep with blue 90 / green 10) for Azure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import events as samples
from tests.fixtures.emulator import EmulatorHandle
from tools.azurite import Azurite, free_port

REPO = Path(__file__).resolve().parents[2]
ENDPOINT, DEPLOYMENT = "credit-ep", "green"


@dataclass
class Run:
    """What one process traced and counted; `events` are the events it was given, by name."""

    events: dict[str, dict[str, Any]]
    spans: list[dict[str, Any]]
    metrics: dict[str, list[dict[str, Any]]]
    alerts: list[dict[str, Any]]
    exported: list[str]
    jobs_run: int
    statuses: list[int | None]

    def named(self, name: str) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["name"] == name]

    def trace_of(self, event: str) -> list[dict[str, Any]]:
        """Every span in the trace that the event's delivery started."""
        event_id = self.events[event]["id"]
        [root] = [s for s in self.spans if s["name"].startswith("on_")
                  and s["attributes"].get("modelwatch.event_id") == event_id]
        return [s for s in self.spans if s["trace_id"] == root["trace_id"]]

    def counted(self, metric: str, **attributes: Any) -> float:
        return sum(p["value"] for p in self.metrics.get(metric, [])
                   if all(p["attributes"].get(f"modelwatch.{k}") == v for k, v in attributes.items()))


def trace_events(env: dict[str, str], steps: list[tuple[str, dict[str, Any]]]) -> Run:
    """Run the steps, in order, through trace_events.py with `env` as the app settings: (name, step) pairs, a step
    being an event for an Event Grid function (kept under its name) or an HTTP or timer call."""
    request = {"env": env, "steps": [step for _, step in steps]}
    done = subprocess.run([sys.executable, "-m", "tests.telemetry.trace_events"], input=json.dumps(request),
                          capture_output=True, text=True, timeout=240, cwd=REPO)
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return Run({name: step["event"] for name, step in steps if "event" in step}, out["spans"], out["metrics"],
               out["alerts"], out["exported"], out["jobs_run"], out["statuses"])


@pytest.fixture(scope="module")
def own_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    folder = tmp_path_factory.mktemp("azurite-telemetry")
    instance = Azurite(folder, free_port(), free_port(), free_port())
    instance.start(log_path=folder / "azurite.log")
    yield instance
    instance.stop()


def app_env(emulator: EmulatorHandle, azurite: Azurite) -> dict[str, str]:
    """The checks' settings (tests/checks), on this module's Azurite; alerts go to a webhook that never answers
    and dead-letter at the first failure, so the outbox's metrics have something to count."""
    from tests.checks.conftest import world_env

    env = world_env(emulator, "mwtel" + uuid.uuid4().hex[:10])
    return {**env, "AzureWebJobsStorage": azurite.connection_string,
            "MODELWATCH_ALERT_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/hook",
            "MODELWATCH_ALERT_OUTBOX_MAX_ATTEMPTS": "1", "MODELWATCH_ALERT_HTTP_TIMEOUT": "1s"}


def workspace_of(emulator: EmulatorHandle) -> str:
    return EmulatorHandle.settings(emulator).workspace_id


@pytest.fixture(scope="module")
def run(emulator_server: str, storage_connection_string: str, own_azurite: Azurite) -> Run:
    """In one process: a deployment written (traffic read, an SLO check per deployment of its endpoint), a run
    failed (an alert, dead-lettered at its webhook), a manual rollback of the canary over HTTP (an alert), one run
    of the alerts' outbox timer, and the canary deployment deleted (its alerts resolved)."""
    emulator = EmulatorHandle(emulator_server, storage_connection_string, {}).load()
    workspace = workspace_of(emulator)
    written = samples.fresh_id(samples.deployment_write(workspace, ENDPOINT, DEPLOYMENT))
    failed = samples.fresh_id(samples.run_status_changed(topic=workspace))
    deleted = samples.fresh_id(samples.deployment_write(workspace, ENDPOINT, DEPLOYMENT, delete=True))
    rollback = {"module": "rollouts", "function": "endpoint_rollback", "route": {"endpoint": ENDPOINT},
                "body": {"reason": "telemetry test", "by": "tests", "deployment": DEPLOYMENT}}
    return trace_events(app_env(emulator, own_azurite), [
        ("deployment_written", {"function": "on_resource_event", "event": written}),
        ("run_failed", {"function": "on_ml_event", "event": failed}),
        ("rollback", rollback),
        ("outbox", {"module": "alerts", "function": "alerts_outbox_timer"}),
        ("deployment_deleted", {"function": "on_resource_event", "event": deleted}),
    ])
