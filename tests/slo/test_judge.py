"""The SLO judge on hand-made per-minute series: the SRE workbook's multiwindow, multi-burn-rate numbers,
the latency estimate, the minimum-request guard, and the evidence every verdict carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitors.slo import (
    FAST_BURN,
    SLOW_BURN,
    Minute,
    Objectives,
    SloInputError,
    SloPolicy,
    conclusive_requests,
    judge,
    single_error_floor,
)

NOW = datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)  # windows end at 12:00, the minute in progress is left out
END = NOW.replace(second=0)
SLO_999 = Objectives(latency_p95_ms=200.0, error_rate=0.001)  # a 99.9% availability SLO
POLICY = SloPolicy(min_requests=50)


def minutes(count: int, *, ending: int = 0, requests: int = 1000, errors: int = 0,
            p95: float | None = 100.0) -> list[Minute]:
    """`count` minutes ending `ending` minutes before the windows' end, each alike; latency: P95 only."""
    last = END - timedelta(minutes=ending + 1)
    latency = {0.95: p95} if p95 is not None else {}
    return [Minute(last - timedelta(minutes=i), requests, errors, latency) for i in range(count)]


def at(minutes_before_end: int, requests: int, errors: int = 0, **percentiles: float) -> Minute:
    """One minute; percentiles as p50=..., p90=..., p95=..., p99=..."""
    levels = {int(k[1:]) / 100: v for k, v in percentiles.items()}
    return Minute(END - timedelta(minutes=minutes_before_end), requests, errors, levels)


# -- error budget: the workbook's numbers ----------------------------------------------------------------


def test_the_burn_thresholds_spend_two_and_five_percent_of_a_30_day_budget() -> None:
    period = timedelta(days=30)
    assert FAST_BURN.burn_rate * (FAST_BURN.long / period) == pytest.approx(0.02)
    assert SLOW_BURN.burn_rate * (SLOW_BURN.long / period) == pytest.approx(0.05)
    assert (FAST_BURN.long, FAST_BURN.short, FAST_BURN.severity) == (timedelta(hours=1), timedelta(minutes=5), "Sev1")
    assert (SLOW_BURN.long, SLOW_BURN.short, SLOW_BURN.severity) == (timedelta(hours=6), timedelta(minutes=30), "Sev2")


def test_burn_rate_is_the_error_rate_over_the_error_rate_objective() -> None:
    result = judge(minutes(60, errors=20), SLO_999, NOW, POLICY)  # 2% errors against 0.1%
    fast = result.burn("fast_burn")
    assert (fast.long.requests, fast.long.errors) == (60_000, 1200)
    assert fast.long.error_rate == pytest.approx(0.02)
    assert fast.long.burn_rate == pytest.approx(20.0)
    assert fast.budget_spent_in_long_window == pytest.approx(20.0 / 720)


def test_a_burn_above_14_4x_over_one_hour_and_five_minutes_is_a_fast_burn_alert() -> None:
    result = judge(minutes(60, errors=15), SLO_999, NOW, POLICY)  # 1.5% = 15x on both windows
    assert result.burn("fast_burn").status == "alert"
    assert result.status == "alert"


def test_a_burn_just_under_14_4x_is_no_fast_burn_alert() -> None:
    result = judge(minutes(60, errors=14), SLO_999, NOW, POLICY)  # 1.4% = 14x
    assert result.burn("fast_burn").status == "ok"


def test_a_burn_above_6x_over_six_hours_and_thirty_minutes_is_a_slow_burn_alert_only() -> None:
    result = judge(minutes(360, errors=7), SLO_999, NOW, POLICY)  # 0.7% = 7x everywhere
    assert result.burn("slow_burn").status == "alert"
    assert result.burn("fast_burn").status == "ok"


