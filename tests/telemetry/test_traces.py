"""One Event Grid event, one trace: from the delivery through intake, the queue and the worker to each verdict,
with the attributes an operator filters on, the Azure calls each step made, and the metrics the app counts.
(What ran: see the `run` fixture in conftest.py.)"""

from __future__ import annotations

from typing import Any

from tests.telemetry.conftest import DEPLOYMENT, ENDPOINT, Run

AZURE_CLIENT_SCOPE = "azure.core"


def one(spans: list[dict[str, Any]], name: str, **attributes: Any) -> dict[str, Any]:
    found = [s for s in spans if s["name"] == name
             and all(s["attributes"].get(f"modelwatch.{k}") == v for k, v in attributes.items())]
    assert len(found) == 1, (name, attributes, [s["name"] for s in spans])
    return found[0]


def descendants(spans: list[dict[str, Any]], root: dict[str, Any], *, same_invocation: bool = False
                ) -> list[dict[str, Any]]:
    """Spans under `root`; with `same_invocation`, not those under a later invocation (a job it enqueued)."""
    by_id = {s["span_id"]: s for s in spans}
    out = []
    for span in spans:
        parent = span["parent_id"]
        while parent is not None and parent in by_id:
            if parent == root["span_id"]:
                out.append(span)
                break
            if same_invocation and by_id[parent]["kind"] in ("CONSUMER", "SERVER"):
                break
            parent = by_id[parent]["parent_id"]
    return out


def test_one_event_makes_one_trace_from_intake_to_job_to_verdict(run: Run) -> None:
    trace = run.trace_of("deployment_written")
    names = [s["name"] for s in trace]
    assert {"on_resource_event", "intake", "job_worker", "job deployment_changed", "check slo"} <= set(names)
    [root] = [s for s in trace if s["parent_id"] is None]
    assert root["name"] == "on_resource_event" and root["kind"] == "CONSUMER"


def test_the_worker_continues_the_intake_span_across_the_queue(run: Run) -> None:
    trace = run.trace_of("deployment_written")
    intake = one(trace, "intake")
    job = one(trace, "job deployment_changed")
    [worker] = [s for s in trace if s["span_id"] == job["parent_id"]]
    assert (worker["name"], worker["parent_id"]) == ("job_worker", intake["span_id"])


def test_jobs_a_job_enqueues_stay_in_the_events_trace(run: Run) -> None:
    trace = run.trace_of("deployment_written")
    changed = one(trace, "job deployment_changed")
    checks = [s for s in trace if s["name"] == "job check"]
    assert {s["attributes"]["modelwatch.deployment"] for s in checks} == {"blue", "green"}
    assert all(s in descendants(trace, changed) for s in checks)


def test_a_verdict_span_carries_check_endpoint_deployment_status_and_job(run: Run) -> None:
    verdict = one(run.trace_of("deployment_written"), "check slo", deployment=DEPLOYMENT)
    attributes = verdict["attributes"]
    assert (attributes["modelwatch.check"], attributes["modelwatch.endpoint"]) == ("slo", ENDPOINT)
    assert attributes["modelwatch.job_kind"] == "check"
    assert attributes["modelwatch.status"] in ("ok", "alert", "insufficient_data")


def test_the_job_span_says_which_job_and_event_it_ran(run: Run) -> None:
    event_id = run.events["deployment_written"]["id"]
    job = one(run.trace_of("deployment_written"), "job deployment_changed")["attributes"]
    assert (job["modelwatch.job_kind"], job["modelwatch.event_id"], job["modelwatch.decision"]) == (
        "deployment_changed", event_id, "done")
    assert (job["modelwatch.endpoint"], job["modelwatch.deployment"]) == (ENDPOINT, DEPLOYMENT)


def test_a_span_counts_the_azure_calls_made_under_it(run: Run) -> None:
    trace = run.trace_of("deployment_written")
    job = one(trace, "job deployment_changed")
    made = [s for s in descendants(trace, job, same_invocation=True)
            if s["kind"] == "CLIENT" and s["scope"].startswith(AZURE_CLIENT_SCOPE)]
    assert job["attributes"]["modelwatch.azure_calls"] == len(made) > 0


def test_the_alert_names_the_event_and_the_trace_that_fired_it(run: Run) -> None:
    event_id = run.events["run_failed"]["id"]
    [alert] = [a for a in run.alerts if a["rule"] == "azureml-run-failed"]
    trace_id = run.trace_of("run_failed")[0]["trace_id"]
    assert alert["evidence"]["origin"] == {"event_id": event_id, "job_id": f"evt-{event_id}",
                                           "job_kind": "run_failed", "trace_id": trace_id}


def test_an_http_invocation_is_a_server_span_with_method_path_and_status(run: Run) -> None:
    span = one(run.spans, "endpoint_rollback")
    assert span["kind"] == "SERVER"
    assert (span["attributes"]["http.request.method"], span["attributes"]["http.response.status_code"]) == (
        "POST", run.statuses[0])
    assert "code=" not in span["attributes"]["url.path"]


def test_checks_and_verdicts_are_counted(run: Run) -> None:
    assert run.counted("modelwatch.checks.run", check="slo") == 2
    assert run.counted("modelwatch.verdicts", check="slo") == 2
    assert run.counted("modelwatch.verdicts", check="run", status="alert") == 1


def test_alerts_fired_are_counted_by_rule(run: Run) -> None:
    assert run.counted("modelwatch.alerts.fired", rule="azureml-run-failed", severity="Sev3") == 1
    assert run.counted("modelwatch.alerts.fired", rule="rollback-canary") == 1


def test_alerts_resolved_are_counted_by_rule(run: Run) -> None:
    assert run.counted("modelwatch.alerts.resolved", rule="rollback-canary") == 1


def test_a_rollback_is_counted_by_action(run: Run) -> None:
    assert run.counted("modelwatch.rollbacks", action="rollback", automatic=False) == 1


def test_dead_letters_and_the_outbox_backlog_are_measured(run: Run) -> None:
    assert run.counted("modelwatch.outbox.dead_letters", sink="webhook") >= 1
    assert [p["value"] for p in run.metrics["modelwatch.outbox.backlog"]] == [0]


def test_the_distro_exports_requests_dependencies_and_metrics_to_the_connection_strings_endpoint(run: Run) -> None:
    kinds = {name.rsplit(".", 1)[-1] for name in run.exported}
    assert {"Request", "RemoteDependency", "Metric"} <= kinds
