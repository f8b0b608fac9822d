"""A canary's golden-set replay: traffic moving to a deployment starts its analysis and enqueues the replay; a
skewed canary fails its analysis at once (critical) and its traffic goes back to the baseline, once, through the
same rollback controller as a judged failure."""

from __future__ import annotations

from typing import Any

from shared.services.checks import run_check
from tests.checks.conftest import World
from tests.replay.conftest import latest, set_skew, shift_traffic, traffic


def analyses(app: World) -> list[dict[str, Any]]:
    return app.services.state.list_json("analyses/credit-ep/")


def replay_jobs(jobs: list) -> list:
    return [j for j in jobs if j.kind == "check" and j.target.get("check") == "replay"]


def rollback_steps(app: World) -> list[str]:
    return [r["decision"] for r in app.audit() if r["kind"] == "rollback"]


def test_a_canary_starting_enqueues_the_replay_of_its_golden_set(world: World) -> None:
    [job] = replay_jobs(shift_traffic(world, {"blue": 90, "green": 10}))
    [analysis] = analyses(world)
    assert (job.target["deployment"], job.target["analysis"]) == ("green", analysis["id"])


def test_a_skewed_canary_fails_its_analysis_at_once_naming_the_replay(world: World) -> None:
    [job] = replay_jobs(shift_traffic(world, {"blue": 90, "green": 10}))
    world.run(job)
    [analysis] = analyses(world)
    assert (analysis["status"], analysis["failed_by"], analysis["critical"]) == ("fail", "replay", True)
    assert "training-serving skew" in analysis["fail_reason"]


def test_a_skewed_canarys_traffic_goes_back_to_the_baseline_with_every_step_audited(world: World) -> None:
    [job] = replay_jobs(shift_traffic(world, {"blue": 90, "green": 10}))
    world.run(job)
    assert traffic(world) == {"blue": 100}
    assert rollback_steps(world) == ["lease_acquired", "decided", "traffic_change_requested", "verified",
                                     "rolled_back"]
    [alert] = [a for a in world.services.alerts.list_alerts() if a.rule == "rollback-canary"]
    assert alert.labels == {"endpoint": "credit-ep", "deployment": "green"} and "skew" in alert.description
    assert latest(world, "green").evidence["canary"][0]["rollback"]["action"] == "rollback"


def test_a_skewed_canary_is_rolled_back_once_whatever_replays_it_again(world: World) -> None:
    [job] = replay_jobs(shift_traffic(world, {"blue": 90, "green": 10}))
    world.run(job)
    world.run(job)  # a duplicate delivery
    run_check(world.services.checks, job)  # the same replay run again past the worker's dedupe (a probe, say)
    assert traffic(world) == {"blue": 100}
    assert rollback_steps(world).count("rolled_back") == 1


def test_the_canarys_report_is_the_replays_when_the_replay_failed_it(world: World) -> None:
    [job] = replay_jobs(shift_traffic(world, {"blue": 90, "green": 10}))
    world.run(job)
    [analysis] = analyses(world)
    page = world.services.state.get_bytes(f"analyses/credit-ep/{analysis['id']}.html")
    assert page is not None and b"Golden-set replay" in page and b"Worst rows" in page


def test_a_canary_that_answers_as_recorded_keeps_its_traffic_and_its_analysis_runs_on(world: World) -> None:
    set_skew(world, "green", None)
    [job] = replay_jobs(shift_traffic(world, {"blue": 90, "green": 10}))
    world.run(job)
    [analysis] = analyses(world)
    assert analysis["status"] == "running" and traffic(world) == {"blue": 90, "green": 10}
    assert latest(world, "green").status == "ok" and rollback_steps(world) == []
