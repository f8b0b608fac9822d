"""The SLO judge: one deployment's latency and error budget against its objectives, from per-minute data.

Input is what Azure Monitor keeps for an online endpoint, one `Minute` per minute (PT1M, as Azure
pre-aggregates it): requests answered, 5xx among them, and the minute's latency percentiles. Errors are
5xx only: a 4xx is the caller's mistake and spends no error budget. Output is one `SloJudgement` per
deployment with a status per objective and every number it was decided from.

* **Latency**: "p95 within the objective" is "at most 5% of requests slower than the objective", and a
  share of requests, unlike a percentile, pools exactly across minutes. Azure keeps latency percentiles
  per minute (RequestLatency_P50/P90/P95/P99); the judge reads each minute's distribution through them
  (linear between the known percentiles, from 0 ms up to the lowest; above the highest, the share
  slower is taken as 1 - its level, at most 1% above P99), takes the share of that minute's requests
  slower than the objective, and weighs minutes by their requests over the latency window (10 min, two
  SLO cadences). More than 5% slower is an alert. The observed p95 reported is the 95th percentile of
  the same pooled distribution, so "observed > objective" and the alert always agree. Averaging the
  per-minute P95 instead is biased low whenever minutes are small: a minute of 6 requests has no
  request beyond its 82nd percentile on average, so its P95 understates the tail (simulated on the
  demo's 6-requests-a-minute canary with a 522 ms true p95: the mean of per-minute P95 reads about
  390 ms; the pooled share detects a fully regressed 10-minute window against a 300 ms objective 99.4%
  of the time, request-level data 99.7%).
* **Error budget**: the SRE workbook's multiwindow, multi-burn-rate alerts (chapter 5, "Alerting on
  SLOs"). Burn rate = error rate / error-rate objective (the objective is 1 - the SLO target; a burn
  rate of 1 spends exactly the budget over the budget period, 30 days). An alert fires when the burn
  rate is above its threshold over both its long window and its short window: the long window makes
  it significant (14.4x over 1 h spends 2% of a 30-day budget, 6x over 6 h spends 5%), the short window
  makes it stop as soon as the burning stops. Fast burn (1 h and 5 min, 14.4x) is Sev1, slow burn (6 h
  and 30 min, 6x) is Sev2. The workbook's rules compare with `>`, and so does this judge.
* **Minimum-request guard**: fewer than `min_requests` requests in the latency window, or in a burn
  alert's long window, and that objective is `insufficient_data`: neither healthy nor failing, so it
  neither fires nor clears an alert. A burn alert's long window also needs enough requests that one
  error alone cannot cross its threshold (`ceil(1 / (burn rate x objective))`; the workbook's
  low-traffic warning): with a 99.9% SLO that is 70 requests for fast burn and 167 for slow burn. A
  short window without any request is `insufficient_data` too: nothing says the budget burns now.
* **Short windows of small deployments**: the short window is there to reset an alert once the burning
  has stopped, and it can only say so if it holds enough requests that a burn at the threshold would
  have shown errors: `ceil(3 / threshold error rate)` (3 expected errors, so none by chance at most
  e^-3 = 5% of the time; 209 requests for fast burn on a 99.9% SLO). A short window with fewer requests
  is widened back, minute by minute, until it holds that many (at most to the long window), and the
  evidence says so. A busy deployment keeps the workbook's 5 and 30 minutes; a 10% canary of a 60 rpm
  endpoint (6 requests a minute) gets about 35 minutes, so a 2% error rate is no longer vetoed by five
  error-free minutes that were likely anyway (30 requests at 2%: no error 55% of the time), at the cost
  of resetting later.

Windows are `[end - length, end)` with `end` = `now` floored to the minute: the current minute is still
being counted. The deployment's status is `alert` if any objective alerts, else `insufficient_data` if
any objective could not be judged, else `ok`. This module never imports an Azure SDK, never does I/O
and never reads the clock: `now` is a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from monitors.verdict import Verdict

Status = Literal["ok", "alert", "insufficient_data"]
CHECK = "slo"
P95 = 0.95


class SloInputError(ValueError):
    """Per-minute data the judge cannot read: negative counts, more errors than requests, a minute twice."""


@dataclass(frozen=True)
class Minute:
    """One minute of one deployment, as Azure Monitor pre-aggregates it (PT1M)."""

    at: datetime
    """Start of the minute (timezone-aware, UTC)."""
    requests: int
    """Every answered request: 2xx, 4xx and 5xx."""
    errors: int
    """5xx answers among them (the deployment's fault)."""
    latency_ms: Mapping[float, float] = field(default_factory=dict)
    """The minute's latency percentiles by level, e.g. {0.5: 41.0, 0.9: 88.0, 0.95: 110.0, 0.99: 160.0}
    (RequestLatency_P50..P99); empty when Azure has no value for the minute."""

    @property
    def p95(self) -> float | None:
        return self.latency_ms.get(0.95)


@dataclass(frozen=True)
class Objectives:
    """What the deployment promises. `sources` says where each came from (echoed as evidence), e.g.
    `{"latency_p95_ms": "tag modelwatch.slo.latency_p95_ms", "error_rate": "setting MODELWATCH_SLO_ERROR_RATE"}`."""

    latency_p95_ms: float
    error_rate: float
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.latency_p95_ms > 0:
            raise SloInputError(f"latency objective must be a positive number of ms, got {self.latency_p95_ms}")
        if not 0 < self.error_rate < 1:
            raise SloInputError(f"error-rate objective must be a fraction between 0 and 1, got {self.error_rate}")


@dataclass(frozen=True)
class BurnAlert:
    """One multiwindow burn-rate alert: fire when the burn rate exceeds `burn_rate` over both windows."""

    name: str
    severity: str
    long: timedelta
    short: timedelta
    burn_rate: float


FAST_BURN = BurnAlert("fast_burn", "Sev1", timedelta(hours=1), timedelta(minutes=5), 14.4)
SLOW_BURN = BurnAlert("slow_burn", "Sev2", timedelta(hours=6), timedelta(minutes=30), 6.0)


@dataclass(frozen=True)
class SloPolicy:
    """The windows and guards the judge applies; every field is echoed in the evidence."""

    latency_window: timedelta = timedelta(minutes=10)
    burn_alerts: tuple[BurnAlert, ...] = (FAST_BURN, SLOW_BURN)
    min_requests: int = 30
    budget_period: timedelta = timedelta(days=30)

    @property
    def lookback(self) -> timedelta:
        """The longest window: how much per-minute history one judgement needs."""
        return max([self.latency_window, *(a.long for a in self.burn_alerts), *(a.short for a in self.burn_alerts)])


@dataclass(frozen=True)
class WindowStats:
    """Counts over one window `[start, end)`."""

    start: datetime
    end: datetime
    requests: int
    errors: int
    minutes_with_requests: int
    error_rate: float | None
    burn_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "minutes": _minutes(self.end - self.start), "requests": self.requests, "errors": self.errors,
                "minutes_with_requests": self.minutes_with_requests,
                "error_rate": _round(self.error_rate), "burn_rate": _round(self.burn_rate)}


