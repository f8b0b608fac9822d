"""The statistical conventions of the drift engine, in one place, so every result can declare them.

Anchors (Azure ML, Evidently, NannyML, alibi-detect, whylogs) disagree on log bases, binning,
smoothing and std type; a number without its convention cannot be compared with anything. Every constant a metric
depends on lives here and is echoed into `DriftResult.conventions`. This module holds no logic that
computes a metric and must never import numpy (the CLI and the report read it cheaply).
"""

from __future__ import annotations

from typing import Any

PROFILE_FORMAT = "modelwatch.drift.profile"
PROFILE_VERSION = 1

# numpy.quantile(reference, DECILES) with the default linear interpolation; i / 10 gives exactly the
# float literals 0.1, 0.2, ... (0.3, not 0.30000000000000004).
DECILES: tuple[float, ...] = tuple(i / 10 for i in range(1, 10))
PSI_FLOOR = 1e-4
JS_LOG_BASE = 2
WASSERSTEIN_STD_FLOOR = 1e-3

# Fine reference-quantile bins behind KS and Wasserstein: the KS error from bins is at most the
# reference mass of one non-atomic bin, about 1 / FINE_LEVELS.
FINE_LEVELS = 1000
# KS p-value: scipy.stats.kstwo.sf(D, n_eff), except where scipy sums n_eff terms (2 * smirnov, for
# n_eff D^2 >= 2.2): above KS_ASYMPTOTIC_N the large-deviation expansion of metrics.ks_pvalue (relative
# error < 5e-6 where p >= 1e-6, < 4e-5 where p >= 1e-20); 0.0 from n_eff D^2 >= 370, where scipy answers 0.0 too.
KS_ASYMPTOTIC_N = 10_000
KS_ASYMPTOTIC_FROM = 2.2
KS_ZERO_FROM = 370.0
EXTREME_EDGES = 32  # the 32 smallest and largest reference values are edges too (heavy tails)
MAX_CATEGORIES = 1000  # reference categories kept exactly; beyond, top-K plus an "other" bucket
MAX_UNSEEN_CATEGORIES = 1000  # unseen current categories tracked one by one; beyond, pooled
INT_CATEGORICAL_MAX_LEVELS = 5  # integer-valued columns with at most this many values are categorical

OTHER = "__other__"  # reference categories beyond the top-K table
UNSEEN_OTHER = "__unseen_other__"  # unseen current categories beyond the tracking cap

NUMERIC_METRICS = ("psi", "js_distance", "wasserstein_norm", "ks_stat", "ks_pvalue", "out_of_range_share")
CATEGORICAL_METRICS = ("psi", "js_distance", "chi2_stat", "chi2_pvalue", "linf", "unseen_share")
COMMON_METRICS = ("null_rate_ref", "null_rate_cur")
PVALUE_METHODS = frozenset({"ks_pvalue", "chi2_pvalue"})
DISTANCE_METHODS = {
    "numeric": ("psi", "js_distance", "wasserstein_norm", "ks_stat"),
    "categorical": ("psi", "js_distance", "linf", "unseen_share"),
}
PVALUE_METHOD_BY_KIND = {"numeric": "ks_pvalue", "categorical": "chi2_pvalue"}

# Decision rules (DriftConfig.rule). "calibrated" is the default; "azureml" reproduces Azure ML's
# fixed thresholds. Each result names its rule in `conventions["rule"]` and in every feature's decision.
CALIBRATED = "calibrated"
AZUREML = "azureml"
RULES = (CALIBRATED, AZUREML)
# The significance test behind a calibrated decision, by feature kind (a p-value method is its own test).
TEST_BY_KIND = {"numeric": "ks_pvalue", "categorical": "chi2_pvalue_pooled"}
CHI2_POOL_BELOW = 5.0  # categories expected fewer times than this (either side) are pooled for the test

STATUSES = (
    "ok",
    "drift",
    "insufficient_data",
    "constant",
    "missing_column",
    "new_column",
    "type_changed",
    "all_null",
)


