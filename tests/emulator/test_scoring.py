"""Scoring URIs: key auth, routing by header and by split, the deployment's model, and model data
collection into Azurite in the data collector layout and record format."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import requests
from azure.storage.blob import BlobServiceClient

from tests.fixtures.emulator import EmulatorHandle

ROWS = [{"income": 52000, "age": 41, "region": "north"}, {"income": 31000, "age": 25, "region": "west"}]


def _key(ml: Any) -> str:
    return str(ml.online_endpoints.get_keys("credit-ep").primary_key)


def _score(ml: Any, body: Any, **headers: str) -> requests.Response:
    uri = ml.online_endpoints.get("credit-ep").scoring_uri
    return requests.post(
        uri, json=body, headers={"Authorization": f"Bearer {_key(ml)}", **headers}, timeout=10
    )


def test_scoring_without_the_endpoint_key_is_401(ml: Any) -> None:
    uri = ml.online_endpoints.get("credit-ep").scoring_uri
    assert requests.post(uri, json={"input_data": ROWS}, timeout=10).status_code == 401


def test_header_routes_to_the_named_deployment_and_its_model_answers(ml: Any) -> None:
    response = _score(
        ml,
        {"input_data": {"columns": ["income", "age", "region"], "data": [list(r.values()) for r in ROWS]}},
        **{"azureml-model-deployment": "green"},
    )
    assert response.status_code == 200
    assert response.headers["azureml-model-deployment"] == "green"
    first, second = response.json()
    assert 0 < second["score"] < first["score"] < 1  # logistic in income and age
    assert set(first) == {"score", "label"}


def test_traffic_split_routes_about_ninety_ten(emulator: EmulatorHandle) -> None:
    result = emulator.control("POST", "traffic", {"requests": 400})
    served = Counter({k.split(":")[0]: v for k, v in result["served"].items()})
    assert served["blue"] + served["green"] == 400
    assert 20 <= served["green"] <= 60


def test_unknown_deployment_header_is_404(ml: Any) -> None:
    assert _score(ml, ROWS, **{"azureml-model-deployment": "purple"}).status_code == 404


def test_missing_feature_is_a_400_that_names_it(ml: Any) -> None:
    response = _score(ml, [{"income": 1}], **{"azureml-model-deployment": "blue"})
    assert response.status_code == 400
    assert "age" in response.json()["message"]


def test_scored_requests_are_collected_into_azurite_in_the_collector_layout(
    ml: Any, emulator: EmulatorHandle
) -> None:
    for _ in range(3):
        assert _score(ml, {"input_data": ROWS}, **{"azureml-model-deployment": "blue"}).status_code == 200
    emulator.control("POST", "collector/flush")
    container = BlobServiceClient.from_connection_string(emulator.connection_string).get_container_client(
        emulator.container
    )
    names = sorted(
        b.name for b in container.list_blobs(name_starts_with="modelDataCollector/credit-ep/blue/")
    )
    assert names and all(n.endswith(".jsonl") for n in names)
    inputs = [n for n in names if "/model_inputs/2024/05/01/10/" in n]
    outputs = [n for n in names if "/model_outputs/2024/05/01/10/" in n]
    assert inputs and outputs
    records = [json.loads(line) for n in inputs for line in container.download_blob(n).readall().splitlines()]
    rows = [row for record in records for row in record["data"]]
    assert rows == ROWS * 3
    record = records[0]
    assert record["type"] == "azureml.inference.model_inputs"
    assert record["source"].endswith("/onlineEndpoints/credit-ep/deployments/blue")
    assert record["specversion"] == "1.0" and record["collectdatatype"] == "pandas.core.frame.DataFrame"


def test_simulated_time_writes_one_folder_per_hour(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "time/advance", {"minutes": 70})
    container = BlobServiceClient.from_connection_string(emulator.connection_string).get_container_client(
        emulator.container
    )
    hours = {
        b.name.split("/")[7]
        for b in container.list_blobs(name_starts_with="modelDataCollector/credit-ep/blue/model_inputs/")
    }
    assert hours == {"10", "11"}
