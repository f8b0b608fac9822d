"""Alert settings from environment variables (app settings), validated with errors that name the setting.

All problems are reported at once. Secret settings (webhook URLs, keys, the storage connection string)
are wrapped in `Secret` as soon as they are read, and an error about one never repeats its value.
This module must never log or echo a secret, and imports nothing heavy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from shared.alerts.secrets import Redactor, Secret
from shared.config import MAX_DURATION, SettingsError, parse_duration

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# Default inhibition: a rollback alert mutes the latency alerts of the deployment it rolled back.
ROLLBACK_RULE_PATTERN = "rollback.*"
LATENCY_RULE_PATTERN = ".*latency.*"
DEFAULT_INHIBIT_RULES = [
    {
        "name": "rollback-inhibits-latency",
        "source": [{"name": "rule", "value": ROLLBACK_RULE_PATTERN, "isRegex": True}],
        "target": [{"name": "rule", "value": LATENCY_RULE_PATTERN, "isRegex": True}],
        "equal": ["endpoint", "deployment"],
    }
]

__all__ = ["MAX_DURATION", "AlertSettings", "SettingsError", "load_settings", "parse_duration"]

@dataclass(frozen=True)
class AlertSettings:
    container: str = "modelwatch"
    repeat_interval: timedelta = timedelta(hours=4)
    keep_firing_for: timedelta = timedelta(minutes=10)
    max_attempts: int = 10
    backoff: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(minutes=30)
    http_timeout: float = 10.0
    deliver_inline: bool = True
    public_base_url: str | None = None
    inhibit_rules: tuple[dict, ...] = tuple(DEFAULT_INHIBIT_RULES)
    webhook_url: Secret | None = None
    teams_webhook_url: Secret | None = None
    slack_webhook_url: Secret | None = None
    pagerduty_routing_key: Secret | None = None
    pagerduty_url: str = PAGERDUTY_EVENTS_URL
    eventgrid_topic_endpoint: str | None = None
    eventgrid_topic_key: Secret | None = None
    storage_connection_string: Secret | None = field(default=None)
    storage_account_url: str | None = None

    def redactor(self) -> Redactor:
        return Redactor(
            [
                self.webhook_url,
                self.teams_webhook_url,
                self.slack_webhook_url,
                self.pagerduty_routing_key,
                self.eventgrid_topic_key,
                self.storage_connection_string,
            ]
        )


class _Reader:
    """Reads settings one by one and collects every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.errors: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        return value.strip() if value is not None and value.strip() else None

    def duration(self, name: str, default: timedelta, minimum: timedelta = timedelta(0)) -> timedelta:
        value = self.raw(name)
        if value is None:
            return default
        try:
            parsed = parse_duration(value)
        except ValueError as exc:
            self.errors.append(f"{name}: {exc}")
            return default
        if parsed < minimum:
            self.errors.append(f"{name}: must be at least {minimum}, got {value!r}")
        return parsed

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        if not value.isdigit() or not low <= int(value) <= high:
            self.errors.append(f"{name}: expected a whole number from {low} to {high}, got {value!r}")
            return default
        return int(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        self.errors.append(f"{name}: expected true or false, got {value!r}")
        return default

    def url(self, name: str, secret: bool) -> str | None:
        """An https URL (http allowed only on loopback, for local runs). A secret one is never echoed."""
        value = self.raw(name)
        if value is None:
            return None
        shown = "(value hidden: it is a secret)" if secret else f"got {value!r}"
        try:
            parts = urlsplit(value)
            host = parts.hostname or ""
        except ValueError:
            self.errors.append(f"{name}: not a valid URL {shown}")
            return None
        if parts.scheme == "https" and host:
            return value
        if parts.scheme == "http" and host in LOOPBACK_HOSTS:
            return value
        self.errors.append(f"{name}: expected an https:// URL (http:// only for 127.0.0.1/localhost) {shown}")
        return None

    def token(self, name: str) -> Secret | None:
        value = self.raw(name)
        if value is None:
            return None
        if any(ch.isspace() for ch in value):
            self.errors.append(f"{name}: must not contain whitespace (value hidden: it is a secret)")
            return None
        return Secret(value)


def _inhibit_rules(reader: _Reader) -> tuple[dict, ...]:
    name = "MODELWATCH_ALERT_INHIBIT_RULES"
    value = reader.raw(name)
    if value is None:
        return tuple(DEFAULT_INHIBIT_RULES)
    from pydantic import ValidationError

    from shared.alerts.model import InhibitRule, explain  # pydantic, only when someone configures rules

    try:
        rules = json.loads(value)
    except ValueError as exc:
        reader.errors.append(f"{name}: not valid JSON: {exc}")
        return tuple(DEFAULT_INHIBIT_RULES)
    if not isinstance(rules, list):
        reader.errors.append(f"{name}: expected a JSON list of rules, got {type(rules).__name__}")
        return tuple(DEFAULT_INHIBIT_RULES)
    for i, rule in enumerate(rules):
        try:
            InhibitRule.model_validate(rule)
        except ValidationError as exc:
            reader.errors.append(f"{name}: {explain(exc, f'rule[{i}].')}")
    return tuple(rules)


def _storage(reader: _Reader) -> tuple[Secret | None, str | None]:
    connection = reader.raw("MODELWATCH_STORAGE_CONNECTION_STRING") or reader.raw("AzureWebJobsStorage")
    account_url = reader.url("MODELWATCH_STORAGE_ACCOUNT_URL", secret=False)
    return (Secret(connection) if connection else None), account_url


def _sink_settings(r: _Reader) -> dict[str, Any]:
    """Where notifications go: each sink is on when its settings are there."""
    topic = r.url("MODELWATCH_EVENTGRID_TOPIC_ENDPOINT", secret=False)
    topic_key = r.token("MODELWATCH_EVENTGRID_TOPIC_KEY")
    if bool(topic) != bool(topic_key) and not any("EVENTGRID" in e for e in r.errors):
        r.errors.append(
            "MODELWATCH_EVENTGRID_TOPIC_ENDPOINT and MODELWATCH_EVENTGRID_TOPIC_KEY: set both or neither"
        )
    urls = {
        field: r.url(name, secret=True)
        for field, name in (
            ("webhook_url", "MODELWATCH_ALERT_WEBHOOK_URL"),
            ("teams_webhook_url", "MODELWATCH_TEAMS_WEBHOOK_URL"),
            ("slack_webhook_url", "MODELWATCH_SLACK_WEBHOOK_URL"),
        )
    }
    return {
        **{field: Secret(url) if url else None for field, url in urls.items()},
        "pagerduty_routing_key": r.token("MODELWATCH_PAGERDUTY_ROUTING_KEY"),
        "pagerduty_url": r.url("MODELWATCH_PAGERDUTY_URL", secret=False) or PAGERDUTY_EVENTS_URL,
        "eventgrid_topic_endpoint": topic if topic_key else None,
        "eventgrid_topic_key": topic_key if topic else None,
    }


def load_settings(env: Mapping[str, str]) -> AlertSettings:
    """Validate every alert setting; raise SettingsError listing all problems by setting name."""
    r = _Reader(env)
    container = r.raw("MODELWATCH_STATE_CONTAINER") or "modelwatch"
    if not re.fullmatch(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]", container):
        r.errors.append(f"MODELWATCH_STATE_CONTAINER: not a valid blob container name: {container!r}")
    timeout = r.duration("MODELWATCH_ALERT_HTTP_TIMEOUT", timedelta(seconds=10), timedelta(milliseconds=100))
    if timeout > timedelta(seconds=30):
        r.errors.append("MODELWATCH_ALERT_HTTP_TIMEOUT: at most 30s (a delivery holds a 60 s lease)")
    base_url = r.url("MODELWATCH_PUBLIC_BASE_URL", secret=False)
    connection, account_url = _storage(r)
    settings = AlertSettings(
        container=container,
        repeat_interval=r.duration(
            "MODELWATCH_ALERT_REPEAT_INTERVAL", timedelta(hours=4), timedelta(minutes=1)
        ),
        keep_firing_for=r.duration("MODELWATCH_ALERT_KEEP_FIRING_FOR", timedelta(minutes=10)),
        max_attempts=r.integer("MODELWATCH_ALERT_OUTBOX_MAX_ATTEMPTS", 10, 1, 100),
        backoff=r.duration("MODELWATCH_ALERT_OUTBOX_BACKOFF", timedelta(seconds=30), timedelta(seconds=1)),
        backoff_max=r.duration(
            "MODELWATCH_ALERT_OUTBOX_BACKOFF_MAX", timedelta(minutes=30), timedelta(seconds=1)
        ),
        http_timeout=timeout.total_seconds(),
        deliver_inline=r.boolean("MODELWATCH_ALERT_DELIVER_INLINE", True),
        public_base_url=base_url.rstrip("/") if base_url else None,
        inhibit_rules=_inhibit_rules(r),
        storage_connection_string=connection,
        storage_account_url=account_url,
        **_sink_settings(r),
    )
    if settings.backoff_max < settings.backoff:
        r.errors.append("MODELWATCH_ALERT_OUTBOX_BACKOFF_MAX: must be at least the base backoff")
    if r.errors:
        raise SettingsError(dict(_named(e) for e in r.errors))
    return settings


def _named(problem: str) -> tuple[str, str]:
    name, _, why = problem.partition(": ")
    return (name, why) if why else ("alerts", problem)
