"""Where a probe's live row comes from: the reference profile of the deployment's model version, else the last
input its data collector recorded, else the caller's `sample`; and what a good scoring answer looks like."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from monitors.drift.build import build_profile
from shared.adapters.azure_ml import parse_model_id
from shared.adapters.scoring import ScoringResult
from shared.jobs import Job
from shared.services.probe import judge_live, sample_from_collected, sample_from_profile
from tests.checks.conftest import World
from tests.probe.conftest import SAMPLE, probe


def live(report: dict) -> dict[str, dict]:
    return {s["deployment"]: s for s in report["live"]}


def registered(world: World, model: str, version: str) -> Job:
    """The job a ModelRegistered event becomes: the real reference builder runs on it."""
    return Job(id=f"evt-reg-{model}-{version}", kind="model_registered", workspace_id=world.workspace_id,
               source_event_id=f"reg-{model}-{version}",
               source_event_type="Microsoft.MachineLearningServices.ModelRegistered",
               target={"model": model, "version": version})


def test_the_row_comes_from_the_reference_profile_of_the_model_version_served(
        app: World, register: Callable) -> None:
    register(echo_check_double="echo_check_double")
    assert app.run(registered(app, "credit", "1")) == "done"  # blue serves credit:1; green serves credit:2
    scores = live(probe(body={"sample": {"income": 1, "age": 1}})[2])
    assert scores["blue"]["sample_source"] == "reference_profile"
    assert set(scores["blue"]["sample"]) >= {"income", "age", "region"}
    assert scores["blue"]["status"] == "ok"
    assert scores["green"]["sample_source"] == "request"


def test_a_profile_stored_inline_gives_each_features_median_and_top_category() -> None:
    rng = np.random.default_rng(3)
    profile = build_profile([{"income": rng.normal(50_000, 100, 2_000).round(),
                              "region": np.array(["north"] * 1_500 + ["west"] * 500, dtype=object)}],
                            categorical=["region"]).to_dict()
    row = sample_from_profile({"profile": profile})
    assert row is not None and row["region"] == "north" and abs(row["income"] - 50_000) < 100


def test_without_a_profile_the_last_collected_input_is_the_row(app: World, register: Callable) -> None:
    register(echo_check_double="echo_check_double")
    app.advance(minutes=5)
    app.emulator.control("POST", "collector/flush")
    scores = live(probe(body={"sample": SAMPLE})[2])
    assert {s["sample_source"] for s in scores.values()} == {"collected"}
    assert set(scores["blue"]["sample"]) == {"income", "age", "region"}


def test_with_neither_the_callers_sample_is_the_row(app: World, register: Callable) -> None:
    register(echo_check_double="echo_check_double")
    scores = live(probe(body={"sample": SAMPLE})[2])
    assert {s["sample_source"] for s in scores.values()} == {"request"}
    assert scores["green"]["sample"] == SAMPLE


def test_with_no_row_at_all_the_live_request_is_skipped_saying_why(app: World, register: Callable) -> None:
    register(echo_check_double="echo_check_double")
    _, _, report = probe()
    assert {s["status"] for s in report["live"]} == {"skipped"}
    assert "sample" in report["live"][0]["summary"]
    assert report["status"] == "incomplete"


@pytest.mark.parametrize("model_id, expected", [
    ("/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w/models/credit/"
     "versions/3", ("credit", "3")),
    ("azureml:credit:3", ("credit", "3")),
    ("credit:3", ("credit", "3")),
    (None, None),
    ("azureml://registries/r/models/m", None),
])
def test_the_model_version_is_read_from_either_id_form(model_id: str | None, expected: tuple | None) -> None:
    assert parse_model_id(model_id) == expected


def test_a_profile_without_features_gives_no_row() -> None:
    assert sample_from_profile({"format": "something else"}) is None


def test_a_collector_record_gives_its_last_row_whatever_its_data_form() -> None:
    rows = [{"a": 1}, {"a": 2}]
    lines = [json.dumps({"data": rows}), json.dumps({"data": json.dumps({"columns": ["a"], "data": [[3]]})}), ""]
    assert sample_from_collected("\n".join(lines[:1]).encode()) == {"a": 2}
    assert sample_from_collected("\n".join(lines).encode()) == {"a": 3}
    assert sample_from_collected(b"not json\n") is None


def answer(body: object = None, status: int | None = 200, served_by: str | None = "blue",
           text: str | None = None) -> ScoringResult:
    return ScoringResult("blue", status, 12.5, served_by=served_by, body=body, text=text,
                         error=None if status else "ConnectionError: refused")


def test_one_json_output_for_the_one_row_from_the_asked_deployment_is_ok() -> None:
    assert judge_live(answer([{"score": 0.3}]), 1)[0] == "ok"
    assert judge_live(answer({"predictions": [0.3]}), 1)[0] == "ok"


@pytest.mark.parametrize("result, status, words", [
    (answer([{"score": 0.3}, {"score": 0.4}]), "bad_shape", "2 output"),
    (answer(None, text="<html>oops"), "bad_shape", "not JSON"),
    (answer({"score": 0.3}), "bad_shape", "one output per row"),
    (answer([{"score": 0.3}], served_by="green"), "error", "answered by 'green'"),
    (answer({"message": "boom"}, status=500), "error", "HTTP 500: boom"),
    (answer(status=None), "error", "no answer"),
])
def test_a_wrong_answer_is_named(result: ScoringResult, status: str, words: str) -> None:
    got, summary, _ = judge_live(result, 1)
    assert got == status and words in summary, summary
