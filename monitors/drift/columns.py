"""Chunks of columns as the engine sees them, and the conversions every profile builder needs.

A chunk is a `Batch` (columns plus where they came from, for error messages), a pyarrow RecordBatch
or Table, or a plain mapping of column name to array-like. This module turns any of them into a
`Batch` and a column into float64 values or canonical category strings. It must never read files
(readers do) nor decide anything about drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from monitors.drift.errors import BadInputError

# Type families: a feature keeps its family between reference and current, or it has changed type.
NUMBER, STRING, BOOL, TEMPORAL, NULL, OTHER_FAMILY = "number", "string", "bool", "temporal", "null", "other"


@dataclass(frozen=True)
class Batch:
    """Columns of equal length plus their origin, so errors and statuses can say where."""

    columns: Mapping[str, Any]
    num_rows: int
    source: str | None = None
    first_row: int = 1  # 1-based row number, within `source`, of this batch's first row
    row_lines: tuple[int, ...] | None = field(default=None, repr=False)  # JSONL: line of each row

    def where(self, offset: int = 0) -> dict[str, Any]:
        """Location keywords for BadInputError of the row at `offset` in this batch."""
        if self.row_lines is not None and offset < len(self.row_lines):
            return {"source": self.source, "line": self.row_lines[offset]}
        return {"source": self.source, "row": self.first_row + offset}

    def describe(self, offset: int = 0) -> str:
        loc = self.where(offset)
        unit = f"line {loc['line']}" if "line" in loc else f"row {loc['row']}"
        return f"{loc['source']} {unit}" if loc["source"] else unit


def as_batch(chunk: Any) -> Batch:
    """Accept a Batch, a pyarrow RecordBatch / Table or a mapping of name to array-like."""
    if isinstance(chunk, Batch):
        return chunk
    if isinstance(chunk, pa.RecordBatch | pa.Table):
        return Batch({name: chunk.column(i) for i, name in enumerate(chunk.schema.names)}, chunk.num_rows)
    if isinstance(chunk, Mapping):
        lengths = {name: len(values) for name, values in chunk.items()}
        if len(set(lengths.values())) > 1:
            raise BadInputError(f"columns of one chunk differ in length: {lengths}")
        return Batch(dict(chunk), next(iter(lengths.values()), 0))
    raise BadInputError(
        f"a chunk must be a pyarrow RecordBatch or Table, a mapping of column name to values or a "
        f"Batch, not {type(chunk).__name__}"
    )


def iter_batches(chunks: Iterable[Any]) -> Iterator[Batch]:
    for chunk in chunks:
        yield as_batch(chunk)


def _as_arrow(values: Any) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    array = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if array.dtype.kind in "fiub":
        return pa.array(array)
    try:
        return pa.array(list(array) if array.dtype.kind == "O" else array)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise BadInputError(f"values of mixed types cannot form one column ({exc})") from exc


def family(values: Any) -> str:
    """The type family of a column: number, string, bool, temporal, null or other."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return BOOL if values.dtype.kind == "b" else NUMBER
    arrow_type = _as_arrow(values).type
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return NUMBER
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or _is_string_view(arrow_type):
        return STRING
    if pa.types.is_boolean(arrow_type):
        return BOOL
    if pa.types.is_temporal(arrow_type):
        return TEMPORAL
    if pa.types.is_null(arrow_type):
        return NULL
    return OTHER_FAMILY


def _is_string_view(arrow_type: pa.DataType) -> bool:
    check = getattr(pa.types, "is_string_view", None)
    return bool(check and check(arrow_type))


def as_float(values: Any) -> np.ndarray:
    """float64 values with NaN wherever the column is null (the caller drops non-finite values)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return values.astype(np.float64, copy=False)
    array = _as_arrow(values)
    if not pa.types.is_float64(array.type):
        array = pc.cast(array, pa.float64())
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)


def as_categories(values: Any) -> pa.Array | pa.ChunkedArray:
    """Canonical category strings: 1 and 1.0 both read "1"; NaN and inf are null; bools "true"."""
    if family(values) == NUMBER:
        numbers = as_float(values)
        mask = ~np.isfinite(numbers)
        return pc.cast(pa.array(numbers, mask=mask), pa.string())
    array = _as_arrow(values)
    if pa.types.is_dictionary(array.type):
        array = pc.cast(array, array.type.value_type)
    return array if pa.types.is_string(array.type) else pc.cast(array, pa.string())


def count_categories(values: Any) -> tuple[dict[str, int], int]:
    """(count per category, null count) of one column chunk."""
    array = (
        _as_arrow(values) if not isinstance(values, np.ndarray) or values.dtype.kind not in "fiub" else None
    )
    if array is not None and pa.types.is_dictionary(array.type) and family(array) != NUMBER:
        counted = _count_codes(array)
        if counted is not None:
            return counted
        strings = array  # count the codes; only the few distinct values are turned into text
    else:
        strings = as_categories(values)
    nulls = strings.null_count
    if nulls == len(strings):
        return {}, nulls
    counted = pc.value_counts(pc.drop_null(strings))
    if isinstance(counted, pa.ChunkedArray):
        counted = counted.combine_chunks()
    names = counted.field("values")
    if not pa.types.is_string(names.type):
        names = as_categories(names)
    numbers = counted.field("counts").to_numpy()
    return dict(zip(names.to_pylist(), (int(n) for n in numbers), strict=True)), nulls


def _count_codes(array: pa.Array | pa.ChunkedArray) -> tuple[dict[str, int], int] | None:
    """Dictionary-encoded text (Parquet's usual categorical column): bincount the codes and turn only
    the used dictionary entries into text. None when the dictionary itself holds nulls."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if array.dictionary.null_count:
        return None
    nulls = array.null_count
    codes = array.indices if nulls == 0 else pc.drop_null(array.indices)
    per_code = np.bincount(codes.to_numpy(zero_copy_only=False), minlength=len(array.dictionary))
    used = np.flatnonzero(per_code)
    names = as_categories(array.dictionary.take(pa.array(used))).to_pylist()
    counts: dict[str, int] = {}
    for name, n in zip(names, per_code[used].tolist(), strict=True):  # a dictionary may repeat a value
        counts[name] = counts.get(name, 0) + n
    return counts, nulls
