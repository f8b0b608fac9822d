"""The scenario format: clear errors naming the field, the shipped scenarios load, determinism."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import yaml

from emulator.scenario import ScenarioError, load_scenario, load_scenario_text
from tests.fixtures.emulator import SCENARIO, EmulatorHandle

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenarios_are_valid(path: Path) -> None:
    assert load_scenario(path).endpoints


def test_a_bad_field_is_reported_with_its_path() -> None:
    data = yaml.safe_load(SCENARIO.read_text())
    data["endpoints"][0]["deployments"][1]["latency_ms"] = {"p50": 100, "p99": 10}
    with pytest.raises(ScenarioError) as raised:
        load_scenario_text(yaml.safe_dump(data), "broken.yaml")
    assert "broken.yaml" in str(raised.value)
    assert "endpoints.0.deployments.1.latency_ms" in str(raised.value)


def test_traffic_naming_an_undeclared_deployment_is_rejected() -> None:
    data = yaml.safe_load(SCENARIO.read_text())
    data["endpoints"][0]["traffic"] = {"blue": 90, "purple": 10}
    with pytest.raises(ScenarioError, match="purple"):
        load_scenario_text(yaml.safe_dump(data))


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ScenarioError, match="endpointz"):
        load_scenario_text("name: x\nendpointz: []\n")


def test_loading_a_bad_scenario_over_http_keeps_the_running_one(emulator: EmulatorHandle) -> None:
    error = emulator.control("POST", "scenario", {"yaml": "name: x\nseed: nope\n"}, expect=400)["error"]
    assert "seed" in error
    assert emulator.control("GET", "health")["scenario"] == "test-minimal"


def test_same_scenario_and_calls_give_the_same_metrics(emulator: EmulatorHandle) -> None:
    resource = f"{emulator.settings().workspace_id}/onlineEndpoints/credit-ep"

    def run() -> object:
        emulator.load(storage_container=emulator.container)
        emulator.control("POST", "time/advance", {"minutes": 20})
        emulator.control("POST", "traffic", {"requests": 30})
        response = requests.get(
            f"{emulator.url}{resource}/providers/Microsoft.Insights/metrics",
            params={
                "timespan": "2024-05-01T10:00:00Z/2024-05-01T10:21:00Z",
                "interval": "PT1M",
                "metricnames": "RequestLatency_P90,RequestsPerMinute",
                "aggregation": "Average",
                "$filter": "deployment eq '*'",
            },
            headers={"Authorization": "Bearer fake-entra.test"},
            timeout=10,
        )
        return response.json()["value"]

    first, second = run(), run()
    assert first == second
    assert any(p.get("average") for m in first for ts in m["timeseries"] for p in ts["data"])
