"""Event Grid deliveries through the devhost to the real app: the URL surface of `func start`."""

from __future__ import annotations

from typing import Any

import pytest
from azure.storage.queue import QueueClient

from shared.config import JOBS_QUEUE
from tests.e2e.conftest import AppClient, for_event
from tests.fixtures import events as samples

SCHEMAS = pytest.mark.parametrize("cloud", [False, True], ids=["eventgrid", "cloudevents"])


def as_schema(event: dict[str, Any], cloud: bool) -> dict[str, Any]:
    return samples.to_cloud_event(event) if cloud else event


def decisions(records: list[dict[str, Any]], event_id: str) -> list[tuple[str, str]]:
    match = for_event(event_id)
    return [(r["kind"], r["decision"]) for r in records if match(r)]


@SCHEMAS
@pytest.mark.parametrize("sample", ["model_registered", "run_status_changed", "dataset_drift_detected"])
def test_ml_event_is_acknowledged_then_processed_by_the_worker(app: AppClient, cloud: bool, sample: str) -> None:
    event = samples.fresh_id(samples.ML_SAMPLES[sample]())
    assert app.deliver([as_schema(event, cloud)]).status_code == 202
    records = app.wait_for(lambda rs: ("job", "done") in decisions(rs, event["id"]))
    seen = decisions(records, event["id"])
    assert seen[0] == ("event", "accepted") and seen[-1] == ("job", "done")
    if sample in ("run_status_changed", "dataset_drift_detected"):  # relayed as an alert
        assert ("check", "alert") in seen


@SCHEMAS
def test_deployment_write_reaches_the_worker_with_its_endpoint_and_deployment(app: AppClient, cloud: bool) -> None:
    event = samples.fresh_id(samples.deployment_write())
    assert app.deliver([as_schema(event, cloud)], function="on_resource_event").status_code == 202
    records = app.wait_for(lambda rs: ("job", "done") in decisions(rs, event["id"]))
    [done] = [r for r in records if for_event(event["id"])(r) and r["decision"] == "done"]
    assert done["subject"].endswith("/onlineEndpoints/ep1/deployments/blue")
    assert done["details"]["kind"] == "deployment_changed"


def test_a_batch_runs_every_event(app: AppClient) -> None:
    batch = [samples.fresh_id(samples.model_registered()) for _ in range(3)]
    assert app.deliver(batch).status_code == 202
    app.wait_for(lambda rs: all(("job", "done") in decisions(rs, e["id"]) for e in batch))


def test_duplicate_delivery_is_processed_once(app: AppClient) -> None:
    event = samples.fresh_id(samples.model_registered())
    assert app.deliver([event]).status_code == 202
    assert app.deliver([event]).status_code == 202
    records = app.wait_for(lambda rs: ("event", "duplicate") in decisions(rs, event["id"])
                           and ("job", "done") in decisions(rs, event["id"]))
    assert decisions(records, event["id"]).count(("job", "done")) == 1
    assert decisions(records, event["id"]).count(("event", "accepted")) == 1


def test_foreign_workspace_is_acknowledged_audited_and_not_processed(app: AppClient) -> None:
    event = samples.fresh_id(samples.model_registered(topic=samples.FOREIGN_WORKSPACE))
    assert app.deliver([event]).status_code == 202
    records = app.wait_for(lambda rs: ("event", "rejected") in decisions(rs, event["id"]))
    [rejected] = [r for r in records if for_event(event["id"])(r)]
    assert samples.FOREIGN_WORKSPACE in rejected["details"]["reason"]
    assert decisions(app.audit(), event["id"]) == [("event", "rejected")]


def test_unknown_event_type_is_acknowledged_and_ignored(app: AppClient) -> None:
    event = {**samples.fresh_id(samples.model_registered()), "eventType": "Contoso.Items.ItemSold"}
    assert app.deliver([event]).status_code == 202
    app.wait_for(lambda rs: ("event", "ignored") in decisions(rs, event["id"]))