@dataclass(frozen=True)
class LatencyResult:
    status: Status
    reason: str
    objective_ms: float
    observed_p95_ms: float | None
    """95th percentile of the window's pooled latency distribution."""
    share_slower: float | None
    """Share of the window's requests slower than the objective (the alert rule: > 5%)."""
    window_start: datetime
    window_end: datetime
    requests: int
    minutes_with_value: int
    median_minute_p95_ms: float | None
    max_minute_p95_ms: float | None
    min_requests: int

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "objective_ms": self.objective_ms,
                "observed_p95_ms": _round(self.observed_p95_ms, 3),
                "share_slower_than_objective": _round(self.share_slower),
                "window": {"start": self.window_start.isoformat(), "end": self.window_end.isoformat(),
                           "minutes": _minutes(self.window_end - self.window_start)},
                "requests": self.requests, "minutes_with_value": self.minutes_with_value,
                "median_minute_p95_ms": _round(self.median_minute_p95_ms, 3),
                "max_minute_p95_ms": _round(self.max_minute_p95_ms, 3), "min_requests": self.min_requests,
                "rule": f"alert when more than {1 - P95:.0%} of the window's requests are slower than objective_ms "
                        "(equivalently observed_p95_ms > objective_ms)"}


@dataclass(frozen=True)
class BurnResult:
    alert: BurnAlert
    status: Status
    reason: str
    long: WindowStats
    short: WindowStats
    """The short window as judged: widened when the nominal one held fewer than `conclusive_requests`."""
    threshold_error_rate: float
    min_requests: int
    single_error_floor: int
    budget_spent_in_long_window: float | None
    """Share of the budget period's whole error budget spent over the long window (burn x long / period)."""
    conclusive_requests: int = 0
    short_widened: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "severity": self.alert.severity,
                "burn_rate_threshold": self.alert.burn_rate, "threshold_error_rate": _round(self.threshold_error_rate),
                "long_window": self.long.to_dict(),
                "short_window": {**self.short.to_dict(), "nominal_minutes": _minutes(self.alert.short),
                                 "widened": self.short_widened, "conclusive_requests": self.conclusive_requests},
                "min_requests": self.min_requests, "single_error_floor": self.single_error_floor,
                "budget_spent_in_long_window": _round(self.budget_spent_in_long_window),
                "rule": "alert when burn_rate > burn_rate_threshold over both the long and the short window"}


