"""Reference profiles in bounded memory, for references too large to hold: three passes, exact deciles.

The decile convention needs numpy.quantile of the *whole* reference, which a single pass can only
get by keeping every value. Given a way to read the reference again, this module instead:

1. (the builder's first pass) keeps per numeric column a seeded uniform sample (bottom-k of random
   keys), exact count / min / max and a small tracker of distinct values;
2. histograms every value on provisional edges (sample quantiles, the exact min and max);
3. collects only the values of the few bins that contain the order statistics numpy.quantile
   interpolates between, so the deciles come out bit-for-bit equal to numpy.quantile(reference,
   [0.1..0.9]); those bins are then split exactly at the deciles.

Memory: the sample, the histograms and ~18 bins' values per column (about 2% of the rows at
1000 fine bins, whatever the row count); time: three reads of the reference. Never reads files
itself: the caller passes a function that opens the chunks again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from monitors.drift.columns import NULL, as_batch, family
from monitors.drift.conventions import DECILES, EXTREME_EDGES
from monitors.drift.errors import BadInputError
from monitors.drift.numeric import NumericProfile, fine_levels, isolate_atoms, quantiles_of_sorted

SAMPLE_SIZE = 1 << 16
DISTINCT_LIMIT = 64  # distinct values tracked exactly (type inference needs only a handful)
_SEED = 7


def _k_smallest(values: np.ndarray, k: int = EXTREME_EDGES) -> np.ndarray:
    if values.size <= k:
        return np.sort(values)
    return np.sort(np.partition(values, k - 1)[:k])


class Sampler:
    """Bounded summary of one numeric column during the first pass."""

    def __init__(self, size: int = SAMPLE_SIZE, seed: int = _SEED) -> None:
        self.size = size
        self._rng = np.random.default_rng(seed)
        self._values = np.empty(0)
        self._keys = np.empty(0)
        self._threshold = 1.0  # keys at or above cannot enter a full sample
        self.count = 0
        self.nonfinite = 0
        self._low = np.empty(0)  # the EXTREME_EDGES smallest values so far
        self._high = np.empty(0)  # and the largest
        self.distinct: dict[float, int] | None = {}

    def add(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)]
        self.nonfinite += values.size - finite.size
        if finite.size == 0:
            return
        self.count += finite.size
        self._low = _k_smallest(np.concatenate([self._low, _k_smallest(finite)]))
        self._high = -_k_smallest(-np.concatenate([self._high, -_k_smallest(-finite)]))
        self._track_distinct(finite)
        keys = self._rng.random(finite.size)
        take = keys < self._threshold
        self._values = np.concatenate([self._values, finite[take]])
        self._keys = np.concatenate([self._keys, keys[take]])
        if self._values.size > self.size + self.size // 4:
            self._compact()

    def _compact(self) -> None:
        """Keep the `size` values with the smallest keys: a uniform sample without replacement."""
        if self._values.size <= self.size:
            return
        keep = np.argpartition(self._keys, self.size - 1)[: self.size]
        self._values, self._keys = self._values[keep], self._keys[keep]
        self._threshold = float(self._keys.max())

    def _track_distinct(self, finite: np.ndarray) -> None:
        if self.distinct is None:
            return
        levels, counts = np.unique(finite, return_counts=True)
        if levels.size > DISTINCT_LIMIT:
            self.distinct = None
            return
        for level, n in zip(levels.tolist(), counts.tolist(), strict=True):
            self.distinct[level] = self.distinct.get(level, 0) + n
        if len(self.distinct) > DISTINCT_LIMIT:
            self.distinct = None

    def extremes(self) -> np.ndarray:
        """The smallest and largest values seen (exact), sorted."""
        return np.unique(np.concatenate([self._low, self._high]))

    @property
    def complete(self) -> bool:
        """True while the sample still holds every value seen (no further pass needed)."""
        return self.count <= self.size

    def sorted_sample(self) -> np.ndarray:
        self._compact()
        return np.sort(self._values)


def numpy_linear_quantile(order_statistic: Callable[[int], float], n: int, q: float) -> float:
    """numpy.quantile(x, q) (method 'linear') of n values, from their order statistics, with numpy's
    own arithmetic (virtual index (n - 1) * q and its two-sided lerp), so the result is bit-identical."""
    virtual = np.float64(n - 1) * np.float64(q)
    if virtual >= n - 1:
        return order_statistic(n - 1)
    below = int(np.floor(virtual))
    a, b = np.float64(order_statistic(below)), np.float64(order_statistic(below + 1))
    t = virtual - np.float64(below)
    diff = b - a
    return float(b - diff * (1 - t)) if t >= 0.5 else float(a + diff * t)


def decile_ranks(n: int) -> list[int]:
    ranks = []
    for q in DECILES:
        virtual = np.float64(n - 1) * np.float64(q)
        below = min(int(np.floor(virtual)), n - 1)
        ranks.extend([below, min(below + 1, n - 1)])
    return sorted(set(ranks))


def provisional_edges(sampler: Sampler) -> np.ndarray:
    """Fine edges from the sample's quantiles plus the exact extremes, with one-point bins for the
    extremes and for sample values that are edges (likely atoms)."""
    sample = sampler.sorted_sample()
    fine = quantiles_of_sorted(sample, fine_levels(sample.size))
    extremes = sampler.extremes()
    edges = np.unique(np.concatenate([fine[(fine > extremes[0]) & (fine < extremes[-1])], extremes]))
    return isolate_atoms(edges, np.unique(np.concatenate([sample, extremes])))


def _numbers(
    chunks: Iterable[Any], names: list[str], read: Callable[..., np.ndarray]
) -> Iterable[tuple[str, Any]]:
    """(name, float values) for every chunk of the numeric columns, skipping all-null chunks."""
    for chunk in chunks:
        batch = as_batch(chunk)
        for name in names:
            values = batch.columns.get(name)
            if values is None or family(values) == NULL:
                continue
            yield name, read(values, batch, name)


def refine(
    samplers: dict[str, Sampler], open_chunks: Callable[[], Iterable[Any]], read: Callable[..., np.ndarray]
) -> dict[str, NumericProfile]:
    """Passes 2 and 3: exact histograms with bit-exact decile edges, for columns whose sample is partial."""
    names = list(samplers)
    hists = {name: NumericProfile.empty(provisional_edges(s), np.empty(0)) for name, s in samplers.items()}
    for name, values in _numbers(open_chunks(), names, read):
        hists[name].add_rows(values)
    targets: dict[str, np.ndarray] = {}
    for name, hist in hists.items():
        extremes = samplers[name].extremes()
        if hist.count != samplers[name].count or (hist.min, hist.max) != (extremes[0], extremes[-1]):
            raise BadInputError(
                "the reference changed between passes (count, min or max differ)", column=name
            )
        below = np.cumsum(hist.counts)
        targets[name] = np.unique(np.searchsorted(below, decile_ranks(hist.count), side="right"))
    # One-point bins [e, nextafter(e)) hold only e (often most rows: zero-inflated data): not collected.
    ranges = {name: targets[name][~_one_point(hists[name].edges, targets[name])] for name in names}
    collected: dict[str, list[np.ndarray]] = {name: [np.empty(0)] for name in names}
    for name, values in _numbers(open_chunks(), names, read):
        collected[name].append(_values_in_bins(values, hists[name].edges, ranges[name]))
    return {
        name: _split_at_deciles(hists[name], ranges[name], np.sort(np.concatenate(collected[name])))
        for name in names
    }


def _one_point(edges: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Which bins are [e, nextafter(e)), holding the single value e."""
    inner = (bins >= 1) & (bins < edges.size)
    out = np.zeros(bins.size, dtype=bool)
    out[inner] = edges[bins[inner]] == np.nextafter(edges[bins[inner] - 1], np.inf)
    return out


