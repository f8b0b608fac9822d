"""The SLO check through the real worker, on the emulator's metrics and Azurite: objectives from the endpoint's
tags or the settings, one alert per objective fired or cleared, idle deployments left undecided.

The test scenario (scenarios/test_minimal.yaml): credit-ep, blue 90% / green 10% of 20 requests a minute,
green's latency regresses at +30m. `slo_world` judges it against a 50 ms objective (see conftest.py)."""

from __future__ import annotations

from typing import Any

import yaml

from shared.alerts.model import Alert, AlertState
from shared.jobs import Job
from shared.services.checks.fanout import check_job, slot_start
from tests.checks.conftest import World
from tests.fixtures.emulator import SCENARIO

EP = "credit-ep"
LATENCY, FAST, SLOW = "slo-latency-p95", "slo-error-budget-fast-burn", "slo-error-budget-slow-burn"


def slo_job(world: World, deployment: str, tag: str = "") -> Job:
    now = world.services.clock.now()
    return check_job(world.workspace_id, "slo", slot_start(now, world.services.settings.checks.slo_every),
                     f"test{tag}", now, EP, deployment, cause=f"t{now:%H%M}{tag}")


def check(world: World, deployment: str) -> dict[str, Any]:
    """Run one SLO check job through the worker; the audit record it wrote."""
    job = slo_job(world, deployment)
    assert world.run(job) == "done"
    return next(r for r in reversed(world.audit()) if r["kind"] == "check" and r["details"].get("job_id") == job.id)


def alerts(world: World, deployment: str, rule: str, state: str = "active") -> list[Alert]:
    states = None if state == "all" else [AlertState.OPEN, AlertState.ACKNOWLEDGED]
    return [a for a in world.services.alerts.list_alerts(states=states, endpoint=EP)
            if a.rule == rule and a.labels.get("deployment") == deployment]


def behave(world: World, deployment: str, **change: Any) -> None:
    world.emulator.control("POST", f"deployments/{EP}/{deployment}/behaviour", change)


def scenario_endpoint(**changes: Any) -> dict[str, Any]:
    endpoint = yaml.safe_load(SCENARIO.read_text())["endpoints"][0]
    return {**endpoint, **changes}


def test_after_greens_latency_regression_the_check_on_green_fires_the_latency_alert(slo_world: World) -> None:
    slo_world.advance(minutes=40)  # regression at +30m: the last 10 minutes are all regressed
    record = check(slo_world, "green")
    assert record["decision"] == "alert"
    [alert] = alerts(slo_world, "green", LATENCY)
    assert alert.severity == "Sev2" and alert.labels == {"endpoint": EP, "deployment": "green"}
    assert alert.targets == (f"{slo_world.workspace_id}/onlineEndpoints/{EP}/deployments/green",)
    latency = record["details"]["evidence"]["latency"]
    assert latency["observed_p95_ms"] > latency["objective_ms"] == 50


def test_after_greens_latency_regression_the_check_on_blue_fires_nothing(slo_world: World) -> None:
    slo_world.advance(minutes=40)
    record = check(slo_world, "blue")
    assert record["decision"] == "ok"
    assert slo_world.services.alerts.list_alerts(endpoint=EP) == []


def test_before_the_regression_green_meets_its_latency_objective(slo_world: World) -> None:
    slo_world.advance(minutes=25)
    assert check(slo_world, "green")["details"]["evidence"]["latency"]["status"] == "ok"
    assert alerts(slo_world, "green", LATENCY) == []


def test_injected_server_errors_raise_the_fast_burn_alert(slo_world: World) -> None:
    behave(slo_world, "green", error_rate=0.5)
    slo_world.advance(minutes=20)
    record = check(slo_world, "green")
    [fast] = alerts(slo_world, "green", FAST)
    assert fast.severity == "Sev1"
    burn = record["details"]["evidence"]["error_budget"]["fast_burn"]
    assert burn["status"] == "alert" and burn["long_window"]["errors"] > 0
    assert burn["long_window"]["burn_rate"] > 14.4 and burn["short_window"]["burn_rate"] > 14.4


def test_client_errors_spend_no_error_budget(slo_world: World) -> None:
    behave(slo_world, "green", client_error_rate=0.5)
    slo_world.advance(minutes=20)
    budget = check(slo_world, "green")["details"]["evidence"]["error_budget"]
    assert budget["fast_burn"]["long_window"]["errors"] == 0
    assert alerts(slo_world, "green", FAST) == [] and alerts(slo_world, "green", SLOW) == []


def test_an_idle_deployment_is_insufficient_data_and_fires_nothing(world: World) -> None:
    world.emulator.load(endpoints=[scenario_endpoint(traffic={"blue": 100, "green": 0})])
    world.advance(minutes=40)
    record = check(world, "green")
    assert record["decision"] == "insufficient_data"
    assert record["details"]["evidence"]["data"]["requests"] == 0
    assert record["details"]["alerts_fired"] == [] and record["details"]["alerts_cleared"] == []
    assert world.services.alerts.list_alerts(endpoint=EP) == []


