"""Model data collection into Blob Storage (Azurite), in Azure ML's data collector layout and records.

Blob: `modelDataCollector/{endpoint}/{deployment}/{model_inputs|model_outputs}/YYYY/MM/DD/HH/{instance}.jsonl`
in the workspace blob store container. Each line is one JSON record (CloudEvents-like envelope) whose
`data` is a list of row dicts; several requests close together are batched into one record, as the
real collector does. Lines are appended to append blobs, so an hour file grows as time passes.

Buffers in memory until `flush()`; uploads run in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulator.clock import iso
from emulator.world import stable_uuid

log = logging.getLogger("emulator.collector")
COLLECTIONS = ("model_inputs", "model_outputs")
_MAX_BLOCK = 4 * 1024 * 1024 - 1024


@dataclass
class _Batch:
    source: str
    first_time: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)


def blob_path(endpoint: str, deployment: str, collection: str, at: datetime, instance: str) -> str:
    return (
        f"modelDataCollector/{endpoint}/{deployment}/{collection}/"
        f"{at:%Y}/{at:%m}/{at:%d}/{at:%H}/{instance}.jsonl"
    )


class Collector:
    def __init__(self, connection_string: str | None, container: str, batch_size: int, seed: int) -> None:
        self.connection_string = connection_string
        self.container = container
        self.batch_size = batch_size
        self.seed = seed
        self._open: dict[tuple[str, str], _Batch] = {}
        self._lines: dict[str, list[str]] = {}
        self._counter = 0
        self._upload_lock = threading.Lock()
        self._container_ready = False
        self.records_written = 0
        self.blobs_written: set[str] = set()
        self.last_error: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.connection_string)

    def add(
        self,
        source: str,
        endpoint: str,
        deployment: str,
        instance: str,
        at: datetime,
        inputs: list[dict[str, Any]],
        outputs: list[dict[str, Any]],
        request_id: str,
    ) -> None:
        for collection, rows in (("model_inputs", inputs), ("model_outputs", outputs)):
            if not rows:
                continue
            path = blob_path(endpoint, deployment, collection, at, instance)
            batch = self._open.get((path, collection))
            if batch is None:
                batch = self._open[(path, collection)] = _Batch(source, at)
            batch.rows.extend(rows)
            batch.request_ids.append(request_id)
            if len(batch.request_ids) >= self.batch_size:
                self._close(path, collection)

    def _close(self, path: str, collection: str) -> None:
        batch = self._open.pop((path, collection))
        self._counter += 1
        data_text = json.dumps(batch.rows, separators=(",", ":"))
        size = len(data_text.encode())
        correlation = batch.request_ids[0]
        record = {
            "specversion": "1.0",
            "id": stable_uuid("record", self.seed, self._counter),
            "source": batch.source,
            "type": f"azureml.inference.{collection}",
            "datacontenttype": "application/json",
            "time": iso(batch.first_time.replace(microsecond=0)),
            "data": batch.rows,
            "correlationid": correlation,
            "xrequestid": correlation,
            "modelversion": "default",
            "collectdatatype": "pandas.core.frame.DataFrame",
            "agent": "azureml-ai-monitoring/0.1.0b4",
            "contentrange": f"bytes 0-{size - 1}/{size}",
        }
        self._lines.setdefault(path, []).append(json.dumps(record, separators=(",", ":")))

    def take_pending(self) -> dict[str, list[str]]:
        """Close every open batch and hand over the lines to write (called on the event loop)."""
        for path, collection in list(self._open):
            self._close(path, collection)
        pending, self._lines = self._lines, {}
        return pending

    async def flush(self) -> int:
        pending = self.take_pending()
        if not pending:
            return 0
        count = sum(len(lines) for lines in pending.values())
        if not self.enabled:
            self.records_written += count
            return count
        await asyncio.to_thread(self._upload, pending)
        return count

    def _upload(self, pending: dict[str, list[str]]) -> None:
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobServiceClient

        with self._upload_lock:
            service = BlobServiceClient.from_connection_string(self.connection_string or "")
            container = service.get_container_client(self.container)
            if not self._container_ready:
                with contextlib.suppress(ResourceExistsError):
                    container.create_container()
                self._container_ready = True
            for path, lines in pending.items():
                blob = container.get_blob_client(path)
                if path not in self.blobs_written and not blob.exists():
                    blob.create_append_blob()
                for block in _blocks(lines):
                    blob.append_block(block)
                self.blobs_written.add(path)
                self.records_written += len(lines)


def _blocks(lines: list[str]) -> list[bytes]:
    blocks: list[bytes] = []
    current = bytearray()
    for line in lines:
        encoded = (line + "\n").encode()
        if current and len(current) + len(encoded) > _MAX_BLOCK:
            blocks.append(bytes(current))
            current = bytearray()
        current.extend(encoded)
    if current:
        blocks.append(bytes(current))
    return blocks
