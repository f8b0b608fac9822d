"""The sweep's fan-out through the real worker: one job per check and target as each cadence falls due,
by the app's clock (the emulator's)."""

from __future__ import annotations

from shared.jobs import Job
from tests.checks.conftest import World


def sweep_job(world: World, tag: str) -> Job:
    return Job(id=f"sweep-{tag}", kind="scheduled_sweep", workspace_id=world.workspace_id,
               source_event_id=f"timer-{tag}", source_event_type="timer")


def by_check(jobs: list[Job]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for job in jobs:
        out.setdefault(job.target["check"], []).append((job.target.get("endpoint", ""),
                                                        job.target.get("deployment", "")))
    return {k: sorted(v) for k, v in out.items()}


def test_first_sweep_enqueues_every_check_for_every_deployment(world: World) -> None:
    assert world.run(sweep_job(world, "1")) == "done"
    jobs = world.jobs()
    assert all(j.kind == "check" for j in jobs)
    assert by_check(jobs) == {
        "slo": [("credit-ep", "blue"), ("credit-ep", "green")],
        "drift": [("credit-ep", "blue"), ("credit-ep", "green")],
        "quota": [("", "")],
        "cost": [("", "")],
    }


def test_a_sweep_in_the_same_slots_enqueues_nothing_again(world: World) -> None:
    world.run(sweep_job(world, "1"))
    world.jobs()
    world.run(sweep_job(world, "2"))
    assert world.jobs() == []


def test_after_the_clock_moves_only_the_checks_whose_cadence_fell_due_run(world: World) -> None:
    world.run(sweep_job(world, "1"))
    world.jobs()
    world.advance(minutes=10)  # SLO every 5 min falls due; drift and quota hourly, cost 6-hourly do not
    world.run(sweep_job(world, "2"))
    assert set(by_check(world.jobs())) == {"slo"}


def test_a_jump_past_many_slots_runs_each_due_check_once(world: World) -> None:
    world.run(sweep_job(world, "1"))
    world.jobs()
    world.advance(minutes=7 * 60)
    world.run(sweep_job(world, "2"))
    counts = {check: len(targets) for check, targets in by_check(world.jobs()).items()}
    assert counts == {"slo": 2, "drift": 2, "quota": 1, "cost": 1}
