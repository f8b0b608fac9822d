"""Histogram profile of one numeric feature on fixed reference-quantile edges.

Why these edges: the reference deciles give PSI and Jensen-Shannon their declared convention exactly,
and ~1000 finer reference quantiles (with every edge that is a data value isolated in its own
one-point bin) bound the KS error by one bin's reference mass and make Wasserstein exact except
where the two CDFs cross inside a bin. Counts plus per-bin value offsets on shared edges add up, so profiles
of partitions merge into the profile of their union, and a window is histogrammed in one streaming
pass whose memory does not depend on its length.

A window chunk is binned in data order by `binning.EdgeLocator` (a grid lookup plus two comparisons
per value, ~6 ns, where sorting the chunk costs ~50 ns and a binary search per value ~90 ns); the
reference build, which sorts its values for the quantiles anyway, locates the edges in the sorted
values. This module must never hold more than one chunk of values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitors.drift.binning import EdgeLocator
from monitors.drift.columns import NUMBER
from monitors.drift.conventions import DECILES, EXTREME_EDGES, FINE_LEVELS
from monitors.drift.errors import ProfileFormatError


def fine_levels(n: int) -> np.ndarray:
    """Quantile levels of the fine edges: FINE_LEVELS uniform ones, plus levels halving towards each
    tail (0.5%, 0.25%, ... down to one value), where heavy tails make equal-mass bins very wide."""
    uniform = np.linspace(0.0, 1.0, min(FINE_LEVELS, max(n - 1, 1)) + 1)
    tail = 0.005 * 0.5 ** np.arange(40)
    tail = tail[tail * (n - 1) >= 1]
    return np.unique(np.concatenate([uniform, tail, 1.0 - tail]))


def quantiles_of_sorted(sorted_values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Linear-interpolation quantiles of sorted values (the fine edges need not be bit-exact)."""
    n = sorted_values.size
    position = levels * (n - 1)
    lo = np.clip(np.floor(position).astype(np.int64), 0, n - 1)
    hi = np.minimum(lo + 1, n - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (position - lo)


def isolate_atoms(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Give every edge that is one of `values` (sorted) a one-point bin [e, nextafter(e)): inside
    any other bin the reference CDF then has no jump at the left edge, which is what bounds the KS
    error by the bin's mass and keeps Wasserstein exact around ties."""
    present = np.searchsorted(values, edges, "right") > np.searchsorted(values, edges, "left")
    return np.unique(np.concatenate([edges, np.nextafter(edges[present], np.inf)]))


def plan_edges(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fine edges, decile edges) from the sorted finite reference values."""
    n = sorted_values.size
    if n == 0:
        return np.empty(0), np.empty(0)
    deciles = np.unique(np.quantile(sorted_values, DECILES))
    fine = quantiles_of_sorted(sorted_values, fine_levels(n))
    extremes = np.concatenate([sorted_values[:EXTREME_EDGES], sorted_values[-EXTREME_EDGES:]])
    edges = np.unique(np.concatenate([fine, deciles, extremes]))
    return isolate_atoms(edges, sorted_values), deciles


@dataclass
class NumericProfile:
    """Counts and value offsets per bin (bin 0 is (-inf, e0), bin i is [e(i-1), e(i)), the last is open).

    `offsets[i]` is the sum of (v - left_i) over the bin's values, left_i being the bin's lower edge (e0
    for bin 0, so its offsets are <= 0): small numbers, so the within-bin integrals behind Wasserstein
    keep full precision, and identical data gives exactly zero."""

    edges: np.ndarray
    decile_edges: np.ndarray
    counts: np.ndarray = field(repr=False)
    offsets: np.ndarray = field(repr=False)
    n_rows: int = 0
    null_count: int = 0
    min: float | None = None
    max: float | None = None
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean (Chan et al. merge)
    family: str = NUMBER
    w1_null: tuple[float, ...] | None = None  # reference only: no-drift W1 quantiles, see samplesize
    kind: str = "numeric"
    _locator: EdgeLocator | None = field(default=None, init=False, repr=False, compare=False)
    _locator_of: NumericProfile | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def empty(cls, edges: np.ndarray, decile_edges: np.ndarray, family: str = NUMBER) -> NumericProfile:
        bins = edges.size + 1
        return cls(edges, decile_edges, np.zeros(bins, np.int64), np.zeros(bins), family=family)

    @property
    def count(self) -> int:
        return int(self.counts.sum())

    @property
    def std(self) -> float:
        """Population standard deviation (the Wasserstein normaliser)."""
        n = self.count
        return float(np.sqrt(max(self.m2, 0.0) / n)) if n else 0.0

    def add_rows(self, values: np.ndarray) -> None:
        """Add one chunk of float64 values (NaN / inf are nulls) in O(chunk) time and memory, in any
        order: values are located in the edges by `EdgeLocator` (no sort, no binary search)."""
        self.n_rows += values.size
        finite = np.isfinite(values)
        kept = values if finite.all() else values[finite]
        self.null_count += values.size - kept.size
        self.add_finite(kept)

    def add_nulls(self, rows: int) -> None:
        self.n_rows += rows
        self.null_count += rows

    def locator(self) -> EdgeLocator:
        """The edge locator of these edges, built on first use (a window takes its reference's, whose
        counts choose the grid; a window's first chunk builds it on the thread that bins the column)."""
        if self._locator is None:
            source = self._locator_of if self._locator_of is not None else self
            self._locator = source._locator or EdgeLocator(source.edges, source.counts)
            source._locator = self._locator
        return self._locator

    def locate_like(self, reference: NumericProfile) -> None:
        """Use (and share) the reference's locator: same edges, built once per reference."""
        if reference.edges is not self.edges and not np.array_equal(reference.edges, self.edges):
            raise ValueError("a window shares the locator of a reference on the same edges only")
        self._locator_of = reference

    def add_finite(self, values: np.ndarray) -> None:
        """Add finite values in any order: counts and offsets by bincount on the located bins."""
        if values.size == 0:
            return
        bins = self.locator().locate(values)
        self.counts += np.bincount(bins, minlength=self.counts.size)
        shifted = values - self._lefts()[bins]
        self.offsets += np.bincount(bins, weights=shifted, minlength=self.counts.size)
        self._add_moments(values, float(values.min()), float(values.max()))

    def _lefts(self) -> np.ndarray:
        """Each bin's lower edge (e0 for bin 0, whose offsets are therefore <= 0)."""
        return np.concatenate((self.edges[:1], self.edges)) if self.edges.size else np.zeros(1)

    def add_sorted_finite(self, ordered: np.ndarray) -> None:
        """Add sorted finite values (the reference build, which sorts them anyway for its quantiles)."""
        if ordered.size == 0:
            return
        bounds = np.empty(self.edges.size + 2, np.int64)
        bounds[0], bounds[-1] = 0, ordered.size
        bounds[1:-1] = np.searchsorted(ordered, self.edges, "left")
        in_bin = np.diff(bounds)
        self.counts += in_bin
        filled = np.flatnonzero(in_bin)
        shifted = ordered - np.repeat(self._lefts()[filled], in_bin[filled])
        self.offsets[filled] += np.add.reduceat(shifted, bounds[:-1][filled])
        self._add_moments(ordered, float(ordered[0]), float(ordered[-1]))

    def _add_moments(self, values: np.ndarray, low: float, high: float) -> None:
        chunk_mean = float(values.mean())
        deviations = values - chunk_mean
        # not np.dot: BLAS may wake its own threads for every chunk (milliseconds when cores are busy)
        self._merge_moments(values.size, chunk_mean, float(np.square(deviations, out=deviations).sum()))
        self.min = low if self.min is None else min(self.min, low)
        self.max = high if self.max is None else max(self.max, high)

    def _merge_moments(self, n_b: int, mean_b: float, m2_b: float) -> None:
        n_a = self.count - n_b  # counts already include the new values
        total = n_a + n_b
        if n_a == 0:
            self.mean, self.m2 = mean_b, m2_b
            return
        delta = mean_b - self.mean
        self.mean += delta * n_b / total
        self.m2 += m2_b + delta * delta * n_a * n_b / total

    def same_plan(self, other: NumericProfile) -> bool:
        return np.array_equal(self.edges, other.edges) and np.array_equal(
            self.decile_edges, other.decile_edges
        )

    def merged(self, other: NumericProfile) -> NumericProfile:
        """The profile of both partitions; edges must be the same (the reference's)."""
        if not self.same_plan(other):
            raise ValueError("numeric profiles on different bin edges cannot be merged exactly")
        out = NumericProfile.empty(self.edges, self.decile_edges, self.family)
        out.counts = self.counts + other.counts
        out.offsets = self.offsets + other.offsets
        out.n_rows = self.n_rows + other.n_rows
        out.null_count = self.null_count + other.null_count
        present = [p for p in (self, other) if p.count]
        out.min = min((p.min for p in present if p.min is not None), default=None)
        out.max = max((p.max for p in present if p.max is not None), default=None)
        if present:
            out.mean, out.m2 = present[0].mean, present[0].m2
        if len(present) == 2:
            n_a, n_b = self.count, other.count
            delta = other.mean - self.mean
            out.mean = self.mean + delta * n_b / (n_a + n_b)
            out.m2 = self.m2 + other.m2 + delta * delta * n_a * n_b / (n_a + n_b)
        return out

    def decile_counts(self) -> np.ndarray:
        """Counts in the decile bins, summed from the fine bins (decile edges are fine edges)."""
        cumulative = np.cumsum(self.counts)
        at = np.searchsorted(self.edges, self.decile_edges)
        return np.diff(np.concatenate(([0], cumulative[at], [cumulative[-1]])))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "family": self.family,
            "n_rows": self.n_rows,
            "null_count": self.null_count,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "m2": self.m2,
            "decile_edges": self.decile_edges.tolist(),
            "edges": self.edges.tolist(),
            "counts": self.counts.tolist(),
            "offsets": self.offsets.tolist(),
            "w1_null": list(self.w1_null) if self.w1_null is not None else None,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any], name: str) -> NumericProfile:
        edges = np.asarray(doc["edges"], dtype=np.float64)
        counts = np.asarray(doc["counts"], dtype=np.int64)
        offsets = np.asarray(doc["offsets"], dtype=np.float64)
        deciles = np.asarray(doc["decile_edges"], dtype=np.float64)
        if counts.size != edges.size + 1 or offsets.size != counts.size:
            raise ProfileFormatError(
                f"needs len(counts) == len(offsets) == len(edges) + 1, got {counts.size}, {offsets.size}, "
                f"{edges.size}",
                column=name,
            )
        if edges.size and (np.any(np.diff(edges) <= 0) or not np.isin(deciles, edges).all()):
            raise ProfileFormatError("edges must increase strictly and contain the decile edges", column=name)
        if np.any(counts < 0) or int(counts.sum()) + int(doc["null_count"]) != int(doc["n_rows"]):
            raise ProfileFormatError("counts must be >= 0 and add up with null_count to n_rows", column=name)
        w1_null = doc.get("w1_null")
        return cls(
            edges,
            deciles,
            counts,
            offsets,
            int(doc["n_rows"]),
            int(doc["null_count"]),
            doc.get("min"),
            doc.get("max"),
            float(doc["mean"]),
            float(doc["m2"]),
            doc.get("family", NUMBER),
            tuple(float(v) for v in w1_null) if w1_null is not None else None,
        )
