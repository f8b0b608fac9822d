"""Canary judge: a new deployment against the stable one over the same window -> Pass | Fail | Inconclusive.

Public API (imported lazily, so `import monitors.canary` costs nothing until a name is used; numpy
loads with the judge, scipy and matplotlib on first use):

    judge_analysis(intervals, config=None) -> CanaryVerdict       (the verdict so far; .finished)
    judge_interval(data, config=None, *, index=0) -> IntervalResult
    IntervalData(start, end, canary, baseline)                    (canary / baseline: one of)
        RequestWindow(durations_ms, requests, errors)              source "requests" (traffic log)
        MinuteMetrics(latency_ms, requests, errors, percentile)    source "metrics" (fallback)
    CanaryConfig(...)                                              (documented defaults)
    classify_shift(canary, baseline, ...) -> MetricResult          (Mann-Whitney + Hodges-Lehmann)
    classify_tail(canary, baseline, ...) -> MetricResult           (share above the pooled p95, Fisher)
    classify_error_counts(ce, cn, be, bn, ...) -> MetricResult     (Fisher exact + floor)
    CanaryVerdict / IntervalResult / MetricResult / SideSummary    (.to_dict() for JSON)
    render_report(verdict, *, title=..., canary_name=..., baseline_name=...) -> str  (HTML)

No Azure import, no I/O, no clock: interval bounds are passed in.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CanaryConfig": "monitors.canary.judge",
    "CanaryInputError": "monitors.canary.judge",
    "CanaryVerdict": "monitors.canary.judge",
    "IntervalData": "monitors.canary.judge",
    "IntervalResult": "monitors.canary.judge",
    "MetricResult": "monitors.canary.judge",
    "MinuteMetrics": "monitors.canary.judge",
    "RequestWindow": "monitors.canary.judge",
    "SideSummary": "monitors.canary.judge",
    "classify_error_counts": "monitors.canary.judge",
    "classify_shift": "monitors.canary.judge",
    "classify_tail": "monitors.canary.judge",
    "decision_rule": "monitors.canary.judge",
    "hodges_lehmann": "monitors.canary.judge",
    "judge_analysis": "monitors.canary.judge",
    "judge_interval": "monitors.canary.judge",
    "merge": "monitors.canary.judge",
    "rate_difference_interval": "monitors.canary.judge",
    "score_interval": "monitors.canary.judge",
    "render_report": "monitors.canary.report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'monitors.canary' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
