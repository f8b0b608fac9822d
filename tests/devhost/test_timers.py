"""Timer triggers on the devhost: admin runs, the cross-process lock, schedules, startup runs, retries."""

from __future__ import annotations

import datetime as dt
import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from devhost.process import DevHost
from tests.devhost.helpers import MASTER_KEY, Sample, eventually


def run_now(host: DevHost, function: str) -> int:
    response = requests.post(
        host.url(f"/admin/functions/{function}"), json={"input": ""},
        headers={"x-functions-key": MASTER_KEY}, timeout=5,
    )  # fmt: skip
    return response.status_code


def new_records(host: DevHost, function: str, before: int, count: int = 1) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]]:
        records = host.invocations(function)[before:]
        return records if len(records) >= count else []

    return eventually(probe, what=f"{count} new record(s) for {function}")


def test_admin_run_is_202_and_runs_the_timer(devhost: DevHost, sample: Sample) -> None:
    before = len(sample.blob_names("manual"))
    assert run_now(devhost, "manual_timer") == 202
    names = eventually(lambda: [n for n in sample.blob_names("manual") if n.startswith("manual/a-")])
    assert len(names) == before + 1
    assert sample.read_json(names[-1]) == {"past_due": False}


def test_same_timer_in_two_processes_runs_once(
    devhost: DevHost, peer_devhost: DevHost, sample: Sample
) -> None:
    before_a, before_b = (
        len(devhost.invocations("locked_timer")),
        len(peer_devhost.invocations("locked_timer")),
    )
    blobs_before = set(sample.blob_names("locked"))
    with ThreadPoolExecutor(2) as pool:
        statuses = list(pool.map(lambda h: run_now(h, "locked_timer"), [devhost, peer_devhost]))
    assert statuses == [202, 202]
    record_a = new_records(devhost, "locked_timer", before_a)[0]
    record_b = new_records(peer_devhost, "locked_timer", before_b)[0]
    assert sorted([record_a["outcome"], record_b["outcome"]]) == ["skipped", "succeeded"]
    skipped = record_a if record_a["outcome"] == "skipped" else record_b
    assert skipped["reason"] == "another instance holds the timer lock"
    assert len(set(sample.blob_names("locked")) - blobs_before) == 1


def test_scheduled_occurrence_runs_in_one_process_only(devhost: DevHost, peer_devhost: DevHost) -> None:
    def both_saw_two_occurrences() -> dict[str, list[str]]:
        seen: dict[str, list[str]] = {}
        for record in devhost.invocations("ticking_timer") + peer_devhost.invocations("ticking_timer"):
            if record.get("occurrence"):
                seen.setdefault(record["occurrence"], []).append(record["outcome"])
        shared = {k: v for k, v in seen.items() if len(v) == 2}
        return shared if len(shared) >= 2 else {}

    shared = eventually(both_saw_two_occurrences, what="two occurrences fired in both processes")
    for occurrence, outcomes in shared.items():
        assert sorted(outcomes) == ["skipped", "succeeded"], occurrence


def test_run_on_startup_runs_once_at_start(devhost: DevHost, sample: Sample) -> None:
    eventually(lambda: "startup/a.json" in sample.blob_names("startup"), what="the startup run")
    assert sample.read_json("startup/a.json") == {"past_due": False}
    assert [r["cause"] for r in devhost.invocations("startup_timer")][:1] == ["RunOnStartup"]


def test_monitored_timer_without_history_is_not_past_due(devhost: DevHost) -> None:
    check = re.compile(r"timer monitored_timer: schedule .* monitor on, (.*)$", re.MULTILINE)
    verdict = eventually(lambda: check.search(devhost.log_text()), what="the startup check")
    assert verdict.group(1) == "not past due"
    assert devhost.invocations("monitored_timer") == []


def test_missed_occurrence_runs_at_start_as_past_due(peer_devhost: DevHost, sample: Sample) -> None:
    eventually(lambda: "monitored/b.json" in sample.blob_names("monitored"), what="the past-due run")
    seen = sample.read_json("monitored/b.json")
    assert seen["past_due"] is True
    assert seen["status"]["Next"].startswith("2021-01-01T00:00:00")


def test_past_due_run_records_the_next_occurrence(peer_devhost: DevHost, sample: Sample) -> None:
    eventually(lambda: peer_devhost.invocations("monitored_timer"), what="the past-due run")
    name = f"timers/{sample.host_id}/Host.Functions.monitored_timer/status"

    def recorded_next() -> dt.datetime | None:
        raw = sample.blobs.get_blob_client("azure-webjobs-hosts", name).download_blob().readall()
        moment = dt.datetime.fromisoformat(json.loads(raw)["Next"])
        return moment if moment > dt.datetime.now(dt.UTC) else None

    next_run = eventually(recorded_next, what="a status with a future Next")
    assert (next_run.month, next_run.day, next_run.hour) == (1, 1, 0)


def test_retry_policy_reruns_a_failing_timer(devhost: DevHost) -> None:
    before = len(devhost.invocations("retrying_timer"))
    assert run_now(devhost, "retrying_timer") == 202
    records = new_records(devhost, "retrying_timer", before, count=3)
    assert [r["error"] for r in records] == [
        "RuntimeError: attempt 0 fails",
        "RuntimeError: attempt 1 fails",
        "RuntimeError: attempt 2 fails",
    ]
