"""PagerDuty Events API v2: `trigger` when an alert fires (again), `resolve` when it resolves, with
`dedup_key` = the alert's fingerprint so every event of one condition lands on one PagerDuty alert, and a
retried post is harmless (PagerDuty dedupes on the key while the alert is open).

202 = accepted; 400 = our payload is wrong (not retried); 429 and 5xx are retried. The routing key is a
secret: it travels in the body only and never reaches a log or an error message.

Limits (PagerDuty Events v2): `summary` at most 1,024 characters, `dedup_key` 255, the whole event 512 KB.
The summary is cut with a visible `…`; `custom_details` carries the common-schema document's description,
labels and evidence, already within Azure's 256 KB, so an event stays far below 512 KB. Should one still
be larger (a document rendered by an older version), the evidence gives way first, then the labels, as
Alertmanager does, and the page still goes out with a link to the full report.
"""

from __future__ import annotations

from typing import Any

from shared.alerts.model import Notification
from shared.alerts.schema import clip, full_details_link, headline, json_size, labels_of
from shared.alerts.secrets import Secret
from shared.alerts.sinks.base import SendOutcome
from shared.alerts.sinks.http import JsonPoster
from shared.alerts.sinks.render import absolute_links

SEVERITY = {"Sev0": "critical", "Sev1": "error", "Sev2": "warning", "Sev3": "info", "Sev4": "info"}
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
MAX_EVENT_BYTES = 500_000  # PagerDuty rejects events over 512 KB; measured as the UTF-8 JSON we post


def pagerduty_event(document: dict[str, Any], routing_key: str) -> dict[str, Any]:
    """The Events v2 body for one notification."""
    essentials = document["data"]["essentials"]
    context = document["data"]["alertContext"]
    dedup_key = context["fingerprint"][:MAX_DEDUP_KEY]
    if essentials["monitorCondition"] == "Resolved":
        return {"routing_key": routing_key, "dedup_key": dedup_key, "event_action": "resolve"}
    labels = labels_of(document)
    details = {
        "description": essentials.get("description"),
        "alertId": essentials["alertId"],
        "occurrences": context.get("occurrences"),
        "labels": labels,
        "targets": essentials["alertTargetIDs"],
        "evidence": context.get("evidence"),
    }
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "dedup_key": dedup_key,
        "event_action": "trigger",
        "payload": {
            "summary": clip(headline(document), MAX_SUMMARY),
            "source": (essentials.get("configurationItems") or essentials["alertTargetIDs"])[0],
            "severity": SEVERITY[essentials["severity"]],
            "timestamp": essentials["firedDateTime"],
            "component": labels.get("deployment") or labels.get("endpoint") or essentials["alertRule"],
            "group": labels.get("endpoint") or essentials.get("targetResourceGroup") or "modelwatch",
            "class": essentials["alertRule"],
            "custom_details": details,
        },
        "client": "modelwatch",
    }
    links = absolute_links(document)
    if links:
        event["links"] = [
            {"href": url, "text": "Report" if n == "report" else "Alert"} for n, url in links.items()
        ]
        event["client_url"] = links.get("alert") or next(iter(links.values()))
    _fit(event, document)
    return event


def _fit(event: dict[str, Any], document: dict[str, Any]) -> None:
    """Within MAX_EVENT_BYTES: drop the evidence, then the labels, then all details but the alert id."""
    details = event["payload"]["custom_details"]
    see = full_details_link(document) or "the alert record"
    for drop in ("evidence", "labels"):
        if json_size(event) <= MAX_EVENT_BYTES:
            return
        details[drop] = {"truncated": True, "see": see}
    if json_size(event) > MAX_EVENT_BYTES:
        alert_id = document["data"]["essentials"]["alertId"]
        event["payload"]["custom_details"] = {"truncated": True, "alertId": alert_id, "see": see}


class PagerDutySink:
    name = "pagerduty"

    def __init__(self, routing_key: Secret, url: str, poster: JsonPoster) -> None:
        self._routing_key = routing_key
        self._url = url
        self._poster = poster

    def send(self, notification: Notification, delivery_id: str) -> SendOutcome:
        body = pagerduty_event(notification.document, self._routing_key.reveal())
        return self._poster.post(self._url, body, headers={"Idempotency-Key": delivery_id})
