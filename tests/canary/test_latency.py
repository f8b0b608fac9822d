"""Latency: Mann-Whitney with the Hodges-Lehmann shift and an effect-size gate, and the tail test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from monitors.canary import (
    CanaryConfig,
    MinuteMetrics,
    classify_shift,
    classify_tail,
    hodges_lehmann,
    judge_interval,
)
from tests.canary.builders import durations, interval, requests


def test_healthy_canary_latency_passes() -> None:
    rng = np.random.default_rng(1)
    result = judge_interval(interval(requests(rng, 900), requests(rng, 8_100)))
    assert result.metric("latency").classification == "Pass"
    assert result.metric("latency_p95").classification == "Pass"


def test_a_30_percent_latency_regression_is_high_and_fails_the_interval() -> None:
    rng = np.random.default_rng(2)
    result = judge_interval(interval(requests(rng, 900, scale=1.3), requests(rng, 8_100)))
    latency = result.metric("latency")
    assert latency.classification == "High"
    assert latency.p_value < 0.01 and latency.ci_low > 0
    assert latency.effect_size == pytest.approx(1.3, abs=0.06)
    assert result.outcome == "Fail"


def test_a_significant_shift_below_the_effect_size_gate_passes() -> None:
    rng = np.random.default_rng(3)
    latency = classify_shift(durations(rng, 20_000, scale=1.05), durations(rng, 20_000))
    assert latency.p_value < 1e-6 and latency.ci_low > 0
    assert latency.effect_size < 1.1
    assert latency.classification == "Pass"
    assert "effect-size gate" in latency.reason


def test_a_12_percent_slower_canary_is_significant_but_within_the_default_gate_of_15_percent() -> None:
    rng = np.random.default_rng(8)
    latency = classify_shift(durations(rng, 5_000, scale=1.12), durations(rng, 20_000))
    assert latency.p_value < 1e-6 and 1.1 < latency.effect_size < 1.15
    assert latency.classification == "Pass" and "effect-size gate" in latency.reason


def test_a_shift_whose_interval_nearly_reaches_zero_passes_as_with_kayentas_tolerance() -> None:
    rng = np.random.default_rng(7)
    canary, baseline = durations(rng, 80, scale=1.2), durations(rng, 400)
    strict = classify_shift(canary, baseline, tolerance=0.25, allowed_increase=1.1)
    assert strict.p_value < 0.01 and strict.effect_size >= 1.1
    assert 0 < strict.ci_low < 0.25 * strict.estimate
    assert strict.classification == "Pass" and "0.25 x |shift|" in strict.reason
    assert classify_shift(canary, baseline, tolerance=0.0, allowed_increase=1.1).classification == "High"


def test_a_faster_canary_is_low_only_when_direction_is_either() -> None:
    rng = np.random.default_rng(4)
    fast, base = durations(rng, 900, scale=0.7), durations(rng, 2_000)
    assert classify_shift(fast, base, direction="increase").classification == "Pass"
    assert classify_shift(fast, base, direction="either").classification == "Low"


def test_too_few_durations_is_nodata_not_pass() -> None:
    rng = np.random.default_rng(5)
    latency = classify_shift(durations(rng, 20), durations(rng, 5_000), min_samples=50)
    assert latency.classification == "NoData"
    assert "20" in latency.reason and "50" in latency.reason


def test_hodges_lehmann_estimate_is_the_median_of_pairwise_differences() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.normal(1.0, 1.0, 31), rng.normal(0.0, 1.0, 41)  # 31 x 41 differences: an odd count
    estimate, _, _ = hodges_lehmann(x, y, 0.98)
    assert estimate == pytest.approx(np.median(np.subtract.outer(x, y)), abs=1e-12)


def test_shift_interval_bounds_are_where_scipys_one_sided_test_stops_rejecting() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.normal(1.0, 1.0, 60), rng.normal(0.0, 1.0, 80)
    _, low, high = hodges_lehmann(x, y, 0.98)

    def p(shift: float, alternative: str) -> float:
        return stats.mannwhitneyu(x - shift, y, alternative=alternative, method="asymptotic").pvalue

    eps = 1e-9
    assert p(low - eps, "greater") < 0.01 <= p(low + eps, "greater")
    assert p(high + eps, "less") < 0.01 <= p(high - eps, "less")


def test_a_tail_only_p95_regression_fails_the_tail_test_while_the_rank_test_passes() -> None:
    rng = np.random.default_rng(8)
    tail_sigma = 0.5 + np.log(1.3) / 1.645  # p95 x1.3, same median
    canary, baseline = durations(rng, 1_500, sigma=tail_sigma), durations(rng, 8_000)
    assert classify_shift(canary, baseline).classification == "Pass"
    tail = classify_tail(canary, baseline)
    assert tail.classification == "High"
    assert tail.effect_size >= 1.15 and tail.canary["share_above"] > tail.baseline["share_above"]


def test_the_tail_is_not_judged_below_its_minimum_or_when_turned_off() -> None:
    rng = np.random.default_rng(9)
    data = interval(requests(rng, 300), requests(rng, 3_000))
    assert judge_interval(data).metric("latency_p95").classification == "NoData"
    names = [m.name for m in judge_interval(data, CanaryConfig(tail_quantile=None)).metrics]
    assert names == ["latency", "errors"]


def test_the_per_minute_fallback_fails_a_12_percent_higher_p95_series_at_its_own_gate_of_10_percent() -> None:
    baseline = np.linspace(95.0, 105.0, 90)
    canary = np.linspace(95.0, 105.0, 10) * 1.12

    def side(values: np.ndarray) -> MinuteMetrics:
        return MinuteMetrics(values, [60.0] * values.size, [0.0] * values.size, "P95")

    latency = judge_interval(interval(side(canary), side(baseline))).metric("latency")
    assert latency.effect_size == pytest.approx(1.12) and latency.thresholds["allowed_increase"] == 1.1
    assert latency.classification == "High"
