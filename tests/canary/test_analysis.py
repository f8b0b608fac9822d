"""An analysis over intervals: early fail, the last interval decides, no data ends Inconclusive."""

from __future__ import annotations

import json

import numpy as np
import pytest

from monitors.canary import CanaryConfig, CanaryInputError, RequestWindow, judge_analysis
from tests.canary.builders import interval, minutes, requests

THREE = CanaryConfig(lifetime_intervals=3)  # a lifetime of three intervals, where a test needs it to end


def _healthy(rng: np.random.Generator, k: int):
    return interval(requests(rng, 300), requests(rng, 2_700), k)


def _slow(rng: np.random.Generator, k: int, scale: float = 1.5):
    return interval(requests(rng, 300, scale=scale), requests(rng, 2_700), k)


def test_a_healthy_canary_passes_after_its_lifetime() -> None:
    rng = np.random.default_rng(31)
    verdict = judge_analysis([_healthy(rng, k) for k in range(3)], THREE)
    assert verdict.outcome == "Pass" and verdict.finished and verdict.decided_by == 2
    assert [r.outcome for r in verdict.intervals][-1] == "Pass"


def test_a_clearly_bad_first_interval_fails_the_analysis_at_once() -> None:
    rng = np.random.default_rng(32)
    verdict = judge_analysis([_slow(rng, 0), _healthy(rng, 1), _healthy(rng, 2)])
    assert verdict.outcome == "Fail" and verdict.finished and verdict.decided_by == 0
    assert len(verdict.intervals) == 1  # later intervals are not judged
    assert verdict.reason.startswith("interval 1 failed")


def test_before_the_lifetime_ends_a_clean_analysis_is_unfinished_and_inconclusive() -> None:
    rng = np.random.default_rng(33)
    verdict = judge_analysis([_healthy(rng, 0), _healthy(rng, 1)])
    assert verdict.outcome == "Inconclusive" and not verdict.finished and verdict.decided_by is None
    assert "2 of 6 intervals" in verdict.reason


# one metric of two fails: a score of 50
MARGINAL = CanaryConfig(window="interval", fail_score=50.0, tail_quantile=None, lifetime_intervals=3)


def _big(rng: np.random.Generator, k: int, scale: float = 1.0):
    return interval(requests(rng, 900, scale=scale), requests(rng, 8_100), k)


def test_the_last_interval_must_pass_a_marginal_last_interval_fails() -> None:
    rng = np.random.default_rng(34)
    verdict = judge_analysis([_big(rng, 0), _big(rng, 1), _big(rng, 2, scale=1.3)], MARGINAL)
    assert [r.outcome for r in verdict.intervals] == ["Pass", "Pass", "Marginal"]
    assert verdict.outcome == "Fail" and "the last interval must pass" in verdict.reason


def test_a_marginal_interval_before_the_last_does_not_fail_the_analysis() -> None:
    rng = np.random.default_rng(35)
    verdict = judge_analysis([_big(rng, 0, scale=1.3), _big(rng, 1), _big(rng, 2)], MARGINAL)
    assert [r.outcome for r in verdict.intervals] == ["Marginal", "Pass", "Pass"]
    assert verdict.outcome == "Pass"


def test_a_lifetime_that_ends_without_enough_data_is_inconclusive() -> None:
    rng = np.random.default_rng(36)
    trickle = [interval(requests(rng, 10), requests(rng, 100), k) for k in range(3)]
    verdict = judge_analysis(trickle, THREE)
    assert verdict.outcome == "Inconclusive" and verdict.finished
    assert verdict.reason.startswith("the lifetime ended inconclusive: no data for")


def test_the_growing_window_accumulates_a_low_traffic_canary_until_it_can_be_judged() -> None:
    rng = np.random.default_rng(37)
    intervals = [interval(requests(rng, 200), requests(rng, 1_800), k) for k in range(3)]
    growing = judge_analysis(intervals, THREE)
    assert [r.metric("errors").n_canary for r in growing.intervals] == [200, 400, 600]
    assert [r.canary.requests for r in growing.intervals] == [200, 200, 200]  # the series stay per interval
    assert growing.outcome == "Pass"
    alone = judge_analysis(intervals, CanaryConfig(window="interval", lifetime_intervals=3))
    assert alone.outcome == "Inconclusive"


