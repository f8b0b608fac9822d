"""Parquet files to chunks: pyarrow record batches, streamed, never the whole file in memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from monitors.drift.columns import Batch
from monitors.drift.errors import BadInputError

CHUNK_ROWS = 65_536


def read_parquet(
    path: str | Path, *, chunk_rows: int = CHUNK_ROWS, columns: list[str] | None = None
) -> Iterator[Batch]:
    source = str(path)
    try:
        parquet = pq.ParquetFile(source)
    except FileNotFoundError as exc:
        raise BadInputError("file not found", source=source) from exc
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadInputError(f"not a readable Parquet file ({exc})", source=source) from exc
    row = 1
    try:
        for batch in parquet.iter_batches(batch_size=chunk_rows, columns=columns):
            yield Batch(
                {n: batch.column(i) for i, n in enumerate(batch.schema.names)}, batch.num_rows, source, row
            )
            row += batch.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadInputError(f"corrupt Parquet data ({exc})", source=source, row=row) from exc
    finally:
        parquet.close()
