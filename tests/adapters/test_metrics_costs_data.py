"""Metrics, costs and collected-data adapters through their real SDK clients against the emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from azure.storage.blob import BlobServiceClient

from shared.adapters.azure_clients import cost_client, metrics_client
from shared.adapters.collected_data import CollectedData, hour_prefixes
from shared.adapters.costs import CostsAdapter
from shared.adapters.metrics import MetricsAdapter
from tests.fixtures.emulator import EmulatorHandle

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)  # the test scenario's clock start
DAY_BEFORE = datetime(2024, 4, 29, tzinfo=UTC)  # whole days of cost history before the start


def endpoint_id(emulator: EmulatorHandle) -> str:
    return f"{emulator.settings().workspace_id}/onlineEndpoints/credit-ep"


def scope(emulator: EmulatorHandle) -> str:
    s = emulator.settings()
    return f"/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}"


def test_latency_per_deployment_shows_the_regression_of_green(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "time/advance", {"minutes": 60})
    series = MetricsAdapter(metrics_client(emulator.settings())).per_deployment(
        endpoint_id(emulator), "RequestLatency_P95", START, START + timedelta(minutes=60), timedelta(minutes=30))
    assert set(series) == {"blue", "green"}
    before, after = (p.value for p in series["green"])
    assert before is not None and after is not None and after > 4 * before
    assert [p.at for p in series["blue"]] == [START, START + timedelta(minutes=30)]


def test_requests_split_by_deployment_and_status_class(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "time/advance", {"minutes": 30})
    counts = MetricsAdapter(metrics_client(emulator.settings())).requests_by_status(
        endpoint_id(emulator), START, START + timedelta(minutes=30), timedelta(minutes=30))
    blue_ok = sum(p.value or 0 for p in counts["blue"]["2xx"])
    green_ok = sum(p.value or 0 for p in counts["green"]["2xx"])
    assert blue_ok > 4 * green_ok > 0  # about 90 / 10 of 20 requests a minute


def test_daily_cost_per_endpoint(emulator: EmulatorHandle) -> None:
    report = CostsAdapter(cost_client(emulator.settings()), scope(emulator)).endpoint_costs(
        DAY_BEFORE, START)
    assert report.complete
    assert {r.endpoint for r in report.rows} == {"credit-ep"}
    day = [r for r in report.rows if r.day.isoformat() == "2024-04-29"]
    assert day[0].cost == pytest.approx(2 * 24 * 0.293 + 24 * 0.169)


def test_daily_cost_per_deployment_of_one_endpoint(emulator: EmulatorHandle) -> None:
    report = CostsAdapter(cost_client(emulator.settings()), scope(emulator)).deployment_costs(
        "credit-ep", DAY_BEFORE, START)
    by_day = {(r.day.isoformat(), r.deployment): r.cost for r in report.rows}
    assert by_day[("2024-04-29", "blue")] == pytest.approx(2 * 24 * 0.293)
    assert by_day[("2024-04-29", "green")] == pytest.approx(24 * 0.169)
    assert all(r.endpoint == "credit-ep" for r in report.rows)


def test_budget_burn(emulator: EmulatorHandle) -> None:
    budget = CostsAdapter(cost_client(emulator.settings()), scope(emulator)).budget("ml-monthly")
    assert budget.amount == 300
    assert 0 < budget.current_spend < budget.amount
    assert budget.burn == pytest.approx(budget.current_spend / 300)


def test_collected_inputs_of_a_window_are_listed_by_hour_and_streamed(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "time/advance", {"minutes": 70})
    container = BlobServiceClient.from_connection_string(emulator.connection_string).get_container_client(
        emulator.container)
    data = CollectedData(container)
    blobs = data.blobs("credit-ep", "blue", "model_inputs", START, START + timedelta(hours=2))
    assert {b.hour.hour for b in blobs} == {10, 11}
    rows = [row for content in data.stream(blobs) for line in content.splitlines()
            for row in json.loads(line)["data"]]
    assert rows and {"income", "age", "region"} <= set(rows[0])
    only_first_hour = data.blobs("credit-ep", "blue", "model_inputs", START, START + timedelta(minutes=59))
    assert {b.hour.hour for b in only_first_hour} == {10}


def test_hour_prefixes_cover_a_window_crossing_midnight() -> None:
    start = datetime(2024, 5, 1, 23, 30, tzinfo=UTC)
    prefixes = hour_prefixes("ep", "blue", "model_inputs", start, start + timedelta(hours=1))
    assert prefixes == ["modelDataCollector/ep/blue/model_inputs/2024/05/01/23/",
                        "modelDataCollector/ep/blue/model_inputs/2024/05/02/00/"]


def test_hour_prefixes_name_utc_folders_for_a_window_given_with_another_offset() -> None:
    plus_two = timezone(timedelta(hours=2))
    start = datetime(2024, 5, 2, 1, 30, tzinfo=plus_two)  # 2024-05-01 23:30 UTC
    prefixes = hour_prefixes("ep", "blue", "model_inputs", start, start + timedelta(hours=1))
    assert prefixes == ["modelDataCollector/ep/blue/model_inputs/2024/05/01/23/",
                        "modelDataCollector/ep/blue/model_inputs/2024/05/02/00/"]


def test_hour_prefixes_refuse_a_naive_window_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="timezone"):
        hour_prefixes("ep", "blue", "model_inputs", datetime(2024, 5, 1, 10), datetime(2024, 5, 1, 12))
