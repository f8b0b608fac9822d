"""Each sink's wire protocol, against a real local receiver: headers, status handling, idempotency keys."""

from __future__ import annotations

from collections.abc import Callable

from azure.storage.blob import ContainerClient

from shared.alerts.repository import AlertRepository
from shared.alerts.service import AlertService
from tests.alerts.conftest import ENDPOINT_ID, signal
from tests.alerts.receivers import Reply

Build = Callable[..., AlertService]
TOPIC_KEY = "bG9jYWwtdG9waWMta2V5LWZvci10ZXN0cw=="
EVENT_GRID_OK = Reply(200, "")  # Event Grid answers 200 with an empty body


def outcome(result, sink: str) -> tuple[str, str | None]:
    [delivery] = [d for d in result.deliveries if d.sink == sink]
    return delivery.outcome, delivery.error


def test_webhook_carries_the_delivery_id_as_idempotency_key(make_service: Build, receivers) -> None:
    hook = receivers()
    result = make_service(MODELWATCH_ALERT_WEBHOOK_URL=hook.url()).fire(signal())
    [request] = hook.requests
    assert request.headers["idempotency-key"] == f"{result.alert.id}.1.webhook"
    assert request.headers["x-modelwatch-event"] == "fired"
    assert request.headers["content-type"].startswith("application/json")


def test_event_grid_publishes_an_event_with_the_topic_key(make_service: Build, receivers) -> None:
    topic = receivers(EVENT_GRID_OK)
    result = make_service(
        MODELWATCH_EVENTGRID_TOPIC_ENDPOINT=topic.url("/api/events"), MODELWATCH_EVENTGRID_TOPIC_KEY=TOPIC_KEY
    ).fire(signal())
    [request] = topic.requests
    assert request.path == "/api/events?api-version=2018-01-01"
    assert request.headers["aeg-sas-key"] == TOPIC_KEY
    [event] = request.json
    assert (event["id"], event["eventType"], event["subject"], event["dataVersion"]) == (
        f"{result.alert.id}.1.eventgrid",
        "Modelwatch.Alert.Fired",
        ENDPOINT_ID,
        "1.0",
    )
    assert event["data"]["data"]["essentials"]["alertId"] == result.alert.id


def test_event_grid_resolve_has_its_own_event_type(make_service: Build, receivers) -> None:
    topic = receivers(EVENT_GRID_OK)
    service = make_service(
        MODELWATCH_EVENTGRID_TOPIC_ENDPOINT=topic.url("/api/events"), MODELWATCH_EVENTGRID_TOPIC_KEY=TOPIC_KEY
    )
    alert = service.fire(signal()).alert
    service.resolve(alert.id, "bob")
    assert [r.json[0]["eventType"] for r in topic.requests] == [
        "Modelwatch.Alert.Fired",
        "Modelwatch.Alert.Resolved",
    ]


def test_event_grid_server_error_is_retried_not_lost(make_service: Build, receivers, clock) -> None:
    topic = receivers(EVENT_GRID_OK)
    topic.script(Reply(503, "", {"Retry-After": "45"}))
    service = make_service(
        MODELWATCH_EVENTGRID_TOPIC_ENDPOINT=topic.url("/api/events"), MODELWATCH_EVENTGRID_TOPIC_KEY=TOPIC_KEY
    )
    assert outcome(service.fire(signal()), "eventgrid") == ("retrying", "HTTP 503")
    clock.advance(seconds=45)
    service.tick()
    assert len(topic.requests) == 2 and topic.requests[0].json[0]["id"] == topic.requests[1].json[0]["id"]


def test_event_grid_rejected_key_is_not_retried(make_service: Build, receivers) -> None:
    topic = receivers(Reply(401, '{"error":{"code":"Unauthorized"}}', {"Content-Type": "application/json"}))
    result = make_service(
        MODELWATCH_EVENTGRID_TOPIC_ENDPOINT=topic.url("/api/events"), MODELWATCH_EVENTGRID_TOPIC_KEY=TOPIC_KEY
    ).fire(signal())
    state, error = outcome(result, "eventgrid")
    assert state == "dead-lettered" and error.startswith("HTTP 401") and TOPIC_KEY not in error


