"""Which events become jobs, which are ignored, which are rejected, and why: both schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter

from shared.events import InboundEvent, from_function_event, route_ml_event, route_resource_event
from tests.fixtures import events as samples

ALLOWED = (samples.WORKSPACE,)


def decode(raw: dict[str, Any], cloud: bool) -> InboundEvent:
    """Through the azure-functions library's own converter, as the worker decodes a delivery."""
    body = samples.to_cloud_event(raw) if cloud else raw
    event = EventGridEventInConverter.decode(meta.Datum(type="json", value=json.dumps(body)), trigger_metadata=None)
    return from_function_event(event)


SCHEMAS = pytest.mark.parametrize("cloud", [False, True], ids=["eventgrid", "cloudevents"])


@SCHEMAS
def test_model_registered_becomes_a_job_with_model_and_version(cloud: bool) -> None:
    routing = route_ml_event(decode(samples.model_registered(), cloud), ALLOWED)
    assert routing.action == "enqueue"
    assert routing.job is not None
    assert routing.job.kind == "model_registered"
    assert routing.job.target == {"model": "sklearn_regression_model", "version": "20"}
    assert routing.job.workspace_id == samples.WORKSPACE
    assert routing.job.event_time is not None and routing.job.event_time.startswith("2017-06-26T18:41:00")


@SCHEMAS
def test_schema_is_recorded(cloud: bool) -> None:
    event = decode(samples.model_registered(), cloud)
    assert event.schema == ("CloudEventSchemaV1_0" if cloud else "EventGridSchema")
    assert event.source == samples.WORKSPACE


@SCHEMAS
def test_failed_run_becomes_a_job(cloud: bool) -> None:
    routing = route_ml_event(decode(samples.run_status_changed(), cloud), ALLOWED)
    assert routing.action == "enqueue"
    assert routing.job is not None and routing.job.kind == "run_failed"
    assert routing.job.target["run_id"] == "AutoML_ad912b2d-6467-4f32-a616-dbe4af6dd8fc_5"


@SCHEMAS
def test_run_status_other_than_failed_is_ignored(cloud: bool) -> None:
    routing = route_ml_event(decode(samples.run_status_changed(status="Running"), cloud), ALLOWED)
    assert routing.action == "ignore"


@SCHEMAS
def test_dataset_drift_from_azure_ml_becomes_a_job(cloud: bool) -> None:
    routing = route_ml_event(decode(samples.dataset_drift_detected(), cloud), ALLOWED)
    assert routing.job is not None and routing.job.kind == "azureml_drift_detected"
    assert routing.job.target["drift_monitor"] == "myDriftMonitor"


CAMEL_DRIFT = {"dataDriftId": "01d29aa4", "dataDriftName": "myDriftMonitor", "runId": "01d29aa4_1571590300380",
               "baseDatasetId": "3c56d136", "targetDatasetId": "d7e74d2e", "driftCoefficient": 0.835,
               "startTime": "2019-07-04T00:00:00+00:00", "endTime": "2019-07-05T00:00:00+00:00"}


@SCHEMAS
def test_camel_case_dataset_drift_data_is_read_like_pascal_case(cloud: bool) -> None:
    raw = {**samples.dataset_drift_detected(), "data": CAMEL_DRIFT}
    routing = route_ml_event(decode(raw, cloud), ALLOWED)
    assert routing.job is not None
    assert routing.job.target == {"drift_monitor": "myDriftMonitor", "run_id": "01d29aa4_1571590300380",
                                  "drift_coefficient": "0.835"}


@SCHEMAS
def test_camel_case_model_registered_data_is_read_like_pascal_case(cloud: bool) -> None:
    raw = {**samples.model_registered(), "subject": "", "data": {"modelName": "credit", "modelVersion": "7"}}
    routing = route_ml_event(decode(raw, cloud), ALLOWED)
    assert routing.job is not None and routing.job.target == {"model": "credit", "version": "7"}


def test_run_status_is_read_whatever_the_case_of_its_key_and_value() -> None:
    raw = samples.run_status_changed()
    raw["data"] = {"RunStatus": "Failed", "RunId": "r-1", "ExperimentName": "exp"}
    routing = route_ml_event(decode(raw, False), ALLOWED)
    assert routing.job is not None and routing.job.target == {"run_id": "r-1", "experiment": "exp"}


