"""Injected faults against the real SDK retry policies: 429 with Retry-After, 500, timeouts."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceResponseError

from shared.adapters.azure_clients import ml_client
from tests.fixtures.emulator import EmulatorHandle

ENDPOINT_ROUTE = r"/onlineEndpoints/credit-ep$"


def _get_calls(emulator: EmulatorHandle) -> int:
    return int(emulator.state()["calls"].get("GET onlineEndpoint", 0))


def test_429_with_retry_after_is_retried_by_the_sdk(emulator: EmulatorHandle) -> None:
    emulator.control(
        "POST",
        "faults",
        {"route": ENDPOINT_ROUTE, "method": "GET", "kind": "429", "retry_after": 1, "count": 1},
        expect=201,
    )
    ml = ml_client(emulator.settings(retry_total=2))
    assert ml.online_endpoints.get("credit-ep").traffic == {"blue": 90, "green": 10}
    [rule] = emulator.control("GET", "faults")["faults"]
    assert rule["hits"] == 1
    statuses = [c["status"] for c in emulator.state()["recent_calls"] if c["path"].endswith("/credit-ep")]
    assert statuses[:2] == [429, 200]


def test_500_is_retried_by_the_sdk(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "faults", {"route": ENDPOINT_ROUTE, "kind": "500", "count": 2}, expect=201)
    ml = ml_client(emulator.settings(retry_total=3, retry_backoff_factor=0.05))
    assert ml.online_endpoints.get("credit-ep").provisioning_state == "Succeeded"
    assert _get_calls(emulator) == 3


def test_persistent_500_surfaces_as_an_http_error_after_the_retries(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "faults", {"route": ENDPOINT_ROUTE, "kind": "500"}, expect=201)
    ml = ml_client(emulator.settings(retry_total=1, retry_backoff_factor=0.05))
    with pytest.raises(HttpResponseError) as raised:
        ml.online_endpoints.get("credit-ep")
    assert raised.value.status_code == 500
    assert _get_calls(emulator) == 2


def test_a_hang_longer_than_the_client_timeout_surfaces_as_a_clear_error(emulator: EmulatorHandle) -> None:
    emulator.control(
        "POST",
        "faults",
        {"route": ENDPOINT_ROUTE, "kind": "timeout", "hang_seconds": 5, "count": 1},
        expect=201,
    )
    ml = ml_client(emulator.settings(retry_total=0, timeout_seconds=1.0))
    with pytest.raises(ServiceResponseError) as raised:
        ml.online_endpoints.get("credit-ep")
    assert "timed out" in str(raised.value).lower()


def test_slow_fault_delays_but_answers(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "faults", {"route": ENDPOINT_ROUTE, "kind": "slow", "delay_ms": 300}, expect=201)
    ml = ml_client(emulator.settings())
    assert ml.online_endpoints.get("credit-ep").name == "credit-ep"


def test_deleting_faults_restores_normal_answers(emulator: EmulatorHandle, ml: Any) -> None:
    emulator.control("POST", "faults", {"route": ENDPOINT_ROUTE, "kind": "500"}, expect=201)
    assert emulator.control("DELETE", "faults")["removed"] == 1
    assert ml.online_endpoints.get("credit-ep").name == "credit-ep"


def test_a_bad_fault_spec_is_rejected_naming_the_field(emulator: EmulatorHandle) -> None:
    error = emulator.control("POST", "faults", {"route": "(", "kind": "500"}, expect=400)["error"]
    assert "route" in error
