"""Helpers shared by the devhost tests: the sample app's location and keys, where it writes during a
session (`Sample`), and `eventually` to wait for effects that happen in another process.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient, QueueServiceClient

SAMPLE_APP = Path(__file__).parent / "sample_app"
MASTER_KEY = "test-master-key"
FUNCTION_KEY = "test-function-key"
T = TypeVar("T")


def eventually(probe: Callable[[], T], timeout: float = 20.0, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {value!r}")
        time.sleep(0.1)
        value = probe()
    return value


@dataclass
class Sample:
    """Where the sample app writes during this test session, and how to read it back.

    The SDK clients are made once and closed at the end, so no idle keep-alive connection holds up
    Azurite's shutdown.
    """

    connection_string: str
    container: str
    prefix: str
    host_id: str

    @functools.cached_property
    def blobs(self) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.connection_string)

    @functools.cached_property
    def queues(self) -> QueueServiceClient:
        return QueueServiceClient.from_connection_string(self.connection_string)

    def queue(self, suffix: str) -> QueueClient:
        return self.queues.get_queue_client(f"{self.prefix}-{suffix}")

    def close(self) -> None:
        self.blobs.close()
        self.queues.close()

    def send(self, suffix: str, body: str | bytes) -> None:
        """Send as a producer with the SDK's base64 policy would: base64 of the UTF-8 bytes."""
        raw = body.encode() if isinstance(body, str) else body
        self.queue(suffix).send_message(base64.b64encode(raw).decode())

    def peek(self, suffix: str) -> list[str]:
        """Decoded bodies of the (first 32) messages waiting in a queue, without taking them."""
        try:
            waiting = self.queue(suffix).peek_messages(max_messages=32)
        except ResourceNotFoundError:
            return []
        return [base64.b64decode(m.content).decode() for m in waiting]

    def blob_names(self, folder: str) -> list[str]:
        container = self.blobs.get_container_client(self.container)
        if not container.exists():
            return []
        return [b.name for b in container.list_blobs(name_starts_with=folder + "/")]

    def read_json(self, name: str) -> Any:
        return json.loads(self.blobs.get_blob_client(self.container, name).download_blob().readall())

    def read_text(self, name: str) -> str:
        return self.blobs.get_blob_client(self.container, name).download_blob().readall().decode()
