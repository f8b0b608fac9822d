"""Every notification fits its receiver's documented limits, and chat text cannot be read as markup.

Limits: Azure's common alert schema 256 KB per alert; Teams 28 KB per message; Slack `text` 40,000
characters, header 150, section text 3,000, 10 fields of 2,000, 50 blocks; PagerDuty summary 1,024
characters and 512 KB per event; Event Grid 1 MB per event. The bodies are measured as the receivers get
them: each sink posts over real HTTP to a local receiver (Event Grid through azure-eventgrid's own client).
A huge alert (long description, 200 labels with emoji, big evidence) stays within every limit, and what
was shortened says so, with a link to the full report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.alerts.model import Alert, EventKind, Notification
from shared.alerts.schema import common_alert, encode_json, fit_document
from shared.alerts.secrets import Redactor, Secret
from shared.alerts.service import AlertService
from shared.alerts.sinks.eventgrid import EventGridSink
from shared.alerts.sinks.http import JsonPoster
from shared.alerts.sinks.pagerduty import PagerDutySink
from shared.alerts.sinks.slack import SlackSink, mrkdwn, slack_message
from shared.alerts.sinks.teams import TeamsSink, adaptive_card
from shared.alerts.sinks.webhook import WebhookSink
from tests.alerts.conftest import ENDPOINT_ID, signal
from tests.alerts.receivers import Receiver, Reply

KB = 1024
BASE_URL = "https://modelwatch.example.net"
ALERT_ID = "al-0123456789abcdef-1"
REPORT_URL = f"{BASE_URL}/api/alerts/{ALERT_ID}/report"
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INJECTIONS = ("<!channel>", "<https://evil.example|click me>")
TOPIC_KEY = "bG9jYWwtdG9waWMta2V5LWZvci10ZXN0cw=="


def huge_alert(**changes: Any) -> Alert:
    """The largest alert a check can send: a 4,096-character description, 200 labels of 256 characters
    with emoji (the model's maxima), and 300 KB of evidence next to the small facts that matter."""
    labels = {"endpoint": "churn-prod", "deployment": "green"}
    labels |= {f"label_{i:03d}": ("🔥" * 120 + " hot & <b>" * 20)[:256] for i in range(198)}
    evidence = {
        "model": {"name": "churn", "version": "7"},
        "referenceProfileHash": "sha256:" + "ab" * 32,
        "thresholds": {"p95_ms": 400},
        "rows": [{"feature": f"f{i}", "values": ["🚀"] * 20} for i in range(2000)],
        "sampleSize": 1432,
    }
    values: dict[str, Any] = {
        "id": ALERT_ID,
        "fingerprint": "f" * 64,
        "episode": 1,
        "rule": "drift-income",
        "severity": "Sev1",
        "signal_type": "Metric",
        "targets": (ENDPOINT_ID,),
        "labels": labels,
        "description": ("Drift on income 📈 <!channel> & more. " * 120)[:4096],
        "evidence": evidence,
        "has_report": True,
        "fired_at": AT,
        "last_fired_at": AT,
    }
    return Alert(**(values | changes))


def document_of(alert: Alert, base_url: str | None = BASE_URL) -> dict[str, Any]:
    return common_alert(alert, EventKind.FIRED, AT, f"{alert.id}.1", base_url)


def notification(document: dict[str, Any]) -> Notification:
    essentials = document["data"]["essentials"]
    return Notification(
        event_id=f"{essentials['alertId']}.1",
        kind=EventKind.FIRED,
        fingerprint=essentials["originAlertId"],
        alert_id=essentials["alertId"],
        document=document,
    )


def mrkdwn_texts(message: dict[str, Any]) -> Iterator[str]:
    """Every text of a Slack message that Slack parses as mrkdwn."""
    yield message["text"]
    for block in message["blocks"]:
        if block.get("text", {}).get("type") == "mrkdwn":
            yield block["text"]["text"]
        yield from (field["text"] for field in block.get("fields", []))
        yield from (element["text"] for element in block.get("elements", []) if element["type"] == "mrkdwn")


def card_facts(message: dict[str, Any]) -> list[dict[str, str]]:
    [fact_set] = [b for b in message["attachments"][0]["content"]["body"] if b["type"] == "FactSet"]
    return fact_set["facts"]


def has_partial_entity(text: str) -> bool:
    """An `&` that does not start one of Slack's three entities, or an entity cut at the end."""
    return re.search(r"&(?!amp;|lt;|gt;)", text) is not None


@pytest.fixture
def poster() -> JsonPoster:
    return JsonPoster(timeout=2.0, redact=Redactor())


@pytest.fixture
def huge() -> dict[str, Any]:
    return document_of(huge_alert())


@pytest.fixture
def posted(receivers: Callable[..., Receiver], poster: JsonPoster) -> Callable[[Any, dict[str, Any]], bytes]:
    """Send a document through a sink built on a fresh receiver; the bytes the receiver got."""

    def send(make_sink: Any, document: dict[str, Any]) -> bytes:
        receiver = receivers(Reply(202, ""))
        sink = make_sink(receiver, poster)
        assert sink.send(notification(document), "delivery-1").ok
        [request] = receiver.requests
        return request.body

    return send


# -- Azure common alert schema (webhook, blob, Event Grid data) -------------------------------------------


def test_huge_alert_common_schema_stays_within_azures_256_kb(posted, huge: dict[str, Any]) -> None:
    body = posted(lambda r, p: WebhookSink(Secret(r.url()), p), huge)
    assert len(body) <= 256 * KB
    assert json.loads(body)["schemaId"] == "azureMonitorCommonAlertSchema"


def test_webhook_body_is_utf8_not_ascii_escaped(posted, huge: dict[str, Any]) -> None:
    body = posted(lambda r, p: WebhookSink(Secret(r.url()), p), huge)
    assert "🔥".encode() in body and b"\\ud83d" not in body


def test_labels_are_sent_in_full_once_and_custom_properties_repeats_only_a_few(huge: dict[str, Any]) -> None:
    data = huge["data"]
    labels, marker = data["alertContext"]["labels"], data["alertContext"]["truncated"]["labels"]
    assert len(encode_json(labels)) <= 32 * KB
    assert marker == {"shown": len(labels), "omitted": 200 - len(labels)} and marker["omitted"] > 0
    assert len(encode_json(data["customProperties"])) <= 2 * KB
    assert {"endpoint": "churn-prod", "deployment": "green"}.items() <= data["customProperties"].items()


def test_small_labels_still_fill_custom_properties() -> None:
    labels = {"endpoint": "churn-prod", "deployment": "green"}
    data = document_of(huge_alert(labels=labels))["data"]
    assert data["customProperties"] == data["alertContext"]["labels"] == labels


def test_big_evidence_keeps_its_small_entries_and_names_what_was_left_out(huge: dict[str, Any]) -> None:
    evidence = huge["data"]["alertContext"]["evidence"]
    assert evidence["model"] == {"name": "churn", "version": "7"} and evidence["sampleSize"] == 1432
    assert evidence["thresholds"] == {"p95_ms": 400} and "rows" not in evidence
    marker = evidence["_truncated"]
    assert marker["omittedKeys"] == ["rows"] and marker["see"] == REPORT_URL
    assert marker["originalBytes"] == len(encode_json(huge_alert().evidence)) > 256 * KB


def test_description_past_its_share_ends_in_a_marker_with_the_report_link() -> None:
    long = "x" * 40_000
    description = document_of(huge_alert(description=long))["data"]["essentials"]["description"]
    assert description.startswith("x" * 1000) and len(description.encode()) <= 16 * KB
    assert description.endswith(f"… [shortened from 40,000 characters; full text: {REPORT_URL}]")


def test_without_a_public_base_url_the_marker_carries_no_link() -> None:
    document = document_of(huge_alert(description="x" * 40_000), base_url=None)
    assert document["data"]["essentials"]["description"].endswith("full text in the alert record]")
    assert "see" not in document["data"]["alertContext"]["truncated"]


SHAPES = {
    "everything large": {},
    "only evidence large": {"labels": {"endpoint": "churn-prod"}, "description": "short"},
    "only labels large": {"evidence": {"p95_ms": 812}},
    "long description": {"description": "z" * 40_000, "evidence": {}},
}


@pytest.mark.parametrize("base_url", [BASE_URL, None])
@pytest.mark.parametrize("shape", SHAPES)
def test_fitting_a_fitted_document_changes_nothing(shape: str, base_url: str | None) -> None:
    document = document_of(huge_alert(**SHAPES[shape]), base_url)
    assert fit_document(document) == document


def test_an_oversized_document_from_an_older_version_is_shortened_by_the_webhook(posted) -> None:
    old = document_of(huge_alert(labels={"endpoint": "churn-prod"}))
    labels = {f"label_{i:03d}": "🔥" * 256 for i in range(200)}
    old["data"]["alertContext"]["labels"] = old["data"]["customProperties"] = labels  # as rendered before
    old["data"]["alertContext"]["evidence"] = {"rows": ["🚀" * 100] * 1000}
    assert len(json.dumps(old)) > 1024 * KB
    body = posted(lambda r, p: WebhookSink(Secret(r.url()), p), old)
    assert len(body) <= 256 * KB


def test_a_lone_surrogate_goes_out_escaped_instead_of_failing_the_send(posted) -> None:
    document = document_of(huge_alert(description="bad \ud800 text"))
    body = posted(lambda r, p: WebhookSink(Secret(r.url()), p), document)
    assert json.loads(body)["data"]["essentials"]["description"] == "bad \ud800 text"


# -- Event Grid ----------------------------------------------------------------------------------------------


def test_event_grid_event_of_an_all_emoji_alert_stays_within_1_mb(receivers, poster) -> None:
    from azure.eventgrid import EventGridEvent

    emoji = huge_alert(
        labels={f"label_{i:03d}": "🔥" * 256 for i in range(200)},
        description="📈" * 4096,
        evidence={f"e{i}": "🚀" * 1000 for i in range(100)},
    )
    topic = receivers(Reply(200, ""))
    sink = EventGridSink(topic.url("/api/events"), Secret(TOPIC_KEY), 2.0, Redactor())
    assert sink.send(notification(document_of(emoji)), "delivery-1").ok
    [request] = topic.requests
    assert len(request.body) <= 1024 * KB
    [event] = request.json
    parsed = EventGridEvent.from_json(json.dumps(event))  # the SDK's own model reads it back
    assert parsed.event_type == "Modelwatch.Alert.Fired"
    assert parsed.data["data"]["essentials"]["alertId"] == ALERT_ID
    assert len(encode_json(parsed.data)) <= 256 * KB


# -- Microsoft Teams -----------------------------------------------------------------------------------------


def test_huge_alert_teams_card_stays_within_28_kb(posted, huge: dict[str, Any]) -> None:
    body = posted(lambda r, p: TeamsSink(Secret(r.url()), p), huge)
    assert len(body) <= 28 * KB
    message = json.loads(body)
    assert message["type"] == "message"
    assert message["attachments"][0]["content"]["type"] == "AdaptiveCard"


def test_teams_card_says_how_many_labels_were_left_out_and_links_the_report(huge: dict[str, Any]) -> None:
    facts = card_facts(adaptive_card(huge))
    assert len(facts) <= 40 and facts[-1]["title"] == "Alert ID"
    more = facts[-2]
    shown = sum(1 for f in facts if f["title"].startswith("label_"))
    assert more["title"] == "More" and f"[full report]({REPORT_URL})" in more["value"]
    omitted = int(more["value"].split(" ", 1)[0].replace(",", ""))
    assert omitted >= 198 - shown  # every left-out label is counted (and the evidence entries)


def test_teams_card_keeps_the_facts_that_decide_what_to_do(huge: dict[str, Any]) -> None:
    facts = {f["title"]: f["value"] for f in card_facts(adaptive_card(huge))}
    assert (facts["Severity"], facts["Rule"], facts["Alert ID"]) == ("Sev1", "drift-income", ALERT_ID)
    assert (facts["endpoint"], facts["deployment"]) == ("churn-prod", "green")
    assert (facts["model.version"], facts["thresholds.p95_ms"]) == ("7", "400")  # before the other labels


def test_teams_card_description_is_cut_with_a_link_to_the_full_text() -> None:
    card = adaptive_card(document_of(huge_alert(description="y" * 40_000)))
    description = card["attachments"][0]["content"]["body"][1]["text"]
    assert description.startswith("yyyy") and len(description.encode()) <= 8 * KB
    assert description.endswith(f"[full text]({REPORT_URL})]")


# -- Slack ---------------------------------------------------------------------------------------------------


def test_huge_alert_slack_message_stays_within_block_kit_limits(posted, huge: dict[str, Any]) -> None:
    message = json.loads(posted(lambda r, p: SlackSink(Secret(r.url()), p), huge))
    assert len(message["text"]) <= 40_000 and len(message["blocks"]) <= 50
    for block in message["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(field["text"]) <= 2000 for field in block.get("fields", []))
        if block["type"] == "context":
            assert len(block["elements"]) <= 10


def test_huge_alert_slack_message_passes_slack_sdks_block_models(huge: dict[str, Any]) -> None:
    blocks = pytest.importorskip("slack_sdk.models.blocks")
    for block in slack_message(huge)["blocks"]:
        blocks.Block.parse(block).validate_json()  # raises SlackObjectFormationError past a limit


def test_slack_message_says_how_many_facts_were_left_out_with_a_link(huge: dict[str, Any]) -> None:
    fields = [f["text"] for b in slack_message(huge)["blocks"] for f in b.get("fields", [])]
    assert len(fields) <= 30 and fields[-1].startswith("*Alert ID*")
    assert fields[-2].startswith("*More*\n") and fields[-2].endswith(f"<{REPORT_URL}|full report>")


@pytest.mark.parametrize("injection", INJECTIONS)
def test_slack_fallback_text_escapes_markup_in_labels(injection: str) -> None:
    document = document_of(huge_alert(labels={"endpoint": injection, "deployment": "green"}))
    text = slack_message(document)["text"]
    assert injection not in text and injection.replace("<", "&lt;").replace(">", "&gt;") in text


@pytest.mark.parametrize("injection", INJECTIONS)
def test_no_slack_mrkdwn_text_carries_markup_from_the_alert(injection: str) -> None:
    alert = huge_alert(
        labels={"endpoint": injection, "note": injection},
        description=f"see {injection}",
        evidence={"comment": injection},
    )
    texts = list(mrkdwn_texts(slack_message(document_of(alert))))
    assert texts and not any(injection in text for text in texts)


def test_slack_description_cut_never_splits_an_entity() -> None:
    document = document_of(huge_alert(description="<!channel>" * 1000))
    [section] = [b for b in slack_message(document)["blocks"] if b["type"] == "section" and "text" in b]
    text = section["text"]["text"]
    assert len(text) <= 3000 and not has_partial_entity(text)
    assert re.search(r"&(amp|lt|gt);$", text.split("…")[0])  # a whole entity, then the marker


@pytest.mark.parametrize("limit", range(1, 40))
def test_slack_text_at_any_limit_is_within_it_and_has_whole_entities(limit: int) -> None:
    text = mrkdwn("<!channel> & <b>", limit)
    assert len(text) <= limit and not has_partial_entity(text)


# -- PagerDuty -----------------------------------------------------------------------------------------------


def test_huge_alert_pagerduty_event_stays_within_512_kb(posted, huge: dict[str, Any]) -> None:
    body = posted(lambda r, p: PagerDutySink(Secret("k" * 32), r.url("/v2/enqueue"), p), huge)
    assert len(body) <= 512 * KB
    event = json.loads(body)
    assert {"summary", "source", "severity"} <= set(event["payload"]) and event["event_action"] == "trigger"
    assert len(event["payload"]["summary"]) <= 1024 and len(event["dedup_key"]) <= 255
    assert event["payload"]["custom_details"]["labels"]["endpoint"] == "churn-prod"


def test_pagerduty_summary_is_cut_to_1024_characters_with_a_marker(posted) -> None:
    document = document_of(huge_alert(labels={"endpoint": "e" * 3000}))
    body = posted(lambda r, p: PagerDutySink(Secret("k" * 32), r.url("/v2/enqueue"), p), document)
    summary = json.loads(body)["payload"]["summary"]
    assert len(summary) == 1024 and summary.endswith("e…")


# -- through the service -------------------------------------------------------------------------------------


def test_a_large_alert_fired_through_the_service_reaches_every_receiver_within_its_limit(
    make_service: Callable[..., AlertService], receivers
) -> None:
    hooks = {name: receivers() for name in ("webhook", "teams", "slack", "pagerduty")}
    service = make_service(
        MODELWATCH_ALERT_WEBHOOK_URL=hooks["webhook"].url(),
        MODELWATCH_TEAMS_WEBHOOK_URL=hooks["teams"].url(),
        MODELWATCH_SLACK_WEBHOOK_URL=hooks["slack"].url(),
        MODELWATCH_PAGERDUTY_ROUTING_KEY="k" * 32,
        MODELWATCH_PAGERDUTY_URL=hooks["pagerduty"].url("/v2/enqueue"),
        MODELWATCH_PUBLIC_BASE_URL=BASE_URL,
    )
    result = service.fire(
        signal(
            labels={"endpoint": "<!channel>", "deployment": "green"},
            description=("Drift 📈 <https://evil.example|click me> & more. " * 100)[:4096],
            evidence={"model": "churn:7", "rows": [["🚀"] * 50 for _ in range(2000)]},
            report_html="<p>report</p>",
        )
    )
    assert all(d.outcome == "delivered" for d in result.deliveries)
    limits = {"webhook": 256 * KB, "teams": 28 * KB, "pagerduty": 512 * KB}
    sizes = {name: len(hooks[name].requests[0].body) for name in limits}
    assert all(sizes[name] <= limit for name, limit in limits.items()), sizes
    slack = hooks["slack"].bodies[0]
    assert len(slack["text"]) <= 40_000 and not any("<!channel>" in t for t in mrkdwn_texts(slack))
