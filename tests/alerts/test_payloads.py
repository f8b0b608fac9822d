"""What each receiver gets, checked against the published samples (tests/alerts/samples, copied from
the receivers' documentation, sources in its README): same field names, same JSON types, values in the
documented ranges."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from shared.alerts.service import AlertService
from tests.alerts.conftest import signal

SAMPLES = Path(__file__).parent / "samples"
ROUTING_KEY = "0123456789abcdef0123456789abcdef"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def json_type(value: Any) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "bool",
        int: "number",
        float: "number",
        type(None): "null",
    }[type(value)]


@pytest.fixture
def delivered(make_service: Callable[..., AlertService], receivers, clock) -> dict[str, list[Any]]:
    """One alert fired and resolved through every HTTP sink; the bodies each receiver got."""
    hooks = {name: receivers() for name in ("webhook", "teams", "slack", "pagerduty")}
    service = make_service(
        MODELWATCH_ALERT_WEBHOOK_URL=hooks["webhook"].url(),
        MODELWATCH_TEAMS_WEBHOOK_URL=hooks["teams"].url(),
        MODELWATCH_SLACK_WEBHOOK_URL=hooks["slack"].url(),
        MODELWATCH_PAGERDUTY_ROUTING_KEY=ROUTING_KEY,
        MODELWATCH_PAGERDUTY_URL=hooks["pagerduty"].url("/v2/enqueue"),
        MODELWATCH_ALERT_KEEP_FIRING_FOR="0s",
        MODELWATCH_PUBLIC_BASE_URL="https://modelwatch.example.net",
    )
    alert = service.fire(signal(report_html="<p>report</p>")).alert
    clock.advance(minutes=7)
    service.clear(alert.rule, alert.targets, alert.labels)
    return {name: hook.bodies for name, hook in hooks.items()}


def test_common_schema_essentials_have_the_sample_fields_and_types(delivered: dict[str, list[Any]]) -> None:
    ours, theirs = delivered["webhook"][1], sample("azure_common_alert_schema.json")  # the resolved one
    assert ours["schemaId"] == theirs["schemaId"] == "azureMonitorCommonAlertSchema"
    assert set(ours["data"]) == set(theirs["data"])
    optional = {"alertRuleId"}  # "may be absent in some payloads"; we have no ARM rule to point at
    for field, value in theirs["data"]["essentials"].items():
        if field not in optional:
            assert json_type(ours["data"]["essentials"][field]) == json_type(value), field


def test_common_schema_values_are_in_the_documented_ranges(delivered: dict[str, list[Any]]) -> None:
    fired, resolved = (b["data"]["essentials"] for b in delivered["webhook"])
    assert fired["severity"] in {"Sev0", "Sev1", "Sev2", "Sev3", "Sev4"}
    assert fired["signalType"] in {"Metric", "Log", "Activity Log"}
    assert (fired["monitorCondition"], resolved["monitorCondition"]) == ("Fired", "Resolved")
    assert "resolvedDateTime" not in fired
    assert datetime.fromisoformat(resolved["resolvedDateTime"]) > datetime.fromisoformat(
        fired["firedDateTime"]
    )
    assert fired["alertId"] == resolved["alertId"] and fired["alertTargetIDs"][0].startswith(
        "/subscriptions/"
    )


def test_common_schema_context_carries_the_evidence_and_links(delivered: dict[str, list[Any]]) -> None:
    context = delivered["webhook"][0]["data"]["alertContext"]
    assert context["evidence"]["thresholds"] == {"p95_ms": 400} and context["evidence"]["sampleSize"] == 1432
    assert context["links"]["report"].startswith("https://modelwatch.example.net/api/alerts/")


def test_pagerduty_trigger_matches_the_events_v2_sample(delivered: dict[str, list[Any]]) -> None:
    ours, theirs = delivered["pagerduty"][0], sample("pagerduty_trigger.json")
    assert set(ours) <= set(theirs) and {"routing_key", "event_action", "dedup_key", "payload"} <= set(ours)
    assert set(ours["payload"]) <= set(theirs["payload"])
    for field in ("summary", "source", "severity"):  # required by Events v2
        assert json_type(ours["payload"][field]) == json_type(theirs["payload"][field]) == "string"
    assert ours["payload"]["severity"] in {"critical", "error", "warning", "info"}
    assert (ours["event_action"], ours["routing_key"]) == ("trigger", ROUTING_KEY)
    assert len(ours["payload"]["summary"]) <= 1024


def test_pagerduty_resolve_matches_the_sample_and_reuses_the_dedup_key(
    delivered: dict[str, list[Any]],
) -> None:
    trigger, resolve = delivered["pagerduty"]
    assert set(resolve) == set(sample("pagerduty_resolve.json"))
    assert resolve["event_action"] == "resolve" and resolve["dedup_key"] == trigger["dedup_key"]
    assert trigger["dedup_key"] == delivered["webhook"][0]["data"]["alertContext"]["fingerprint"]


def test_teams_message_uses_the_adaptive_card_envelope(delivered: dict[str, list[Any]]) -> None:
    ours, theirs = delivered["teams"][0], sample("teams_adaptive_card_envelope.json")
    assert ours["type"] == theirs["type"] == "message"
    [attachment], [expected] = ours["attachments"], theirs["attachments"]
    assert set(attachment) == set(expected) and attachment["contentType"] == expected["contentType"]
    assert attachment["content"]["type"] == "AdaptiveCard"
    assert attachment["content"]["$schema"] == expected["content"]["$schema"]


def test_teams_card_uses_only_elements_webhooks_render(delivered: dict[str, list[Any]]) -> None:
    content = delivered["teams"][0]["attachments"][0]["content"]
    rollback = sample("teams_adaptive_card_rollback.json")["attachments"][0]["content"]
    assert {b["type"] for b in content["body"]} <= {b["type"] for b in rollback["body"]} | {"TextBlock"}
    assert {a["type"] for a in content.get("actions", [])} <= {"Action.OpenUrl"}  # never Action.Submit
    facts = {
        f["title"]: f["value"] for f in next(b for b in content["body"] if b["type"] == "FactSet")["facts"]
    }
    assert (facts["Severity"], facts["p95_ms"], facts["thresholds.p95_ms"]) == ("Sev2", "812", "400")


def test_slack_message_has_fallback_text_and_blocks(delivered: dict[str, list[Any]]) -> None:
    ours, theirs = delivered["slack"][0], sample("slack_incoming_webhook.json")
    assert set(ours) == set(theirs)
    assert ours["text"] == "[Sev2] FIRED latency-p95 on churn-prod/green"
    assert {b["type"] for b in ours["blocks"]} <= {"header", "section", "context"}
    assert all(len(b.get("fields", [])) <= 10 for b in ours["blocks"])
    assert delivered["slack"][1]["text"].startswith("[Sev2] RESOLVED")


def test_webhook_sends_the_common_schema_unchanged(delivered: dict[str, list[Any]]) -> None:
    assert delivered["webhook"][0]["schemaId"] == "azureMonitorCommonAlertSchema"
    assert delivered["webhook"][0]["data"]["customProperties"] == {
        "endpoint": "churn-prod",
        "deployment": "green",
    }


def test_a_small_alert_is_sent_whole_without_truncation_markers(delivered: dict[str, list[Any]]) -> None:
    context = delivered["webhook"][0]["data"]["alertContext"]
    assert "truncated" not in context and "_truncated" not in context["evidence"]
    description = delivered["webhook"][0]["data"]["essentials"]["description"]
    assert description == "p95 latency 812 ms over 400 ms SLO"
    card = delivered["teams"][0]["attachments"][0]["content"]
    titles = [f["title"] for f in next(b for b in card["body"] if b["type"] == "FactSet")["facts"]]
    assert "More" not in titles and "conventions.percentile" in titles
