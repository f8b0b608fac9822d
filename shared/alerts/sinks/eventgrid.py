"""Event Grid custom topic: the common-schema document as the `data` of an Event Grid event, published
with azure-eventgrid's EventGridPublisherClient and the topic's access key.

The event `id` is the delivery id, so a subscriber can drop a duplicate of a publish we retried; the
`subject` is the alert's first target (subscribers filter with subjectBeginsWith on a resource group or
endpoint). Event types: Modelwatch.Alert.Fired | Resolved | Test.

Found while building it (azure-eventgrid 4.22.1): for a basic topic the public client drops constructor
kwargs, so the SDK's own retries (10 by default) are switched off per call with `retry_total=0`; the
outbox does the retrying. AzureKeyCredential (header `aeg-sas-key`) works over plain http to a local
receiver: no https check applies to key credentials. The key never reaches a log.

Size: Event Grid takes events up to 1 MB. The `data` is the common-schema document, within 256 KB of UTF-8
JSON (schema.fit_document, applied again here for documents rendered by an older version). The SDK
serializes with `json.dumps` defaults, ASCII-escaped (it sets Content-Length to the string's length, so it
must stay ASCII): that at most triples the document (a 4-byte emoji becomes a 12-byte escape), 768 KB at
worst, and the envelope adds well under 1 KB, so an event stays below MAX_EVENT_BYTES.
"""

from __future__ import annotations

from typing import Any

from shared.alerts.model import Notification
from shared.alerts.schema import fit_document
from shared.alerts.secrets import Redactor, Secret
from shared.alerts.sinks.base import SendOutcome, outcome_for_status

EVENT_TYPES = {"Fired": "Modelwatch.Alert.Fired", "Resolved": "Modelwatch.Alert.Resolved"}
TEST_EVENT_TYPE = "Modelwatch.Alert.Test"
MAX_EVENT_BYTES = 1024 * 1024  # Event Grid's limit for one event


def event_type(notification: Notification) -> str:
    if notification.kind.value == "test":
        return TEST_EVENT_TYPE
    return EVENT_TYPES[notification.document["data"]["essentials"]["monitorCondition"]]


class EventGridSink:
    name = "eventgrid"

    def __init__(self, endpoint: str, key: Secret, timeout: float, redact: Redactor) -> None:
        self._endpoint = endpoint
        self._key = key
        self._timeout = timeout
        self._redact = redact
        self._client: Any = None

    def _publisher(self) -> Any:
        if self._client is None:
            from azure.core.credentials import AzureKeyCredential
            from azure.eventgrid import EventGridPublisherClient

            self._client = EventGridPublisherClient(self._endpoint, AzureKeyCredential(self._key.reveal()))
        return self._client

    def send(self, notification: Notification, delivery_id: str) -> SendOutcome:
        from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
        from azure.eventgrid import EventGridEvent

        essentials = notification.document["data"]["essentials"]
        event = EventGridEvent(
            subject=essentials["alertTargetIDs"][0],
            event_type=event_type(notification),
            data=fit_document(notification.document),
            data_version="1.0",
            id=delivery_id,
        )
        try:
            self._publisher().send(
                [event], retry_total=0, connection_timeout=self._timeout, read_timeout=self._timeout
            )
        except HttpResponseError as exc:
            if exc.status_code is not None and 200 <= exc.status_code < 300:
                return SendOutcome.delivered(exc.status_code)  # accepted; only the body did not decode
            response = exc.response
            body = response.text() if response is not None else str(exc.message)
            retry_after = response.headers.get("Retry-After") if response is not None else None
            return outcome_for_status(exc.status_code or 0, body, retry_after, self._redact)
        except (ServiceRequestError, ServiceResponseError) as exc:
            return SendOutcome(ok=False, retryable=True, error=self._redact(f"{type(exc).__name__}: {exc}"))
        return SendOutcome.delivered(200)
