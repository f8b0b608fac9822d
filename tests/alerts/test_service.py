"""The alert lifecycle end to end over real storage (Azurite) and a real HTTP receiver: what an on-call
engineer would see arrive, or not arrive."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from azure.storage.blob import ContainerClient

from shared.alerts import lifecycle as lc
from shared.alerts.bootstrap import build_alert_service
from shared.alerts.model import AlertState, Matcher
from shared.alerts.repository import AlertRepository
from shared.alerts.service import AlertService
from tests.alerts.conftest import ManualClock, RecordingAudit, signal
from tests.alerts.receivers import Receiver

Build = Callable[..., AlertService]


def conditions(receiver: Receiver) -> list[tuple[str, str]]:
    """(alertRule, monitorCondition) of every common-schema post the receiver got, in order."""
    return [
        (b["data"]["essentials"]["alertRule"], b["data"]["essentials"]["monitorCondition"])
        for b in receiver.bodies
    ]


def kinds(receiver: Receiver) -> list[str]:
    return [b["data"]["alertContext"]["notification"]["kind"] for b in receiver.bodies]


def hooked(make_service: Build, receiver: Receiver, **settings: str) -> AlertService:
    return make_service(MODELWATCH_ALERT_WEBHOOK_URL=receiver.url(), **settings)


def test_two_workers_firing_the_same_condition_make_one_alert(
    container,
    storage_connection_string: str,
    clock: ManualClock,
    audit: RecordingAudit,
    receivers: Callable[..., Receiver],
) -> None:
    hook = receivers()
    env = {"MODELWATCH_ALERT_WEBHOOK_URL": hook.url()}
    workers = [  # each worker has its own storage client, as separate function instances would
        build_alert_service(
            env,
            audit=audit,
            clock=clock,
            container=ContainerClient.from_connection_string(
                storage_connection_string, container.container_name
            ),
        )
        for _ in range(6)
    ]
    start = threading.Barrier(len(workers))
    results = []

    def run(service: AlertService) -> None:
        start.wait()
        results.append(service.fire(signal()))

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e.id for e in AlertRepository(container).alert_index()] == [results[0].alert.id]
    assert workers[0].get(results[0].alert.id).occurrences == 6
    assert sum(r.created for r in results) == 1
    assert kinds(hook) == ["fired"]


def test_firing_again_within_repeat_interval_sends_nothing_new(make_service: Build, receivers, clock) -> None:
    hook = receivers()
    service = hooked(make_service, hook)
    service.fire(signal())
    clock.advance(hours=1)
    result = service.fire(signal())
    assert kinds(hook) == ["fired"] and result.alert.occurrences == 2


def test_firing_after_repeat_interval_notifies_again(make_service: Build, receivers, clock) -> None:
    hook = receivers()
    service = hooked(make_service, hook, MODELWATCH_ALERT_REPEAT_INTERVAL="4h")
    service.fire(signal())
    clock.advance(hours=4)
    service.fire(signal())
    assert kinds(hook) == ["fired", "repeat"]


def test_timer_renotifies_a_still_open_alert_after_repeat_interval(
    make_service: Build, receivers, clock
) -> None:
    hook = receivers()
    service = hooked(make_service, hook, MODELWATCH_ALERT_REPEAT_INTERVAL="4h")
    service.fire(signal())
    clock.advance(hours=3)
    service.tick()
    clock.advance(hours=1)
    service.tick()
    assert kinds(hook) == ["fired", "repeat"]


def test_check_passing_resolves_after_keep_firing_and_sends_resolved(
    make_service: Build, receivers, clock
) -> None:
    hook = receivers()
    service = hooked(make_service, hook, MODELWATCH_ALERT_KEEP_FIRING_FOR="10m")
    fired = service.fire(signal()).alert
    clock.advance(minutes=5)
    assert service.clear(fired.rule, fired.targets, fired.labels).state is AlertState.OPEN
    clock.advance(minutes=5)
    resolved = service.clear(fired.rule, fired.targets, fired.labels)
    assert resolved.state is AlertState.RESOLVED
    assert conditions(hook) == [("latency-p95", "Fired"), ("latency-p95", "Resolved")]
    assert hook.bodies[1]["data"]["essentials"]["resolvedDateTime"] == "2026-03-01T12:10:00Z"


def test_timer_resolves_once_keep_firing_runs_out_after_a_pass(make_service: Build, receivers, clock) -> None:
    hook = receivers()
    service = hooked(make_service, hook, MODELWATCH_ALERT_KEEP_FIRING_FOR="10m")
    fired = service.fire(signal()).alert
    clock.advance(minutes=5)
    service.clear(fired.rule, fired.targets, fired.labels)
    clock.advance(minutes=6)
    assert service.tick().resolved == [fired.id]
    assert kinds(hook) == ["fired", "resolved"]


def test_flapping_within_keep_firing_stays_one_alert_and_one_page(
    make_service: Build, receivers, clock
) -> None:
    hook = receivers()
    service = hooked(make_service, hook, MODELWATCH_ALERT_KEEP_FIRING_FOR="10m")
    for _ in range(3):
        alert = service.fire(signal()).alert
        clock.advance(minutes=3)
        service.clear(alert.rule, alert.targets, alert.labels)
        clock.advance(minutes=3)
    assert kinds(hook) == ["fired"]
    assert service.get(alert.id).state is AlertState.OPEN


def test_firing_after_resolution_opens_a_new_alert(make_service: Build, receivers, clock) -> None:
    hook = receivers()
    service = hooked(make_service, hook, MODELWATCH_ALERT_KEEP_FIRING_FOR="0s")
    first = service.fire(signal()).alert
    service.clear(first.rule, first.targets, first.labels)
    clock.advance(minutes=1)
    second = service.fire(signal()).alert
    assert (first.id.endswith("-1"), second.id.endswith("-2"), second.fingerprint) == (
        True,
        True,
        first.fingerprint,
    )
    assert kinds(hook) == ["fired", "resolved", "fired"]


def test_silence_suppresses_notification_but_keeps_the_record(make_service: Build, receivers, clock) -> None:
    hook = receivers()
    service = hooked(make_service, hook)
    silence = service.create_silence(
        [Matcher(name="endpoint", value="churn-prod")],
        clock.now + timedelta(hours=2),
        "alice",
        "planned maintenance",
    )
    alert = service.fire(signal()).alert
    assert hook.requests == []
    stored = service.get(alert.id)
    assert (stored.state, stored.silenced_by) == (AlertState.OPEN, (silence.id,))


def test_notification_goes_out_when_the_silence_is_expired(make_service: Build, receivers, clock) -> None:
    hook = receivers()
    service = hooked(make_service, hook)
    silence = service.create_silence(
        [Matcher(name="deployment", value="green")],
        clock.now + timedelta(hours=2),
        "alice",
        "planned maintenance",
    )
    service.fire(signal())
    clock.advance(minutes=30)
    service.expire_silence(silence.id, "alice")
    service.tick()
    assert kinds(hook) == ["fired"]


def test_rollback_alert_inhibits_latency_alerts_of_the_rolled_back_deployment(
    make_service: Build, receivers, clock
) -> None:
    hook = receivers()
    service = hooked(make_service, hook)
    rollback = service.fire(signal(rule="rollback", severity="Sev1", description="rolled back green")).alert
    green = service.fire(signal()).alert
    blue = service.fire(signal(labels={"endpoint": "churn-prod", "deployment": "blue"})).alert
    assert service.get(green.id).inhibited_by == (rollback.id,)
    assert service.get(blue.id).inhibited_by == ()
    assert [b["data"]["essentials"]["alertId"] for b in hook.bodies] == [rollback.id, blue.id]


def test_latency_alert_notifies_once_the_rollback_alert_resolves(
    make_service: Build, receivers, clock
) -> None:
    hook = receivers()
    service = hooked(make_service, hook)
    rollback = service.fire(signal(rule="rollback", severity="Sev1")).alert
    green = service.fire(signal()).alert
    service.resolve(rollback.id, "bob", "traffic restored")
    service.tick()
    assert [
        (b["data"]["essentials"]["alertId"], k) for b, k in zip(hook.bodies, kinds(hook), strict=True)
    ] == [(rollback.id, "fired"), (rollback.id, "resolved"), (green.id, "fired")]


def test_acknowledged_alert_is_not_repeated_but_its_resolve_is_sent(
    make_service: Build, receivers, clock
) -> None:
    hook = receivers()
    service = hooked(
        make_service, hook, MODELWATCH_ALERT_REPEAT_INTERVAL="1h", MODELWATCH_ALERT_KEEP_FIRING_FOR="0s"
    )
    alert = service.fire(signal()).alert
    service.acknowledge(alert.id, "alice", "looking")
    clock.advance(hours=2)
    service.fire(signal())
    service.tick()
    service.clear(alert.rule, alert.targets, alert.labels)
    assert kinds(hook) == ["fired", "resolved"]


def test_raised_severity_is_notified_at_once(make_service: Build, receivers, clock) -> None:
    hook = receivers()
    service = hooked(make_service, hook)
    service.fire(signal(severity="Sev3"))
    clock.advance(minutes=5)
    service.fire(signal(severity="Sev1"))
    assert [
        (k, b["data"]["essentials"]["severity"]) for k, b in zip(kinds(hook), hook.bodies, strict=True)
    ] == [("fired", "Sev3"), ("escalated", "Sev1")]


def test_report_is_stored_with_the_alert_and_linked(make_service: Build, receivers) -> None:
    hook = receivers()
    service = hooked(make_service, hook, MODELWATCH_PUBLIC_BASE_URL="https://modelwatch.example.net")
    alert = service.fire(signal(report_html="<h1>p95 latency</h1>")).alert
    assert service.report(alert.id) == "<h1>p95 latency</h1>"
    essentials = hook.bodies[0]["data"]["essentials"]
    assert essentials["investigationLink"] == f"https://modelwatch.example.net/api/alerts/{alert.id}/report"


def test_every_decision_reaches_the_audit_trail(make_service: Build, receivers, clock, audit) -> None:
    hook = receivers()
    service = hooked(make_service, hook, MODELWATCH_ALERT_KEEP_FIRING_FOR="0s")
    alert = service.fire(signal(audit_ids=("audit-42",))).alert
    service.fire(signal())
    service.acknowledge(alert.id, "alice")
    service.clear(alert.rule, alert.targets, alert.labels)
    assert audit.decisions("alert", alert.id) == [
        "opened",
        "notify-fired",
        "fired-again",
        "acknowledged",
        "resolved",
        "notify-resolved",
    ]
    assert hook.bodies[0]["data"]["alertContext"]["links"]["audit"] == ["audit-42"]


def test_resolved_alert_leaves_the_active_set_once_its_resolve_is_queued(
    make_service: Build, receivers, container
) -> None:
    hook = receivers()
    service = hooked(make_service, hook)
    kept = service.fire(signal(rule="error-rate")).alert
    gone = service.fire(signal()).alert
    service.resolve(gone.id, "bob")
    assert [e.id for e in AlertRepository(container).active_index()] == [kept.id]
    assert kinds(hook) == ["fired", "fired", "resolved"]


def test_marker_left_by_a_crash_before_the_record_is_dropped_later(
    make_service: Build, clock, container
) -> None:
    service = make_service()
    orphan = lc.open_alert(signal(), "0123456789abcdef", 1, clock.now)
    AlertRepository(container).mark_active(orphan)  # the process died before writing the record
    clock.now = datetime.now(UTC) + timedelta(minutes=5)
    service.tick()
    assert [e.id for e in AlertRepository(container).active_index()] == [orphan.id]  # may still be in flight
    clock.advance(minutes=6)
    service.tick()
    assert AlertRepository(container).active_index() == []


def test_observe_fires_while_failing_and_resolves_when_passing(make_service: Build, receivers) -> None:
    hook = receivers()
    service = hooked(make_service, hook, MODELWATCH_ALERT_KEEP_FIRING_FOR="0s")
    opened = service.observe(signal(), firing=True)
    closed = service.observe(signal(), firing=False)
    assert (opened.id, closed.state) == (closed.id, AlertState.RESOLVED)
    assert service.observe(signal(), firing=False) is None  # nothing open: nothing to do


def _many_labels() -> dict[str, str]:
    """The most labels an alert may carry: 200 of 256 characters, ~70 KB encoded (blob metadata holds 8 KB)."""
    labels = {"endpoint": "churn-prod", "deployment": "green"}
    return labels | {f"label_{i:03d}": ("ü" * 200 + " & <b>")[:256] for i in range(198)}


def test_an_alert_with_more_labels_than_blob_metadata_holds_is_stored_listed_and_resolved(
    make_service: Build, receivers
) -> None:
    hook = receivers()
    service = hooked(make_service, hook)
    alert = service.fire(signal(labels=_many_labels())).alert
    assert kinds(hook) == ["fired"]
    [listed] = service.list_alerts(endpoint="churn-prod")  # from the active markers
    assert listed.id == alert.id and listed.labels == _many_labels()
    assert [a.id for a in service.list_alerts(states=list(AlertState), endpoint="churn-prod")] == [alert.id]
    service.resolve(alert.id, "alice")
    assert [a.state for a in service.list_alerts(states=[AlertState.RESOLVED], endpoint="churn-prod")] == [
        AlertState.RESOLVED
    ]


def test_a_silence_matches_an_alert_whose_labels_are_too_big_for_metadata(
    make_service: Build, receivers, clock
) -> None:
    hook = receivers()
    service = hooked(make_service, hook)
    service.create_silence([Matcher(name="label_197", value=_many_labels()["label_197"])],
                           clock.now + timedelta(hours=1), "alice", "noisy")
    alert = service.fire(signal(labels=_many_labels())).alert
    assert hook.requests == [] and service.get(alert.id).silenced_by


def test_a_stored_silence_that_no_longer_parses_silences_nothing_and_blocks_no_alert(
    make_service: Build, receivers, clock, container: ContainerClient
) -> None:
    hook = receivers()
    service = hooked(make_service, hook)
    valid = service.create_silence([Matcher(name="deployment", value="blue")], clock.now + timedelta(hours=1),
                                   "alice", "blue is being rebuilt")
    stored = json.loads(container.download_blob(f"silences/{valid.id}.json").readall())
    stored["id"] = "sil-lookahead"
    stored["matchers"] = [{"name": "deployment", "value": "(?!blue).*", "isRegex": True}]  # RE2 refuses lookahead
    container.upload_blob("silences/sil-lookahead.json", json.dumps(stored).encode())
    green = service.fire(signal()).alert
    blue = service.fire(signal(labels={"endpoint": "churn-prod", "deployment": "blue"})).alert
    assert kinds(hook) == ["fired"]  # green went out; blue is still silenced by the valid silence
    assert service.get(green.id).silenced_by == () and service.get(blue.id).silenced_by == (valid.id,)
