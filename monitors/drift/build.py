"""Reference profiles from streams of chunks: once per model, at registration.

Categorical columns are counted chunk by chunk. Numeric columns need the exact deciles of the whole
reference, so a single pass over an iterable keeps their non-null values (8 bytes each); given a
function that reads the reference again, `build_profile` instead makes three passes in bounded
memory (see bounded.py) with the same deciles. With a `plan` (an existing profile) the edges are
known and numeric columns are histogrammed as they stream, which is how partitions are profiled to
be merged. Type inference happens at the end. A column that changes type *inside the reference* is
bad input. Never reads files, never decides drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from monitors.drift.bounded import SAMPLE_SIZE, Sampler, refine
from monitors.drift.categorical import CategoricalProfile
from monitors.drift.columns import (
    BOOL,
    NULL,
    NUMBER,
    OTHER_FAMILY,
    STRING,
    TEMPORAL,
    Batch,
    as_batch,
    count_categories,
    family,
)
from monitors.drift.conventions import INT_CATEGORICAL_MAX_LEVELS
from monitors.drift.errors import BadInputError
from monitors.drift.numbers import read_numbers
from monitors.drift.numeric import NumericProfile, plan_edges
from monitors.drift.profile import DatasetProfile, FeatureProfile, NullProfile

Chunks = Iterable[Any]


class _Buffer:
    """One-pass numeric store: every finite value (copied, so no Arrow batch is kept alive)."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []
        self.nonfinite = 0

    def add(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)]
        self.nonfinite += values.size - finite.size
        self.parts.append(finite)

    def sorted_values(self) -> np.ndarray:
        values = np.sort(np.concatenate(self.parts)) if self.parts else np.empty(0)
        self.parts.clear()
        return values


Store = _Buffer | Sampler | NumericProfile


@dataclass
class _Column:
    kind: str | None  # forced by an override or a plan, else decided at finish
    family: str | None = None
    n_rows: int = 0
    null_rows: int = 0
    store: Store | None = None
    table: CategoricalProfile = field(default_factory=CategoricalProfile)


class ReferenceBuilder:
    """Feed reference chunks with `add`, then `finish` once for the profile.

    `sample_size` switches numeric columns to bounded sampling (first pass of the three-pass build:
    `pending()` then lists the columns that need `bounded.refine`)."""

    def __init__(
        self,
        *,
        categorical: Iterable[str] = (),
        numeric: Iterable[str] = (),
        features: Iterable[str] | None = None,
        plan: DatasetProfile | None = None,
        keep_raw: bool = False,
        sample_size: int | None = None,
    ) -> None:
        categorical, numeric = list(categorical), list(numeric)
        both = set(categorical) & set(numeric)
        if both:
            raise BadInputError(f"features both --categorical and --numeric: {sorted(both)}")
        self._overrides = {**{n: "numeric" for n in numeric}, **{n: "categorical" for n in categorical}}
        self._plan = plan
        if plan is not None:
            planned = {n: k for n, k in plan.kinds().items() if k in ("numeric", "categorical")}
            self._overrides = {**planned, **self._overrides}
        self._only = list(features) if features is not None else None
        self._keep_raw = keep_raw
        self._sample_size = sample_size
        self._columns: dict[str, _Column] = {}
        self._n_rows = 0
        self.raw: dict[str, np.ndarray] = {}

    def add(self, chunk: Any) -> None:
        batch = as_batch(chunk)
        for name, values in batch.columns.items():
            if self._only is not None and name not in self._only:
                continue
            column = self._columns.get(name)
            if column is None:
                column = self._columns[name] = _Column(self._overrides.get(name))
                column.n_rows = column.null_rows = self._n_rows  # absent from earlier chunks
            self._add_column(name, column, values, batch)
        for name, column in self._columns.items():
            if name not in batch.columns:
                column.n_rows += batch.num_rows
                column.null_rows += batch.num_rows
        self._n_rows += batch.num_rows

    def _add_column(self, name: str, column: _Column, values: Any, batch: Batch) -> None:
        seen = family(values)
        column.n_rows += batch.num_rows
        if seen == NULL:
            column.null_rows += batch.num_rows
            return
        if column.family is None:
            column.family = seen
        elif seen != column.family:
            raise BadInputError(
                f"the reference column changes type from {column.family} to {seen}",
                column=name,
                **batch.where(0),
            )
        if column.kind == "categorical" or (column.kind is None and seen in (STRING, BOOL)):
            counts, nulls = count_categories(values)
            column.table.add_reference(counts, 0, 0)
            column.null_rows += nulls
        elif column.kind == "numeric" or seen == NUMBER:
            if column.store is None:
                column.store = self._new_store(name)
            numbers = read_numbers(values, batch, name)
            if isinstance(column.store, NumericProfile):
                column.store.add_rows(numbers)
            else:
                column.store.add(numbers)

    def _new_store(self, name: str) -> Store:
        planned = self._plan.features.get(name) if self._plan is not None else None
        if isinstance(planned, NumericProfile) and not self._keep_raw:
            return NumericProfile.empty(planned.edges, planned.decile_edges)
        return Sampler(self._sample_size) if self._sample_size else _Buffer()

    def pending(self) -> dict[str, Sampler]:
        """Numeric columns whose sample does not hold every value: they need `bounded.refine`."""
        return {
            name: column.store
            for name, column in self._columns.items()
            if isinstance(column.store, Sampler)
            and not column.store.complete
            and (self._only is None or name in self._only)
            and not (column.kind is None and _sampled_integer_levels(column.store))
        }

    def finish(self, refined: Mapping[str, NumericProfile] | None = None) -> DatasetProfile:
        features: dict[str, FeatureProfile] = {}
        skipped: dict[str, str] = {}
        names = self._only if self._only is not None else list(self._columns)
        for name in names:
            column = self._columns.get(name)
            if column is None:
                raise BadInputError(
                    f"feature {name!r} is not a column of the reference "
                    f"(columns: {', '.join(self._columns) or 'none'})"
                )
            if column.kind is None and column.family in (TEMPORAL, OTHER_FAMILY):
                skipped[name] = (
                    f"{column.family} columns are not profiled; "
                    f"pass --categorical {name} to compare them as categories"
                )
                continue
            features[name] = self._finish_column(name, column, (refined or {}).get(name))
        profile = DatasetProfile(features, self._n_rows, "reference", list(self._columns), skipped)
        profile.refresh_null_spread()
        return profile

    def _finish_column(self, name: str, column: _Column, refined: NumericProfile | None) -> FeatureProfile:
        if column.kind is None and column.family is None:
            return NullProfile(column.n_rows, column.null_rows)
        if column.kind == "categorical" or (column.kind is None and column.family in (STRING, BOOL)):
            table = column.table
            table.n_rows, table.null_count, table.family = (
                column.n_rows,
                column.null_rows,
                column.family or NULL,
            )
            table.truncate()
            return table
        seen = column.family or NUMBER
        store = column.store
        nulls = column.null_rows + (
            store.null_count if isinstance(store, NumericProfile) else getattr(store, "nonfinite", 0)
        )
        profile = refined or self._numeric(name, column, seen)
        if isinstance(profile, CategoricalProfile):
            profile.n_rows, profile.null_count = column.n_rows, nulls
            return profile
        profile.n_rows, profile.null_count, profile.family = column.n_rows, nulls, seen
        return profile

    def _numeric(self, name: str, column: _Column, seen: str) -> NumericProfile | CategoricalProfile:
        store = column.store
        if isinstance(store, NumericProfile):
            return store
        if isinstance(store, Sampler):
            if column.kind is None and (levels := _sampled_integer_levels(store)):
                return _levels_as_categories(levels, seen)
            if not store.complete:
                raise RuntimeError(f"column {name!r} needs the bounded passes (ReferenceBuilder.pending)")
            finite = store.sorted_sample()
        else:
            finite = store.sorted_values() if store is not None else np.empty(0)
            if column.kind is None and (levels := _buffered_integer_levels(finite)):
                return _levels_as_categories(levels, seen)
        if self._keep_raw:
            self.raw[name] = finite
        planned = self._plan.features.get(name) if self._plan is not None else None
        if isinstance(planned, NumericProfile):
            profile = NumericProfile.empty(planned.edges, planned.decile_edges, seen)
        else:
            profile = NumericProfile.empty(*plan_edges(finite), family=seen)
        profile.add_sorted_finite(finite)
        return profile


