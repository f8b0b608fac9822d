"""The README's run command: the whole stack starts, and Azure's own events reach the app's audit trail.

Runs `python -m tools.stack` (what ./scripts/dev.sh runs) on free ports with the small test scenario, then
drives the emulator as Azure would be driven: a model version is registered and an endpoint's traffic is
changed through the real MLClient; both must arrive over Event Grid and be processed by the worker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.adapters.azure_clients import AzureSettings, ml_client
from tests.e2e.stack import REPO, Stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    instance = Stack(tmp_path_factory.mktemp("stack"))
    try:
        instance.wait_until_running()
        yield instance
    finally:
        instance.stop()


def wait_for_job(stack: Stack, kind: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [r for r in stack.audit() if r["kind"] == "job" and r["decision"] == "done"
                and r["details"].get("kind") == kind]
        if done:
            return done[0]
        time.sleep(0.3)
    raise AssertionError(f"no {kind} job done within {timeout}s: {stack.audit()}")


def test_health_is_ok_on_the_stack(stack: Stack) -> None:
    response = requests.get(f"{stack.app}/api/health", timeout=30)
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_a_model_registered_in_azure_reaches_the_worker(stack: Stack) -> None:
    answer = requests.post(f"{stack.emulator}/_emulator/time/advance", json={"minutes": 95}, timeout=120)
    assert answer.ok, answer.text
    job = wait_for_job(stack, "model_registered")
    assert job["subject"].endswith("/models/credit/versions/3")


def test_a_traffic_change_in_azure_reaches_the_worker(stack: Stack) -> None:
    settings = AzureSettings(subscription_id="11111111-2222-3333-4444-555555555555", resource_group="rg-test",
                             workspace="mlw-test", emulator_url=stack.emulator, retry_total=0)
    ml = ml_client(settings, polling_interval=0.1)
    endpoint = ml.online_endpoints.get("credit-ep")
    endpoint.traffic = {"blue": 100, "green": 0}
    ml.online_endpoints.begin_create_or_update(endpoint).result()
    job = wait_for_job(stack, "endpoint_changed", timeout=60)
    assert job["subject"].endswith("/onlineEndpoints/credit-ep")


def test_the_stack_stops_everything_on_sigterm(tmp_path: Path) -> None:
    instance = Stack(tmp_path)
    instance.wait_until_running()
    assert instance.stop() == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{instance.app}/api/health", timeout=2)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{instance.emulator}/_emulator/health", timeout=2)


def test_status_command_prints_traffic_latency_quota_and_costs(stack: Stack) -> None:
    env = {**os.environ, "MODELWATCH_AZURE_EMULATOR_URL": stack.emulator,
           "MODELWATCH_SUBSCRIPTION_ID": "11111111-2222-3333-4444-555555555555",
           "MODELWATCH_RESOURCE_GROUP": "rg-test", "MODELWATCH_WORKSPACE": "mlw-test"}
    out = subprocess.run([sys.executable, "-m", "shared.entrypoints.status", "--end", "2024-05-01T11:00:00Z",
                          "--hours", "1",
                          "--days", "2", "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import json

    status = json.loads(out.stdout)
    [endpoint] = status["endpoints"]
    assert set(endpoint["traffic"]) <= {"blue", "green"} and sum(endpoint["traffic"].values()) == 100
    assert set(endpoint["latency_p95_ms"]) == {"blue", "green"}
    assert any(v is not None for _, v in endpoint["latency_p95_ms"]["blue"])
    assert any(u["current"] > 0 for u in status["quota"])
    assert status["daily_costs"]["rows"] and all(r["endpoint"] == "credit-ep" for r in status["daily_costs"]["rows"])


def test_status_command_names_missing_settings(stack: Stack) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWATCH_")}
    out = subprocess.run([sys.executable, "-m", "shared.entrypoints.status"], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2
    assert "MODELWATCH_SUBSCRIPTION_ID" in out.stderr


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stack_ports(instance: Stack) -> list[int]:
    return [instance.port, instance.emulator_port, *instance.ports]


def _kill_leftovers(instance: Stack, where: Path) -> None:
    """Only when a test failed: stop what this test started (found by its folder or ports), never anything else."""
    if instance.process.poll() is None:
        instance.process.kill()
    marks = [str(where), *(f"--port\x00{p}\x00" for p in _stack_ports(instance))]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace") + "\x00"
        except OSError:
            continue
        if any(mark in cmdline for mark in marks):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(proc.name), signal.SIGKILL)


@pytest.mark.parametrize(("signum", "background"), [(signal.SIGHUP, False), (signal.SIGINT, True)],
                         ids=["terminal closed (SIGHUP)", "Ctrl-C on a background job (SIGINT)"])
def test_the_stack_stops_all_three_parts_on_a_signal(tmp_path: Path, signum: int, background: bool) -> None:
    # A shell starts a background job with SIGINT ignored; an ignored disposition is inherited across exec.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if background else None
    try:
        instance = Stack(tmp_path)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    try:
        instance.wait_until_running()
        assert all(_answers(p) for p in _stack_ports(instance))
        os.kill(instance.process.pid, signum)
        assert instance.process.wait(timeout=60) == 0
        assert [p for p in _stack_ports(instance) if _answers(p)] == []  # no orphan left on its port
        assert "stopped" in instance.log.read_text()
    finally:
        _kill_leftovers(instance, tmp_path)
