"""Plain-data builders for the canary tests: seeded request windows, per-minute metrics, intervals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from monitors.canary import IntervalData, MinuteMetrics, RequestWindow

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MEDIAN_MS, SIGMA = 80.0, 0.5


def durations(rng: np.random.Generator, n: int, *, scale: float = 1.0, sigma: float = SIGMA) -> np.ndarray:
    """Lognormal request durations in whole ms (the traffic log's RequestDurationMs is an integer)."""
    return np.round(scale * rng.lognormal(np.log(MEDIAN_MS), sigma, n))


def requests(
    rng: np.random.Generator, n: int, *, error_rate: float = 0.001, scale: float = 1.0, sigma: float = SIGMA
) -> RequestWindow:
    return RequestWindow(durations(rng, n, scale=scale, sigma=sigma), n, int(rng.binomial(n, error_rate)))


def minutes(
    rng: np.random.Generator, rpm: int, n_minutes: int = 5, *, error_rate: float = 0.001, scale: float = 1.0
) -> MinuteMetrics:
    """Per-minute P95, requests and 5xx, computed from simulated requests as Azure Monitor reports them."""
    p95, counts, errors = [], [], []
    for _ in range(n_minutes):
        values = durations(rng, rpm, scale=scale)
        p95.append(float(np.percentile(values, 95)))
        counts.append(rpm)
        errors.append(int(rng.binomial(rpm, error_rate)))
    return MinuteMetrics(p95, counts, errors, "P95")


def interval(
    canary: RequestWindow | MinuteMetrics, baseline: RequestWindow | MinuteMetrics, k: int = 0
) -> IntervalData:
    """The k-th 5-minute interval of an analysis that started at T0."""
    start = T0 + timedelta(minutes=5 * k)
    return IntervalData(start, start + timedelta(minutes=5), canary, baseline)
