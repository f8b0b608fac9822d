"""Parquet files to chunks: pyarrow record batches, streamed, never the whole file in memory.

Pages are read through a small buffered stream without pre-buffering or threads: pyarrow's defaults
decode whole row groups (and read ahead), which costs ~2-3x the row group's size in memory; this way
the transient memory is a few batches, whatever the row-group size.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from monitors.drift.columns import Batch
from monitors.drift.errors import BadInputError

CHUNK_ROWS = 65_536
STREAM_BUFFER = 1 << 16


def read_parquet(
    path: str | Path, *, chunk_rows: int = CHUNK_ROWS, columns: list[str] | None = None
) -> Iterator[Batch]:
    source = str(path)
    try:
        parquet = pq.ParquetFile(source, buffer_size=STREAM_BUFFER, pre_buffer=False)
    except FileNotFoundError as exc:
        raise BadInputError("file not found", source=source) from exc
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadInputError(f"not a readable Parquet file ({exc})", source=source) from exc
    row = 1
    try:
        for batch in parquet.iter_batches(batch_size=chunk_rows, columns=columns, use_threads=False):
            yield Batch(
                {n: batch.column(i) for i, n in enumerate(batch.schema.names)}, batch.num_rows, source, row
            )
            row += batch.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadInputError(f"corrupt Parquet data ({exc})", source=source, row=row) from exc
    finally:
        parquet.close()
