"""The one factory of storage clients, for the app's state (blobs) and jobs (queues) and for the devhost's
triggers and leases: from a `shared.config.StorageConnection`, a connection string or identity-based.

Identity-based connections authenticate with a bearer token from `DefaultAzureCredential`: the managed identity
in Azure (user-assigned when the connection names a client id), a developer's sign-in locally. Tests run this
same path against Azurite (`--oauth basic`, https) with a stand-in for App Service's identity endpoint
(tests/identity). Nothing here reads settings or decides anything.

The Azure Storage SDK is imported inside functions, so that loading the function app stays fast. Queue
messages are base64-encoded, which is what the Functions queue trigger expects by default.
"""

from __future__ import annotations

import contextlib
from functools import cache
from typing import TYPE_CHECKING, Any

from shared.config import StorageConnection

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.storage.blob import BlobServiceClient, ContainerClient
    from azure.storage.queue import QueueClient, QueueServiceClient


#: What every storage client gets unless its caller says otherwise (the health probe passes 3 s and no retry);
#: the SDK's own retry policy is the only retry layer for storage. The SDK's defaults (3 retries after 15 s,
#: 18 s and 24 s; a 60 s read timeout) hold a worker thread about five minutes per call while storage hangs, so
#: the host's threads all wait there and /api/health gets none. Bounded: 3 attempts per call; a connection not
#: made in 5 s, or a response that stops arriving for 15 s, fails the attempt; the retries wait 3 s then 5 s
#: (initial_backoff + increment_base ** n, +-1 s jitter). Worst case per storage call: 3 x (5 + 15) s + 10 s =
#: 70 s; storage refusing connections (down): about 8 s. These are the storage SDK's own retry arguments (its
#: ExponentialRetry): it ignores azure-core's `retry_backoff_factor` and `retry_backoff_max`.
STORAGE_CLIENT_OPTIONS: dict[str, Any] = {
    "connection_timeout": 5, "read_timeout": 15,
    "retry_total": 2, "initial_backoff": 1, "increment_base": 2, "random_jitter_range": 1,
}


@cache
def _default_credential(client_id: str | None) -> TokenCredential:
    """One DefaultAzureCredential per identity and process: it caches tokens, so sharing it saves token calls."""
    from azure.identity import DefaultAzureCredential

    if client_id:
        return DefaultAzureCredential(managed_identity_client_id=client_id)
    return DefaultAzureCredential()


def credential_for(connection: StorageConnection) -> TokenCredential | None:
    """The credential of an identity-based connection; None for a connection string (it carries a key)."""
    if not connection.identity_based:
        return None
    return _default_credential(connection.client_id)


def _connection(connection: StorageConnection | str) -> StorageConnection:
    """A plain string is a connection string (kept for callers that only ever had one)."""
    return StorageConnection(connection_string=connection) if isinstance(connection, str) else connection


def blob_service(connection: StorageConnection | str, **options: Any) -> BlobServiceClient:
    """A BlobServiceClient for the connection; `options` are the SDK's (retry, timeouts, transport)."""
    from azure.storage.blob import BlobServiceClient

    conn, options = _connection(connection), {**STORAGE_CLIENT_OPTIONS, **options}
    if conn.connection_string is not None:
        return BlobServiceClient.from_connection_string(conn.connection_string, **options)
    return BlobServiceClient(conn.service_uri("blob"), credential=credential_for(conn), **options)


def queue_service(connection: StorageConnection | str, **options: Any) -> QueueServiceClient:
    """A QueueServiceClient for the connection; `options` are the SDK's (retry, timeouts, encoding policies)."""
    from azure.storage.queue import QueueServiceClient

    conn, options = _connection(connection), {**STORAGE_CLIENT_OPTIONS, **options}
    if conn.connection_string is not None:
        return QueueServiceClient.from_connection_string(conn.connection_string, **options)
    return QueueServiceClient(conn.service_uri("queue"), credential=credential_for(conn), **options)


def state_container(connection: StorageConnection | str, name: str, *, create: bool = True,
                    **options: Any) -> ContainerClient:
    from azure.core.exceptions import ResourceExistsError

    container = blob_service(connection, **options).get_container_client(name)
    if create:
        with contextlib.suppress(ResourceExistsError):
            container.create_container()
    return container


def job_queue(connection: StorageConnection | str, name: str, *, create: bool = True) -> QueueClient:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.queue import BinaryBase64DecodePolicy, TextBase64EncodePolicy

    queue = queue_service(connection).get_queue_client(
        name, message_encode_policy=TextBase64EncodePolicy(), message_decode_policy=BinaryBase64DecodePolicy()
    )
    if create:
        with contextlib.suppress(ResourceExistsError):
            queue.create_queue()
    return queue