def _values_in_bins(values: np.ndarray, edges: np.ndarray, bins: np.ndarray) -> np.ndarray:
    ordered = np.sort(values[np.isfinite(values)])
    bounds = np.concatenate(([0], np.searchsorted(ordered, edges, "left"), [ordered.size]))
    return np.concatenate([np.empty(0), *(ordered[bounds[b] : bounds[b + 1]] for b in bins)])


def _split_at_deciles(hist: NumericProfile, targets: np.ndarray, inside: np.ndarray) -> NumericProfile:
    """Exact deciles from the collected bins (`targets`, whose values are `inside`) and the one-point
    bins (whose value is their edge), then the histogram on edges that include the deciles."""
    below = np.concatenate(([0], np.cumsum(hist.counts)))
    start = {int(b): int(below[b]) for b in targets}  # rank of the first value of each collected bin
    offsets = np.concatenate(([0], np.cumsum([hist.counts[b] for b in targets])))
    first_of = {int(b): int(offsets[i]) for i, b in enumerate(targets)}

    def order_statistic(rank: int) -> float:
        b = int(np.searchsorted(below, rank, side="right")) - 1
        if b not in first_of:  # a one-point bin [e, nextafter(e)): its values are all e
            return float(hist.edges[b - 1])
        return float(inside[first_of[b] + rank - start[b]])

    deciles = np.unique([numpy_linear_quantile(order_statistic, hist.count, q) for q in DECILES])
    atoms = np.searchsorted(inside, deciles, "right") > np.searchsorted(inside, deciles, "left")
    edges = np.unique(np.concatenate([hist.edges, deciles, np.nextafter(deciles[atoms], np.inf)]))
    out = NumericProfile.empty(edges, deciles, hist.family)
    kept = np.ones(hist.counts.size, dtype=bool)
    kept[targets] = False
    # provisional bin i starts at edges_old[i - 1]; its first piece in the new edges starts there too
    new_index = np.concatenate(([0], np.searchsorted(edges, hist.edges) + 1))
    np.add.at(out.counts, new_index[kept], hist.counts[kept])
    np.add.at(out.offsets, new_index[kept], hist.offsets[kept])  # same lower edges
    pieces = NumericProfile.empty(edges, deciles)
    pieces.add_sorted_finite(inside)
    out.counts += pieces.counts
    out.offsets += pieces.offsets
    out.min, out.max, out.mean, out.m2 = hist.min, hist.max, hist.mean, hist.m2
    return out
