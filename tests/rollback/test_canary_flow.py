"""A canary analysis end to end on the emulator: started by the traffic change, advanced by the app's clock
through the sweep, judged, and, on Fail, rolled back once, with every step in the audit trail."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared.jobs import Job
from shared.services.rollback import RollbackController
from tests.checks.conftest import World
from tests.rollback.conftest import shift_traffic


def sweep(world: World, tag: str) -> list[Job]:
    world.run(Job(id=f"sweep-{tag}", kind="scheduled_sweep", workspace_id=world.workspace_id,
                  source_event_id=f"timer-{tag}", source_event_type="timer"))
    canary_jobs = [j for j in world.jobs() if j.target.get("check") == "canary"]
    for job in canary_jobs:
        world.run(job)
    return canary_jobs


def analyses(world: World) -> list[dict[str, Any]]:
    return world.services.state.list_json("analyses/credit-ep/")


def traffic(world: World) -> dict[str, int]:
    return {k: v for k, v in world.services.checks.azure.ml.endpoint_traffic("credit-ep").traffic.items() if v}


def regress_green(world: World) -> None:
    world.emulator.control("POST", "deployments/credit-ep/green/behaviour",
                           {"latency_ms": {"p50": 60, "p99": 250}, "error_rate": 0.03})


def run_for(world: World, minutes: int) -> None:
    for step in range(0, minutes, 5):
        world.advance(minutes=5)
        sweep(world, f"{step}")


def test_traffic_moving_to_a_deployment_that_had_none_starts_an_analysis(world: World) -> None:
    sweep(world, "before")
    shift_traffic(world, {"blue": 90, "green": 10})
    [analysis] = analyses(world)
    assert (analysis["canary"], analysis["baselines"], analysis["status"]) == ("green", ["blue"], "running")


def test_nothing_is_judged_before_an_interval_has_passed_by_the_apps_clock(world: World) -> None:
    sweep(world, "before")
    shift_traffic(world, {"blue": 90, "green": 10})
    assert sweep(world, "same-minute") == []
    world.advance(minutes=5)
    assert len(sweep(world, "after")) == 1


def test_a_healthy_canary_passes_at_the_end_of_its_lifetime_and_keeps_its_traffic(world: World) -> None:
    sweep(world, "before")
    shift_traffic(world, {"blue": 90, "green": 10})
    run_for(world, 30)
    [analysis] = analyses(world)
    assert analysis["status"] == "pass", analysis["verdict"]["reason"]
    assert traffic(world) == {"blue": 90, "green": 10}


def test_a_regressed_canary_fails_and_its_traffic_goes_back_to_the_baseline_once(world: World) -> None:
    sweep(world, "before")
    shift_traffic(world, {"blue": 90, "green": 10})
    regress_green(world)
    run_for(world, 15)
    [analysis] = analyses(world)
    assert (analysis["status"] == "fail" and analysis["rollback"]["action"] == "rolled_back") or \
        analysis["rollback"]["action"] == "rollback"
    assert traffic(world) == {"blue": 100}
    steps = [r["decision"] for r in world.audit() if r["kind"] == "rollback"]
    assert steps == ["lease_acquired", "decided", "traffic_change_requested", "verified", "rolled_back"]
    [alert] = [a for a in world.services.alerts.list_alerts() if a.rule == "rollback-canary"]
    assert alert.severity == "Sev1" and alert.labels == {"endpoint": "credit-ep", "deployment": "green"}


def test_a_split_re_applied_after_a_rollback_alerts_and_is_not_rolled_back_again(world: World) -> None:
    sweep(world, "before")
    shift_traffic(world, {"blue": 90, "green": 10})
    regress_green(world)
    run_for(world, 15)
    shift_traffic(world, {"blue": 90, "green": 10})  # the pipeline re-applies the failed split
    run_for(world, 30)
    assert traffic(world) == {"blue": 90, "green": 10}
    assert len([r for r in world.audit() if r["kind"] == "rollback" and r["decision"] == "rolled_back"]) == 1
    assert [a.rule for a in world.services.alerts.list_alerts() if a.rule == "canary-repromoted"]
    assert len(analyses(world)) == 1  # no new analysis until a person retries


def test_two_rollbacks_at_once_change_traffic_once(world: World) -> None:
    world.services.checks.azure.ml.set_traffic("credit-ep", {"blue": 90, "green": 10})
    now = world.services.clock.now()

    def attempt(_: int) -> dict[str, Any]:
        return RollbackController(world.services.checks, world.services.checks.leases).handle(
            endpoint="credit-ep", canary="green", baselines=["blue"], now=now, reason="test", analysis_id="a1")

    with ThreadPoolExecutor(2) as pool:
        outcomes = [o["action"] for o in pool.map(attempt, range(2))]
    assert sorted(outcomes) in (["busy", "rollback"], ["already_done", "rollback"])
    assert traffic(world) == {"blue": 100}
    assert len([r for r in world.audit() if r["kind"] == "rollback" and r["decision"] == "rolled_back"]) == 1


def test_no_rollback_when_the_baseline_is_unhealthy_an_alert_names_why(world: World) -> None:
    from datetime import timedelta

    from monitors.verdict import Verdict

    world.services.checks.azure.ml.set_traffic("credit-ep", {"blue": 90, "green": 10})
    now = world.services.clock.now()
    slow = Verdict("slo", "alert", "blue is slow", now - timedelta(minutes=1), "credit-ep", "blue")
    world.services.verdicts.put(slow)
    outcome = RollbackController(world.services.checks, world.services.checks.leases).handle(
        endpoint="credit-ep", canary="green", baselines=["blue"], now=now, reason="test", analysis_id="a2")
    assert outcome["action"] == "refuse"
    assert traffic(world) == {"blue": 90, "green": 10}
    [alert] = [a for a in world.services.alerts.list_alerts() if a.rule == "rollback-refused"]
    assert "blue's SLO check is failing" in alert.description


def test_a_split_re_applied_at_once_after_a_rollback_still_raises_the_re_promotion_alert(world: World) -> None:
    sweep(world, "before")
    shift_traffic(world, {"blue": 90, "green": 10})
    regress_green(world)
    for step in range(6):  # stop at the sweep that rolled green back
        world.advance(minutes=5)
        sweep(world, f"s{step}")
        if traffic(world) == {"blue": 100}:
            break
    shift_traffic(world, {"blue": 90, "green": 10})  # before any sweep has seen the rolled-back split
    assert [a.rule for a in world.services.alerts.list_alerts() if a.rule == "canary-repromoted"]
    assert len(analyses(world)) == 1
