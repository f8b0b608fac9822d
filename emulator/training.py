"""Training data and golden set files of the scenario's model versions, written to the workspace blob store
(Azurite).

World records which files a model version declares (`World.take_training_files`); this module draws their
rows from the feature snapshot with a generator seeded by (scenario seed, model, version), encodes them as
CSV, Parquet or JSON Lines, and uploads them as block blobs to the workspace blob container, where the data
asset, model tag or training job of the version points. A golden set's rows also carry the outputs its
version's predictor gives them (the outputs "recorded at evaluation"; never a skewed deployment's). Without a
storage connection string nothing is written (as the collector counts records in memory only). Never
decides anything about the simulation.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import random
from typing import Any

from emulator.simulation import predict, sample_rows
from emulator.world import TrainingFile

log = logging.getLogger("emulator.training")


def draw_rows(file: TrainingFile, seed: int) -> list[dict[str, Any]]:
    """The file's rows; the same scenario seed, model and version always give the same rows. A golden set's
    rows are its inputs followed by the outputs the version's predictor gives them."""
    rows = sample_rows(file.features, random.Random(f"{seed}|{file.seed}"), file.rows)
    if file.predictor is None:
        return rows
    return [{**row, **out} for row, out in zip(rows, predict(file.predictor, rows), strict=True)]


def encode(rows: list[dict[str, Any]], columns: list[str], fmt: str) -> bytes:
    if fmt == "jsonl":
        return "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows).encode()
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows), sink)
        return sink.getvalue()
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


class TrainingWriter:
    def __init__(self, connection_string: str | None, container: str, seed: int) -> None:
        self.connection_string = connection_string
        self.container = container
        self.seed = seed
        self.written: list[str] = []

    def write(self, files: list[TrainingFile]) -> int:
        """Upload each file (overwriting: the bytes depend only on the scenario). Returns the count written."""
        if not files or not self.connection_string:
            return 0
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobServiceClient, ContentSettings

        types = {"csv": "text/csv", "jsonl": "application/x-ndjson", "parquet": "application/vnd.apache.parquet"}
        container = BlobServiceClient.from_connection_string(self.connection_string).get_container_client(
            self.container
        )
        with contextlib.suppress(ResourceExistsError):
            container.create_container()
        for file in files:
            rows = draw_rows(file, self.seed)
            body = encode(rows, list(rows[0]) if rows else [f.name for f in file.features], file.format)
            container.upload_blob(
                file.blob, body, overwrite=True, content_settings=ContentSettings(content_type=types[file.format])
            )
            self.written.append(file.blob)
            log.info("wrote %s %s (%d rows, %d bytes)", "a golden set" if file.predictor else "training data",
                     file.blob, file.rows, len(body))
        return len(files)
