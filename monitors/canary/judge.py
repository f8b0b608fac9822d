"""The canary judge: a new deployment (canary) against the stable one (baseline) over the same window.

Per metric, as Kayenta's NetflixACAJudge classifies (Pass | High | Low | NoData):

* latency: one-sided Mann-Whitney U (scipy) with the Hodges-Lehmann shift and its confidence interval
  (the normal-approximation inversion of R's wilcox.test, as Kayenta's MannWhitney does), gated by an
  effect size (mean ratio canary / baseline): a significant but small shift is a Pass;
* tail latency (request-level data only): the requests above the pooled p95, one-sided Fisher exact,
  gated by the p95 ratio (a rank test misses a p95 that rises while the median stays);
* errors: one-sided Fisher exact test on 5xx vs requests (rank tests miss rare errors: the shift of a
  mostly-zero series is 0), gated by an absolute rate difference, behind a minimum-request guard.

Per interval: Kayenta's score (Pass share of the judged metrics) plus critical metrics; no data is
never a pass (Inconclusive, with the reason) and never a fail. Per analysis: fail early on a clearly
bad interval, otherwise the last interval decides. Input is plain data from one of two sources:
request-level data (the traffic log) or per-minute platform metrics (the fallback); every result says
which. This module never imports an Azure SDK, never does I/O and never reads the clock: interval
bounds are passed in and only checked and echoed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import datetime
from typing import Any, Literal

import numpy as np

Source = Literal["requests", "metrics"]
Classification = Literal["Pass", "High", "Low", "NoData"]
IntervalOutcome = Literal["Pass", "Marginal", "Fail", "Inconclusive"]
Outcome = Literal["Pass", "Fail", "Inconclusive"]
Direction = Literal["increase", "decrease", "either"]
Window = Literal["growing", "interval"]

FAILED: tuple[Classification, ...] = ("High", "Low")


class CanaryInputError(ValueError):
    """Input the judge cannot read (negative counts, more errors than requests, mixed sources...)."""


# -- configuration -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CanaryConfig:
    """How a canary is judged. Every field is echoed in the verdict. With request-level data, a canary
    at 60 requests a minute and a 0.1% baseline 5xx rate (bench/canary_decisions.py), the defaults
    fail 0.28% of healthy canaries over a 30-minute lifetime and, within three 5-minute intervals,
    100% of 25% latency regressions and 95.6% of +1 percentage point 5xx regressions. The 5xx part
    of the false fails (~0.23%) is what catching 95% of +1 point on ~900 requests costs: no rule on
    those requests does it below 0.13% (bench/README.md)."""

    alpha: float = 0.01
    """One-sided significance level of every test in the first half of the lifetime (confirm_alpha
    after it). 0.01 is Kayenta's: its judge hard-codes a 98%
    two-sided interval on the shift, whose lower bound is a one-sided 99% bound. The effect-size
    gates, not alpha, keep large windows from failing canaries over negligible differences."""

    confirm_alpha: float | None = 0.001
    """Level of every test in the second half of the lifetime (intervals ceil(L / 2) + 1 .. L of L);
    None keeps alpha throughout. A healthy canary judged at every interval gets a chance to fail at
    each one: six looks at 0.01 failed 0.73% of healthy canaries (bench/canary_decisions.py, 4,000
    analyses, 0.1% base 5xx rate, 60 requests a minute), 16 of the 29 in the second half, where the
    growing window holds 4-6 intervals of data. A group-sequential design spends the false-fail budget
    across the looks; this one spends it early, when users are exposed and a real regression shows,
    and asks the later looks, which judge twice the data, for ten times the evidence: 0.43% failed
    (0.28% with the default latency gate of 1.15), and what the first half catches does not change
    (a +1 percentage point 5xx rise at 1,800 requests is still far past 0.001)."""

    latency_direction: Direction = "increase"
    """Which way latency is bad. Only slower is a regression; "either" also fails a canary that is
    much faster (Kayenta's default), which usually means it skips work."""

    latency_allowed_increase: float = 1.15
    """Mean-ratio gate: a significant shift fails only if mean(canary) / mean(baseline) is at least
    this. Kayenta documents 1.1 as its allowedIncrease; 1.15 here because the first interval of a
    60-requests-a-minute canary judges ~300 durations, whose mean has a standard error of ~3% (CV
    0.53 / sqrt(300) for lognormal sigma 0.5), so a healthy canary reaches 1.1 (3 standard errors) in
    about 1 analysis of 700: 6 of 4,000 healthy canaries failed on latency at the first interval in
    the bench, 0 at 1.15, and 25% slower canaries still all failed (198 of 200 at the first interval).
    A 10-15% slowdown then passes the canary: the SLO latency alert is what catches it if it breaks
    the objective. Request-level data only; the per-minute fallback has its own gate,
    minute_latency_allowed_increase."""

    minute_latency_allowed_increase: float = 1.1
    """The mean-ratio gate of the per-minute fallback (the mean of the per-minute P95 series):
    Kayenta's 1.1. Its rank test needs 10 points (two intervals) before it judges, and no healthy
    canary failed on it in the bench (0 of 4,000), while at 1.15 it caught 95% of 25% slower canaries
    within three intervals instead of 99%."""

    latency_allowed_decrease: float = 0.9
    """The same gate downwards (used with direction "decrease" or "either"), Kayenta's 0.90."""

    latency_tolerance: float = 0.0
    """Kayenta's MannWhitneyClassifier tolerance (0.25 there): for High the shift's interval must
    clear tolerance x |shift|, not just 0. Off by default: in the bench, 0.25 cut healthy latency
    fails with request-level data from 0.08% to 0.02% of analyses, but the per-minute fallback (10
    to 15 points, wide intervals) then caught 93% of 25% regressions instead of 99%, and 77% of
    tail regressions instead of 93%."""

    latency_critical: bool = False
    """A critical metric failing fails the interval whatever the score (latency and its tail). Not
    critical by default: one failing metric of two or three already puts the score (50, 66.67) under
    fail_score."""

    tail_quantile: float | None = 0.95
    """Request-level data only: also compare the tail, the share of requests above the pooled 95th
    percentile (metric "latency_p95"). A rank test weighs every request alike and misses a p95 that
    rises while the median stays (bench: 4.5% of such canaries caught without it); None turns it off.
    The per-minute fallback compares a percentile series already."""

    tail_allowed_increase: float = 1.15
    """Gate of the tail: the canary's p95 over the baseline's must reach this. Wider than the mean's
    1.1 because a sample quantile is noisier than a mean: the p95 of 300 lognormal requests has a
    standard error of ~6%, and at 1.1 about 1 healthy canary in 75 failed in a simulation like the
    bench's (0.4% at 1.15, 0.05% once the tail waits for min_tail_samples)."""

    min_tail_samples: int = 500
    """Request durations needed per deployment and window before the tail is judged (NoData below).
    At 500 the p95's standard error is under 5% and 25 requests lie above it; a canary at 60
    requests a minute gets there in its second 5-minute interval."""

    min_latency_samples: int = 50
    """Request durations needed per deployment and window before the rank test is judged; fewer is
    NoData. Spinnaker's "at least 50 pieces of data per metric" (deck-kayenta's low-confidence warning)."""

    min_latency_minutes: int = 10
    """Per-minute latency points needed per deployment and window (fallback source). A rank test on
    5 against 5 points can reach p = 0.004 only if every canary minute is slower than every baseline
    minute; 10 points (two 5-minute intervals) are the least that carries information."""

    min_requests: int = 300
    """Requests needed per deployment and window before errors are judged; fewer is NoData, never a
    pass. With 0 errors in n requests the 95% upper bound of the rate is about 3 / n (the rule of
    three): under 300 requests even a clean canary could hide a 1 percentage-point error rate."""

    min_errors: int = 5
    """Canary 5xx needed before errors can fail (with enough requests, fewer is a Pass). A rate read
    from fewer than 5 events is noise (the 95% Poisson interval of 4 events is 1.1 to 10.2); at a
    0.1% baseline rate, windows with 3 or 4 canary errors made most false fails in the bench."""

    error_floor: float = 0.003
    """Absolute rise of the 5xx rate (canary minus baseline, as a fraction: 0.003 = 0.3 percentage
    point) a significant difference must reach to fail. Keeps a high-traffic canary from failing over
    0.10% vs 0.15%; under a third of the smallest regression the bench must catch (1 pp), whose
    observed rise at 900 requests has a standard error of ~0.35 pp. Sustained small rises are the SLO
    burn-rate alerts' job."""

    errors_critical: bool = True
    """5xx are what users see: a significant rise above the floor fails the interval on its own."""

    fail_score: float = 75.0
    """An interval scoring below this (share of judged metrics that pass, 0-100) fails the analysis
    at once. Spinnaker's default marginal threshold; with two or three metrics one failing metric is
    enough (50, 66.67)."""

    pass_score: float = 95.0
    """The last interval must score at least this to pass. Spinnaker's default pass threshold: with
    up to 19 metrics, all must pass."""

    lifetime_intervals: int = 6
    """Intervals an analysis needs before it can pass (six 5-minute intervals, the app's default 30
    minute lifetime: the last judges 30 minutes of data with the growing window). Fewer judged
    intervals and no failure: Inconclusive, not finished. It also sets where confirm_alpha starts."""

    window: Window = "growing"
    """"growing": interval k is judged on all data from the analysis start to its end (Kayenta's
    lookbackMins = 0), so a low-traffic canary accumulates evidence; "interval": each interval alone
    (a late regression is not diluted by earlier good minutes, at the price of power)."""

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.alpha < 0.5:
            problems.append(f"alpha must be in (0, 0.5), found {self.alpha}")
        if self.confirm_alpha is not None and not 0 < self.confirm_alpha <= self.alpha:
            problems.append(f"confirm_alpha must be in (0, alpha] or None, found {self.confirm_alpha}")
        for name in ("latency_allowed_increase", "minute_latency_allowed_increase"):
            if not getattr(self, name) >= 1:
                problems.append(f"{name} must be >= 1, found {getattr(self, name)}")
        if not self.tail_allowed_increase >= 1:
            problems.append(f"tail_allowed_increase must be >= 1, found {self.tail_allowed_increase}")
        if not 0 <= self.latency_tolerance < 1:
            problems.append(f"latency_tolerance must be in [0, 1), found {self.latency_tolerance}")
        if not 0 < self.latency_allowed_decrease <= 1:
            problems.append(f"latency_allowed_decrease must be in (0, 1], found {self.latency_allowed_decrease}")
        if self.latency_direction not in ("increase", "decrease", "either"):
            problems.append(f"latency_direction must be increase|decrease|either, found {self.latency_direction!r}")
        counts = ("min_latency_samples", "min_tail_samples", "min_latency_minutes", "min_requests", "min_errors")
        for name in (*counts, "lifetime_intervals"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, found {getattr(self, name)}")
        if not 0 <= self.error_floor < 1:
            problems.append(f"error_floor must be in [0, 1), found {self.error_floor}")
        if not 0 <= self.fail_score <= self.pass_score <= 100:
            problems.append(f"need 0 <= fail_score <= pass_score <= 100, found {self.fail_score}, {self.pass_score}")
        if self.tail_quantile is not None and not 0.5 <= self.tail_quantile < 1:
            problems.append(f"tail_quantile must be in [0.5, 1) or None, found {self.tail_quantile}")
        if self.window not in ("growing", "interval"):
            problems.append(f"window must be growing|interval, found {self.window!r}")
        if problems:
            raise CanaryInputError("invalid CanaryConfig: " + "; ".join(problems))


    @property
    def confirm_from(self) -> int:
        """0-based index of the first interval judged at confirm_alpha (the second half's first)."""
        return math.ceil(self.lifetime_intervals / 2)

    def alpha_at(self, index: int) -> float:
        """The level of every test at interval `index` (0-based): alpha in the first half of the
        lifetime, confirm_alpha after it."""
        if self.confirm_alpha is None or index < self.confirm_from:
            return self.alpha
        return self.confirm_alpha


# -- input ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RequestWindow:
    """One deployment's requests in one window, from the traffic log (source "requests").

    durations_ms: one duration per request (NaN / inf dropped); requests: every request in the
    window; errors: those answered 5xx."""

    durations_ms: Sequence[float] | np.ndarray = ()
    requests: int = 0
    errors: int = 0


@dataclass(frozen=True, eq=False)
class MinuteMetrics:
    """One deployment's per-minute platform metrics in one window (source "metrics", the fallback).

    latency_ms: one value a minute of the percentile named by `percentile` (RequestLatency_P95);
    requests / errors: requests and 5xx a minute (RequestsPerMinute, split by statusCodeClass).
    Missing minutes are NaN (dropped)."""

    latency_ms: Sequence[float] | np.ndarray = ()
    requests: Sequence[float] | np.ndarray = ()
    errors: Sequence[float] | np.ndarray = ()
    percentile: str = "P95"


Data = RequestWindow | MinuteMetrics


@dataclass(frozen=True, eq=False)
class IntervalData:
    """Canary and baseline over the same interval [start, end), both from the same source."""

    start: datetime
    end: datetime
    canary: Data
    baseline: Data

    @property
    def source(self) -> Source:
        return "requests" if isinstance(self.canary, RequestWindow) else "metrics"


# -- results -------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-ready: dataclasses as dicts, datetimes as ISO text, NaN / inf as null, numpy as Python."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class JsonReady:
    """A result that serialises itself for the verdict document, the audit trail and the HTTP API."""

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class MetricResult(JsonReady):
    """One metric in one window, with every number behind its classification."""

    name: str  # "latency" | "latency_p95" (request-level data) | "errors"
    source: Source
    data: str  # what was compared, e.g. "request durations (ms)", "per-minute P95 latency (ms)"
    test: str  # e.g. "Mann-Whitney U, one-sided (greater)", "Fisher exact, one-sided (greater)"
    classification: Classification
    reason: str
    critical: bool
    direction: Direction
    n_canary: int  # durations or per-minute points (latency) or requests (errors) judged
    n_baseline: int
    statistic_name: str  # "U" (the canary's) | "odds_ratio" (sample odds ratio of the 2 x 2 table)
    statistic: float | None
    p_value: float | None  # one-sided, in the bad direction ("either": the smaller of the two)
    estimate_name: str  # "hodges_lehmann_shift_ms" | "share_above_difference" | "rate_difference"
    estimate: float | None
    ci_low: float | None  # two-sided interval at ci_level: its lower bound is the one-sided 1 - alpha bound
    ci_high: float | None
    ci_level: float
    effect_measure: str  # "mean_ratio" | "p95_ratio" | "rate_difference" (the gated quantity)
    effect_size: float | None  # None: undefined (a mean of 0), and then the gate is not applied
    thresholds: dict[str, float | None]
    canary: dict[str, float | None]  # descriptive statistics of the window judged
    baseline: dict[str, float | None]

    @property
    def failed(self) -> bool:
        return self.classification in FAILED


@dataclass(frozen=True)
class SideSummary(JsonReady):
    """One deployment in one interval alone (not the growing window): the series of the report."""

    requests: int
    errors: int
    error_rate: float | None
    latency_n: int
    latency_mean_ms: float | None
    latency_p50_ms: float | None  # request source only
    latency_p95_ms: float | None  # request source only
    minute_latency_ms: tuple[float, ...] = ()  # metrics source: the per-minute percentile series


@dataclass(frozen=True)
class IntervalResult(JsonReady):
    index: int  # 0-based position in the analysis
    start: datetime  # this interval
    end: datetime
    window_start: datetime  # start of the data judged (the analysis start with the growing window)
    source: Source
    outcome: IntervalOutcome
    score: float | None  # 100 * Pass / (Pass + High + Low); None when no metric had data
    reason: str
    metrics: tuple[MetricResult, ...]
    canary: SideSummary
    baseline: SideSummary

    def metric(self, name: str) -> MetricResult:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(f"no metric {name!r} in interval {self.index}: {[m.name for m in self.metrics]}")


@dataclass(frozen=True)
class CanaryVerdict(JsonReady):
    """The outcome of an analysis and everything behind it."""

    outcome: Outcome
    reason: str
    finished: bool  # False: no failure yet and fewer intervals than the lifetime; judge again later
    source: Source
    decided_by: int | None  # index of the interval that decided the outcome (None while unfinished)
    intervals: tuple[IntervalResult, ...]
    config: CanaryConfig
    rule: tuple[str, ...]  # the decision rule in words


# -- statistics ----------------------------------------------------------------------------------------


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    return array[np.isfinite(array)]


def _describe(values: np.ndarray) -> dict[str, float | None]:
    if not values.size:
        return {"n": 0, "mean": None, "p50": None, "p95": None}
    p50, p95 = np.percentile(values, [50, 95])
    return {"n": int(values.size), "mean": float(values.mean()), "p50": float(p50), "p95": float(p95)}


def _tie_term(sorted_values: np.ndarray) -> float:
    _, counts = np.unique(sorted_values, return_counts=True)
    counts = counts.astype(float)
    return float(np.sum(counts**3 - counts))


def hodges_lehmann(canary: np.ndarray, baseline: np.ndarray, level: float) -> tuple[float, float, float]:
    """(estimate, low, high): the shift of canary over baseline and its two-sided `level` interval.

    Inverts the normal approximation of the Mann-Whitney statistic with continuity correction, as R's
    wilcox.test(conf.int = TRUE, exact = FALSE) and Kayenta's MannWhitney do: the estimate is the
    shift d at which U(canary - d, baseline) = mn / 2 (the median of the pairwise differences), the
    bounds where the shifted statistic reaches -/+ z. U(d) is counted with sorted arrays
    (O(m log n) per evaluation, never the m x n differences); the tie correction uses the ties
    within each sample, which a shift leaves in place."""
    from scipy.optimize import brentq
    from scipy.stats import norm

    x, y = np.sort(_finite(canary)), np.sort(_finite(baseline))
    m, n = x.size, y.size
    if not m or not n:
        raise CanaryInputError(f"a shift needs values on both sides, found {m} canary and {n} baseline values")
    total = m + n
    sigma = math.sqrt(m * n / 12.0 * ((total + 1) - (_tie_term(x) + _tie_term(y)) / (total * (total - 1))))
    low_end, high_end = float(x[0] - y[-1]), float(x[-1] - y[0])
    xtol = 1e-9 * max(high_end - low_end, 1e-9)

    def u_stat(shift: float) -> float:
        moved = x - shift
        below = np.searchsorted(y, moved, side="left").sum()
        at_or_below = np.searchsorted(y, moved, side="right").sum()
        return float(below + 0.5 * (at_or_below - below))

    def solve(z: float, correction: float) -> float:
        def excess(shift: float) -> float:
            return (u_stat(shift) - m * n / 2.0 - correction) / sigma - z

        if excess(low_end) <= 0:
            return low_end
        if excess(high_end) >= 0:
            return high_end
        return snap(float(brentq(excess, low_end, high_end, xtol=xtol)))

    def snap(root: float) -> float:
        """U jumps only at pairwise differences: return the one the root converged to, exactly."""
        at = np.clip(np.searchsorted(y, x - root), 1, n - 1) if n > 1 else np.zeros(m, dtype=int)
        candidates = np.concatenate((x - y[at], x - y[at - 1] if n > 1 else x - y[at]))
        nearest = float(candidates[np.argmin(np.abs(candidates - root))])
        return nearest if abs(nearest - root) <= 4 * xtol else root

    if sigma == 0 or low_end == high_end:
        return low_end, low_end, low_end
    z = float(norm.ppf(1 - (1 - level) / 2))
    return solve(0.0, 0.0), solve(z, 0.5), solve(-z, -0.5)


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_difference_interval(
    canary_errors: int, canary_requests: int, baseline_errors: int, baseline_requests: int, level: float
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p_canary - p_baseline (two Wilson intervals): well behaved
    at 0 errors and small counts, where the Wald interval collapses to a point."""
    from scipy.stats import norm

    z = float(norm.ppf(1 - (1 - level) / 2))
    p1, p2 = canary_errors / canary_requests, baseline_errors / baseline_requests
    l1, u1 = _wilson(canary_errors, canary_requests, z)
    l2, u2 = _wilson(baseline_errors, baseline_requests, z)
    difference = p1 - p2
    return (
        difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


# -- per-metric classifiers ----------------------------------------------------------------------------


def _g(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.4g}"


def classify_shift(
    canary: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    *,
    alpha: float = 0.01,
    direction: Direction = "increase",
    allowed_increase: float = 1.15,
    allowed_decrease: float = 0.9,
    tolerance: float = 0.0,
    min_samples: int = 50,
    critical: bool = False,
    name: str = "latency",
    source: Source = "requests",
    data: str = "request durations (ms)",
    unit: str = "ms",
) -> MetricResult:
    """Kayenta's MannWhitneyClassifier: High when the one-sided Mann-Whitney p-value is below alpha,
    the lower bound of the Hodges-Lehmann interval is above tolerance x |shift| (so above 0), and the
    mean ratio reaches the allowed increase (the gate is skipped when a mean is 0, as Kayenta does);
    Low symmetrically; fewer than min_samples values on a side is NoData."""
    x, y = _finite(canary), _finite(baseline)
    level = 1 - 2 * alpha
    thresholds: dict[str, float | None] = {
        "alpha": alpha, "allowed_increase": allowed_increase, "allowed_decrease": allowed_decrease,
        "tolerance": tolerance, "min_samples": min_samples,
    }  # fmt: skip
    common = {
        "name": name,
        "source": source,
        "data": data,
        "critical": critical,
        "direction": direction,
        "n_canary": int(x.size),
        "n_baseline": int(y.size),
        "statistic_name": "U",
        "estimate_name": f"hodges_lehmann_shift_{unit}" if unit else "hodges_lehmann_shift",
        "ci_level": level,
        "effect_measure": "mean_ratio",
        "thresholds": thresholds,
        "canary": _describe(x),
        "baseline": _describe(y),
    }
    sides = {"increase": "greater", "decrease": "less", "either": "greater and less"}[direction]
    test = f"Mann-Whitney U, one-sided ({sides})"
    if x.size < min_samples or y.size < min_samples:
        reason = (
            f"too little data: canary has {x.size} values, baseline {y.size}; at least {min_samples} "
            "each are needed (no data is never a pass)"
        )
        return MetricResult(
            test=test, classification="NoData", reason=reason, statistic=None, p_value=None,
            estimate=None, ci_low=None, ci_high=None, effect_size=None, **common,
        )  # fmt: skip
    effect = float(x.mean() / y.mean()) if y.mean() > 0 else math.nan
    if np.unique(np.concatenate((x, y))).size == 1:
        return MetricResult(
            test=test, classification="Pass", reason="every value is identical in both deployments",
            statistic=x.size * y.size / 2.0, p_value=1.0, estimate=0.0, ci_low=0.0, ci_high=0.0,
            effect_size=effect, **common,
        )  # fmt: skip
    from scipy.stats import mannwhitneyu

    p_greater = p_less = 1.0
    if direction in ("increase", "either"):
        result = mannwhitneyu(x, y, alternative="greater", method="auto")
        statistic, p_greater = float(result.statistic), float(result.pvalue)
    if direction in ("decrease", "either"):
        result = mannwhitneyu(x, y, alternative="less", method="auto")
        statistic, p_less = float(result.statistic), float(result.pvalue)
    estimate, low, high = hodges_lehmann(x, y, level)
    band = tolerance * abs(estimate)
    gate_up = math.isnan(effect) or effect >= allowed_increase
    gate_down = math.isnan(effect) or effect <= allowed_decrease
    shift = f"shift {estimate:+.4g}{' ' + unit if unit else ''} ({level * 100:.4g}% CI {low:.4g} to {high:.4g})"
    shift += f", mean ratio {_g(effect)}"
    p_value = min(p_greater, p_less)
    classification: Classification = "Pass"
    if direction in ("increase", "either") and p_greater < alpha and low > band and gate_up:
        classification = "High"
        reason = f"canary higher: p {p_greater:.3g} < alpha {alpha:g}, {shift} >= {allowed_increase:g}"
    elif direction in ("decrease", "either") and p_less < alpha and high < -band and gate_down:
        classification = "Low"
        reason = f"canary lower: p {p_less:.3g} < alpha {alpha:g}, {shift} <= {allowed_decrease:g}"
    elif p_value >= alpha:
        reason = f"no significant {direction}: p {p_value:.3g} >= alpha {alpha:g}; {shift}"
    elif low > band or high < -band:
        reason = f"significant (p {p_value:.3g}) but within the effect-size gate: {shift}"
    elif low > 0 or high < 0:
        reason = f"significant (p {p_value:.3g}) but the CI reaches within {tolerance:g} x |shift| of 0: {shift}"
    else:
        reason = f"p {p_value:.3g} < alpha {alpha:g} but the shift's CI includes 0 (no location shift): {shift}"
    return MetricResult(
        test=test, classification=classification, reason=reason, statistic=statistic,
        p_value=p_value, estimate=estimate, ci_low=low, ci_high=high,
        effect_size=effect, **common,
    )  # fmt: skip


def classify_tail(
    canary: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    *,
    quantile: float = 0.95,
    alpha: float = 0.01,
    allowed_increase: float = 1.15,
    min_samples: int = 500,
    critical: bool = False,
    source: Source = "requests",
) -> MetricResult:
    """Tail latency, a quantile test (Mood's median test at another quantile): the requests of both
    deployments above their pooled `quantile`, compared by a one-sided Fisher exact test (exact given
    the margins when both come from one distribution). High when p is below alpha and the canary's
    quantile over the baseline's reaches allowed_increase; fewer than min_samples a side is NoData."""
    x, y = _finite(canary), _finite(baseline)
    level, label = 1 - 2 * alpha, f"p{quantile * 100:g}"
    thresholds: dict[str, float | None] = {
        "alpha": alpha, "allowed_increase": allowed_increase, "min_samples": min_samples, "quantile": quantile,
    }  # fmt: skip

    def side(values: np.ndarray, above: int | None) -> dict[str, float | None]:
        value = float(np.percentile(values, 100 * quantile)) if values.size else None
        share = above / values.size if above is not None and values.size else None
        return {"n": int(values.size), label: value, "above": above, "share_above": share}

    common = {
        "name": f"latency_{label}",
        "source": source,
        "data": "request durations (ms)",
        "test": f"Fisher exact on requests above the pooled {label}, one-sided (greater)",
        "critical": critical,
        "direction": "increase",
        "n_canary": int(x.size),
        "n_baseline": int(y.size),
        "statistic_name": "odds_ratio",
        "estimate_name": "share_above_difference",
        "ci_level": level,
        "effect_measure": f"{label}_ratio",
        "thresholds": thresholds,
    }
    if x.size < min_samples or y.size < min_samples:
        reason = (
            f"too little data: canary has {x.size} durations, baseline {y.size}; at least {min_samples} "
            "each are needed (no data is never a pass)"
        )
        return MetricResult(
            classification="NoData", reason=reason, statistic=None, p_value=None, estimate=None, ci_low=None,
            ci_high=None, effect_size=None, canary=side(x, None), baseline=side(y, None), **common,
        )  # fmt: skip
    from scipy.stats import fisher_exact

    cut = float(np.percentile(np.concatenate((x, y)), 100 * quantile))
    thresholds["pooled_quantile_ms"] = cut
    above_x, above_y = int((x > cut).sum()), int((y > cut).sum())
    result = fisher_exact([[above_x, x.size - above_x], [above_y, y.size - above_y]], alternative="greater")
    p_value = float(result.pvalue)
    q_x, q_y = float(np.percentile(x, 100 * quantile)), float(np.percentile(y, 100 * quantile))
    effect = q_x / q_y if q_y > 0 else math.nan
    difference = above_x / x.size - above_y / y.size
    low, high = rate_difference_interval(above_x, int(x.size), above_y, int(y.size), level)
    shares = (
        f"{above_x / x.size:.1%} of canary vs {above_y / y.size:.1%} of baseline requests above the pooled "
        f"{label} {cut:.4g} ms; {label} {q_x:.4g} vs {q_y:.4g} ms, ratio {_g(effect)}"
    )
    if p_value < alpha and (math.isnan(effect) or effect >= allowed_increase):
        classification: Classification = "High"
        reason = f"canary tail higher: p {p_value:.3g} < alpha {alpha:g}, {shares} >= {allowed_increase:g}"
    elif p_value < alpha:
        classification = "Pass"
        reason = f"significant (p {p_value:.3g}) but within the effect-size gate: {shares}"
    else:
        classification = "Pass"
        reason = f"no significant tail increase: p {p_value:.3g} >= alpha {alpha:g}; {shares}"
    return MetricResult(
        classification=classification, reason=reason, statistic=float(result.statistic), p_value=p_value,
        estimate=difference, ci_low=low, ci_high=high, effect_size=effect, canary=side(x, above_x),
        baseline=side(y, above_y), **common,
    )  # fmt: skip


def classify_error_counts(
    canary_errors: int,
    canary_requests: int,
    baseline_errors: int,
    baseline_requests: int,
    *,
    alpha: float = 0.01,
    floor: float = 0.003,
    min_requests: int = 300,
    min_errors: int = 5,
    critical: bool = True,
    source: Source = "requests",
) -> MetricResult:
    """High when the one-sided Fisher exact test (canary has the higher 5xx rate) has p below alpha,
    the rate difference reaches the floor and the canary has at least min_errors 5xx; fewer than
    min_requests requests on a side is NoData. A count test sees 8 errors in 720 requests against
    0 in 6,000; a rank test on the same data (per request or per minute) estimates a shift of 0."""
    _check_counts(canary_errors, canary_requests, "canary")
    _check_counts(baseline_errors, baseline_requests, "baseline")
    level = 1 - 2 * alpha

    def side(errors: int, requests: int) -> dict[str, float | None]:
        return {"requests": requests, "errors": errors, "rate": errors / requests if requests else None}

    common = {
        "name": "errors",
        "source": source,
        "data": "5xx vs requests" + (" (summed per-minute counts)" if source == "metrics" else ""),
        "test": "Fisher exact, one-sided (greater)",
        "critical": critical,
        "direction": "increase",
        "n_canary": canary_requests,
        "n_baseline": baseline_requests,
        "statistic_name": "odds_ratio",
        "estimate_name": "rate_difference",
        "ci_level": level,
        "effect_measure": "rate_difference",
        "thresholds": {"alpha": alpha, "floor": floor, "min_requests": min_requests, "min_errors": min_errors},
        "canary": side(canary_errors, canary_requests),
        "baseline": side(baseline_errors, baseline_requests),
    }
    if canary_requests < min_requests or baseline_requests < min_requests:
        reason = (
            f"too few requests: canary {canary_requests}, baseline {baseline_requests}; at least {min_requests} "
            "each are needed (no data is never a pass)"
        )
        return MetricResult(
            classification="NoData", reason=reason, statistic=None, p_value=None, estimate=None,
            ci_low=None, ci_high=None, effect_size=None, **common,
        )  # fmt: skip
    from scipy.stats import fisher_exact

    table = [[canary_errors, canary_requests - canary_errors], [baseline_errors, baseline_requests - baseline_errors]]
    result = fisher_exact(table, alternative="greater")
    p_value = float(result.pvalue)
    difference = canary_errors / canary_requests - baseline_errors / baseline_requests
    low, high = rate_difference_interval(canary_errors, canary_requests, baseline_errors, baseline_requests, level)
    rates = (
        f"5xx {canary_errors}/{canary_requests} ({canary_errors / canary_requests:.3%}) vs "
        f"{baseline_errors}/{baseline_requests} ({baseline_errors / baseline_requests:.3%}), "
        f"difference {difference * 100:+.3f} pp ({level * 100:.4g}% CI {low * 100:+.3f} to {high * 100:+.3f})"
    )
    if p_value < alpha and difference >= floor and canary_errors >= min_errors:
        classification: Classification = "High"
        reason = f"canary has more 5xx: p {p_value:.3g} < alpha {alpha:g}, {rates} >= floor {floor * 100:g} pp"
    elif p_value < alpha and difference >= floor:
        classification = "Pass"
        reason = f"significant (p {p_value:.3g}) but {canary_errors} canary 5xx < {min_errors}, too few: {rates}"
    elif p_value < alpha:
        classification = "Pass"
        reason = f"significant (p {p_value:.3g}) but under the floor of {floor * 100:g} pp: {rates}"
    else:
        classification = "Pass"
        reason = f"no significant rise: p {p_value:.3g} >= alpha {alpha:g}; {rates}"
    return MetricResult(
        classification=classification, reason=reason, statistic=float(result.statistic), p_value=p_value,
        estimate=difference, ci_low=low, ci_high=high, effect_size=difference, **common,
    )  # fmt: skip


def _check_counts(errors: int, requests: int, where: str) -> None:
    if errors < 0 or requests < 0 or errors > requests:
        raise CanaryInputError(f"{where}: expected 0 <= errors <= requests, found errors={errors}, requests={requests}")


# -- reading the two sources ---------------------------------------------------------------------------


def _series_total(values: Sequence[float] | np.ndarray, what: str) -> int:
    array = _finite(values)
    if (array < 0).any():
        raise CanaryInputError(f"{what}: expected counts >= 0 a minute, found {float(array.min())}")
    return round(float(array.sum()))


def _counts(side: Data, where: str) -> tuple[int, int]:
    """(errors, requests) of one deployment's window, checked."""
    if isinstance(side, RequestWindow):
        errors, requests = int(side.errors), int(side.requests)
    else:
        errors = _series_total(side.errors, f"{where} errors")
        requests = _series_total(side.requests, f"{where} requests")
    _check_counts(errors, requests, where)
    return errors, requests


def _latency(side: Data) -> np.ndarray:
    return _finite(side.durations_ms if isinstance(side, RequestWindow) else side.latency_ms)


def _summary(side: Data, where: str) -> SideSummary:
    errors, requests = _counts(side, where)
    values = _latency(side)
    described = _describe(values)
    by_minute = isinstance(side, MinuteMetrics)
    return SideSummary(
        requests=requests,
        errors=errors,
        error_rate=errors / requests if requests else None,
        latency_n=int(values.size),
        latency_mean_ms=described["mean"],
        latency_p50_ms=None if by_minute else described["p50"],
        latency_p95_ms=None if by_minute else described["p95"],
        minute_latency_ms=tuple(float(v) for v in np.asarray(side.latency_ms, dtype=float)) if by_minute else (),
    )


def merge(first: Data, second: Data) -> Data:
    """Two consecutive windows of one deployment as one (the growing window)."""
    if isinstance(first, RequestWindow) and isinstance(second, RequestWindow):
        durations = np.concatenate((_finite(first.durations_ms), _finite(second.durations_ms)))
        return RequestWindow(durations, first.requests + second.requests, first.errors + second.errors)
    if isinstance(first, MinuteMetrics) and isinstance(second, MinuteMetrics):
        if first.percentile != second.percentile:
            raise CanaryInputError(f"cannot merge {first.percentile} and {second.percentile} latency series")

        def join(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> np.ndarray:
            return np.concatenate((np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()))

        return MinuteMetrics(
            join(first.latency_ms, second.latency_ms),
            join(first.requests, second.requests),
            join(first.errors, second.errors),
            first.percentile,
        )
    raise CanaryInputError(f"cannot merge {type(first).__name__} with {type(second).__name__}")


def _check_interval(data: IntervalData, where: str) -> None:
    if type(data.canary) is not type(data.baseline) or not isinstance(data.canary, RequestWindow | MinuteMetrics):
        raise CanaryInputError(
            f"{where}: canary and baseline must both be RequestWindow or both MinuteMetrics, found "
            f"{type(data.canary).__name__} and {type(data.baseline).__name__}"
        )
    if not data.start < data.end:
        raise CanaryInputError(f"{where}: expected start < end, found {data.start} .. {data.end}")


# -- interval ------------------------------------------------------------------------------------------


def _metrics(window: IntervalData, config: CanaryConfig, alpha: float) -> tuple[MetricResult, ...]:
    source = window.source
    if source == "requests":
        data, min_samples = "request durations (ms)", config.min_latency_samples
        allowed_increase = config.latency_allowed_increase
    else:
        assert isinstance(window.canary, MinuteMetrics)
        data, min_samples = f"per-minute {window.canary.percentile} latency (ms)", config.min_latency_minutes
        allowed_increase = config.minute_latency_allowed_increase
    latency = classify_shift(
        _latency(window.canary),
        _latency(window.baseline),
        alpha=alpha,
        direction=config.latency_direction,
        allowed_increase=allowed_increase,
        allowed_decrease=config.latency_allowed_decrease,
        tolerance=config.latency_tolerance,
        min_samples=min_samples,
        critical=config.latency_critical,
        source=source,
        data=data,
    )
    tail = ()
    if source == "requests" and config.tail_quantile is not None:
        tail = (
            classify_tail(
                _latency(window.canary),
                _latency(window.baseline),
                quantile=config.tail_quantile,
                alpha=alpha,
                allowed_increase=config.tail_allowed_increase,
                min_samples=config.min_tail_samples,
                critical=config.latency_critical,
                source=source,
            ),
        )
    canary_errors, canary_requests = _counts(window.canary, "canary")
    baseline_errors, baseline_requests = _counts(window.baseline, "baseline")
    errors = classify_error_counts(
        canary_errors,
        canary_requests,
        baseline_errors,
        baseline_requests,
        alpha=alpha,
        floor=config.error_floor,
        min_requests=config.min_requests,
        min_errors=config.min_errors,
        critical=config.errors_critical,
        source=source,
    )
    return (latency, *tail, errors)


def score_interval(metrics: Sequence[MetricResult], config: CanaryConfig) -> tuple[IntervalOutcome, float | None, str]:
    """(outcome, score, reason) of one interval from its metrics, in this order: a critical metric
    that failed -> Fail; score below fail_score -> Fail; any metric without data -> Inconclusive (no
    data is never a pass, and never a fail); score at least pass_score -> Pass; else Marginal."""
    judged = [m for m in metrics if m.classification != "NoData"]
    passed = sum(m.classification == "Pass" for m in judged)
    score = round(100.0 * passed / len(judged), 2) if judged else None
    critical = [m for m in judged if m.critical and m.failed]
    if critical:
        names = ", ".join(f"{m.name} {m.classification} ({m.reason})" for m in critical)
        return "Fail", score, f"critical metric failed: {names}"
    failing = "; ".join(f"{m.name} {m.classification} ({m.reason})" for m in judged if m.failed)
    if score is not None and score < config.fail_score:
        return "Fail", score, f"score {score:g} < fail score {config.fail_score:g}: {failing}"
    missing = [m for m in metrics if m.classification == "NoData"]
    if missing:
        names = "; ".join(f"{m.name}: {m.reason}" for m in missing)
        return "Inconclusive", score, f"no data for {len(missing)} of {len(metrics)} metrics: {names}"
    if score is not None and score >= config.pass_score:
        return "Pass", score, f"score {score:g} >= pass score {config.pass_score:g}: every metric passed"
    between = f"between fail score {config.fail_score:g} and pass score {config.pass_score:g}"
    return "Marginal", score, f"score {score:g} {between}: {failing}"


def _judge(window: IntervalData, interval: IntervalData, index: int, config: CanaryConfig) -> IntervalResult:
    metrics = _metrics(window, config, config.alpha_at(index))
    outcome, score, reason = score_interval(metrics, config)
    return IntervalResult(
        index=index,
        start=interval.start,
        end=interval.end,
        window_start=window.start,
        source=interval.source,
        outcome=outcome,
        score=score,
        reason=reason,
        metrics=metrics,
        canary=_summary(interval.canary, "canary"),
        baseline=_summary(interval.baseline, "baseline"),
    )


def judge_interval(data: IntervalData, config: CanaryConfig | None = None, *, index: int = 0) -> IntervalResult:
    """One interval judged on its own data (no growing window)."""
    config = config or CanaryConfig()
    _check_interval(data, f"interval {index}")
    return _judge(data, data, index, config)


# -- analysis ------------------------------------------------------------------------------------------


def decision_rule(config: CanaryConfig) -> tuple[str, ...]:
    """The rule the verdict applied, in words (for the report and the audit trail)."""
    window = (
        "each interval is judged on all data since the analysis started (growing window)"
        if config.window == "growing"
        else "each interval is judged on its own data"
    )
    tail = config.tail_quantile
    critical = [n for n, c in (("latency", config.latency_critical), ("errors", config.errors_critical)) if c]
    lifetime, late = config.lifetime_intervals, config.confirm_from + 1
    if config.confirm_alpha is None or late > lifetime:
        level = f"Level: alpha = {config.alpha:g} (one-sided) for every test at every interval."
    else:
        level = (
            f"Level: alpha = {config.alpha:g} (one-sided) for every test in intervals 1-{late - 1} of {lifetime}, "
            f"{config.confirm_alpha:g} in intervals {late}-{lifetime}: the false-fail budget is spent early, and "
            "the later looks, which judge more data, need stronger evidence."
        )
    return (
        f"Canary and baseline are compared over the same window; {window}.",
        level,
        f"Latency: one-sided Mann-Whitney U ({config.latency_direction}); High when p < alpha, the "
        "1 - 2 alpha Hodges-Lehmann interval of the shift excludes 0"
        + (f" by {config.latency_tolerance:g} x |shift|" if config.latency_tolerance else "")
        + " and the mean ratio "
        f"canary/baseline is >= {config.latency_allowed_increase:g} on request durations "
        f"({config.minute_latency_allowed_increase:g} on the per-minute fallback's percentile series); fewer than "
        f"{config.min_latency_samples} "
        f"request durations (or {config.min_latency_minutes} per-minute points) per deployment is NoData.",
        (
            f"Tail latency (request-level data): one-sided Fisher exact test on the requests above the pooled "
            f"p{tail * 100:g}; High when p < alpha and the canary's p{tail * 100:g} over the "
            f"baseline's is >= {config.tail_allowed_increase:g}; fewer than {config.min_tail_samples} request "
            "durations per deployment is NoData."
            if tail is not None
            else "Tail latency: not compared (tail_quantile is None)."
        ),
        f"Errors: one-sided Fisher exact test on 5xx vs requests; High when p < alpha, the 5xx rate "
        f"is at least {config.error_floor * 100:g} percentage points above the baseline's and the canary has "
        f"at least {config.min_errors} 5xx; fewer than {config.min_requests} requests per deployment is NoData.",
        f"Interval: a failed critical metric ({', '.join(critical) or 'none'}) or a score (share of judged "
        f"metrics that pass, 0-100) below {config.fail_score:g} fails it; otherwise a metric with no data makes "
        f"it Inconclusive; a score of at least {config.pass_score:g} passes it; anything between is Marginal.",
        f"Analysis: the first failed interval fails it at once. After {config.lifetime_intervals} intervals "
        "the last one decides: Pass passes, Marginal fails, Inconclusive leaves the analysis Inconclusive. "
        "No data is never a pass.",
    )  # fmt: skip


def judge_analysis(intervals: Sequence[IntervalData], config: CanaryConfig | None = None) -> CanaryVerdict:
    """The analysis so far: intervals in time order, all from one source. Judge again after each
    interval; `finished` says whether the outcome is final."""
    config = config or CanaryConfig()
    if not intervals:
        raise CanaryInputError("an analysis needs at least one interval, found none")
    for i, data in enumerate(intervals):
        _check_interval(data, f"interval {i}")
        if data.source != intervals[0].source:
            raise CanaryInputError(
                f"interval {i}: expected source {intervals[0].source!r} like interval 0, found {data.source!r}; "
                "judge one source for a whole analysis"
            )
        if i and data.start < intervals[i - 1].end:
            raise CanaryInputError(
                f"interval {i}: expected to start at or after {intervals[i - 1].end}, found {data.start}"
            )
    source, rule = intervals[0].source, decision_rule(config)
    verdict = {"source": source, "config": config, "rule": rule}
    results: list[IntervalResult] = []
    window: IntervalData | None = None
    for i, data in enumerate(intervals):
        if window is None or config.window == "interval":
            window = data
        else:
            canary, baseline = merge(window.canary, data.canary), merge(window.baseline, data.baseline)
            window = replace(window, end=data.end, canary=canary, baseline=baseline)
        result = _judge(window, data, i, config)
        results.append(result)
        if result.outcome == "Fail":
            reason = f"interval {i + 1} failed, the analysis stops: {result.reason}"
            return CanaryVerdict("Fail", reason, True, decided_by=i, intervals=tuple(results), **verdict)
    last = results[-1]
    if len(results) < config.lifetime_intervals:
        reason = (
            f"{len(results)} of {config.lifetime_intervals} intervals judged, none failed; the last interval "
            f"decides when the lifetime ends (latest: {last.outcome}: {last.reason})"
        )
        return CanaryVerdict("Inconclusive", reason, False, decided_by=None, intervals=tuple(results), **verdict)
    decided = len(results) - 1
    if last.outcome == "Pass":
        reason = f"no interval failed and the last one passed: {last.reason}"
        return CanaryVerdict("Pass", reason, True, decided_by=decided, intervals=tuple(results), **verdict)
    if last.outcome == "Marginal":
        reason = f"the last interval must pass, it was Marginal: {last.reason}"
        return CanaryVerdict("Fail", reason, True, decided_by=decided, intervals=tuple(results), **verdict)
    reason = f"the lifetime ended inconclusive: {last.reason}"
    return CanaryVerdict("Inconclusive", reason, True, decided_by=decided, intervals=tuple(results), **verdict)
