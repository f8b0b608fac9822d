"""Builders that turn streams of chunks into profiles: the reference once, windows many times.

Reference: categorical columns are counted chunk by chunk; numeric columns are buffered (8 bytes per
non-null value) because the decile convention needs the exact quantiles of the whole reference;
type inference happens at the end. A column that changes type *inside the reference* is bad input.

Window: every chunk is histogrammed on the reference's edges and dropped, so memory stays flat
however many rows the window has. A type change, a missing or a new column becomes evidence for a
status, never an exception. Neither builder reads files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    as_float,
    count_categories,
    family,
)
from monitors.drift.conventions import INT_CATEGORICAL_MAX_LEVELS
from monitors.drift.errors import BadInputError
from monitors.drift.numeric import NumericProfile, plan_edges
from monitors.drift.profile import DatasetProfile, FeatureProfile, NewColumn, NullProfile, TypeChange


def _read_numbers(values: Any, batch: Batch, name: str) -> np.ndarray:
    """Values as float64; strings (a --numeric override) must all parse as numbers."""
    try:
        return as_float(values)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        texts = values.to_pylist() if hasattr(values, "to_pylist") else list(values)
        for offset, text in enumerate(texts):
            try:
                float(text) if text is not None else None
            except (TypeError, ValueError):
                raise BadInputError(f"{text!r} is not a number", column=name, **batch.where(offset)) from exc
        raise BadInputError(f"cannot read as numbers ({exc})", column=name, **batch.where(0)) from exc


@dataclass
class _Column:
    kind: str | None  # forced by an override, else decided at finish
    family: str | None = None
    n_rows: int = 0
    null_rows: int = 0
    parts: list[np.ndarray] = field(default_factory=list)
    table: CategoricalProfile = field(default_factory=CategoricalProfile)


class ReferenceBuilder:
    """Feed reference chunks with `add`, then `finish` once for the profile."""

    def __init__(
        self,
        *,
        categorical: Iterable[str] = (),
        numeric: Iterable[str] = (),
        features: Iterable[str] | None = None,
        plan: DatasetProfile | None = None,
        keep_raw: bool = False,
    ) -> None:
        self._overrides = {**{n: "numeric" for n in numeric}, **{n: "categorical" for n in categorical}}
        both = set(categorical) & set(numeric)
        if both:
            raise BadInputError(f"features both --categorical and --numeric: {sorted(both)}")
        self._only = list(features) if features is not None else None
        self._plan = plan
        if plan is not None:
            planned = {n: k for n, k in plan.kinds().items() if k in ("numeric", "categorical")}
            self._overrides = {**planned, **self._overrides}
        self._keep_raw = keep_raw
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
            column.parts.append(_read_numbers(values, batch, name))

    def finish(self) -> DatasetProfile:
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
                    f"{column.family} columns are not profiled; pass --categorical {name} "
                    "to compare them as categories"
                )
                continue
            features[name] = self._finish_column(name, column)
        profile = DatasetProfile(features, self._n_rows, "reference", list(self._columns), skipped)
        profile.refresh_null_spread()
        return profile

    def _finish_column(self, name: str, column: _Column) -> FeatureProfile:
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
        values = np.sort(np.concatenate(column.parts)) if column.parts else np.empty(0)
        column.parts.clear()
        finite = values[np.isfinite(values)]
        nulls = column.null_rows + (values.size - finite.size)
        if column.kind is None and _few_integers(finite):
            return _integers_as_categories(finite, column.n_rows, nulls, column.family or NUMBER)
        profile = self._numeric_on_plan(name, finite, column.family or NUMBER)
        profile.n_rows, profile.null_count = column.n_rows, nulls
        if self._keep_raw:
            self.raw[name] = finite
        return profile

    def _numeric_on_plan(self, name: str, finite: np.ndarray, seen: str) -> NumericProfile:
        planned = self._plan.features.get(name) if self._plan is not None else None
        if isinstance(planned, NumericProfile):
            profile = NumericProfile.empty(planned.edges, planned.decile_edges, seen)
        else:
            profile = NumericProfile.empty(*plan_edges(finite), family=seen)
        profile.add_sorted_finite(finite)
        return profile


def _few_integers(finite: np.ndarray) -> bool:
    if finite.size == 0 or not np.all(finite == np.round(finite)):
        return False
    return int(np.count_nonzero(np.diff(finite))) + 1 <= INT_CATEGORICAL_MAX_LEVELS


def _integers_as_categories(finite: np.ndarray, n_rows: int, nulls: int, seen: str) -> CategoricalProfile:
    levels, counts = np.unique(finite, return_counts=True)
    names = pc.cast(pa.array(levels), pa.string()).to_pylist()
    table = CategoricalProfile(n_rows=n_rows, null_count=nulls, family=seen)
    table.counts = dict(zip(names, (int(c) for c in counts), strict=True))
    return table


def build_profile(
    chunks: Iterable[Any],
    *,
    categorical: Iterable[str] = (),
    numeric: Iterable[str] = (),
    features: Iterable[str] | None = None,
    plan: DatasetProfile | None = None,
) -> DatasetProfile:
    """Profile a reference. With `plan` (another reference profile) the bins and kinds are taken from
    it, so partitions profiled on one plan merge exactly into the profile of their union."""
    builder = ReferenceBuilder(categorical=categorical, numeric=numeric, features=features, plan=plan)
    for chunk in chunks:
        builder.add(chunk)
    return builder.finish()


class WindowBuilder:
    """Histogram a current window on the reference's edges, one chunk at a time, in flat memory.

    With `raw_limit` > 0 the finite numeric values are also kept (for the `exact` option) until their
    total passes the limit, after which they are dropped and `raw` is None."""

    def __init__(
        self, reference: DatasetProfile, features: Iterable[str] | None = None, raw_limit: int = 0
    ) -> None:
        self.reference = reference
        names = list(features) if features is not None else list(reference.features)
        unknown = [n for n in names if n not in reference.features]
        if unknown:
            raise BadInputError(
                f"features not in the reference profile: {', '.join(map(repr, unknown))} "
                f"(profiled: {', '.join(reference.features)})"
            )
        self._names = names
        self._restricted = features is not None
        self.profile = DatasetProfile({n: _empty_like(reference.features[n]) for n in names}, 0, "window")
        self._raw_limit = raw_limit
        self._raw_size = 0
        self.raw: dict[str, list[np.ndarray]] | None = {} if raw_limit > 0 else None

    def add(self, chunk: Any) -> None:
        batch = as_batch(chunk)
        for name in self._names:
            target = self.profile.features[name]
            if name not in batch.columns:
                _add_nulls(target, batch.num_rows)
                continue
            self.profile.present.add(name)
            self._add_column(name, target, batch.columns[name], batch)
        if not self._restricted:
            self._note_new_columns(batch)
        self.profile.n_rows += batch.num_rows
        self.profile.columns = list(dict.fromkeys([*self.profile.columns, *batch.columns]))

    def _add_column(self, name: str, target: FeatureProfile, values: Any, batch: Batch) -> None:
        seen = family(values)
        ref = self.reference.features[name]
        if seen == NULL:
            _add_nulls(target, batch.num_rows)
        elif isinstance(target, NullProfile):
            target.n_rows += batch.num_rows
            target.null_count += _null_count(values)
        elif ref.family not in (NULL, seen):
            self._type_change(name, target, seen, batch)
        elif isinstance(target, NumericProfile):
            try:
                numbers = _read_numbers(values, batch, name)
            except BadInputError:
                self._type_change(name, target, seen, batch)
                return
            target.add_rows(numbers)
            self._keep_raw(name, numbers)
        else:
            counts, nulls = count_categories(values)
            target.add_window(counts, nulls, batch.num_rows, ref)  # type: ignore[arg-type]

    def _type_change(self, name: str, target: FeatureProfile, seen: str, batch: Batch) -> None:
        change = TypeChange(seen, batch.num_rows, batch.describe(0))
        previous = self.profile.type_changes.get(name)
        self.profile.type_changes[name] = previous.merged(change) if previous else change
        _add_nulls(target, batch.num_rows)

    def _keep_raw(self, name: str, numbers: np.ndarray) -> None:
        if self.raw is None:
            return
        finite = numbers[np.isfinite(numbers)]
        self._raw_size += finite.size
        if self._raw_size > self._raw_limit:
            self.raw = None
            return
        self.raw.setdefault(name, []).append(finite)

    def _note_new_columns(self, batch: Batch) -> None:
        for name, values in batch.columns.items():
            if name in self.reference.features or name in self.reference.columns:
                continue
            column = NewColumn(family(values), batch.num_rows, _null_count(values))
            previous = self.profile.new_columns.get(name)
            self.profile.new_columns[name] = previous.merged(column) if previous else column

    def finish(self) -> DatasetProfile:
        return self.profile


def _empty_like(ref: FeatureProfile) -> FeatureProfile:
    if isinstance(ref, NumericProfile):
        return NumericProfile.empty(ref.edges, ref.decile_edges, ref.family)
    if isinstance(ref, CategoricalProfile):
        return CategoricalProfile(family=ref.family)
    return NullProfile()


def _add_nulls(target: FeatureProfile, rows: int) -> None:
    if isinstance(target, NumericProfile):
        target.add_nulls(rows)
    else:
        target.n_rows += rows
        target.null_count += rows


def _null_count(values: Any) -> int:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return int(np.count_nonzero(~np.isfinite(values))) if values.dtype.kind == "f" else 0
    array = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(list(values))
    return int(array.null_count)


def profile_window(
    reference: DatasetProfile, chunks: Iterable[Any], features: Iterable[str] | None = None
) -> DatasetProfile:
    """One streaming pass over a window; merge the results of several calls with `merged`."""
    builder = WindowBuilder(reference, features)
    for chunk in chunks:
        builder.add(chunk)
    return builder.finish()
