"""One interval: the score, critical metrics, no data, the two sources, bad input."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from monitors.canary import CanaryConfig, CanaryInputError, MinuteMetrics, RequestWindow, judge_interval
from tests.canary.builders import T0, interval, minutes, requests


def test_empty_data_is_inconclusive_with_the_reason() -> None:
    result = judge_interval(interval(RequestWindow(), RequestWindow()))
    assert result.outcome == "Inconclusive" and result.score is None
    assert {m.classification for m in result.metrics} == {"NoData"}
    assert "no data for 3 of 3 metrics" in result.reason
    assert "canary has 0" in result.reason and "too few requests: canary 0" in result.reason


def test_a_healthy_interval_with_enough_data_passes_with_full_score() -> None:
    rng = np.random.default_rng(21)
    result = judge_interval(interval(requests(rng, 900), requests(rng, 8_100)))
    assert result.outcome == "Pass" and result.score == 100


def test_a_critical_metric_failing_fails_the_interval_whatever_the_score() -> None:
    rng = np.random.default_rng(22)
    data = interval(requests(rng, 900, scale=1.5), requests(rng, 8_100))
    lenient = CanaryConfig(fail_score=0.0, pass_score=0.0)  # the score alone would pass anything
    assert judge_interval(data, lenient).outcome == "Pass"
    critical = judge_interval(data, CanaryConfig(fail_score=0.0, pass_score=0.0, latency_critical=True))
    assert critical.outcome == "Fail" and "critical metric failed: latency High" in critical.reason


def test_a_failed_metric_with_others_missing_still_fails() -> None:
    rng = np.random.default_rng(23)
    data = interval(requests(rng, 200, scale=1.5), requests(rng, 2_000))  # too few for errors and the tail
    result = judge_interval(data)
    assert result.metric("errors").classification == "NoData"
    assert result.outcome == "Fail" and result.score == 0


def test_the_metrics_fallback_is_labelled_and_judges_the_percentile_series() -> None:
    rng = np.random.default_rng(24)
    data = interval(minutes(rng, 60, 15, scale=1.5), minutes(rng, 540, 15))
    result = judge_interval(data)
    assert result.source == "metrics"
    assert [m.name for m in result.metrics] == ["latency", "errors"]
    latency = result.metric("latency")
    assert latency.source == "metrics" and latency.data == "per-minute P95 latency (ms)"
    assert latency.n_canary == 15 and latency.classification == "High"
    assert result.metric("errors").n_canary == 900  # per-minute counts summed
    assert result.canary.minute_latency_ms == tuple(data.canary.latency_ms)


def test_missing_minutes_are_dropped_and_too_few_minutes_is_nodata() -> None:
    canary = MinuteMetrics([120.0, float("nan"), 130.0], [60, 60, 60], [0, 0, 0])
    baseline = MinuteMetrics([100.0, 101.0, 99.0], [540, 540, 540], [1, 0, 0])
    latency = judge_interval(interval(canary, baseline)).metric("latency")
    assert latency.classification == "NoData" and latency.n_canary == 2


@pytest.mark.parametrize(
    ("canary", "baseline", "message"),
    [
        (RequestWindow([1.0], 1, 2), RequestWindow(), "errors <= requests"),
        (RequestWindow(), MinuteMetrics(), "must both be RequestWindow or both MinuteMetrics"),
        (MinuteMetrics([1.0], [-5], [0]), MinuteMetrics(), "counts >= 0"),
    ],
)
def test_unreadable_input_says_what_was_expected(canary, baseline, message) -> None:
    with pytest.raises(CanaryInputError, match=message):
        judge_interval(interval(canary, baseline))


def test_an_interval_must_end_after_it_starts() -> None:
    data = interval(RequestWindow(), RequestWindow())
    backwards = type(data)(T0, T0 - timedelta(minutes=1), data.canary, data.baseline)
    with pytest.raises(CanaryInputError, match="start < end"):
        judge_interval(backwards)


def test_a_config_out_of_range_is_refused() -> None:
    with pytest.raises(CanaryInputError, match="alpha"):
        CanaryConfig(alpha=0.7)
    with pytest.raises(CanaryInputError, match="fail_score <= pass_score"):
        CanaryConfig(fail_score=90, pass_score=80)
