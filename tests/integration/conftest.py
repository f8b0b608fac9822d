"""Integration fixtures: the app's state container and job queue, fresh per test, in the session Azurite."""

from __future__ import annotations

import pytest
from azure.storage.blob import ContainerClient
from azure.storage.queue import QueueClient

from shared.adapters.storage import job_queue, state_container


@pytest.fixture
def container(storage_connection_string: str, unique_name: str) -> ContainerClient:
    return state_container(storage_connection_string, unique_name)


@pytest.fixture
def queue(storage_connection_string: str, unique_name: str) -> QueueClient:
    return job_queue(storage_connection_string, unique_name)
