"""The alert lifecycle as pure decisions, in the order of Alertmanager's notify pipeline.

fingerprint -> open or update the one alert of that fingerprint -> keep-firing before resolving ->
silences and inhibition -> ack -> repeat interval -> the notification (if any) as a pending event.
Every function takes plain values and the current time and returns new values, so each rule is tested
with plain data and an injected clock. This module must never do I/O or read the clock itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.alerts.model import (
    Alert,
    AlertSignal,
    AlertState,
    EventKind,
    InhibitRule,
    Matcher,
    NotificationEvent,
    Severity,
    Silence,
    TimelineEntry,
)
from shared.alerts.schema import common_alert

ALERT_ID_PATTERN = re.compile(r"^([0-9a-f]{16})-([1-9][0-9]{0,8})$")
TIMELINE_LIMIT = 50
CLEARED_BY_CHECK = "condition-cleared"


@dataclass(frozen=True)
class Policy:
    """The lifecycle knobs (from settings)."""

    repeat_interval: timedelta = timedelta(hours=4)
    keep_firing_for: timedelta = timedelta(minutes=10)
    inhibit_rules: tuple[InhibitRule, ...] = ()
    base_url: str | None = None


@dataclass(frozen=True)
class NotifyDecision:
    kind: EventKind | None
    reason: str


class TransitionError(ValueError):
    """An operation that makes no sense in the alert's state (e.g. ack a resolved alert)."""


# -- identity -----------------------------------------------------------------------------------------


