"""Scenarios, jobs and readings shared by the gate's service tests."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from shared.alerts.model import AlertState
from shared.jobs import Job
from tests.checks.conftest import World
from tests.fixtures.emulator import SCENARIO


def registered(world: World, model: str, version: str, tag: str = "1") -> Job:
    """The job a ModelRegistered event for model:version becomes."""
    return Job(id=f"evt-reg-{model}-{version}-{tag}", kind="model_registered", workspace_id=world.workspace_id,
               source_event_id=f"reg-{model}-{version}-{tag}",
               source_event_type="Microsoft.MachineLearningServices.ModelRegistered",
               target={"model": model, "version": version})


def with_metrics(world: World, **auc_by_version: str) -> None:
    """Reload the test scenario with `auc` properties on credit's versions (v1=, v2=, and v3= for the version the
    timeline registers at +90m); blue serves credit:1 at 90%, green credit:2 at 10%."""
    with_properties(world, **{v: {"auc": auc} for v, auc in auc_by_version.items()})


def with_properties(world: World, **by_version: dict[str, str]) -> None:
    """Reload the test scenario with these model properties on credit's versions (v1=, v2=, v3=)."""
    scenario = yaml.safe_load(SCENARIO.read_text())
    models = copy.deepcopy(scenario["models"])
    for version in models[0]["versions"]:
        if f"v{version['version']}" in by_version:
            version["properties"] = by_version[f"v{version['version']}"]
    timeline = copy.deepcopy(scenario["timeline"])
    for step in timeline:
        if "register_model" in step and "v3" in by_version:
            step["register_model"]["version"]["properties"] = by_version["v3"]
    world.emulator.load(models=models, timeline=timeline)


def gate_records(world: World) -> list[dict[str, Any]]:
    return [r for r in world.audit() if r["kind"] == "check" and r["details"].get("check") == "gate"]


def only_gate(world: World) -> dict[str, Any]:
    [record] = gate_records(world)
    return record


def model_version(world: World, model: str, version: str) -> Any:
    """The version as the MLClient reads it (tags, properties, path, creation time)."""
    return world.services.checks.azure.ml_client.models.get(model, version=version)  # type: ignore[attr-defined]


def firing(world: World, rule: str) -> list[Any]:
    return [a for a in world.services.alerts.list_alerts([AlertState.OPEN, AlertState.ACKNOWLEDGED])
            if a.rule == rule]