def test_a_deployment_gone_idle_keeps_its_open_alert(slo_world: World) -> None:
    scenario = yaml.safe_load(SCENARIO.read_text())
    idle = {"at": "45m", "note": "green drained", "traffic": {"endpoint": EP, "traffic": {"blue": 100, "green": 0}}}
    slo_world.emulator.load(timeline=[*scenario["timeline"], idle])
    slo_world.advance(minutes=40)
    check(slo_world, "green")
    slo_world.advance(minutes=40)  # green has served nothing for 35 minutes, past the 30-minute keep-firing
    record = check(slo_world, "green")
    assert record["details"]["evidence"]["latency"]["status"] == "insufficient_data"
    [alert] = alerts(slo_world, "green", LATENCY)
    assert alert.cleared_at is None


def test_tag_objectives_override_the_settings(world: World) -> None:
    tags = {"modelwatch.slo.latency_p95_ms": "5", "modelwatch.slo.error_rate": "0.002"}
    world.emulator.load(endpoints=[scenario_endpoint(tags=tags)])
    world.advance(minutes=15)
    record = check(world, "blue")  # blue's P95 is about 12 ms: fine against the 500 ms default, not against 5
    objectives = record["details"]["evidence"]["objectives"]
    assert (objectives["latency_p95_ms"], objectives["error_rate"]) == (5.0, 0.002)
    assert objectives["sources"] == {"latency_p95_ms": "tag modelwatch.slo.latency_p95_ms",
                                     "error_rate": "tag modelwatch.slo.error_rate"}
    assert record["decision"] == "alert"
    assert len(alerts(world, "blue", LATENCY)) == 1


def test_without_tags_the_settings_objectives_apply(world: World) -> None:
    world.advance(minutes=15)
    objectives = check(world, "blue")["details"]["evidence"]["objectives"]
    assert (objectives["latency_p95_ms"], objectives["error_rate"]) == (500.0, 0.01)
    assert objectives["sources"]["latency_p95_ms"] == "setting MODELWATCH_SLO_LATENCY_P95_MS"


def test_a_tag_that_is_not_a_number_is_ignored_and_named(world: World) -> None:
    tags = {"modelwatch.slo.latency_p95_ms": "fast please", "modelwatch.slo.error_rate": "0.999"}
    world.emulator.load(endpoints=[scenario_endpoint(tags=tags)])
    world.advance(minutes=15)
    record = check(world, "blue")
    objectives = record["details"]["evidence"]["objectives"]
    assert (objectives["latency_p95_ms"], objectives["error_rate"]) == (500.0, 0.01)
    assert "modelwatch.slo.latency_p95_ms='fast please' ignored" in record["details"]["summary"]
    assert "looks like an SLO target" in record["details"]["summary"]


def test_the_verdict_names_the_model_and_the_data_it_was_computed_from(slo_world: World) -> None:
    slo_world.advance(minutes=40)
    evidence = check(slo_world, "green")["details"]["evidence"]
    assert (evidence["endpoint"], evidence["deployment"]) == (EP, "green")
    assert (evidence["model"], evidence["model_version"]) == ("credit", "2")
    assert evidence["data"]["requests"] > 0 and evidence["data"]["end"].startswith("2024-05-01T10:40")
    assert evidence["metrics"]["latency"].startswith("RequestLatency_P50/RequestLatency_P90/RequestLatency_P95")


def test_the_latency_alert_links_a_report_with_the_series_against_the_objective(slo_world: World) -> None:
    slo_world.advance(minutes=40)
    check(slo_world, "green")
    [alert] = alerts(slo_world, "green", LATENCY)
    report = slo_world.services.alerts.report(alert.id)
    assert "credit-ep/green" in report
    assert report.count("data:image/svg+xml;base64,") == 2


def test_a_healed_deployments_alert_resolves_once_keep_firing_has_passed(slo_world: World) -> None:
    slo_world.advance(minutes=40)
    check(slo_world, "green")
    behave(slo_world, "green", latency_ms={"p50": 8, "p99": 30})  # back to the scenario's original
    slo_world.advance(minutes=15)
    assert check(slo_world, "green")["decision"] == "ok"
    [held] = alerts(slo_world, "green", LATENCY)  # passing, but within the 30-minute keep-firing period
    assert held.cleared_at is not None
    slo_world.advance(minutes=20)
    check(slo_world, "green")
    assert alerts(slo_world, "green", LATENCY) == []
    [resolved] = alerts(slo_world, "green", LATENCY, state="all")
    assert resolved.state == AlertState.RESOLVED
