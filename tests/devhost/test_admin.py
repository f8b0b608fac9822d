"""The devhost admin API: host status, function listing, manual runs and their errors, keys."""

from __future__ import annotations

import json
import uuid

import requests

from devhost.process import DevHost
from tests.devhost.helpers import MASTER_KEY, Sample, eventually

ADMIN = {"x-functions-key": MASTER_KEY}


def test_host_status_is_running_without_a_key(devhost: DevHost, sample: Sample) -> None:
    status = requests.get(devhost.url("/admin/host/status"), timeout=5).json()
    assert status["state"] == "Running"
    assert status["id"] == sample.host_id


def test_function_list_shows_triggers_and_http_urls(devhost: DevHost) -> None:
    listing = requests.get(devhost.url("/admin/functions"), headers=ADMIN, timeout=5).json()
    by_name = {f["name"]: f for f in listing}
    assert by_name["queue_worker"]["trigger"] == "queueTrigger"
    assert by_name["hello"]["invoke_url_template"].endswith("/api/hello/{name}")
    assert by_name["disabled_http"]["isDisabled"] is True


def test_admin_api_needs_the_master_key_when_configured(devhost: DevHost) -> None:
    assert requests.get(devhost.url("/admin/functions"), timeout=5).status_code == 401
    run = requests.post(devhost.url("/admin/functions/manual_timer"), json={}, timeout=5)
    assert run.status_code == 401


def test_running_an_unknown_function_is_404(devhost: DevHost) -> None:
    response = requests.post(devhost.url("/admin/functions/nope"), json={}, headers=ADMIN, timeout=5)
    assert response.status_code == 404


def test_running_an_http_function_is_refused_with_its_url(devhost: DevHost) -> None:
    response = requests.post(devhost.url("/admin/functions/hello"), json={}, headers=ADMIN, timeout=5)
    assert response.status_code == 400
    assert "/api/hello/{name}" in response.text


def test_event_grid_function_runs_with_one_event_as_input(devhost: DevHost, sample: Sample) -> None:
    event = {
        "id": f"admin-{uuid.uuid4().hex[:10]}", "topic": "t", "subject": "s", "eventType": "Manual.Test",
        "eventTime": "2024-01-01T00:00:00Z", "data": {}, "dataVersion": "1",
    }  # fmt: skip
    response = requests.post(
        devhost.url("/admin/functions/on_event"), json={"input": json.dumps(event)}, headers=ADMIN, timeout=5
    )
    assert response.status_code == 202
    eventually(lambda: f"eg/{event['id']}.json" in sample.blob_names("eg"), what="the manual event run")


def test_queue_function_without_input_is_400(devhost: DevHost) -> None:
    response = requests.post(devhost.url("/admin/functions/queue_worker"), json={}, headers=ADMIN, timeout=5)
    assert response.status_code == 400
    assert "input" in response.text


def test_malformed_admin_body_is_400(devhost: DevHost) -> None:
    response = requests.post(
        devhost.url("/admin/functions/manual_timer"), data=b"{not json", headers=ADMIN, timeout=5
    )
    assert response.status_code == 400


def test_start_up_lists_functions_like_func(devhost: DevHost) -> None:
    text = devhost.log_text()
    assert f"hello: [GET] http://localhost:{devhost.port}/api/hello/{{name}}" in text
    assert "queue_worker: queueTrigger" in text
    every_method = "GET,POST,PUT,DELETE,HEAD,PATCH,OPTIONS"
    assert f"disabled_http: [{every_method}] http://localhost:{devhost.port}/api/disabled (disabled)" in text


def test_admin_body_nested_too_deep_is_400_naming_the_depth(devhost: DevHost) -> None:
    for depth in (65, 100_000):
        body = b'{"input": ' + b"[" * depth + b"]" * depth + b"}"
        response = requests.post(devhost.url("/admin/functions/on_event"), data=body, headers=ADMIN, timeout=10)
        assert response.status_code == 400, depth
        assert "nested" in response.text and "64" in response.text
