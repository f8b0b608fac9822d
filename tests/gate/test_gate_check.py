"""The evaluation gate on registration, through the real worker, emulator and Azurite: the registered version's
metric against the version serving most traffic, recorded as a `gate` verdict and audit record, a tag on the
model version, and an alert on `fail`.

In the test scenario blue serves credit:1 at 90% and green credit:2 at 10%; credit:3 is registered at +90m.
`with_metrics` gives the versions `auc` properties (model properties are strings, as Azure ML keeps them).
"""

from __future__ import annotations

import pytest
from azure.ai.ml.entities import Model
from azure.core.exceptions import HttpResponseError

from tests.checks.conftest import World
from tests.gate.helpers import (
    firing,
    gate_records,
    model_version,
    only_gate,
    registered,
    with_metrics,
    with_properties,
)


def register(world: World, name: str, version: str, tags: dict | None = None,
             properties: dict | None = None) -> None:
    world.services.checks.azure.ml_client.models.create_or_update(Model(  # type: ignore[attr-defined]
        name=name, version=version, type="custom_model", tags=tags or {}, properties=properties or {},
        path=f"azureml://datastores/workspaceblobstore/paths/models/{name}/{version}"))


def test_credit_3_registered_at_90m_records_a_gate_verdict_against_the_version_serving_most_traffic(
        world: World) -> None:
    with_metrics(world, v1="0.80", v2="0.82", v3="0.81")
    world.advance(minutes=95)
    assert world.run(registered(world, "credit", "3")) == "done"
    record = only_gate(world)
    evidence = record["details"]["evidence"]
    assert (record["decision"], evidence["gate"]) == ("ok", "pass")
    assert evidence["baseline"]["id"] == "credit:1"
    assert (evidence["baseline"]["endpoint"], evidence["baseline"]["deployment"],
            evidence["baseline"]["traffic"]) == ("credit-ep", "blue", 90)
    assert evidence["numbers"] == pytest.approx({"candidate": 0.81, "baseline": 0.80, "threshold": 0.79,
                                                 "difference": 0.01})
    assert evidence["model_id"] == f"{world.workspace_id}/models/credit/versions/3"
    assert (evidence["candidate"]["metric"], evidence["baseline"]["metric"]) == ({"auc": "0.81"}, {"auc": "0.80"})


def test_the_verdict_is_tagged_on_the_model_version(world: World) -> None:
    with_metrics(world, v1="0.80", v3="0.81")
    world.advance(minutes=95)
    world.run(registered(world, "credit", "3"))
    tags = model_version(world, "credit", "3").tags
    assert tags["modelwatch.gate"] == "pass"
    assert "credit:1" in tags["modelwatch.gate.detail"]


def test_tagging_keeps_the_versions_other_tags_properties_and_creation_time(world: World) -> None:
    with_metrics(world, v1="0.80", v3="0.81")
    world.advance(minutes=95)
    before = model_version(world, "credit", "3")
    world.advance(minutes=5)
    world.run(registered(world, "credit", "3"))
    after = model_version(world, "credit", "3")
    assert after.tags == {**before.tags, "modelwatch.gate": "pass", "modelwatch.gate.detail": after.tags[
        "modelwatch.gate.detail"]}
    assert (after.properties, after.path) == (before.properties, before.path)
    assert after.creation_context.created_at == before.creation_context.created_at


def test_the_registration_job_returns_both_the_reference_and_the_gate(world: World) -> None:
    with_metrics(world, v1="0.80", v3="0.81")
    world.advance(minutes=95)
    world.run(registered(world, "credit", "3"))
    [done] = [r for r in world.audit() if r["kind"] == "job" and r["decision"] == "done"]
    outcome = done["details"]["outcome"]
    assert outcome["reference"]["reference"] == "ready"
    assert outcome["gate"]["status"] == "pass"


def test_a_candidate_worse_than_the_margin_fails_and_alerts(world: World) -> None:
    with_metrics(world, v1="0.80", v3="0.76")
    world.advance(minutes=95)
    world.run(registered(world, "credit", "3"))
    assert (only_gate(world)["decision"], only_gate(world)["details"]["evidence"]["gate"]) == ("alert", "fail")
    [alert] = firing(world, "model-gate-failed")
    assert (alert.severity.value, alert.labels) == ("Sev3", {"model": "credit"})
    assert alert.targets == (f"{world.workspace_id}/models/credit/versions/3",)
    assert (alert.evidence["candidate"], alert.evidence["baseline"]) == ("credit:3", "credit:1")
    assert alert.evidence["numbers"] == pytest.approx({"candidate": 0.76, "baseline": 0.80, "threshold": 0.79,
                                                       "difference": -0.04})
    assert model_version(world, "credit", "3").tags["modelwatch.gate"] == "fail"


def test_a_passing_candidate_raises_no_alert(world: World) -> None:
    with_metrics(world, v1="0.80", v3="0.81")
    world.advance(minutes=95)
    world.run(registered(world, "credit", "3"))
    assert firing(world, "model-gate-failed") == []


def test_a_candidate_without_metric_properties_is_no_metrics(world: World) -> None:
    with_metrics(world, v1="0.80")
    world.advance(minutes=95)
    world.run(registered(world, "credit", "3"))
    record = only_gate(world)
    assert (record["decision"], record["details"]["evidence"]["gate"]) == ("insufficient_data", "no_metrics")
    assert model_version(world, "credit", "3").tags["modelwatch.gate"] == "no_metrics"
    assert firing(world, "model-gate-failed") == []


