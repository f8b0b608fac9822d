"""The cost judges: budget burn, day-over-day anomalies, and deployments that cost money and serve nothing.

* Budget burn: spend and month-end forecast against the budget's amount. Azure's own forecast
  (`forecastSpend` of the budget) is used when it has one, else a straight line through the spend so far
  (spend x period length / time elapsed). Warning at 80% and over at 100% of the larger of the two ratios,
  so a forecast past the budget warns before the money is spent.
* Anomaly: the latest complete day against the 14 days before it, robustly: median and MAD (median
  absolute deviation), modified z-score `0.6745 * (x - median) / MAD` (Iglewicz and Hoaglin; 0.6745 makes
  the MAD comparable to a standard deviation for normal data) above a threshold (3.5), and the excess
  `x - median` above an absolute floor, so a cent's wobble on a flat series is never an anomaly. Only rises
  alarm (a drop in spend is not a cost problem; partial data for a recent day also looks like a drop). When
  the history is flat (MAD = 0) the z-score is undefined and the floor alone decides. Days before a series'
  first cost row are not history (the endpoint did not exist); missing days after it cost 0.
* Idle: a deployment with instances that cost money over the recent days and served no request in 24 h.

Plain data in (daily costs, budget figures, request counts), a result with every number out. No Azure SDK,
no I/O, no clock: the day judged and `at` are passed in.
"""

from __future__ import annotations

import calendar
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

#: the constant of the modified z-score: MAD x 1/0.6745 estimates sigma for normal data
MAD_TO_Z = 0.6745


@dataclass(frozen=True)
class AnomalyConfig:
    threshold: float = 3.5
    """modified z-score above which a day is anomalous (Iglewicz and Hoaglin's recommended 3.5)"""
    floor: float = 5.0
    """the day must also exceed the median by this much, in the cost's currency"""
    history_days: int = 14
    min_history_days: int = 7
    """fewer days of history than this is `insufficient_data`: a median of three days says little"""


