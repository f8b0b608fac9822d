"""`POST /api/endpoints/{endpoint}/probe`: the endpoint's checks run now within a time bound, and one live
scoring request per deployment, through the real blueprint, worker-equivalent check runs, emulator and Azurite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.checks.conftest import World
from tests.probe.conftest import SAMPLE, probe
from tests.probe.doubles.raising_check_double import MESSAGE


def by_target(report: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(c["check"], c["deployment"]): c for c in report["checks"]}


def test_probe_answers_every_check_for_every_deployment_and_the_workspace_checks_once(app: World) -> None:
    status, _, report = probe(body={"sample": SAMPLE})
    assert status == 200
    targets = [(c["check"], c["deployment"]) for c in report["checks"]]
    assert len(targets) == len(set(targets))
    assert {("slo", "blue"), ("slo", "green"), ("drift", "blue"), ("drift", "green"), ("quota", None),
            ("cost", None)} <= set(targets)
    assert all(c["status"] and c["summary"] for c in report["checks"])


def test_a_canary_interval_is_never_run_by_a_probe(app: World, register: Callable) -> None:
    register(canary="raising_check_double", echo_check_double="echo_check_double")
    _, _, report = probe(body={"sample": SAMPLE})
    assert {c["check"] for c in report["checks"]} == {"echo_check_double"}


def test_probe_measures_a_live_latency_on_each_deployment_it_targets(app: World, register: Callable) -> None:
    register(echo_check_double="echo_check_double")
    _, _, report = probe(body={"sample": SAMPLE})
    live = {s["deployment"]: s for s in report["live"]}
    assert set(live) == {"blue", "green"}
    for name, score in live.items():
        assert score["status"] == "ok", score
        assert score["served_by"] == name  # the azureml-model-deployment header reached that deployment
        assert score["latency_ms"] > 0
        assert set(score["output"]) == {"score", "label"}


def test_a_probe_of_an_unknown_endpoint_is_404(app: World) -> None:
    status, mimetype, body = probe("no-such-ep")
    assert (status, mimetype) == (404, "application/json")
    assert body["error"]["status"] == 404 and "no-such-ep" in body["error"]["message"]


def test_a_probe_of_an_unknown_deployment_is_404_naming_the_ones_there_are(app: World) -> None:
    status, _, body = probe(deployment="purple")
    assert status == 404
    assert "purple" in body["error"]["message"] and "blue" in body["error"]["message"]


def test_a_check_slower_than_the_bound_is_named_timeout_while_the_others_answer(
        app: World, register: Callable) -> None:
    register(slow_check_double="slow_check_double", echo_check_double="echo_check_double")
    # the slow double waits for the test's release, so any bound runs out on it; 6 s leaves the fast parts
    # (checks, keys, a live request per deployment) ample room on a loaded machine
    status, _, report = probe(body={"sample": SAMPLE}, timeout="6s")
    assert status == 200
    checks = by_target(report)
    assert {checks[("slow_check_double", d)]["status"] for d in ("blue", "green")} == {"timeout"}
    assert {checks[("echo_check_double", d)]["status"] for d in ("blue", "green")} == {"ok"}
    assert {s["status"] for s in report["live"]} == {"ok"}
    assert report["status"] == "incomplete"


def test_azure_answering_500_names_the_failing_check_and_still_returns_the_others(
        app: World, register: Callable, fault: Callable) -> None:
    register(metrics_check_double="metrics_check_double", echo_check_double="echo_check_double")
    fault(route="metrics", kind="500")
    status, _, report = probe(body={"sample": SAMPLE})
    assert status == 200
    checks = by_target(report)
    failing = checks[("metrics_check_double", "blue")]
    assert failing["status"] == "error"
    assert "500" in failing["summary"] or "InternalServerError" in failing["summary"]
    assert checks[("echo_check_double", "blue")]["status"] == "ok"
    assert {s["status"] for s in report["live"]} == {"ok"}


def test_a_check_module_that_does_not_exist_is_an_error_naming_it(app: World, register: Callable) -> None:
    register(absent_check_double="no_such_module")
    _, _, report = probe(body={"sample": SAMPLE})
    entry = by_target(report)[("absent_check_double", "blue")]
    assert entry["status"] == "error" and "no_such_module" in entry["summary"]


def test_a_probe_of_one_deployment_runs_its_checks_and_scores_only_it(app: World, register: Callable) -> None:
    register(echo_check_double="echo_check_double", quota="echo_check_double")
    _, _, report = probe(body={"deployment": "green", "sample": SAMPLE})
    assert set(by_target(report)) == {("echo_check_double", "green"), ("quota", None)}
    assert [s["deployment"] for s in report["live"]] == ["green"]


def test_a_deployment_failing_its_live_request_makes_the_probe_alert(app: World, register: Callable) -> None:
    register(echo_check_double="echo_check_double")
    app.emulator.control("POST", "deployments/credit-ep/green/behaviour", {"error_rate": 1.0})
    _, _, report = probe(body={"sample": SAMPLE})
    live = {s["deployment"]: s for s in report["live"]}
    assert live["green"]["status"] == "error" and "HTTP 500" in live["green"]["summary"]
    assert live["blue"]["status"] == "ok"
    assert report["status"] == "alert"


def test_a_probe_records_its_verdicts_as_a_scheduled_run_does(app: World, register: Callable) -> None:
    register(echo_check_double="echo_check_double")
    probe(body={"sample": SAMPLE})
    latest = {(v.deployment, v.check): v.status for v in app.services.verdicts.for_endpoint("credit-ep")}
    assert latest == {("blue", "echo_check_double"): "ok", ("green", "echo_check_double"): "ok"}
    check_records = [r for r in app.audit() if r["kind"] == "check"]
    assert {r["details"]["check"] for r in check_records} == {"echo_check_double"}


def test_every_probe_is_audited_with_each_answer(app: World, register: Callable) -> None:
    register(echo_check_double="echo_check_double")
    _, _, report = probe(body={"sample": SAMPLE, "by": "alice"})
    probe("no-such-ep")
    records = [r for r in app.audit() if r["kind"] == "probe"]
    assert [r["decision"] for r in records] == [report["status"], "not_found"]
    first = records[0]
    assert first["details"]["probe_id"] == report["probe_id"] and first["details"]["by"] == "alice"
    assert {(c["check"], c["deployment"], c["status"]) for c in first["details"]["checks"]} == {
        ("echo_check_double", "blue", "ok"), ("echo_check_double", "green", "ok")}
    assert {s["deployment"] for s in first["details"]["live"]} == {"blue", "green"}
    assert records[1]["subject"].endswith("onlineEndpoints/no-such-ep")


def test_html_format_is_a_page_that_escapes_names_and_messages(app: World, register: Callable) -> None:
    register(**{"<i>markup</i>": "raising_check_double"})
    status, mimetype, page = probe(body={"sample": SAMPLE}, format="html")
    assert (status, mimetype) == (200, "text/html")
    assert page.startswith("<!DOCTYPE html>")
    assert MESSAGE not in page and "<i>markup" not in page
    assert "&lt;script&gt;alert(&#x27;probe&#x27;)&lt;/script&gt;" in page and "&lt;i&gt;markup" in page


def test_the_caller_may_shorten_the_time_bound_but_never_lengthen_it(app: World, register: Callable) -> None:
    register(echo_check_double="echo_check_double")
    assert probe(body={"sample": SAMPLE}, timeout="5s")[2]["timeout_seconds"] == 5
    assert probe(body={"sample": SAMPLE}, timeout="1h")[2]["timeout_seconds"] == 20  # MODELWATCH_PROBE_TIMEOUT


def test_bad_parameters_and_bodies_are_400_naming_the_field(app: World) -> None:
    for params, body, field in [({"timeout": "soon"}, None, "timeout"), ({"timeout": "0s"}, None, "timeout"),
                                ({"format": "xml"}, None, "format"), ({}, b"{not json", "body"),
                                ({}, {"sample": [1, 2]}, "sample"),
                                ({"deployment": "blue"}, {"deployment": "green"}, "deployment")]:
        status, _, answer = probe(body=body, **params)
        assert status == 400 and answer["error"]["parameter"] == field, (params, body, answer)


def test_a_body_nested_too_deep_is_400_not_500(app: World) -> None:
    status, _, answer = probe(body=b"[" * 1000)
    assert status == 400 and answer["error"]["parameter"] == "body"
