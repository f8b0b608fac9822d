"""The Azure ML adapter through the real MLClient against the emulator: traffic, deployments, models, quota."""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared.adapters.azure_clients import ml_client
from shared.adapters.azure_ml import AzureMLAdapter, AzureUnavailable, InvalidTraffic, ResourceMissing
from tests.fixtures.emulator import EmulatorHandle

ENDPOINT = "credit-ep"


@pytest.fixture
def adapter(ml: Any) -> AzureMLAdapter:
    return AzureMLAdapter(ml, sleep=lambda _: None)


def traffic_history(emulator: EmulatorHandle) -> list[Any]:
    return emulator.state()["endpoints"][ENDPOINT]["traffic_history"]


def test_reads_the_traffic_split(adapter: AzureMLAdapter) -> None:
    traffic = adapter.endpoint_traffic(ENDPOINT)
    assert traffic.traffic == {"blue": 90, "green": 10}
    assert traffic.provisioning_state == "Succeeded"
    assert traffic.scoring_uri


def test_lists_deployments_with_capacity_and_model(adapter: AzureMLAdapter) -> None:
    deployments = {d.name: d for d in adapter.deployments(ENDPOINT)}
    assert set(deployments) == {"blue", "green"}
    assert deployments["blue"].instance_count == 2
    assert deployments["blue"].instance_type == "Standard_DS3_v2"
    assert deployments["green"].model is not None and "credit" in deployments["green"].model


def test_set_traffic_changes_only_the_traffic(adapter: AzureMLAdapter, ml: Any) -> None:
    before = ml.online_endpoints.get(ENDPOINT)
    after = adapter.set_traffic(ENDPOINT, {"blue": 100, "green": 0})
    assert after.traffic.get("blue") == 100 and not after.traffic.get("green")
    reread = ml.online_endpoints.get(ENDPOINT)
    assert reread.auth_mode == before.auth_mode
    assert reread.tags == before.tags
    assert reread.mirror_traffic == before.mirror_traffic


def test_set_traffic_is_recorded_once_in_the_endpoint_history(adapter: AzureMLAdapter,
                                                              emulator: EmulatorHandle) -> None:
    history_before = len(traffic_history(emulator))
    adapter.set_traffic(ENDPOINT, {"blue": 100, "green": 0})
    history = traffic_history(emulator)
    assert len(history) == history_before + 1
    assert history[-1]["traffic"] == {"blue": 100}


def test_a_split_naming_an_unknown_deployment_is_refused_before_any_write(adapter: AzureMLAdapter,
                                                                         emulator: EmulatorHandle) -> None:
    history_before = traffic_history(emulator)
    with pytest.raises(InvalidTraffic, match="no deployment"):
        adapter.set_traffic(ENDPOINT, {"blue": 50, "purple": 50})
    assert traffic_history(emulator) == history_before


def test_a_split_not_summing_to_100_is_refused(adapter: AzureMLAdapter) -> None:
    with pytest.raises(InvalidTraffic, match="sum to 100"):
        adapter.set_traffic(ENDPOINT, {"blue": 80, "green": 10})


def test_a_missing_endpoint_is_named(adapter: AzureMLAdapter) -> None:
    with pytest.raises(ResourceMissing, match="'no-such-ep'"):
        adapter.endpoint_traffic("no-such-ep")


def _endpoint_gets(emulator: EmulatorHandle) -> int:
    return int(emulator.state()["calls"].get("GET onlineEndpoint", 0))


def test_throttling_is_retried_by_the_sdk_honouring_retry_after_and_not_again_by_the_adapter(
    emulator: EmulatorHandle,
) -> None:
    waits: list[float] = []
    adapter = AzureMLAdapter(ml_client(emulator.settings(retry_total=2)), sleep=waits.append)
    emulator.control("POST", "faults", {"route": "/onlineEndpoints/credit-ep$", "kind": "429", "retry_after": 1,
                                        "count": 2}, expect=201)
    assert adapter.endpoint_traffic(ENDPOINT).traffic == {"blue": 90, "green": 10}
    assert _endpoint_gets(emulator) == 3
    assert waits == []  # azure-core waited the Retry-After; the adapter's own loop is for 409 only


