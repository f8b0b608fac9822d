"""The demo scenario's quota and cost cases (scenarios/demo.yaml): a VM family without room for a blue/green
swap, a budget whose forecast passes 100% and an idle deployment each raise their alert on the first checks.

The demo runs on a live clock from two hours ago; here the same scenario runs on a manual clock from a fixed
time, ten minutes in (blue and green have served requests, legacy has not)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.checks.conftest import World, demo_world
from tests.fixtures.emulator import EmulatorHandle
from tests.quotacost.helpers import check, firing


@pytest.fixture
def demo(emulator: EmulatorHandle, unique_name: str) -> Iterator[World]:
    with demo_world(emulator, unique_name) as world:
        world.advance(minutes=10)
        world.run(check(world, "quota", "demo"))
        world.run(check(world, "cost", "demo"))
        yield world


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
