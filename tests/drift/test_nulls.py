"""Nulls are dropped per column, never whole rows, and reported as rates."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from monitors.drift import DriftConfig, build_profile, compare
from tests.drift.conftest import exact_numeric


def test_a_null_in_one_column_does_not_drop_the_row_for_another(rng: np.random.Generator) -> None:
    n = 10_000
    x, y = rng.normal(0, 1, n), rng.normal(0, 1, n)
    y_cur = rng.normal(0, 1, n)
    x_cur = rng.normal(0.5, 1, n)
    y_cur[x_cur > 0.8] = np.nan  # nulls in y correlated with x: dropping rows would bias x
    result = compare(build_profile([{"x": x, "y": y}]), [{"x": x_cur, "y": y_cur}])
    assert result.features["x"].n_cur == n
    assert result.features["x"].metrics["wasserstein_norm"] == pytest.approx(
        exact_numeric(x, x_cur)["wasserstein_norm"], abs=0.002
    )
    assert result.features["y"].n_cur == int(np.isfinite(y_cur).sum())


def test_null_rates_are_shares_of_rows_on_each_side(rng: np.random.Generator) -> None:
    ref = rng.normal(0, 1, 1_000)
    ref[:100] = np.nan
    cur = pa.array([None if i % 4 == 0 else float(v) for i, v in enumerate(rng.normal(0, 1, 800))])
    feature = compare(build_profile([{"x": ref}]), [{"x": cur}]).features["x"]
    assert feature.metrics["null_rate_ref"] == pytest.approx(0.1)
    assert feature.metrics["null_rate_cur"] == pytest.approx(0.25)
    assert (feature.n_ref, feature.n_cur) == (900, 600)


def test_nan_and_infinities_count_as_null(rng: np.random.Generator) -> None:
    cur = rng.normal(0, 1, 1_000)
    cur[:10], cur[10:20], cur[20:30] = np.nan, np.inf, -np.inf
    feature = compare(build_profile([{"x": rng.normal(0, 1, 1_000)}]), [{"x": cur}]).features["x"]
    assert feature.n_cur == 970 and feature.metrics["null_rate_cur"] == pytest.approx(0.03)
    assert np.isfinite(feature.metrics["wasserstein_norm"])


def test_categorical_nulls_are_not_a_category(rng: np.random.Generator) -> None:
    ref = np.array(["a", "b", None] * 300, dtype=object)
    cur = np.array(["a", "b", None, None] * 200, dtype=object)
    feature = compare(build_profile([{"c": ref}]), [{"c": cur}], DriftConfig(min_rows=1)).features["c"]
    assert feature.metrics["js_distance"] == 0.0 and feature.metrics["unseen_share"] == 0.0
    assert feature.metrics["null_rate_cur"] == pytest.approx(0.5)


def test_a_column_missing_from_some_chunks_counts_those_rows_as_null(rng: np.random.Generator) -> None:
    reference = build_profile([{"x": rng.normal(0, 1, 2_000), "y": rng.normal(0, 1, 2_000)}])
    chunks = [{"x": rng.normal(0, 1, 500), "y": rng.normal(0, 1, 500)}, {"x": rng.normal(0, 1, 1_500)}]
    feature = compare(reference, chunks).features["y"]
    assert feature.status != "missing_column" and feature.metrics["null_rate_cur"] == pytest.approx(0.75)
