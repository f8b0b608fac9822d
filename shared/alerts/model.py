"""The alert data that crosses boundaries: what a check sends, what is stored, what the API shows.

Records serialise to camelCase JSON (the common alert schema's style, and Alertmanager's for silences) and
read back tolerantly (unknown fields ignored), so a stored record written by an older version still loads.
This module holds data and its validation only: no storage, no HTTP, no clock.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

RULE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$"
LABEL_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
# Names every alert carries for matching (silences, inhibition); a check's labels must not reuse them.
RESERVED_LABELS = frozenset({"rule", "alertname", "severity", "signalType"})


class Severity(StrEnum):
    """Azure Monitor severities: Sev0 critical ... Sev4 verbose. Lower number = more severe."""

    SEV0 = "Sev0"
    SEV1 = "Sev1"
    SEV2 = "Sev2"
    SEV3 = "Sev3"
    SEV4 = "Sev4"

    @property
    def rank(self) -> int:
        return int(self.value[3])


class SignalType(StrEnum):
    METRIC = "Metric"
    LOG = "Log"
    ACTIVITY_LOG = "Activity Log"


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class EventKind(StrEnum):
    """Why a notification is sent. All but `resolved` go out with monitorCondition Fired."""

    FIRED = "fired"
    ESCALATED = "escalated"
    REPEAT = "repeat"
    RESOLVED = "resolved"
    TEST = "test"


class Record(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    for name, value in labels.items():
        if not re.match(LABEL_NAME_PATTERN, name):
            raise ValueError(f"label name {name!r} must match {LABEL_NAME_PATTERN}")
        if name in RESERVED_LABELS:
            raise ValueError(f"label name {name!r} is reserved (set by the alert itself); use another name")
        if not isinstance(value, str) or len(value) > 256:
            raise ValueError(f"label {name!r} must be a string of at most 256 characters")
    return labels


class AlertSignal(Record):
    """What a check hands to the alert service when its condition holds.

    Identity is (rule, targets, labels): keep changing numbers out of labels and put them in `evidence`,
    or every evaluation would open a new alert.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    rule: str = Field(pattern=RULE_PATTERN)
    severity: Severity
    signal_type: SignalType = SignalType.METRIC
    targets: tuple[str, ...] = Field(min_length=1)
    labels: dict[str, str] = Field(default_factory=dict)
    description: str = Field(default="", max_length=4096)
    evidence: dict[str, Any] = Field(default_factory=dict)
    report_html: str | None = None
    audit_ids: tuple[str, ...] = ()
    configuration_items: tuple[str, ...] | None = None

    @field_validator("targets", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("targets")
    @classmethod
    def _non_empty_targets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not t.strip() for t in value):
            raise ValueError("targets must be non-empty ARM resource ids")
        return value

    @field_validator("labels")
    @classmethod
    def _valid_labels(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_labels(value)


class NotificationEvent(Record):
    """One notification decided for an alert, waiting in the alert record until it is in the outbox."""

    id: str
    seq: int
    kind: EventKind
    at: datetime
    document: dict[str, Any]


class TimelineEntry(Record):
    at: datetime
    what: str
    by: str | None = None
    detail: str | None = None


class Alert(Record):
    """One alert episode: opened when a fingerprint starts firing, closed when it resolves."""

    id: str
    fingerprint: str
    episode: int
    rule: str
    severity: Severity
    signal_type: SignalType
    targets: tuple[str, ...]
    labels: dict[str, str]
    description: str
    evidence: dict[str, Any]
    audit_ids: tuple[str, ...] = ()
    configuration_items: tuple[str, ...] = ()
    has_report: bool = False
    state: AlertState = AlertState.OPEN
    fired_at: datetime
    last_fired_at: datetime
    cleared_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    occurrences: int = 1
    notified_at: datetime | None = None
    notified_severity: Severity | None = None
    fired_notified: bool = False
    resolved_notified: bool = False
    notification_seq: int = 0
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()
    pending_events: tuple[NotificationEvent, ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()

    @property
    def firing(self) -> bool:
        return self.state is not AlertState.RESOLVED


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@lru_cache(maxsize=512)
def _re2(pattern: str) -> Any:
    """The pattern compiled by RE2 (linear-time matching, Go's syntax as Alertmanager uses); raises ValueError.

    RE2 works on UTF-8, so a lone surrogate (not encodable) is refused here like any other bad pattern.
    """
    import re2  # google-re2; imported here so that loading the function app stays fast

    if _LONE_SURROGATE.search(pattern):
        raise ValueError("it contains a lone surrogate, which is not text")
    options = re2.Options()
    options.log_errors = False  # the error comes back to the caller; RE2 need not print it too
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(str(reason)) from None


class Matcher(Record):
    """Alertmanager's matcher: name = value, != value, =~ regex, !~ regex.

    A regex must match the whole label value (Alertmanager anchors it as `^(?:value)$`) and is run by RE2, as
    Alertmanager's Go regexps are: linear time whatever the pattern, so a silence like `(x+x+)+y` cannot stall
    the alert service; syntax RE2 lacks (backreferences, lookaround) is refused when the matcher is made.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
    value: str = Field(max_length=1024)
    is_regex: bool = False
    is_equal: bool = True

    @model_validator(mode="after")
    def _regex_compiles(self) -> Matcher:
        if self.is_regex:
            try:
                _re2(self.value)
            except ValueError as exc:
                raise ValueError(
                    f"matcher {self.name}: invalid regular expression '{self.value}' (RE2 syntax): {exc}"
                ) from None
        return self

    def matches(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.is_regex:
            text = _LONE_SURROGATE.sub("\ufffd", actual)  # RE2 needs UTF-8; a lone surrogate is no character
            hit = _re2(self.value).fullmatch(text) is not None
        else:
            hit = actual == self.value
        return hit if self.is_equal else not hit


class Silence(Record):
    """A time-bounded mute: matched alerts keep their record but send no notification."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime
    updated_at: datetime
    expired_by: str | None = None

    def state_at(self, now: datetime) -> str:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def active_at(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


class InhibitRule(Record):
    """While an alert matching `source` fires, alerts matching `target` with the same `equal` labels
    are muted (Alertmanager's inhibit_rules)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    source: tuple[Matcher, ...] = Field(min_length=1)
    target: tuple[Matcher, ...] = Field(min_length=1)
    equal: tuple[str, ...] = ()
    name: str = "inhibit"


class Notification(Record):
    """What a sink formats and sends: one event of one alert, in the common alert schema."""

    event_id: str
    kind: EventKind
    fingerprint: str
    alert_id: str
    document: dict[str, Any]


class OutboxItem(Record):
    """One delivery (notification x sink) waiting to be sent, with its retry bookkeeping."""

    delivery_id: str
    sink: str
    seq: int
    notification: Notification
    created_at: datetime
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str | None = None
    last_status: int | None = None


class DeliveryRecord(Record):
    """The final word on a delivery: delivered, or dead-lettered after the last try (kept forever)."""

    delivery_id: str
    sink: str
    outcome: str
    attempts: int
    finished_at: datetime
    last_error: str | None = None
    last_status: int | None = None
    notification: Notification


def explain(exc: ValidationError, where: str = "") -> str:
    """A pydantic error as one readable line: `field.sub: what is wrong; ...`, prefixed by `where`."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(
            f"{where}{loc}: {message}" if loc else f"{where.rstrip('.')}: {message}" if where else message
        )
    return "; ".join(parts)
