"""The evaluation gate: is a newly registered model version at least as good as the version serving most traffic,
on a declared evaluation metric, within a declared non-inferiority margin?

A registered version carries its evaluation metrics as model properties (strings, e.g. `auc: "0.81"`). The gate
compares one declared metric of the candidate with the same metric of the baseline (the version the checks layer
found serving most traffic), in a declared direction, allowing a declared margin:

* `higher` is better (AUC, accuracy, F1): pass when `candidate >= baseline - margin`;
* `lower` is better (log loss, RMSE, error rate): pass when `candidate <= baseline + margin`;
* the margin is `absolute` (in the metric's own units: 0.01 AUC) or `relative` (a fraction of the baseline's
  magnitude: 2% of |baseline|), so the threshold is `baseline -/+ margin` or `baseline -/+ margin x |baseline|`.

A candidate exactly at the threshold passes (non-inferiority: "not worse by more than the margin"). The
verdict is one of

* `pass` / `fail`: both values read, compared by the rule;
* `no_metrics`: the candidate does not say the metric (absent, or not a finite number: the property is named);
* `no_baseline`: nothing to compare against (no version serves traffic, or the baseline does not say the
  metric as a finite number).

Plain data in, a `GateVerdict` with every number and the rule in words out. No Azure SDK, no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

PASS, FAIL, NO_BASELINE, NO_METRICS = "pass", "fail", "no_baseline", "no_metrics"
STATUSES = (PASS, FAIL, NO_BASELINE, NO_METRICS)
DIRECTIONS = ("higher", "lower")
MARGIN_KINDS = ("absolute", "relative")

#: a candidate this close to the threshold counts as on it (so 0.80 - 0.01 and 0.79 agree despite binary floats)
_TOLERANCE = 1e-12


class GateSpecError(ValueError):
    """A gate declaration that cannot be judged by: unknown direction or margin kind, negative or absurd margin."""


@dataclass(frozen=True)
class GateSpec:
    """What the gate compares: one metric, which way is better, and how much worse still passes."""

    metric: str
    direction: str = "higher"
    margin: float = 0.01
    margin_kind: str = "absolute"

    def __post_init__(self) -> None:
        if not self.metric.strip():
            raise GateSpecError("the gate metric must be named (e.g. auc)")
        if self.direction not in DIRECTIONS:
            raise GateSpecError(f"direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}")
        if self.margin_kind not in MARGIN_KINDS:
            raise GateSpecError(f"margin kind must be one of {', '.join(MARGIN_KINDS)}, got {self.margin_kind!r}")
        if not math.isfinite(self.margin) or self.margin < 0:
            raise GateSpecError(f"margin must be a finite number >= 0, got {self.margin!r}")
        if self.margin_kind == "relative" and self.margin > 1:
            raise GateSpecError(f"a relative margin is a fraction from 0 to 1 (100%), got {self.margin!r}")

    def threshold(self, baseline: float) -> float:
        """The worst candidate value that still passes against `baseline`."""
        allowance = self.margin * abs(baseline) if self.margin_kind == "relative" else self.margin
        return baseline - allowance if self.direction == "higher" else baseline + allowance

    def passes(self, candidate: float, baseline: float) -> bool:
        limit = self.threshold(baseline)
        slack = _TOLERANCE * max(1.0, abs(limit))
        return candidate >= limit - slack if self.direction == "higher" else candidate <= limit + slack

    def margin_text(self) -> str:
        return f"{self.margin * 100:g}% of |baseline|" if self.margin_kind == "relative" else f"{self.margin:g}"

    def rule(self) -> str:
        """The decision rule in words, for the verdict, the alert and the tag."""
        if self.direction == "higher":
            return (f"{self.metric}: higher is better; pass when candidate >= baseline - {self.margin_text()} "
                    "(non-inferiority)")
        return (f"{self.metric}: lower is better; pass when candidate <= baseline + {self.margin_text()} "
                "(non-inferiority)")


def parse_margin(text: str) -> tuple[float, str]:
    """`"0.01"` -> (0.01, absolute); `"2%"` -> (0.02, relative). Raises GateSpecError naming the text."""
    raw = text.strip()
    relative = raw.endswith("%")
    try:
        value = float(raw[:-1].strip() if relative else raw)
    except ValueError:
        raise GateSpecError(f"margin must be a number (0.01) or a percentage (2%), got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise GateSpecError(f"margin must be a finite number >= 0, got {text!r}")
    if relative:
        if value > 100:
            raise GateSpecError(f"a relative margin is at most 100%, got {text!r}")
        return value / 100, "relative"
    return value, "absolute"


@dataclass(frozen=True)
class GateVerdict:
    """The gate's answer and every number behind it."""

    status: str  # pass | fail | no_baseline | no_metrics
    metric: str
    candidate_id: str
    baseline_id: str | None
    candidate_value: float | None
    baseline_value: float | None
    threshold: float | None
    difference: float | None  # candidate - baseline, in the metric's units
    reason: str
    rule: str
    spec: GateSpec

    def numbers(self) -> dict[str, float | None]:
        return {"candidate": self.candidate_value, "baseline": self.baseline_value, "threshold": self.threshold,
                "difference": self.difference}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge_gate(candidate: Mapping[str, float | str] | None, baseline: Mapping[str, float | str] | None,
               spec: GateSpec, candidate_id: str, baseline_id: str | None) -> GateVerdict:
    """Compare `spec.metric` of the candidate's metrics with the baseline's (module docstring for the rule).

    `candidate` / `baseline` are a version's metrics by name, as numbers or as the strings model properties
    hold; None when there is no such version (no baseline) or it has no metrics at all."""
    rule = spec.rule()

    def verdict(status: str, reason: str, cand: float | None = None, base: float | None = None) -> GateVerdict:
        limit = spec.threshold(base) if base is not None else None
        diff = cand - base if cand is not None and base is not None else None
        return GateVerdict(status, spec.metric, candidate_id, baseline_id, cand, base, limit, diff, reason, rule,
                           spec)

    cand, problem = read_metric(candidate, spec.metric, candidate_id)
    if cand is None:
        return verdict(NO_METRICS, problem)
    if baseline_id is None:
        return verdict(NO_BASELINE, f"{candidate_id} {spec.metric}={cand:g}, but no version of the model serves "
                                    "traffic to compare it with", cand)
    base, problem = read_metric(baseline, spec.metric, baseline_id)
    if base is None:
        return verdict(NO_BASELINE, f"{candidate_id} {spec.metric}={cand:g}, but the baseline cannot be compared: "
                                    f"{problem}", cand)
    limit = spec.threshold(base)
    compare = ">=" if spec.direction == "higher" else "<="
    if spec.passes(cand, base):
        return verdict(PASS, f"{candidate_id} {spec.metric}={cand:g} vs {baseline_id} {base:g}: {cand:g} {compare} "
                             f"{limit:g}, not worse by more than {spec.margin_text()}", cand, base)
    return verdict(FAIL, f"{candidate_id} {spec.metric}={cand:g} vs {baseline_id} {base:g}: worse by "
                         f"{abs(cand - base):g}, more than {spec.margin_text()} ({cand:g} is not {compare} "
                         f"{limit:g})", cand, base)


def read_metric(metrics: Mapping[str, float | str] | None, metric: str, owner: str) -> tuple[float | None, str]:
    """The metric as a finite float, or None and why (absent, or not a number: the property is named).

    The name matches exactly, else case-insensitively (`AUC` for `auc`, `find_metric`)."""
    if not metrics:
        return None, f"{owner} has no metrics (no properties) to read {metric!r} from"
    key = find_metric(metrics, metric)
    if key is None:
        return None, f"{owner} has no property {metric!r} (it has: {', '.join(sorted(metrics))})"
    raw = metrics[key]
    try:
        value = float(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError):
        return None, f"{owner}'s property {key!r} is {raw!r}, not a number"
    if not math.isfinite(value):
        return None, f"{owner}'s property {key!r} is {raw!r}, not a finite number"
    return value, ""


def find_metric(metrics: Mapping[str, Any] | None, metric: str) -> str | None:
    """The key naming `metric`: the exact name, else the first (sorted) that matches ignoring case."""
    if not metrics:
        return None
    if metric in metrics:
        return metric
    return next((k for k in sorted(metrics) if k.lower() == metric.lower()), None)
