"""Aggregations as Azure Monitor serves them for online endpoints: the metric definitions list what each metric
supports, a query for anything else gets Azure's per-metric InvalidSamplingType (200, no series), and an
Average over samples that a query does not split apart is their mean, as Azure merges pre-aggregated samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from shared.adapters.azure_clients import metrics_client
from tests.fixtures.emulator import EmulatorHandle

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
ENDPOINT_NS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
DEPLOYMENT_NS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"
AUTH = {"Authorization": "Bearer fake-entra.test"}
EVERY_DIMENSION = "deployment eq '*' and statusCode eq '*' and modelStatusCode eq '*'"


def _endpoint(emulator: EmulatorHandle, suffix: str = "") -> str:
    return f"{emulator.settings().workspace_id}/onlineEndpoints/credit-ep{suffix}"


def _batch(emulator: EmulatorHandle, names: str, aggregation: str, *, resource: str = "",
           namespace: str = ENDPOINT_NS, minutes: int = 5, interval: str = "PT1M", **params: str) -> list[Any]:
    s = emulator.settings()
    response = requests.post(
        f"{emulator.url}/subscriptions/{s.subscription_id}/metrics:getBatch",
        params={"api-version": "2024-02-01", "starttime": START.isoformat(),
                "endtime": (START + timedelta(minutes=minutes)).isoformat(), "interval": interval,
                "metricnamespace": namespace, "metricnames": names, "aggregation": aggregation, **params},
        json={"resourceids": [_endpoint(emulator, resource)]}, headers=AUTH, timeout=10,
    )
    assert response.status_code == 200, response.text
    [value] = response.json()["values"]
    return value["value"]


def _definitions(emulator: EmulatorHandle, resource: str = "") -> dict[str, Any]:
    response = requests.get(f"{emulator.url}{_endpoint(emulator, resource)}/providers/Microsoft.Insights/"
                            f"metricDefinitions", params={"api-version": "2024-02-01"}, headers=AUTH, timeout=10)
    assert response.status_code == 200, response.text
    return {d["name"]["value"]: d for d in response.json()["value"]}


def test_metric_definitions_list_average_as_the_only_aggregation_of_every_endpoint_metric(
    emulator: EmulatorHandle,
) -> None:
    definitions = _definitions(emulator)
    assert {"RequestsPerMinute", "RequestLatency", "RequestLatency_P95"} <= set(definitions)
    for definition in definitions.values():
        assert definition["supportedAggregationTypes"] == ["Average"]
        assert definition["primaryAggregationType"] == "Average"
    assert [d["value"] for d in definitions["RequestsPerMinute"]["dimensions"]] == [
        "deployment", "statusCode", "statusCodeClass", "modelStatusCode"]


def test_metric_definitions_of_a_deployment_list_minimum_maximum_average_for_utilisation(
    emulator: EmulatorHandle,
) -> None:
    definitions = _definitions(emulator, "/deployments/blue")
    assert definitions["CpuUtilizationPercentage"]["supportedAggregationTypes"] == ["Minimum", "Maximum", "Average"]
    assert definitions["RequestsPerMinute"]["supportedAggregationTypes"] == ["Average"]


def test_an_aggregation_the_metric_does_not_serve_is_answered_with_invalid_sampling_type_and_no_series(
    emulator: EmulatorHandle,
) -> None:
    emulator.control("POST", "time/advance", {"minutes": 5})
    [metric] = _batch(emulator, "RequestsPerMinute", "total", filter="deployment eq '*'")
    assert metric["errorCode"] == "InvalidSamplingType"
    assert metric["errorMessage"].startswith("Sampling type is not found.")
    assert "RequestsPerMinute" in metric["errorMessage"]
    assert metric["timeseries"] == []


def test_the_other_metrics_of_that_query_are_still_served(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "time/advance", {"minutes": 5})
    metrics = {m["name"]["value"]: m for m in _batch(emulator, "CpuUtilizationPercentage,RequestsPerMinute",
                                                     "maximum", resource="/deployments/blue",
                                                     namespace=DEPLOYMENT_NS)}
    assert metrics["CpuUtilizationPercentage"]["errorCode"] == "Success"
    assert any(p.get("maximum") for ts in metrics["CpuUtilizationPercentage"]["timeseries"] for p in ts["data"])
    assert (metrics["RequestsPerMinute"]["errorCode"], metrics["RequestsPerMinute"]["timeseries"]) == (
        "InvalidSamplingType", [])


def test_through_the_sdk_a_refused_aggregation_looks_like_a_metric_without_data(emulator: EmulatorHandle) -> None:
    # why the metrics adapter reads errorCode from the raw answer: the SDK's result objects drop it
    emulator.control("POST", "time/advance", {"minutes": 5})
    [result] = metrics_client(emulator.settings()).query_resources(
        resource_ids=[_endpoint(emulator)], metric_namespace=ENDPOINT_NS, metric_names=["RequestsPerMinute"],
        timespan=(START, START + timedelta(minutes=5)), granularity=timedelta(minutes=1), aggregations=["Total"],
        filter="deployment eq '*'")
    metric = result.metrics["RequestsPerMinute"]
    assert metric.timeseries == []
    assert not hasattr(metric, "error_code")


def test_average_of_merged_samples_is_their_mean_not_the_minutes_request_count(emulator: EmulatorHandle) -> None:
    served = emulator.control("POST", "time/advance", {"minutes": 5})["requests"]
    [merged] = _batch(emulator, "RequestsPerMinute", "average")
    [split] = _batch(emulator, "RequestsPerMinute", "average", filter=EVERY_DIMENSION, top="100")
    per_minute_counts = [sum(ts["data"][i].get("average") or 0 for ts in split["timeseries"]) for i in range(5)]
    assert sum(per_minute_counts) == served  # split by every dimension: one sample each, the minute's count
    [unsplit] = merged["timeseries"]
    for i, count in enumerate(per_minute_counts):
        samples = [ts["data"][i]["average"] for ts in split["timeseries"] if ts["data"][i].get("average")]
        assert unsplit["data"][i]["average"] == pytest.approx(count / len(samples))
        assert len(samples) < 2 or unsplit["data"][i]["average"] < count


def test_an_aggregation_azure_does_not_know_is_a_400(emulator: EmulatorHandle) -> None:
    s = emulator.settings()
    response = requests.post(
        f"{emulator.url}/subscriptions/{s.subscription_id}/metrics:getBatch",
        params={"api-version": "2024-02-01", "metricnamespace": ENDPOINT_NS, "metricnames": "RequestsPerMinute",
                "aggregation": "median"},
        json={"resourceids": [_endpoint(emulator)]}, headers=AUTH, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
