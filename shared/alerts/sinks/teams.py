"""Microsoft Teams: an Adaptive Card in the `{"type": "message", "attachments": [...]}` envelope, which is
what a Teams Workflows "post to a channel when a webhook request is received" URL (and the retiring
Office 365 connector) accepts.

Teams connectors report throttling in a 2xx body ("Microsoft Teams endpoint returned HTTP error 429")
instead of a 429 status, so that body counts as a retryable failure. The Workflows URL carries a `sig=`
secret: it must never reach a log or an error message.
"""

from __future__ import annotations

from typing import Any

from shared.alerts.model import Notification
from shared.alerts.schema import headline
from shared.alerts.secrets import Secret
from shared.alerts.sinks.base import SendOutcome
from shared.alerts.sinks.http import JsonPoster
from shared.alerts.sinks.render import absolute_links, summary_facts

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def _color(document: dict[str, Any]) -> str:
    essentials = document["data"]["essentials"]
    if document["data"]["alertContext"].get("notification", {}).get("kind") == "test":
        return "Accent"
    if essentials["monitorCondition"] == "Resolved":
        return "Good"
    return "Attention" if essentials["severity"] in ("Sev0", "Sev1") else "Warning"


def adaptive_card(document: dict[str, Any]) -> dict[str, Any]:
    """The Teams message for one notification."""
    essentials = document["data"]["essentials"]
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
            "color": _color(document),
            "text": headline(document),
        },
    ]
    if essentials.get("description"):
        body.append({"type": "TextBlock", "wrap": True, "text": essentials["description"]})
    body.append({"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in summary_facts(document)]})
    actions = [
        {"type": "Action.OpenUrl", "title": "Report" if name == "report" else "Alert", "url": url}
        for name, url in absolute_links(document).items()
    ]
    content: dict[str, Any] = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": "1.4", "body": body}
    if actions:
        content["actions"] = actions
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": content}],
    }


def _throttled(status: int, body: str) -> SendOutcome | None:
    if "429" in body and "error" in body.lower():
        return SendOutcome(
            ok=False, retryable=True, status=status, error="Teams throttled the post (429 in body)"
        )
    return None


class TeamsSink:
    name = "teams"

    def __init__(self, url: Secret, poster: JsonPoster) -> None:
        self._url = url
        self._poster = poster

    def send(self, notification: Notification, delivery_id: str) -> SendOutcome:
        return self._poster.post(
            self._url,
            adaptive_card(notification.document),
            headers={"Idempotency-Key": delivery_id},
            check=_throttled,
        )