def test_teams_throttling_reported_in_a_200_body_is_retried(make_service: Build, receivers) -> None:
    teams = receivers()
    teams.script(Reply(200, "Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0"))
    result = make_service(MODELWATCH_TEAMS_WEBHOOK_URL=teams.url()).fire(signal())
    assert outcome(result, "teams") == ("retrying", "Teams throttled the post (429 in body)")


def test_teams_workflows_202_counts_as_delivered(make_service: Build, receivers) -> None:
    teams = receivers(Reply(202, ""))
    assert (
        outcome(make_service(MODELWATCH_TEAMS_WEBHOOK_URL=teams.url()).fire(signal()), "teams")[0]
        == "delivered"
    )


def test_pagerduty_bad_request_is_not_retried(make_service: Build, receivers) -> None:
    pagerduty = receivers(Reply(400, '{"status":"invalid event","message":"Event object is invalid"}'))
    result = make_service(
        MODELWATCH_PAGERDUTY_ROUTING_KEY="k" * 32, MODELWATCH_PAGERDUTY_URL=pagerduty.url("/v2/enqueue")
    ).fire(signal())
    state, error = outcome(result, "pagerduty")
    assert state == "dead-lettered" and "Event object is invalid" in error


def test_pagerduty_202_accepted_is_delivered(make_service: Build, receivers) -> None:
    pagerduty = receivers(Reply(202, '{"status":"success","message":"Event processed","dedup_key":"x"}'))
    result = make_service(
        MODELWATCH_PAGERDUTY_ROUTING_KEY="k" * 32, MODELWATCH_PAGERDUTY_URL=pagerduty.url("/v2/enqueue")
    ).fire(signal())
    assert outcome(result, "pagerduty") == ("delivered", None)


def test_redirect_is_not_followed(make_service: Build, receivers) -> None:
    hook, elsewhere = receivers(), receivers()
    hook.script(Reply(307, "", {"Location": elsewhere.url()}))
    result = make_service(MODELWATCH_ALERT_WEBHOOK_URL=hook.url()).fire(signal())
    assert outcome(result, "webhook") == ("dead-lettered", "HTTP 307: unexpected redirect (not followed)")
    assert elsewhere.requests == []


def test_blob_sink_keeps_every_notification_document(make_service: Build, container: ContainerClient) -> None:
    service = make_service()
    alert = service.fire(signal()).alert
    service.resolve(alert.id, "bob")
    repo = AlertRepository(container)
    conditions = [
        repo.get_notification(f"{alert.id}.{n}")["data"]["essentials"]["monitorCondition"] for n in (1, 2)
    ]
    assert conditions == ["Fired", "Resolved"]


def test_test_notification_reaches_every_configured_sink(make_service: Build, receivers, container) -> None:
    hooks = {name: receivers() for name in ("webhook", "teams", "slack", "pagerduty")}
    topic = receivers(EVENT_GRID_OK)
    service = make_service(
        MODELWATCH_ALERT_WEBHOOK_URL=hooks["webhook"].url(),
        MODELWATCH_TEAMS_WEBHOOK_URL=hooks["teams"].url(),
        MODELWATCH_SLACK_WEBHOOK_URL=hooks["slack"].url(),
        MODELWATCH_PAGERDUTY_ROUTING_KEY="k" * 32,
        MODELWATCH_PAGERDUTY_URL=hooks["pagerduty"].url(),
        MODELWATCH_EVENTGRID_TOPIC_ENDPOINT=topic.url(),
        MODELWATCH_EVENTGRID_TOPIC_KEY=TOPIC_KEY,
    )
    result = service.send_test("platform-team")
    assert sorted((d.sink, d.outcome) for d in result.deliveries) == [
        (s, "delivered") for s in ("blob", "eventgrid", "pagerduty", "slack", "teams", "webhook")
    ]
    assert hooks["slack"].bodies[0]["text"].startswith("[Sev4] TEST modelwatch-test-notification")
    assert topic.requests[0].json[0]["eventType"] == "Modelwatch.Alert.Test"
    assert AlertRepository(container).alert_index() == []  # a test opens no alert
