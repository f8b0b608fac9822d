"""Azure Monitor metrics through the real azure-monitor-querymetrics MetricsClient (metrics:getBatch)
and the ARM metrics path, computed from the simulated traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError

from shared.adapters.azure_clients import metrics_client
from tests.fixtures.emulator import EmulatorHandle

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
ENDPOINT_NS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
DEPLOYMENT_NS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"


def _query(
    emulator: EmulatorHandle,
    names: list[str],
    minutes: int = 60,
    *,
    resource: str = "",
    namespace: str = ENDPOINT_NS,
    **kwargs: Any,
) -> Any:
    client = metrics_client(emulator.settings())
    resource_id = f"{emulator.settings().workspace_id}/onlineEndpoints/credit-ep{resource}"
    [result] = client.query_resources(
        resource_ids=[resource_id],
        metric_namespace=namespace,
        metric_names=names,
        timespan=(START, START + timedelta(minutes=minutes)),
        **kwargs,
    )
    return result


def _by_deployment(metric: Any) -> dict[str, list[float | None]]:
    return {ts.metadata_values["deployment"]: [p.average for p in ts.data] for ts in metric.timeseries}


def test_latency_series_per_deployment_shows_greens_regression(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "time/advance", {"minutes": 60})
    result = _query(
        emulator, ["RequestLatency_P90"], granularity=timedelta(minutes=30), filter="deployment eq '*'"
    )
    series = _by_deployment(result.metrics["RequestLatency_P90"])
    assert set(series) == {"blue", "green"}
    assert len(series["green"]) == 2  # 10:00-10:30 and 10:30-11:00
    before, after = series["green"]
    assert before is not None and after is not None
    assert after > 4 * before  # green regressed at 30m (p50 8 ms -> 80 ms)
    assert series["blue"][1] < 2 * series["blue"][0]


def test_filter_on_one_deployment_returns_only_that_series(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "time/advance", {"minutes": 10})
    result = _query(
        emulator,
        ["RequestLatency_P50"],
        minutes=10,
        granularity=timedelta(minutes=1),
        filter="deployment eq 'blue'",
    )
    [series] = result.metrics["RequestLatency_P50"].timeseries
    assert series.metadata_values == {"deployment": "blue"}
    assert len(series.data) == 10 and all(p.average for p in series.data)


def test_requests_per_minute_split_by_status_class_counts_injected_errors(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "deployments/credit-ep/blue/behaviour", {"error_rate": 0.5})
    emulator.control("POST", "time/advance", {"minutes": 10})
    result = _query(
        emulator,
        ["RequestsPerMinute"],
        minutes=10,
        granularity=timedelta(minutes=1),
        aggregations=["Average"],  # the only aggregation Azure serves for it: per minute, that minute's count
        filter="deployment eq 'blue' and statusCodeClass eq '*' and statusCode eq '*' and modelStatusCode eq '*'",
    )
    totals: dict[str, float] = {}
    for ts in result.metrics["RequestsPerMinute"].timeseries:
        status_class = ts.metadata_values["statuscodeclass"]
        totals[status_class] = totals.get(status_class, 0.0) + sum(p.average or 0 for p in ts.data)
    assert set(totals) == {"2xx", "5xx"}
    assert 0.3 < totals["5xx"] / (totals["2xx"] + totals["5xx"]) < 0.7


def test_deployment_scope_reports_capacity_and_cpu_per_instance(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "time/advance", {"minutes": 5})
    result = _query(
        emulator,
        ["DeploymentCapacity", "CpuUtilizationPercentage"],
        minutes=5,
        resource="/deployments/blue",
        namespace=DEPLOYMENT_NS,
        granularity=timedelta(minutes=5),
    )
    [capacity] = result.metrics["DeploymentCapacity"].timeseries
    assert capacity.data[0].average == 2.0
    cpu = _query(
        emulator,
        ["CpuUtilizationPercentage"],
        minutes=5,
        resource="/deployments/blue",
        namespace=DEPLOYMENT_NS,
        granularity=timedelta(minutes=5),
        filter="instanceId eq '*'",
    )
    instances = {
        ts.metadata_values["instanceid"] for ts in cpu.metrics["CpuUtilizationPercentage"].timeseries
    }
    assert instances == {"blue-0", "blue-1"}


def test_unknown_metric_is_a_400_naming_the_valid_metrics(emulator: EmulatorHandle) -> None:
    with pytest.raises(HttpResponseError) as raised:
        _query(emulator, ["RequestLatencyP99"])
    assert raised.value.status_code == 400
    assert "RequestLatency_P99" in str(raised.value)


def test_arm_metrics_path_serves_the_same_values_as_get_batch(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "time/advance", {"minutes": 15})
    batch = _query(
        emulator, ["RequestsPerMinute"], minutes=15, granularity=timedelta(minutes=15), aggregations=["Average"]
    )
    resource = f"{emulator.settings().workspace_id}/onlineEndpoints/credit-ep"
    response = requests.get(
        f"{emulator.url}{resource}/providers/Microsoft.Insights/metrics",
        params={
            "timespan": "2024-05-01T10:00:00Z/2024-05-01T10:15:00Z",
            "interval": "PT15M",
            "metricnames": "RequestsPerMinute",
            "aggregation": "Average",
            "api-version": "2024-02-01",
        },
        headers={"Authorization": "Bearer fake-entra.test"},
        timeout=10,
    )
    assert response.status_code == 200
    arm_average = response.json()["value"][0]["timeseries"][0]["data"][0]["average"]
    assert arm_average == batch.metrics["RequestsPerMinute"].timeseries[0].data[0].average > 0
