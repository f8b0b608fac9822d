"""Intake, worker and sweep services on real Azurite blobs and queues (no HTTP host in between)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import ContainerClient
from azure.storage.queue import QueueClient

from shared.adapters.audit import AuditLog
from shared.adapters.idempotency import IdempotencyStore
from shared.events import InboundEvent, route_ml_event
from shared.jobs import Job, MalformedJob
from shared.services.intake import EventInFlight, Intake, IntakeUnavailable
from shared.services.sweep import Sweep
from shared.services.worker import JobBusy, Worker
from tests.fixtures import events as samples


def inbound(raw: dict) -> InboundEvent:
    return InboundEvent(id=raw["id"], source=raw["topic"], subject=raw["subject"], type=raw["eventType"],
                        time=None, data=raw["data"], schema="EventGridSchema")


@pytest.fixture
def audit(container: ContainerClient) -> AuditLog:
    return AuditLog(container)


@pytest.fixture
def intake(container: ContainerClient, queue: QueueClient, audit: AuditLog) -> Intake:
    return Intake((samples.WORKSPACE,), IdempotencyStore(container), queue.send_message, audit)


def decisions(audit: AuditLog) -> list[str]:
    records, _ = audit.read(datetime.now(UTC) - timedelta(minutes=5), 1000)
    return [r.decision for r in records]


def queued(queue: QueueClient) -> list[Job]:
    return [Job.from_json(m.content.decode()) for m in queue.peek_messages(max_messages=32)]


def test_accepted_event_is_enqueued_and_audited(intake: Intake, queue: QueueClient, audit: AuditLog) -> None:
    raw = samples.fresh_id(samples.model_registered())
    assert intake.handle(inbound(raw), route_ml_event) == "accepted"
    [job] = queued(queue)
    assert job.kind == "model_registered" and job.source_event_id == raw["id"]
    assert decisions(audit) == ["accepted"]


def test_duplicate_delivery_enqueues_once(intake: Intake, queue: QueueClient, audit: AuditLog) -> None:
    raw = samples.fresh_id(samples.model_registered())
    assert intake.handle(inbound(raw), route_ml_event) == "accepted"
    assert intake.handle(inbound(raw), route_ml_event) == "duplicate"
    assert len(queued(queue)) == 1
    assert decisions(audit) == ["accepted", "duplicate"]


def test_concurrent_deliveries_enqueue_once_and_the_rest_ask_for_redelivery(intake: Intake, queue: QueueClient
                                                                             ) -> None:
    raw = samples.fresh_id(samples.model_registered())

    def deliver(_: int) -> str:
        try:
            return intake.handle(inbound(raw), route_ml_event)
        except EventInFlight:
            return "retry-later"

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(deliver, range(6)))
    assert outcomes.count("accepted") == 1
    assert set(outcomes) <= {"accepted", "retry-later", "duplicate"}
    assert len(queued(queue)) == 1


def test_foreign_workspace_is_audited_as_rejected_and_not_enqueued(intake: Intake, queue: QueueClient,
                                                                  audit: AuditLog) -> None:
    raw = samples.fresh_id(samples.model_registered(topic=samples.FOREIGN_WORKSPACE))
    assert intake.handle(inbound(raw), route_ml_event) == "rejected"
    assert queued(queue) == []
    records, _ = audit.read(datetime.now(UTC) - timedelta(minutes=5), 10)
    assert records[0].decision == "rejected" and samples.FOREIGN_WORKSPACE in records[0].details["reason"]


def test_enqueue_failure_releases_the_claim_so_redelivery_succeeds(container: ContainerClient, queue: QueueClient,
                                                                   audit: AuditLog) -> None:
    def broken_send(_: str) -> None:
        raise ConnectionError("queue down")

    raw = samples.fresh_id(samples.model_registered())
    claims = IdempotencyStore(container)
    with pytest.raises(IntakeUnavailable):
        Intake((samples.WORKSPACE,), claims, broken_send, audit).handle(inbound(raw), route_ml_event)
    assert Intake((samples.WORKSPACE,), claims, queue.send_message, audit).handle(inbound(raw), route_ml_event) \
        == "accepted"


def test_an_event_whose_job_exceeds_the_queue_limit_is_rejected_with_the_reason(intake: Intake, queue: QueueClient,
                                                                                 audit: AuditLog) -> None:
    raw = samples.fresh_id(samples.model_registered())
    raw["data"]["ModelName"] = "m" * 50_000  # the job (base64 on the queue) would be over 64 KB
    assert intake.handle(inbound(raw), route_ml_event) == "rejected"
    assert queued(queue) == []
    [record] = audit.read(datetime.now(UTC) - timedelta(minutes=5), 10)[0]
    assert record.decision == "rejected" and record.details["event_id"] == raw["id"]
    assert "64 KB" in record.details["reason"] and "job message" in record.details["reason"]


def test_redelivering_an_oversized_event_is_rejected_again_never_an_error(intake: Intake, queue: QueueClient) -> None:
    raw = samples.fresh_id(samples.model_registered())
    raw["data"]["ModelName"] = "m" * 60_000
    assert [intake.handle(inbound(raw), route_ml_event) for _ in range(3)] == ["rejected"] * 3
    assert queued(queue) == []


def test_an_oversized_subject_is_audited_truncated(intake: Intake, queue: QueueClient, audit: AuditLog) -> None:
    raw = samples.fresh_id(samples.model_registered())
    raw["data"] = {}
    raw["subject"] = "models/" + "m" * 70_000 + ":20"  # name from the subject: the job is too large too
    assert intake.handle(inbound(raw), route_ml_event) == "rejected"
    [record] = audit.read(datetime.now(UTC) - timedelta(minutes=5), 10)[0]
    assert record.subject.startswith("models/mmm") and len(record.subject) < 1100
    assert "70" in record.subject[-40:]  # says how much was cut


def test_a_storage_failure_asks_for_redelivery_without_echoing_storage_text(container: ContainerClient,
                                                                           storage_connection_string: str,
                                                                           unique_name: str, audit: AuditLog) -> None:
    from shared.adapters.storage import job_queue

    missing = job_queue(storage_connection_string, unique_name + "-missing", create=False)  # real 404 from Azurite
    raw = samples.fresh_id(samples.model_registered())
    with pytest.raises(IntakeUnavailable) as raised:
        Intake((samples.WORKSPACE,), IdempotencyStore(container), missing.send_message, audit).handle(
            inbound(raw), route_ml_event)
    text = str(raised.value)
    assert raw["id"] in text and "enqueue" in text
    assert not any(word in text for word in ("QueueNotFound", "RequestId", "Time:", "ErrorCode", "specified queue"))


def test_an_event_id_with_a_lone_surrogate_is_accepted_once(intake: Intake, queue: QueueClient,
                                                            audit: AuditLog) -> None:
    raw = {**samples.fresh_id(samples.model_registered()), "id": "\ud800-" + samples.fresh_id({})["id"]}
    assert intake.handle(inbound(raw), route_ml_event) == "accepted"
    assert intake.handle(inbound(raw), route_ml_event) == "duplicate"
    [job] = queued(queue)
    assert job.source_event_id == raw["id"]
    assert decisions(audit) == ["accepted", "duplicate"]


def job_json(job_id: str = "evt-1") -> str:
    return Job(id=job_id, kind="model_registered", workspace_id=samples.WORKSPACE, source_event_id="1",
               source_event_type="t", target={"model": "m", "version": "1"}).to_json()


def test_worker_runs_a_job_once(container: ContainerClient, audit: AuditLog) -> None:
    runs: list[str] = []
    worker = Worker(IdempotencyStore(container), audit, {"model_registered": lambda j: runs.append(j.id) or {}})
    assert worker.handle(job_json(), "m1", 1) == "done"
    assert worker.handle(job_json(), "m2", 1) == "duplicate"
    assert runs == ["evt-1"]


def test_worker_records_a_job_kind_it_has_no_handler_for(container: ContainerClient, audit: AuditLog) -> None:
    assert Worker(IdempotencyStore(container), audit).handle(job_json(), "m1", 1) == "done"
    records, _ = audit.read(datetime.now(UTC) - timedelta(minutes=5), 10)
    assert "no handler for job kind model_registered" in json.dumps(records[0].details)


def stale_claim(container: ContainerClient, job_id: str, age: timedelta) -> None:
    """What an attempt that died mid-job leaves behind: a `claimed` record that is never completed."""
    claimed = {"state": "claimed", "key": f"jobs/{job_id}", "claimed_at": (datetime.now(UTC) - age).isoformat(),
               "token": "dead-attempt"}
    container.upload_blob(f"idempotency/jobs/{job_id}.json", json.dumps(claimed), overwrite=True)


def test_a_job_whose_claim_is_held_is_put_back_on_the_queue_not_dropped(container: ContainerClient,
                                                                       queue: QueueClient, audit: AuditLog) -> None:
    stale_claim(container, "evt-1", timedelta(minutes=2))  # younger than the worker's claim timeout
    requeued: list[tuple[str, int]] = []
    worker = Worker(IdempotencyStore(container, timedelta(minutes=15)), audit, {},
                    requeue=lambda message, delay: requeued.append((message, delay)), busy_retry_seconds=905)
    assert worker.handle(job_json(), "m1", 1) == "deferred"
    assert requeued == [(job_json(), 905)]
    assert decisions(audit) == ["deferred"]


def test_the_requeued_copy_takes_a_dead_attempts_claim_over_and_runs(container: ContainerClient,
                                                                     audit: AuditLog) -> None:
    stale_claim(container, "evt-1", timedelta(minutes=16))  # the holder died: its claim went stale meanwhile
    runs: list[str] = []
    worker = Worker(IdempotencyStore(container, timedelta(minutes=15)), audit,
                    {"model_registered": lambda j: runs.append(j.id) or {}}, requeue=lambda m, d: None)
    assert worker.handle(job_json(), "m2", 1) == "done"
    assert runs == ["evt-1"]


def test_a_held_claim_without_a_way_to_requeue_asks_the_host_to_retry(container: ContainerClient,
                                                                      audit: AuditLog) -> None:
    stale_claim(container, "evt-1", timedelta(minutes=2))
    worker = Worker(IdempotencyStore(container, timedelta(minutes=15)), audit, {})
    with pytest.raises(JobBusy):
        worker.handle(job_json(), "m1", 1)


def test_a_failure_while_completing_gives_the_claim_back(container: ContainerClient, audit: AuditLog) -> None:
    class CompleteFails(IdempotencyStore):
        def complete(self, key: str, outcome: dict | None = None) -> None:
            raise ConnectionError("storage dropped the connection")

    worker = Worker(CompleteFails(container), audit, {"model_registered": lambda j: {}})
    with pytest.raises(ConnectionError):
        worker.handle(job_json(), "m1", 1)
    assert IdempotencyStore(container).claim("jobs/evt-1").status == "new"  # free for the host's retry


def test_worker_failure_is_audited_with_its_reason_and_raised(container: ContainerClient, audit: AuditLog) -> None:
    def boom(_: Job) -> dict:
        raise RuntimeError("metrics API down")

    worker = Worker(IdempotencyStore(container), audit, {"model_registered": boom})
    with pytest.raises(RuntimeError):
        worker.handle(job_json(), "m1", 2)
    records, _ = audit.read(datetime.now(UTC) - timedelta(minutes=5), 10)
    assert records[0].decision == "failed" and "metrics API down" in records[0].details["reason"]


def test_malformed_message_on_its_last_attempt_is_audited_as_poisoned(container: ContainerClient,
                                                                      audit: AuditLog) -> None:
    with pytest.raises(MalformedJob):
        Worker(IdempotencyStore(container), audit).handle("not a job", "m9", 5)
    records, _ = audit.read(datetime.now(UTC) - timedelta(minutes=5), 10)
    assert records[0].decision == "poisoned" and "poison" in records[0].details["next"]


def test_sweep_runs_once_per_slot(container: ContainerClient, queue: QueueClient, audit: AuditLog) -> None:
    sweep = Sweep((samples.WORKSPACE,), IdempotencyStore(container), queue.send_message, audit)
    now = datetime(2026, 5, 1, 12, 7, tzinfo=UTC)
    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(lambda _: sweep.run(now, past_due=False), range(3)))
    assert outcomes.count("executed") == 1
    [job] = queued(queue)
    assert job.kind == "scheduled_sweep" and "20260501T1205Z" in job.id


def test_sweep_whose_enqueue_failed_can_run_its_slot_again_at_once(container: ContainerClient, queue: QueueClient,
                                                                  audit: AuditLog) -> None:
    calls = []

    def flaky_send(body: str) -> object:
        calls.append(body)
        if len(calls) == 1:
            raise ConnectionError("queue unreachable")
        return queue.send_message(body)

    sweep = Sweep((samples.WORKSPACE,), IdempotencyStore(container), flaky_send, audit)
    now = datetime(2026, 5, 1, 12, 7, tzinfo=UTC)
    with pytest.raises(ConnectionError):
        sweep.run(now, past_due=False)
    assert sweep.run(now + timedelta(seconds=5), past_due=False) == "executed"
    [job] = queued(queue)
    assert job.kind == "scheduled_sweep"
