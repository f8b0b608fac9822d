"""Training data files of the scenario's model versions, written to the workspace blob store (Azurite).

World records which files a model version declares (`World.take_training_files`); this module draws their
rows from the feature snapshot with a generator seeded by (scenario seed, model, version), encodes them as
CSV, Parquet or JSON Lines, and uploads them as block blobs to the workspace blob container, where the data
asset, model tag or training job of the version points. Without a storage connection string nothing is
written (as the collector counts records in memory only). Never decides anything about the simulation.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import random
from typing import Any

from emulator.simulation import sample_rows
from emulator.world import TrainingFile

log = logging.getLogger("emulator.training")


def draw_rows(file: TrainingFile, seed: int) -> list[dict[str, Any]]:
    """The file's rows; the same scenario seed, model and version always give the same rows."""
    return sample_rows(file.features, random.Random(f"{seed}|{file.seed}"), file.rows)


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
            body = encode(draw_rows(file, self.seed), [f.name for f in file.features], file.format)
            container.upload_blob(
                file.blob, body, overwrite=True, content_settings=ContentSettings(content_type=types[file.format])
            )
            self.written.append(file.blob)
            log.info("wrote training data %s (%d rows, %d bytes)", file.blob, file.rows, len(body))
        return len(files)
