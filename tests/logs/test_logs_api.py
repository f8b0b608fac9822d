"""The emulator's Log Analytics query API, through the real LogsQueryClient and the app's traffic-log adapter:
one row per simulated request, the one supported query shape, and errors that say what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from azure.core.exceptions import HttpResponseError
from azure.monitor.query import LogsQueryClient

from shared.adapters.azure_clients import logs_client
from shared.adapters.traffic_log import TrafficLog, TrafficLogError
from tests.checks.conftest import World
from tests.logs.conftest import WORKSPACE, reload


@pytest.fixture
def client(world: World) -> Iterator[LogsQueryClient]:
    with logs_client(world.emulator.settings()) as logs:
        yield logs


def test_the_adapters_query_returns_one_row_per_simulated_request(world: World, client: LogsQueryClient) -> None:
    world.services.checks.azure.ml.set_traffic("credit-ep", {"blue": 90, "green": 10})
    start = world.services.clock.now()
    generated = world.advance(minutes=5)["requests"]
    end = world.services.clock.now()
    samples = TrafficLog(client, WORKSPACE).requests("credit-ep", ["blue", "green"], start, end)
    assert samples["blue"].requests + samples["green"].requests == generated
    assert samples["green"].requests > 0 and len(samples["green"].durations_ms) == samples["green"].requests


def test_the_traffic_log_agrees_with_the_per_minute_metrics_per_deployment(world: World,
                                                                             client: LogsQueryClient) -> None:
    world.services.checks.azure.ml.set_traffic("credit-ep", {"blue": 90, "green": 10})
    world.emulator.control("POST", "deployments/credit-ep/green/behaviour", {"error_rate": 0.05})
    start = world.services.clock.now()
    world.advance(minutes=5)
    end = world.services.clock.now()
    samples = TrafficLog(client, WORKSPACE).requests("credit-ep", ["blue", "green"], start, end)
    metrics = world.services.checks.azure.metrics.requests_by_status(
        world.services.checks.azure.endpoint_resource_id("credit-ep"), start, end)
    for deployment in ("blue", "green"):
        by_class = metrics[deployment]
        total = sum(p.value or 0 for points in by_class.values() for p in points)
        errors = sum(p.value or 0 for p in by_class.get("5xx", []))
        assert (samples[deployment].requests, samples[deployment].errors_5xx) == (total, errors)
    assert samples["green"].errors_5xx > 0


def test_an_endpoint_without_a_traffic_log_has_no_rows(world: World, client: LogsQueryClient) -> None:
    reload(world, traffic_log=False)
    start = world.services.clock.now()
    assert world.advance(minutes=5)["requests"] > 0
    samples = TrafficLog(client, WORKSPACE).requests("credit-ep", ["blue"], start, world.services.clock.now())
    assert samples["blue"].requests == 0


def test_an_unsupported_query_is_a_400_naming_the_supported_shape(world: World, client: LogsQueryClient) -> None:
    with pytest.raises(HttpResponseError) as raised:
        client.query_workspace(WORKSPACE, "AmlOnlineEndpointTrafficLog | take 10", timespan=timedelta(hours=1))
    assert raised.value.status_code == 400
    assert "| where EndpointName ==" in raised.value.model.message


def test_a_projected_column_the_table_does_not_have_is_a_400_naming_it(world: World,
                                                                       client: LogsQueryClient) -> None:
    query = ('AmlOnlineEndpointTrafficLog | where TimeGenerated >= datetime(2024-05-01T10:00:00Z) and '
             'TimeGenerated < datetime(2024-05-01T10:05:00Z) | where EndpointName == "credit-ep" '
             '| where DeploymentName in ("blue") | project TimeGenerated, Latency')
    with pytest.raises(HttpResponseError) as raised:
        client.query_workspace(WORKSPACE, query, timespan=None)
    assert raised.value.status_code == 400 and "'Latency'" in raised.value.model.message


def test_another_workspace_is_not_found_and_the_adapter_says_which(world: World, client: LogsQueryClient) -> None:
    other = "99999999-0000-4000-8000-000000000000"
    now = world.services.clock.now()
    with pytest.raises(TrafficLogError, match=f"workspace {other}.*404"):
        TrafficLog(client, other).requests("credit-ep", ["blue"], now - timedelta(minutes=5), now)


def test_a_window_reaching_past_the_kept_rows_is_a_partial_result_the_adapter_refuses(
        world: World, client: LogsQueryClient) -> None:
    reload(world, traffic_log_rows=100)
    start = world.services.clock.now()
    world.advance(minutes=5)
    with pytest.raises(TrafficLogError, match="partial result") as raised:
        TrafficLog(client, WORKSPACE).requests("credit-ep", ["blue"], start, world.services.clock.now())
    assert raised.value.partial
