"""The demo scenario's registration (scenarios/demo.yaml): credit-default:3 (auc 0.81), registered 2h30m in, is
judged against credit-default:1 (auc 0.78), which blue serves at 90%, and passes.

The demo runs on a live clock from two hours ago; here the same scenario runs on a manual clock from a fixed
time, advanced past the registration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.checks.conftest import World, demo_world
from tests.fixtures.emulator import EmulatorHandle
from tests.gate.helpers import model_version, only_gate, registered


@pytest.fixture
def demo(emulator: EmulatorHandle, unique_name: str) -> Iterator[World]:
    with demo_world(emulator, unique_name) as world:
        world.advance(minutes=155)  # credit-default:3 is registered at 2h30m
        yield world


def test_credit_default_3s_registration_records_a_passing_gate_verdict(demo: World) -> None:
    assert demo.run(registered(demo, "credit-default", "3")) == "done"
    evidence = only_gate(demo)["details"]["evidence"]
    assert evidence["gate"] == "pass"
    assert (evidence["baseline"]["id"], evidence["baseline"]["deployment"]) == ("credit-default:1", "blue")
    assert evidence["numbers"] == pytest.approx({"candidate": 0.81, "baseline": 0.78, "threshold": 0.77,
                                                 "difference": 0.03})
    assert model_version(demo, "credit-default", "3").tags["modelwatch.gate"] == "pass"
