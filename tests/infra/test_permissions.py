"""The adapter -> RBAC table (tests/infra/permissions.py) covers every adapter method and every SDK call made
outside the adapters, so a new Azure call fails here until someone decides what it needs and grants it."""

from __future__ import annotations

from tests.infra import code_facts
from tests.infra.permissions import ADAPTER_NEEDS, SDK_CALL_NEEDS, arm_action

ML = "Microsoft.MachineLearningServices"


def adapter_methods() -> set[str]:
    return {f"{name}.{method}" for name, cls in code_facts.azure_adapters().items()
            for method in code_facts.public_methods(cls)}


def test_every_public_method_of_every_azure_adapter_is_in_the_table() -> None:
    assert sorted(adapter_methods() - set(ADAPTER_NEEDS)) == []


def test_the_table_names_no_method_the_adapters_no_longer_have() -> None:
    assert sorted(set(ADAPTER_NEEDS) - adapter_methods()) == []


def test_the_adapters_found_include_each_azure_client_kind() -> None:
    """Guards the discovery: the Azure ML, metrics, costs, logs and storage adapters are all recognised."""
    assert {"AzureMLAdapter", "MetricsAdapter", "CostsAdapter", "TrafficLog", "CollectedData", "DataAssets",
            "ScoringAdapter", "AuditLog"} <= set(code_facts.azure_adapters())


def test_every_ml_client_call_outside_the_adapters_is_in_the_table() -> None:
    assert sorted(set(code_facts.sdk_calls_outside_adapters()) - set(SDK_CALL_NEEDS)) == []


def test_arm_paths_map_to_their_rbac_actions() -> None:
    ws = f"/subscriptions/s/resourceGroups/g/providers/{ML}/workspaces/w"
    assert arm_action("GET", f"{ws}/onlineEndpoints") == f"{ML}/workspaces/onlineEndpoints/read"
    assert arm_action("PUT", f"{ws}/onlineEndpoints/ep") == f"{ML}/workspaces/onlineEndpoints/write"
    assert arm_action("POST", f"{ws}/onlineEndpoints/ep/listKeys") == f"{ML}/workspaces/onlineEndpoints/listKeys/action"
    assert arm_action("GET", f"{ws}/models/m/versions/3?api-version=x") == f"{ML}/workspaces/models/versions/read"
    usages = f"/subscriptions/s/providers/{ML}/locations/eastus/usages"
    assert arm_action("GET", usages) == f"{ML}/locations/usages/read"