@SCHEMAS
@pytest.mark.parametrize("sample", ["model_deployed", "run_completed"])
def test_known_events_we_do_not_act_on_are_ignored_with_a_reason(cloud: bool, sample: str) -> None:
    routing = route_ml_event(decode(samples.ML_SAMPLES[sample](), cloud), ALLOWED)
    assert routing.action == "ignore"
    assert routing.reason


@SCHEMAS
def test_foreign_workspace_is_rejected_and_named(cloud: bool) -> None:
    routing = route_ml_event(decode(samples.model_registered(topic=samples.FOREIGN_WORKSPACE), cloud), ALLOWED)
    assert routing.action == "reject"
    assert samples.FOREIGN_WORKSPACE in routing.reason


def test_workspace_match_is_case_insensitive() -> None:
    topic = samples.WORKSPACE.replace("resourceGroups", "resourcegroups").upper()
    routing = route_ml_event(decode(samples.model_registered(topic=topic), False), ALLOWED)
    assert routing.action == "enqueue"


def test_unknown_event_type_is_ignored() -> None:
    raw = {**samples.model_registered(), "eventType": "Contoso.Items.ItemSold"}
    assert route_ml_event(decode(raw, False), ALLOWED).action == "ignore"


def test_event_without_id_is_rejected_as_malformed() -> None:
    raw = {**samples.model_registered(), "id": ""}
    routing = route_ml_event(decode(raw, False), ALLOWED)
    assert routing.action == "reject"
    assert "malformed" in routing.reason and "id" in routing.reason


def test_registered_model_without_name_is_rejected_as_malformed() -> None:
    raw = samples.model_registered()
    raw["data"] = {}
    raw["subject"] = "models/"
    routing = route_ml_event(decode(raw, False), ALLOWED)
    assert routing.action == "reject"
    assert "ModelName" in routing.reason


def test_model_registered_falls_back_to_subject_for_name_and_version() -> None:
    raw = samples.model_registered()
    raw["data"] = {}
    routing = route_ml_event(decode(raw, False), ALLOWED)
    assert routing.job is not None and routing.job.target == {"model": "sklearn_regression_model", "version": "20"}


@SCHEMAS
def test_deployment_write_becomes_a_deployment_changed_job(cloud: bool) -> None:
    routing = route_resource_event(decode(samples.deployment_write(), cloud), ALLOWED)
    assert routing.action == "enqueue"
    assert routing.job is not None and routing.job.kind == "deployment_changed"
    assert routing.job.target["endpoint"] == "ep1" and routing.job.target["deployment"] == "blue"


@SCHEMAS
def test_endpoint_write_becomes_an_endpoint_changed_job(cloud: bool) -> None:
    routing = route_resource_event(decode(samples.deployment_write(deployment=None), cloud), ALLOWED)
    assert routing.job is not None and routing.job.kind == "endpoint_changed"
    assert "deployment" not in routing.job.target


def test_deployment_delete_becomes_a_deployment_deleted_job() -> None:
    routing = route_resource_event(decode(samples.deployment_write(delete=True), False), ALLOWED)
    assert routing.job is not None and routing.job.kind == "deployment_deleted"


def test_other_resource_types_are_ignored() -> None:
    assert route_resource_event(decode(samples.storage_write(), False), ALLOWED).action == "ignore"


def test_deployment_in_foreign_workspace_is_rejected() -> None:
    raw = samples.deployment_write(workspace=samples.FOREIGN_WORKSPACE)
    assert route_resource_event(decode(raw, False), ALLOWED).action == "reject"


def test_ml_event_sent_to_the_resource_function_is_ignored() -> None:
    assert route_resource_event(decode(samples.model_registered(), False), ALLOWED).action == "ignore"


def test_job_round_trips_through_json() -> None:
    from shared.jobs import Job

    routing = route_ml_event(decode(samples.model_registered(), False), ALLOWED)
    assert routing.job is not None
    assert Job.from_json(routing.job.to_json()) == routing.job
