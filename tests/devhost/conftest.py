"""Fixtures for the devhost tests: the sample app served by real devhost processes on free ports,
against the session Azurite, plus small helpers to observe storage and wait for eventual effects.

`devhost` (instance "a") has keys configured; `peer_devhost` (instance "b") shares its host id and
blob container but has no keys and polls its own queues (so queue tests see one consumer). Before the
peer starts, the schedule monitor's status of `monitored_timer` is seeded as if an occurrence had been
missed while no host ran, so the peer starts past due.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from devhost.process import DevHost, start_devhost
from tests.devhost.helpers import FUNCTION_KEY, MASTER_KEY, SAMPLE_APP, Sample
from tools.azurite import free_port


@pytest.fixture(scope="session")
def sample(storage_connection_string: str) -> Iterator[Sample]:
    tag = uuid.uuid4().hex[:10]
    sample = Sample(storage_connection_string, f"dh{tag}", f"dh{tag}", f"dh-{tag}")
    yield sample
    sample.close()


def _env(sample: Sample, instance: str, keys: bool) -> dict[str, str]:
    env = {
        "AzureWebJobsStorage": sample.connection_string,
        "AzureFunctionsWebHost__hostid": sample.host_id,
        "SAMPLE_CONTAINER": sample.container,
        "SAMPLE_PREFIX": sample.prefix if instance == "a" else f"{sample.prefix}{instance}",
        "DEVHOST_INSTANCE": instance,
        "PYTHON_THREADPOOL_THREAD_COUNT": "8",
        "DEVHOST_SHUTDOWN_GRACE_SECONDS": "5",
    }
    if keys:
        env.update({"DEVHOST_FUNCTION_KEYS": f"other-key,{FUNCTION_KEY}", "DEVHOST_MASTER_KEY": MASTER_KEY})
    return env


@pytest.fixture(scope="session")
def devhost(sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    log = tmp_path_factory.mktemp("devhost-a") / "devhost.log"
    with start_devhost(SAMPLE_APP, port=free_port(), env=_env(sample, "a", keys=True), log_path=log) as host:
        yield host


def seed_missed_schedule(sample: Sample, function: str) -> None:
    """Write a schedule status whose Next lies in the past, as after a stretch with no host running."""
    status = {"Last": "2020-01-01T00:00:00+00:00", "Next": "2021-01-01T00:00:00+00:00",
              "LastUpdated": "2020-01-01T00:00:00+00:00"}  # fmt: skip
    name = f"timers/{sample.host_id}/Host.Functions.{function}/status"
    blob = sample.blobs.get_blob_client("azure-webjobs-hosts", name)
    blob.upload_blob(json.dumps(status).encode(), overwrite=True)


@pytest.fixture(scope="session")
def peer_devhost(
    devhost: DevHost, sample: Sample, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevHost]:
    seed_missed_schedule(sample, "monitored_timer")
    log = tmp_path_factory.mktemp("devhost-b") / "devhost.log"
    with start_devhost(SAMPLE_APP, port=free_port(), env=_env(sample, "b", keys=False), log_path=log) as host:
        yield host


@pytest.fixture
def master() -> dict[str, str]:
    return {"x-functions-key": MASTER_KEY}
