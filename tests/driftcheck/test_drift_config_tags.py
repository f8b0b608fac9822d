"""A model version's tags tune its drift decision: each tag one setting, a bad one named and ignored."""

from __future__ import annotations

from shared.services.checks.drift import config_of


def test_no_tags_give_the_engines_defaults() -> None:
    declared = config_of({})
    assert declared.config.drift_share == 0.3 and declared.sources == {} and declared.notes == []


def test_the_rule_tag_brings_that_rules_own_defaults_and_is_read_case_insensitively() -> None:
    declared = config_of({"modelwatch.drift.rule": "AzureML"})
    assert declared.config.rule == "azureml" and declared.sources == {"rule": "modelwatch.drift.rule"}
    assert declared.config.categorical_threshold != config_of({}).config.categorical_threshold


def test_thresholds_are_set_per_model_and_their_tags_recorded() -> None:
    tags = {"modelwatch.drift.numeric_threshold": "0.25", "modelwatch.drift.categorical_threshold": "0.2"}
    declared = config_of(tags)
    assert (declared.config.numeric_threshold, declared.config.categorical_threshold) == (0.25, 0.2)
    assert set(declared.sources) == {"numeric_threshold", "categorical_threshold"}


def test_an_unknown_rule_and_a_share_above_one_are_named_and_ignored() -> None:
    declared = config_of({"modelwatch.drift.rule": "strict", "modelwatch.drift.share": "1.5"})
    assert declared.config == config_of({}).config
    assert [n.split("=")[0] for n in declared.notes] == ["tag modelwatch.drift.share", "tag modelwatch.drift.rule"]
