"""The lifecycle rules as pure functions: plain values in, plain values out, time passed in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.alerts import lifecycle as lc
from shared.alerts.model import Alert, AlertState, EventKind, InhibitRule, Matcher, Silence
from tests.alerts.conftest import ENDPOINT_ID, START, signal

POLICY = lc.Policy(repeat_interval=timedelta(hours=4), keep_firing_for=timedelta(minutes=10))
ROLLBACK_RULE = InhibitRule(
    source=(Matcher(name="rule", value="rollback.*", is_regex=True),),
    target=(Matcher(name="rule", value=".*latency.*", is_regex=True),),
    equal=("endpoint", "deployment"),
)


def fired(**changes: object) -> Alert:
    """An alert opened at START whose first notification went out."""
    alert = lc.open_alert(signal(**changes), "0123456789abcdef", 1, START)
    return lc.decide(alert, START, POLICY)[0]


def at(minutes: float) -> object:
    return START + timedelta(minutes=minutes)


def test_fingerprint_ignores_label_order_and_target_case() -> None:
    a = lc.fingerprint("latency-p95", [ENDPOINT_ID], {"endpoint": "e", "deployment": "d"})
    b = lc.fingerprint("latency-p95", [ENDPOINT_ID.upper()], {"deployment": "d", "endpoint": "e"})
    assert a == b and len(a) == 16


def test_fingerprint_differs_when_a_label_differs() -> None:
    assert lc.fingerprint("r", ["t"], {"deployment": "blue"}) != lc.fingerprint(
        "r", ["t"], {"deployment": "green"}
    )


def test_first_firing_notifies_as_fired() -> None:
    alert, decision = lc.decide(lc.open_alert(signal(), "0123456789abcdef", 1, START), START, POLICY)
    assert decision.kind is EventKind.FIRED
    assert [e.id for e in alert.pending_events] == ["0123456789abcdef-1.1"]


def test_firing_again_counts_occurrences_and_keeps_the_alert() -> None:
    again = lc.refire(fired(), signal(evidence={"p95_ms": 900}), at(5))
    assert (again.id, again.occurrences, again.evidence) == ("0123456789abcdef-1", 2, {"p95_ms": 900})


def test_firing_again_within_repeat_interval_does_not_notify() -> None:
    _, decision = lc.decide(lc.refire(fired(), signal(), at(60)), at(60), POLICY)
    assert decision.kind is None and "repeat interval" in decision.reason


def test_firing_again_after_repeat_interval_notifies_repeat() -> None:
    alert, decision = lc.decide(lc.refire(fired(), signal(), at(240)), at(240), POLICY)
    assert decision.kind is EventKind.REPEAT and alert.notification_seq == 2


def test_raised_severity_notifies_at_once() -> None:
    _, decision = lc.decide(lc.refire(fired(), signal(severity="Sev0"), at(1)), at(1), POLICY)
    assert decision.kind is EventKind.ESCALATED


def test_acknowledged_alert_gets_no_repeat() -> None:
    acked = lc.acknowledge(fired(), "alice", at(1))
    _, decision = lc.decide(lc.refire(acked, signal(), at(300)), at(300), POLICY)
    assert decision.kind is None and "acknowledged by alice" in decision.reason


def test_acknowledging_a_resolved_alert_is_refused() -> None:
    resolved = lc.resolve_by_hand(fired(), "bob", at(1))
    with pytest.raises(lc.TransitionError, match="already resolved"):
        lc.acknowledge(resolved, "alice", at(2))


def test_clear_within_keep_firing_period_keeps_the_alert_firing() -> None:
    alert = lc.observe_clear(fired(), at(5), POLICY)
    assert alert.state is AlertState.OPEN and alert.cleared_at == at(5)


def test_clear_after_keep_firing_period_resolves() -> None:
    alert = lc.observe_clear(lc.observe_clear(fired(), at(5), POLICY), at(10), POLICY)
    assert alert.state is AlertState.RESOLVED and alert.resolved_by == lc.CLEARED_BY_CHECK


def test_firing_during_keep_firing_period_cancels_the_clearing() -> None:
    flapped = lc.refire(lc.observe_clear(fired(), at(5), POLICY), signal(), at(8))
    assert flapped.cleared_at is None
    assert lc.observe_clear(flapped, at(12), POLICY).state is AlertState.OPEN  # 4 min since the last firing


def test_resolved_alert_that_was_notified_sends_resolved() -> None:
    alert, decision = lc.decide(lc.resolve_by_hand(fired(), "bob", at(3)), at(3), POLICY)
    assert decision.kind is EventKind.RESOLVED
    assert alert.pending_events[-1].document["data"]["essentials"]["monitorCondition"] == "Resolved"


def test_resolved_alert_never_notified_sends_nothing() -> None:
    silent = lc.with_suppression(lc.open_alert(signal(), "0123456789abcdef", 1, START), ("s1",), (), START)
    silent, _ = lc.decide(silent, START, POLICY)
    _, decision = lc.decide(lc.resolve_by_hand(silent, "bob", at(3)), at(3), POLICY)
    assert decision.kind is None and "before any notification" in decision.reason


def _silence(*matchers: Matcher, starts: int = -1, ends: int = 60) -> Silence:
    return Silence(
        id="s1",
        matchers=matchers,
        starts_at=at(starts),
        ends_at=at(ends),
        created_by="alice",
        comment="maintenance",
        created_at=START,
        updated_at=START,
    )


def test_silence_matching_endpoint_mutes_the_alert() -> None:
    alert = fired()
    assert lc.silencing(alert, [_silence(Matcher(name="endpoint", value="churn-prod"))], at(1)) == ("s1",)


def test_silence_matches_rule_by_regex_and_severity() -> None:
    silence = _silence(
        Matcher(name="rule", value="latency-.*", is_regex=True), Matcher(name="severity", value="Sev2")
    )
    assert lc.silencing(fired(), [silence], at(1)) == ("s1",)


def test_negative_matcher_excludes_the_alert() -> None:
    silence = _silence(Matcher(name="deployment", value="green", is_equal=False))
    assert lc.silencing(fired(), [silence], at(1)) == ()


def test_silence_outside_its_window_does_not_mute() -> None:
    silence = _silence(Matcher(name="endpoint", value="churn-prod"), starts=5, ends=10)
    assert lc.silencing(fired(), [silence], at(1)) == () and lc.silencing(fired(), [silence], at(10)) == ()


@pytest.mark.parametrize(("pattern", "value", "hit"), [
    ("latency", "latency-p95", False),  # anchored at both ends, as Alertmanager's ^(?:...)$
    ("latency.*", "latency-p95", True),
    ("a|ab", "ab", True),  # the alternation is inside the anchors
    ("churn-(prod|dev)", "churn-prod", True),
    ("(?i)CHURN-PROD", "churn-prod", True),
    ("x.y", "x\ny", False),  # . does not match a newline (RE2 and Go default)
])
def test_regex_matchers_match_the_whole_value_like_alertmanager(pattern: str, value: str, hit: bool) -> None:
    assert Matcher(name="endpoint", value=pattern, is_regex=True).matches({"endpoint": value}) is hit


def test_a_regex_matcher_is_linear_in_the_length_of_the_value() -> None:
    matcher = Matcher(name="endpoint", value="(x+x+)+y", is_regex=True)
    assert matcher.matches({"endpoint": "x" * 10_000}) is False  # exponential with a backtracking engine


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)a", r"(?<=a)b", r"(?P=n)", r"\Z"])
def test_a_pattern_outside_re2_syntax_is_refused_naming_it(pattern: str) -> None:
    with pytest.raises(ValueError, match="invalid regular expression") as raised:
        Matcher(name="rule", value=pattern, is_regex=True)
    assert pattern in str(raised.value)


def test_a_label_value_with_a_lone_surrogate_is_matched_without_error() -> None:
    matcher = Matcher(name="endpoint", value="churn.*", is_regex=True)
    assert matcher.matches({"endpoint": "churn-\ud800"}) is True


def test_silenced_alert_is_not_notified() -> None:
    alert = lc.with_suppression(lc.open_alert(signal(), "0123456789abcdef", 1, START), ("s1",), (), START)
    assert lc.notification_due(alert, START, POLICY).reason == "silenced by s1"


def _rollback(deployment: str = "green", alert_id_episode: int = 1) -> Alert:
    sig = signal(
        rule="rollback", severity="Sev1", labels={"endpoint": "churn-prod", "deployment": deployment}
    )
    return lc.open_alert(sig, "fedcba9876543210", alert_id_episode, START)


def test_rollback_alert_inhibits_latency_alert_of_the_same_deployment() -> None:
    assert lc.inhibiting(fired(), [_rollback("green")], [ROLLBACK_RULE]) == ("fedcba9876543210-1",)


def test_rollback_of_another_deployment_does_not_inhibit() -> None:
    assert lc.inhibiting(fired(), [_rollback("blue")], [ROLLBACK_RULE]) == ()


def test_resolved_rollback_alert_no_longer_inhibits() -> None:
    done = lc.resolve_by_hand(_rollback(), "bob", at(1))
    assert lc.inhibiting(fired(), [done], [ROLLBACK_RULE]) == ()


def test_alert_matching_both_sides_is_not_inhibited_by_its_peer() -> None:
    both = InhibitRule(
        source=(Matcher(name="endpoint", value="churn-prod"),),
        target=(Matcher(name="endpoint", value="churn-prod"),),
    )
    peer = lc.open_alert(signal(rule="error-rate"), "1111111111111111", 1, START)
    assert lc.inhibiting(fired(), [peer], [both]) == ()


def test_silence_request_that_matches_everything_is_refused() -> None:
    problems = lc.silence_problems(
        [Matcher(name="endpoint", value=".*", is_regex=True)], START, at(60), START
    )
    assert problems and "every alert" in problems[0]


def test_silence_request_with_a_severity_typo_is_refused() -> None:
    problems = lc.silence_problems([Matcher(name="severity", value="sev2")], START, at(60), START)
    assert "severity must be one of" in problems[0]


def test_silence_request_ending_in_the_past_is_refused() -> None:
    assert lc.silence_problems([Matcher(name="endpoint", value="e")], at(-60), at(-1), START) == [
        "endsAt: is in the past"
    ]


def test_retry_delay_grows_exponentially_up_to_the_cap() -> None:
    delays = [lc.retry_delay(n, timedelta(seconds=30), timedelta(minutes=5)) for n in (1, 2, 3, 4, 5, 6)]
    assert [d.total_seconds() for d in delays] == [30, 60, 120, 240, 300, 300]


def test_retry_after_longer_than_backoff_wins() -> None:
    assert (
        lc.retry_delay(1, timedelta(seconds=30), timedelta(minutes=5), retry_after=120).total_seconds() == 120
    )


def test_alert_id_that_is_not_ours_is_rejected_with_the_expected_form() -> None:
    with pytest.raises(ValueError, match="<16 hex digits>-<episode>"):
        lc.parse_alert_id("../../etc/passwd")


def test_transitions_name_each_decision_for_the_audit_trail() -> None:
    before = fired()
    after = lc.decide(lc.resolve_by_hand(before, "bob", at(5)), at(5), POLICY)[0]
    assert [d for d, _ in lc.transitions(before, after)] == ["resolved", "notify-resolved"]