@dataclass(frozen=True)
class Anomaly:
    status: str  # ok | alert | insufficient_data
    day: date
    cost: float
    median: float | None
    mad: float | None
    robust_z: float | None
    excess: float | None
    history: dict[str, float]
    config: AnomalyConfig
    reason: str

    def evidence(self) -> dict[str, Any]:
        return {
            "status": self.status, "day": self.day.isoformat(), "cost": round(self.cost, 6),
            "median": _r(self.median), "mad": _r(self.mad), "robust_z": _r(self.robust_z),
            "excess": _r(self.excess), "history_days": len(self.history),
            "history": {k: round(v, 6) for k, v in self.history.items()}, "reason": self.reason,
            "threshold": self.config.threshold, "floor": self.config.floor,
            "window_days": self.config.history_days, "min_history_days": self.config.min_history_days,
            "conventions": "robust z = 0.6745 * (x - median) / MAD over the window before the day; "
                           "alert when z > threshold (or MAD = 0) and x - median > floor; rises only",
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def judge_anomaly(daily: Mapping[date, float], day: date, config: AnomalyConfig | None = None) -> Anomaly:
    """Is `day`'s cost an upward anomaly against the `config.history_days` days before it?"""
    config = config or AnomalyConfig()
    first = min((d for d, c in daily.items() if d <= day and c > 0), default=None)
    window = [day - timedelta(days=i) for i in range(config.history_days, 0, -1)]
    history = {d.isoformat(): float(daily.get(d, 0.0)) for d in window if first is not None and d >= first}
    cost = float(daily.get(day, 0.0))
    if len(history) < config.min_history_days:
        return Anomaly("insufficient_data", day, cost, None, None, None, None, history, config,
                       f"{len(history)} day(s) of cost history before {day}, need {config.min_history_days}")
    values = list(history.values())
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    excess = cost - median
    z = MAD_TO_Z * excess / mad if mad > 0 else None
    spiking = excess > config.floor and (z is None or z > config.threshold)
    if spiking:
        reason = (f"{cost:.2f} on {day} is {excess:.2f} over the median {median:.2f} of {len(values)} days"
                  + (f" (robust z {z:.1f} > {config.threshold:g})" if z is not None else " (flat history, MAD 0)"))
    elif excess <= config.floor:
        reason = f"{cost:.2f} on {day} is within {config.floor:g} of the median {median:.2f}"
    else:
        reason = f"robust z {z:.1f} <= {config.threshold:g} (median {median:.2f}, MAD {mad:.2f})"
    return Anomaly("alert" if spiking else "ok", day, cost, median, mad, z, excess, history, config, reason)


# ---- budgets ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BudgetFigures:
    """What Cost Management says about one budget."""

    name: str
    amount: float
    spend: float
    forecast: float | None
    unit: str = "USD"
    time_grain: str = "Monthly"


@dataclass(frozen=True)
class BudgetBurn:
    status: str  # ok | alert | insufficient_data
    level: str | None  # None | "warning" (>= warn) | "over" (>= over)
    budget: BudgetFigures
    spend_ratio: float | None
    forecast: float | None
    forecast_ratio: float | None
    forecast_source: str  # "azure" | "linear"
    period_start: datetime
    period_end: datetime
    warn: float
    over: float
    summary: str

    def evidence(self) -> dict[str, Any]:
        b = self.budget
        return {
            "budget": b.name, "amount": b.amount, "unit": b.unit, "time_grain": b.time_grain,
            "spend": round(b.spend, 6), "spend_ratio": _r(self.spend_ratio),
            "forecast": _r(self.forecast), "forecast_ratio": _r(self.forecast_ratio),
            "forecast_source": self.forecast_source, "level": self.level,
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "thresholds": {"warning": self.warn, "over": self.over},
            "conventions": "level from max(spend / amount, forecast / amount); forecast is Azure's "
                           "forecastSpend, else spend x period length / time elapsed",
        }


def budget_period(time_grain: str, at: datetime) -> tuple[datetime, datetime]:
    """The calendar period a budget of `time_grain` resets on, containing `at` (UTC)."""
    at = at.astimezone(UTC)
    grain = time_grain.lower()
    if grain in ("quarterly", "billingquarter"):
        first_month = 3 * ((at.month - 1) // 3) + 1
        start = datetime(at.year, first_month, 1, tzinfo=UTC)
        end_month = first_month + 3
        end = datetime(at.year + (end_month > 12), (end_month - 1) % 12 + 1, 1, tzinfo=UTC)
    elif grain in ("annually", "billingannual"):
        start, end = datetime(at.year, 1, 1, tzinfo=UTC), datetime(at.year + 1, 1, 1, tzinfo=UTC)
    else:
        start = datetime(at.year, at.month, 1, tzinfo=UTC)
        end = start + timedelta(days=calendar.monthrange(at.year, at.month)[1])
    return start, end


def judge_budget(budget: BudgetFigures, at: datetime, warn: float = 0.8, over: float = 1.0) -> BudgetBurn:
    start, end = budget_period(budget.time_grain, at)
    if budget.amount <= 0:
        return BudgetBurn("insufficient_data", None, budget, None, None, None, "linear", start, end, warn, over,
                          f"budget {budget.name} has no positive amount ({budget.amount})")
    if budget.forecast is not None:
        forecast, source = budget.forecast, "azure"
    else:
        elapsed = max((at - start).total_seconds(), 3600.0)
        forecast, source = budget.spend * (end - start).total_seconds() / elapsed, "linear"
    spend_ratio, forecast_ratio = budget.spend / budget.amount, forecast / budget.amount
    burn = max(spend_ratio, forecast_ratio)
    level = "over" if burn >= over else "warning" if burn >= warn else None
    summary = (f"budget {budget.name}: spent {budget.spend:.2f} of {budget.amount:.2f} {budget.unit} "
               f"({spend_ratio:.0%}), forecast {forecast:.2f} ({forecast_ratio:.0%}) by {end.date()}")
    if level:
        summary += f": {'past' if level == 'over' else 'at'} {(over if level == 'over' else warn):.0%}"
    return BudgetBurn("alert" if level else "ok", level, budget, spend_ratio, forecast, forecast_ratio, source,
                      start, end, warn, over, summary)


# ---- idle deployments ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Idle:
    status: str  # ok | alert | pending
    endpoint: str
    deployment: str
    instances: int
    cost: float | None
    requests: float | None
    window_hours: float
    reason: str
    cost_days: list[str] = field(default_factory=list)

    def evidence(self) -> dict[str, Any]:
        return {
            "status": self.status, "endpoint": self.endpoint, "deployment": self.deployment,
            "instances": self.instances, "cost": _r(self.cost), "cost_days": self.cost_days,
            "requests": self.requests, "request_window_hours": self.window_hours, "reason": self.reason,
            "conventions": "idle = instances > 0, cost > 0 over the cost days, no request in the window",
        }


def judge_idle(endpoint: str, deployment: str, instances: int, cost: float | None, requests: float | None,
               window_hours: float = 24.0, cost_days: list[str] | None = None) -> Idle:
    """`cost` is None when Cost Management could not say (throttled, nothing cached), `requests` None when
    the metrics could not: then `pending`, never idle on a guess."""
    days = cost_days or []
    if requests is None:
        return Idle("pending", endpoint, deployment, instances, cost, None, window_hours,
                    "its request count is not known", days)
    if requests > 0:
        why = f"served {requests:g} request(s) in {window_hours:g} h"
        return Idle("ok", endpoint, deployment, instances, cost, requests, window_hours, why, days)
    if instances <= 0:
        return Idle("ok", endpoint, deployment, instances, cost, requests, window_hours, "no instances", days)
    if cost is None:
        return Idle("pending", endpoint, deployment, instances, None, requests, window_hours,
                    "no request in the window, but its cost is not known yet", days)
    if cost <= 0:
        return Idle("ok", endpoint, deployment, instances, cost, requests, window_hours, "costs nothing", days)
    why = (f"{instances} instance(s) cost {cost:.2f} over {', '.join(days) or 'the recent days'} "
           f"and served no request in {window_hours:g} h")
    return Idle("alert", endpoint, deployment, instances, cost, requests, window_hours, why, days)
