"""Settings: defaults, parsing, errors that name the setting, and secrets that never show."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from shared.alerts.secrets import Redactor, Secret, install_log_redaction
from shared.alerts.settings import PAGERDUTY_EVENTS_URL, SettingsError, load_settings, parse_duration

SLACK = "https://hooks.slack.com/services/T0000/B0000/XXXXsecretXXXXsecretXX"
TEAMS = (
    "https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke"
    "?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=S1gS1gS1gS1gS1gS1gS1gS1gS1g"
)


def test_defaults_need_no_settings() -> None:
    settings = load_settings({})
    assert (
        settings.container,
        settings.repeat_interval,
        settings.keep_firing_for,
        settings.max_attempts,
    ) == ("modelwatch", timedelta(hours=4), timedelta(minutes=10), 10)
    assert settings.pagerduty_url == PAGERDUTY_EVENTS_URL


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("30s", 30), ("5m", 300), ("4h", 14400), ("1d", 86400), ("PT4H", 14400), ("P1DT30M", 88200)],
)
def test_durations_in_short_and_iso_forms(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_every_bad_setting_is_reported_by_name_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {
                "MODELWATCH_ALERT_REPEAT_INTERVAL": "4 hours",
                "MODELWATCH_ALERT_OUTBOX_MAX_ATTEMPTS": "0",
                "MODELWATCH_ALERT_DELIVER_INLINE": "maybe",
            }
        )
    message = str(caught.value)
    assert "MODELWATCH_ALERT_REPEAT_INTERVAL: expected a duration" in message
    assert "MODELWATCH_ALERT_OUTBOX_MAX_ATTEMPTS: expected a whole number from 1 to 100, got '0'" in message
    assert "MODELWATCH_ALERT_DELIVER_INLINE: expected true or false" in message


def test_plain_http_webhook_is_refused_without_echoing_the_secret() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"MODELWATCH_SLACK_WEBHOOK_URL": SLACK.replace("https", "http")})
    assert "MODELWATCH_SLACK_WEBHOOK_URL: expected an https:// URL" in str(caught.value)
    assert "XXXXsecret" not in str(caught.value)


def test_plain_http_is_allowed_on_loopback_for_local_runs() -> None:
    assert load_settings({"MODELWATCH_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/hook"}).webhook_url is not None


def test_event_grid_needs_both_endpoint_and_key() -> None:
    with pytest.raises(SettingsError, match="set both or neither"):
        load_settings(
            {"MODELWATCH_EVENTGRID_TOPIC_ENDPOINT": "https://t.westeurope-1.eventgrid.azure.net/api/events"}
        )


def test_malformed_inhibit_rules_name_the_rule_and_field() -> None:
    with pytest.raises(SettingsError, match=r"MODELWATCH_ALERT_INHIBIT_RULES: rule\[0\]\.source"):
        load_settings(
            {"MODELWATCH_ALERT_INHIBIT_RULES": '[{"source": [], "target": [{"name": "rule", "value": "x"}]}]'}
        )


def test_settings_repr_hides_secrets() -> None:
    settings = load_settings(
        {"MODELWATCH_SLACK_WEBHOOK_URL": SLACK, "MODELWATCH_PAGERDUTY_ROUTING_KEY": "R" * 32}
    )
    assert "XXXXsecret" not in repr(settings) and "R" * 32 not in repr(settings)


def test_redactor_masks_a_webhook_url_echoed_in_pieces() -> None:
    redact = Redactor([Secret(TEAMS)])
    echoed = "url: /workflows/abc/triggers/manual/paths/invoke?api-version=2016-10-01"
    query = "&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=S1gS1gS1gS1gS1gS1gS1gS1gS1g"
    assert "sig=" not in redact(echoed + query)
    assert "S1gS1g" not in redact("sig was S1gS1gS1gS1gS1gS1gS1gS1gS1g")


def test_http_library_debug_logs_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction(Redactor([Secret(SLACK)]))
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("urllib3.connectionpool").debug(
            '%s://%s:%s "%s %s %s" %s',
            "https",
            "hooks.slack.com",
            443,
            "POST",
            "/services/T0000/B0000/XXXXsecretXXXXsecretXX",
            "HTTP/1.1",
            200,
        )
    assert "XXXXsecret" not in caplog.text and "POST ***" in caplog.text


def test_a_duration_too_long_for_a_datetime_is_a_settings_error_naming_it() -> None:
    with pytest.raises(SettingsError, match="MODELWATCH_ALERT_REPEAT_INTERVAL: "):
        load_settings({"MODELWATCH_ALERT_REPEAT_INTERVAL": "99999999999d"})
