"""Blob sink: every notification's common-schema document, written to alerts/notifications/{eventId}.json.

Always on: it is the record of what was sent, and a Blob Created event on that prefix lets Azure-native
consumers (Logic Apps, Event Grid subscriptions) react without any webhook. Writing the same event twice
overwrites it with the same bytes, so retries are harmless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.alerts.model import Notification
from shared.alerts.sinks.base import SendOutcome

if TYPE_CHECKING:
    from shared.alerts.repository import AlertRepository


class BlobSink:
    name = "blob"

    def __init__(self, repo: AlertRepository) -> None:
        self._repo = repo

    def send(self, notification: Notification, delivery_id: str) -> SendOutcome:
        from azure.core.exceptions import AzureError

        try:
            self._repo.put_notification(notification.event_id, notification.document)
        except AzureError as exc:
            return SendOutcome(ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}"[:300])
        return SendOutcome.delivered()
