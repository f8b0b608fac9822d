"""Slack: an incoming-webhook message with Block Kit blocks and a plain `text` fallback.

Slack answers 200 `ok`; 4xx like `invalid_payload` or `channel_is_archived` are configuration errors
(not retried); 429 comes with Retry-After. The webhook URL is the secret: never log it.

Every text Slack parses as mrkdwn (the fallback `text`, section text and fields) is escaped per Slack's
rules (api.slack.com, "Formatting text": `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;`), so a label value
`<!channel>` cannot notify a channel and `<https://evil.example|click me>` cannot show a disguised link.
Texts are shortened BEFORE escaping, counting each character at its escaped length, so a cut never splits
an entity (`&lt;!channel&g`). Slack's limits (Block Kit reference): `text` 40,000 characters, header
plain_text 150, section text 3,000, a section's fields 10 of 2,000 each, 50 blocks per message.
"""

from __future__ import annotations

from typing import Any

from shared.alerts.model import Notification
from shared.alerts.schema import clip, full_details_link, headline, prefix_within
from shared.alerts.secrets import Secret
from shared.alerts.sinks.base import SendOutcome
from shared.alerts.sinks.http import JsonPoster
from shared.alerts.sinks.render import FactList, absolute_links, fitted_facts

MAX_TEXT = 40_000  # the top-level fallback text
MAX_HEADER = 150  # header block plain_text
MAX_SECTION_TEXT = 3_000
MAX_FIELD_TEXT = 2_000
MAX_FIELDS = 10  # Slack's limit for a section's fields
MAX_BLOCKS = 50  # never reached: 1 header + 1 description + 4 field sections + 1 context
MAX_FACTS = 30  # our choice: three sections of fields; the rest is one link away
ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str) -> str:
    """Slack mrkdwn control characters (api.slack.com: formatting text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_length(char: str) -> int:
    return len(ESCAPES.get(char, char))


def mrkdwn(text: str, limit: int, note: str = "") -> str:
    """`text` escaped, within `limit` characters once escaped. When it must be shortened, the raw text is
    cut first (each character counted at its escaped length) and `…` plus `note` follow; `note` is
    already mrkdwn (it may carry a `<url|label>` link) and is not escaped again."""
    if sum(escaped_length(c) for c in text) <= limit:
        return escape(text)
    tail = "…" + note
    if len(tail) > limit:
        tail = "…"
    return escape(prefix_within(text, limit - len(tail), escaped_length)) + tail


def _link(url: str | None, label: str) -> str:
    return f" <{url}|{label}>" if url else ""


def _fields(listed: FactList) -> list[dict[str, Any]]:
    facts = list(listed.facts)
    omission = listed.omission()
    fields = [
        {"type": "mrkdwn", "text": f"*{mrkdwn(title, 198)}*\n{mrkdwn(value, MAX_FIELD_TEXT - 202)}"}
        for title, value in facts
    ]
    if omission:
        more = mrkdwn(omission, 300) + (_link(listed.link, "full report") or " (see the alert record)")
        fields.insert(len(fields) - 1, {"type": "mrkdwn", "text": f"*More*\n{more}"})
    return fields


def slack_message(document: dict[str, Any]) -> dict[str, Any]:
    """The Slack message for one notification."""
    title = headline(document)
    essentials = document["data"]["essentials"]
    header = {"type": "plain_text", "text": clip(title, MAX_HEADER)}  # plain_text: Slack parses no markup
    blocks: list[dict[str, Any]] = [{"type": "header", "text": header}]
    if essentials.get("description"):
        note = _link(full_details_link(document), "full text") or " [shortened]"
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": mrkdwn(essentials["description"], MAX_SECTION_TEXT, note)},
            }
        )
    fields = _fields(fitted_facts(document, MAX_FACTS, 10**9))
    for start in range(0, len(fields), MAX_FIELDS):
        blocks.append({"type": "section", "fields": fields[start : start + MAX_FIELDS]})
    links = absolute_links(document)
    if links:
        text = " | ".join(
            f"<{url}|{'Report' if name == 'report' else 'Alert'}>" for name, url in links.items()
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    return {"text": mrkdwn(title, MAX_TEXT), "blocks": blocks}


class SlackSink:
    name = "slack"

    def __init__(self, url: Secret, poster: JsonPoster) -> None:
        self._url = url
        self._poster = poster

    def send(self, notification: Notification, delivery_id: str) -> SendOutcome:
        return self._poster.post(
            self._url, slack_message(notification.document), headers={"Idempotency-Key": delivery_id}
        )
