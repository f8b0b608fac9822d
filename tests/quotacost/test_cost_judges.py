"""monitors.cost: budget burn, robust day-over-day anomalies, idle deployments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from monitors.cost import AnomalyConfig, BudgetFigures, budget_period, judge_anomaly, judge_budget, judge_idle

DAY = date(2024, 5, 1)


def history(values: list[float], today: float) -> dict[date, float]:
    """`values` for the days before DAY (oldest first), `today` on DAY."""
    out = {DAY - timedelta(days=len(values) - i): v for i, v in enumerate(values)}
    out[DAY] = today
    return out


NOISY = [18.0, 19.0, 17.5, 18.4, 20.1, 18.9, 17.8, 18.2, 19.4, 18.7, 18.1, 19.9, 17.9, 18.6]


# ---- anomalies -----------------------------------------------------------------------------------------
def test_the_robust_z_score_is_0_6745_times_the_excess_over_the_mad() -> None:
    result = judge_anomaly(history(NOISY, 40.0), DAY)
    median = sorted(NOISY)[6] / 2 + sorted(NOISY)[7] / 2
    mad = sorted(abs(v - median) for v in NOISY)[6] / 2 + sorted(abs(v - median) for v in NOISY)[7] / 2
    assert result.median == pytest.approx(median) and result.mad == pytest.approx(mad)
    assert result.robust_z == pytest.approx(0.6745 * (40.0 - median) / mad)
    assert result.status == "alert"


def test_a_spike_below_the_floor_is_no_anomaly_however_large_its_z() -> None:
    flat = [10.0, 10.1] * 7
    result = judge_anomaly(history(flat, 14.0), DAY, AnomalyConfig(floor=5.0))
    assert result.robust_z is not None and result.robust_z > 3.5
    assert result.status == "ok"


def test_a_rise_within_the_noise_is_no_anomaly_even_above_the_floor() -> None:
    wide = [10.0, 30.0] * 7  # median 20, MAD 10
    result = judge_anomaly(history(wide, 36.0), DAY, AnomalyConfig(floor=5.0))
    assert result.robust_z == pytest.approx(0.6745 * 16 / 10) and result.status == "ok"


def test_a_flat_history_leaves_the_floor_to_decide() -> None:
    assert judge_anomaly(history([18.12] * 14, 30.0), DAY).status == "alert"
    assert judge_anomaly(history([18.12] * 14, 18.12), DAY).status == "ok"
    assert judge_anomaly(history([18.12] * 14, 30.0), DAY).robust_z is None


def test_a_drop_in_cost_is_no_anomaly() -> None:
    assert judge_anomaly(history(NOISY, 0.5), DAY).status == "ok"


def test_less_than_a_week_of_history_is_insufficient_data() -> None:
    result = judge_anomaly(history([18.0] * 6, 90.0), DAY)
    assert result.status == "insufficient_data" and len(result.history) == 6


def test_only_the_14_days_before_the_judged_day_are_history() -> None:
    result = judge_anomaly(history([500.0] * 10 + [18.0] * 14, 19.0), DAY)
    assert len(result.history) == 14 and result.median == 18.0 and result.status == "ok"


def test_missing_days_after_the_first_cost_count_as_zero() -> None:
    costs = history([18.0] * 14, 18.0)
    del costs[DAY - timedelta(days=3)]
    assert judge_anomaly(costs, DAY).history[(DAY - timedelta(days=3)).isoformat()] == 0.0


# ---- budgets -------------------------------------------------------------------------------------------
AT = datetime(2024, 5, 11, tzinfo=UTC)  # 10 of May's 31 days gone


def test_a_forecast_past_100_percent_is_over() -> None:
    burn = judge_budget(BudgetFigures("b", 1000, 400, 1240), AT)
    assert (burn.status, burn.level, burn.forecast_ratio, burn.spend_ratio) == ("alert", "over", 1.24, 0.4)


def test_a_forecast_past_80_percent_is_a_warning() -> None:
    burn = judge_budget(BudgetFigures("b", 1000, 300, 850), AT)
    assert (burn.status, burn.level) == ("alert", "warning")


def test_spend_past_the_amount_is_over_whatever_the_forecast() -> None:
    assert judge_budget(BudgetFigures("b", 1000, 1010, 900), AT).level == "over"


def test_under_80_percent_is_ok() -> None:
    burn = judge_budget(BudgetFigures("b", 1000, 200, 620), AT)
    assert (burn.status, burn.level) == ("ok", None)


def test_without_azures_forecast_the_spend_is_projected_linearly_to_the_period_end() -> None:
    burn = judge_budget(BudgetFigures("b", 1000, 300, None), AT)
    assert burn.forecast_source == "linear"
    assert burn.forecast == pytest.approx(300 * 31 / 10)
    assert burn.level == "warning"


def test_a_quarterly_budget_resets_on_the_calendar_quarter() -> None:
    assert budget_period("Quarterly", AT) == (datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC))
    assert budget_period("Quarterly", datetime(2024, 11, 5, tzinfo=UTC))[1] == datetime(2025, 1, 1, tzinfo=UTC)


# ---- idle ----------------------------------------------------------------------------------------------
def test_instances_that_cost_money_and_serve_nothing_are_idle() -> None:
    assert judge_idle("ep", "spare", 1, 5.1, 0).status == "alert"


@pytest.mark.parametrize(("instances", "cost", "requests"), [(1, 5.1, 3), (0, 5.1, 0), (1, 0.0, 0)])
def test_serving_having_no_instances_or_costing_nothing_is_not_idle(instances: int, cost: float,
                                                                   requests: float) -> None:
    assert judge_idle("ep", "d", instances, cost, requests).status == "ok"


def test_an_unknown_cost_leaves_an_idle_candidate_pending() -> None:
    assert judge_idle("ep", "spare", 1, None, 0).status == "pending"


def test_an_unknown_request_count_leaves_it_pending() -> None:
    assert judge_idle("ep", "spare", 1, 5.1, None).status == "pending"
