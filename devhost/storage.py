"""Storage clients for the host's own needs and for bindings, one per connection setting.

The Azure Storage SDKs are synchronous here; callers run their calls in a worker thread
(`asyncio.to_thread`) so the event loop never blocks on storage. This module only builds clients:
it never decides what to read or write.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from devhost.settings import storage_connection

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueClient, QueueServiceClient

HOSTS_CONTAINER = "azure-webjobs-hosts"
# The SDKs' default retry waits 15 s, 18 s, 24 s between attempts: right for a cloud account, far too
# slow for a local emulator that is either up or not. Three quick retries, then a clear error.
RETRIES = 3
BACKOFF_SECONDS = 0.5
_TIMEOUTS = {"connection_timeout": 5, "read_timeout": 30}


class StorageClients:
    """Lazily created, cached SDK clients keyed by the binding's `connection` app setting, built by the app's
    storage factory (shared.adapters.storage) from a connection string or an identity-based connection."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._lock = threading.Lock()
        self._blob: dict[str, BlobServiceClient] = {}
        self._queue: dict[str, QueueServiceClient] = {}

    def blob_service(self, connection: str | None = None) -> BlobServiceClient:
        from azure.storage.blob import LinearRetry

        from shared.adapters.storage import blob_service

        key = connection or "AzureWebJobsStorage"
        with self._lock:
            if key not in self._blob:
                conn = storage_connection(key, self._environ, services=("blob",))
                retry = LinearRetry(backoff=BACKOFF_SECONDS, retry_total=RETRIES, random_jitter_range=0)
                self._blob[key] = blob_service(conn, retry_policy=retry, **_TIMEOUTS)
            return self._blob[key]

    def queue_service(self, connection: str | None = None) -> QueueServiceClient:
        from azure.storage.queue import LinearRetry

        from shared.adapters.storage import queue_service

        key = connection or "AzureWebJobsStorage"
        with self._lock:
            if key not in self._queue:
                conn = storage_connection(key, self._environ, services=("queue",))
                retry = LinearRetry(backoff=BACKOFF_SECONDS, retry_total=RETRIES, random_jitter_range=0)
                self._queue[key] = queue_service(conn, retry_policy=retry, **_TIMEOUTS)
            return self._queue[key]

    def queue(self, name: str, connection: str | None = None) -> QueueClient:
        """A queue client that sends and receives raw text: encoding is the host's job, not the SDK's."""
        return self.queue_service(connection).get_queue_client(
            name, message_encode_policy=None, message_decode_policy=None
        )
