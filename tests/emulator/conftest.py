"""Fixtures for the emulator tests: one emulator process per session (free port, session Azurite),
a fresh scenario load per test (unique blob container, so tests never see each other's data), real
SDK clients from shared/azure_clients.py, and a local webhook receiver."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from shared.azure_clients import AzureSettings
from tests.emulator.receiver import Receiver
from tools.azurite import free_port

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "test_minimal.yaml"
TIME_SCALE = 20.0  # Event Grid retries: 10 s -> 0.5 s; LRO provisioning: 1 s -> 0.05 s


@dataclass
class EmulatorHandle:
    url: str
    connection_string: str
    scenario: dict[str, Any]

    def control(self, method: str, path: str, body: Any = None, expect: int | None = 200) -> Any:
        response = requests.request(method, f"{self.url}/_emulator/{path.lstrip('/')}", json=body, timeout=30)
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def load(self, **overrides: Any) -> EmulatorHandle:
        """Load a fresh copy of the test scenario, with top-level keys overridden."""
        scenario = {**yaml.safe_load(SCENARIO.read_text()), **overrides}
        scenario.setdefault("storage_container", f"azureml-blobstore-t{os.urandom(6).hex()}")
        self.control("POST", "scenario", {"scenario": scenario})
        self.scenario = scenario
        return self

    @property
    def container(self) -> str:
        return str(self.scenario["storage_container"])

    def settings(self, **overrides: Any) -> AzureSettings:
        ids = self.scenario["azure"]
        base: dict[str, Any] = {
            "subscription_id": ids["subscription_id"],
            "resource_group": ids["resource_group"],
            "workspace": ids["workspace"],
            "location": ids["location"],
            "emulator_url": self.url,
            "storage_connection_string": self.connection_string,
            "retry_total": 0,
            "timeout_seconds": 10.0,
        }
        return AzureSettings(**{**base, **overrides})

    def state(self) -> dict[str, Any]:
        return self.control("GET", "state")


@pytest.fixture(scope="session")
def emulator_server(
    storage_connection_string: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("emulator") / "emulator.log"
    cmd = [
        sys.executable,
        "-m",
        "emulator",
        "--port",
        str(port),
        "--scenario",
        str(SCENARIO),
        "--storage-connection-string",
        storage_connection_string,
        "--time-scale",
        str(TIME_SCALE),
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited at start: {log_path.read_text()}")
        try:
            if requests.get(f"{url}/_emulator/health", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        process.terminate()
        raise RuntimeError(f"emulator did not answer within 30s: {log_path.read_text()}")
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def emulator(emulator_server: str, storage_connection_string: str) -> EmulatorHandle:
    return EmulatorHandle(emulator_server, storage_connection_string, {}).load()


@pytest.fixture
def ml(emulator: EmulatorHandle) -> Any:
    from shared.azure_clients import ml_client

    return ml_client(emulator.settings(), polling_interval=0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver().start()
    yield instance
    instance.stop()
