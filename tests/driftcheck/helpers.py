"""Jobs and readings shared by the drift-check tests: registration jobs, drift check jobs, the reference state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.jobs import Job
from shared.services.checks.fanout import check_job
from tests.checks.conftest import World


def registered(world: World, model: str, version: str) -> Job:
    """The job a ModelRegistered event for model:version becomes."""
    return Job(id=f"evt-reg-{model}-{version}", kind="model_registered", workspace_id=world.workspace_id,
               source_event_id=f"reg-{model}-{version}",
               source_event_type="Microsoft.MachineLearningServices.ModelRegistered",
               target={"model": model, "version": version})


def drift_job(world: World, deployment: str, tag: str = "1") -> Job:
    now = world.services.clock.now()
    return check_job(world.workspace_id, "drift", now, f"sweep-{tag}", now, "credit-ep", deployment, cause=tag)


def reference_doc(world: World, model: str, version: str) -> dict[str, Any] | None:
    return world.services.state.get_json(f"references/{model}/{version}.json")


def checks(world: World, check: str) -> list[dict[str, Any]]:
    return [r for r in world.audit() if r["kind"] == "check" and r["details"].get("check") == check]


def open_alerts(world: World, rule: str, deployment: str) -> list[Any]:
    return [a for a in world.services.alerts.list_alerts(endpoint="credit-ep")
            if a.rule == rule and a.labels.get("deployment") == deployment]


def at(world: World) -> datetime:
    return world.services.clock.now()
