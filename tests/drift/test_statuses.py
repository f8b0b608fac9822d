"""Every feature gets exactly one status; nothing in the data makes a run raise."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from monitors.drift import Batch, DatasetProfile, DriftConfig, build_profile, compare


@pytest.fixture
def reference(rng: np.random.Generator) -> DatasetProfile:
    n = 5_000
    return build_profile(
        [
            {
                "x": rng.normal(0, 1, n),
                "c": np.array(list("abc"), dtype=object)[rng.integers(0, 3, n)],
                "const": np.full(n, 7.25),
                "label": np.full(n, "only", dtype=object),
                "empty": pa.nulls(n),
                "gone": rng.normal(0, 1, n),
            }
        ]
    )


def _current(rng: np.random.Generator, n: int = 4_000, **overrides: object) -> dict[str, object]:
    columns: dict[str, object] = {
        "x": rng.normal(0, 1, n),
        "c": np.array(list("abc"), dtype=object)[rng.integers(0, 3, n)],
        "const": np.full(n, 7.25),
        "label": np.full(n, "only", dtype=object),
        "empty": pa.nulls(n),
        "gone": rng.normal(0, 1, n),
    }
    columns.update(overrides)
    return {k: v for k, v in columns.items() if v is not None}


def test_same_distribution_is_ok(reference: DatasetProfile, rng: np.random.Generator) -> None:
    result = compare(reference, [_current(rng)])
    assert result.features["x"].status == "ok" and not result.features["x"].drifted
    assert result.features["c"].status == "ok"


def test_shifted_distribution_is_drift(reference: DatasetProfile, rng: np.random.Generator) -> None:
    result = compare(reference, [_current(rng, x=rng.normal(0.8, 1, 4_000))])
    assert result.features["x"].status == "drift" and result.features["x"].drifted


def test_tiny_window_is_insufficient_data_with_the_size_it_needs(
    reference: DatasetProfile, rng: np.random.Generator
) -> None:
    result = compare(reference, [_current(rng, n=12, x=rng.normal(3, 1, 12))])
    feature = result.features["x"]
    assert feature.status == "insufficient_data" and not feature.drifted
    assert feature.decision.n_min > 12 and f"{feature.decision.n_min:.0f}" in feature.decision.reason
    assert feature.metrics["wasserstein_norm"] is not None  # the numbers are still shown


def test_constant_in_both_is_constant(reference: DatasetProfile, rng: np.random.Generator) -> None:
    result = compare(reference, [_current(rng)])
    assert result.features["const"].status == "constant"
    assert result.features["label"].status == "constant"
    assert result.features["const"].metrics["wasserstein_norm"] == 0.0


def test_constant_reference_with_a_changed_current_is_judged_and_drifts(
    reference: DatasetProfile, rng: np.random.Generator
) -> None:
    result = compare(reference, [_current(rng, const=np.full(4_000, 7.5))])
    assert result.features["const"].status == "drift"
    assert np.isfinite(result.features["const"].metrics["wasserstein_norm"])


def test_column_absent_from_the_window_is_missing_column(
    reference: DatasetProfile, rng: np.random.Generator
) -> None:
    result = compare(reference, [_current(rng, gone=None)])
    assert result.features["gone"].status == "missing_column"
    assert result.dataset.schema_changed


def test_column_only_in_the_window_is_new_column(reference: DatasetProfile, rng: np.random.Generator) -> None:
    result = compare(reference, [_current(rng, extra=rng.normal(0, 1, 4_000))])
    assert result.features["extra"].status == "new_column" and result.features["extra"].n_cur == 4_000


def test_numbers_turned_into_text_is_type_changed_with_where(
    reference: DatasetProfile, rng: np.random.Generator
) -> None:
    current = _current(rng, x=np.array([f"{v:.3f}" for v in rng.normal(0, 1, 4_000)], dtype=object))
    result = compare(reference, [Batch(current, 4_000, "cur.csv", 1)])
    feature = result.features["x"]
    assert feature.status == "type_changed" and not feature.drifted
    assert "string" in feature.decision.reason and "cur.csv row 1" in feature.decision.reason


def test_all_null_reference_column_is_all_null(reference: DatasetProfile, rng: np.random.Generator) -> None:
    result = compare(reference, [_current(rng, empty=rng.normal(0, 1, 4_000))])
    assert result.features["empty"].status == "all_null"
    assert result.features["empty"].kind == "unknown"


def test_all_null_window_column_is_all_null(reference: DatasetProfile, rng: np.random.Generator) -> None:
    result = compare(reference, [_current(rng, x=np.full(4_000, np.nan))])
    assert result.features["x"].status == "all_null"
    assert result.features["x"].metrics["null_rate_cur"] == 1.0


def test_empty_window_is_insufficient_data_for_every_feature(reference: DatasetProfile) -> None:
    result = compare(reference, [])
    assert {f.status for f in result.features.values()} == {"insufficient_data"}
    assert result.dataset.n_features == 0 and not result.dataset.drifted


def test_non_verdict_statuses_stay_out_of_the_drift_share(
    reference: DatasetProfile, rng: np.random.Generator
) -> None:
    result = compare(reference, [_current(rng, gone=None, x=rng.normal(2, 1, 4_000))])
    # judged: x (drift), c (ok), const and label (constant); not: gone, empty
    assert result.dataset.n_features == 4 and result.dataset.n_drifted == 1
    assert result.dataset.drift_share == pytest.approx(0.25)
    assert result.dataset.statuses == {"ok": 1, "drift": 1, "constant": 2, "missing_column": 1, "all_null": 1}


@pytest.mark.parametrize("rule", ["calibrated", "azureml"])
def test_edge_cases_get_the_same_statuses_under_every_rule(
    reference: DatasetProfile, rng: np.random.Generator, rule: str
) -> None:
    x_with_nulls = rng.normal(0, 1, 4_000)
    x_with_nulls[::3] = np.nan
    window = _current(
        rng,
        gone=None,
        extra=rng.normal(0, 1, 4_000),
        x=x_with_nulls,
        c=np.array(["a", None, "b", "c"] * 1_000, dtype=object),
    )
    result = compare(reference, [window], DriftConfig(rule=rule))
    statuses = {name: f.status for name, f in result.features.items()}
    assert statuses == {
        "x": "ok",
        "c": "ok",
        "const": "constant",
        "label": "constant",
        "empty": "all_null",
        "gone": "missing_column",
        "extra": "new_column",
    }
    moved = compare(reference, [_current(rng, const=np.full(4_000, 7.5))], DriftConfig(rule=rule))
    assert moved.features["const"].status == "drift"
    empty = compare(reference, [], DriftConfig(rule=rule))
    assert {f.status for f in empty.features.values()} == {"insufficient_data"}
    typed = _current(rng, x=np.array([f"{v:.3f}" for v in rng.normal(0, 1, 4_000)], dtype=object))
    assert compare(reference, [typed], DriftConfig(rule=rule)).features["x"].status == "type_changed"
