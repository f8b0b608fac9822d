"""The HTTP API and the timer as the Functions host runs them: the decorated functions called with real
azure.functions requests, settings from environment variables, state in Azurite."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from shared.alerts.bootstrap import build_alert_service
from shared.alerts.service import AlertService
from shared.entrypoints import alerts as bp_module
from tests.alerts.conftest import signal
from tests.alerts.receivers import Receiver, Reply


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch,
    storage_connection_string: str,
    unique_name: str,
    receivers: Callable[..., Receiver],
) -> Iterator[dict[str, Any]]:
    hook = receivers()
    settings = {
        "AzureWebJobsStorage": storage_connection_string,
        "MODELWATCH_STATE_CONTAINER": unique_name,
        "MODELWATCH_ALERT_WEBHOOK_URL": hook.url(),
        "MODELWATCH_ALERT_KEEP_FIRING_FOR": "0s",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    yield {"hook": hook, "settings": settings}


@pytest.fixture
def service(env: dict[str, Any]) -> AlertService:
    """The same service a check would use: built from the same settings."""
    return build_alert_service(env["settings"])


def call(
    function: Any,
    method: str,
    path: str,
    *,
    body: Any = None,
    params: dict[str, str] | None = None,
    route: dict[str, str] | None = None,
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if isinstance(body, dict | list) else (body or b"")
    request = func.HttpRequest(
        method,
        f"http://localhost:7071/api/{path}",
        headers={"x-functions-key": "k"},
        params=params or {},
        route_params=route or {},
        body=data,
    )
    response = function(request)
    raw = response.get_body().decode()
    return response.status_code, json.loads(raw) if response.mimetype == "application/json" else raw


def test_list_shows_open_alerts_by_default(env, service: AlertService) -> None:
    open_alert = service.fire(signal()).alert
    closed = service.fire(signal(rule="error-rate")).alert
    service.resolve(closed.id, "bob")
    status, body = call(bp_module.alerts_list, "GET", "alerts")
    assert status == 200 and [a["id"] for a in body["alerts"]] == [open_alert.id]


def test_list_filters_by_state_severity_and_endpoint(env, service: AlertService) -> None:
    service.fire(signal(severity="Sev1"))
    service.fire(signal(labels={"endpoint": "fraud-prod", "deployment": "blue"}))
    status, body = call(
        bp_module.alerts_list,
        "GET",
        "alerts",
        params={"state": "all", "severity": "Sev2", "endpoint": "fraud-prod"},
    )
    assert status == 200 and [a["labels"]["endpoint"] for a in body["alerts"]] == ["fraud-prod"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"state": "firing"},
            "state: expected one of open, acknowledged, resolved, active, all, got 'firing'",
        ),
        ({"severity": "critical"}, "severity: expected one of Sev0, Sev1, Sev2, Sev3, Sev4, got 'critical'"),
    ],
)
def test_list_rejects_bad_filters_with_a_message(env, params: dict[str, str], message: str) -> None:
    expected = {"error": {"status": 400, "message": message}}
    assert call(bp_module.alerts_list, "GET", "alerts", params=params) == (400, expected)


def test_get_returns_the_alert_with_evidence_and_timeline(env, service: AlertService) -> None:
    alert = service.fire(signal()).alert
    status, body = call(bp_module.alerts_get, "GET", f"alerts/{alert.id}", route={"id": alert.id})
    assert status == 200 and body["evidence"]["p95_ms"] == 812 and body["timeline"][0]["what"] == "opened"


def test_unknown_alert_is_404_and_malformed_id_is_400(env) -> None:
    assert call(bp_module.alerts_get, "GET", "alerts/x", route={"id": "0123456789abcdef-9"})[0] == 404
    status, body = call(bp_module.alerts_get, "GET", "alerts/x", route={"id": "nope"})
    assert status == 400 and "<16 hex digits>-<episode>" in body["error"]["message"]


def test_ack_records_who_and_stops_repeats(env, service: AlertService) -> None:
    alert = service.fire(signal()).alert
    status, body = call(
        bp_module.alerts_ack,
        "POST",
        f"alerts/{alert.id}/ack",
        route={"id": alert.id},
        body={"by": "alice", "comment": "on it"},
    )
    assert status == 200 and (body["state"], body["acknowledgedBy"]) == ("acknowledged", "alice")


def test_ack_of_a_resolved_alert_is_a_conflict(env, service: AlertService) -> None:
    alert = service.fire(signal()).alert
    service.resolve(alert.id, "bob")
    status, body = call(bp_module.alerts_ack, "POST", "alerts/x/ack", route={"id": alert.id})
    assert status == 409 and "already resolved" in body["error"]["message"]


def test_ack_with_an_unknown_field_is_400(env, service: AlertService) -> None:
    alert = service.fire(signal()).alert
    status, body = call(
        bp_module.alerts_ack, "POST", "alerts/x/ack", route={"id": alert.id}, body={"who": "a"}
    )
    assert status == 400 and body["error"]["message"].startswith("request body: who:")


def test_resolve_by_hand_notifies_resolved(env, service: AlertService) -> None:
    alert = service.fire(signal()).alert
    status, body = call(
        bp_module.alerts_resolve,
        "POST",
        "alerts/x/resolve",
        route={"id": alert.id},
        body={"by": "bob", "comment": "fixed the feature pipeline"},
    )
    assert status == 200 and (body["state"], body["resolvedBy"]) == ("resolved", "bob")
    conditions = [b["data"]["essentials"]["monitorCondition"] for b in env["hook"].bodies]
    assert conditions == ["Fired", "Resolved"]


def test_report_is_served_as_html_with_a_restrictive_policy(env, service: AlertService) -> None:
    alert = service.fire(signal(report_html="<h1>Drift</h1>")).alert
    request = func.HttpRequest("GET", "http://localhost/api/x", route_params={"id": alert.id}, body=b"")
    response = bp_module.alerts_report(request)
    assert (response.status_code, response.mimetype, response.get_body()) == (
        200,
        "text/html",
        b"<h1>Drift</h1>",
    )
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_alert_without_report_gives_404(env, service: AlertService) -> None:
    alert = service.fire(signal()).alert
    assert call(bp_module.alerts_report, "GET", "x", route={"id": alert.id}) == (
        404,
        {"error": {"status": 404, "message": f"alert {alert.id} has no report"}},
    )


SILENCE = {
    "matchers": [{"name": "endpoint", "value": "churn-prod"}],
    "duration": "2h",
    "createdBy": "alice",
    "comment": "retraining churn model",
}


def test_silence_is_created_listed_and_mutes_alerts(env, service: AlertService) -> None:
    status, created = call(bp_module.silences, "POST", "silences", body=SILENCE)
    assert status == 201 and created["status"]["state"] == "active"
    service.fire(signal())
    assert env["hook"].requests == []
    status, listed = call(bp_module.silences, "GET", "silences", params={"state": "active"})
    assert [s["id"] for s in listed["silences"]] == [created["id"]]


def test_a_stored_silence_that_no_longer_parses_is_listed_as_unreadable_with_the_reason(env) -> None:
    from azure.storage.blob import ContainerClient

    status, created = call(bp_module.silences, "POST", "silences", body=SILENCE)
    container = ContainerClient.from_connection_string(env["settings"]["AzureWebJobsStorage"],
                                                       env["settings"]["MODELWATCH_STATE_CONTAINER"])
    stored = json.loads(container.download_blob(f"silences/{created['id']}.json").readall())
    stored["matchers"] = [{"name": "deployment", "value": "(?!blue).*", "isRegex": True}]  # RE2 refuses lookahead
    container.upload_blob("silences/sil-lookahead.json", json.dumps({**stored, "id": "sil-lookahead"}).encode())
    status, listed = call(bp_module.silences, "GET", "silences")
    assert status == 200 and [s["id"] for s in listed["silences"]] == [created["id"]]
    [unreadable] = listed["unreadable"]
    assert unreadable["id"] == "sil-lookahead" and "(?!blue)" in unreadable["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "request body: not valid JSON"),
        ({**SILENCE, "createdBy": ""}, "request body: createdBy: String should have at least 1 character"),
        ({k: v for k, v in SILENCE.items() if k != "duration"}, "give exactly one of endsAt"),
        (
            {**SILENCE, "matchers": [{"name": "rule", "value": ".*", "isRegex": True}]},
            "would silence every alert",
        ),
        ({**SILENCE, "matchers": [{"name": "severity", "value": "high"}]}, "severity must be one of"),
        ({**SILENCE, "duration": "soon"}, "duration: expected a duration"),
        ({**SILENCE, "duration": "99999999999d"}, "duration: "),
        ({**SILENCE, "duration": "3000000d"}, "duration: "),
        ({**SILENCE, "startsAt": "9999-12-31T23:00:00Z"}, "duration: "),
    ],
)
def test_bad_silence_is_400_saying_what_is_wrong(env, body: Any, message: str) -> None:
    status, answer = call(bp_module.silences, "POST", "silences", body=body)
    assert status == 400 and message in answer["error"]["message"]


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_a_body_nested_too_deep_is_400_naming_the_depth(env, depth: int) -> None:
    body = b'{"matchers": ' + b"[" * depth + b"]" * depth + b"}"
    status, answer = call(bp_module.silences, "POST", "silences", body=body)
    assert status == 400 and "nested" in answer["error"]["message"] and "64" in answer["error"]["message"]


def test_an_ack_body_nested_too_deep_is_400(env, service: AlertService) -> None:
    alert = service.fire(signal()).alert
    body = b"[" * 5000 + b"]" * 5000
    status, answer = call(bp_module.alerts_ack, "POST", "x", body=body, route={"id": alert.id})
    assert status == 400 and "nested" in answer["error"]["message"]


def test_a_huge_silence_body_is_400_naming_the_field(env) -> None:
    status, answer = call(bp_module.silences, "POST", "silences", body={**SILENCE, "comment": "x" * 5_000_000})
    assert status == 400 and "comment" in answer["error"]["message"]


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=x)x", r"a{1001}", r"(?<!a)b"])
def test_a_matcher_pattern_re2_cannot_compile_is_400_naming_it(env, pattern: str) -> None:
    body = {**SILENCE, "matchers": [{"name": "endpoint", "value": pattern, "isRegex": True}]}
    status, answer = call(bp_module.silences, "POST", "silences", body=body)
    assert status == 400 and "matchers.0" in answer["error"]["message"] and pattern in answer["error"]["message"]


def test_a_catastrophic_pattern_is_accepted_and_matched_in_linear_time(env, service: AlertService) -> None:
    body = {**SILENCE, "matchers": [{"name": "endpoint", "value": "(x+x+)+y", "isRegex": True}]}
    assert call(bp_module.silences, "POST", "silences", body=body)[0] == 201
    fired = service.fire(signal(labels={"endpoint": "x" * 64, "deployment": "green"})).alert
    assert fired.silenced_by == ()  # a backtracking engine would not come back from this in any lifetime


def test_deleting_a_silence_expires_it_and_keeps_the_record(env) -> None:
    _, created = call(bp_module.silences, "POST", "silences", body=SILENCE)
    status, body = call(bp_module.silences_delete, "DELETE", "silences/x", route={"id": created["id"]})
    assert status == 200 and body["status"]["state"] == "expired"
    _, listed = call(bp_module.silences, "GET", "silences", params={"state": "expired"})
    assert [s["id"] for s in listed["silences"]] == [created["id"]]


def test_deleting_an_unknown_silence_is_404_and_a_bad_id_400(env) -> None:
    unknown = "6f1c1d43-3c1e-4a51-9f0e-7b9d1f7f0a11"
    assert call(bp_module.silences_delete, "DELETE", "x", route={"id": unknown})[0] == 404
    assert call(bp_module.silences_delete, "DELETE", "x", route={"id": "abc"}) == (
        400,
        {"error": {"status": 400, "message": "silence id 'abc' is not a UUID"}},
    )


def test_test_endpoint_reports_each_sink(env) -> None:
    status, body = call(bp_module.alerts_test, "POST", "alerts/test", body={"by": "platform-team"})
    assert status == 200 and body["allDelivered"] is True
    assert sorted(d["sink"] for d in body["deliveries"]) == ["blob", "webhook"]
    assert env["hook"].bodies[0]["data"]["alertContext"]["notification"]["kind"] == "test"


def test_test_endpoint_reports_a_failing_sink_as_502(env) -> None:
    env["hook"].script(Reply(500, "receiver broken"))
    status, body = call(bp_module.alerts_test, "POST", "alerts/test")
    failed = [d for d in body["deliveries"] if d["sink"] == "webhook"]
    assert (
        status == 502
        and failed[0]["outcome"] == "retrying"
        and failed[0]["error"] == "HTTP 500: receiver broken"
    )


def test_timer_drains_the_outbox(env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELWATCH_ALERT_DELIVER_INLINE", "false")
    build_alert_service(dict(env["settings"], MODELWATCH_ALERT_DELIVER_INLINE="false")).fire(signal())
    assert env["hook"].requests == []
    bp_module.alerts_outbox_timer(TimerRequest(past_due=False))
    assert len(env["hook"].requests) == 1


def test_bad_setting_gives_500_naming_it_without_the_secret(env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELWATCH_TEAMS_WEBHOOK_URL", "http://teams.example.com/workflows/SECRETSIG")
    status, body = call(bp_module.alerts_list, "GET", "alerts")
    assert (
        status == 500 and "MODELWATCH_TEAMS_WEBHOOK_URL" in body["error"]["message"]
        and "SECRETSIG" not in body["error"]["message"]
    )


def test_routes_methods_and_auth_levels_as_documented() -> None:
    app = func.FunctionApp()
    app.register_functions(bp_module.bp)
    declared = {}
    for function in app.get_functions():
        trigger = function.get_trigger()
        if function.is_http_function():
            methods = sorted(str(m.value if hasattr(m, "value") else m) for m in trigger.methods)
            declared[function.get_function_name()] = (trigger.route, methods, str(trigger.auth_level.value))
        else:
            declared[function.get_function_name()] = (trigger.schedule,)
    assert declared == {
        "alerts_list": ("alerts", ["GET"], "function"),
        "alerts_test": ("alerts/test", ["POST"], "function"),
        "alerts_get": ("alerts/{id}", ["GET"], "function"),
        "alerts_ack": ("alerts/{id}/ack", ["POST"], "function"),
        "alerts_resolve": ("alerts/{id}/resolve", ["POST"], "function"),
        "alerts_report": ("alerts/{id}/report", ["GET"], "function"),
        "silences": ("silences", ["GET", "POST"], "admin"),
        "silences_delete": ("silences/{id}", ["DELETE"], "admin"),
        "alerts_outbox_timer": ("0 */1 * * * *",),
    }


def test_loading_the_blueprint_imports_no_heavy_library() -> None:
    code = (
        "import sys, shared.entrypoints.alerts; heavy = ('pydantic', 'requests', 'httpx', 'azure.storage', "
        "'azure.eventgrid', 'azure.identity'); print([m for m in sys.modules if m.startswith(heavy)])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
