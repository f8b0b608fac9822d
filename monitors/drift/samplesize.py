"""The minimum current-window size below which a drift decision means nothing.

Distances are biased upward at small n: with no drift at all, normalized Wasserstein and JS
distance exceed 0.1 at their 95th percentile once n_cur is below ~500
(measured by simulation; tests/drift/test_sample_size.py). So a
feature is only judged when its window is large enough that a no-drift window stays under the
threshold at the `null_quantile` (default 0.95). The rule, per decision metric, with
n_eff = n_ref * n_cur / (n_ref + n_cur) and k the number of reference bins / categories with mass:

* js_distance: JSD (nats) ~ chi2_{k-1} / (8 n_eff)  =>  n_eff >= chi2_{k-1}(q) / (8 ln2 t^2)
* psi:         PSI ~ chi2_{k-1} / n_eff            =>  n_eff >= chi2_{k-1}(q) / t
* linf:        max_i |p_i - q_i|, Bonferroni-normal =>  n_eff >= (z_{1-(1-q)/2k} max sqrt(p(1-p)) / t)^2
* ks_stat:     sqrt(n_eff) D -> Kolmogorov          =>  n_eff >= (K(q) / t)^2
* wasserstein_norm: sqrt(n_eff) W1 / sd -> int |B(F(x))| dx / sd for a Brownian bridge B; its
  quantiles Q(q) are simulated once from the reference CDF (stored in the profile) => n_eff >= (Q/t)^2
* p-value methods (ks_pvalue, chi2_pvalue) are calibrated at every n: only the floor applies.

then n_min = max(min_rows, ceil(1 / (1 / n_eff_needed - 1 / n_ref))), infinite when the reference
alone is too small for the threshold. tests/drift/test_sample_size.py checks the rule by simulation.
This module only computes sizes; it never decides a status.
"""

from __future__ import annotations

import math

import numpy as np

from monitors.drift.categorical import CategoricalProfile
from monitors.drift.conventions import WASSERSTEIN_STD_FLOOR
from monitors.drift.numeric import NumericProfile

NULL_LEVELS = (0.5, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999)
_REPS = 2000
_BLOCK = 250  # bridges simulated per block, so the simulation needs ~1 MB, not ~40
_POINTS = 512
_SEED = 20240501  # fixed: the same reference always gets the same n_min


def w1_null_quantiles(profile: NumericProfile) -> tuple[float, ...]:
    """Quantiles (at NULL_LEVELS) of the no-drift limit of sqrt(n_eff) * wasserstein_norm."""
    n = profile.count
    if n == 0 or profile.edges.size < 2:
        return tuple(0.0 for _ in NULL_LEVELS)
    below = np.cumsum(profile.counts)[:-1] / n  # F(e_i-) at every edge; 0 at the min, 1 past the max
    grid = np.unique(
        np.concatenate(([0, below.size - 1], np.searchsorted(below, np.linspace(0, 1, _POINTS))))
    )
    grid = grid[grid < below.size]
    u, x = below[grid], profile.edges[grid]
    rng = np.random.default_rng(_SEED)
    area = np.concatenate([_bridge_areas(rng, u, x, _BLOCK) for _ in range(_REPS // _BLOCK)])
    scale = max(profile.std, WASSERSTEIN_STD_FLOOR)
    return tuple(float(v) for v in np.quantile(area, NULL_LEVELS) / scale)


def _bridge_areas(rng: np.random.Generator, u: np.ndarray, x: np.ndarray, reps: int) -> np.ndarray:
    """int |B(F(x))| dx for `reps` Brownian bridges B observed at u = F(x) (trapezoid rule)."""
    steps = rng.standard_normal((reps, u.size - 1)) * np.sqrt(np.diff(u))
    walk = np.concatenate([np.zeros((reps, 1)), np.cumsum(steps, axis=1)], axis=1)
    bridge = np.abs(walk - u * walk[:, -1:] / max(u[-1], 1e-300))
    return ((bridge[:, :-1] + bridge[:, 1:]) / 2) @ np.diff(x)


def reference_bins(profile: NumericProfile | CategoricalProfile, method: str) -> np.ndarray:
    """Reference proportions over the bins the method compares (deciles or categories)."""
    if isinstance(profile, NumericProfile):
        counts = profile.decile_counts()
    else:
        counts = np.array([*profile.counts.values(), profile.other_count], dtype=np.float64)
    counts = counts[counts > 0]
    return counts / counts.sum() if counts.size else counts


def n_eff_needed(
    method: str, threshold: float, profile: NumericProfile | CategoricalProfile, level: float
) -> float:
    """Effective sample size at which the no-drift `level` quantile of `method` equals `threshold`."""
    from scipy import stats

    if method in ("js_distance", "psi", "linf"):
        p = reference_bins(profile, method)
        k = p.size
        if k <= 1:
            return 0.0
        if method == "js_distance":
            return float(stats.chi2.ppf(level, k - 1) / (8 * math.log(2) * threshold**2))
        if method == "psi":
            return float(stats.chi2.ppf(level, k - 1) / threshold)
        z = stats.norm.ppf(1 - (1 - level) / (2 * k))
        return float((z * np.sqrt(p * (1 - p)).max() / threshold) ** 2)
    if method == "ks_stat":
        return float((stats.kstwobign.ppf(level) / threshold) ** 2)
    if method == "wasserstein_norm" and isinstance(profile, NumericProfile):
        quantiles = profile.w1_null or w1_null_quantiles(profile)
        return float((np.interp(level, NULL_LEVELS, quantiles) / threshold) ** 2)
    return 0.0  # p-values (calibrated at any n) and unseen_share (0 under no drift)


def minimum_rows(n_eff: float, n_ref: int, floor: int) -> float:
    """Smallest n_cur with n_ref * n_cur / (n_ref + n_cur) >= n_eff; inf if the reference is too small."""
    if n_eff <= 0:
        return float(floor)
    if n_ref <= 0:
        return math.inf
    room = 1.0 / n_eff - 1.0 / n_ref
    if room <= 0:
        return math.inf
    return float(max(floor, math.ceil(1.0 / room - 1e-9)))
