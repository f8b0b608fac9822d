"""The verdict of a drift run and its evidence, shaped like the CLI's JSON.

`DriftResult.to_dict()` is the contract with the rest of the product (alerts, audit, the CLI):
{"features": {NAME: {"kind", "status", "drifted", "metrics", "n_ref", "n_cur", ...}},
 "dataset": {"drift_share", "drifted", "n_features", ...}, "conventions": {...}}.
The profiles are kept on the object (not in the dict) so the HTML report can plot them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from monitors.drift.profile import DatasetProfile


def _clean(value: Any) -> Any:
    """JSON has no NaN / inf: a metric that cannot be computed is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


@dataclass
class Decision:
    method: str | None
    threshold: float | None
    value: float | None
    rule: str
    reason: str
    n_min: int | None = None  # None: not judged, or no window size suffices (reference too small)
    p_adjusted: float | None = None
    test: str | None = None  # the p-value the decision rests on (the method itself, or the rule's test)
    p_value: float | None = None


@dataclass
class FeatureResult:
    name: str
    kind: str
    status: str
    drifted: bool
    metrics: dict[str, float | None]
    n_ref: int
    n_cur: int
    decision: Decision
    summary: dict[str, Any] = field(default_factory=dict)
    approximation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "kind": self.kind,
                "status": self.status,
                "drifted": self.drifted,
                "metrics": self.metrics,
                "n_ref": self.n_ref,
                "n_cur": self.n_cur,
                "decision": vars(self.decision),
                "summary": self.summary,
                "approximation": self.approximation,
            }
        )


@dataclass
class DatasetResult:
    drift_share: float
    drifted: bool
    n_features: int  # features with a verdict (ok, drift, constant): the drift share's denominator
    n_drifted: int
    threshold: float
    weighted: bool
    statuses: dict[str, int]
    schema_changed: bool
    n_rows_ref: int
    n_rows_cur: int

    def to_dict(self) -> dict[str, Any]:
        return _clean(dict(vars(self)))


@dataclass
class DriftResult:
    features: dict[str, FeatureResult]
    dataset: DatasetResult
    conventions: dict[str, Any]
    reference: DatasetProfile | None = field(default=None, repr=False)
    current: DatasetProfile | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": {name: f.to_dict() for name, f in self.features.items()},
            "dataset": self.dataset.to_dict(),
            "conventions": _clean(self.conventions),
        }

    @property
    def drifted(self) -> bool:
        return self.dataset.drifted
