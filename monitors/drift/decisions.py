"""Decision settings and the rules that turn metrics into drifted / not drifted.

Two rules, chosen with `DriftConfig.rule` and named in every result:

* `calibrated` (default; see `calibrated_drifted`): a feature drifts when its change is practically
  large (decision metric > threshold) AND significant (its test's p-value, Benjamini-Hochberg
  adjusted across the features, <= fdr_alpha). False alarms stay under fdr_alpha at every window
  size, so small windows are judged instead of withheld.
* `azureml`: Azure ML's fixed thresholds (wasserstein_norm > 0.1 numeric, js_distance > 0.1
  categorical), judged only from the size n_min at which a no-drift window stays under the threshold
  (samplesize.py). Kept so that users get the numbers Azure ML studio shows.

Under both, any feature can use another method or threshold, p-value methods are judged on
Benjamini-Hochberg adjusted p-values, and the data-set flag is a (optionally importance-weighted)
share of drifted features. Nothing here reads data or computes a metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitors.drift.conventions import (
    AZUREML,
    CALIBRATED,
    DISTANCE_METHODS,
    PVALUE_METHOD_BY_KIND,
    PVALUE_METHODS,
    TEST_BY_KIND,
)
from monitors.drift.errors import BadInputError
from monitors.drift.samplesize import NULL_LEVELS

NumericMethod = Literal["psi", "js_distance", "wasserstein_norm", "ks_stat", "ks_pvalue"]
CategoricalMethod = Literal["psi", "js_distance", "linf", "unseen_share", "chi2_pvalue"]
Rule = Literal["calibrated", "azureml"]

# Defaults that depend on the rule, filled in before validation (an explicit value always wins):
# calibrated detects a 20% re-weighting of categories (js_distance ~0.07-0.09) and holds false alarms
# at 1% per feature; azureml keeps Azure ML's js_distance 0.1 and the usual alpha 0.05.
RULE_DEFAULTS: dict[str, dict[str, float]] = {
    CALIBRATED: {"categorical_threshold": 0.05, "fdr_alpha": 0.01},
    AZUREML: {"categorical_threshold": 0.1, "fdr_alpha": 0.05},
}


class FeatureRule(BaseModel):
    """Per-feature override of the decision method and/or threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    method: NumericMethod | CategoricalMethod | None = None
    threshold: float | None = Field(default=None, gt=0)


class DriftConfig(BaseModel):
    """How drift is decided. Every field is echoed into the result's conventions.

    `rule` picks the decision rule (module docstring); `categorical_threshold` and `fdr_alpha`
    default per rule (RULE_DEFAULTS); `null_quantile` only matters to the azureml rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rule: Rule = CALIBRATED
    numeric_method: NumericMethod = "wasserstein_norm"
    numeric_threshold: float = Field(default=0.1, gt=0)
    categorical_method: CategoricalMethod = "js_distance"
    categorical_threshold: float = Field(default=RULE_DEFAULTS[CALIBRATED]["categorical_threshold"], gt=0)
    features: dict[str, FeatureRule] = Field(default_factory=dict)
    fdr_alpha: float = Field(default=RULE_DEFAULTS[CALIBRATED]["fdr_alpha"], gt=0, lt=1)
    drift_share: float = Field(default=0.3, gt=0, le=1)
    importance: dict[str, float] | None = None
    null_quantile: float = Field(default=0.95, ge=NULL_LEVELS[0], le=NULL_LEVELS[-1])
    min_rows: int = Field(default=30, ge=1)
    exact: bool = False
    exact_max_values: int = Field(default=50_000_000, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _rule_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {**RULE_DEFAULTS.get(data.get("rule", CALIBRATED), {}), **data}
        return data

    @field_validator("importance")
    @classmethod
    def _non_negative(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and any(w < 0 for w in value.values()):
            raise ValueError("feature importances must be >= 0")
        return value

    def rule_for(self, name: str, kind: str) -> tuple[str, float]:
        """(method, threshold) for a feature; for p-value methods the threshold is fdr_alpha."""
        rule = self.features.get(name, FeatureRule())
        default_method = self.numeric_method if kind == "numeric" else self.categorical_method
        default_threshold = self.numeric_threshold if kind == "numeric" else self.categorical_threshold
        method = rule.method or default_method
        allowed = (*DISTANCE_METHODS.get(kind, ()), PVALUE_METHOD_BY_KIND.get(kind))
        if method not in allowed:
            raise BadInputError(
                f"method {method!r} does not apply to a {kind} feature (use one of "
                f"{', '.join(a for a in allowed if a)})",
                column=name,
            )
        if method in PVALUE_METHODS:
            if rule.threshold is not None:
                raise BadInputError("p-value methods use fdr_alpha, not a per-feature threshold", column=name)
            return method, self.fdr_alpha
        same_method = rule.method is None or rule.method == default_method
        fallback = default_threshold if same_method else _DEFAULT_THRESHOLDS[method]
        return method, rule.threshold if rule.threshold is not None else fallback

    def test_for(self, method: str, kind: str) -> str | None:
        """The p-value a decision waits for: the method itself for p-value methods, and under the
        calibrated rule the kind's test behind every distance method; None: decided on the value."""
        if method in PVALUE_METHODS:
            return method
        return TEST_BY_KIND[kind] if self.rule == CALIBRATED else None

    def weight(self, name: str) -> float:
        if self.importance is None:
            return 1.0
        return float(self.importance.get(name, 0.0))

    def settings(self) -> dict[str, object]:
        return self.model_dump(mode="json")


# Threshold used when a feature switches to a method without giving one (common rules of thumb).
_DEFAULT_THRESHOLDS = {
    "psi": 0.2,
    "js_distance": 0.1,
    "wasserstein_norm": 0.1,
    "ks_stat": 0.1,
    "linf": 0.1,
    "unseen_share": 0.05,
}


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """BH step-up adjusted p-values (monotone, capped at 1), in input order."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, pvalues[i] * m / rank)
        adjusted[i] = min(running, 1.0)
    return adjusted


def distance_drifted(value: float, threshold: float) -> bool:
    """The azureml rule: a fixed threshold on the distance (valid only from n_min, samplesize.py)."""
    return value > threshold


def calibrated_drifted(value: float, threshold: float, p_adjusted: float, alpha: float) -> bool:
    """The calibrated rule: practically large AND significant after Benjamini-Hochberg.

    Why: a fixed distance threshold alone raises false alarms on small windows (sampling noise
    inflates every distance: normalized Wasserstein's no-drift 95th percentile is ~0.15 at 200 rows)
    and, to avoid them, must withhold windows below n_min; a p-value alone flags negligible changes
    on large windows (a 0.02-sigma shift is "significant" at a million rows). Requiring both bounds
    false alarms by the test's level at every size (BH across features keeps many features from
    multiplying them) and ignores changes too small to matter however large the window, so only
    windows too small for the test itself (min_rows) are withheld. bench/drift_calibration.py
    measures false alarms, withheld share and power for both rules."""
    return value > threshold and p_adjusted <= alpha
