"""Model registered -> reference profile, through the real worker, emulator and Azurite: where the reference data
comes from, in order (a model tag naming a data asset or a datastore path, the training job's inputs, else the
first window of a serving deployment's collected inputs), and the provenance stored with it.

The test scenario's credit:1 carries the tag `modelwatch.reference_data: azureml:credit-training:1`; credit:2 was
trained by job credit-train-2 whose input `training_data` is credit-training:2; credit:3 (registered at +90m)
is tagged with a datastore folder. Each file holds 2,000 rows drawn from the endpoint's features.
"""

from __future__ import annotations

import hashlib

import yaml

from monitors.drift import DatasetProfile
from tests.checks.conftest import World
from tests.driftcheck.helpers import checks, drift_job, reference_doc, registered
from tests.fixtures.emulator import SCENARIO


def test_a_model_tag_naming_a_data_asset_gives_the_reference_with_its_provenance(world: World) -> None:
    assert world.run(registered(world, "credit", "1")) == "done"
    doc = reference_doc(world, "credit", "1")
    assert doc is not None and doc["status"] == "ready"
    inputs = doc["inputs"]
    assert inputs["source"] == "model_tag" and inputs["rows"] == 2000
    assert inputs["provenance"]["tag"] == "modelwatch.reference_data"
    assert inputs["provenance"]["data_asset"] == "credit-training:1"
    assert inputs["provenance"]["data_asset_id"].endswith("/data/credit-training/versions/1")
    assert inputs["provenance"]["path"] == "training/credit/1/train.csv"
    assert len(inputs["content_hash"]) == 64 and inputs["built_at"] == world.services.clock.now().isoformat()
    assert set(inputs["features"]) == {"income", "age", "region"}


def test_the_stored_profile_is_the_one_its_hash_names(world: World) -> None:
    world.run(registered(world, "credit", "1"))
    inputs = reference_doc(world, "credit", "1")["inputs"]
    body = world.services.state.get_bytes(inputs["profile"])
    assert hashlib.sha256(body).hexdigest() == inputs["profile_hash"]
    profile = DatasetProfile.from_json(body)
    assert profile.n_rows == 2000 and profile.kinds() == {"income": "numeric", "age": "numeric",
                                                          "region": "categorical"}


def test_without_a_tag_the_training_jobs_input_gives_the_reference(world: World) -> None:
    world.run(registered(world, "credit", "2"))
    inputs = reference_doc(world, "credit", "2")["inputs"]
    assert inputs["source"] == "job_inputs" and inputs["rows"] == 2000
    assert (inputs["provenance"]["job"], inputs["provenance"]["input"]) == ("credit-train-2", "training_data")
    assert inputs["provenance"]["data_asset"] == "credit-training:2"


def test_a_model_tag_naming_a_datastore_folder_reads_every_file_in_it(world: World) -> None:
    world.advance(minutes=95)  # credit:3 is registered at +90m
    world.run(registered(world, "credit", "3"))
    inputs = reference_doc(world, "credit", "3")["inputs"]
    assert inputs["source"] == "model_tag" and inputs["rows"] == 2000
    assert inputs["provenance"]["uri"] == "azureml://datastores/workspaceblobstore/paths/training/credit/3/"
    assert inputs["provenance"]["kind"] == "uri_folder" and inputs["provenance"]["data_asset"] is None
    assert [f["blob"] for f in inputs["provenance"]["files"]] == ["training/credit/3/train.csv"]


def test_registration_records_a_reference_verdict_on_the_model_version(world: World) -> None:
    world.run(registered(world, "credit", "1"))
    [record] = checks(world, "reference")
    assert record["decision"] == "ok"
    assert record["subject"] == f"{world.workspace_id}/models/credit/versions/1"
    evidence = record["details"]["evidence"]
    assert evidence["source"] == "model_tag" and evidence["rows"] == 2000 and len(evidence["content_hash"]) == 64


def test_a_second_registration_of_the_same_version_keeps_the_first_reference(world: World) -> None:
    world.run(registered(world, "credit", "1"))
    first = reference_doc(world, "credit", "1")
    job = registered(world, "credit", "1")
    world.run(type(job)(**{**job.__dict__, "id": "evt-again"}))
    assert reference_doc(world, "credit", "1") == first


def without_training_data(world: World) -> None:
    """The test scenario with credit:1 (blue's model) naming no data at all."""
    scenario = yaml.safe_load(SCENARIO.read_text())
    for version in scenario["models"][0]["versions"]:
        version.pop("training_data", None)
    world.emulator.load(models=scenario["models"])


def test_a_version_naming_no_data_gets_a_pending_reference_recorded_not_alerted(world: World) -> None:
    without_training_data(world)
    world.run(registered(world, "credit", "1"))
    doc = reference_doc(world, "credit", "1")
    assert doc["status"] == "pending" and doc["inputs"] is None
    [record] = checks(world, "reference")
    assert record["decision"] == "pending" and record["details"]["evidence"]["rows"] == 0
    assert world.services.alerts.list_alerts() == []


def test_a_pending_reference_is_completed_from_the_first_window_of_collected_inputs(world: World) -> None:
    without_training_data(world)
    world.run(registered(world, "credit", "1"))
    world.advance(minutes=60)  # one complete collector hour of blue's inputs (about 1,080 rows)
    world.run(drift_job(world, "blue"))
    inputs = reference_doc(world, "credit", "1")["inputs"]
    assert inputs["source"] == "collected"
    provenance = inputs["provenance"]
    assert (provenance["endpoint"], provenance["deployment"], provenance["collection"]) == (
        "credit-ep", "blue", "model_inputs")
    assert (provenance["start"], provenance["end"]) == ("2024-05-01T10:00:00+00:00", "2024-05-01T11:00:00+00:00")
    assert inputs["rows"] == provenance["rows"] > 500
    assert [r["decision"] for r in checks(world, "reference")] == ["pending", "ok"]


def test_a_pending_reference_waits_while_the_first_hour_is_incomplete(world: World) -> None:
    without_training_data(world)
    world.run(registered(world, "credit", "1"))
    world.advance(minutes=50)
    world.run(drift_job(world, "blue"))
    assert reference_doc(world, "credit", "1")["status"] == "pending"
    [drift] = checks(world, "drift")
    assert drift["decision"] == "pending"


def test_a_tag_naming_missing_data_falls_back_to_the_job_and_says_why(world: World) -> None:
    scenario = yaml.safe_load(SCENARIO.read_text())
    scenario["models"][0]["versions"][1]["tags"] = {"modelwatch.reference_data": "azureml:no-such-asset:1"}
    world.emulator.load(models=scenario["models"])
    world.run(registered(world, "credit", "2"))
    doc = reference_doc(world, "credit", "2")
    assert doc["inputs"]["source"] == "job_inputs"
    [attempt] = doc["attempts"]
    assert attempt["source"] == "model_tag" and attempt["uri"] == "azureml:no-such-asset:1"
    assert "does not exist" in attempt["error"]
