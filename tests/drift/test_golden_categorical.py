"""Categorical metrics from profiles equal exact computations over the union of categories."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from monitors.drift import DriftConfig, build_profile, compare
from monitors.drift.conventions import MAX_CATEGORIES, OTHER
from tests.drift.conftest import chunked, exact_categorical


def _draw(rng: np.random.Generator, levels: list[str], weights: list[float], n: int) -> list[str]:
    p = np.asarray(weights, dtype=float)
    return [levels[i] for i in rng.choice(len(levels), size=n, p=p / p.sum())]


def _metrics(ref: list[str], cur: list[str]) -> dict:
    profile = build_profile(chunked({"c": np.array(ref, dtype=object)}, 3_000))
    result = compare(profile, chunked({"c": np.array(cur, dtype=object)}, 2_000), DriftConfig(min_rows=1))
    return result.features["c"].metrics


CASES = {
    "same_mix": (list("abcde"), [5, 4, 3, 2, 1], [5, 4, 3, 2, 1]),
    "reweighted": (list("abcde"), [5, 4, 3, 2, 1], [1, 2, 3, 4, 5]),
    "two_levels": (["yes", "no"], [9, 1], [8, 2]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_categorical_metrics_equal_exact_values(case: str, rng: np.random.Generator) -> None:
    levels, w_ref, w_cur = CASES[case]
    ref, cur = _draw(rng, levels, w_ref, 20_000), _draw(rng, levels, w_cur, 7_000)
    got, want = _metrics(ref, cur), exact_categorical(ref, cur)
    for metric, value in want.items():
        assert got[metric] == pytest.approx(value, rel=1e-9, abs=1e-12), metric


def test_unseen_categories_keep_chi2_finite_and_are_reported(rng: np.random.Generator) -> None:
    ref = _draw(rng, list("abc"), [1, 1, 1], 5_000)
    cur = _draw(rng, list("abcd"), [1, 1, 1, 0.1], 4_000)
    got, want = _metrics(ref, cur), exact_categorical(ref, cur)
    assert np.isfinite(got["chi2_stat"]) and got["chi2_stat"] == pytest.approx(want["chi2_stat"], rel=1e-9)
    assert got["chi2_pvalue"] == pytest.approx(want["chi2_pvalue"], rel=1e-9, abs=1e-300)
    assert got["unseen_share"] == pytest.approx(cur.count("d") / len(cur))
    assert got["linf"] == pytest.approx(want["linf"], rel=1e-12)


def test_integer_and_float_spellings_of_a_category_are_the_same_category() -> None:
    profile = build_profile([{"flag": np.array([0, 1, 1, 0, 1] * 40)}])  # integers, few levels -> categorical
    assert profile.kinds()["flag"] == "categorical"
    result = compare(profile, [{"flag": np.array([0.0, 1.0, 1.0, 0.0, 1.0] * 40)}], DriftConfig(min_rows=1))
    assert result.features["flag"].metrics["unseen_share"] == 0.0
    assert result.features["flag"].metrics["js_distance"] == 0.0


def test_booleans_and_strings_are_inferred_categorical_and_floats_numeric() -> None:
    chunk = {
        "b": pa.array([True, False] * 10),
        "s": pa.array(["x", "y"] * 10),
        "f": pa.array([0.5, 1.5] * 10),
    }
    assert build_profile([chunk]).kinds() == {"b": "categorical", "s": "categorical", "f": "numeric"}


def test_high_cardinality_reference_keeps_top_k_plus_other() -> None:
    names = [f"id{i}" for i in range(MAX_CATEGORIES + 500)]
    values = names + names[:100] * 3  # the first 100 ids are the most frequent
    profile = build_profile([{"c": np.array(values, dtype=object)}])
    table = profile.features["c"]
    assert len(table.counts) == MAX_CATEGORIES and table.truncated
    assert table.other_count == 500 and all(table.counts[f"id{i}"] == 4 for i in range(100))
    result = compare(profile, [{"c": np.array(values, dtype=object)}], DriftConfig(min_rows=1))
    assert result.features["c"].metrics["js_distance"] == 0.0
    assert result.features["c"].approximation["categories_pooled"] is True
    assert OTHER not in table.counts


def test_override_makes_an_integer_column_categorical(rng: np.random.Generator) -> None:
    codes = rng.integers(0, 30, 5_000)
    profile = build_profile([{"region": codes}], categorical=["region"])
    assert profile.kinds() == {"region": "categorical"}
    assert set(profile.features["region"].counts) == {str(v) for v in np.unique(codes)}
