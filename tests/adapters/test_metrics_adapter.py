"""The metrics adapter asks Azure Monitor only what it serves (RequestsPerMinute and the latencies: Average) and
reads exact request counts from it, through the real MetricsClient against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters import metrics as metrics_module
from shared.adapters.azure_clients import metrics_client
from shared.adapters.metrics import (
    LATENCY_METRICS,
    MetricsAdapter,
    MetricsQueryError,
    UnsupportedAggregation,
)
from tests.fixtures.emulator import EmulatorHandle

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def endpoint_id(emulator: EmulatorHandle) -> str:
    return f"{emulator.settings().workspace_id}/onlineEndpoints/credit-ep"


def adapter(emulator: EmulatorHandle, **options: Any) -> MetricsAdapter:
    return MetricsAdapter(metrics_client(emulator.settings()), **options)


def batch_calls(emulator: EmulatorHandle) -> int:
    return int(emulator.state()["calls"].get("POST metrics:getBatch", 0))


def total(counts: dict[str, dict[str, list[Any]]]) -> float:
    return sum(p.value or 0 for by_class in counts.values() for points in by_class.values() for p in points)


def ten_busy_deployments() -> list[dict[str, Any]]:
    """One endpoint, ten deployments each serving 2xx and 5xx: twenty series, twice Azure's default `top`."""
    deployments = [{"name": f"d{i}", "model": {"name": "credit", "version": 1}, "instance_type": "Standard_DS2_v2",
                    "instance_count": 1, "data_collection": False, "error_rate": 0.3} for i in range(10)]
    return [{"name": "credit-ep", "requests_per_minute": 60, "traffic": {f"d{i}": 10 for i in range(10)},
             "features": [{"name": "income", "dist": "normal", "mean": 50000, "std": 12000}],
             "deployments": deployments}]


def test_request_counts_add_up_to_every_request_the_endpoint_served(emulator: EmulatorHandle) -> None:
    served = emulator.control("POST", "time/advance", {"minutes": 30})["requests"]
    counts = adapter(emulator).requests_by_status(endpoint_id(emulator), START, START + timedelta(minutes=30))
    assert total(counts) == served
    assert len(counts["blue"]["2xx"]) == 30  # one point a minute


def test_request_counts_per_longer_interval_are_the_sums_of_their_minutes(emulator: EmulatorHandle) -> None:
    served = emulator.control("POST", "time/advance", {"minutes": 30})["requests"]
    end = START + timedelta(minutes=30)
    per_minute = adapter(emulator).requests_by_status(endpoint_id(emulator), START, end)
    per_ten = adapter(emulator).requests_by_status(endpoint_id(emulator), START, end, timedelta(minutes=10))
    assert [p.at for p in per_ten["blue"]["2xx"]] == [START + timedelta(minutes=m) for m in (0, 10, 20)]
    assert per_ten["blue"]["2xx"][1].value == sum(p.value or 0 for p in per_minute["blue"]["2xx"][10:20])
    assert total(per_ten) == served


def test_asking_an_aggregation_azure_does_not_serve_is_refused_before_any_query(emulator: EmulatorHandle) -> None:
    before = batch_calls(emulator)
    with pytest.raises(UnsupportedAggregation, match="RequestsPerMinute as Average only, not Total"):
        adapter(emulator).per_deployment(endpoint_id(emulator), "RequestsPerMinute", START,
                                         START + timedelta(minutes=5), aggregation="Total")
    assert batch_calls(emulator) == before


def test_a_metric_azure_marks_failed_raises_instead_of_reading_as_no_traffic(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # were the adapter's table wrong, Azure's per-metric InvalidSamplingType (no series) must still surface
    monkeypatch.setitem(metrics_module.SUPPORTED_AGGREGATIONS, "RequestsPerMinute", ("Average", "Total"))
    emulator.control("POST", "time/advance", {"minutes": 5})
    with pytest.raises(MetricsQueryError, match=r"RequestsPerMinute.*InvalidSamplingType: Sampling type is not found"):
        adapter(emulator).per_deployment(endpoint_id(emulator), "RequestsPerMinute", START,
                                         START + timedelta(minutes=5), aggregation="Total")


def test_the_four_latency_percentiles_come_from_one_query(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "time/advance", {"minutes": 10})
    before = batch_calls(emulator)
    series = adapter(emulator).per_deployment_metrics(endpoint_id(emulator), list(LATENCY_METRICS), START,
                                                      START + timedelta(minutes=10))
    assert batch_calls(emulator) == before + 1
    assert set(series) == set(LATENCY_METRICS)
    blue = {name: [p.value for p in series[name]["blue"]] for name in LATENCY_METRICS}
    assert all(len(values) == 10 and all(v is not None for v in values) for values in blue.values())
    assert all(p50 <= p99 for p50, p99 in zip(blue["RequestLatency_P50"], blue["RequestLatency_P99"], strict=True))


def test_an_endpoint_with_more_series_than_azures_default_top_is_read_whole(emulator: EmulatorHandle) -> None:
    emulator.load(endpoints=ten_busy_deployments(), timeline=[])
    served = emulator.control("POST", "time/advance", {"minutes": 10})["requests"]
    counts = adapter(emulator).requests_by_status(endpoint_id(emulator), START, START + timedelta(minutes=10))
    assert set(counts) == {f"d{i}" for i in range(10)}
    assert (total(counts), counts.complete) == (served, True)


def test_an_answer_that_reaches_top_is_marked_as_possibly_cut(emulator: EmulatorHandle) -> None:
    emulator.load(endpoints=ten_busy_deployments(), timeline=[])
    served = emulator.control("POST", "time/advance", {"minutes": 10})["requests"]
    counts = adapter(emulator, top=10).requests_by_status(endpoint_id(emulator), START,
                                                          START + timedelta(minutes=10))
    assert total(counts) < served  # Azure kept the 10 heaviest series and said nothing
    assert counts.complete is False