@dataclass(frozen=True)
class SloJudgement:
    """The judge's answer for one deployment: a status per objective, the overall status, the inputs."""

    status: Status
    summary: str
    now: datetime
    end: datetime
    objectives: Objectives
    policy: SloPolicy
    latency: LatencyResult
    burns: tuple[BurnResult, ...]
    minutes: tuple[Minute, ...]

    def burn(self, name: str) -> BurnResult:
        return next(b for b in self.burns if b.alert.name == name)

    def evidence(self) -> dict[str, Any]:
        """Every number the decision rests on, JSON-ready."""
        return {
            "objectives": {"latency_p95_ms": self.objectives.latency_p95_ms, "error_rate": self.objectives.error_rate,
                           "sources": dict(self.objectives.sources)},
            "latency": self.latency.to_dict(),
            "error_budget": {b.alert.name: b.to_dict() for b in self.burns},
            "data": {"start": (self.end - self.policy.lookback).isoformat(), "end": self.end.isoformat(),
                     "minutes_with_requests": sum(1 for m in self.minutes if m.requests > 0),
                     "requests": sum(m.requests for m in self.minutes),
                     "errors": sum(m.errors for m in self.minutes)},
            "policy": {"latency_window_minutes": _minutes(self.policy.latency_window),
                       "min_requests": self.policy.min_requests,
                       "budget_period_days": self.policy.budget_period / timedelta(days=1),
                       "burn_alerts": {a.name: {"severity": a.severity, "long_minutes": _minutes(a.long),
                                                "short_minutes": _minutes(a.short), "burn_rate": a.burn_rate}
                                       for a in self.policy.burn_alerts}},
            "conventions": CONVENTIONS,
        }

    def verdict(self, endpoint: str | None = None, deployment: str | None = None,
                extra_evidence: Mapping[str, Any] | None = None) -> Verdict:
        return Verdict(check=CHECK, status=self.status, summary=self.summary, at=self.now, endpoint=endpoint,
                       deployment=deployment, evidence={**(extra_evidence or {}), **self.evidence()})


CONVENTIONS = {
    "errors": "5xx answers only; 4xx are the caller's and spend no error budget",
    "error_rate": "errors / requests (2xx + 4xx + 5xx) over the window",
    "burn_rate": "error_rate / error-rate objective (objective = 1 - SLO target); 1 spends the budget "
                 "exactly over the budget period",
    "burn_alerts": "SRE workbook ch. 5 multiwindow, multi-burn-rate: fire when the burn rate is above "
                   "the threshold over both the long and the short window",
    "latency_p95": "share of requests slower than the objective, per minute from RequestLatency_P50/P90/P95/P99 "
                   "(linear between them; 1 - level above the highest), pooled by requests over the latency "
                   "window; observed p95 = 95th percentile of that pooled distribution",
    "windows": "[end - length, end), end = now floored to the minute (the current minute is incomplete)",
    "min_requests": "fewer requests in the latency window or a burn alert's long window is insufficient_data; "
                    "a long window also needs ceil(1 / (burn_rate x objective)) requests so one error cannot "
                    "fire it; a short window needs one request",
    "short_window": "widened back (at most to the long window) until it holds ceil(3 / threshold error rate) "
                    "requests, so that error-free minutes only veto a burn when they are evidence it stopped",
}