def test_fast_burn_stops_once_the_last_five_minutes_are_clean() -> None:
    burning = minutes(55, ending=5, errors=20)
    clean = minutes(5, errors=0)
    fast = judge(burning + clean, SLO_999, NOW, POLICY).burn("fast_burn")
    assert fast.long.burn_rate == pytest.approx(20.0 * 55 / 60)  # the hour still looks bad
    assert fast.short.burn_rate == 0.0
    assert fast.status == "ok"


def test_a_five_minute_spike_alone_is_no_fast_burn_but_slow_burn_sees_it() -> None:
    quiet = minutes(55, ending=5, errors=0)
    spike = minutes(5, errors=100)  # 10% errors for 5 minutes
    result = judge(quiet + spike, SLO_999, NOW, POLICY)
    fast, slow = result.burn("fast_burn"), result.burn("slow_burn")
    assert fast.short.burn_rate == pytest.approx(100.0)
    assert fast.long.burn_rate == pytest.approx(100.0 * 5 / 60)  # 8.3x: under 14.4x
    assert fast.status == "ok"
    assert slow.long.burn_rate == pytest.approx(100.0 * 5 / 60) and slow.short.burn_rate == pytest.approx(100 / 6)
    assert slow.status == "alert"


def test_errors_older_than_the_longest_window_do_not_count() -> None:
    old = minutes(60, ending=360, errors=500)
    recent = minutes(360, errors=0)
    result = judge(old + recent, SLO_999, NOW, POLICY)
    assert result.burn("slow_burn").long.errors == 0
    assert result.status == "ok"


# -- the minimum-request guard ---------------------------------------------------------------------------


def test_an_idle_deployment_is_insufficient_data_neither_ok_nor_alert() -> None:
    result = judge([], SLO_999, NOW, POLICY)
    assert result.status == "insufficient_data"
    assert result.latency.status == "insufficient_data"
    assert [b.status for b in result.burns] == ["insufficient_data", "insufficient_data"]


def test_too_few_requests_in_the_long_window_is_insufficient_data_even_when_every_request_failed() -> None:
    few = minutes(40, requests=1, errors=1, p95=900.0)  # 40 requests, all 5xx, all slow
    result = judge(few, SLO_999, NOW, POLICY)
    assert result.status == "insufficient_data"
    assert result.burn("fast_burn").long.requests == 40
    assert "fewer than 167" in result.burn("slow_burn").reason


def test_a_long_window_needs_enough_requests_that_one_error_cannot_fire_it() -> None:
    assert single_error_floor(FAST_BURN, 0.001) == 70  # 1/70 = 1.43% <= 1.44%
    assert single_error_floor(SLOW_BURN, 0.001) == 167
    assert single_error_floor(FAST_BURN, 0.01) == 7
    one_error = [*minutes(60, requests=1)[:-1], at(60, 1, 1, p95=100.0)]
    result = judge(one_error, SLO_999, NOW, POLICY)  # 60 requests >= min_requests 50, < 70
    fast = result.burn("fast_burn")
    assert fast.status == "insufficient_data"
    assert (fast.min_requests, fast.single_error_floor) == (70, 70)


def test_a_short_window_without_requests_is_insufficient_data() -> None:
    earlier = minutes(55, ending=5, errors=20)
    fast = judge(earlier, SLO_999, NOW, POLICY).burn("fast_burn")
    assert fast.short.requests == 0
    assert fast.status == "insufficient_data"


def test_one_objective_that_cannot_be_judged_makes_the_deployment_insufficient_data_not_ok() -> None:
    result = judge(minutes(10, requests=10, p95=100.0), SLO_999, NOW, POLICY)  # 100 requests: under slow's 167
    assert (result.latency.status, result.burn("fast_burn").status) == ("ok", "ok")
    assert result.burn("slow_burn").status == "insufficient_data"
    assert result.status == "insufficient_data"


def test_an_alert_outweighs_an_objective_that_cannot_be_judged() -> None:
    result = judge(minutes(10, requests=10, p95=900.0), SLO_999, NOW, POLICY)
    assert result.burn("slow_burn").status == "insufficient_data"
    assert result.status == "alert"


