"""Slack: an incoming-webhook message with Block Kit blocks and a plain `text` fallback.

Slack answers 200 `ok`; 4xx like `invalid_payload` or `channel_is_archived` are configuration errors
(not retried); 429 comes with Retry-After. The webhook URL is the secret: never log it.
"""

from __future__ import annotations

from typing import Any

from shared.alerts.model import Notification
from shared.alerts.schema import headline
from shared.alerts.secrets import Secret
from shared.alerts.sinks.base import SendOutcome
from shared.alerts.sinks.http import JsonPoster
from shared.alerts.sinks.render import absolute_links, summary_facts

MAX_FIELDS = 10  # Slack's limit for a section's fields


def escape(text: str) -> str:
    """Slack mrkdwn control characters (api.slack.com: formatting text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(document: dict[str, Any]) -> dict[str, Any]:
    """The Slack message for one notification."""
    title = headline(document)
    essentials = document["data"]["essentials"]
    facts = summary_facts(document)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    if essentials.get("description"):
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": escape(essentials["description"])[:3000]}}
        )
    for start in range(0, len(facts), MAX_FIELDS):
        fields = [
            {"type": "mrkdwn", "text": f"*{escape(t)}*\n{escape(v)}"[:2000]}
            for t, v in facts[start : start + MAX_FIELDS]
        ]
        blocks.append({"type": "section", "fields": fields})
    links = absolute_links(document)
    if links:
        text = " | ".join(
            f"<{url}|{'Report' if name == 'report' else 'Alert'}>" for name, url in links.items()
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    return {"text": title, "blocks": blocks}


class SlackSink:
    name = "slack"

    def __init__(self, url: Secret, poster: JsonPoster) -> None:
        self._url = url
        self._poster = poster

    def send(self, notification: Notification, delivery_id: str) -> SendOutcome:
        return self._poster.post(
            self._url, slack_message(notification.document), headers={"Idempotency-Key": delivery_id}
        )
