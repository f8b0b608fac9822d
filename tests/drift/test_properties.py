"""Hypothesis properties: metric bounds, symmetry where it holds, zero for identical data, binned
values within their stated error of the exact ones, merge equal to the union."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from monitors.drift import DriftConfig, build_profile, compare
from tests.drift.conftest import exact_numeric

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOOSE = DriftConfig(min_rows=1)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
integers = st.integers(min_value=-20, max_value=20).map(float)
samples = st.one_of(
    arrays(np.float64, st.integers(1, 300), elements=finite),
    arrays(np.float64, st.integers(1, 300), elements=integers),  # ties
)
labels = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "<x>"]), min_size=1, max_size=200)


def _numeric(ref: np.ndarray, cur: np.ndarray) -> tuple[dict, dict]:
    feature = compare(build_profile([{"x": ref}], numeric=["x"]), [{"x": cur}], LOOSE).features["x"]
    return feature.metrics, feature.approximation


@SETTINGS
@given(samples, samples)
def test_numeric_metrics_stay_within_their_ranges(ref: np.ndarray, cur: np.ndarray) -> None:
    m, _ = _numeric(ref, cur)
    assert 0.0 <= m["js_distance"] <= 1.0
    assert m["psi"] >= 0.0 and m["wasserstein_norm"] >= 0.0
    assert 0.0 <= m["ks_stat"] <= 1.0 and 0.0 <= m["ks_pvalue"] <= 1.0
    assert 0.0 <= m["out_of_range_share"] <= 1.0


@SETTINGS
@given(samples)
def test_identical_numeric_data_gives_zero(values: np.ndarray) -> None:
    m, _ = _numeric(values, values)
    assert m["psi"] == 0.0 and m["js_distance"] == 0.0 and m["ks_stat"] == 0.0
    assert m["wasserstein_norm"] == 0.0 and m["out_of_range_share"] == 0.0 and m["ks_pvalue"] == 1.0


@SETTINGS
@given(samples, samples)
def test_binned_ks_and_wasserstein_are_within_their_stated_error(ref: np.ndarray, cur: np.ndarray) -> None:
    m, approximation = _numeric(ref, cur)
    exact = exact_numeric(ref, cur)
    assert abs(m["ks_stat"] - exact["ks_stat"]) <= approximation["ks_stat_max_error"] + 1e-9
    tolerance = approximation["wasserstein_norm_max_error"] + 1e-9 * max(1.0, exact["wasserstein_norm"])
    assert abs(m["wasserstein_norm"] - exact["wasserstein_norm"]) <= tolerance


@SETTINGS
@given(samples, samples)
def test_ks_is_symmetric_up_to_the_binning_error(a: np.ndarray, b: np.ndarray) -> None:
    ab, err_ab = _numeric(a, b)
    ba, err_ba = _numeric(b, a)
    slack = err_ab["ks_stat_max_error"] + err_ba["ks_stat_max_error"] + 1e-9
    assert abs(ab["ks_stat"] - ba["ks_stat"]) <= slack


def _categorical(ref: list[str], cur: list[str]) -> dict:
    profile = build_profile([{"c": np.array(ref, dtype=object)}], categorical=["c"])
    return compare(profile, [{"c": np.array(cur, dtype=object)}], LOOSE).features["c"].metrics


@SETTINGS
@given(labels, labels)
def test_categorical_metrics_stay_within_their_ranges(ref: list[str], cur: list[str]) -> None:
    m = _categorical(ref, cur)
    assert 0.0 <= m["js_distance"] <= 1.0 and m["psi"] >= 0.0
    assert 0.0 <= m["linf"] <= 1.0 and 0.0 <= m["unseen_share"] <= 1.0
    assert m["chi2_stat"] >= 0.0 and np.isfinite(m["chi2_stat"]) and 0.0 <= m["chi2_pvalue"] <= 1.0


@SETTINGS
@given(labels, labels)
def test_categorical_distances_are_symmetric(a: list[str], b: list[str]) -> None:
    ab, ba = _categorical(a, b), _categorical(b, a)
    for metric in ("js_distance", "psi", "linf", "chi2_stat", "chi2_pvalue"):
        assert np.isclose(ab[metric], ba[metric], rtol=1e-9, atol=1e-12), metric


@SETTINGS
@given(labels)
def test_identical_categorical_data_gives_zero(values: list[str]) -> None:
    m = _categorical(values, values)
    assert m["js_distance"] == 0.0 and m["psi"] == 0.0 and m["linf"] == 0.0 and m["chi2_stat"] == 0.0
    assert m["unseen_share"] == 0.0 and m["chi2_pvalue"] == 1.0


@SETTINGS
@given(samples, st.lists(st.integers(0, 300), max_size=4))
def test_merged_window_partitions_equal_the_whole_window(values: np.ndarray, cuts: list[int]) -> None:
    from monitors.drift.window import profile_window

    reference = build_profile([{"x": values}], numeric=["x"])
    bounds = [0, *sorted(c % (values.size + 1) for c in cuts), values.size]
    parts = [profile_window(reference, [{"x": values[a:b]}]) for a, b in pairwise(bounds)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merged(part, reference)
    whole = profile_window(reference, [{"x": values}]).features["x"]
    assert np.array_equal(merged.features["x"].counts, whole.counts)
    assert np.allclose(merged.features["x"].offsets, whole.offsets, rtol=1e-9, atol=1e-6)
    assert (merged.features["x"].min, merged.features["x"].max) == (whole.min, whole.max)
