"""The pure evaluation gate: non-inferiority of a candidate's declared metric against the baseline's, with a
direction and a margin; strings as model properties hold them; an explicit status when a side has no number."""

from __future__ import annotations

import pytest

from monitors.gate import GateSpec, GateSpecError, judge_gate, parse_margin

AUC = GateSpec("auc", "higher", 0.01)
LOGLOSS = GateSpec("logloss", "lower", 0.02)


def judge(candidate: dict | None, baseline: dict | None, spec: GateSpec = AUC, baseline_id: str | None = "m:1"):
    return judge_gate(candidate, baseline, spec, "m:2", baseline_id)


def test_a_better_candidate_passes() -> None:
    assert judge({"auc": 0.83}, {"auc": 0.80}).status == "pass"


def test_a_candidate_worse_by_less_than_the_margin_passes() -> None:
    assert judge({"auc": 0.795}, {"auc": 0.80}).status == "pass"


def test_a_candidate_exactly_at_the_margin_passes() -> None:
    verdict = judge({"auc": "0.79"}, {"auc": "0.80"})
    assert verdict.status == "pass"
    assert verdict.threshold == pytest.approx(0.79)


def test_a_candidate_worse_by_more_than_the_margin_fails_with_every_number() -> None:
    verdict = judge({"auc": 0.75}, {"auc": 0.80})
    assert verdict.status == "fail"
    assert verdict.numbers() == pytest.approx({"candidate": 0.75, "baseline": 0.80, "threshold": 0.79,
                                               "difference": -0.05})
    assert "0.75" in verdict.reason and "m:1" in verdict.reason


def test_lower_is_better_fails_a_candidate_above_baseline_plus_margin() -> None:
    assert judge({"logloss": 0.45}, {"logloss": 0.40}, LOGLOSS).status == "fail"
    assert judge({"logloss": 0.41}, {"logloss": 0.40}, LOGLOSS).status == "pass"


def test_a_relative_margin_is_a_fraction_of_the_baselines_magnitude() -> None:
    spec = GateSpec("auc", "higher", 0.05, "relative")  # 5% of 0.80 = 0.04
    assert judge({"auc": 0.765}, {"auc": 0.80}, spec).status == "pass"
    assert judge({"auc": 0.755}, {"auc": 0.80}, spec).status == "fail"


def test_property_strings_are_read_as_numbers() -> None:
    verdict = judge({"auc": " 0.81 "}, {"auc": "0.80"})
    assert (verdict.status, verdict.candidate_value, verdict.baseline_value) == ("pass", 0.81, 0.80)


def test_the_metric_name_matches_ignoring_case() -> None:
    assert judge({"AUC": "0.81"}, {"Auc": "0.80"}).status == "pass"


def test_a_candidate_without_the_metric_is_no_metrics_naming_what_it_has() -> None:
    verdict = judge({"accuracy": "0.9"}, {"auc": "0.80"})
    assert verdict.status == "no_metrics"
    assert "'auc'" in verdict.reason and "accuracy" in verdict.reason


def test_a_candidate_without_properties_is_no_metrics() -> None:
    assert judge(None, {"auc": 0.8}).status == "no_metrics"
    assert judge({}, {"auc": 0.8}).status == "no_metrics"


@pytest.mark.parametrize("value", ["n/a", "", "nan", "inf"])
def test_a_property_that_is_not_a_finite_number_is_no_metrics_naming_the_property(value: str) -> None:
    verdict = judge({"auc": value}, {"auc": "0.80"})
    assert verdict.status == "no_metrics"
    assert "property 'auc'" in verdict.reason


def test_no_version_serving_traffic_is_no_baseline() -> None:
    verdict = judge({"auc": "0.81"}, None, baseline_id=None)
    assert verdict.status == "no_baseline"
    assert verdict.candidate_value == 0.81 and verdict.threshold is None


def test_a_baseline_without_the_metric_is_no_baseline() -> None:
    verdict = judge({"auc": "0.81"}, {"f1": "0.7"})
    assert verdict.status == "no_baseline"
    assert "m:1" in verdict.reason


def test_the_rule_is_stated_in_words() -> None:
    assert AUC.rule() == "auc: higher is better; pass when candidate >= baseline - 0.01 (non-inferiority)"
    assert GateSpec("rmse", "lower", 0.02, "relative").rule() == (
        "rmse: lower is better; pass when candidate <= baseline + 2% of |baseline| (non-inferiority)")


def test_a_margin_is_absolute_unless_given_as_a_percentage() -> None:
    assert parse_margin("0.01") == (0.01, "absolute")
    assert parse_margin("2%") == (0.02, "relative")


@pytest.mark.parametrize("text", ["-0.1", "abc", "150%", "nan"])
def test_an_unusable_margin_is_refused(text: str) -> None:
    with pytest.raises(GateSpecError):
        parse_margin(text)


@pytest.mark.parametrize("kwargs", [{"direction": "up"}, {"margin": -1.0}, {"margin_kind": "ratio"},
                                    {"margin": 2.0, "margin_kind": "relative"}])
def test_an_unusable_spec_is_refused(kwargs: dict) -> None:
    with pytest.raises(GateSpecError):
        GateSpec("auc", **kwargs)
