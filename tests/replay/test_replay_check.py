"""The replay check on the emulator: each deployment's answers to its model's golden set (a data asset in Azurite
named by the model version's tag) against the outputs recorded at evaluation, through the real worker, MLClient,
blob client and scoring URI."""

from __future__ import annotations

from shared.alerts.model import AlertState
from shared.jobs import Job
from tests.checks.conftest import World
from tests.replay.conftest import latest, replay, replay_job, set_skew, skew_alerts


def test_a_healthy_deployment_answers_its_golden_set_as_recorded_and_passes(world: World) -> None:
    verdict = replay(world, "blue")
    assert verdict.status == "ok", verdict.summary
    evidence = verdict.evidence
    assert (evidence["outcome"], evidence["rows_compared"], evidence["mismatches"]) == ("pass", 200, 0)
    assert evidence["max_score_diff"] == 0.0


def test_the_verdict_names_the_model_version_the_golden_set_and_the_rule(world: World) -> None:
    evidence = replay(world, "blue").evidence
    assert (evidence["model"], evidence["version"]) == ("credit", "1")
    assert evidence["golden_set"] == "azureml:credit-golden:1"
    assert evidence["golden_set_source"]["data_asset"] == "credit-golden:1" and evidence["golden_set_source"]["sha256"]
    assert (evidence["scores"], evidence["labels"], evidence["tolerance"], evidence["max_mismatch"]) == (
        ["score"], ["label"], 1e-6, 0.01)
    assert "labels (label) exactly" in evidence["rule"]


def test_a_skewed_deployment_in_the_scenario_is_caught_by_the_replay(world: World) -> None:
    verdict = replay(world, "green")
    assert verdict.status == "alert"
    evidence = verdict.evidence
    assert evidence["outcome"] == "fail" and evidence["mismatch_rate"] > 0.5
    assert evidence["score_mismatches"] == evidence["mismatches"] > 100


def test_a_failed_replay_lists_the_worst_rows_largest_score_difference_first(world: World) -> None:
    worst = replay(world, "green").evidence["worst_rows"]
    assert len(worst) == 10
    diffs = [row["score_diff"] for row in worst]
    assert diffs == sorted(diffs, reverse=True) and diffs[0] > 0.1
    first = worst[0]
    assert set(first["inputs"]) == {"income", "age", "region"}
    assert abs(first["served"]["score"] - first["recorded"]["score"]) == first["score_diff"]


def test_a_failed_replay_fires_the_training_serving_skew_alert_listing_the_worst_rows(world: World) -> None:
    replay(world, "green")
    [alert] = skew_alerts(world)
    assert alert.severity == "Sev2" and alert.labels == {"endpoint": "credit-ep", "deployment": "green"}
    assert alert.description.count("\n- row ") == 5 and "inputs {" in alert.description
    assert len(alert.evidence["worst_rows"]) == 10


def test_only_the_skewed_deployment_raises_the_skew_alert(world: World) -> None:
    replay(world, "blue")
    replay(world, "green")
    assert [a.labels["deployment"] for a in skew_alerts(world)] == ["green"]


def test_a_model_version_without_a_golden_set_is_no_golden_set_and_alerts_nothing(world: World) -> None:
    verdict = replay(world, "plain")
    assert (verdict.status, verdict.evidence["outcome"]) == ("no_reference", "no_golden_set")
    assert "credit:3 names no golden set" in verdict.summary
    assert world.services.alerts.list_alerts() == []


def test_the_skew_alert_clears_once_the_deployment_answers_as_recorded_again(world: World) -> None:
    replay(world, "green")
    set_skew(world, "green", None)  # the fix is deployed
    world.advance(minutes=11)  # past keep-firing
    verdict = replay(world, "green")
    assert verdict.status == "ok"
    assert [a.state for a in skew_alerts(world)] == [AlertState.RESOLVED]


def test_a_tolerance_tag_on_the_model_version_overrides_the_setting(world: World) -> None:
    world.services.checks.azure.ml.set_model_tags("credit", "2", {"modelwatch.golden_set.tolerance": "0.5"})
    evidence = replay(world, "green").evidence  # income / 1000 moves these scores by less than 0.5
    assert (evidence["tolerance"], evidence["score_mismatches"]) == (0.5, 0)


def test_a_loose_score_tolerance_never_excuses_a_label_that_differs(world: World) -> None:
    world.services.checks.azure.ml.set_model_tags("credit", "2", {"modelwatch.golden_set.tolerance": "0.5"})
    verdict = replay(world, "green")
    assert verdict.status == "alert"
    assert verdict.evidence["label_mismatches"] == verdict.evidence["mismatches"] > 0


def test_a_tag_that_cannot_be_used_is_named_and_the_setting_applies(world: World) -> None:
    world.services.checks.azure.ml.set_model_tags("credit", "1", {"modelwatch.golden_set.tolerance": "-1"})
    verdict = replay(world, "blue")
    assert verdict.evidence["tolerance"] == 1e-6
    assert "modelwatch.golden_set.tolerance='-1' ignored" in verdict.summary


def test_a_golden_set_that_cannot_be_read_is_an_error_naming_it(world: World) -> None:
    world.services.checks.azure.ml.set_model_tags("credit", "1", {"modelwatch.golden_set": "azureml:no-such:1"})
    verdict = replay(world, "blue")
    assert (verdict.status, verdict.evidence["outcome"]) == ("error", "error")
    assert "azureml:no-such:1" in verdict.summary and skew_alerts(world) == []


def test_a_deployment_that_fails_every_request_is_an_error_not_a_pass(world: World) -> None:
    world.emulator.control("POST", "deployments/credit-ep/blue/behaviour", {"error_rate": 1.0})
    verdict = replay(world, "blue")
    assert (verdict.status, verdict.evidence["outcome"]) == ("error", "error")
    assert "only 0 of 200 rows were answered" in verdict.summary and skew_alerts(world) == []


def test_a_replay_is_one_check_job_of_the_worker_with_its_audit_record(world: World) -> None:
    job: Job = replay_job(world, "blue")
    world.run(job)
    [record] = [r for r in world.audit() if r["kind"] == "check" and r["details"]["job_id"] == job.id]
    assert record["decision"] == "ok" and record["details"]["check"] == "replay"
    assert latest(world, "blue").evidence["replay"]["requests"] >= 20
