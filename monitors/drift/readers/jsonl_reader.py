"""JSON Lines to chunks: plain rows (one object per line) and Azure ML data-collector records.

Data collector blobs (`modelDataCollector/{endpoint}/{deployment}/{collection}/YYYY/MM/DD/HH/*.jsonl`)
hold one CloudEvents-like record per line whose `data` is a list of row objects,
possibly several requests batched together. `read_collected` takes what the worker has: an iterable
of blob contents (bytes or binary streams, optionally named) or paths. Parsing goes through pyarrow
(fast); when that fails the same bytes are parsed line by line only to say which line and column is
wrong. A record whose payload lives in another blob (`datainblob`) is an error unless the caller
asks to skip (and count) them; nothing is dropped silently. Never decides anything about drift.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from monitors.drift.columns import Batch
from monitors.drift.errors import BadInputError

CHUNK_ROWS = 65_536
BLOCK_BYTES = 8 << 20

BlobSource = bytes | bytearray | memoryview | IO[bytes] | str | Path | tuple[str, "bytes | IO[bytes]"]


@dataclass
class CollectorStats:
    """What `read_collected` saw; `skipped_external` counts records whose rows live in another blob."""

    blobs: int = 0
    records: int = 0
    rows: int = 0
    skipped_external: int = 0


def _name_and_bytes(source: BlobSource, index: int) -> tuple[str, bytes]:
    if isinstance(source, tuple):
        name, body = source
        return name, body if isinstance(body, bytes) else body.read()
    if isinstance(source, str | Path):
        try:
            return str(source), Path(source).read_bytes()
        except OSError as exc:
            raise BadInputError(f"cannot read ({exc.strerror})", source=str(source)) from exc
    if isinstance(source, bytes | bytearray | memoryview):
        return f"blob #{index + 1}", bytes(source)
    return getattr(source, "name", None) or f"blob #{index + 1}", source.read()


def read_collected(
    sources: Iterable[BlobSource],
    *,
    external: Literal["error", "skip"] = "error",
    stats: CollectorStats | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[Batch]:
    """Rows of data-collector JSONL blobs, one blob at a time (memory bounded by the largest blob)."""
    stats = stats if stats is not None else CollectorStats()
    for index, source in enumerate(sources):
        name, body = _name_and_bytes(source, index)
        stats.blobs += 1
        table, lines = _collected_table(name, body, external, stats)
        yield from _split(table, name, chunk_rows, lines)


def _collected_table(
    name: str, body: bytes, external: str, stats: CollectorStats
) -> tuple[pa.Table, list[int] | None]:
    """The fast path: pyarrow parses the whole blob (zero-copy from the bytes, C++ only), the rows are the
    flattened `data` lists, and each row's line number comes from vectorised newline positions; no Python
    loop runs per row or per record (bench/jsonl_read.py)."""
    try:
        records = pj.read_json(pa.BufferReader(body)) if body and not body.isspace() else pa.table({})
    except pa.ArrowInvalid:
        records = None
    if records is not None and _fast_path_ok(records):
        data = records.column("data") if records.num_rows else None
        rows = pc.list_flatten(data).combine_chunks() if data is not None else None
        stats.records += records.num_rows
        if rows is None or not isinstance(rows, pa.StructArray):
            return pa.table({}), None
        stats.rows += len(rows)
        table = pa.Table.from_arrays(rows.flatten(), names=[f.name for f in rows.type])
        lengths = pc.fill_null(pc.list_value_length(data), 0).to_numpy()
        record_lines = _record_lines(body)
        if record_lines.size != lengths.size:  # cannot happen for what pyarrow parsed; never guess a line
            return table, None
        return table, np.repeat(record_lines, lengths).tolist()
    return _collected_slow(name, body, external, stats)


def _fast_path_ok(records: pa.Table) -> bool:
    if records.num_rows == 0:
        return True
    if "data" not in records.column_names or "datainblob" in records.column_names:
        return False
    kind = records.schema.field("data").type
    return pa.types.is_list(kind) and pa.types.is_struct(kind.value_type)


_WHITESPACE = np.frombuffer(b" \t\n\r\x0b\x0c", dtype=np.uint8)


def _record_lines(body: bytes) -> np.ndarray:
    """1-based numbers of the lines that hold something (pyarrow skips blank lines), from the newline
    positions; only lines that are empty or start with whitespace are looked at one by one."""
    raw = np.frombuffer(body, dtype=np.uint8)
    newlines = np.flatnonzero(raw == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [raw.size]))
    filled = ends > starts
    filled[filled] = ~np.isin(raw[starts[filled]], _WHITESPACE)
    for i in np.flatnonzero(~filled):  # empty, or starting with whitespace: rare
        filled[i] = bool(body[starts[i] : ends[i]].strip())
    return np.flatnonzero(filled) + 1


def _collected_slow(
    name: str, body: bytes, external: str, stats: CollectorStats
) -> tuple[pa.Table, list[int]]:
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for number, record in _json_lines(name, body):
        if not isinstance(record, dict) or "data" not in record:
            raise BadInputError(
                "not a data collector record (an object with a 'data' field)", source=name, line=number
            )
        stats.records += 1
        if str(record.get("datainblob", "")).lower() == "true":
            if external == "skip":
                stats.skipped_external += 1
                continue
            raise BadInputError(
                f"the record's rows are in another blob ({record['data']!r}); fetch that "
                "blob and pass its contents",
                source=name,
                line=number,
            )
        data = record["data"]
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise BadInputError(
                "'data' is not a list of row objects (payload-logging collections such as "
                "request / response are not tabular; use model_inputs / model_outputs)",
                source=name,
                line=number,
            )
        rows.extend(data)
        lines.extend([number] * len(data))
    stats.rows += len(rows)
    return _rows_to_table(name, rows, lines), lines


def _json_lines(name: str, body: bytes) -> Iterator[tuple[int, Any]]:
    for number, raw in enumerate(body.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except ValueError as exc:
            raise BadInputError(f"not valid JSON ({exc})", source=name, line=number) from exc


def _rows_to_table(name: str, rows: list[dict[str, Any]], lines: list[int]) -> pa.Table:
    names = list(dict.fromkeys(key for row in rows for key in row))
    columns = {}
    for column in names:
        values = [row.get(column) for row in rows]
        try:
            columns[column] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            offset = _first_odd_value(values)
            raise BadInputError(
                f"value {values[offset]!r} has another type than the column's earlier values",
                source=name,
                line=lines[offset],
                column=column,
            ) from exc
    return pa.table(columns) if columns else pa.table({})


def _first_odd_value(values: list[Any]) -> int:
    def family(value: Any) -> str:
        if isinstance(value, bool):
            return "bool"
        return "number" if isinstance(value, int | float) else type(value).__name__

    first = next(family(v) for v in values if v is not None)
    return next((i for i, v in enumerate(values) if v is not None and family(v) != first), 0)


def read_jsonl(source: str | Path | bytes, *, chunk_rows: int = CHUNK_ROWS) -> Iterator[Batch]:
    """Plain JSON Lines (one row object per line), read in line-aligned blocks of ~8 MB."""
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    first_line = first_row = 1
    for block in _blocks(source, name):
        try:
            table = pj.read_json(io.BytesIO(block)) if block.strip() else pa.table({})
            lines = None
        except pa.ArrowInvalid:
            parsed = list(_json_lines(name, block))
            for number, row in parsed:
                if not isinstance(row, dict):
                    raise BadInputError(
                        "a JSON Lines row must be an object", source=name, line=number + first_line - 1
                    ) from None
            lines = [number + first_line - 1 for number, _ in parsed]
            table = _rows_to_table(name, [row for _, row in parsed], lines)
        yield from _split(table, name, chunk_rows, lines, first_row)
        first_line += block.count(b"\n")
        first_row += table.num_rows


def _blocks(source: str | Path | bytes, name: str) -> Iterator[bytes]:
    if isinstance(source, bytes):
        yield source
        return
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed in finally, yielded from lazily
    except OSError as exc:
        raise BadInputError(f"cannot read ({exc.strerror})", source=name) from exc
    try:
        rest = b""
        while chunk := handle.read(BLOCK_BYTES):
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            rest = data[cut:]
            yield data[:cut]
        if rest.strip():
            yield rest
    finally:
        handle.close()


def _split(
    table: pa.Table, name: str, chunk_rows: int, lines: list[int] | None, first_row: int = 1
) -> Iterator[Batch]:
    offset = 0
    for batch in table.to_batches(max_chunksize=chunk_rows):
        columns = {n: batch.column(i) for i, n in enumerate(batch.schema.names)}
        row_lines = tuple(lines[offset : offset + batch.num_rows]) if lines is not None else None
        yield Batch(columns, batch.num_rows, name, first_row + offset, row_lines)
        offset += batch.num_rows


def looks_collected(first_line: bytes) -> bool:
    """A data collector record: a JSON object with specversion and data."""
    try:
        record = json.loads(first_line)
    except ValueError:
        return False
    return isinstance(record, dict) and "data" in record and "specversion" in record
