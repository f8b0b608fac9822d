"""Which data a canary analysis is judged from: request-level data from the traffic log when the app knows the
Log Analytics workspace and the log has both sides, else the per-minute metrics; one source per analysis,
named with its reason in the verdict and the analysis document."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.traffic_log import TrafficLogError
from tests.checks.conftest import World
from tests.logs.conftest import reload
from tests.rollback.conftest import shift_traffic
from tests.rollback.test_canary_flow import analyses, sweep, traffic

LOGS_FAULT = {"route": "^/v1/workspaces/", "kind": "500"}


def start_canary(app: World) -> None:
    sweep(app, "before")
    shift_traffic(app, {"blue": 90, "green": 10})


def next_interval(app: World, tag: str) -> None:
    """Five minutes later, the timer's sweep runs the canary job due (tags keep sweeps apart: a sweep id runs once)."""
    app.advance(minutes=5)
    sweep(app, tag)


def canary_evidence(app: World) -> dict[str, Any]:
    [verdict] = [v for v in app.services.verdicts.for_endpoint("credit-ep") if v.check == "canary"]
    return verdict.evidence


def test_a_canary_is_judged_from_request_level_data_when_the_traffic_log_has_both_sides(world: World) -> None:
    start_canary(world)
    next_interval(world, "first")
    [analysis] = analyses(world)
    assert (analysis["source"], analysis["verdict"]["source"]) == ("requests", "requests")
    assert canary_evidence(world)["source"] == "requests"


def test_an_endpoint_without_a_traffic_log_is_judged_from_metrics_and_the_verdict_says_why(world: World) -> None:
    reload(world, traffic_log=False)
    start_canary(world)
    next_interval(world, "first")
    [analysis] = analyses(world)
    assert analysis["source"] == "metrics"
    evidence = canary_evidence(world)
    assert evidence["source"] == "metrics"
    assert "has no requests of green and blue" in evidence["source_reason"]


def test_without_a_log_analytics_workspace_setting_the_canary_is_judged_from_metrics(
        world_without_workspace: World) -> None:
    start_canary(world_without_workspace)
    next_interval(world_without_workspace, "first")
    evidence = canary_evidence(world_without_workspace)
    assert evidence["source"] == "metrics"
    assert "MODELWATCH_LOG_ANALYTICS_WORKSPACE_ID is not set" in evidence["source_reason"]


def test_a_traffic_log_that_cannot_be_read_at_the_first_interval_falls_back_to_metrics(world: World) -> None:
    start_canary(world)
    world.emulator.control("POST", "faults", LOGS_FAULT, expect=201)
    next_interval(world, "first")
    evidence = canary_evidence(world)
    assert evidence["source"] == "metrics" and "could not be read" in evidence["source_reason"]


def test_an_analysis_that_started_on_metrics_stays_on_metrics_when_the_traffic_log_recovers(world: World) -> None:
    start_canary(world)
    world.emulator.control("POST", "faults", LOGS_FAULT, expect=201)
    next_interval(world, "first")
    world.emulator.control("DELETE", "faults")
    next_interval(world, "second")
    [analysis] = analyses(world)
    assert analysis["judged_intervals"] == 2
    assert (analysis["source"], analysis["verdict"]["source"]) == ("metrics", "metrics")


def test_an_analysis_on_request_level_data_waits_for_the_traffic_log_instead_of_switching(world: World) -> None:
    start_canary(world)
    next_interval(world, "first")
    world.emulator.control("POST", "faults", LOGS_FAULT, expect=201)
    with pytest.raises(TrafficLogError, match="one source per analysis"):
        next_interval(world, "log-down")
    [analysis] = analyses(world)
    assert (analysis["judged_intervals"], analysis["source"]) == (1, "requests")


def test_a_25_percent_slower_canary_judged_from_request_level_data_fails_at_its_first_interval(world: World
                                                                                            ) -> None:
    start_canary(world)
    world.emulator.control("POST", "deployments/credit-ep/green/behaviour", {"latency_ms": {"p50": 25, "p99": 75}})
    next_interval(world, "first")
    [analysis] = analyses(world)
    assert (analysis["status"], analysis["verdict"]["decided_by"]) == ("fail", 0), analysis["verdict"]["reason"]
    assert canary_evidence(world)["source"] == "requests"
    assert traffic(world) == {"blue": 100}


def test_a_traffic_log_still_down_one_interval_after_the_lifetime_ends_the_analysis_inconclusive(world: World
                                                                                               ) -> None:
    start_canary(world)
    next_interval(world, "first")
    world.emulator.control("POST", "faults", LOGS_FAULT, expect=201)
    world.advance(minutes=24)  # 29 minutes in: the 30-minute lifetime has not ended, the job waits (retried)
    with pytest.raises(TrafficLogError):
        sweep(world, "before-the-end")
    assert analyses(world)[0]["status"] == "running"
    world.advance(minutes=7)  # 36 minutes in: one 5-minute interval past the lifetime
    sweep(world, "past-the-end")
    [analysis] = analyses(world)
    assert analysis["status"] == "inconclusive" and analysis["judged_intervals"] == 1
    assert "could still not be read one interval after the lifetime ended" in analysis["ended_reason"]
    [alert] = [a for a in world.services.alerts.list_alerts() if a.rule == "canary-inconclusive"]
    assert alert.severity == "Sev3" and "green" in alert.description
    assert traffic(world) == {"blue": 90, "green": 10}  # neither passed nor failed: nothing is rolled back
