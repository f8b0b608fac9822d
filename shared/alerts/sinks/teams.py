"""Microsoft Teams: an Adaptive Card in the `{"type": "message", "attachments": [...]}` envelope, which is
what a Teams Workflows "post to a channel when a webhook request is received" URL (and the retiring
Office 365 connector) accepts.

Teams takes a message of at most about 28 KB (msteams-docs: "the message size limit is 28 KB"; bigger
posts fail with 413 or are dropped by the Workflows flow). A card here stays within MAX_MESSAGE_BYTES of
UTF-8 JSON, envelope included: the description, labels and evidence are shortened to their shares, each
cut ends in `…` with a link to the full report when a public base URL is configured, and a last line says
how many labels and evidence entries were left out.

Teams connectors report throttling in a 2xx body ("Microsoft Teams endpoint returned HTTP error 429")
instead of a 429 status, so that body counts as a retryable failure. The Workflows URL carries a `sig=`
secret: it must never reach a log or an error message.
"""

from __future__ import annotations

from typing import Any

from shared.alerts.model import Notification
from shared.alerts.schema import clip, clip_bytes, full_details_link, headline, json_size
from shared.alerts.secrets import Secret
from shared.alerts.sinks.base import SendOutcome
from shared.alerts.sinks.http import JsonPoster
from shared.alerts.sinks.render import FactList, absolute_links, fitted_facts

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
MAX_MESSAGE_BYTES = 28 * 1024  # Teams' limit for one message, the whole posted body
MAX_TITLE = 300  # characters
MAX_FACTS = 40  # rows of the FactSet: more is not read on a phone
# (description bytes, facts bytes): the shares tried in turn until the card fits; the first one fits every
# alert the model accepts (description <= 4,096 characters) unless the base URL itself is huge.
BUDGETS = ((8 * 1024, 14 * 1024), (4 * 1024, 8 * 1024), (1024, 2 * 1024), (0, 0))


def _color(document: dict[str, Any]) -> str:
    essentials = document["data"]["essentials"]
    if document["data"]["alertContext"].get("notification", {}).get("kind") == "test":
        return "Accent"
    if essentials["monitorCondition"] == "Resolved":
        return "Good"
    return "Attention" if essentials["severity"] in ("Sev0", "Sev1") else "Warning"


def _more(text: str, link: str | None) -> str:
    """A markdown note pointing at the rest (TextBlock and FactSet values render markdown links)."""
    return f"{text} ([full report]({link}))" if link else f"{text} (see the alert record)"


def _description(text: str, max_bytes: int, link: str | None) -> str:
    note = f" [shortened from {len(text):,} characters; [full text]({link})]" if link else " [shortened]"
    return clip_bytes(text, max_bytes, note)


def _card(document: dict[str, Any], description_bytes: int, facts_bytes: int) -> dict[str, Any]:
    essentials = document["data"]["essentials"]
    link = full_details_link(document)
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
            "color": _color(document),
            "text": clip(headline(document), MAX_TITLE),
        },
    ]
    if essentials.get("description") and description_bytes:
        body.append(
            {
                "type": "TextBlock",
                "wrap": True,
                "text": _description(essentials["description"], description_bytes, link),
            }
        )
    listed: FactList = fitted_facts(document, MAX_FACTS, facts_bytes)
    facts = [{"title": t, "value": v} for t, v in listed.facts]
    omission = listed.omission()
    if omission:
        facts.insert(-1, {"title": "More", "value": _more(omission, listed.link)})
    body.append({"type": "FactSet", "facts": facts})
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


def adaptive_card(document: dict[str, Any]) -> dict[str, Any]:
    """The Teams message for one notification, within MAX_MESSAGE_BYTES: the largest shares that fit."""
    for description_bytes, facts_bytes in BUDGETS:
        message = _card(document, description_bytes, facts_bytes)
        if json_size(message) <= MAX_MESSAGE_BYTES:
            return message
    return message


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
