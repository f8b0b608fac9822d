"""The on-call probe replays each deployment's golden set (the replay is one of the checks it runs now)."""

from __future__ import annotations

from shared.services.probe import ProbeRequest, ProbeService
from tests.checks.conftest import World


def probe_replays(app: World, deployment: str | None = None) -> dict[str | None, str]:
    report = ProbeService(app.services.checks).probe(ProbeRequest("credit-ep", deployment, sample=None),
                                                     app.services.clock.now())
    return {c.deployment: c.status for c in report.checks if c.check == "replay"}


def test_a_probe_replays_the_golden_set_of_every_deployment(world: World) -> None:
    assert probe_replays(world) == {"blue": "ok", "green": "alert", "plain": "no_reference"}


def test_a_probe_of_one_deployment_replays_only_that_one(world: World) -> None:
    assert probe_replays(world, "green") == {"green": "alert"}


def test_a_probe_that_finds_skew_fires_the_skew_alert(world: World) -> None:
    probe_replays(world, "green")
    assert [a.labels["deployment"] for a in world.services.alerts.list_alerts() if a.rule == "training-serving-skew"
            ] == ["green"]