def test_no_metrics_says_the_training_jobs_metrics_could_not_be_read(world: World) -> None:
    with_metrics(world, v1="0.80")  # credit:2 names its training job credit-train-2 and has no properties
    world.run(registered(world, "credit", "2"))
    record = only_gate(world)
    assert record["details"]["evidence"]["gate"] == "no_metrics"
    assert "credit-train-2" in record["details"]["summary"] and "MLflow" in record["details"]["summary"]


def test_a_model_no_deployment_serves_is_no_baseline(world: World) -> None:
    register(world, "fraud", "1", properties={"auc": "0.91"})
    world.run(registered(world, "fraud", "1"))
    record = only_gate(world)
    assert (record["decision"], record["details"]["evidence"]["gate"]) == ("no_reference", "no_baseline")
    assert record["details"]["evidence"]["baseline"] is None
    assert model_version(world, "fraud", "1").tags["modelwatch.gate"] == "no_baseline"


def test_the_baseline_is_never_the_candidate_itself(world: World) -> None:
    with_metrics(world, v1="0.80", v2="0.70")
    world.run(registered(world, "credit", "1"))  # blue serves credit:1 at 90%: the baseline is green's credit:2
    evidence = only_gate(world)["details"]["evidence"]
    assert (evidence["baseline"]["id"], evidence["baseline"]["deployment"]) == ("credit:2", "green")


def test_a_deployment_without_live_traffic_is_no_baseline(world: World) -> None:
    with_metrics(world, v1="0.80", v2="0.82")
    world.services.checks.azure.ml.set_traffic("credit-ep", {"blue": 100, "green": 0})
    world.run(registered(world, "credit", "1"))  # the only other version, credit:2, is on green at 0%
    record = only_gate(world)
    assert record["details"]["evidence"]["gate"] == "no_baseline"
    assert "credit-ep/green (credit:2 at 0%)" in record["details"]["summary"]


def test_the_version_declares_its_own_metric_direction_and_margin(world: World) -> None:
    with_properties(world, v1={"auc": "0.80", "logloss": "0.40"})
    register(world, "credit", "7", properties={"auc": "0.80", "logloss": "0.45"},
             tags={"modelwatch.gate.metric": "logloss", "modelwatch.gate.direction": "lower",
                   "modelwatch.gate.margin": "5%"})
    world.run(registered(world, "credit", "7"))
    evidence = only_gate(world)["details"]["evidence"]
    assert (evidence["metric"], evidence["direction"], evidence["margin"], evidence["margin_kind"]) == (
        "logloss", "lower", 0.05, "relative")
    assert evidence["spec_sources"] == {"metric": "tag", "direction": "tag", "margin": "tag"}
    assert evidence["gate"] == "fail"  # 0.45 > 0.40 + 5% of 0.40 = 0.42


def test_an_unusable_declaration_is_named_and_the_setting_used(world: World) -> None:
    with_metrics(world, v1="0.80")
    register(world, "credit", "7", properties={"auc": "0.81"}, tags={"modelwatch.gate.direction": "up"})
    world.run(registered(world, "credit", "7"))
    record = only_gate(world)
    assert record["details"]["evidence"]["direction"] == "higher"
    assert "modelwatch.gate.direction='up'" in record["details"]["summary"]


def test_settings_give_the_gate_when_the_version_declares_nothing(world: World) -> None:
    with_metrics(world, v1="0.80", v3="0.81")
    world.advance(minutes=95)
    world.run(registered(world, "credit", "3"))
    evidence = only_gate(world)["details"]["evidence"]
    assert (evidence["metric"], evidence["direction"], evidence["margin"]) == ("auc", "higher", 0.01)
    assert evidence["spec_sources"] == {"metric": "setting", "direction": "setting", "margin": "setting"}


def test_a_tag_that_cannot_be_written_is_recorded_and_the_job_retried(world: World) -> None:
    with_metrics(world, v1="0.80", v3="0.81")
    world.advance(minutes=95)
    world.emulator.control("POST", "faults", {"route": "/models/credit/versions/3$", "method": "PUT",
                                              "kind": "429", "retry_after": 0, "count": 20}, expect=201)
    with pytest.raises(HttpResponseError) as raised:
        world.run(registered(world, "credit", "3"))
    assert "failed: gate; completed: reference" in raised.value.__notes__
    record = only_gate(world)
    assert record["details"]["evidence"]["gate"] == "pass"
    assert record["details"]["evidence"]["tag"]["written"] is False
    assert world.services.state.get_json("references/credit/3.json")["status"] == "ready"


def test_a_failing_reference_does_not_hide_the_gate(world: World) -> None:
    with_metrics(world, v1="0.80", v3="0.81")
    world.advance(minutes=95)
    # the reference's last step lists the endpoints (to drift-check the version's deployments at once): it fails
    # (one attempt: this world's SDK makes no retries, and the adapter waits out only 409); the gate, which runs
    # next, finds them answering again
    world.emulator.control("POST", "faults", {"route": "/onlineEndpoints$", "method": "GET", "kind": "429",
                                              "retry_after": 0, "count": 1}, expect=201)
    with pytest.raises(HttpResponseError) as raised:
        world.run(registered(world, "credit", "3"))
    assert "failed: reference; completed: gate" in raised.value.__notes__
    assert only_gate(world)["details"]["evidence"]["gate"] == "pass"
    assert len(gate_records(world)) == 1
