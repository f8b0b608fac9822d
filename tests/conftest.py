"""Session-wide real pieces: one Azurite for the whole test run, on free loopback ports.

Tests that need storage take the `azurite` fixture (or `storage_connection_string`) and create
their own uniquely named containers and queues, so tests never see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.azurite import Azurite, free_port

pytest_plugins = ["tests.fixtures.emulator"]


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    location: Path = tmp_path_factory.mktemp("azurite")
    instance = Azurite(location, free_port(), free_port(), free_port())
    instance.start(log_path=location / "azurite.log")
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def storage_connection_string(azurite: Azurite) -> str:
    return azurite.connection_string


@pytest.fixture
def unique_name() -> str:
    """A fresh lowercase name, valid for a container or queue (3-63 chars, letters/digits/dashes)."""
    return "t" + uuid.uuid4().hex[:20]
