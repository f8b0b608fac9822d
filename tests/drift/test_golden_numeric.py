"""Numeric metrics from profiles equal exact numpy / scipy computations on the raw data."""

from __future__ import annotations

import numpy as np
import pytest

from monitors.drift import DriftConfig, ReferenceBuilder, build_profile, compare
from monitors.drift.window import profile_window
from tests.drift.conftest import DECILES, chunked, exact_numeric

CASES = {
    # name: (reference, current) generators on a seeded rng
    "normal_same_small": lambda r: (r.normal(0, 1, 400), r.normal(0, 1, 300)),
    "normal_shift_large": lambda r: (r.normal(5, 2, 200_000), r.normal(6, 2, 120_000)),
    "lognormal_scale": lambda r: (r.lognormal(0, 1, 50_000), r.lognormal(0, 1.3, 40_000)),
    "poisson_ties_shift": lambda r: (
        r.poisson(4, 80_000).astype(float),
        r.poisson(4.6, 50_000).astype(float),
    ),
    "integers_wide_ties": lambda r: (
        r.integers(0, 40, 30_000).astype(float),
        r.integers(5, 45, 20_000).astype(float),
    ),
    "student_t_heavy": lambda r: (r.standard_t(2, 100_000), r.standard_t(2, 60_000) * 1.2),
    "beyond_range": lambda r: (r.normal(0, 1, 20_000), r.normal(8, 1, 10_000)),
    "tiny": lambda r: (r.normal(0, 1, 25), r.normal(0.3, 1, 17)),
}


