"""The emulator's side of the replay: a model version's golden set (inputs with the outputs that version gave them,
a data asset in Azurite named by a model tag), and a deployment's skew (a preprocessing bug) that makes its
answers differ from its model's. Through the real MLClient, blob client and scoring URI."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
import requests
import yaml
from azure.storage.blob import BlobServiceClient

from emulator.scenario import ScenarioError, parse_scenario
from tests.fixtures.emulator import EmulatorHandle
from tests.replay.conftest import SKEWED


@pytest.fixture
def ml(emulator: EmulatorHandle) -> Any:
    from shared.adapters.azure_clients import ml_client

    return ml_client(emulator.settings(), polling_interval=0.05)


def blob(emulator: EmulatorHandle, name: str) -> bytes:
    service = BlobServiceClient.from_connection_string(emulator.connection_string)
    return service.get_container_client(emulator.container).download_blob(name).readall()


def score(emulator: EmulatorHandle, ml: Any, deployment: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    endpoint = ml.online_endpoints.get("credit-ep")
    key = ml.online_endpoints.get_keys("credit-ep").primary_key
    response = requests.post(endpoint.scoring_uri, json={"input_data": rows}, timeout=10,
                             headers={"Authorization": f"Bearer {key}", "azureml-model-deployment": deployment})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_model_version_is_tagged_with_its_golden_set_and_its_output_columns(ml: Any) -> None:
    tags = ml.models.get("credit", version="1").tags
    assert tags["modelwatch.golden_set"] == "azureml:credit-golden:1"
    assert (tags["modelwatch.golden_set.scores"], tags["modelwatch.golden_set.labels"]) == ("score", "label")
    asset = ml.data.get("credit-golden", version="1")
    assert asset.type == "uri_file" and asset.path.endswith("/paths/golden/credit/1/golden.jsonl")
    assert "modelwatch.golden_set" not in ml.models.get("credit", version="3").tags  # it declares none


def test_the_golden_set_records_the_outputs_its_version_gives_each_input(emulator: EmulatorHandle, ml: Any) -> None:
    rows = [json.loads(line) for line in blob(emulator, "golden/credit/1/golden.jsonl").splitlines()]
    assert len(rows) == 200 and set(rows[0]) == {"income", "age", "region", "score", "label"}
    inputs = [{k: r[k] for k in ("income", "age", "region")} for r in rows[:20]]
    assert score(emulator, ml, "blue", inputs) == [{"score": r["score"], "label": r["label"]} for r in rows[:20]]


def test_a_golden_set_can_be_written_as_csv(emulator: EmulatorHandle) -> None:
    rows = list(csv.DictReader(io.StringIO(blob(emulator, "golden/credit/2/golden.csv").decode())))
    assert len(rows) == 200 and list(rows[0]) == ["income", "age", "region", "score", "label"]


def test_a_skewed_deployment_answers_differently_from_its_model(emulator: EmulatorHandle, ml: Any) -> None:
    row = {"income": 50000.0, "age": 40.0, "region": "north"}
    skewed = score(emulator, ml, "green", [row])[0]["score"]  # credit:2 sees income 50.0
    emulator.control("POST", "deployments/credit-ep/green/behaviour", {"skew": None})
    fixed = score(emulator, ml, "green", [row])[0]["score"]  # credit:2 sees income 50,000
    assert (skewed, fixed) == (pytest.approx(0.265, abs=1e-3), pytest.approx(0.495, abs=1e-3))


def test_skew_is_set_and_cleared_through_the_behaviour_api(emulator: EmulatorHandle) -> None:
    answer = emulator.control("POST", "deployments/credit-ep/blue/behaviour", {"skew": {"feature": "age", "scale": 2}})
    assert answer["skew"] == {"feature": "age", "scale": 2.0, "shift": 0.0}
    assert emulator.state()["endpoints"]["credit-ep"]["deployments"]["blue"]["skew"]["feature"] == "age"
    assert emulator.control("POST", "deployments/credit-ep/blue/behaviour", {"skew": None})["skew"] is None
    assert emulator.control("POST", "deployments/credit-ep/blue/behaviour", {"error_rate": 0.0})["skew"] is None


def test_a_skew_of_a_feature_the_endpoint_lacks_is_refused(emulator: EmulatorHandle) -> None:
    answer = emulator.control("POST", "deployments/credit-ep/blue/behaviour",
                              {"skew": {"feature": "region", "scale": 2}}, expect=400)
    assert "not a numeric feature" in answer["error"]


def test_a_scenario_skew_must_name_a_numeric_feature_of_its_endpoint() -> None:
    scenario = yaml.safe_load(SKEWED.read_text())
    scenario["endpoints"][0]["deployments"][1]["skew"] = {"feature": "salary", "scale": 0.001}
    with pytest.raises(ScenarioError, match=r"deployments\.1\.skew\.feature.*'salary'"):
        parse_scenario(scenario)


def test_a_golden_set_needs_the_features_its_predictor_weighs() -> None:
    scenario = yaml.safe_load(SKEWED.read_text())
    scenario["models"][0]["versions"][0]["predictor"]["weights"]["debt"] = 0.1
    with pytest.raises(ScenarioError, match=r"golden_set.*\['debt'\]"):
        parse_scenario(scenario)
