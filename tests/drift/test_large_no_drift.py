"""At a million rows a negligible shift is not drift (p-values would say otherwise)."""

from __future__ import annotations

import numpy as np

from monitors.drift import build_profile, compare
from tests.drift.conftest import chunked


def test_two_hundredths_of_a_sigma_at_one_million_rows_is_not_drift() -> None:
    rng = np.random.default_rng(2)
    n = 1_000_000
    ref = rng.normal(0, 1, n)
    reference = build_profile(lambda: chunked({"x": ref}, 250_000))
    feature = compare(reference, chunked({"x": rng.normal(0.02, 1, n)}, 250_000)).features["x"]
    assert feature.status == "ok" and not feature.drifted
    assert feature.metrics["wasserstein_norm"] < 0.03
    assert feature.metrics["ks_pvalue"] < 1e-6  # a raw KS test would have fired