def test_malformed_json_is_400_and_writes_nothing(app: AppClient, storage_connection_string: str) -> None:
    before = len(app.audit())
    queue = QueueClient.from_connection_string(storage_connection_string, JOBS_QUEUE)
    response = app.deliver(None, data=b'[{"id": "x", "topic": ')
    assert response.status_code == 400
    assert len(app.audit()) == before
    assert queue.get_queue_properties().approximate_message_count == 0


def test_validation_handshake_echoes_the_code(app: AppClient) -> None:
    response = app.deliver([samples.validation_event()], aeg_type="SubscriptionValidation")
    assert response.status_code == 200
    assert response.json() == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}


def test_cloudevents_handshake_allows_event_grid(app: AppClient) -> None:
    import requests

    response = requests.options(app.host.url("/runtime/webhooks/eventgrid?functionName=on_ml_event"),
                                headers={"WebHook-Request-Origin": "eventgrid.azure.net"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


def test_delivery_without_aeg_event_type_is_400(app: AppClient) -> None:
    assert app.deliver([samples.model_registered()], aeg_type=None).status_code == 400


def test_delivery_to_an_unknown_function_is_404(app: AppClient) -> None:
    assert app.deliver([samples.model_registered()], function="nope").status_code == 404


@SCHEMAS
def test_an_undecodable_event_does_not_take_its_valid_siblings_down(app: AppClient, cloud: bool) -> None:
    first, last = (samples.fresh_id(samples.model_registered()) for _ in range(2))
    bad = samples.fresh_id(samples.model_registered())
    bad["eventTime"] = "not a time"
    response = app.deliver([as_schema(e, cloud) for e in (first, bad, last)])
    assert response.status_code == 202
    records = app.wait_for(lambda rs: all(("event", "accepted") in decisions(rs, e["id"]) for e in (first, last)))
    assert decisions(records, bad["id"]) == []  # acknowledged by the host without invoking the app
    assert any(r.get("event_id") == bad["id"] and r["outcome"] == "undecodable"
               for r in app.host.invocations("on_ml_event"))


def test_an_event_whose_job_would_exceed_the_queue_limit_is_acknowledged_and_rejected(app: AppClient) -> None:
    event = samples.fresh_id(samples.model_registered())
    event["data"]["ModelName"] = "m" * 60_000
    for _ in range(2):  # as Event Grid would redeliver a 500: every delivery is acknowledged
        response = app.deliver([event])
        assert response.status_code == 202, response.text
    records = app.wait_for(lambda rs: decisions(rs, event["id"]).count(("event", "rejected")) == 2)
    [reason, *_] = [r["details"]["reason"] for r in records if for_event(event["id"])(r)]
    assert "64 KB" in reason


def test_an_event_id_with_a_lone_surrogate_is_accepted_and_processed(app: AppClient) -> None:
    event = {**samples.model_registered(), "id": "\ud800-" + samples.fresh_id({})["id"]}
    assert app.deliver([event]).status_code == 202
    app.wait_for(lambda rs: ("job", "done") in decisions(rs, event["id"]))
    assert app.deliver([event]).status_code == 202
    records = app.wait_for(lambda rs: ("event", "duplicate") in decisions(rs, event["id"]))
    assert decisions(records, event["id"]).count(("event", "accepted")) == 1


@SCHEMAS
def test_a_camel_case_drift_event_reaches_the_alert_with_its_monitor(app: AppClient, cloud: bool) -> None:
    monitor = "camel-" + samples.fresh_id({})["id"][:8]
    event = samples.fresh_id(samples.dataset_drift_detected())
    event["data"] = {"dataDriftId": "01d29aa4", "dataDriftName": monitor, "runId": "run-camel",
                     "driftCoefficient": 0.91}
    assert app.deliver([as_schema(event, cloud)]).status_code == 202
    app.wait_for(lambda rs: ("job", "done") in decisions(rs, event["id"]))
    alerts = app.get("/api/alerts", state="all").json()["alerts"]
    assert any(a["labels"].get("drift_monitor") == monitor for a in alerts)
