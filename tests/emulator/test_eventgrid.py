"""Event Grid delivery from the emulator to a real local webhook: handshakes, headers, retries,
duplicates, and the events raised by ARM writes."""

from __future__ import annotations

import time
from typing import Any

from tests.emulator.receiver import Receiver
from tests.fixtures.emulator import EmulatorHandle

ARM_WRITE = "Microsoft.Resources.ResourceWriteSuccess"


def _subscribe(emulator: EmulatorHandle, receiver: Receiver, **extra: Any) -> dict[str, Any]:
    body = {"name": "modelwatch", "endpoint": receiver.url, **extra}
    return emulator.control("POST", "subscriptions", body, expect=201)


def _change_traffic(ml: Any) -> None:
    endpoint = ml.online_endpoints.get("credit-ep")
    endpoint.traffic = {"blue": 100, "green": 0}
    ml.online_endpoints.begin_create_or_update(endpoint).result()


def _deliveries(
    emulator: EmulatorHandle, outcome: str, count: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [d for d in emulator.state()["deliveries"] if d["outcome"] == outcome]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {count} {outcome} deliveries: {emulator.state()['deliveries']}")


def test_subscribing_performs_the_validation_handshake(emulator: EmulatorHandle, receiver: Receiver) -> None:
    assert _subscribe(emulator, receiver)["provisioning_state"] == "Succeeded"
    [handshake] = receiver.requests
    assert handshake.headers["aeg-event-type"] == "SubscriptionValidation"
    assert handshake.body[0]["eventType"] == "Microsoft.EventGrid.SubscriptionValidationEvent"


def test_endpoint_write_delivers_resource_write_success_with_aeg_headers(
    ml: Any, emulator: EmulatorHandle, receiver: Receiver
) -> None:
    _subscribe(emulator, receiver, included_event_types=[ARM_WRITE])
    _change_traffic(ml)
    [delivery] = receiver.wait_for(1)
    [event] = delivery.body
    resource_id = f"{emulator.settings().workspace_id}/onlineEndpoints/credit-ep"
    assert (event["eventType"], event["subject"]) == (ARM_WRITE, resource_id)
    assert event["topic"] == f"/subscriptions/{emulator.settings().subscription_id}/resourceGroups/rg-test"
    assert (
        event["data"]["operationName"] == "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write"
    )
    assert delivery.headers["aeg-event-type"] == "Notification"
    assert delivery.headers["aeg-subscription-name"] == "MODELWATCH"
    assert delivery.headers["aeg-delivery-count"] == "0"


def test_cloudevents_subscription_uses_the_options_handshake_and_cloudevents_body(
    ml: Any, emulator: EmulatorHandle, receiver: Receiver
) -> None:
    _subscribe(emulator, receiver, schema="CloudEventSchemaV1_0", included_event_types=[ARM_WRITE])
    assert receiver.requests[0].method == "OPTIONS"
    assert receiver.requests[0].headers["webhook-request-origin"] == "eventgrid.azure.net"
    _change_traffic(ml)
    [delivery] = receiver.wait_for(1)
    assert delivery.body["specversion"] == "1.0" and delivery.body["type"] == ARM_WRITE
    assert delivery.body["source"].endswith("/resourceGroups/rg-test")


def test_a_failed_delivery_is_retried_until_it_succeeds(
    ml: Any, emulator: EmulatorHandle, receiver: Receiver
) -> None:
    _subscribe(emulator, receiver, included_event_types=[ARM_WRITE])
    receiver.responses.extend([500])
    _change_traffic(ml)
    first, second = receiver.wait_for(2)
    assert first.body[0]["id"] == second.body[0]["id"]
    assert (first.headers["aeg-delivery-count"], second.headers["aeg-delivery-count"]) == ("0", "1")
    [retrying] = _deliveries(emulator, "Retrying", 1)
    assert retrying["status"] == 500
    _deliveries(emulator, "Delivered", 1)


def test_a_400_answer_is_not_retried(ml: Any, emulator: EmulatorHandle, receiver: Receiver) -> None:
    _subscribe(emulator, receiver, included_event_types=[ARM_WRITE])
    receiver.responses.extend([400])
    _change_traffic(ml)
    [dropped] = _deliveries(emulator, "Dropped", 1)
    assert dropped["status"] == 400
    time.sleep(1.0)  # the first retry would have come after 0.5 s at this time scale
    assert len(receiver.notifications()) == 1


def test_duplicates_flag_delivers_the_same_event_twice(
    ml: Any, emulator: EmulatorHandle, receiver: Receiver
) -> None:
    emulator.load(eventgrid={"duplicates": True})
    _subscribe(emulator, receiver, included_event_types=[ARM_WRITE])
    _change_traffic(ml)
    first, second = receiver.wait_for(2)
    assert first.body[0]["id"] == second.body[0]["id"]
    assert [d["duplicate"] for d in _deliveries(emulator, "Delivered", 2)] == [False, True]


def test_timeline_registration_delivers_model_registered(
    emulator: EmulatorHandle, receiver: Receiver
) -> None:
    _subscribe(emulator, receiver, topic="workspace")
    emulator.control("POST", "time/advance", {"minutes": 95})
    [delivery] = receiver.wait_for(1)
    assert delivery.body[0]["subject"] == "models/credit:3"
