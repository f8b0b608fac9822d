"""shared/adapters/azure_clients.py: settings from env, lazy imports, the emulator transport."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shared.adapters.azure_clients import AzureSettings, FakeEntraCredential, SettingsError, credential


def test_importing_the_factory_loads_no_azure_sdk() -> None:
    code = (
        "import sys, shared.adapters.azure_clients; "
        "print(sorted(m for m in sys.modules if m.startswith(('azure.', 'requests'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_settings_from_env_name_every_missing_setting() -> None:
    with pytest.raises(SettingsError) as raised:
        AzureSettings.from_env({"MODELWATCH_SUBSCRIPTION_ID": "s"})
    assert "MODELWATCH_RESOURCE_GROUP" in str(raised.value) and "MODELWATCH_WORKSPACE" in str(raised.value)


def test_settings_from_env_reject_a_non_numeric_retry_setting() -> None:
    env = {
        "MODELWATCH_SUBSCRIPTION_ID": "s",
        "MODELWATCH_RESOURCE_GROUP": "r",
        "MODELWATCH_WORKSPACE": "w",
        "MODELWATCH_AZURE_RETRY_TOTAL": "three",
    }
    with pytest.raises(SettingsError, match="MODELWATCH_AZURE_RETRY_TOTAL"):
        AzureSettings.from_env(env)


def test_local_settings_use_the_fake_credential_and_azure_uses_default_credential() -> None:
    local = AzureSettings("s", "r", "w", emulator_url="http://127.0.0.1:1")
    assert isinstance(credential(local), FakeEntraCredential)
    from azure.identity import DefaultAzureCredential

    assert isinstance(credential(AzureSettings("s", "r", "w")), DefaultAzureCredential)


def test_azure_settings_keep_the_regional_metrics_endpoint() -> None:
    assert (
        AzureSettings("s", "r", "w", location="westeurope").metrics_endpoint
        == "https://westeurope.metrics.monitor.azure.com"
    )
