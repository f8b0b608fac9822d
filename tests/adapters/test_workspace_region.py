"""The metrics endpoint is regional (https://{region}.metrics.monitor.azure.com serves only its region's
resources): its region is the workspace's, read once through the MLClient; MODELWATCH_LOCATION overrides it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.azure_clients import AzureSettings
from shared.bootstrap import LazyAzure
from shared.config import SettingsError
from tests.fixtures.emulator import EmulatorHandle

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
ENV = {"MODELWATCH_SUBSCRIPTION_ID": "s", "MODELWATCH_RESOURCE_GROUP": "r", "MODELWATCH_WORKSPACE": "w"}


def in_westeurope(emulator: EmulatorHandle) -> EmulatorHandle:
    return emulator.load(azure={**emulator.scenario["azure"], "location": "westeurope"})


def workspace_reads(emulator: EmulatorHandle) -> int:
    return int(emulator.state()["calls"].get("GET workspace", 0))


def test_without_a_location_setting_the_metrics_client_is_on_the_workspaces_region(emulator: EmulatorHandle) -> None:
    azure = LazyAzure(in_westeurope(emulator).settings(location=""))
    assert azure.location == "westeurope"
    emulator.control("POST", "time/advance", {"minutes": 5})
    counts = azure.metrics.requests_by_status(azure.endpoint_resource_id("credit-ep"), START,
                                              START + timedelta(minutes=5))
    assert set(counts) == {"blue", "green"}


def test_the_workspaces_region_is_read_once(emulator: EmulatorHandle) -> None:
    azure = LazyAzure(in_westeurope(emulator).settings(location=""))
    before = workspace_reads(emulator)
    for _ in range(3):
        assert azure.metrics is azure.metrics and azure.location == "westeurope"
    assert workspace_reads(emulator) == before + 1


def test_a_location_setting_overrides_the_workspaces_region_without_reading_it(emulator: EmulatorHandle) -> None:
    azure = LazyAzure(in_westeurope(emulator).settings(location="northeurope"))
    before = workspace_reads(emulator)
    assert azure.location == "northeurope"
    assert azure.metrics is not None
    assert workspace_reads(emulator) == before


def test_the_location_setting_defaults_to_empty_not_to_a_guessed_region() -> None:
    settings = AzureSettings.from_env(ENV)
    assert settings.location == ""
    with pytest.raises(SettingsError, match="MODELWATCH_LOCATION"):
        _ = settings.metrics_endpoint
    assert AzureSettings.from_env({**ENV, "MODELWATCH_LOCATION": "westeurope"}).metrics_endpoint == (
        "https://westeurope.metrics.monitor.azure.com")