def fingerprint(rule: str, targets: Iterable[str], labels: Mapping[str, str]) -> str:
    """Stable identity of a condition: same rule, targets and labels -> same fingerprint, in any order.
    ARM ids are case-insensitive, so targets are lower-cased."""
    canonical = json.dumps(
        {
            "rule": rule,
            "targets": sorted(t.strip().lower() for t in targets),
            "labels": sorted(labels.items()),
        },
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def alert_id(fp: str, episode: int) -> str:
    return f"{fp}-{episode}"


def parse_alert_id(value: str) -> tuple[str, int]:
    found = ALERT_ID_PATTERN.match(value)
    if not found:
        raise ValueError(
            f"alert id {value!r} is not of the form <16 hex digits>-<episode>, e.g. 0123456789abcdef-1"
        )
    return found.group(1), int(found.group(2))


def match_labels(alert: Alert) -> dict[str, str]:
    """The label set silences and inhibit rules match against."""
    return {
        "rule": alert.rule,
        "alertname": alert.rule,
        "severity": alert.severity.value,
        "signalType": alert.signal_type.value,
        **alert.labels,
    }


def _configuration_items(signal: AlertSignal) -> tuple[str, ...]:
    if signal.configuration_items is not None:
        return signal.configuration_items
    named = tuple(v for k in ("endpoint", "deployment") if (v := signal.labels.get(k)))
    return named or tuple(t.rstrip("/").rsplit("/", 1)[-1] for t in signal.targets)


def _note(alert: Alert, now: datetime, what: str, by: str | None = None, detail: str | None = None) -> Alert:
    entry = TimelineEntry(at=now, what=what, by=by, detail=detail)
    return alert.model_copy(update={"timeline": (*alert.timeline, entry)[-TIMELINE_LIMIT:]})


# -- firing, clearing, resolving ----------------------------------------------------------------------


def open_alert(signal: AlertSignal, fp: str, episode: int, now: datetime) -> Alert:
    alert = Alert(
        id=alert_id(fp, episode),
        fingerprint=fp,
        episode=episode,
        rule=signal.rule,
        severity=signal.severity,
        signal_type=signal.signal_type,
        targets=signal.targets,
        labels=dict(signal.labels),
        description=signal.description,
        evidence=dict(signal.evidence),
        audit_ids=signal.audit_ids,
        configuration_items=_configuration_items(signal),
        has_report=signal.report_html is not None,
        fired_at=now,
        last_fired_at=now,
    )
    return _note(alert, now, "opened", detail=signal.severity.value)


def refire(alert: Alert, signal: AlertSignal, now: datetime) -> Alert:
    """The condition still holds: same alert, fresh evidence, one more occurrence, no longer clearing."""
    updated = alert.model_copy(
        update={
            "severity": signal.severity,
            "description": signal.description,
            "evidence": dict(signal.evidence),
            "audit_ids": signal.audit_ids or alert.audit_ids,
            "has_report": alert.has_report or signal.report_html is not None,
            "occurrences": alert.occurrences + 1,
            "last_fired_at": now,
            "cleared_at": None,
        }
    )
    if signal.severity != alert.severity:
        updated = _note(
            updated, now, "severity changed", detail=f"{alert.severity.value} -> {signal.severity.value}"
        )
    if alert.cleared_at is not None:
        updated = _note(updated, now, "fired again while clearing")
    return updated


def resolve_if_due(alert: Alert, now: datetime, policy: Policy) -> Alert:
    """Resolve once the check has passed and the keep-firing period since it last failed is over."""
    if not alert.firing or alert.cleared_at is None:
        return alert
    if now < alert.last_fired_at + policy.keep_firing_for:
        return alert
    return _resolve(alert, now, CLEARED_BY_CHECK, None)


def observe_clear(alert: Alert, now: datetime, policy: Policy) -> Alert:
    """The check passed. Resolve now if keep-firing allows, else remember when clearing began."""
    if not alert.firing:
        return alert
    if alert.cleared_at is None:
        alert = _note(alert.model_copy(update={"cleared_at": now}), now, "check passed")
    return resolve_if_due(alert, now, policy)


def _resolve(alert: Alert, now: datetime, by: str, comment: str | None) -> Alert:
    resolved = alert.model_copy(update={"state": AlertState.RESOLVED, "resolved_at": now, "resolved_by": by})
    return _note(resolved, now, "resolved", by=by, detail=comment)


def resolve_by_hand(alert: Alert, by: str, now: datetime, comment: str | None = None) -> Alert:
    """An engineer closes the alert. Idempotent; if the condition still holds, the next check opens a
    new one."""
    return alert if not alert.firing else _resolve(alert, now, by, comment)


def acknowledge(alert: Alert, by: str, now: datetime, comment: str | None = None) -> Alert:
    """Someone owns it: no more repeats (as PagerDuty's acknowledge); the resolve still goes out."""
    if alert.state is AlertState.RESOLVED:
        raise TransitionError(f"alert {alert.id} is already resolved; nothing to acknowledge")
    if alert.state is AlertState.ACKNOWLEDGED:
        return alert
    acked = alert.model_copy(
        update={"state": AlertState.ACKNOWLEDGED, "acknowledged_at": now, "acknowledged_by": by}
    )
    return _note(acked, now, "acknowledged", by=by, detail=comment)


# -- silences and inhibition --------------------------------------------------------------------------


def silencing(alert: Alert, silences: Iterable[Silence], now: datetime) -> tuple[str, ...]:
    labels = match_labels(alert)
    return tuple(
        sorted(s.id for s in silences if s.active_at(now) and all(m.matches(labels) for m in s.matchers))
    )


def could_be_inhibited(alert: Alert, rules: Sequence[InhibitRule]) -> bool:
    """Cheap pre-check, so the service only loads the other firing alerts when a rule could apply."""
    labels = match_labels(alert)
    return any(all(m.matches(labels) for m in rule.target) for rule in rules)


def inhibiting(alert: Alert, firing: Iterable[Alert], rules: Sequence[InhibitRule]) -> tuple[str, ...]:
    """Ids of firing alerts that mute this one. As in Alertmanager, an alert matching both sides of a
    rule is not muted by another alert that also matches both sides."""
    labels = match_labels(alert)
    sources: set[str] = set()
    for rule in rules:
        if not all(m.matches(labels) for m in rule.target):
            continue
        self_is_source = all(m.matches(labels) for m in rule.source)
        for other in firing:
            if other.id == alert.id or not other.firing:
                continue
            other_labels = match_labels(other)
            if not all(m.matches(other_labels) for m in rule.source):
                continue
            if self_is_source and all(m.matches(other_labels) for m in rule.target):
                continue
            if all(other_labels.get(n, "") == labels.get(n, "") for n in rule.equal):
                sources.add(other.id)
    return tuple(sorted(sources))


def with_suppression(
    alert: Alert, silenced_by: tuple[str, ...], inhibited_by: tuple[str, ...], now: datetime
) -> Alert:
    if (silenced_by, inhibited_by) == (alert.silenced_by, alert.inhibited_by):
        return alert
    updated = alert.model_copy(update={"silenced_by": silenced_by, "inhibited_by": inhibited_by})
    if silenced_by != alert.silenced_by:
        updated = _note(
            updated, now, "silenced" if silenced_by else "silence ended", detail=", ".join(silenced_by)
        )
    if inhibited_by != alert.inhibited_by:
        updated = _note(
            updated, now, "inhibited" if inhibited_by else "inhibition ended", detail=", ".join(inhibited_by)
        )
    return updated


# -- should we notify? --------------------------------------------------------------------------------


def notification_due(alert: Alert, now: datetime, policy: Policy) -> NotifyDecision:
    """Whether this alert needs a notification now, and why (or why not), given its stored suppression."""
    if alert.state is AlertState.RESOLVED:
        if alert.fired_notified and not alert.resolved_notified:
            return NotifyDecision(EventKind.RESOLVED, "resolved after a firing notification")
        reason = (
            "resolve already sent" if alert.resolved_notified else "resolved before any notification went out"
        )
        return NotifyDecision(None, reason)
    if alert.silenced_by:
        return NotifyDecision(None, f"silenced by {', '.join(alert.silenced_by)}")
    if alert.inhibited_by:
        return NotifyDecision(None, f"inhibited by {', '.join(alert.inhibited_by)}")
    if alert.state is AlertState.ACKNOWLEDGED:
        return NotifyDecision(None, f"acknowledged by {alert.acknowledged_by}")
    if not alert.fired_notified:
        return NotifyDecision(EventKind.FIRED, "first notification")
    if alert.notified_severity is not None and alert.severity.rank < alert.notified_severity.rank:
        return NotifyDecision(EventKind.ESCALATED, f"severity raised from {alert.notified_severity.value}")
    next_at = (alert.notified_at or now) + policy.repeat_interval
    if alert.notified_at is None or now >= next_at:
        return NotifyDecision(EventKind.REPEAT, "repeat interval elapsed")
    return NotifyDecision(None, f"within repeat interval (next at {next_at.isoformat()})")


def record_notification(alert: Alert, kind: EventKind, now: datetime, policy: Policy) -> Alert:
    """Mark the alert notified and attach the event (with its document) for the outbox, in one value, so
    the state change and the message to send are written together."""
    seq = alert.notification_seq + 1
    changes: dict[str, Any] = {"notification_seq": seq}
    if kind is EventKind.RESOLVED:
        changes["resolved_notified"] = True
    else:
        changes.update(fired_notified=True, notified_at=now, notified_severity=alert.severity)
    updated = alert.model_copy(update=changes)
    event_id = f"{alert.id}.{seq}"
    document = common_alert(updated, kind, now, event_id, policy.base_url)
    event = NotificationEvent(id=event_id, seq=seq, kind=kind, at=now, document=document)
    updated = updated.model_copy(update={"pending_events": (*alert.pending_events, event)})
    return _note(updated, now, f"notification: {kind.value}", detail=event_id)


def decide(alert: Alert, now: datetime, policy: Policy) -> tuple[Alert, NotifyDecision]:
    decision = notification_due(alert, now, policy)
    if decision.kind is None:
        return alert, decision
    return record_notification(alert, decision.kind, now, policy), decision


def without_events(alert: Alert, event_ids: Iterable[str]) -> Alert:
    done = set(event_ids)
    return alert.model_copy(
        update={"pending_events": tuple(e for e in alert.pending_events if e.id not in done)}
    )


# -- delivery retries ---------------------------------------------------------------------------------


def retry_delay(
    attempts: int, base: timedelta, cap: timedelta, retry_after: float | None = None
) -> timedelta:
    """Exponential backoff after `attempts` failed tries (base, 2*base, 4*base ... up to cap); a
    receiver's Retry-After wins when it asks for longer (bounded to a day)."""
    exponential = min(cap, base * (2 ** max(0, attempts - 1)))
    if retry_after is not None and retry_after > 0:
        return max(exponential, timedelta(seconds=min(retry_after, 86400.0)))
    return exponential


# -- what to put in the audit trail -------------------------------------------------------------------


def transitions(before: Alert | None, after: Alert) -> list[tuple[str, dict[str, Any]]]:
    """The decisions between two versions of an alert, as (decision, details) for the audit trail."""
    base = {"fingerprint": after.fingerprint, "rule": after.rule, "severity": after.severity.value}
    out: list[tuple[str, dict[str, Any]]] = []
    if before is None:
        out.append(("opened", {**base, "labels": after.labels}))
    elif after.occurrences > before.occurrences:
        out.append(("fired-again", {**base, "occurrences": after.occurrences}))
    if before is not None and after.state != before.state:
        who = after.acknowledged_by if after.state is AlertState.ACKNOWLEDGED else after.resolved_by
        out.append((after.state.value, {**base, "by": who}))
    elif before is not None and after.cleared_at and not before.cleared_at:
        out.append(("clearing", {**base, "lastFiredAt": after.last_fired_at.isoformat()}))
    if after.silenced_by != (before.silenced_by if before else ()):
        out.append(
            ("silenced" if after.silenced_by else "unsilenced", {**base, "silences": list(after.silenced_by)})
        )
    if after.inhibited_by != (before.inhibited_by if before else ()):
        out.append(
            ("inhibited" if after.inhibited_by else "uninhibited", {**base, "by": list(after.inhibited_by)})
        )
    known = {e.id for e in before.pending_events} if before else set()
    for event in after.pending_events:
        if event.id not in known and event.seq > (before.notification_seq if before else 0):
            out.append((f"notify-{event.kind.value}", {**base, "eventId": event.id}))
    return out


# -- silences -----------------------------------------------------------------------------------------


def silence_problems(
    matchers: Sequence[Matcher], starts_at: datetime, ends_at: datetime, now: datetime
) -> list[str]:
    """What is wrong with a silence request (empty when nothing is). Like Alertmanager, refuse a silence
    whose matchers would mute every alert, and catch a severity typo that would silently match nothing."""
    problems = []
    if not matchers:
        problems.append("matchers: at least one matcher is required")
    elif all(m.matches({}) for m in matchers):
        problems.append(
            "matchers: they would silence every alert; at least one must not match an empty value"
        )
    severities = {s.value for s in Severity}
    for m in matchers:
        if m.name == "severity" and not m.is_regex and m.value not in severities:
            problems.append(
                f"matchers: severity must be one of {', '.join(sorted(severities))}, got {m.value!r}"
            )
    if ends_at <= starts_at:
        problems.append("endsAt: must be after startsAt")
    elif ends_at <= now:
        problems.append("endsAt: is in the past")
    return problems