def describe(settings: dict[str, Any]) -> dict[str, Any]:
    """The conventions block written into every result; `settings` adds the run's decision knobs."""
    return {
        "profile_version": PROFILE_VERSION,
        "nulls": "dropped per column, never whole rows; NaN, +-inf, null and absent keys count as null "
        "and are reported as null_rate_ref / null_rate_cur (share of rows)",
        "n_ref_n_cur": "non-null values of the feature used by the metrics",
        "numeric_bins": "psi and js_distance on the distinct values of numpy.quantile(reference, "
        "[0.1..0.9]) (linear interpolation); outer bins open; a value equal to an edge counts in the "
        "bin above it",
        "psi": f"sum((q - p) * ln(q / p)) over bin proportions floored at {PSI_FLOOR} (no renormalisation)",
        "js_distance": f"Jensen-Shannon distance (sqrt of the divergence), log base {JS_LOG_BASE}, in "
        "[0, 1] (= scipy.spatial.distance.jensenshannon(p, q, base=2))",
        "wasserstein_norm": "Wasserstein-1 between the two samples / max(population std of the "
        f"reference, {WASSERSTEIN_STD_FLOOR})",
        "ks": "two-sample Kolmogorov-Smirnov statistic sup|F_ref - F_cur|; p-value from "
        "scipy.stats.kstwo.sf(D, n_eff), n_eff = round(n_ref*n_cur/(n_ref+n_cur)) (ks_2samp 'asymp'), "
        f"except for n_eff > {KS_ASYMPTOTIC_N} and n_eff*D^2 >= {KS_ASYMPTOTIC_FROM}, where scipy sums n_eff "
        "terms (2*smirnov(n_eff, D)) and the engine uses its large-deviation expansion "
        "2*exp(-(6nD+1)^2/(18n) - 4nD^4/9 + 4D^2/9) (relative error < 5e-6 where p >= 1e-6, < 4e-5 where "
        "p >= 1e-20), and 0 from "
        f"n_eff*D^2 >= {KS_ZERO_FROM:g} as scipy; with exact=True scipy.stats.ks_2samp(method='auto') on "
        "the raw values",
        "binned_accuracy": f"from profiles: KS and Wasserstein from {FINE_LEVELS} reference-quantile bins, "
        f"finer bins towards the tails and the {EXTREME_EDGES} smallest and largest reference values, with "
        "every edge that is a data value in its own one-point bin; KS error <= the reported "
        "ks_stat_max_error (about 1/1000); Wasserstein exact except in bins where the two CDFs cross, "
        "within the reported wasserstein_norm_max_error; per-bin value sums (offsets / n) within "
        "2^-52 * (m_ref*|sum_ref|/n_ref + m_cur*|sum_cur|/n_cur) of each other, at least twice their float "
        "rounding (a sum of m same-sign terms, in any order, is within (m - 1) * 2^-53 of exact), count as "
        "equal: windows sum in data order, the reference in sorted order, and identical data gives exactly 0",
        "out_of_range_share": "share of current values below the reference min or above its max",
        "categories": "union of reference and current categories (unseen included); reference "
        f"categories beyond the top {MAX_CATEGORIES} pooled as {OTHER!r}; unseen current categories "
        f"beyond {MAX_UNSEEN_CATEGORIES} pooled as {UNSEEN_OTHER!r}",
        "chi2": "Pearson chi-squared homogeneity test on the 2 x k contingency table (reference, current) "
        "= scipy.stats.chi2_contingency(correction=False); finite with unseen categories",
        "linf": "max |p - q| over the union of categories",
        "unseen_share": "share of current values whose category is not in the reference",
        "type_inference": "float -> numeric; string, bool -> categorical; integer-valued columns with at "
        f"most {INT_CATEGORICAL_MAX_LEVELS} distinct values -> categorical, others numeric; "
        "overridable per feature",
        "chi2_pvalue_pooled": "the test of the calibrated rule for categories: Pearson chi-squared "
        "homogeneity p-value on the 2 x k table after pooling the categories whose expected count is "
        f"below {CHI2_POOL_BELOW:g} in either row into one cell (the usual condition for the chi-squared "
        "approximation, so sparse categories in small windows do not fake significance); 1.0 when fewer "
        "than two cells remain",
        **_rule_conventions(settings),
        "dataset": "drift_share = drifted / evaluated features (statuses ok, drift, constant), "
        "weighted by feature importance when given; dataset drifted when drift_share >= "
        f"{settings.get('drift_share')}",
        "settings": settings,
    }


def _rule_conventions(settings: dict[str, Any]) -> dict[str, str]:
    """How the run's rule decides: `rule`, `decision`, `min_sample_size` and `multiple_testing`."""
    alpha, floor = settings.get("fdr_alpha"), settings.get("min_rows")
    if settings.get("rule", CALIBRATED) == AZUREML:
        return {
            "rule": "azureml: Azure ML's fixed thresholds (defaults wasserstein_norm > 0.1 numeric, "
            "js_distance > 0.1 categorical), judged only from the window size n_min at which a no-drift "
            "window stays under the threshold; no test behind distance decisions",
            "min_sample_size": "n_min = smallest current size whose no-drift "
            f"{settings.get('null_quantile', 0.95)} quantile of the decision metric is <= its threshold, "
            "at n_eff = n_ref*n_cur/(n_ref+n_cur): js_distance sqrt(chi2_{k-1}/(8 ln2 n_eff)), psi "
            "chi2_{k-1}/n_eff, linf z*max sqrt(p(1-p))/sqrt(n_eff), ks_stat K/sqrt(n_eff), "
            "wasserstein_norm Q/sqrt(n_eff) with Q simulated from Brownian bridges on the reference CDF; "
            f"never below min_rows={floor}; p-value methods need only min_rows",
            "decision": "distance methods (psi, js_distance, wasserstein_norm, ks_stat, linf, "
            "unseen_share): drifted when value > threshold",
            "multiple_testing": "p-value decisions use Benjamini-Hochberg adjusted p-values across the "
            f"features deciding by a p-value, drifted when p_adjusted <= {alpha}",
        }
    return {
        "rule": "calibrated: drifted when the change is practically large (decision metric > threshold; "
        "defaults wasserstein_norm 0.1 numeric, js_distance 0.05 categorical) AND significant (the "
        "feature's test, ks_pvalue numeric or chi2_pvalue_pooled categorical, Benjamini-Hochberg adjusted "
        f"across every judged feature, <= fdr_alpha {alpha}); a no-drift feature is flagged with "
        f"probability <= {alpha} at any window size (up to the tests' asymptotic approximations), so no "
        "size threshold is needed to hold false alarms",
        "min_sample_size": f"n_min = min_rows={floor} non-null values in the window and in the reference "
        "(the tests' asymptotics); smaller windows are judged by the same test, so they only detect "
        "larger changes",
        "decision": "drifted when value > threshold and p_adjusted <= fdr_alpha; p-value methods: "
        "p_adjusted <= fdr_alpha",
        "multiple_testing": "Benjamini-Hochberg across every judged feature on its test's p-value "
        f"(decision.test, decision.p_value), drifted only when p_adjusted <= {alpha}",
    }
