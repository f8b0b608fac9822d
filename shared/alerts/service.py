"""The alert service: the entry point checks and HTTP handlers call. It runs the lifecycle decisions
(lifecycle.py) against stored state (repository.py) and hands notifications to the outbox (outbox.py).

Every state change is a read-decide-write with an ETag condition, retried on a lost race, so two workers
firing the same fingerprint make one alert. The notification decided with a change is written inside the
alert record in the same write, then copied to the outbox: a crash in between is repaired by `tick()`.
Every decision goes to the audit trail.

This module must never format a payload, talk HTTP, or import an Azure SDK.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared import telemetry
from shared.alerts import lifecycle as lc
from shared.alerts.audit import AuditTrail
from shared.alerts.errors import AlertNotFound, Conflict, InvalidSilence, SilenceNotFound
from shared.alerts.model import (
    Alert,
    AlertSignal,
    AlertState,
    EventKind,
    InhibitRule,
    Matcher,
    Notification,
    Severity,
    SignalType,
    Silence,
)
from shared.alerts.outbox import DEAD, DELIVERED, DeliveryPolicy, DeliveryReport, OutboxRelay
from shared.alerts.schema import common_alert
from shared.alerts.settings import AlertSettings
from shared.alerts.sinks.base import Notifier

if TYPE_CHECKING:
    from shared.alerts.repository import AlertRepository, Versioned

log = logging.getLogger(__name__)

MAX_RACE_RETRIES = 20
ORPHAN_MARKER_GRACE = timedelta(minutes=10)
DELIVERY_RULE = "modelwatch-alert-delivery-failed"
TEST_RULE = "modelwatch-test-notification"


@dataclass(frozen=True)
class FireResult:
    alert: Alert
    created: bool
    notification: EventKind | None
    reason: str
    deliveries: list[DeliveryReport] = field(default_factory=list)


@dataclass(frozen=True)
class TickReport:
    resolved: list[str] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    deliveries: list[DeliveryReport] = field(default_factory=list)


@dataclass(frozen=True)
class TestResult:
    notification_id: str
    deliveries: list[DeliveryReport]


class AlertService:
    def __init__(
        self,
        repo: AlertRepository,
        sinks: Sequence[Notifier],
        clock: Callable[[], datetime],
        settings: AlertSettings,
        audit: AuditTrail,
        self_resource_id: str = "modelwatch",
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.settings = settings
        self.audit = audit
        self.self_resource_id = self_resource_id
        self.policy = lc.Policy(
            repeat_interval=settings.repeat_interval,
            keep_firing_for=settings.keep_firing_for,
            inhibit_rules=tuple(InhibitRule.model_validate(r) for r in settings.inhibit_rules),
            base_url=settings.public_base_url,
        )
        delivery = DeliveryPolicy(settings.max_attempts, settings.backoff, settings.backoff_max)
        self.relay = OutboxRelay(
            repo, {s.name: s for s in sinks}, clock, delivery, audit, settings.redactor()
        )

    # -- what checks call ----------------------------------------------------------------------------

    def fire(self, signal: AlertSignal, *, dispatch: bool | None = None) -> FireResult:
        """The check's condition holds: open the fingerprint's alert or update it; notify if due."""
        fp = lc.fingerprint(signal.rule, signal.targets, signal.labels)
        silences = self._silences()
        for _ in range(MAX_RACE_RETRIES):
            now = self.clock()
            current = self.repo.latest_episode(fp)
            before = current.value if current is not None and current.value.firing else None
            if before is not None:
                after = lc.refire(before, signal, now)
            else:  # first time, or the last episode resolved: a new alert (as PagerDuty opens a new incident)
                after = lc.open_alert(signal, fp, current.value.episode + 1 if current else 1, now)
            after = self._suppress(after, now, silences, self._inhibitors(after))
            after, decision = lc.decide(after, now, self.policy)
            if signal.report_html is not None:
                self.repo.put_report(after.id, signal.report_html)
            try:
                if current is not None and before is not None:
                    stored = self.repo.replace_alert(after, current.etag)
                else:
                    self.repo.mark_active(after)  # before the record: markers cover every firing alert
                    stored = self.repo.create_alert(after)
            except Conflict:
                continue
            self._audit(before, after, decision.reason)
            if before is None:
                telemetry.count("modelwatch.alerts.fired", rule=after.rule, severity=after.severity.value)
            deliveries = self._flush(stored, dispatch)
            return FireResult(after, before is None, decision.kind, decision.reason, deliveries)
        raise RuntimeError(f"alert {fp}: gave up after {MAX_RACE_RETRIES} concurrent-update retries")

    def clear(
        self,
        rule: str,
        targets: str | Iterable[str],
        labels: Mapping[str, str] | None = None,
        *,
        dispatch: bool | None = None,
    ) -> Alert | None:
        """The check passed. Resolves the open alert once keep-firing allows; None if nothing was open."""
        target_list = [targets] if isinstance(targets, str) else list(targets)
        current = self.repo.latest_episode(lc.fingerprint(rule, target_list, dict(labels or {})))
        if current is None or not current.value.firing:
            return None
        stored = self._update(
            current.value.id,
            lambda a, now: lc.decide(lc.observe_clear(a, now, self.policy), now, self.policy),
        )
        if stored.value.state is AlertState.RESOLVED:
            telemetry.count("modelwatch.alerts.resolved", rule=stored.value.rule)
        self._flush(stored, dispatch)
        return stored.value

    def observe(self, signal: AlertSignal, firing: bool) -> Alert | None:
        """Convenience for a check that evaluates and reports either way."""
        if firing:
            return self.fire(signal).alert
        return self.clear(signal.rule, signal.targets, signal.labels)

    # -- what on-call engineers call -----------------------------------------------------------------

    def get(self, alert_id: str) -> Alert:
        lc.parse_alert_id(alert_id)
        found = self.repo.get_alert(alert_id)
        if found is None:
            raise AlertNotFound(f"no alert with id {alert_id!r}")
        return found.value

    def list_alerts(
        self,
        states: Iterable[AlertState] | None = None,
        severity: Severity | None = None,
        endpoint: str | None = None,
    ) -> list[Alert]:
        """Firing alerts come from the active markers; resolved ones need the full listing."""
        wanted = set(states) if states is not None else set(AlertState)
        if AlertState.RESOLVED in wanted:
            ids = [
                e.id
                for e in self.repo.alert_index()
                if e.state in wanted and (endpoint is None or e.labels.get("endpoint") == endpoint)
            ]
        else:
            ids = [
                e.id
                for e in self.repo.active_index()
                if endpoint is None or e.labels.get("endpoint") == endpoint
            ]
        alerts = [v.value for v in self.repo.load_alerts(ids)]
        alerts = [a for a in alerts if a.state in wanted and (severity is None or a.severity == severity)]
        order = {AlertState.OPEN: 0, AlertState.ACKNOWLEDGED: 1, AlertState.RESOLVED: 2}
        return sorted(alerts, key=lambda a: (order[a.state], a.severity.rank, -a.last_fired_at.timestamp()))

    def acknowledge(self, alert_id: str, by: str, comment: str | None = None) -> Alert:
        self.get(alert_id)
        return self._update(alert_id, lambda a, now: (lc.acknowledge(a, by, now, comment), None)).value

    def resolve(self, alert_id: str, by: str, comment: str | None = None) -> Alert:
        self.get(alert_id)
        stored = self._update(
            alert_id, lambda a, now: lc.decide(lc.resolve_by_hand(a, by, now, comment), now, self.policy)
        )
        if stored.value.state is AlertState.RESOLVED:
            telemetry.count("modelwatch.alerts.resolved", rule=stored.value.rule)
        self._flush(stored, None)
        return stored.value

    def report(self, alert_id: str) -> str:
        alert = self.get(alert_id)
        html = self.repo.get_report(alert_id) if alert.has_report else None
        if html is None:
            raise AlertNotFound(f"alert {alert_id} has no report")
        return html

    # -- silences ------------------------------------------------------------------------------------

    def create_silence(
        self,
        matchers: Sequence[Matcher],
        ends_at: datetime,
        created_by: str,
        comment: str,
        starts_at: datetime | None = None,
    ) -> Silence:
        now = self.clock()
        start = starts_at or now
        problems = lc.silence_problems(matchers, start, ends_at, now)
        if problems:
            raise InvalidSilence("; ".join(problems))
        silence = Silence(
            id=str(uuid.uuid4()),
            matchers=tuple(matchers),
            starts_at=start,
            ends_at=ends_at,
            created_by=created_by,
            comment=comment,
            created_at=now,
            updated_at=now,
        )
        self.repo.create_silence(silence)
        self.audit.append("silence", silence.id, "created", silence.to_dict())
        return silence

    def list_silences(self, state: str = "all", unreadable: list[dict[str, str]] | None = None) -> list[Silence]:
        now = self.clock()
        found = self.repo.list_silences(unreadable=unreadable)
        chosen = [s for s in found if state == "all" or s.state_at(now) == state]
        return sorted(chosen, key=lambda s: s.ends_at, reverse=True)

    def expire_silence(self, silence_id: str, by: str) -> Silence:
        """Alertmanager's DELETE: the silence ends now; its record stays."""
        for _ in range(MAX_RACE_RETRIES):
            found = self.repo.get_silence(silence_id)
            if found is None:
                raise SilenceNotFound(f"no silence with id {silence_id!r}")
            now = self.clock()
            silence = found.value
            if silence.state_at(now) == "expired":
                return silence
            ended = silence.model_copy(
                update={
                    "starts_at": min(silence.starts_at, now),
                    "ends_at": now,
                    "updated_at": now,
                    "expired_by": by,
                }
            )
            try:
                self.repo.replace_silence(ended, found.etag)
            except Conflict:
                continue
            self.audit.append("silence", silence_id, "expired", {"by": by})
            return ended
        raise RuntimeError(
            f"silence {silence_id}: gave up after {MAX_RACE_RETRIES} concurrent-update retries"
        )

    # -- the timer -----------------------------------------------------------------------------------

    def tick(self) -> TickReport:
        """Timer work: finish interrupted outbox copies, resolve alerts whose keep-firing ran out,
        re-notify per repeat interval (or once a silence or inhibition ended), then drain the outbox."""
        work = self._active_alerts()
        silences = self._silences()
        firing = [a for a in work if a.firing]
        resolved, notified = [], []
        for alert in work:
            stored = self._update(
                alert.id,
                lambda a, now: lc.decide(
                    self._suppress(lc.resolve_if_due(a, now, self.policy), now, silences, firing),
                    now,
                    self.policy,
                ),
            )
            if stored.value.state is AlertState.RESOLVED and alert.firing:
                resolved.append(alert.id)
                telemetry.count("modelwatch.alerts.resolved", rule=alert.rule)
            if stored.value.notification_seq > alert.notification_seq:
                notified.append(alert.id)
            self._flush(stored, dispatch=False)
        deliveries = self.relay.deliver_due()
        self._watch_delivery_health(deliveries)
        if telemetry.enabled():  # listing the outbox costs a storage call: only when someone watches
            telemetry.gauge("modelwatch.outbox.backlog", len(self.repo.pending_index()))
        return TickReport(resolved, notified, deliveries)

    def send_test(self, requested_by: str) -> TestResult:
        """A test notification through every configured sink, now, as `az monitor action-group
        test-notifications` does. It opens no alert; failed sinks retry through the outbox as usual."""
        now = self.clock()
        test_id = f"test-{uuid.uuid4().hex[:16]}"
        sinks = list(self.relay.sinks)
        alert = Alert(
            id=test_id,
            fingerprint=test_id,
            episode=1,
            rule=TEST_RULE,
            severity=Severity.SEV4,
            signal_type=SignalType.LOG,
            targets=(self.self_resource_id,),
            labels={"test": "true"},
            description=f"Test notification requested by {requested_by}. No action needed.",
            evidence={"requestedBy": requested_by, "sinks": sinks},
            configuration_items=("modelwatch",),
            fired_at=now,
            last_fired_at=now,
        )
        event_id = f"{test_id}.1"
        document = common_alert(alert, EventKind.TEST, now, event_id, self.policy.base_url)
        note = Notification(
            event_id=event_id, kind=EventKind.TEST, fingerprint=test_id, alert_id=test_id, document=document
        )
        ids = self.relay.enqueue(note, 1)
        deliveries = self.relay.deliver_due(only=set(ids))
        self.audit.append(
            "alert-test", test_id, "sent", {"by": requested_by, "results": [d.to_dict() for d in deliveries]}
        )
        return TestResult(test_id, deliveries)

    # -- internals -----------------------------------------------------------------------------------

    def _silences(self) -> list[Silence]:
        return self.repo.list_silences(ending_after=self.clock())

    def _active_alerts(self) -> list[Alert]:
        """Every alert behind an active marker; a marker whose record never got written (a crash
        between the two writes) is dropped after a grace period."""
        entries = self.repo.active_index()
        found = {v.value.id: v.value for v in self.repo.load_alerts(e.id for e in entries)}
        for entry in entries:
            if entry.id not in found and self.clock() - entry.since > ORPHAN_MARKER_GRACE:
                self.repo.unmark_active(entry.id)
        return list(found.values())

    def _inhibitors(self, alert: Alert) -> list[Alert]:
        """The firing alerts that could mute this one; loaded only when some rule targets it, and then
        only those whose rule and labels match a rule's source."""
        if not lc.could_be_inhibited(alert, self.policy.inhibit_rules):
            return []
        candidates = []
        for entry in self.repo.active_index():
            labels = {"rule": entry.rule, "alertname": entry.rule, **entry.labels}
            if entry.id != alert.id and any(
                all(m.matches(labels) for m in r.source if m.name in labels)
                for r in self.policy.inhibit_rules
            ):
                candidates.append(entry.id)
        return [v.value for v in self.repo.load_alerts(candidates)]

    def _suppress(self, alert: Alert, now: datetime, silences: list[Silence], firing: list[Alert]) -> Alert:
        if not alert.firing:
            return alert
        return lc.with_suppression(
            alert,
            lc.silencing(alert, silences, now),
            lc.inhibiting(alert, firing, self.policy.inhibit_rules),
            now,
        )

    def _update(
        self, alert_id: str, change: Callable[[Alert, datetime], tuple[Alert, Any]]
    ) -> Versioned[Alert]:
        """Read, decide, write with If-Match; on a lost race read again and decide again."""
        for _ in range(MAX_RACE_RETRIES):
            current = self.repo.get_alert(alert_id)
            if current is None:
                raise AlertNotFound(f"no alert with id {alert_id!r}")
            after, decision = change(current.value, self.clock())
            if after == current.value:
                return current
            try:
                stored = self.repo.replace_alert(after, current.etag)
            except Conflict:
                continue
            self._audit(current.value, after, decision.reason if decision is not None else None)
            return stored
        raise RuntimeError(f"alert {alert_id}: gave up after {MAX_RACE_RETRIES} concurrent-update retries")

    def _audit(self, before: Alert | None, after: Alert, reason: str | None) -> None:
        """Each transition as one audit record; an (re)fire also says why it did or did not notify."""
        for decision, details in lc.transitions(before, after):
            if decision in ("opened", "fired-again") and reason:
                details = {**details, "notification": reason}
            self.audit.append("alert", after.id, decision, details)

    def _flush(self, stored: Versioned[Alert], dispatch: bool | None) -> list[DeliveryReport]:
        """Copy the alert's pending events into the outbox, then drop them from the record. Safe to
        repeat: outbox ids are deterministic and a finished delivery is never re-sent."""
        alert = stored.value
        if not alert.pending_events:
            if not alert.firing:
                self.repo.unmark_active(alert.id)
            return []
        ids: list[str] = []
        for event in alert.pending_events:
            note = Notification(
                event_id=event.id,
                kind=event.kind,
                fingerprint=alert.fingerprint,
                alert_id=alert.id,
                document=event.document,
            )
            ids += self.relay.enqueue(note, event.seq)
        flushed = [e.id for e in alert.pending_events]
        self._update(alert.id, lambda a, now: (lc.without_events(a, flushed), None))
        if not alert.firing:
            self.repo.unmark_active(alert.id)  # only now: until flushed, the timer must still find it
        if not (dispatch if dispatch is not None else self.settings.deliver_inline):
            return []
        deliveries = self.relay.deliver_due(only=set(ids))
        self._watch_delivery_health(deliveries, clear_recovered=False)
        return deliveries

    def _watch_delivery_health(self, deliveries: list[DeliveryReport], clear_recovered: bool = True) -> None:
        """Alert on the alerting path itself: a dead letter fires a Sev1 per sink (which reaches the
        other sinks); a later successful delivery to that sink clears it."""
        dead = {d.sink for d in deliveries if d.outcome == DEAD}
        for delivery in deliveries:
            if delivery.outcome == DEAD:
                telemetry.count("modelwatch.outbox.dead_letters", sink=delivery.sink)
        for sink in sorted(dead):
            errors = [d.error for d in deliveries if d.sink == sink and d.outcome == DEAD]
            self.fire(
                AlertSignal(
                    rule=DELIVERY_RULE,
                    severity=Severity.SEV1,
                    signal_type=SignalType.LOG,
                    targets=(self.self_resource_id,),
                    labels={"sink": sink},
                    description=f"Notifications to the {sink} sink are failing and were dead-lettered; "
                    "see deadletter/ in the state container.",
                    evidence={
                        "deadLettered": [
                            d.delivery_id for d in deliveries if d.sink == sink and d.outcome == DEAD
                        ],
                        "lastError": errors[-1] if errors else None,
                    },
                ),
                dispatch=False,
            )
        recovered = (
            {d.sink for d in deliveries if d.outcome == DELIVERED} - dead if clear_recovered else set()
        )
        for sink in sorted(recovered):
            self.clear(DELIVERY_RULE, self.self_resource_id, {"sink": sink}, dispatch=False)
