"""HTTP triggers on the devhost: routes, methods, route params, keys, failures, output bindings, logs."""

from __future__ import annotations

import uuid

import requests

from devhost.process import DevHost
from tests.devhost.helpers import FUNCTION_KEY, MASTER_KEY, Sample, eventually


def test_route_param_and_query_reach_the_function(devhost: DevHost) -> None:
    response = requests.get(devhost.url("/api/hello/ada"), params={"greeting": "hi"}, timeout=5)
    assert response.status_code == 200
    assert response.text == "hi ada"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_local_settings_values_become_app_settings(devhost: DevHost) -> None:
    assert requests.get(devhost.url("/api/hello/ada"), timeout=5).text == "hello ada"


def test_int_constraint_matches_digits_only(devhost: DevHost) -> None:
    ok = requests.get(devhost.url("/api/items/42"), timeout=5)
    assert ok.json() == {"id": "42", "method": "GET"}
    assert requests.get(devhost.url("/api/items/forty-two"), timeout=5).status_code == 404


def test_literal_route_wins_over_parameter(devhost: DevHost) -> None:
    assert requests.get(devhost.url("/api/items/special"), timeout=5).text == "special"


def test_declared_methods_only(devhost: DevHost) -> None:
    assert requests.delete(devhost.url("/api/items/7"), timeout=5).json()["method"] == "DELETE"
    assert requests.post(devhost.url("/api/items/7"), timeout=5).status_code == 404


def test_catch_all_takes_the_rest_of_the_path(devhost: DevHost) -> None:
    response = requests.put(devhost.url("/api/files/a/b/c.txt"), timeout=5)
    assert response.text == "a/b/c.txt"
    assert response.headers["x-method"] == "PUT"


def test_unknown_route_is_404(devhost: DevHost) -> None:
    assert requests.get(devhost.url("/api/nothing-here"), timeout=5).status_code == 404
    assert requests.get(devhost.url("/hello/ada"), timeout=5).status_code == 404  # no route prefix


def test_async_function_returning_str_is_200_text(devhost: DevHost) -> None:
    response = requests.get(devhost.url("/api/plain"), timeout=5)
    assert (response.status_code, response.text) == (200, "plain text from an async function")


def test_http_output_binding_parameter_is_the_response(devhost: DevHost) -> None:
    response = requests.post(devhost.url("/api/outparam"), data=b"echo me", timeout=5)
    assert (response.status_code, response.content) == (201, b"echo me")


def test_disabled_function_is_404(devhost: DevHost) -> None:
    assert requests.get(devhost.url("/api/disabled"), timeout=5).status_code == 404


def test_disabled_function_runs_with_the_master_key(devhost: DevHost) -> None:
    response = requests.get(devhost.url("/api/disabled"), params={"code": MASTER_KEY}, timeout=5)
    assert response.text == "should be disabled"


def test_function_level_needs_a_key_when_keys_are_configured(devhost: DevHost) -> None:
    assert requests.get(devhost.url("/api/secret"), timeout=5).status_code == 401
    wrong = requests.get(devhost.url("/api/secret"), headers={"x-functions-key": "nope"}, timeout=5)
    assert wrong.status_code == 401


def test_function_key_in_header_or_code_query(devhost: DevHost) -> None:
    header = requests.get(devhost.url("/api/secret"), headers={"x-functions-key": FUNCTION_KEY}, timeout=5)
    query = requests.get(devhost.url("/api/secret"), params={"code": FUNCTION_KEY}, timeout=5)
    assert (header.status_code, query.status_code) == (200, 200)


def test_master_key_is_valid_at_function_level(devhost: DevHost) -> None:
    response = requests.get(devhost.url("/api/secret"), headers={"x-functions-key": MASTER_KEY}, timeout=5)
    assert response.status_code == 200


def test_admin_level_needs_the_master_key(devhost: DevHost) -> None:
    with_function_key = requests.get(devhost.url("/api/adminonly"), params={"code": FUNCTION_KEY}, timeout=5)
    with_master = requests.get(devhost.url("/api/adminonly"), params={"code": MASTER_KEY}, timeout=5)
    assert (with_function_key.status_code, with_master.status_code) == (401, 200)


def test_anonymous_routes_need_no_key_even_with_keys_configured(devhost: DevHost) -> None:
    assert requests.get(devhost.url("/api/hello/x"), timeout=5).status_code == 200


def test_without_configured_keys_everything_is_anonymous(peer_devhost: DevHost) -> None:
    assert requests.get(peer_devhost.url("/api/adminonly"), timeout=5).status_code == 200


def test_function_exception_is_500_with_empty_body_and_host_keeps_serving(devhost: DevHost) -> None:
    response = requests.get(devhost.url("/api/boom"), timeout=5)
    assert (response.status_code, response.content) == (500, b"")
    assert requests.get(devhost.url("/api/hello/after"), timeout=5).status_code == 200
    assert "RuntimeError: boom from the sample app" in devhost.log_text()  # traceback logged


def test_queue_and_blob_outputs_are_written_after_success(devhost: DevHost, sample: Sample) -> None:
    name = f"ok{uuid.uuid4().hex[:8]}"
    payload = {"messages": [f"{name}-1", {"n": name}], "document": f"doc {name}"}
    response = requests.post(devhost.url(f"/api/enqueue/{name}"), json=payload, timeout=5)
    assert response.status_code == 201
    blobs = sample.blob_names("http")
    written = [b for b in blobs if b.startswith(f"http/{name}-")]
    assert len(written) == 1 and sample.read_text(written[0]) == f"doc {name}"
    bodies = sample.peek("out")
    assert f"{name}-1" in bodies and f'{{"n": "{name}"}}' in bodies


def test_outputs_are_not_written_when_the_function_fails(devhost: DevHost, sample: Sample) -> None:
    name = f"fail{uuid.uuid4().hex[:8]}"
    payload = {"messages": [name], "document": name, "fail": True}
    assert requests.post(devhost.url(f"/api/enqueue/{name}"), json=payload, timeout=5).status_code == 500
    assert not [b for b in sample.blob_names("http") if b.startswith(f"http/{name}-")]
    bodies = sample.peek("out")
    assert name not in bodies


def test_each_invocation_prints_one_json_record(devhost: DevHost) -> None:
    requests.get(devhost.url("/api/hello/json-record"), timeout=5)
    records = eventually(lambda: devhost.invocations("hello"), what="a JSON record for hello")
    record = records[-1]
    assert record["trigger"] == "httpTrigger" and record["outcome"] == "succeeded"
    assert set(record) >= {"function", "trigger", "invocation_id", "duration_ms", "outcome"}


def test_failed_invocation_record_carries_the_error(devhost: DevHost) -> None:
    requests.get(devhost.url("/api/boom"), timeout=5)
    failed = eventually(lambda: devhost.invocations("boom"), what="a JSON record for boom")
    assert failed[-1]["outcome"] == "failed"
    assert failed[-1]["error"] == "RuntimeError: boom from the sample app"


def test_a_body_nested_too_deep_for_json_still_reaches_the_function(devhost: DevHost) -> None:
    body = b"[" * 100_000 + b"]" * 100_000  # the host reads no binding data from it; the function decides
    response = requests.post(devhost.url("/api/outparam"), data=body, timeout=10)
    assert (response.status_code, response.content) == (201, body)
