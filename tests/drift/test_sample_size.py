"""The minimum sample size rule: checked against simulated no-drift windows, and enforced."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from monitors.drift import DatasetProfile, DriftConfig, build_profile, compare
from monitors.drift.engine import evaluate
from monitors.drift.samplesize import minimum_rows, n_eff_needed
from monitors.drift.window import profile_window


def _null_quantile(
    reference: DatasetProfile, draw: Callable[[int], np.ndarray], n: int, metric: str, reps: int = 150
) -> float:
    values = []
    for _ in range(reps):
        window = profile_window(reference, [{"x": draw(n)}])
        values.append(evaluate(reference, window, DriftConfig(min_rows=1)).features["x"].metrics[metric])
    return float(np.quantile(values, 0.95))


@pytest.mark.parametrize("metric", ["wasserstein_norm", "js_distance", "psi", "ks_stat"])
def test_at_n_min_a_no_drift_window_stays_under_the_threshold_and_well_below_it_does_not(metric: str) -> None:
    rng = np.random.default_rng(11)
    draw = lambda n: rng.lognormal(0, 0.8, n)  # noqa: E731 - a skewed reference, not a textbook normal
    reference = build_profile([{"x": draw(200_000)}])
    threshold = 0.1 if metric != "psi" else 0.05
    n_min = minimum_rows(n_eff_needed(metric, threshold, reference.features["x"], 0.95), 200_000, 1)
    assert 50 < n_min < 5_000
    assert _null_quantile(reference, draw, int(n_min), metric) <= threshold * 1.15
    assert _null_quantile(reference, draw, int(n_min) // 4, metric) > threshold


def test_js_rule_for_categories_matches_simulation() -> None:
    rng = np.random.default_rng(5)
    levels = np.array([f"l{i}" for i in range(20)], dtype=object)
    weights = np.linspace(1, 3, 20) / np.linspace(1, 3, 20).sum()
    draw = lambda n: levels[rng.choice(20, n, p=weights)]  # noqa: E731
    reference = build_profile([{"x": draw(100_000)}])
    n_min = minimum_rows(n_eff_needed("js_distance", 0.1, reference.features["x"], 0.95), 100_000, 1)
    assert _null_quantile(reference, draw, int(n_min), "js_distance") <= 0.1 * 1.1
    assert _null_quantile(reference, draw, int(n_min) // 4, "js_distance") > 0.1


AZUREML = DriftConfig(rule="azureml")


def test_windows_below_n_min_are_insufficient_data_and_above_are_judged(rng: np.random.Generator) -> None:
    reference = build_profile([{"x": rng.normal(0, 1, 50_000)}])
    small = compare(reference, [{"x": rng.normal(0, 1, 100)}], AZUREML).features["x"]
    large = compare(reference, [{"x": rng.normal(0, 1, 3_000)}], AZUREML).features["x"]
    assert small.status == "insufficient_data" and 100 < small.decision.n_min < 3_000
    assert large.status == "ok" and large.decision.n_min == small.decision.n_min


def test_a_reference_too_small_for_the_threshold_never_becomes_sufficient(rng: np.random.Generator) -> None:
    reference = build_profile([{"x": rng.normal(0, 1, 40)}])
    feature = compare(reference, [{"x": rng.normal(0, 1, 100_000)}], AZUREML).features["x"]
    assert feature.status == "insufficient_data" and feature.decision.n_min is None
    assert "reference is too small" in feature.decision.reason


def test_the_calibrated_rule_judges_small_windows_from_min_rows_on_both_sides(
    rng: np.random.Generator,
) -> None:
    reference = build_profile([{"x": rng.normal(0, 1, 50_000)}])
    tiny = compare(reference, [{"x": rng.normal(0, 1, 29)}]).features["x"]
    small = compare(reference, [{"x": rng.normal(0, 1, 100)}]).features["x"]
    moved = compare(reference, [{"x": rng.normal(1, 1, 100)}]).features["x"]
    assert tiny.status == "insufficient_data" and tiny.decision.n_min == 30 and "got 29" in tiny.decision.reason
    assert small.status == "ok" and small.decision.n_min == 30
    assert moved.status == "drift" and moved.decision.p_adjusted < 0.01
    few = build_profile([{"x": rng.normal(0, 1, 29)}])
    feature = compare(few, [{"x": rng.normal(0, 1, 1_000)}]).features["x"]
    assert feature.status == "insufficient_data" and feature.decision.n_min is None
    assert "reference has fewer than min_rows=30" in feature.decision.reason


def test_p_value_methods_need_only_the_floor(rng: np.random.Generator) -> None:
    reference = build_profile([{"x": rng.normal(0, 1, 5_000)}])
    config = DriftConfig(numeric_method="ks_pvalue", min_rows=40)
    assert (
        compare(reference, [{"x": rng.normal(0, 1, 39)}], config).features["x"].status == "insufficient_data"
    )
    assert compare(reference, [{"x": rng.normal(0, 1, 40)}], config).features["x"].status == "ok"
