"""Online endpoints and deployments through the real azure-ai-ml MLClient against the emulator."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.fixtures.emulator import EmulatorHandle


def test_get_endpoint_returns_traffic_split_and_scoring_uri(ml: Any, emulator: EmulatorHandle) -> None:
    endpoint = ml.online_endpoints.get("credit-ep")
    assert endpoint.traffic == {"blue": 90, "green": 10}
    assert endpoint.provisioning_state == "Succeeded"
    assert endpoint.scoring_uri == f"{emulator.url}/score/credit-ep"


def test_list_deployments_reports_instance_count_and_vm_size(ml: Any) -> None:
    found = {d.name: (d.instance_count, d.instance_type) for d in ml.online_deployments.list("credit-ep")}
    assert found == {"blue": (2, "Standard_DS3_v2"), "green": (1, "Standard_F4s_v2")}


def test_traffic_change_by_get_modify_put_completes_after_long_running_operation(
    ml: Any, emulator: EmulatorHandle
) -> None:
    endpoint = ml.online_endpoints.get("credit-ep")
    endpoint.traffic = {"blue": 100, "green": 0}
    result = ml.online_endpoints.begin_create_or_update(endpoint).result()
    assert result.traffic == {"blue": 100}
    history = emulator.state()["endpoints"]["credit-ep"]["traffic_history"]
    assert history[-1]["traffic"] == {"blue": 100}
    assert history[-1]["who"] == "modelwatch-local"
    calls = emulator.state()["calls"]
    assert calls["GET operationStatus"] >= 1


def test_endpoint_reports_updating_while_the_write_is_in_flight(ml: Any, emulator: EmulatorHandle) -> None:
    emulator.load(lro={"seconds": 60})  # 3 s of wall time at the test time scale
    endpoint = ml.online_endpoints.get("credit-ep")
    endpoint.traffic = {"blue": 50, "green": 50}
    poller = ml.online_endpoints.begin_create_or_update(endpoint)
    assert ml.online_endpoints.get("credit-ep").provisioning_state == "Updating"
    assert poller.result().traffic == {"blue": 50, "green": 50}


def test_second_write_while_updating_gets_409_conflict(ml: Any, emulator: EmulatorHandle) -> None:
    emulator.load(lro={"seconds": 60})
    endpoint = ml.online_endpoints.get("credit-ep")
    endpoint.traffic = {"blue": 100, "green": 0}
    first = ml.online_endpoints.begin_create_or_update(endpoint)
    with pytest.raises(HttpResponseError) as raised:
        ml.online_endpoints.begin_create_or_update(endpoint)
    assert raised.value.status_code == 409
    assert "Updating" in str(raised.value)
    first.result()


@pytest.mark.parametrize(
    ("traffic", "mirror", "message"),
    [
        ({"blue": 60, "green": 30}, {}, "sum to 100"),
        ({"blue": 90, "purple": 10}, {}, "does not exist"),
        ({"blue": 100}, {"green": 60}, "at most 50"),
    ],
)
def test_invalid_traffic_is_rejected_with_an_arm_error(
    ml: Any, traffic: dict[str, int], mirror: dict[str, int], message: str
) -> None:
    endpoint = ml.online_endpoints.get("credit-ep")
    endpoint.traffic, endpoint.mirror_traffic = traffic, mirror
    with pytest.raises(HttpResponseError) as raised:
        ml.online_endpoints.begin_create_or_update(endpoint)
    assert raised.value.status_code == 400
    assert raised.value.error.code == "BadArgument"
    assert message in raised.value.error.message


def test_unknown_endpoint_is_resource_not_found(ml: Any) -> None:
    with pytest.raises(ResourceNotFoundError) as raised:
        ml.online_endpoints.get("no-such-endpoint")
    assert raised.value.error.code == "ResourceNotFound"


def test_patch_changes_the_traffic_split(emulator: EmulatorHandle) -> None:
    settings = emulator.settings()
    url = f"{emulator.url}{settings.workspace_id}/onlineEndpoints/credit-ep?api-version=2024-04-01"
    headers = {"Authorization": "Bearer fake-entra.rollback-bot"}
    response = requests.patch(
        url, json={"properties": {"traffic": {"blue": 100, "green": 0}}}, headers=headers, timeout=10
    )
    assert response.status_code == 202
    assert "mfeOperationsStatus" in response.headers["Azure-AsyncOperation"]
    _wait_idle(emulator)
    endpoint = emulator.state()["endpoints"]["credit-ep"]
    assert endpoint["traffic"] == {"blue": 100}
    assert endpoint["traffic_history"][-1]["who"] == "rollback-bot"


def test_arm_call_without_bearer_token_is_401(emulator: EmulatorHandle) -> None:
    url = f"{emulator.url}{emulator.settings().workspace_id}/onlineEndpoints/credit-ep?api-version=2024-04-01"
    response = requests.get(url, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"


def test_scaling_a_deployment_changes_the_vcpu_usage(ml: Any) -> None:
    def ds_usage() -> int:
        items = [
            u
            for u in ml.compute.list_usage()
            if u.__dict__["name"]["value"] == "standardDSv2Family" and u.type.endswith("vmFamily/usages")
        ]
        return int(items[0].__dict__["currentValue"])

    assert ds_usage() == 8  # blue: 2 x Standard_DS3_v2 (4 vCPUs)
    blue = ml.online_deployments.get("blue", "credit-ep")
    blue.instance_count = 3
    ml.online_deployments.begin_create_or_update(blue).result()
    assert ds_usage() == 12


def test_deployment_over_quota_is_rejected(ml: Any) -> None:
    blue = ml.online_deployments.get("blue", "credit-ep")
    blue.instance_count = 20  # ceil(1.2 x 20) x 4 = 96 vCPUs > 64
    with pytest.raises(HttpResponseError) as raised:
        ml.online_deployments.begin_create_or_update(blue)
    assert raised.value.error.code == "QuotaExceeded"


def test_deleting_a_deployment_with_live_traffic_is_rejected(ml: Any) -> None:
    with pytest.raises(HttpResponseError) as raised:
        ml.online_deployments.begin_delete("green", "credit-ep").result()
    assert raised.value.status_code == 400
    assert "live traffic" in raised.value.error.message


def _wait_idle(emulator: EmulatorHandle, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(op["status"] != "InProgress" for op in emulator.state()["operations"].values()):
            return
        time.sleep(0.05)
    raise AssertionError("operations did not finish")
