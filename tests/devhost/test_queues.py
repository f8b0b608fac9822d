"""Queue triggers on the devhost: decoding, dequeue count, retries, poison queue, admin input."""

from __future__ import annotations

import json
import uuid

import requests

from devhost.process import DevHost
from tests.devhost.helpers import MASTER_KEY, Sample, eventually


def processed(sample: Sample, body: str) -> dict[str, object]:
    """The record queue_worker wrote for the message with this body (waits for it)."""

    def find() -> dict[str, object] | None:
        for name in sample.blob_names("queue"):
            record = sample.read_json(name)
            if record["body"] == body:
                return record
        return None

    return eventually(find, what=f"queue_worker to process {body!r}")


def test_message_is_processed_once_with_dequeue_count_1(devhost: DevHost, sample: Sample) -> None:
    body = json.dumps({"job": uuid.uuid4().hex})
    sample.send("in", body)
    record = processed(sample, body)
    assert record["dequeue_count"] == 1
    assert record["insertion_time"]  # trigger metadata reached func.QueueMessage
    eventually(lambda: not sample.queue("in").peek_messages(), what="the message to be deleted")


def test_failed_attempt_is_retried_with_the_next_dequeue_count(devhost: DevHost, sample: Sample) -> None:
    body = json.dumps({"job": uuid.uuid4().hex, "fail_until": 3})
    sample.send("in", body)
    assert processed(sample, body)["dequeue_count"] == 3


def test_text_that_is_not_base64_is_passed_through_raw(devhost: DevHost, sample: Sample) -> None:
    body = f"plain text, not base64! {uuid.uuid4().hex}"
    sample.queue("in").send_message(body)
    assert processed(sample, body)["dequeue_count"] == 1
    assert "not valid base64" in devhost.log_text()


def test_message_failing_five_times_moves_to_poison_queue(devhost: DevHost, sample: Sample) -> None:
    body = f"poison me {uuid.uuid4().hex}"
    sample.send("fail", body)
    poisoned = eventually(lambda: body in sample.peek("fail-poison"), what="the poison message")
    assert poisoned
    attempts = [r for r in devhost.invocations("queue_failer") if r["outcome"] == "failed"]
    message_id = attempts[-1]["message_id"]
    counts = [r["dequeue_count"] for r in attempts if r["message_id"] == message_id]
    assert counts == [1, 2, 3, 4, 5]
    assert body not in sample.peek("fail")


def test_admin_input_runs_a_queue_function_with_that_body(devhost: DevHost, sample: Sample) -> None:
    body = json.dumps({"manual": uuid.uuid4().hex})
    response = requests.post(
        devhost.url("/admin/functions/queue_worker"), json={"input": body},
        headers={"x-functions-key": MASTER_KEY}, timeout=5,
    )  # fmt: skip
    assert response.status_code == 202
    assert processed(sample, body)["dequeue_count"] == 1
