"""Generic webhook: the common alert schema document, as-is, to any HTTPS endpoint.

The document is already within Azure's 256 KB per alert (schema.fit_document); the sink applies the same
fit again, which leaves such a document unchanged and shortens one rendered by an older version that is
still waiting in the outbox. Labels travel once in full (alertContext.labels); customProperties repeats
them only while they are small.

Receivers get `Idempotency-Key: <delivery id>`, stable across retries, so they can drop a duplicate of a
post we made but could not confirm. Must never log the URL (it often carries a token).
"""

from __future__ import annotations

from shared.alerts.model import Notification
from shared.alerts.schema import fit_document
from shared.alerts.secrets import Secret
from shared.alerts.sinks.base import SendOutcome
from shared.alerts.sinks.http import JsonPoster


class WebhookSink:
    name = "webhook"

    def __init__(self, url: Secret, poster: JsonPoster) -> None:
        self._url = url
        self._poster = poster

    def send(self, notification: Notification, delivery_id: str) -> SendOutcome:
        headers = {"Idempotency-Key": delivery_id, "X-Modelwatch-Event": notification.kind.value}
        return self._poster.post(self._url, fit_document(notification.document), headers=headers)
