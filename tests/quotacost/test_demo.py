"""The demo scenario's quota and cost cases (scenarios/demo.yaml): a VM family without room for a blue/green
swap, a budget whose forecast passes 100% and an idle deployment each raise their alert on the first checks.

The demo runs on a live clock from two hours ago; here the same scenario runs on a manual clock from a fixed
time, ten minutes in (blue and green have served requests, legacy has not)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from shared.bootstrap import build_services
from tests.checks.conftest import World, world_env
from tests.fixtures.emulator import EmulatorHandle
from tests.quotacost.helpers import check, firing

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo.yaml"


@pytest.fixture
def demo(emulator: EmulatorHandle, unique_name: str) -> Iterator[World]:
    scenario = yaml.safe_load(DEMO.read_text())
    emulator.load(**{**scenario, "clock": {"start": "2024-05-10T12:00:00Z", "mode": "manual"}})
    env = world_env(emulator, unique_name)
    services = build_services(env, jobs_queue=f"jobs-{unique_name}")
    world = World(emulator, services, env)
    world.advance(minutes=10)
    world.run(check(world, "quota", "demo"))
    world.run(check(world, "cost", "demo"))
    yield world
    services.queue.delete_queue()


def test_the_demos_dsv2_family_has_no_room_for_a_copy_of_blue(demo: World) -> None:
    [alert] = firing(demo, "quota-headroom")
    assert alert.labels == {"vm_family": "standardDSv2Family"}
    assert (alert.evidence["headroom"], alert.evidence["needed"]) == (12, 16)


def test_the_demos_budget_forecast_passes_100_percent(demo: World) -> None:
    [alert] = firing(demo, "cost-budget-forecast")
    assert (alert.labels, alert.severity.value) == ({"budget": "ml-monthly"}, "Sev2")
    assert alert.evidence["forecast_ratio"] > 1


def test_the_demos_legacy_deployment_is_idle(demo: World) -> None:
    assert [a.labels for a in firing(demo, "cost-idle-deployment")] == [
        {"endpoint": "credit-ep", "deployment": "legacy"}]
