"""Compare a reference profile with a current window: statuses, metrics, decisions, data-set flag.

`compare` is the one call a worker makes: one streaming pass over the window's chunks, then
`evaluate`. Every feature gets exactly one status (ok | drift | insufficient_data | constant |
missing_column | new_column | type_changed | all_null); no property of the data raises. Only a
configuration that cannot apply (a method for the wrong kind, an unknown feature) is bad input.
How ok and drift are told apart is `config.rule` (decisions.py), named in every decision.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import numpy as np

from monitors.drift.categorical import CategoricalProfile
from monitors.drift.conventions import (
    CALIBRATED,
    CATEGORICAL_METRICS,
    NUMERIC_METRICS,
    PVALUE_METHODS,
    STATUSES,
    describe,
)
from monitors.drift.decisions import DriftConfig, benjamini_hochberg, calibrated_drifted, distance_drifted
from monitors.drift.metrics import categorical_metrics, chi2_pooled_pvalue, exact_numeric, numeric_metrics
from monitors.drift.numeric import NumericProfile
from monitors.drift.profile import DatasetProfile, FeatureProfile
from monitors.drift.result import DatasetResult, Decision, DriftResult, FeatureResult
from monitors.drift.samplesize import minimum_rows, n_eff_needed
from monitors.drift.window import WindowBuilder

_VERDICT_STATUSES = ("ok", "drift", "constant")
MAX_WORKERS = 4  # binning threads; beyond a few, reading the chunks is the limit


def compare(
    reference: DatasetProfile,
    current: Iterable[Any],
    config: DriftConfig | None = None,
    *,
    features: Iterable[str] | None = None,
    raw_reference: Mapping[str, np.ndarray] | None = None,
    workers: int | None = None,
) -> DriftResult:
    """Histogram `current` (chunks) on the reference's edges in one pass, then judge every feature.

    `raw_reference` (finite values per numeric feature) with `config.exact` makes KS and Wasserstein
    exact scipy computations on raw data, as long as the window's values fit `exact_max_values`.
    Columns are histogrammed on `workers` threads (default: the usable cores, at most
    MAX_WORKERS) while the next chunk is read; 1 bins on the calling thread. The result does not
    depend on it."""
    config = config or DriftConfig()
    keep = config.exact_max_values if config.exact and raw_reference is not None else 0
    workers = default_workers() if workers is None else workers
    with ThreadPoolExecutor(workers, thread_name_prefix="drift-bin") if workers > 1 else nullcontext() as pool:
        builder = WindowBuilder(reference, features, raw_limit=keep, pool=pool, tasks=workers)
        for chunk in current:
            builder.add(chunk)
        window = builder.finish()
    raw_current = None
    if builder.raw is not None:
        raw_current = {name: np.concatenate(parts) for name, parts in builder.raw.items()}
    return evaluate(reference, window, config, raw_reference=raw_reference, raw_current=raw_current)


def default_workers() -> int:
    """The cores this process may run on (its affinity, where the platform tells), at most MAX_WORKERS."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(usable, MAX_WORKERS))


def evaluate(
    reference: DatasetProfile,
    window: DatasetProfile,
    config: DriftConfig | None = None,
    *,
    raw_reference: Mapping[str, np.ndarray] | None = None,
    raw_current: Mapping[str, np.ndarray] | None = None,
) -> DriftResult:
    """Judge a window profile (possibly merged from partitions) against its reference."""
    config = config or DriftConfig()
    results: dict[str, FeatureResult] = {}
    for name, cur in window.features.items():
        raw = _raw_pair(name, config, raw_reference, raw_current)
        results[name] = _judge(name, reference.features[name], cur, window, config, raw)
    _apply_fdr(results, config)
    for name, column in window.new_columns.items():
        results[name] = FeatureResult(
            name,
            "unknown",
            "new_column",
            False,
            {"null_rate_ref": None, "null_rate_cur": _rate(column.null_count, column.rows)},
            0,
            column.rows - column.null_count,
            Decision(
                None, None, None, "none", f"column not in the reference ({column.family}, {column.rows} rows)"
            ),
        )
    dataset = _dataset(results, config, reference.n_rows, window.n_rows)
    return DriftResult(results, dataset, describe(config.settings()), reference, window)


