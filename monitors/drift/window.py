"""Streaming histograms of a current window on the reference's edges, in flat memory.

Every chunk is histogrammed and dropped, so memory does not depend on the window's length. A type
change, a missing or a new column becomes evidence for a status, never an exception. Window profiles
of several partitions (blobs, hours) merge with `DatasetProfile.merged(other, reference)`. This
module never reads files and never decides drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa

from monitors.drift.categorical import CategoricalProfile
from monitors.drift.columns import NULL, Batch, as_batch, count_categories, family
from monitors.drift.errors import BadInputError
from monitors.drift.numbers import read_numbers
from monitors.drift.numeric import NumericProfile
from monitors.drift.profile import DatasetProfile, FeatureProfile, NewColumn, NullProfile, TypeChange


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
                numbers = read_numbers(values, batch, name)
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
