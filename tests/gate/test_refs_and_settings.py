"""How the gate reads a deployment's model reference, and its three settings."""

from __future__ import annotations

import pytest

from shared.config import SettingsError, load_settings
from shared.services.checks.gate import parse_model_ref

WORKSPACE = ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws")


@pytest.mark.parametrize("ref", [
    f"{WORKSPACE}/models/credit-default/versions/1",
    f"azureml:{WORKSPACE}/models/credit-default/versions/1",
    "azureml://registries/shared/models/credit-default/versions/1",
    "credit-default:1",
    "azureml:credit-default:1",
])
def test_a_versioned_model_reference_gives_name_and_version(ref: str) -> None:
    assert parse_model_ref(ref) == ("credit-default", "1")


@pytest.mark.parametrize("ref", ["azureml:credit-default@latest", "credit-default", "", None])
def test_a_reference_naming_no_version_gives_none(ref: str | None) -> None:
    assert parse_model_ref(ref) is None


def settings(**env: str):
    return load_settings({"AzureWebJobsStorage": "UseDevelopmentStorage=true",
                          "MODELWATCH_ALLOWED_WORKSPACES": WORKSPACE, **env}).checks


def test_the_gate_defaults_to_auc_higher_within_0_01() -> None:
    checks = settings()
    assert (checks.gate_metric, checks.gate_direction, checks.gate_margin, checks.gate_margin_kind) == (
        "auc", "higher", 0.01, "absolute")


def test_a_percentage_margin_is_relative() -> None:
    checks = settings(MODELWATCH_GATE_MARGIN="2%", MODELWATCH_GATE_METRIC="rmse", MODELWATCH_GATE_DIRECTION="lower")
    assert (checks.gate_metric, checks.gate_direction, checks.gate_margin, checks.gate_margin_kind) == (
        "rmse", "lower", 0.02, "relative")


@pytest.mark.parametrize(("name", "value"), [("MODELWATCH_GATE_MARGIN", "a lot"), ("MODELWATCH_GATE_MARGIN", "-1"),
                                             ("MODELWATCH_GATE_DIRECTION", "up")])
def test_an_unusable_gate_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        settings(**{name: value})
    assert name in raised.value.problems
