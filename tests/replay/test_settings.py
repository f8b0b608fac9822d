"""The replay's declaration: settings MODELWATCH_REPLAY_TOLERANCE / MODELWATCH_REPLAY_MAX_MISMATCH, overridden per
model version by tags (`modelwatch.golden_set.tolerance`, `.max_mismatch`, `.scores`, `.labels`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.config import CheckSettings, SettingsError, load_settings
from shared.services.checks.replay import spec_of

SAMPLE = json.loads((Path(__file__).resolve().parents[2] / "local.settings.sample.json").read_text())["Values"]


def test_the_settings_are_read() -> None:
    checks = load_settings({**SAMPLE, "MODELWATCH_REPLAY_TOLERANCE": "0.001",
                            "MODELWATCH_REPLAY_MAX_MISMATCH": "0.05"}).checks
    assert (checks.replay_tolerance, checks.replay_max_mismatch) == (0.001, 0.05)


@pytest.mark.parametrize(("name", "value"), [("MODELWATCH_REPLAY_TOLERANCE", "-1"),
                                             ("MODELWATCH_REPLAY_MAX_MISMATCH", "1.5")])
def test_a_setting_out_of_range_is_refused_naming_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({**SAMPLE, name: value})


def test_without_tags_the_settings_and_the_score_and_label_columns_apply() -> None:
    spec, notes = spec_of({}, CheckSettings(replay_tolerance=0.01, replay_max_mismatch=0.02))
    assert (spec.scores, spec.labels, spec.tolerance, spec.max_mismatch, notes) == (
        ("score",), ("label",), 0.01, 0.02, [])


def test_tags_name_the_output_columns_and_an_empty_tag_means_none() -> None:
    spec, _ = spec_of({"modelwatch.golden_set.scores": "p_default, p_fraud", "modelwatch.golden_set.labels": ""},
                      CheckSettings())
    assert (spec.scores, spec.labels) == (("p_default", "p_fraud"), ())


def test_tags_override_the_thresholds() -> None:
    spec, _ = spec_of({"modelwatch.golden_set.tolerance": "0.001", "modelwatch.golden_set.max_mismatch": "0.1"},
                      CheckSettings())
    assert (spec.tolerance, spec.max_mismatch) == (0.001, 0.1)


def test_a_tag_that_is_not_a_usable_number_is_named_and_ignored() -> None:
    spec, notes = spec_of({"modelwatch.golden_set.max_mismatch": "lots"}, CheckSettings())
    assert spec.max_mismatch == 0.01
    assert notes and "modelwatch.golden_set.max_mismatch='lots' ignored" in notes[0]
