"""The reliability suite's app: the real function_app.py on a devhost of its own, with an Azurite of its own.

Its own Azurite, because the app's job queue has one fixed name: sharing the session Azurite would let another
test's devhost take (and audit elsewhere) the jobs this suite counts, and this suite's jobs would land in theirs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.process import DevHost, start_devhost
from tests.fixtures.events import WORKSPACE
from tools.azurite import Azurite, free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def reliability_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    where = tmp_path_factory.mktemp("reliability")
    azurite = Azurite(where / "azurite", free_port(), free_port(), free_port())
    azurite.start(log_path=where / "azurite.log")
    tag = uuid.uuid4().hex[:10]
    env = {
        "AzureWebJobsStorage": azurite.connection_string,
        "MODELWATCH_ALLOWED_WORKSPACES": WORKSPACE,
        "MODELWATCH_STATE_CONTAINER": f"rel{tag}",
        "AzureFunctionsWebHost__hostid": f"rel-{tag}",
        "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:00",
        "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.200",
        "DEVHOST_SHUTDOWN_GRACE_SECONDS": "5",
    }
    try:
        with start_devhost(REPO, env=env, log_path=where / "devhost.log") as host:
            yield host
    finally:
        azurite.stop()
