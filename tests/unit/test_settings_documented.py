"""Every setting the code reads is documented in local.settings.sample.json and the README, and the
sample itself is valid for every settings loader."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
README = (ROOT / "README.md").read_text()
SOURCES = [path.read_text() for path in (ROOT / "shared").rglob("*.py")]
USED = sorted({name for text in SOURCES for name in re.findall(r"MODELWATCH_[A-Z0-9_]*[A-Z0-9]", text)})


@pytest.mark.parametrize("name", USED)
def test_setting_is_in_the_sample_file(name: str) -> None:
    assert name in SAMPLE


@pytest.mark.parametrize("name", USED)
def test_setting_is_in_the_readme(name: str) -> None:
    assert name in README


def test_sample_is_valid_for_the_core_settings() -> None:
    from shared.config import load_settings

    assert load_settings(SAMPLE).allowed_workspaces


def test_sample_is_valid_for_the_alert_settings() -> None:
    from shared.alerts.settings import load_settings

    load_settings(SAMPLE)


def test_sample_is_valid_for_the_azure_client_settings() -> None:
    from shared.adapters.azure_clients import AzureSettings

    assert AzureSettings.from_env(SAMPLE).workspace_id in SAMPLE["MODELWATCH_ALLOWED_WORKSPACES"]
