"""CSV files to chunks, streaming with pyarrow, with errors that name the file, column and row.

Types are inferred from the first block, except that integer columns are read as float64 (so a
later 2.5 cannot break the stream) and columns empty in the first block are read as text and
turned into numbers chunk by chunk when they parse. Empty fields and the usual null spellings
("NA", "null", "NaN", ...) are nulls. Never decides anything about drift.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from monitors.drift.columns import Batch
from monitors.drift.errors import BadInputError

BLOCK_SIZE = 4 << 20
_COLUMN = re.compile(r"In CSV column #(\d+)")
_VALUE = re.compile(r"invalid value '(.*)'")


def read_csv(path: str | Path, *, block_size: int = BLOCK_SIZE) -> Iterator[Batch]:
    source = str(path)
    read_options = pcsv.ReadOptions(block_size=block_size)
    try:
        with pcsv.open_csv(source, read_options=read_options, convert_options=_convert()) as probe:
            schema = probe.schema
    except FileNotFoundError as exc:
        raise BadInputError("file not found", source=source) from exc
    except pa.ArrowInvalid as exc:
        raise _locate(source, exc, None) from exc
    types = {f.name: pa.float64() for f in schema if pa.types.is_integer(f.type)}
    text_columns = {f.name for f in schema if pa.types.is_null(f.type)}
    types.update({name: pa.string() for name in text_columns})
    row = 1
    try:
        with pcsv.open_csv(source, read_options=read_options, convert_options=_convert(types)) as reader:
            for batch in reader:
                columns = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
                for name in text_columns:
                    columns[name] = _maybe_numbers(columns[name])
                yield Batch(columns, batch.num_rows, source, row)
                row += batch.num_rows
    except pa.ArrowInvalid as exc:
        raise _locate(source, exc, schema) from exc


def _convert(column_types: dict[str, pa.DataType] | None = None) -> pcsv.ConvertOptions:
    return pcsv.ConvertOptions(strings_can_be_null=True, column_types=column_types or {})


def _maybe_numbers(values: pa.Array) -> pa.Array:
    if values.null_count == len(values):
        return pa.nulls(len(values))
    try:
        return pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return values


def _locate(source: str, exc: pa.ArrowInvalid, schema: pa.Schema | None) -> BadInputError:
    """Turn pyarrow's message into file / column / row, scanning the file for the row if needed."""
    message = str(exc)
    column_match = _COLUMN.search(message)
    if column_match and schema is not None:
        name = schema.names[int(column_match.group(1))]
        value_match = _VALUE.search(message)
        value = value_match.group(1) if value_match else None
        row = _row_of_value(source, name, value)
        expected = schema.field(name).type
        kind = (
            "a number" if pa.types.is_integer(expected) or pa.types.is_floating(expected) else str(expected)
        )
        return BadInputError(
            f"{value!r} is not {kind} like the rest of the column", source=source, column=name, row=row
        )
    line = _first_ragged_line(source)
    return BadInputError(f"not a well-formed CSV ({message})", source=source, line=line)


def _row_of_value(source: str, column: str, value: str | None) -> int | None:
    with open(source, newline="", encoding="utf-8", errors="replace") as handle:
        for row, record in enumerate(csv.DictReader(handle), start=1):
            if record.get(column) == value:
                return row
    return None


def _first_ragged_line(source: str) -> int | None:
    with open(source, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return None
        for record in reader:
            if record and len(record) != len(header):
                return reader.line_num
    return None
