"""Delivery through the outbox against real receivers that fail on demand: nothing lost while a webhook
is down, nothing posted twice, retries paced by backoff and Retry-After, dead letters after the last try."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from azure.storage.blob import ContainerClient

from shared.alerts import lifecycle as lc
from shared.alerts.bootstrap import build_alert_service
from shared.alerts.model import OutboxItem
from shared.alerts.repository import AlertRepository
from shared.alerts.service import DELIVERY_RULE, AlertService
from tests.alerts.conftest import ManualClock, RecordingAudit, signal
from tests.alerts.receivers import Receiver, Reply

Build = Callable[..., AlertService]


def kinds(receiver: Receiver) -> list[str]:
    return [b["data"]["alertContext"]["notification"]["kind"] for b in receiver.bodies]


def pending(container: ContainerClient) -> list[OutboxItem]:
    repo = AlertRepository(container)
    return [item for e in repo.pending_index() if (item := repo.read_pending(e.delivery_id))]


def test_down_webhook_loses_nothing_and_gets_it_once_back_up(
    make_service: Build, receivers, clock, container
) -> None:
    hook = receivers()
    service = make_service(MODELWATCH_ALERT_WEBHOOK_URL=hook.url())
    hook.stop()
    result = service.fire(signal())
    assert [d.outcome for d in result.deliveries if d.sink == "webhook"] == ["retrying"]
    hook.start()  # back on the same port
    clock.advance(seconds=29)
    service.tick()
    assert hook.requests == []  # backoff not over yet
    clock.advance(seconds=1)
    service.tick()
    clock.advance(hours=1)
    service.tick()
    assert kinds(hook) == ["fired"] and pending(container) == []


def test_retry_after_from_a_429_is_honoured(make_service: Build, receivers, clock, container) -> None:
    hook = receivers()
    hook.script(Reply(429, "rate limited", {"Retry-After": "120"}))
    service = make_service(MODELWATCH_ALERT_WEBHOOK_URL=hook.url())
    service.fire(signal())
    [item] = [i for i in pending(container) if i.sink == "webhook"]
    assert (item.attempts, item.last_status, item.next_attempt_at) == (1, 429, clock.now.replace(minute=2))
    clock.advance(seconds=119)
    service.tick()
    clock.advance(seconds=1)
    service.tick()
    assert len(hook.requests) == 2 and pending(container) == []


def test_server_errors_are_retried_with_growing_backoff(
    make_service: Build, receivers, clock, container
) -> None:
    hook = receivers()
    hook.script(Reply(500, "boom"), Reply(503, "busy"))
    service = make_service(MODELWATCH_ALERT_WEBHOOK_URL=hook.url(), MODELWATCH_ALERT_OUTBOX_BACKOFF="30s")
    service.fire(signal())
    clock.advance(seconds=30)
    service.tick()
    [item] = [i for i in pending(container) if i.sink == "webhook"]
    assert (item.attempts, item.last_error, item.next_attempt_at - clock.now) == (
        2,
        "HTTP 503: busy",
        timedelta(seconds=60),
    )
    clock.advance(seconds=60)
    service.tick()
    assert len(hook.requests) == 3 and pending(container) == []


def test_too_slow_receiver_times_out_and_is_retried(make_service: Build, receivers, clock, container) -> None:
    hook = receivers()
    hook.script(Reply(200, "ok", delay=3.0))
    service = make_service(MODELWATCH_ALERT_WEBHOOK_URL=hook.url(), MODELWATCH_ALERT_HTTP_TIMEOUT="1s")
    result = service.fire(signal())
    [webhook] = [d for d in result.deliveries if d.sink == "webhook"]
    assert (webhook.outcome, webhook.error) == ("retrying", "timed out after 1s")
    clock.advance(seconds=30)
    service.tick()
    assert len(hook.requests) == 2 and pending(container) == []


def test_delivery_is_dead_lettered_after_the_last_attempt(
    make_service: Build, receivers, clock, container
) -> None:
    hook = receivers(Reply(500, "still broken"))
    service = make_service(MODELWATCH_ALERT_WEBHOOK_URL=hook.url(), MODELWATCH_ALERT_OUTBOX_MAX_ATTEMPTS="3")
    alert = service.fire(signal()).alert
    for _ in range(3):
        clock.advance(minutes=10)
        service.tick()
    assert [b["data"]["essentials"]["alertId"] for b in hook.bodies].count(alert.id) == 3
    [dead] = [d for d in AlertRepository(container).dead_letters() if d.notification.alert_id == alert.id]
    assert (dead.sink, dead.attempts, dead.last_error) == ("webhook", 3, "HTTP 500: still broken")
    assert not [i for i in pending(container) if i.notification.alert_id == alert.id]


def test_non_retryable_answer_is_dead_lettered_at_once(make_service: Build, receivers, container) -> None:
    hook = receivers()
    hook.script(Reply(404, "channel_not_found"))
    service = make_service(MODELWATCH_SLACK_WEBHOOK_URL=hook.url("/services/T/B/x"))
    result = service.fire(signal())
    assert [(d.outcome, d.error) for d in result.deliveries if d.sink == "slack"] == [
        ("dead-lettered", "HTTP 404: channel_not_found")
    ]
    assert len(AlertRepository(container).dead_letters()) == 1


def test_dead_letter_raises_an_alert_about_the_alerting_path(make_service: Build, receivers, clock) -> None:
    broken, healthy = receivers(Reply(403, "action_prohibited")), receivers()
    service = make_service(
        MODELWATCH_SLACK_WEBHOOK_URL=broken.url("/services/T/B/x"), MODELWATCH_ALERT_WEBHOOK_URL=healthy.url()
    )
    service.fire(signal())
    service.tick()
    rules = [
        (b["data"]["essentials"]["alertRule"], b["data"]["essentials"]["severity"]) for b in healthy.bodies
    ]
    assert rules == [("latency-p95", "Sev2"), (DELIVERY_RULE, "Sev1")]
    assert healthy.bodies[1]["data"]["alertContext"]["labels"] == {"sink": "slack"}


def test_delivered_notification_is_never_posted_again(
    make_service: Build, receivers, clock, container
) -> None:
    hook = receivers()
    service = make_service(MODELWATCH_ALERT_WEBHOOK_URL=hook.url())
    result = service.fire(signal())
    repo = AlertRepository(container)
    done = repo.get_done(next(d.delivery_id for d in result.deliveries if d.sink == "webhook"))
    # a crash after the post left the pending blob behind: put it back as it was
    repo.enqueue(
        OutboxItem(
            delivery_id=done.delivery_id,
            sink="webhook",
            seq=1,
            notification=done.notification,
            created_at=clock.now,
            next_attempt_at=clock.now,
        )
    )
    service.tick()
    assert len(hook.requests) == 1 and pending(container) == []


def test_two_drains_at_once_post_each_delivery_once(
    container, storage_connection_string: str, clock: ManualClock, audit: RecordingAudit, receivers
) -> None:
    hook = receivers(Reply(200, "ok", delay=0.3))
    env = {"MODELWATCH_ALERT_WEBHOOK_URL": hook.url(), "MODELWATCH_ALERT_DELIVER_INLINE": "false"}
    drains = [
        build_alert_service(
            env,
            audit=audit,
            clock=clock,
            container=ContainerClient.from_connection_string(
                storage_connection_string, container.container_name
            ),
        )
        for _ in range(4)
    ]
    drains[0].fire(signal())
    drains[0].fire(signal(labels={"endpoint": "churn-prod", "deployment": "blue"}))
    start = threading.Barrier(len(drains))

    def drain(service: AlertService) -> None:
        start.wait()
        service.tick()

    threads = [threading.Thread(target=drain, args=(s,)) for s in drains]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = sorted(r.headers["idempotency-key"] for r in hook.requests)
    assert len(ids) == 2 and len(set(ids)) == 2


def test_resolve_never_overtakes_its_trigger(make_service: Build, receivers, clock) -> None:
    hook = receivers()
    service = make_service(MODELWATCH_ALERT_WEBHOOK_URL=hook.url(), MODELWATCH_ALERT_KEEP_FIRING_FOR="0s")
    hook.stop()
    alert = service.fire(signal()).alert  # trigger waits in backoff
    hook.start()
    service.clear(alert.rule, alert.targets, alert.labels)  # the resolve must queue behind it
    assert hook.requests == []
    clock.advance(minutes=1)
    service.tick()
    assert kinds(hook) == ["fired", "resolved"]


def test_next_episode_trigger_never_overtakes_the_previous_resolve(make_service: Build, receivers, clock) -> None:
    """Receivers key on the fingerprint (PagerDuty's dedup_key): a late resolve of episode 1 arriving after
    episode 2's trigger would close the incident of a condition that is firing again."""
    hook = receivers()
    service = make_service(MODELWATCH_ALERT_WEBHOOK_URL=hook.url(), MODELWATCH_ALERT_KEEP_FIRING_FOR="0s")
    first = service.fire(signal()).alert
    hook.stop()
    service.clear(first.rule, first.targets, first.labels)  # episode 1's resolve waits in backoff
    hook.start()
    second = service.fire(signal()).alert
    assert second.episode == 2
    clock.advance(minutes=1)
    service.tick()
    sent = [(b["data"]["essentials"]["alertId"], k) for b, k in zip(hook.bodies, kinds(hook), strict=True)]
    assert sent == [(first.id, "fired"), (first.id, "resolved"), (second.id, "fired")]


def test_tick_repairs_a_crash_between_the_alert_write_and_the_outbox(
    make_service: Build, receivers, clock, container
) -> None:
    hook = receivers()
    service = make_service(MODELWATCH_ALERT_WEBHOOK_URL=hook.url())
    decided, _ = lc.decide(
        lc.open_alert(signal(), "0123456789abcdef", 1, clock.now), clock.now, service.policy
    )
    repo = AlertRepository(container)
    repo.mark_active(decided)
    repo.create_alert(decided)  # written with its pending event; the process died here
    service.tick()
    assert kinds(hook) == ["fired"] and service.get(decided.id).pending_events == ()


def test_removed_sink_dead_letters_its_waiting_deliveries(
    make_service: Build, receivers, clock, container
) -> None:
    hook = receivers()
    make_service(MODELWATCH_ALERT_WEBHOOK_URL=hook.url(), MODELWATCH_ALERT_DELIVER_INLINE="false").fire(
        signal()
    )
    make_service().tick()  # the webhook setting was removed since
    [dead] = AlertRepository(container).dead_letters()
    assert (dead.sink, dead.last_error) == ("webhook", "sink 'webhook' is no longer configured")


SECRET_PATH = "/services/T0SECRET/B0SECRET/abcdefSECRETghijkl"


@pytest.mark.parametrize("failure", ["down", "500"])
def test_webhook_secret_never_reaches_logs_records_or_audit(
    make_service: Build, receivers, clock, container, audit, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    hook = receivers(Reply(500, f"echo {SECRET_PATH}"))
    service = make_service(
        MODELWATCH_SLACK_WEBHOOK_URL=hook.url(SECRET_PATH), MODELWATCH_ALERT_OUTBOX_MAX_ATTEMPTS="2"
    )
    if failure == "down":
        hook.stop()
    with caplog.at_level(logging.DEBUG):
        service.fire(signal())
        clock.advance(minutes=5)
        service.tick()
    stored = [container.download_blob(b.name).readall().decode() for b in container.list_blobs()]
    [dead] = AlertRepository(container).dead_letters()  # the failure is recorded...
    assert dead.last_error.startswith("HTTP 500: echo ***" if failure == "500" else "ConnectionError")
    for text in [caplog.text, json.dumps(audit.records, default=str), *stored]:
        assert "SECRET" not in text  # ...without the secret


def test_a_corrupt_record_never_stops_the_other_deliveries(make_service: Build, receivers, clock, container) -> None:
    hook = receivers()
    service = make_service(MODELWATCH_ALERT_WEBHOOK_URL=hook.url(), MODELWATCH_ALERT_DELIVER_INLINE="false")
    service.fire(signal())
    # a corrupt alert record behind an active marker, and a corrupt pending delivery, next to the good one
    container.upload_blob("alerts/records/0123456789abcdef-1.json", b"{not json", overwrite=True)
    container.upload_blob("alerts/active/0123456789abcdef-1", b"", overwrite=True)
    container.upload_blob("outbox/pending/broken.json", b"{not json", overwrite=True,
                          metadata={"alert": "x", "seq": "1", "sink": "webhook", "next": clock.now.isoformat()})
    container.upload_blob("outbox/pending/no-metadata.json", b"{}", overwrite=True)
    report = service.tick()
    assert kinds(hook) == ["fired"]
    assert any(d.delivery_id == "broken" and d.outcome == "retrying" for d in report.deliveries)