def judge(minutes: Sequence[Minute], objectives: Objectives, now: datetime,
          policy: SloPolicy = SloPolicy()) -> SloJudgement:
    """Judge one deployment's per-minute data at `now`. Minutes outside the longest window are ignored."""
    end = now.replace(second=0, microsecond=0)
    data = _checked(minutes, end - policy.lookback, end)
    latency = _latency(data, objectives, end, policy)
    burns = tuple(_burn(data, objectives, end, alert, policy) for alert in policy.burn_alerts)
    statuses = [latency.status, *(b.status for b in burns)]
    status: Status = ("alert" if "alert" in statuses
                      else "insufficient_data" if "insufficient_data" in statuses else "ok")
    return SloJudgement(status, _summary(status, latency, burns), now, end, objectives, policy, latency, burns,
                        tuple(data))


def single_error_floor(alert: BurnAlert, error_rate_objective: float) -> int:
    """The fewest requests for which one error stays at or under the alert's threshold error rate."""
    return math.ceil(1.0 / (alert.burn_rate * error_rate_objective) - 1e-9)


def window_stats(minutes: Sequence[Minute], start: datetime, end: datetime, objective: float) -> WindowStats:
    inside = [m for m in minutes if start <= m.at < end]
    requests = sum(m.requests for m in inside)
    errors = sum(m.errors for m in inside)
    rate = errors / requests if requests else None
    return WindowStats(start, end, requests, errors, sum(1 for m in inside if m.requests > 0), rate,
                       rate / objective if rate is not None else None)


def minute_cdf(minute: Minute, x: float) -> float:
    """The share of the minute's requests at or under `x` ms, read through its percentiles (see the module)."""
    points = _points(minute)
    previous_value, previous_level = 0.0, 0.0
    for value, level in points:
        if x < value:
            return previous_level + (level - previous_level) * (x - previous_value) / (value - previous_value)
        previous_value, previous_level = value, level
    return previous_level


def share_slower(minutes: Sequence[Minute], threshold_ms: float) -> tuple[float | None, int]:
    """(share of the requests slower than `threshold_ms`, requests behind it); minutes without latency are out."""
    valued = [m for m in minutes if m.latency_ms and m.requests > 0]
    requests = sum(m.requests for m in valued)
    if not requests:
        return None, 0
    return sum(m.requests * (1.0 - minute_cdf(m, threshold_ms)) for m in valued) / requests, requests


def pooled_quantile(minutes: Sequence[Minute], level: float = P95) -> float | None:
    """The `level` quantile of the request-weighted mix of the minutes' distributions (exact: piecewise linear)."""
    valued = [m for m in minutes if m.latency_ms and m.requests > 0]
    total = sum(m.requests for m in valued)
    if not total:
        return None

    def mix(x: float) -> float:
        return sum(m.requests * minute_cdf(m, x) for m in valued) / total

    previous_x, previous_f = 0.0, 0.0
    for x in sorted({value for m in valued for value, _ in _points(m)}):
        f = mix(x)
        if f >= level - 1e-12:
            if f <= previous_f:
                return x
            return previous_x + (x - previous_x) * (level - previous_f) / (f - previous_f)
        previous_x, previous_f = x, f
    return None  # the known percentiles never reach `level` (e.g. only P50 was given)


def _points(minute: Minute) -> list[tuple[float, float]]:
    """(value, level) ascending in level, values made non-decreasing (metrics aggregated apart can cross)."""
    out: list[tuple[float, float]] = []
    highest = 0.0
    for level in sorted(minute.latency_ms):
        highest = max(highest, minute.latency_ms[level])
        out.append((highest, level))
    return out


def _checked(minutes: Sequence[Minute], start: datetime, end: datetime) -> list[Minute]:
    seen: set[datetime] = set()
    out = []
    for m in minutes:
        if m.requests < 0 or m.errors < 0:
            raise SloInputError(f"minute {m.at.isoformat()}: negative count (requests {m.requests}, "
                                f"errors {m.errors})")
        if m.errors > m.requests:
            raise SloInputError(f"minute {m.at.isoformat()}: {m.errors} errors but only {m.requests} requests")
        for level, value in m.latency_ms.items():
            if not 0 < level < 1 or not (value >= 0 and math.isfinite(value)):
                raise SloInputError(f"minute {m.at.isoformat()}: latency percentile {level} = {value} ms is not a "
                                    "level in (0, 1) with a duration")
        if m.at in seen:
            raise SloInputError(f"minute {m.at.isoformat()} appears twice")
        seen.add(m.at)
        if start <= m.at < end:
            out.append(m)
    return sorted(out, key=lambda m: m.at)


