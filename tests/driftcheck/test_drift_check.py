"""The drift check per deployment, through the real worker, emulator and Azurite: blue's collected inputs against
the reference of the model version it serves (credit:1, 2,000 training rows), over the last 1 h and 24 h.

The test scenario drifts income (+25,000) and age (spread x2) at +60m; region never drifts. Windows are whole
collector hours ending at the last complete hour, so at +120m the 1 h window is [11:00, 12:00): all drifted.
"""

from __future__ import annotations

import yaml

from tests.checks.conftest import World
from tests.driftcheck.helpers import checks, drift_job, open_alerts, reference_doc, registered
from tests.fixtures.emulator import SCENARIO


def blue_after(world: World, minutes: int) -> dict:
    """Register blue's model at the start, let `minutes` of traffic pass, run blue's drift check; its audit record."""
    world.run(registered(world, "credit", "1"))
    world.advance(minutes=minutes)
    assert world.run(drift_job(world, "blue")) == "done"
    [record] = checks(world, "drift")
    return record


def test_after_the_drift_an_alert_names_income_and_age_and_not_region(world: World) -> None:
    record = blue_after(world, 120)
    assert record["decision"] == "alert"
    [alert] = open_alerts(world, "drift-inputs", "blue")
    assert alert.severity == "Sev3" and alert.labels == {"endpoint": "credit-ep", "deployment": "blue"}
    assert set(alert.evidence["drifted_features"]) == {"income", "age"}
    assert "income" in alert.description and "age" in alert.description and "region" not in alert.description


def test_the_drift_alert_links_the_drift_report(world: World) -> None:
    blue_after(world, 120)
    [alert] = open_alerts(world, "drift-inputs", "blue")
    report = world.services.alerts.report(alert.id)
    assert report.startswith("<!DOCTYPE html>") and "income" in report and "Conventions" in report


def test_before_the_drift_the_verdict_is_ok_and_nothing_fires(world: World) -> None:
    record = blue_after(world, 60)
    assert record["decision"] == "ok"
    assert record["details"]["evidence"]["drifted_features"] == []
    assert world.services.alerts.list_alerts(endpoint="credit-ep") == []


def test_one_drift_alert_per_deployment_however_many_windows_and_runs(world: World) -> None:
    blue_after(world, 120)
    world.advance(minutes=60)
    world.run(drift_job(world, "blue", tag="2"))
    assert len(open_alerts(world, "drift-inputs", "blue")) == 1


def test_a_deployment_whose_model_has_no_reference_gets_one_sev4_alert(world: World) -> None:
    world.advance(minutes=60)
    world.run(drift_job(world, "blue"))
    world.run(drift_job(world, "blue", tag="2"))
    [alert] = open_alerts(world, "drift-no-reference", "blue")
    assert alert.severity == "Sev4" and "credit:1" in alert.description
    assert open_alerts(world, "drift-inputs", "blue") == []
    assert [r["decision"] for r in checks(world, "drift")] == ["no_reference", "no_reference"]


def test_no_reference_asks_for_the_reference_to_be_built_and_then_judges(world: World) -> None:
    world.advance(minutes=120)
    world.run(drift_job(world, "blue"))
    ran = world.run_all()  # the build job, then the drift check the new reference asks for
    assert [j.kind for j in ran] == ["model_registered", "check"]
    assert reference_doc(world, "credit", "1")["inputs"]["source"] == "model_tag"
    assert [r["decision"] for r in checks(world, "drift")] == ["no_reference", "alert"]
    assert open_alerts(world, "drift-inputs", "blue")
    [cleared] = open_alerts(world, "drift-no-reference", "blue")
    assert cleared.state == "open"  # cleared conditions resolve only after keep-firing (10 min)


def low_traffic(world: World) -> None:
    """The test scenario with about 20 requests an hour: in its first hour blue collects fewer rows than any
    decision needs (min_rows 30)."""
    scenario = yaml.safe_load(SCENARIO.read_text())
    scenario["endpoints"][0]["requests_per_minute"] = 0.3
    world.emulator.load(endpoints=scenario["endpoints"])


