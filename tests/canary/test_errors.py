"""Errors: a one-sided Fisher exact test on 5xx vs requests, with a minimum-request guard and a floor."""

from __future__ import annotations

import numpy as np
import pytest

from monitors.canary import CanaryConfig, RequestWindow, classify_error_counts, classify_shift, judge_interval
from tests.canary.builders import durations, interval


def _window(rng: np.random.Generator, n: int, errors: int) -> RequestWindow:
    return RequestWindow(durations(rng, n), n, errors)


def test_one_percentage_point_more_errors_at_enough_volume_fails() -> None:
    rng = np.random.default_rng(11)
    result = judge_interval(interval(_window(rng, 3_000, 45), _window(rng, 30_000, 150)))  # 1.5% vs 0.5%
    errors = result.metric("errors")
    assert errors.classification == "High"
    assert errors.estimate == pytest.approx(0.01)
    assert errors.p_value < 1e-4 and errors.ci_low > 0
    assert result.outcome == "Fail" and "critical" in result.reason


def test_equal_error_rates_pass() -> None:
    errors = classify_error_counts(15, 3_000, 150, 30_000)
    assert errors.classification == "Pass" and errors.p_value > 0.1


def test_rare_errors_are_caught_by_the_count_test_where_mann_whitney_sees_no_shift() -> None:
    # 8 5xx in 720 canary requests, 2 in each of 4 of its 12 minutes; none in 6,000 baseline requests
    canary_per_minute = [0, 0, 2, 0, 0, 2, 0, 0, 2, 0, 0, 2]
    baseline_per_minute = [0] * 12
    count_test = classify_error_counts(8, 720, 0, 6_000)
    assert count_test.classification == "High"

    by_minute = classify_shift(canary_per_minute, baseline_per_minute, min_samples=10, unit="5xx/min")
    by_request = classify_shift(np.repeat([1.0, 0.0], [8, 712]), np.zeros(6_000), unit="")
    assert by_minute.classification == "Pass" and by_minute.estimate == 0
    assert by_request.classification == "Pass" and by_request.estimate == 0
    assert "CI includes 0" in by_request.reason


def test_too_few_requests_is_nodata_and_the_interval_inconclusive_never_pass() -> None:
    rng = np.random.default_rng(12)
    result = judge_interval(interval(_window(rng, 120, 0), _window(rng, 5_000, 5)))
    errors = result.metric("errors")
    assert errors.classification == "NoData"
    assert "120" in errors.reason and "300" in errors.reason
    assert result.outcome == "Inconclusive"


def test_a_tiny_significant_difference_under_the_floor_passes() -> None:
    errors = classify_error_counts(1_200, 1_000_000, 1_000, 1_000_000)  # 0.12% vs 0.10%
    assert errors.p_value < 0.01
    assert errors.classification == "Pass" and "floor" in errors.reason


def test_fewer_canary_errors_than_the_minimum_never_fail() -> None:
    errors = classify_error_counts(4, 400, 0, 4_000, min_errors=5)  # significant, 1 pp above, but 4 events
    assert errors.p_value < 0.01 and errors.estimate >= 0.003
    assert errors.classification == "Pass" and "too few" in errors.reason
    assert classify_error_counts(5, 400, 0, 4_000, min_errors=5).classification == "High"


def test_a_rise_fails_the_interval_only_through_a_critical_metric_when_the_score_allows_it() -> None:
    rng = np.random.default_rng(13)
    data = interval(_window(rng, 3_000, 45), _window(rng, 30_000, 150))
    lenient = {"fail_score": 0.0}
    critical = judge_interval(data, CanaryConfig(errors_critical=True, **lenient))
    not_critical = judge_interval(data, CanaryConfig(errors_critical=False, **lenient))
    assert critical.outcome == "Fail" and critical.reason.startswith("critical metric failed: errors")
    assert not_critical.outcome == "Marginal" and not_critical.score == 66.67
