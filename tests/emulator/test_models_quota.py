"""Models, quota and VM sizes through the real MLClient; registering a model raises ModelRegistered."""

from __future__ import annotations

from typing import Any

from azure.ai.ml.entities import Model

from tests.emulator.receiver import Receiver
from tests.fixtures.emulator import EmulatorHandle


def test_models_list_shows_each_container_with_its_latest_version(ml: Any) -> None:
    assert {(m.name, m.latest_version) for m in ml.models.list()} == {("credit", "2")}


def test_model_versions_list_and_get(ml: Any) -> None:
    assert sorted(m.version for m in ml.models.list(name="credit")) == ["1", "2"]
    model = ml.models.get("credit", version="2")
    assert (model.name, model.version, model.type) == ("credit", "2", "custom_model")


def test_registering_a_model_version_delivers_model_registered(
    ml: Any, emulator: EmulatorHandle, receiver: Receiver
) -> None:
    emulator.control(
        "POST",
        "subscriptions",
        {
            "name": "models",
            "endpoint": receiver.url,
            "included_event_types": ["Microsoft.MachineLearningServices.ModelRegistered"],
        },
        expect=201,
    )
    model = Model(
        name="credit",
        version="5",
        type="custom_model",
        tags={"stage": "candidate"},
        path="azureml://datastores/workspaceblobstore/paths/models/credit/5",
    )
    assert ml.models.create_or_update(model).version == "5"
    [delivery] = receiver.wait_for(1)
    [event] = delivery.body
    assert event["eventType"] == "Microsoft.MachineLearningServices.ModelRegistered"
    assert event["subject"] == "models/credit:5"
    assert event["topic"] == emulator.settings().workspace_id
    assert event["data"]["ModelTags"] == {"stage": "candidate"}


def test_list_usage_reports_vcpus_per_vm_family_under_camel_case_names(ml: Any) -> None:
    usages = {
        u.__dict__["name"]["value"]: u for u in ml.compute.list_usage() if u.type.endswith("vmFamily/usages")
    }
    dsv2, fsv2 = usages["standardDSv2Family"], usages["standardFSv2Family"]
    assert (dsv2.__dict__["currentValue"], dsv2.limit) == (8, 64)  # 2 x Standard_DS3_v2
    assert (fsv2.__dict__["currentValue"], fsv2.limit) == (4, 24)  # 1 x Standard_F4s_v2
    assert dsv2.current_value is None  # the azure-ai-ml 1.35.2 quirk callers must read around


def test_list_sizes_reports_cores_memory_and_price(ml: Any) -> None:
    sizes = {s.name: s.__dict__ for s in ml.compute.list_sizes()}
    ds3 = sizes["Standard_DS3_v2"]
    assert (ds3["vCPUs"], ds3["memoryGB"], ds3["family"]) == (4, 14.0, "standardDSv2Family")
    assert ds3["estimatedVMPrices"]["values"][0]["retailPrice"] == 0.293