def _buffered_integer_levels(finite: np.ndarray) -> dict[float, int] | None:
    if finite.size == 0 or not np.all(finite == np.round(finite)):
        return None
    if int(np.count_nonzero(np.diff(finite))) + 1 > INT_CATEGORICAL_MAX_LEVELS:
        return None
    levels, counts = np.unique(finite, return_counts=True)
    return dict(zip(levels.tolist(), counts.tolist(), strict=True))


def _sampled_integer_levels(store: Sampler) -> dict[float, int] | None:
    levels = store.distinct
    if not levels or len(levels) > INT_CATEGORICAL_MAX_LEVELS or any(v != round(v) for v in levels):
        return None
    return levels


def _levels_as_categories(levels: dict[float, int], seen: str) -> CategoricalProfile:
    """Integer-valued columns with few levels become categories named like as_categories names them."""
    names = pc.cast(pa.array(list(levels), pa.float64()), pa.string()).to_pylist()
    return CategoricalProfile(dict(zip(names, levels.values(), strict=True)), family=seen)


def build_profile(
    chunks: Chunks | Callable[[], Chunks],
    *,
    categorical: Iterable[str] = (),
    numeric: Iterable[str] = (),
    features: Iterable[str] | None = None,
    plan: DatasetProfile | None = None,
    sample_size: int = SAMPLE_SIZE,
) -> DatasetProfile:
    """Profile a reference.

    `chunks` is either an iterable (one pass; numeric values are held in memory) or a function
    returning a fresh iterable of the same data (three passes in bounded memory, same deciles).
    With `plan` (another reference profile) the bins and kinds are taken from it, so partitions
    profiled on one plan merge exactly into the profile of their union."""
    options = {"categorical": categorical, "numeric": numeric, "features": features, "plan": plan}
    if not callable(chunks):
        builder = ReferenceBuilder(**options)
        for chunk in chunks:
            builder.add(chunk)
        return builder.finish()
    builder = ReferenceBuilder(**options, sample_size=sample_size)
    for chunk in chunks():
        builder.add(chunk)
    pending = builder.pending()
    return builder.finish(refine(pending, chunks, read_numbers) if pending else None)
