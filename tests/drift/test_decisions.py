"""Decisions: thresholds per feature and method, Benjamini-Hochberg across features, data-set flag."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.stats import false_discovery_control

from monitors.drift import BadInputError, DatasetProfile, DriftConfig, FeatureRule, build_profile, compare
from monitors.drift.decisions import benjamini_hochberg


def _profile_and_window(
    rng: np.random.Generator, shifts: dict[str, float], n: int = 5_000
) -> tuple[DatasetProfile, dict[str, np.ndarray]]:
    reference = build_profile([{name: rng.normal(0, 1, n) for name in shifts}])
    window = {name: rng.normal(shift, 1, n) for name, shift in shifts.items()}
    return reference, window


def test_bh_adjusted_p_values_match_scipy() -> None:
    p = [0.01, 0.04, 0.03, 0.2, 0.5, 0.0001, 0.049, 0.9]
    assert benjamini_hochberg(p) == pytest.approx(false_discovery_control(p, method="bh").tolist(), rel=1e-12)


@pytest.mark.parametrize("rule", ["calibrated", "azureml"])
def test_p_value_decisions_use_bh_across_features(rng: np.random.Generator, rule: str) -> None:
    shifts = {f"f{i}": 0.0 for i in range(8)} | {"moved": 0.2}
    reference, window = _profile_and_window(rng, shifts)
    config = DriftConfig(rule=rule, numeric_method="ks_pvalue")
    result = compare(reference, [window], config)
    pvalues = [result.features[n].metrics["ks_pvalue"] for n in shifts]
    adjusted = false_discovery_control(pvalues, method="bh")
    for name, p_adj in zip(shifts, adjusted, strict=True):
        feature = result.features[name]
        assert feature.decision.p_adjusted == pytest.approx(p_adj, rel=1e-9)
        assert feature.drifted == (p_adj <= config.fdr_alpha)
    assert result.features["moved"].drifted and "BH-adjusted" in result.features["moved"].decision.reason


def test_per_feature_method_and_threshold_override_the_defaults(rng: np.random.Generator) -> None:
    reference, window = _profile_and_window(rng, {"a": 0.15, "b": 0.15})
    config = DriftConfig(
        features={"b": FeatureRule(threshold=0.5), "a": FeatureRule(method="psi", threshold=0.01)}
    )
    result = compare(reference, [window], config)
    assert (result.features["a"].decision.method, result.features["a"].decision.threshold) == ("psi", 0.01)
    assert result.features["a"].drifted
    assert result.features["b"].decision.threshold == 0.5 and not result.features["b"].drifted


def test_a_method_for_the_wrong_kind_is_bad_input(rng: np.random.Generator) -> None:
    reference, window = _profile_and_window(rng, {"a": 0.0})
    with pytest.raises(BadInputError, match=r"'a'.*linf.*numeric"):
        compare(reference, [window], DriftConfig(features={"a": FeatureRule(method="linf")}))


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValidationError):
        DriftConfig(numeric_threshold=0)
    with pytest.raises(ValidationError):
        DriftConfig(importance={"a": -1.0})
    with pytest.raises(ValidationError):
        DriftConfig(unknown_setting=1)  # type: ignore[call-arg]


def test_dataset_drifts_at_thirty_percent_of_features_or_more(rng: np.random.Generator) -> None:
    shifts = {f"f{i}": (1.0 if i < 3 else 0.0) for i in range(10)}
    reference, window = _profile_and_window(rng, shifts)
    result = compare(reference, [window])
    assert result.dataset.drift_share == pytest.approx(0.3) and result.dataset.drifted
    assert not compare(reference, [window], DriftConfig(drift_share=0.31)).dataset.drifted


def test_importance_weights_the_drift_share(rng: np.random.Generator) -> None:
    shifts = {"key": 1.0, "minor1": 0.0, "minor2": 0.0, "minor3": 0.0}
    reference, window = _profile_and_window(rng, shifts)
    weights = {"key": 7.0, "minor1": 1.0, "minor2": 1.0, "minor3": 1.0}
    result = compare(reference, [window], DriftConfig(importance=weights, drift_share=0.5))
    assert (
        result.dataset.drift_share == pytest.approx(0.7)
        and result.dataset.drifted
        and result.dataset.weighted
    )
    assert not compare(reference, [window], DriftConfig(drift_share=0.5)).dataset.drifted


def test_conventions_are_written_into_every_result(rng: np.random.Generator) -> None:
    reference, window = _profile_and_window(rng, {"a": 0.0})
    conventions = compare(reference, [window], DriftConfig(fdr_alpha=0.01)).to_dict()["conventions"]
    assert "log base 2" in conventions["js_distance"] and "1e-05" not in conventions["psi"]
    assert "0.0001" in conventions["psi"] and "population std" in conventions["wasserstein_norm"]
    assert conventions["settings"]["fdr_alpha"] == 0.01 and conventions["profile_version"] == 1
