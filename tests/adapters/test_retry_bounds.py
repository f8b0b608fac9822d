"""One retry layer per fault, bounded (shared/adapters/retry.py): what a persistent Azure fault costs an adapter
call, counted in requests at the emulator (its fault injection and call log), never timed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from shared.adapters.azure_clients import metrics_client, ml_client
from shared.adapters.azure_ml import AzureMLAdapter
from shared.adapters.metrics import MetricsAdapter
from tests.fixtures.emulator import EmulatorHandle

ENDPOINT = "credit-ep"
ENDPOINT_ROUTE = r"/onlineEndpoints/credit-ep$"
START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def calls(emulator: EmulatorHandle, name: str) -> int:
    return int(emulator.state()["calls"].get(name, 0))


def fault(emulator: EmulatorHandle, **spec: Any) -> None:
    emulator.control("POST", "faults", spec, expect=201)


@pytest.mark.parametrize("retry_total", [0, 3])
def test_a_persistent_500_costs_one_plus_retry_total_requests_per_adapter_call(
    emulator: EmulatorHandle, retry_total: int
) -> None:
    adapter = AzureMLAdapter(ml_client(emulator.settings(retry_total=retry_total, retry_backoff_factor=0.01)))
    fault(emulator, route=ENDPOINT_ROUTE, method="GET", kind="500")
    with pytest.raises(HttpResponseError) as raised:
        adapter.endpoint_traffic(ENDPOINT)
    assert raised.value.status_code == 500
    assert calls(emulator, "GET onlineEndpoint") == 1 + retry_total  # two retry layers made it (1 + 3) x 5 = 20


def test_a_persistent_429_costs_one_plus_retry_total_requests(emulator: EmulatorHandle) -> None:
    adapter = AzureMLAdapter(ml_client(emulator.settings(retry_total=3)))
    fault(emulator, route=ENDPOINT_ROUTE, method="GET", kind="429", retry_after=0.05)
    with pytest.raises(HttpResponseError) as raised:
        adapter.endpoint_traffic(ENDPOINT)
    assert raised.value.status_code == 429
    assert calls(emulator, "GET onlineEndpoint") == 4


@pytest.mark.timeout(60)  # uncapped, azure-core would sleep the hour the server asked for
def test_a_retry_after_longer_than_the_backoff_cap_is_waited_only_up_to_the_cap(emulator: EmulatorHandle) -> None:
    adapter = AzureMLAdapter(ml_client(emulator.settings(retry_total=1, retry_backoff_max=0.2)))
    fault(emulator, route=ENDPOINT_ROUTE, method="GET", kind="429", retry_after=3600, count=1)
    assert adapter.endpoint_traffic(ENDPOINT).traffic == {"blue": 90, "green": 10}
    assert calls(emulator, "GET onlineEndpoint") == 2


def test_a_persistent_500_on_a_metrics_query_costs_one_plus_retry_total_requests(emulator: EmulatorHandle) -> None:
    adapter = MetricsAdapter(metrics_client(emulator.settings(retry_total=2, retry_backoff_factor=0.01)))
    fault(emulator, route="metrics:getBatch", kind="500")
    with pytest.raises(HttpResponseError):
        adapter.requests_by_status(f"{emulator.settings().workspace_id}/onlineEndpoints/{ENDPOINT}", START,
                                   START + timedelta(minutes=5))
    assert calls(emulator, "POST metrics:getBatch") == 3


def _endpoint_busy_for_two_minutes(emulator: EmulatorHandle) -> Any:
    emulator.load(lro={"seconds": 2400})  # 2400 s / time-scale 20: Updating for 2 minutes of real time
    ml = ml_client(emulator.settings(), polling_interval=0.1)
    busy = ml.online_endpoints.get(ENDPOINT)
    busy.traffic = {"blue": 80, "green": 20}
    ml.online_endpoints.begin_create_or_update(busy)  # not waited for: every other write now gets 409
    return ml


def test_a_conflict_is_retried_at_most_the_adapters_attempts(emulator: EmulatorHandle) -> None:
    ml = _endpoint_busy_for_two_minutes(emulator)
    puts, waits = calls(emulator, "PUT onlineEndpoint"), []
    adapter = AzureMLAdapter(ml, conflict_attempts=3, sleep=waits.append)
    with pytest.raises(HttpResponseError) as raised:
        adapter.set_traffic(ENDPOINT, {"blue": 100, "green": 0})
    assert raised.value.status_code == 409
    assert calls(emulator, "PUT onlineEndpoint") - puts == 3
    assert len(waits) == 2 and all(0 < w <= 15 for w in waits)


def test_no_conflict_retry_starts_past_the_deadline(emulator: EmulatorHandle) -> None:
    ml = _endpoint_busy_for_two_minutes(emulator)
    puts, waits = calls(emulator, "PUT onlineEndpoint"), []
    adapter = AzureMLAdapter(ml, conflict_deadline=0, sleep=waits.append)
    with pytest.raises(HttpResponseError) as raised:
        adapter.set_traffic(ENDPOINT, {"blue": 100, "green": 0})
    assert raised.value.status_code == 409
    assert (calls(emulator, "PUT onlineEndpoint") - puts, waits) == (1, [])


def test_a_500_is_not_retried_by_the_conflict_loop(emulator: EmulatorHandle) -> None:
    waits: list[float] = []
    adapter = AzureMLAdapter(ml_client(emulator.settings(retry_total=0)), sleep=waits.append)
    fault(emulator, route=ENDPOINT_ROUTE, method="PUT", kind="500")
    with pytest.raises(HttpResponseError) as raised:
        adapter.set_traffic(ENDPOINT, {"blue": 100, "green": 0})
    assert raised.value.status_code == 500
    assert (calls(emulator, "PUT onlineEndpoint"), waits) == (1, [])