def _raw_pair(
    name: str, config: DriftConfig, ref: Mapping[str, np.ndarray] | None, cur: Mapping[str, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray] | str | None:
    if not config.exact:
        return None
    if ref is None or name not in ref:
        return "exact requested but the raw reference is not available; metrics from bins"
    if cur is None:
        return f"exact requested but the window has more than {config.exact_max_values} values; from bins"
    return ref[name], cur.get(name, np.empty(0))


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _metric_keys(kind: str) -> tuple[str, ...]:
    return NUMERIC_METRICS if kind == "numeric" else CATEGORICAL_METRICS if kind == "categorical" else ()


def _judge(
    name: str,
    ref: FeatureProfile,
    cur: FeatureProfile,
    window: DatasetProfile,
    config: DriftConfig,
    raw: tuple[np.ndarray, np.ndarray] | str | None,
) -> FeatureResult:
    """One feature's status, metrics and decision (decisions resting on a p-value are completed by
    _apply_fdr)."""
    kind = ref.kind
    metrics: dict[str, float | None] = dict.fromkeys(_metric_keys(kind))
    metrics["null_rate_ref"] = _rate(ref.null_count, ref.n_rows)
    metrics["null_rate_cur"] = _rate(cur.null_count, cur.n_rows)
    method, threshold = config.rule_for(name, kind) if kind != "unknown" else (None, None)
    test = config.test_for(method, kind) if method is not None else None
    decision = Decision(method, threshold, None, _rule(method, test, config), "", test=test)
    result = FeatureResult(
        name, kind, "ok", False, metrics, ref.count, cur.count, decision, _summary(ref, cur)
    )
    early = _early_status(name, ref, cur, window)
    if early is not None:
        result.status, result.decision.reason = early
        return result
    if method is None or threshold is None:  # only "unknown" (all-null reference) features lack one
        raise AssertionError(f"feature {name!r} reached a decision without a method")
    n_min = _n_min(method, threshold, ref, config)
    result.decision.n_min = int(n_min) if math.isfinite(n_min) else None  # None: no window is enough
    _fill_metrics(result, ref, cur, raw)
    result.decision.value = metrics.get(method)
    _verdict(result, ref, cur, n_min, config)
    return result


def _n_min(method: str, threshold: float, ref: FeatureProfile, config: DriftConfig) -> float:
    """Window size from which a feature is judged: the azureml rule's null-quantile size (samplesize.py);
    for the calibrated rule only min_rows (its test holds false alarms at any size), on both sides."""
    if config.rule == CALIBRATED and method not in PVALUE_METHODS:
        return float(config.min_rows) if ref.count >= config.min_rows else math.inf
    return minimum_rows(n_eff_needed(method, threshold, ref, config.null_quantile), ref.count, config.min_rows)


def _verdict(
    result: FeatureResult, ref: FeatureProfile, cur: FeatureProfile, n_min: float, config: DriftConfig
) -> None:
    decision, n_cur = result.decision, result.n_cur
    method, threshold = decision.method, decision.threshold
    assert method is not None and threshold is not None
    if n_cur < n_min:
        result.status = "insufficient_data"
        decision.reason = _too_small(decision, n_cur, n_min, config)
    elif _constant(ref, cur):
        result.status = "constant"
        decision.reason = "reference and current hold one and the same value: nothing to compare"
    elif decision.test is not None:  # decided by _apply_fdr, once every feature's p-value is known
        decision.p_value = _test_pvalue(decision.test, result.metrics, ref, cur)
    else:
        value = float(result.metrics[method])  # type: ignore[arg-type]
        result.drifted = distance_drifted(value, threshold)
        result.status = "drift" if result.drifted else "ok"
        sign = ">" if result.drifted else "<="
        result.decision.reason = (
            f"{method} {value:.4g} {sign} threshold {threshold:g} (n_cur {n_cur} >= n_min {n_min:.0f})"
        )


def _early_status(
    name: str, ref: FeatureProfile, cur: FeatureProfile, window: DatasetProfile
) -> tuple[str, str] | None:
    if window.n_rows == 0:
        return "insufficient_data", "the current window has no rows"
    if name not in window.present:
        return "missing_column", "column absent from every chunk of the current window"
    if name in window.type_changes:
        change = window.type_changes[name]
        return "type_changed", (
            f"reference column is {ref.family}, current is {change.family} in "
            f"{change.rows} rows (first at {change.first_seen})"
        )
    if ref.count == 0:
        return "all_null", f"all {ref.n_rows} reference values are null"
    if cur.count == 0:
        return "all_null", f"all {cur.n_rows} current values are null"
    return None


def _fill_metrics(
    result: FeatureResult,
    ref: FeatureProfile,
    cur: FeatureProfile,
    raw: tuple[np.ndarray, np.ndarray] | str | None,
) -> None:
    if isinstance(ref, NumericProfile) and isinstance(cur, NumericProfile):
        values, approximation = numeric_metrics(ref, cur)
        if isinstance(raw, tuple):
            values.update(exact_numeric(*raw))
            approximation = {"method": "exact", "fine_bins": approximation["fine_bins"]}
        elif isinstance(raw, str):
            approximation["exact_unavailable"] = raw
        result.metrics.update(values)
        result.approximation = approximation
    elif isinstance(ref, CategoricalProfile) and isinstance(cur, CategoricalProfile):
        result.metrics.update(categorical_metrics(ref, cur))
        result.approximation = {
            "method": "exact",
            "categories_pooled": ref.truncated or cur.unseen_other_count > 0,
        }


def _constant(ref: FeatureProfile, cur: FeatureProfile) -> bool:
    if isinstance(ref, NumericProfile) and isinstance(cur, NumericProfile):
        return ref.min == ref.max == cur.min == cur.max
    if isinstance(ref, CategoricalProfile) and isinstance(cur, CategoricalProfile):
        ref_levels = [k for k, n in ref.counts.items() if n] + (["<other>"] if ref.other_count else [])
        cur_levels = [k for k, n in cur.counts.items() if n] + (
            ["<other>"] if cur.count > sum(cur.counts.values()) else []
        )
        return len(ref_levels) == 1 and ref_levels == cur_levels
    return False


def _test_pvalue(
    test: str, metrics: dict[str, float | None], ref: FeatureProfile, cur: FeatureProfile
) -> float:
    if test == "chi2_pvalue_pooled":
        return chi2_pooled_pvalue(ref, cur)  # type: ignore[arg-type]
    return float(metrics[test])  # type: ignore[arg-type]


def _rule(method: str | None, test: str | None, config: DriftConfig) -> str:
    if method is None:
        return "none"
    if method in PVALUE_METHODS:
        return f"{config.rule}: Benjamini-Hochberg adjusted {method} <= fdr_alpha"
    if test is not None:
        return f"{config.rule}: {method} > threshold and Benjamini-Hochberg adjusted {test} <= fdr_alpha"
    return f"{config.rule}: {method} > threshold"


def _too_small(decision: Decision, n_cur: int, n_min: float, config: DriftConfig) -> str:
    method, threshold, level = decision.method, decision.threshold, config.null_quantile
    if decision.test is not None and method not in PVALUE_METHODS:
        if math.isinf(n_min):
            return f"the reference has fewer than min_rows={config.min_rows} non-null values"
        return f"{n_min:.0f} non-null current values needed for the {decision.test} test; got {n_cur}"
    if math.isinf(n_min):
        return (
            f"the reference is too small for {method} <= {threshold:g} to hold under no drift at the "
            f"{level:g} quantile, whatever the window size"
        )
    return (
        f"{n_min:.0f} non-null current values needed for {method} <= {threshold:g} to hold under no "
        f"drift at the {level:g} quantile; got {n_cur}"
    )


def _apply_fdr(results: dict[str, FeatureResult], config: DriftConfig) -> None:
    """Benjamini-Hochberg across the features whose decision rests on a p-value, then decide them."""
    family = [r for r in results.values() if r.status == "ok" and r.decision.p_value is not None]
    adjusted = benjamini_hochberg([float(r.decision.p_value) for r in family])  # type: ignore[arg-type]
    for result, p_adj in zip(family, adjusted, strict=True):
        d = result.decision
        d.p_adjusted = p_adj
        tested = f"{d.test} {d.p_value:.3g}, BH-adjusted {p_adj:.3g} across {len(family)} tests"
        significant = p_adj <= config.fdr_alpha
        if d.method in PVALUE_METHODS:
            result.drifted = significant
            d.reason = (
                f"{d.method} {d.p_value:.3g}, BH-adjusted {p_adj:.3g} {'<=' if significant else '>'} "
                f"alpha {config.fdr_alpha:g} across {len(family)} tests"
            )
        else:
            value, threshold = float(d.value), float(d.threshold)  # type: ignore[arg-type]
            result.drifted = calibrated_drifted(value, threshold, p_adj, config.fdr_alpha)
            d.reason = _calibrated_reason(d.method, value, threshold, significant, tested, config.fdr_alpha)
        result.status = "drift" if result.drifted else "ok"


def _calibrated_reason(
    method: str | None, value: float, threshold: float, significant: bool, tested: str, alpha: float
) -> str:
    size = f"{method} {value:.4g} {'>' if value > threshold else '<='} threshold {threshold:g}"
    if value > threshold and significant:
        return f"{size} and {tested} <= alpha {alpha:g}: large and significant"
    if value > threshold:
        return f"{size} but {tested} > alpha {alpha:g}: not distinguishable from sampling noise"
    return f"{size}: too small to matter ({tested})"


def _dataset(
    results: dict[str, FeatureResult], config: DriftConfig, rows_ref: int, rows_cur: int
) -> DatasetResult:
    judged = [r for r in results.values() if r.status in _VERDICT_STATUSES]
    total = sum(config.weight(r.name) for r in judged)
    drifted = sum(config.weight(r.name) for r in judged if r.drifted)
    share = drifted / total if total > 0 else 0.0
    statuses = {s: sum(1 for r in results.values() if r.status == s) for s in STATUSES}
    schema = any(statuses[s] for s in ("missing_column", "new_column", "type_changed"))
    return DatasetResult(
        share,
        bool(judged) and total > 0 and share >= config.drift_share,
        len(judged),
        sum(1 for r in judged if r.drifted),
        config.drift_share,
        config.importance is not None,
        {s: n for s, n in statuses.items() if n},
        schema,
        rows_ref,
        rows_cur,
    )


def _summary(ref: FeatureProfile, cur: FeatureProfile) -> dict[str, Any]:
    def side(p: FeatureProfile) -> dict[str, Any]:
        base: dict[str, Any] = {"rows": p.n_rows, "nulls": p.null_count}
        if isinstance(p, NumericProfile) and p.count:
            base.update(min=p.min, max=p.max, mean=p.mean, std=p.std)
        elif isinstance(p, CategoricalProfile):
            top = sorted(p.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
            base.update(categories=len(p.counts), top={k: v for k, v in top})
        return base

    return {"reference": side(ref), "current": side(cur)}