def test_server_errors_that_persist_surface_after_the_sdk_retries_alone(emulator: EmulatorHandle) -> None:
    from azure.core.exceptions import HttpResponseError

    waits: list[float] = []
    adapter = AzureMLAdapter(ml_client(emulator.settings(retry_total=2, retry_backoff_factor=0.01)),
                             sleep=waits.append)
    emulator.control("POST", "faults", {"route": "/onlineEndpoints/credit-ep$", "kind": "500"}, expect=201)
    with pytest.raises(HttpResponseError) as err:
        adapter.endpoint_traffic(ENDPOINT)
    assert err.value.status_code == 500
    assert _endpoint_gets(emulator) == 3
    assert waits == []


def test_a_timeout_surfaces_as_a_clear_error_naming_the_resource(emulator: EmulatorHandle) -> None:
    adapter = AzureMLAdapter(ml_client(emulator.settings(timeout_seconds=1.0, retry_total=1)), sleep=lambda _: None)
    emulator.control("POST", "faults", {"route": "/onlineEndpoints/credit-ep$", "kind": "timeout", "hang_seconds": 3,
                                        "count": 2}, expect=201)
    with pytest.raises(AzureUnavailable, match=r"online endpoint 'credit-ep'.*SDK's retries"):
        adapter.endpoint_traffic(ENDPOINT)
    [rule] = emulator.control("GET", "faults")["faults"]
    assert rule["hits"] == 2  # 1 + retry_total attempts (counted as they arrive: hung calls are logged late)


def test_a_traffic_change_waits_out_409_while_the_endpoint_is_updating(emulator: EmulatorHandle) -> None:
    emulator.load(lro={"seconds": 20})  # provisioning takes 20 s / time-scale 20 = 1 s of real time
    ml = ml_client(emulator.settings(), polling_interval=0.1)
    busy = ml.online_endpoints.get(ENDPOINT)
    busy.traffic = {"blue": 80, "green": 20}
    ml.online_endpoints.begin_create_or_update(busy)  # not waited for: the endpoint is Updating now
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    after = AzureMLAdapter(ml, sleep=sleep).set_traffic(ENDPOINT, {"blue": 100, "green": 0})
    assert after.traffic["blue"] == 100 and after.traffic.get("green", 0) == 0
    assert waits, "the adapter should have waited at least once on 409 Conflict"
    assert [h["traffic"] for h in traffic_history(emulator)][-2:] == [{"blue": 80, "green": 20}, {"blue": 100}]


def test_lists_and_gets_model_versions(adapter: AzureMLAdapter) -> None:
    versions = {m.version: m for m in adapter.model_versions("credit")}
    assert {"1", "2"} <= set(versions)
    assert adapter.model("credit", "2").name == "credit"


def test_a_missing_model_version_is_named(adapter: AzureMLAdapter) -> None:
    with pytest.raises(ResourceMissing, match="model 'credit' version '99'"):
        adapter.model("credit", "99")


def test_quota_usage_reads_values_despite_the_sdk_casing_quirk(adapter: AzureMLAdapter) -> None:
    usage = {u.name: u for u in adapter.quota_usage()}
    assert any(u.current > 0 for u in usage.values())
    assert all(u.limit >= u.current for u in usage.values())


def test_quota_usage_says_which_scope_each_line_counts(adapter: AzureMLAdapter) -> None:
    scopes = {(u.scope, u.name) for u in adapter.quota_usage()}
    assert ("subscription", "standardDSv2Family") in scopes
    assert ("workspace", "standardDSv2Family") in scopes
    assert any(scope == "total" for scope, _ in scopes)


def test_vm_sizes_carry_vcpus(adapter: AzureMLAdapter) -> None:
    sizes = adapter.vm_sizes()
    assert sizes["Standard_DS3_v2"].vcpus == 4
    assert sizes["Standard_DS3_v2"].family