def test_a_small_deployments_short_window_widens_until_it_could_show_the_burn_stopped() -> None:
    assert conclusive_requests(FAST_BURN, 0.001) == 209  # 3 errors expected at the 1.44% threshold
    # 6 requests a minute for an hour, one 5xx every fifth minute except in the last five minutes
    series = [at(i, 6, 1 if i >= 6 and (i - 6) % 5 == 0 else 0, p95=100.0) for i in range(1, 61)]
    fast = judge(series, SLO_999, NOW, POLICY).burn("fast_burn")
    assert fast.short_widened
    assert (fast.short.start, fast.short.requests, fast.short.errors) == (END - timedelta(minutes=35), 210, 6)
    assert fast.short.burn_rate > 14.4 and fast.long.burn_rate > 14.4
    assert fast.status == "alert"  # five error-free minutes of 30 requests prove nothing at a 3% error rate


def test_a_busy_deployment_keeps_the_workbooks_five_minute_short_window() -> None:
    fast = judge(minutes(60, errors=15), SLO_999, NOW, POLICY).burn("fast_burn")
    assert not fast.short_widened
    assert fast.short.start == END - timedelta(minutes=5)


# -- latency ---------------------------------------------------------------------------------------------


def test_a_minute_read_through_its_percentiles_is_slower_than_the_objective_for_the_share_between_them() -> None:
    minute = at(1, 1000, p50=100.0, p90=180.0, p95=220.0, p99=400.0)
    latency = judge([minute], Objectives(200.0, 0.001), NOW, POLICY).latency
    assert latency.share_slower == pytest.approx(0.075)  # 200 ms is halfway from P90 (180) to P95 (220)
    assert latency.observed_p95_ms == pytest.approx(220.0)
    assert latency.status == "alert"


def test_more_than_five_percent_of_requests_slower_than_the_objective_is_a_latency_alert() -> None:
    latency = judge(minutes(10, p95=201.0), SLO_999, NOW, POLICY).latency
    assert latency.share_slower > 0.05
    assert latency.status == "alert"


def test_p95_at_the_objective_meets_it() -> None:
    latency = judge(minutes(10, p95=200.0), SLO_999, NOW, POLICY).latency
    assert latency.share_slower == pytest.approx(0.05)
    assert latency.status == "ok"


def test_above_its_highest_percentile_a_minute_counts_one_minus_that_level_as_slower() -> None:
    fast = at(1, 1000, p50=20.0, p90=40.0, p95=50.0, p99=80.0)
    assert judge([fast], SLO_999, NOW, POLICY).latency.share_slower == pytest.approx(0.01)


def test_the_share_of_slow_requests_pools_over_the_window_by_requests() -> None:
    quick = [at(i, 100, p50=20.0, p90=40.0, p95=50.0, p99=80.0) for i in range(2, 11)]  # 1% slower than 200 ms
    slow = at(1, 100, p50=400.0, p90=600.0, p95=700.0, p99=900.0)  # 75% slower: 200 ms is half its P50
    latency = judge([*quick, slow], SLO_999, NOW, POLICY).latency
    assert latency.share_slower == pytest.approx((9 * 0.01 + 0.75) / 10)
    assert latency.status == "alert"
    small_slow = at(1, 10, p50=400.0, p90=600.0, p95=700.0, p99=900.0)  # the same minute with 10 requests
    assert judge([*quick, small_slow], SLO_999, NOW, POLICY).latency.status == "ok"


def test_latency_looks_at_the_last_ten_complete_minutes_only() -> None:
    slow_before = minutes(5, ending=10, p95=5000.0)
    fast_now = minutes(10, p95=50.0)
    in_progress = [at(0, 1000, p95=5000.0)]  # the minute `now` is in
    latency = judge(slow_before + fast_now + in_progress, SLO_999, NOW, POLICY).latency
    assert latency.observed_p95_ms == pytest.approx(50.0)
    assert (latency.window_start, latency.window_end) == (END - timedelta(minutes=10), END)


