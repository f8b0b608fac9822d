"""The emulator's training data: a model version that declares `training_data` gets rows drawn from its endpoint's
feature distributions written to the workspace blob store (Azurite), and points at them as Azure ML models do:
a data asset named by a model tag, a datastore path named by a model tag, or a training job's input. Read
through the real MLClient and blob client."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import yaml
from azure.storage.blob import BlobServiceClient

from emulator.scenario import ScenarioError, parse_scenario
from tests.fixtures.emulator import SCENARIO, EmulatorHandle


def training_blob(emulator: EmulatorHandle, name: str) -> bytes:
    service = BlobServiceClient.from_connection_string(emulator.connection_string)
    return service.get_container_client(emulator.container).download_blob(name).readall()


def test_a_data_asset_version_points_at_the_training_file_and_the_model_tag_names_it(ml: Any) -> None:
    model = ml.models.get("credit", version="1")
    assert model.tags["modelwatch.reference_data"] == "azureml:credit-training:1"
    asset = ml.data.get("credit-training", version="1")
    assert asset.type == "uri_file"
    assert asset.path.endswith("/datastores/workspaceblobstore/paths/training/credit/1/train.csv")


def test_a_training_job_names_the_data_asset_as_its_input(ml: Any) -> None:
    model = ml.models.get("credit", version="2")
    assert model.job_name == "credit-train-2" and "modelwatch.reference_data" not in model.tags
    job = ml.jobs.get("credit-train-2")
    assert job.status == "Completed"
    assert (job.inputs["training_data"].type, job.inputs["training_data"].path) == (
        "uri_file", "azureml:credit-training:2")


def test_the_training_file_holds_rows_drawn_from_the_endpoints_features(emulator: EmulatorHandle) -> None:
    rows = list(csv.DictReader(io.StringIO(training_blob(emulator, "training/credit/1/train.csv").decode())))
    assert len(rows) == 2000 and set(rows[0]) == {"income", "age", "region"}
    incomes = [float(r["income"]) for r in rows]
    assert abs(sum(incomes) / len(incomes) - 50000) < 1500  # mean 50,000, std 12,000: 2,000 rows
    assert {r["region"] for r in rows} == {"north", "south", "west"}


def test_the_same_scenario_writes_the_same_training_bytes(emulator: EmulatorHandle) -> None:
    first = training_blob(emulator, "training/credit/1/train.csv")
    emulator.load()
    assert training_blob(emulator, "training/credit/1/train.csv") == first


def test_a_version_registered_by_the_timeline_writes_its_data_before_it_is_registered(
    emulator: EmulatorHandle, ml: Any
) -> None:
    emulator.control("POST", "time/advance", {"minutes": 95})
    model = ml.models.get("credit", version="3")
    assert model.tags["modelwatch.reference_data"] == (
        "azureml://datastores/workspaceblobstore/paths/training/credit/3/")
    rows = list(csv.DictReader(io.StringIO(training_blob(emulator, "training/credit/3/train.csv").decode())))
    incomes = [float(r["income"]) for r in rows]
    assert abs(sum(incomes) / len(incomes) - 75000) < 1500  # drawn after income drifted (+25,000) at +60m


def test_an_unknown_job_is_a_404_as_azure_answers(ml: Any) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    with pytest.raises(ResourceNotFoundError):
        ml.jobs.get("no-such-job")


def test_training_data_must_name_an_endpoint_that_exists() -> None:
    scenario = yaml.safe_load(SCENARIO.read_text())
    scenario["models"][0]["versions"][0]["training_data"]["endpoint"] = "nowhere-ep"
    with pytest.raises(ScenarioError, match=r"models.0.versions.0.training_data.endpoint: unknown endpoint"):
        parse_scenario(scenario)
