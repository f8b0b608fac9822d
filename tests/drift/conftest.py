"""Helpers for the drift tests: independent exact computations of every metric on raw data.

These re-derive each convention straight from numpy / scipy (never through monitors.drift), so a
golden test compares the engine with the definition, not with itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def exact_numeric(ref: np.ndarray, cur: np.ndarray) -> dict[str, float]:
    """The numeric conventions of the issue, computed on raw values."""
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    edges = np.unique(np.quantile(ref, DECILES))
    p = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1) / ref.size
    q = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1) / cur.size
    pf, qf = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    with warnings.catch_warnings():  # scipy falls back from exact to asymptotic p-values, and says so
        warnings.simplefilter("ignore", RuntimeWarning)
        ks = stats.ks_2samp(ref, cur)
    return {
        "psi": float(np.sum((qf - pf) * np.log(qf / pf))),
        "js_distance": float(jensenshannon(p, q, base=2)),
        "ks_stat": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "wasserstein_norm": float(stats.wasserstein_distance(ref, cur) / max(np.std(ref), 1e-3)),
    }


def exact_categorical(ref: list[str], cur: list[str]) -> dict[str, float]:
    """Categorical conventions over the union of categories, on raw values."""
    names = sorted(set(ref) | set(cur))
    p = np.array([ref.count(n) for n in names], dtype=float)
    q = np.array([cur.count(n) for n in names], dtype=float)
    pp, qq = p / p.sum(), q / q.sum()
    pf, qf = np.maximum(pp, 1e-4), np.maximum(qq, 1e-4)
    test = stats.chi2_contingency(np.vstack([p, q]), correction=False)
    return {
        "psi": float(np.sum((qf - pf) * np.log(qf / pf))),
        "js_distance": float(jensenshannon(pp, qq, base=2)),
        "chi2_stat": float(test.statistic),
        "chi2_pvalue": float(test.pvalue),
        "linf": float(np.max(np.abs(pp - qq))),
        "unseen_share": float(sum(1 for v in cur if v not in set(ref)) / len(cur)),
    }


def chunked(columns: dict[str, np.ndarray], size: int) -> Iterator[dict[str, np.ndarray]]:
    """The same data as several chunks (the engine must not care how rows are split)."""
    n = len(next(iter(columns.values())))
    for start in range(0, n, size):
        yield {name: values[start : start + size] for name, values in columns.items()}


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[[str, list[str], list[list[object]]], Path]:
    def write(name: str, header: list[str], rows: list[list[object]]) -> Path:
        path = tmp_path / name
        lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
        path.write_text("\n".join(lines) + "\n")
        return path

    return write
