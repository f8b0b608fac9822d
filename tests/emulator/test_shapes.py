"""The emulator's answers have the keys and JSON types of the official example payloads
(skeletons in tests/emulator/examples/, sources in its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from tests.emulator.receiver import Receiver
from tests.fixtures.emulator import EmulatorHandle

EXAMPLES = Path(__file__).parent / "examples"
AUTH = {"Authorization": "Bearer fake-entra.shape-check"}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def mismatches(shape: Any, actual: Any, path: str = "$") -> list[str]:
    """Every place where `actual` lacks a key of `shape` or has another JSON type (null shape = any)."""
    if shape is None:
        return []
    if _kind(shape) != _kind(actual):
        return [f"{path}: expected {_kind(shape)}, got {_kind(actual)}"]
    problems: list[str] = []
    if isinstance(shape, dict):
        for key, sub in shape.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += mismatches(sub, actual[key], f"{path}.{key}")
    elif isinstance(shape, list) and shape:
        if not actual:
            return [f"{path}: empty, expected items like {shape[0]!r}"]
        for i, item in enumerate(actual):
            if isinstance(shape[0], list):
                problems += [
                    p
                    for j, cell in enumerate(shape[0])
                    for p in mismatches(cell, item[j], f"{path}[{i}][{j}]")
                ]
            else:
                problems += mismatches(shape[0], item, f"{path}[{i}]")
    return problems


def _shape(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())["shape"]


def _get(emulator: EmulatorHandle, path: str, **params: str) -> Any:
    response = requests.get(
        f"{emulator.url}{path}", params={"api-version": "2024-04-01", **params}, headers=AUTH, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def _post(emulator: EmulatorHandle, path: str, body: Any, **params: str) -> Any:
    response = requests.post(
        f"{emulator.url}{path}",
        params={"api-version": "2025-03-01", **params},
        json=body,
        headers=AUTH,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_online_endpoint_get_matches_the_arm_example(emulator: EmulatorHandle) -> None:
    body = _get(emulator, f"{emulator.settings().workspace_id}/onlineEndpoints/credit-ep")
    assert mismatches(_shape("online_endpoint_get.json"), body) == []


def test_online_deployment_get_matches_the_verified_minimal_json(emulator: EmulatorHandle) -> None:
    body = _get(emulator, f"{emulator.settings().workspace_id}/onlineEndpoints/credit-ep/deployments/blue")
    assert mismatches(_shape("online_deployment_get.json"), body) == []


def test_usages_list_matches_the_arm_example(emulator: EmulatorHandle) -> None:
    sub = emulator.settings().subscription_id
    body = _get(
        emulator, f"/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/eastus/usages"
    )
    assert mismatches(_shape("usages_list.json"), body) == []


def test_cost_query_matches_the_cost_management_examples(emulator: EmulatorHandle) -> None:
    s = emulator.settings()
    scope = f"/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}"
    path = f"{scope}/providers/Microsoft.CostManagement/query"
    daily = _post(
        emulator,
        path,
        {
            "type": "Usage",
            "timeframe": "TheLastMonth",
            "dataset": {"granularity": "Daily", "grouping": [{"type": "Dimension", "name": "ResourceGroup"}]},
        },
    )
    assert mismatches(_shape("cost_query.json"), daily) == []
    by_tag = _post(
        emulator,
        path,
        {
            "type": "Usage",
            "timeframe": "TheLastMonth",
            "dataset": {
                "granularity": "None",
                "aggregation": {"totalCost": {"name": "PreTaxCost", "function": "Sum"}},
                "grouping": [{"type": "TagKey", "name": "azuremlendpoint"}],
            },
        },
    )
    assert mismatches(_shape("cost_query_tagkey.json"), by_tag) == []
    assert [c["name"] for c in by_tag["properties"]["columns"]] == [
        "PreTaxCost",
        "TagKey",
        "TagValue",
        "Currency",
    ]


def test_budget_get_matches_the_cost_management_example(emulator: EmulatorHandle) -> None:
    s = emulator.settings()
    body = _get(
        emulator,
        f"/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}/providers/"
        "Microsoft.CostManagement/budgets/ml-monthly",
    )
    assert mismatches(_shape("budget_get.json"), body) == []


def test_metrics_get_batch_matches_the_azure_monitor_example(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "time/advance", {"minutes": 5})
    s = emulator.settings()
    body = _post(
        emulator,
        f"/subscriptions/{s.subscription_id}/metrics:getBatch",
        {"resourceids": [f"{s.workspace_id}/onlineEndpoints/credit-ep"]},
        **{
            "api-version": "2024-02-01",
            "starttime": "2024-05-01T10:00:00Z",
            "endtime": "2024-05-01T10:05:00Z",
            "interval": "PT5M",
            "metricnamespace": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
            "metricnames": "RequestsPerMinute",
            "aggregation": "average",
            "filter": "deployment eq '*'",
        },
    )
    assert mismatches(_shape("metrics_batch.json"), body) == []


def test_published_events_match_the_event_grid_samples(
    ml: Any, emulator: EmulatorHandle, receiver: Receiver
) -> None:
    emulator.control("POST", "time/advance", {"minutes": 95})  # the timeline registers credit:3
    endpoint = ml.online_endpoints.get("credit-ep")
    endpoint.traffic = {"blue": 100, "green": 0}
    ml.online_endpoints.begin_create_or_update(endpoint).result()
    published = {e["eventType"]: e for e in emulator.control("GET", "deliveries")["published"]}
    registered = published["Microsoft.MachineLearningServices.ModelRegistered"]
    written = published["Microsoft.Resources.ResourceWriteSuccess"]
    assert mismatches(_shape("model_registered_event.json"), registered) == []
    assert mismatches(_shape("resource_write_success_event.json"), written) == []
