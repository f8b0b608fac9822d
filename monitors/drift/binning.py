"""Locating values in fixed, sorted bin edges in a few vectorised passes, with no sort and no binary search.

Why: the current-window pass histograms every numeric value on ~1,000 reference-quantile edges.
Sorting each chunk costs ~50 ns a value and `np.searchsorted(edges, values)` ~90 ns (a branchy binary
search per value); this does it in ~6 ns. A uniform grid of GRID_CELLS cells over the edges' range maps
a value to a cell with one subtraction and one multiplication; per cell a table gives the number of edges
below the cell (`base`), and a cell that holds at most two edges needs two comparisons to finish:
`bin = base + (v >= e[base]) + (v >= e[base + 1])`. Values in the few cells holding more edges
(heavy tails squeezed into one cell, values beyond the grid) fall back to `np.searchsorted`.

Exactness does not rest on the grid arithmetic being exact: the cell of a value is a monotone function
of the value (IEEE subtraction and multiplication by a positive constant round monotonically), and the
tables are computed by applying that very function to the edges. Every edge in a lower cell is below
the value and every edge in a higher cell is above it, so the result is always `searchsorted(edges, v,
"right")` (a value equal to an edge counts in the bin above it), bit for bit.

Pure numpy on finite float64 values (the caller drops NaN and +-inf). Holds ~9 bytes per cell (~0.6 MB
per numeric feature), nothing that grows with the data; never decides anything about drift.
"""

from __future__ import annotations

import math

import numpy as np

GRID_CELLS = 1 << 16
_TRIMS = (0, 8, 32, 64, 128, 256)  # edges left outside the grid at each end, tried when choosing it


class EdgeLocator:
    """`locate(values)` gives each finite value's bin on `edges`: bin 0 is (-inf, e0), bin i is
    [e(i-1), e(i)), the last is [e(-1), inf) — exactly `np.searchsorted(edges, values, "right")`.

    `mass` (optional, one weight per bin, e.g. the reference's counts) chooses how many outer edges
    to leave outside the grid: heavy tails would otherwise crowd the middle edges into few cells."""

    def __init__(self, edges: np.ndarray, mass: np.ndarray | None = None, cells: int = GRID_CELLS) -> None:
        self.edges = np.ascontiguousarray(edges, dtype=np.float64)
        self._cells = cells
        n = self.edges.size
        weights = np.ones(n + 1) if mass is None or mass.sum() <= 0 else np.asarray(mass, dtype=np.float64)
        best: tuple[float, float, float] | None = None
        for trim in (t for t in _TRIMS if n > 2 * t + 1 or t == 0):
            lo, scale = self._grid(trim)
            hard_mass = self._hard_mass(lo, scale, weights)
            if best is None or hard_mass < best[0]:
                best = (hard_mass, lo, scale)
            if hard_mass == 0.0:  # no value needs the fallback: a wider grid cannot do better
                break
        assert best is not None
        _, self._lo, self._scale = best
        self._tables()

    def _grid(self, trim: int) -> tuple[float, float]:
        if self.edges.size == 0:
            return 0.0, 1.0
        lo, hi = float(self.edges[trim]), float(self.edges[self.edges.size - 1 - trim])
        scale = (self._cells - 2) / (hi - lo) if hi > lo else 1.0  # inf or 0.0 when the range under- or
        return lo, scale if 0.0 < scale < math.inf else 1.0  # overflows: any positive scale stays exact

    def _cell_of(self, values: np.ndarray, lo: float, scale: float) -> np.ndarray:
        """The monotone value -> cell map; the same float operations for edges and for data."""
        cell = np.subtract(values, lo)
        cell *= scale
        np.clip(cell, 0, self._cells - 1, out=cell)
        return cell.astype(np.intp)

    def _edges_per_cell(self, lo: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
        """(cell of each edge, number of edges inside each cell)."""
        with np.errstate(over="ignore", invalid="ignore"):
            edge_cells = self._cell_of(self.edges, lo, scale)
        return edge_cells, np.bincount(edge_cells, minlength=self._cells)

    def _hard_mass(self, lo: float, scale: float, weights: np.ndarray) -> float:
        """Weight of the bins whose lower edge lies in a cell with more than two edges (about the share
        of values that would take the binary-search fallback); bin 0 lies in cell 0."""
        edge_cells, inside = self._edges_per_cell(lo, scale)
        hard_edges = inside[edge_cells] > 2
        return float(weights[0] * (inside[0] > 2) + np.dot(weights[1:], hard_edges))

    def _tables(self) -> None:
        _, inside = self._edges_per_cell(self._lo, self._scale)
        self._base = np.cumsum(inside) - inside  # edges below each cell (intp: no cast when gathering)
        self._hard = inside > 2
        self._any_hard = bool(self._hard.any())
        self._padded = np.concatenate((self.edges, [np.inf, np.inf]))

    def locate(self, values: np.ndarray) -> np.ndarray:
        """Bin of each finite float64 value (NaN must be removed first: it has no cell)."""
        if self.edges.size == 0:
            return np.zeros(values.size, np.intp)
        with np.errstate(over="ignore", invalid="ignore"):
            cells = self._cell_of(values, self._lo, self._scale)
        bins = self._base[cells]
        # Two full passes beat picking out the values of cells that hold an edge: with heavy tails
        # or ties that is a quarter to all of them, and the picking costs more than it saves.
        bins += values >= self._padded[bins]
        bins += values >= self._padded[bins]
        if self._any_hard:
            hard = np.flatnonzero(self._hard[cells])
            bins[hard] = np.searchsorted(self.edges, values[hard], "right")
        return bins