def _binned(ref: np.ndarray, cur: np.ndarray) -> dict:
    profile = build_profile(chunked({"x": ref}, 7_777))
    return compare(profile, chunked({"x": cur}, 5_000), DriftConfig(min_rows=1)).features["x"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_psi_and_js_equal_the_decile_convention_exactly(case: str, rng: np.random.Generator) -> None:
    ref, cur = CASES[case](rng)
    got, want = _binned(ref, cur).metrics, exact_numeric(ref, cur)
    assert got["psi"] == pytest.approx(want["psi"], rel=1e-9, abs=1e-12)
    assert got["js_distance"] == pytest.approx(want["js_distance"], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ks_from_bins_is_within_0_005_and_within_its_stated_bound(
    case: str, rng: np.random.Generator
) -> None:
    ref, cur = CASES[case](rng)
    feature, want = _binned(ref, cur), exact_numeric(ref, cur)
    error = abs(feature.metrics["ks_stat"] - want["ks_stat"])
    assert error <= 0.005
    assert error <= feature.approximation["ks_stat_max_error"] + 1e-12


@pytest.mark.parametrize("case", sorted(CASES))
def test_wasserstein_from_bins_is_within_2_percent_and_its_stated_bound(
    case: str, rng: np.random.Generator
) -> None:
    ref, cur = CASES[case](rng)
    feature, want = _binned(ref, cur), exact_numeric(ref, cur)
    error = abs(feature.metrics["wasserstein_norm"] - want["wasserstein_norm"])
    assert error <= max(0.02 * want["wasserstein_norm"], 0.002)
    assert error <= feature.approximation["wasserstein_norm_max_error"] + 1e-9


def test_decile_edges_are_the_distinct_numpy_quantiles(rng: np.random.Generator) -> None:
    ref = np.round(rng.gamma(2.0, 3.0, 12_345), 1)
    profile = build_profile(chunked({"x": ref}, 1_000))
    assert np.array_equal(profile.features["x"].decile_edges, np.unique(np.quantile(ref, DECILES)))


def test_a_value_equal_to_an_edge_counts_in_the_bin_above() -> None:
    reference = build_profile([{"x": np.arange(0.0, 1001.0)}])  # deciles are exactly 100, 200, ..., 900
    assert reference.features["x"].decile_edges.tolist() == [100.0 * k for k in range(1, 10)]
    window = profile_window(reference, [{"x": np.array([100.0] * 5 + [900.0] * 3)}])
    assert window.features["x"].decile_counts().tolist() == [0, 5, 0, 0, 0, 0, 0, 0, 0, 3]


def test_exact_option_matches_scipy_on_raw_values(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(0, 1, 30_000), rng.normal(0.1, 1.1, 20_000)
    builder = ReferenceBuilder(keep_raw=True)
    for chunk in chunked({"x": ref}, 4_000):
        builder.add(chunk)
    result = compare(
        builder.finish(), chunked({"x": cur}, 3_000), DriftConfig(exact=True), raw_reference=builder.raw
    )
    got, want = result.features["x"], exact_numeric(ref, cur)
    assert got.approximation["method"] == "exact"
    for metric in ("ks_stat", "ks_pvalue", "wasserstein_norm"):
        assert got.metrics[metric] == pytest.approx(want[metric], rel=1e-12)


def test_exact_option_without_raw_reference_says_it_used_bins(rng: np.random.Generator) -> None:
    profile = build_profile([{"x": rng.normal(0, 1, 1_000)}])
    result = compare(profile, [{"x": rng.normal(0, 1, 1_000)}], DriftConfig(exact=True))
    assert result.features["x"].approximation["method"] == "binned"
    assert "raw reference" in result.features["x"].approximation["exact_unavailable"]


def test_ks_pvalue_from_bins_follows_scipy_asymptotic_formula(rng: np.random.Generator) -> None:
    from scipy.stats import kstwo

    ref, cur = rng.poisson(5, 40_000).astype(float), rng.poisson(5, 30_000).astype(float)
    got = _binned(ref, cur).metrics
    n_eff = round(40_000 * 30_000 / 70_000)
    assert got["ks_pvalue"] == pytest.approx(float(kstwo.sf(got["ks_stat"], n_eff)), rel=1e-12)
    assert got["ks_stat"] == pytest.approx(exact_numeric(ref, cur)["ks_stat"], abs=1e-12)  # ties: exact


def test_out_of_range_share_counts_current_values_beyond_the_reference_range(
    rng: np.random.Generator,
) -> None:
    ref = rng.uniform(0, 1, 5_000)
    cur = np.concatenate([rng.uniform(0, 1, 900), rng.uniform(1.5, 2, 60), rng.uniform(-2, -1.5, 40)])
    assert _binned(ref, cur).metrics["out_of_range_share"] == pytest.approx(0.1)


def test_three_pass_bounded_build_gives_the_same_deciles_bit_for_bit(rng: np.random.Generator) -> None:
    data = {"x": rng.standard_t(3, 60_000), "k": rng.poisson(6, 60_000).astype(float)}
    data["x"][::50] = np.nan
    bounded = build_profile(lambda: chunked(data, 9_000), sample_size=2_048)
    for name, values in data.items():
        finite = values[np.isfinite(values)]
        assert np.array_equal(bounded.features[name].decile_edges, np.unique(np.quantile(finite, DECILES)))
        assert bounded.features[name].count == finite.size
        assert bounded.features[name].null_count == values.size - finite.size


def test_three_pass_bounded_build_meets_the_same_accuracy(rng: np.random.Generator) -> None:
    ref, cur = rng.lognormal(0, 1, 80_000), rng.lognormal(0.2, 1, 50_000)
    bounded = build_profile(lambda: chunked({"x": ref}, 10_000), sample_size=4_096)
    got, want = compare(bounded, [{"x": cur}]).features["x"].metrics, exact_numeric(ref, cur)
    assert got["psi"] == pytest.approx(want["psi"], rel=1e-9)
    assert got["js_distance"] == pytest.approx(want["js_distance"], rel=1e-9)
    assert abs(got["ks_stat"] - want["ks_stat"]) <= 0.005
    assert abs(got["wasserstein_norm"] - want["wasserstein_norm"]) <= max(
        0.02 * want["wasserstein_norm"], 0.002
    )


def test_three_pass_build_handles_heavy_ties_exactly_in_little_memory(rng: np.random.Generator) -> None:
    import tracemalloc

    n = 1_000_000
    zero_inflated = np.where(rng.random(n) < 0.6, 0.0, rng.exponential(3.0, n))
    tracemalloc.start()
    profile = build_profile(lambda: chunked({"x": zero_inflated}, 20_000), sample_size=8_192)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.array_equal(profile.features["x"].decile_edges, np.unique(np.quantile(zero_inflated, DECILES)))
    assert profile.features["x"].count == n
    assert peak < zero_inflated.nbytes / 4  # the values are never all held
