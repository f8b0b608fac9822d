"""The Azurite fixture gives real Blob and Queue services."""

from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient


def test_blob_round_trip_through_azurite(storage_connection_string: str, unique_name: str) -> None:
    service = BlobServiceClient.from_connection_string(storage_connection_string)
    container = service.create_container(unique_name)
    container.upload_blob("a/b.txt", b"hello")
    assert container.download_blob("a/b.txt").readall() == b"hello"


def test_queue_round_trip_through_azurite(storage_connection_string: str, unique_name: str) -> None:
    queue = QueueClient.from_connection_string(storage_connection_string, unique_name)
    queue.create_queue()
    queue.send_message("job-1")
    [message] = list(queue.receive_messages(max_messages=1))
    assert message.content == "job-1"
    assert message.dequeue_count == 1