def test_the_verdict_names_its_source_and_serialises_every_number_to_json() -> None:
    rng = np.random.default_rng(38)
    verdict = judge_analysis([interval(minutes(rng, 60), minutes(rng, 540), k) for k in range(3)])
    assert verdict.source == "metrics"
    data = json.loads(json.dumps(verdict.to_dict(), allow_nan=False))
    assert data["source"] == "metrics" and data["config"]["alpha"] == 0.01
    metric = data["intervals"][-1]["metrics"][0]
    for key in ("n_canary", "n_baseline", "statistic", "p_value", "ci_low", "ci_high", "effect_size", "thresholds"):
        assert key in metric
    assert data["rule"] and data["intervals"][0]["start"] == "2026-11-30T12:00:00+00:00"


def test_an_analysis_needs_one_source_and_intervals_in_order() -> None:
    rng = np.random.default_rng(39)
    with pytest.raises(CanaryInputError, match="one source"):
        judge_analysis([_healthy(rng, 0), interval(minutes(rng, 60), minutes(rng, 540), 1)])
    with pytest.raises(CanaryInputError, match="start at or after"):
        judge_analysis([_healthy(rng, 1), _healthy(rng, 0)])
    with pytest.raises(CanaryInputError, match="at least one interval"):
        judge_analysis([])


def test_no_data_from_the_canary_at_all_is_never_a_pass() -> None:
    rng = np.random.default_rng(40)
    verdict = judge_analysis([interval(RequestWindow(), requests(rng, 2_700), k) for k in range(3)], THREE)
    assert verdict.outcome == "Inconclusive"
    assert all(r.outcome == "Inconclusive" for r in verdict.intervals)


def _borderline_5xx(rng: np.random.Generator, k: int):
    """5 canary 5xx in 900 requests against 8 in 8,100: Fisher p 0.0064, between 0.001 and 0.01."""
    canary, baseline = requests(rng, 900, error_rate=0.0), requests(rng, 8_100, error_rate=0.0)
    return interval(RequestWindow(canary.durations_ms, 900, 5), RequestWindow(baseline.durations_ms, 8_100, 8), k)


ALONE = CanaryConfig(window="interval", lifetime_intervals=4)  # each interval on its own data; late half: 3-4


def test_evidence_that_fails_an_interval_in_the_first_half_of_the_lifetime_fails_the_analysis() -> None:
    rng = np.random.default_rng(41)
    verdict = judge_analysis([_borderline_5xx(rng, 0)], ALONE)
    assert verdict.outcome == "Fail" and verdict.intervals[0].metric("errors").thresholds["alpha"] == 0.01


def test_the_same_evidence_in_the_second_half_of_the_lifetime_is_not_enough_to_fail() -> None:
    rng = np.random.default_rng(41)
    clean = [interval(requests(rng, 900, error_rate=0.0), requests(rng, 8_100, error_rate=0.0), k) for k in range(2)]
    verdict = judge_analysis([*clean, _borderline_5xx(rng, 2), _borderline_5xx(rng, 3)], ALONE)
    late = verdict.intervals[2].metric("errors")
    assert late.thresholds["alpha"] == 0.001 and late.classification == "Pass" and 0.001 < late.p_value < 0.01
    assert verdict.outcome == "Pass"


def test_without_a_confirmation_level_every_interval_is_judged_at_alpha() -> None:
    rng = np.random.default_rng(41)
    clean = [interval(requests(rng, 900, error_rate=0.0), requests(rng, 8_100, error_rate=0.0), k) for k in range(2)]
    flat = CanaryConfig(window="interval", lifetime_intervals=4, confirm_alpha=None)
    verdict = judge_analysis([*clean, _borderline_5xx(rng, 2)], flat)
    assert verdict.outcome == "Fail" and verdict.decided_by == 2


def test_the_decision_rule_states_the_level_of_each_half_of_the_lifetime() -> None:
    rule = " ".join(judge_analysis([_healthy(np.random.default_rng(42), 0)]).rule)
    assert "alpha = 0.01 (one-sided) for every test in intervals 1-3 of 6, 0.001 in intervals 4-6" in rule


def test_a_confirmation_level_above_alpha_is_refused() -> None:
    with pytest.raises(CanaryInputError, match="confirm_alpha must be in"):
        CanaryConfig(confirm_alpha=0.05)
