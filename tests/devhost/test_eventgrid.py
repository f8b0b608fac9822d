"""The Event Grid webhook on the devhost answers as the Functions Event Grid extension does."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from devhost.process import DevHost
from tests.devhost.helpers import MASTER_KEY, Sample

WEBHOOK = "/runtime/webhooks/eventgrid"
WORKSPACE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w"
Post = Callable[..., requests.Response]


def eg_event(data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": f"eg-{uuid.uuid4().hex[:12]}",
        "topic": WORKSPACE,
        "subject": "models/churn/versions/3",
        "eventType": "Microsoft.MachineLearningServices.ModelRegistered",
        "eventTime": "2024-05-01T10:00:00.1234567Z",
        "data": data or {"modelName": "churn"},
        "dataVersion": "2",
        "metadataVersion": "1",
    }


def cloud_event() -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"ce-{uuid.uuid4().hex[:12]}",
        "source": WORKSPACE,
        "type": "Microsoft.MachineLearningServices.ModelRegistered",
        "subject": "models/churn/versions/4",
        "time": "2024-05-01T10:00:00Z",
        "data": {"modelName": "churn"},
    }


@pytest.fixture
def post(devhost: DevHost) -> Post:
    def send(
        body: Any, event_type: str | None = "Notification", function: str = "on_event"
    ) -> requests.Response:
        headers = {"Content-Type": "application/json", "x-functions-key": MASTER_KEY}
        if event_type:
            headers["aeg-event-type"] = event_type
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        params = {"functionName": function} if function else {}
        return requests.post(devhost.url(WEBHOOK), params=params, data=data, headers=headers, timeout=10)

    return send


def seen(sample: Sample, event_id: str) -> bool:
    return f"eg/{event_id}.json" in sample.blob_names("eg")


def test_missing_aeg_event_type_is_400(post: Post) -> None:
    assert post([eg_event()], event_type=None).status_code == 400


def test_unknown_function_is_404_naming_it(post: Post) -> None:
    response = post([eg_event()], function="no_such_function")
    assert (response.status_code, response.text) == (404, "cannot find function: 'no_such_function'")


def test_missing_function_name_is_404(post: Post) -> None:
    assert post([eg_event()], function="").status_code == 404


def test_non_event_grid_function_is_404(post: Post) -> None:
    assert post([eg_event()], function="hello").status_code == 404


def test_webhook_needs_the_master_key_when_configured(devhost: DevHost) -> None:
    response = requests.post(
        devhost.url(WEBHOOK), params={"functionName": "on_event"}, json=[eg_event()],
        headers={"aeg-event-type": "Notification"}, timeout=5,
    )  # fmt: skip
    assert response.status_code == 401


def test_subscription_validation_echoes_the_code(post: Post) -> None:
    validation = eg_event({"validationCode": "512d38b6-c7b8", "validationUrl": "https://x/validate"})
    validation["eventType"] = "Microsoft.EventGrid.SubscriptionValidationEvent"
    response = post([validation], event_type="SubscriptionValidation")
    assert response.status_code == 200
    assert response.json() == {"validationResponse": "512d38b6-c7b8"}


def test_cloud_events_validation_with_string_data_echoes_the_code(post: Post) -> None:
    event = cloud_event()
    event["data"] = json.dumps({"validationCode": "ce-code-1"})
    response = post(event, event_type="SubscriptionValidation")
    assert response.json() == {"validationResponse": "ce-code-1"}


def test_options_handshake_allows_event_grid_origin(devhost: DevHost) -> None:
    response = requests.options(
        devhost.url(WEBHOOK), params={"functionName": "on_event", "code": MASTER_KEY},
        headers={"WebHook-Request-Origin": "eventgrid.azure.net"}, timeout=5,
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    assert response.headers["Allow"] == "POST"


def test_options_handshake_answers_public_origin_for_unknown_origins(devhost: DevHost) -> None:
    response = requests.options(
        devhost.url(WEBHOOK), params={"functionName": "on_event", "code": MASTER_KEY},
        headers={"WebHook-Request-Origin": "evil.example.com"}, timeout=5,
    )  # fmt: skip
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


def test_batch_invokes_once_per_event_and_answers_202(post: Post, sample: Sample, devhost: DevHost) -> None:
    events = [eg_event() for _ in range(3)]
    response = post(events)
    assert response.status_code == 202
    assert all(seen(sample, e["id"]) for e in events)
    for event in events:
        record = sample.read_json(f"eg/{event['id']}.json")
        assert record["class"] == "EventGridEvent" and record["type"] == event["eventType"]
    ids = {r.get("event_id") for r in devhost.invocations("on_event")}
    assert ids >= {e["id"] for e in events}


def test_single_cloud_event_object_is_decoded_as_cloud_event(post: Post, sample: Sample) -> None:
    event = cloud_event()
    assert post(event).status_code == 202
    assert sample.read_json(f"eg/{event['id']}.json")["class"] == "CloudEvent"


def test_one_failing_event_makes_the_batch_500_with_the_message(post: Post, sample: Sample) -> None:
    good, bad = eg_event(), eg_event({"fail": True})
    response = post([good, bad])
    assert response.status_code == 500
    assert f"event {bad['id']} asked to fail" in response.text
    assert seen(sample, good["id"])  # the others ran anyway: Event Grid will redeliver the whole batch


def test_malformed_json_is_400_and_invokes_nothing(post: Post, devhost: DevHost) -> None:
    before = len(devhost.invocations("on_event"))
    response = post(b'[{"id": "x", "eventType": ')
    assert response.status_code == 400
    assert "not valid JSON" in response.text
    assert len(devhost.invocations("on_event")) == before


def test_an_element_that_is_not_an_object_is_acknowledged_and_its_siblings_run(post: Post, sample: Sample,
                                                                               devhost: DevHost) -> None:
    good = eg_event()
    response = post([good, "not an event", 42, None])
    assert response.status_code == 202
    assert seen(sample, good["id"])
    skipped = [r for r in devhost.invocations("on_event") if r.get("outcome") == "undecodable"]
    assert any("element [1]" in r.get("reason", "") for r in skipped)


def test_a_body_that_is_json_but_not_events_is_400(post: Post) -> None:
    response = post(42)
    assert response.status_code == 400
    assert "array of events" in response.text


@pytest.mark.parametrize("field, value", [("eventTime", "yesterday at noon"), ("eventTime", 1714557600),
                                          ("eventTime", "2024-13-45T99:99:99Z")])
def test_an_undecodable_event_is_acknowledged_and_its_siblings_run(post: Post, sample: Sample, devhost: DevHost,
                                                                    field: str, value: object) -> None:
    first, bad, last = eg_event(), {**eg_event(), field: value}, eg_event()
    response = post([first, bad, last])
    assert response.status_code == 202
    assert seen(sample, first["id"]) and seen(sample, last["id"])
    assert not seen(sample, bad["id"])
    [record] = [r for r in devhost.invocations("on_event") if r.get("event_id") == bad["id"]]
    assert record["outcome"] == "undecodable" and "cannot be decoded" in record["reason"]


def test_a_cloud_event_with_an_undecodable_time_is_acknowledged_and_its_siblings_run(post: Post, sample: Sample
                                                                                      ) -> None:
    good, bad = cloud_event(), {**cloud_event(), "time": "not a time"}
    assert post([good, bad]).status_code == 202
    assert seen(sample, good["id"]) and not seen(sample, bad["id"])


def test_an_undecodable_event_is_named_in_the_host_log(post: Post, devhost: DevHost) -> None:
    bad = {**eg_event(), "eventTime": "garbage-time"}
    post([bad])
    assert f"event {bad['id']!r} cannot be decoded" in devhost.log_text()


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_json_nested_too_deep_is_400_naming_the_depth(post: Post, devhost: DevHost, depth: int) -> None:
    before = len(devhost.invocations("on_event"))
    response = post(b"[" * depth + b"]" * depth)
    assert response.status_code == 400
    assert "nested" in response.text and "64" in response.text
    assert len(devhost.invocations("on_event")) == before


def test_an_event_nested_64_levels_deep_is_delivered(post: Post, sample: Sample) -> None:
    data: dict = {"modelName": "churn"}
    for _ in range(61):  # the body's array, the event, its data and 61 objects around the innermost: 64 levels
        data = {"x": data}
    event = eg_event(data)
    assert post([event]).status_code == 202
    assert seen(sample, event["id"])


def test_unsubscribe_and_subscription_deletion_are_202(post: Post) -> None:
    assert post([eg_event()], event_type="Unsubscribe").status_code == 202
    assert post([eg_event()], event_type="SubscriptionDeletion").status_code == 202


def test_unknown_aeg_event_type_is_400(post: Post) -> None:
    assert post([eg_event()], event_type="Whatever").status_code == 400


def test_validation_with_string_data_nested_too_deep_is_400(post: Post) -> None:
    event = cloud_event()
    event["data"] = "[" * 100_000 + "]" * 100_000
    response = post(event, event_type="SubscriptionValidation")
    assert response.status_code == 400 and "validationCode" in response.text