def _latency(data: list[Minute], objectives: Objectives, end: datetime, policy: SloPolicy) -> LatencyResult:
    start = end - policy.latency_window
    inside = [m for m in data if start <= m.at < end]
    share, requests = share_slower(inside, objectives.latency_p95_ms)
    observed = pooled_quantile(inside, P95)
    values = sorted(m.p95 for m in inside if m.p95 is not None and m.requests > 0)
    median = (values[(len(values) - 1) // 2] + values[len(values) // 2]) / 2 if values else None
    window = f"{_minutes(policy.latency_window)} min"
    objective = f"objective {objectives.latency_p95_ms:g} ms"
    status: Status
    if requests < policy.min_requests or share is None:
        status, reason = "insufficient_data", (f"{requests} requests with a latency value in the last {window}, "
                                               f"fewer than {policy.min_requests}")
    elif share > 1 - P95 + 1e-9:  # tolerance: a share of exactly 5% meets the objective
        status, reason = "alert", (f"p95 {_ms(observed)} over the last {window} > {objective} "
                                   f"({share:.1%} of {requests} requests slower)")
    else:
        status, reason = "ok", (f"p95 {_ms(observed)} over the last {window} <= {objective} "
                                f"({share:.1%} of {requests} requests slower)")
    return LatencyResult(status, reason, objectives.latency_p95_ms, observed, share, start, end, requests,
                         len(values), median, values[-1] if values else None, policy.min_requests)


def _ms(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0f} ms"


def _burn(data: list[Minute], objectives: Objectives, end: datetime, alert: BurnAlert,
          policy: SloPolicy) -> BurnResult:
    objective = objectives.error_rate
    long = window_stats(data, end - alert.long, end, objective)
    nominal = window_stats(data, end - alert.short, end, objective)
    conclusive = conclusive_requests(alert, objective)
    short = nominal
    if 0 < nominal.requests < conclusive:
        short = window_stats(data, _widened_start(data, end, alert, conclusive), end, objective)
    floor = single_error_floor(alert, objective)
    needed = max(policy.min_requests, floor)
    spent = long.burn_rate * (alert.long / policy.budget_period) if long.burn_rate is not None else None
    names = f"{_span(alert.long)} / {_span(short.end - short.start)}"
    status: Status
    if long.requests < needed:
        status, reason = "insufficient_data", (f"{long.requests} requests in the last {_span(alert.long)}, fewer than "
                                               f"{needed}")
    elif nominal.requests == 0:
        status, reason = "insufficient_data", f"no request in the last {_span(alert.short)}"
    elif long.burn_rate > alert.burn_rate and short.burn_rate > alert.burn_rate:  # type: ignore[operator]
        status, reason = "alert", (f"burn rate {long.burn_rate:.1f}x / {short.burn_rate:.1f}x over {names} "
                                   f"> {alert.burn_rate:g}x")
    else:
        status, reason = "ok", (f"burn rate {long.burn_rate:.1f}x / {short.burn_rate:.1f}x over {names}, "
                                f"alert above {alert.burn_rate:g}x on both")
    return BurnResult(alert, status, reason, long, short, alert.burn_rate * objective, needed, floor, spent,
                      conclusive, short is not nominal)


def conclusive_requests(alert: BurnAlert, error_rate_objective: float) -> int:
    """Requests a short window needs before its lack of errors says the burn stopped (3 expected at threshold)."""
    return math.ceil(3.0 / (alert.burn_rate * error_rate_objective) - 1e-9)


def _widened_start(data: list[Minute], end: datetime, alert: BurnAlert, requests: int) -> datetime:
    """The latest minute-aligned start, at or before the nominal short window's, from which [start, end) holds
    `requests` requests; the long window's start if none does."""
    start, floor = end - alert.short, end - alert.long
    held = sum(m.requests for m in data if start <= m.at < end)
    for m in sorted((m for m in data if floor <= m.at < start), key=lambda m: m.at, reverse=True):
        held += m.requests
        if held >= requests:
            return m.at
    return floor


def _summary(status: Status, latency: LatencyResult, burns: tuple[BurnResult, ...]) -> str:
    parts = [f"latency {latency.status}: {latency.reason}"]
    parts += [f"{b.alert.name.replace('_', ' ')} {b.status}: {b.reason}" for b in burns]
    return f"SLO {status} — " + "; ".join(parts)


def _minutes(delta: timedelta) -> int:
    return int(delta / timedelta(minutes=1))


def _span(delta: timedelta) -> str:
    minutes = _minutes(delta)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)
