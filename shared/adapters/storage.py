"""Storage clients for the app's state (blobs) and jobs (queue), built from a connection string.

The Azure Storage SDK is imported here, inside functions, so that loading the function app stays fast.
Queue messages are base64-encoded, which is what the Functions queue trigger expects by default.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient
    from azure.storage.queue import QueueClient


def state_container(connection_string: str, name: str, *, create: bool = True) -> ContainerClient:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(connection_string, retry_total=3)
    container = service.get_container_client(name)
    if create:
        with contextlib.suppress(ResourceExistsError):
            container.create_container()
    return container


def job_queue(connection_string: str, name: str, *, create: bool = True) -> QueueClient:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient, TextBase64EncodePolicy

    queue = QueueClient.from_connection_string(
        connection_string,
        name,
        message_encode_policy=TextBase64EncodePolicy(),
        message_decode_policy=BinaryBase64DecodePolicy(),
        retry_total=3,
    )
    if create:
        with contextlib.suppress(ResourceExistsError):
            queue.create_queue()
    return queue