def test_insufficient_data_is_audited_not_alerted(world: World) -> None:
    low_traffic(world)
    record = blue_after(world, 60)
    assert record["decision"] == "insufficient_data"
    windows = record["details"]["evidence"]["windows"]
    assert all(w["rows"] < 30 for w in windows) and {w["window"] for w in windows} == {"1h", "1d"}
    assert world.services.alerts.list_alerts(endpoint="credit-ep") == []


def test_the_evidence_says_what_the_verdict_was_computed_from(world: World) -> None:
    evidence = blue_after(world, 120)["details"]["evidence"]
    reference = reference_doc(world, "credit", "1")["inputs"]
    assert (evidence["model"], evidence["version"]) == ("credit", "1")
    assert (evidence["endpoint"], evidence["deployment"]) == ("credit-ep", "blue")
    assert evidence["reference"]["profile_hash"] == reference["profile_hash"]
    assert evidence["reference"]["content_hash"] == reference["content_hash"]
    inputs = {w["window"]: w for w in evidence["windows"] if w["collection"] == "model_inputs"}
    assert (inputs["1h"]["start"], inputs["1h"]["end"]) == ("2024-05-01T11:00:00+00:00", "2024-05-01T12:00:00+00:00")
    assert inputs["1d"]["start"] == "2024-04-30T12:00:00+00:00"
    assert 0 < inputs["1h"]["rows"] < inputs["1d"]["rows"] and inputs["1h"]["blobs"] > 0
    assert inputs["1h"]["features"]["income"]["n_cur"] == inputs["1h"]["rows"]
    assert evidence["thresholds"]["numeric_threshold"] == 0.1
    assert evidence["conventions"]["psi"] and evidence["conventions"]["settings"]


def test_prediction_drift_is_judged_against_the_first_window_of_collected_outputs(world: World) -> None:
    evidence = blue_after(world, 120)["details"]["evidence"]
    baseline = evidence["prediction_baseline"]
    assert baseline["source"] == "collected"
    assert (baseline["provenance"]["start"], baseline["provenance"]["end"]) == (
        "2024-05-01T10:00:00+00:00", "2024-05-01T11:00:00+00:00")
    outputs = [w for w in evidence["windows"] if w["collection"] == "model_outputs"]
    assert {w["window"] for w in outputs} == {"1h", "1d"}
    assert "score" in evidence["drifted_outputs"]


def tag_credit_1(world: World, tags: dict[str, str]) -> None:
    world.services.checks.azure.ml.set_model_tags("credit", "1", tags)


def test_a_model_version_tagged_with_a_drift_share_of_one_does_not_flag_two_drifted_inputs_of_three(world: World
                                                                                                     ) -> None:
    tag_credit_1(world, {"modelwatch.drift.share": "1.0"})  # every judged input must drift
    evidence = blue_after(world, 120)["details"]["evidence"]
    inputs = [w["dataset"] for w in evidence["windows"] if w["collection"] == "model_inputs"]
    assert inputs and all(d["threshold"] == 1.0 and d["n_drifted"] == 2 and not d["drifted"] for d in inputs)
    assert evidence["drifted_features"] == []  # untagged, income and age (first test)
    assert sorted(evidence["drifted_outputs"]) == ["label", "score"]  # the predictions still drift, all of them
    assert evidence["config_sources"] == {"drift_share": "modelwatch.drift.share"}


def test_a_drift_tag_that_does_not_parse_is_named_and_the_default_decides(world: World) -> None:
    tag_credit_1(world, {"modelwatch.drift.share": "most", "modelwatch.drift.numeric_threshold": "-1"})
    record = blue_after(world, 120)
    assert record["decision"] == "alert"
    notes = record["details"]["evidence"]["config_notes"]
    assert len(notes) == 2 and "modelwatch.drift.share='most' ignored" in notes[0]
    assert "modelwatch.drift.numeric_threshold='-1' ignored" in notes[1]
    assert record["details"]["evidence"]["thresholds"]["drift_share"] == 0.3
