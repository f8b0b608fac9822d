"""Streaming histograms of a current window on the reference's edges, in flat memory.

Every chunk is histogrammed and dropped, so memory does not depend on the window's length. A type
change, a missing or a new column becomes evidence for a status, never an exception. Window profiles
of several partitions (blobs, hours) merge with `DatasetProfile.merged(other, reference)`. This
module never reads files and never decides drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from functools import partial
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
    total passes the limit, after which they are dropped and `raw` is None. With a `pool` (an
    Executor; numpy and pyarrow release the GIL) the columns of a chunk are histogrammed and counted in
    its threads while the caller reads the next chunk; a column's chunks are still added in order, one
    at a time, so the result does not depend on the pool; `tasks` is how many shares of the columns a
    chunk is split into (the pool's size). Call `finish` to wait for the last chunk."""

    def __init__(
        self,
        reference: DatasetProfile,
        features: Iterable[str] | None = None,
        raw_limit: int = 0,
        pool: Executor | None = None,
        tasks: int = 2,
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
        self._pool = pool
        self._tasks = max(1, tasks)
        self._pending: list[Future[None]] = []

    def add(self, chunk: Any) -> None:
        batch = as_batch(chunk)
        work: list[Callable[[], None]] = []  # every change to a feature's profile, one item per column
        for name in self._names:
            target = self.profile.features[name]
            if name not in batch.columns:
                work.append(partial(_add_nulls, target, batch.num_rows))
                continue
            self.profile.present.add(name)
            self._add_column(name, target, batch.columns[name], batch, work)
        if not self._restricted:
            self._note_new_columns(batch)
        self.profile.n_rows += batch.num_rows
        self.profile.columns = list(dict.fromkeys([*self.profile.columns, *batch.columns]))
        self._wait()  # the previous chunk's columns are done before this chunk's start
        if self._pool is None:
            _run_all(work)
        else:  # a few tasks per chunk, each a share of the columns: fewer hand-offs of the GIL
            shares = [work[i :: self._tasks] for i in range(self._tasks)]
            self._pending = [self._pool.submit(_run_all, share) for share in shares if share]

    def _wait(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def _add_column(
        self, name: str, target: FeatureProfile, values: Any, batch: Batch, work: list[Callable[[], None]]
    ) -> None:
        seen = family(values)
        ref = self.reference.features[name]
        if seen == NULL:
            work.append(partial(_add_nulls, target, batch.num_rows))
        elif isinstance(target, NullProfile):
            work.append(partial(_add_to_null_column, target, values, batch.num_rows))
        elif ref.family not in (NULL, seen):
            self._type_change(name, target, seen, batch, work)
        elif isinstance(target, NumericProfile):
            try:
                numbers = read_numbers(values, batch, name)
            except BadInputError:
                self._type_change(name, target, seen, batch, work)
                return
            work.append(partial(target.add_rows, numbers))
            self._keep_raw(name, numbers)
        else:
            work.append(partial(_add_categories, target, values, batch.num_rows, ref))

    def _type_change(
        self, name: str, target: FeatureProfile, seen: str, batch: Batch, work: list[Callable[[], None]]
    ) -> None:
        change = TypeChange(seen, batch.num_rows, batch.describe(0))
        previous = self.profile.type_changes.get(name)
        self.profile.type_changes[name] = previous.merged(change) if previous else change
        work.append(partial(_add_nulls, target, batch.num_rows))

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
        self._wait()
        return self.profile


def _run_all(work: list[Callable[[], None]]) -> None:
    for item in work:
        item()


def _add_to_null_column(target: NullProfile, values: Any, rows: int) -> None:
    target.n_rows += rows
    target.null_count += _null_count(values)


def _add_categories(target: CategoricalProfile, values: Any, rows: int, ref: FeatureProfile) -> None:
    counts, nulls = count_categories(values)
    target.add_window(counts, nulls, rows, ref)  # type: ignore[arg-type]


def _empty_like(ref: FeatureProfile) -> FeatureProfile:
    if isinstance(ref, NumericProfile):
        window = NumericProfile.empty(ref.edges, ref.decile_edges, ref.family)
        window.locate_like(ref)  # the reference's edge locator, built once, shared by its windows
        return window
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