def test_minutes_without_a_latency_value_do_not_weigh_in() -> None:
    window = minutes(5, p95=100.0) + minutes(5, ending=5, p95=None)
    latency = judge(window, SLO_999, NOW, POLICY).latency
    assert latency.observed_p95_ms == pytest.approx(100.0)
    assert (latency.requests, latency.minutes_with_value) == (5000, 5)


def test_percentiles_that_cross_are_read_as_non_decreasing() -> None:
    crossed = at(1, 1000, p50=100.0, p90=300.0, p95=250.0, p99=400.0)  # P95 and P90 aggregated apart
    assert judge([crossed], SLO_999, NOW, POLICY).latency.observed_p95_ms == pytest.approx(300.0)


def test_too_few_requests_in_the_latency_window_is_insufficient_data() -> None:
    latency = judge(minutes(10, requests=4, p95=900.0), SLO_999, NOW, POLICY).latency
    assert latency.status == "insufficient_data"
    assert latency.requests == 40


# -- input and evidence ----------------------------------------------------------------------------------


def test_more_errors_than_requests_is_refused_naming_the_minute() -> None:
    with pytest.raises(SloInputError, match=r"11:59.*3 errors but only 2 requests"):
        judge([at(1, 2, 3, p95=10.0)], SLO_999, NOW, POLICY)


def test_a_minute_given_twice_is_refused() -> None:
    twice = [at(1, 2, 0, p95=10.0)] * 2
    with pytest.raises(SloInputError, match="twice"):
        judge(twice, SLO_999, NOW, POLICY)


def test_an_error_rate_objective_outside_zero_and_one_is_refused() -> None:
    with pytest.raises(SloInputError, match="fraction"):
        Objectives(latency_p95_ms=100.0, error_rate=99.9)


def test_the_verdict_carries_every_number_it_was_decided_from() -> None:
    objectives = Objectives(200.0, 0.001, {"latency_p95_ms": "tag modelwatch.slo.latency_p95_ms",
                                           "error_rate": "setting MODELWATCH_SLO_ERROR_RATE"})
    verdict = judge(minutes(60, errors=15, p95=250.0), objectives, NOW, POLICY).verdict(
        "credit-ep", "green", {"model": "credit", "model_version": "2"})
    e = verdict.evidence
    assert (verdict.check, verdict.status) == ("slo", "alert")
    assert (verdict.endpoint, verdict.deployment) == ("credit-ep", "green")
    assert (e["model"], e["model_version"]) == ("credit", "2")
    assert e["objectives"] == {"latency_p95_ms": 200.0, "error_rate": 0.001, "sources": dict(objectives.sources)}
    assert e["latency"]["observed_p95_ms"] == 250.0 and e["latency"]["objective_ms"] == 200.0
    assert e["latency"]["window"]["minutes"] == 10 and e["latency"]["requests"] == 10_000
    fast = e["error_budget"]["fast_burn"]
    assert fast["burn_rate_threshold"] == 14.4 and fast["threshold_error_rate"] == pytest.approx(0.0144)
    assert fast["long_window"]["minutes"] == 60 and fast["long_window"]["requests"] == 60_000
    assert fast["long_window"]["errors"] == 900 and fast["long_window"]["burn_rate"] == pytest.approx(15.0)
    assert fast["short_window"]["minutes"] == 5 and fast["severity"] == "Sev1"
    assert e["error_budget"]["slow_burn"]["burn_rate_threshold"] == 6.0
    assert e["policy"]["min_requests"] == 50 and e["policy"]["budget_period_days"] == 30
    assert "5xx" in e["conventions"]["errors"]
    assert "p95 250 ms" in verdict.summary and "14.4x" in verdict.summary
