"""The fast current-window pass gives the results of the obvious one: grid binning equals
np.searchsorted bit for bit, the KS p-value's large-n expansion follows scipy, values summed in any
order (or on threads) give the same profile and verdicts, identical data still gives zero."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from monitors.drift import DriftConfig, build_profile, compare
from monitors.drift.binning import EdgeLocator
from monitors.drift.conventions import KS_ASYMPTOTIC_N
from monitors.drift.metrics import ks_pvalue
from tests.drift.conftest import chunked

values_anywhere = st.one_of(
    st.floats(min_value=-1e300, max_value=1e300, allow_nan=False),
    st.floats(min_value=-3, max_value=3, allow_nan=False),
    st.integers(-5, 5).map(float),
)


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 60), elements=values_anywhere),
    arrays(np.float64, st.integers(1, 400), elements=values_anywhere),
    st.sampled_from([16, 256, 1 << 16]),
)
def test_grid_binning_equals_searchsorted_right(edge_values: np.ndarray, values: np.ndarray, cells: int) -> None:
    edges = np.unique(np.concatenate([edge_values, np.nextafter(edge_values[::3], np.inf)]))
    got = EdgeLocator(edges, cells=cells).locate(values)
    assert np.array_equal(got, np.searchsorted(edges, values, "right"))


def test_grid_binning_is_exact_for_heavy_tails_and_values_far_beyond_the_edges() -> None:
    rng = np.random.default_rng(5)
    reference = np.sort(rng.standard_cauchy(200_000))
    profile = build_profile([{"x": reference}]).features["x"]
    values = np.concatenate([rng.standard_cauchy(100_000), [-1e308, 1e308, 5e-324, -0.0], profile.edges])
    got = profile.locator().locate(values)
    assert np.array_equal(got, np.searchsorted(profile.edges, values, "right"))


def test_grid_binning_is_exact_for_a_narrow_range_far_from_zero() -> None:
    edges = 1e12 + np.arange(0.0, 1.0, 1e-3)  # width ~1e-3 at 1e12: a few ulps per cell
    values = 1e12 + np.random.default_rng(1).uniform(-0.1, 1.1, 50_000)
    assert np.array_equal(EdgeLocator(edges).locate(values), np.searchsorted(edges, values, "right"))


def test_ks_pvalue_equals_scipy_kstwo_up_to_the_asymptotic_size() -> None:
    from scipy.stats import kstwo

    n = KS_ASYMPTOTIC_N  # n_ref = n_cur = 2n gives n_eff = n
    for d in (0.005, 0.02, 0.03, 0.05):
        assert ks_pvalue(d, 2 * n, 2 * n) == pytest.approx(float(kstwo.sf(d, n)), rel=1e-12)


def test_ks_pvalue_above_the_asymptotic_size_follows_scipy_within_5e_6() -> None:
    from scipy.stats import kstwo

    for n_eff in (KS_ASYMPTOTIC_N + 2, 60_000, 250_000):
        for tail in (1.0, 2.2, 3.0, 5.0, 7.0):  # n_eff * D^2; scipy sums n_eff terms from 2.2 on
            d = float(np.sqrt(tail / n_eff))
            want = float(kstwo.sf(d, n_eff))
            assert want >= 1e-6
            assert ks_pvalue(d, 2 * n_eff, 2 * n_eff) == pytest.approx(want, rel=5e-6), (n_eff, tail)


def test_ks_pvalue_is_zero_where_scipy_answers_zero() -> None:
    n_eff = 200_000
    assert ks_pvalue(float(np.sqrt(400 / n_eff)), 2 * n_eff, 2 * n_eff) == 0.0


def test_the_same_values_in_another_order_and_chunking_give_zero_wasserstein() -> None:
    rng = np.random.default_rng(11)
    values = np.round(rng.lognormal(0, 1, 150_000), 3)
    reference = build_profile([{"x": values}])
    shuffled = rng.permutation(values)
    feature = compare(reference, chunked({"x": shuffled}, 7_001), DriftConfig(min_rows=1)).features["x"]
    assert feature.metrics["wasserstein_norm"] == 0.0 and feature.metrics["ks_stat"] == 0.0
    assert feature.metrics["psi"] == 0.0 and not feature.drifted


def test_binning_on_threads_gives_the_same_result_as_on_the_calling_thread() -> None:
    rng = np.random.default_rng(3)
    ref = {
        "a": rng.normal(0, 1, 40_000),
        "b": rng.poisson(4, 40_000).astype(float),
        "c": rng.choice(["x", "y"], 40_000),
    }
    cur = {
        "a": rng.normal(0.1, 1, 30_000),
        "b": rng.poisson(4.4, 30_000).astype(float),
        "c": rng.choice(["x", "y", "z"], 30_000),
    }
    cur["a"][::17] = np.nan
    reference = build_profile(chunked(ref, 6_000))
    inline = compare(reference, chunked(cur, 4_000), workers=1)
    threaded = compare(reference, chunked(cur, 4_000), workers=2)
    assert threaded.to_dict() == inline.to_dict()
