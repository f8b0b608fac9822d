"""Fixtures for the checks layer: the app's real composition root (`build_services`) wired to the session
emulator (Azure, and the clock) and Azurite (state, queue, alerts), one fresh scenario and container per test.

`world.run(job)` hands a job to the real worker, as the queue trigger would; `world.advance(minutes)` moves
the emulator's clock, which is the app's clock too; `world.jobs()` drains what a handler enqueued.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from emulator.scenario import DEFAULT_LOG_ANALYTICS_WORKSPACE_ID as LOG_ANALYTICS_WORKSPACE_ID
from shared.bootstrap import Services, build_services
from shared.jobs import Job
from tests.fixtures.emulator import EmulatorHandle


@dataclass
class World:
    emulator: EmulatorHandle
    services: Services
    env: dict[str, str]

    @property
    def workspace_id(self) -> str:
        ids = self.emulator.scenario["azure"]
        return (f"/subscriptions/{ids['subscription_id']}/resourceGroups/{ids['resource_group']}"
                f"/providers/Microsoft.MachineLearningServices/workspaces/{ids['workspace']}")

    def advance(self, minutes: float) -> dict[str, Any]:
        return self.emulator.control("POST", "time/advance", {"minutes": minutes})

    def run(self, job: Job, dequeue_count: int = 1) -> str:
        return self.services.worker.handle(job.to_json(), f"msg-{job.id}", dequeue_count)

    def jobs(self) -> list[Job]:
        """Drain the job queue (what handlers enqueued), oldest first."""
        out = []
        while True:
            batch = list(self.services.queue.receive_messages(max_messages=32, visibility_timeout=5))
            if not batch:
                return out
            for message in batch:
                out.append(Job.from_json(message.content.decode()))
                self.services.queue.delete_message(message)

    def run_all(self, max_rounds: int = 5) -> list[Job]:
        """Run every queued job, and the jobs those enqueue, as the queue trigger would."""
        ran: list[Job] = []
        for _ in range(max_rounds):
            batch = self.jobs()
            if not batch:
                break
            for job in batch:
                self.run(job)
                ran.append(job)
        return ran

    def audit(self, since: str = "30d") -> list[dict[str, Any]]:
        from dataclasses import asdict

        from shared.adapters.audit import parse_since

        records, _ = self.services.audit.read(parse_since(since, self.services.clock.now()), 1000)
        return [asdict(r) for r in records]


def world_env(emulator: EmulatorHandle, container: str, **extra: str) -> dict[str, str]:
    ids = emulator.scenario["azure"]
    workspace = (f"/subscriptions/{ids['subscription_id']}/resourceGroups/{ids['resource_group']}"
                 f"/providers/Microsoft.MachineLearningServices/workspaces/{ids['workspace']}")
    return {
        "AzureWebJobsStorage": emulator.connection_string,
        "MODELWATCH_ALLOWED_WORKSPACES": workspace,
        "MODELWATCH_STATE_CONTAINER": container,
        "MODELWATCH_SUBSCRIPTION_ID": ids["subscription_id"],
        "MODELWATCH_RESOURCE_GROUP": ids["resource_group"],
        "MODELWATCH_WORKSPACE": ids["workspace"],
        "MODELWATCH_LOCATION": ids["location"],
        "MODELWATCH_LOG_ANALYTICS_WORKSPACE_ID": ids.get("log_analytics_workspace_id", LOG_ANALYTICS_WORKSPACE_ID),
        "MODELWATCH_AZURE_EMULATOR_URL": emulator.url,
        "MODELWATCH_AZURE_RETRY_TOTAL": "0",
        "MODELWATCH_AZURE_TIMEOUT_SECONDS": "10",
        "MODELWATCH_ALERT_KEEP_FIRING_FOR": "10m",
        **extra,
    }


@pytest.fixture
def world(emulator: EmulatorHandle, unique_name: str) -> Iterator[World]:
    """The test scenario (scenarios/test_minimal.yaml, manual clock) and a fresh app around it."""
    env = world_env(emulator, unique_name)
    services = build_services(env, jobs_queue=f"jobs-{unique_name}")
    yield World(emulator, services, env)
    services.queue.delete_queue()


DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo.yaml"


@contextmanager
def demo_world(emulator: EmulatorHandle, unique_name: str, start: str = "2024-05-10T12:00:00Z") -> Iterator[World]:
    """The demo scenario (scenarios/demo.yaml, live from two hours ago when run by ./scripts/dev.sh) on a manual
    clock from a fixed time, and a fresh app around it."""
    import yaml

    emulator.load(**{**yaml.safe_load(DEMO.read_text()), "clock": {"start": start, "mode": "manual"}})
    env = world_env(emulator, unique_name)
    services = build_services(env, jobs_queue=f"jobs-{unique_name}")
    try:
        yield World(emulator, services, env)
    finally:
        services.queue.delete_queue()
