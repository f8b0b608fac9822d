"""The Azure ML adapters, run for real through azure-ai-ml against the emulator, send only ARM requests whose
RBAC actions tests/infra/permissions.py lists for them, and the custom roles' Azure ML actions are all either
seen sent here or named with the code path the emulator cannot show.

The emulator logs every request it answers (method and path); each is mapped to the action ARM checks
(`arm_action`). Only Microsoft.MachineLearningServices requests are mapped this way: metrics (data plane),
Cost Management (its query POST is a read action) and Log Analytics have no path-derived action and are
covered by built-in roles (tests/infra/test_templates.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.adapters.azure_clients import blob_service_client, ml_client
from shared.adapters.azure_ml import AzureMLAdapter
from shared.adapters.data_assets import DataAssets
from shared.adapters.scoring import ScoringAdapter
from tests.fixtures.emulator import EmulatorHandle
from tests.infra.permissions import (
    ADAPTER_NEEDS,
    NOT_SEEN_ON_THE_EMULATOR,
    SUBSCRIPTION,
    WORKSPACE,
    arm_action,
    custom_role_needs,
)

ML_PROVIDER = "/providers/microsoft.machinelearningservices/"


class Adapters:
    def __init__(self, emulator: EmulatorHandle, workdir: Path) -> None:
        self.emulator = emulator
        self.client = ml_client(emulator.settings(), polling_interval=0.05)
        self.ml = AzureMLAdapter(self.client, sleep=lambda _: None)
        self.scoring = ScoringAdapter(self.client, requests.Session())
        self.data = DataAssets(self.client, self._container_for)
        self.workdir = workdir

    def _container_for(self, store: str) -> Any:
        # as shared/services/checks/reference.py does locally: the datastore through the MLClient, blobs in Azurite
        datastore = self.client.datastores.get(store)
        return blob_service_client(self.emulator.settings()).get_container_client(datastore.container_name)

    def actions_of(self, call: Callable[[], Any]) -> set[str]:
        """The RBAC actions of the Azure ML requests `call` makes (read from the emulator's call log)."""
        before = sum(self.emulator.state()["calls"].values())
        call()
        state = self.emulator.state()
        made = sum(state["calls"].values()) - before
        assert 0 <= made <= len(state["recent_calls"]), f"{made} calls: more than the emulator's recent log holds"
        recent = state["recent_calls"][len(state["recent_calls"]) - made:] if made else []
        return {arm_action(c["method"], c["path"]).lower() for c in recent if ML_PROVIDER in c["path"].lower()}


def _cases(a: Adapters) -> dict[str, Callable[[], Any]]:
    location = {}

    def resolve() -> Any:
        location["asset"] = a.data.resolve("azureml:credit-training:1")
        return location["asset"]

    return {
        "AzureMLAdapter.endpoints": a.ml.endpoints,
        "AzureMLAdapter.endpoint_traffic": lambda: a.ml.endpoint_traffic("credit-ep"),
        "AzureMLAdapter.deployments": lambda: a.ml.deployments("credit-ep"),
        "AzureMLAdapter.set_traffic": lambda: a.ml.set_traffic("credit-ep", {"blue": 100, "green": 0}),
        "AzureMLAdapter.model_versions": lambda: a.ml.model_versions("credit"),
        "AzureMLAdapter.model": lambda: a.ml.model("credit", "1"),
        "AzureMLAdapter.set_model_tags": lambda: a.ml.set_model_tags("credit", "1", {"modelwatch.gate": "passed"}),
        "AzureMLAdapter.job_properties": lambda: a.ml.job_properties("credit-train-2"),
        "AzureMLAdapter.quota_usage": a.ml.quota_usage,
        "AzureMLAdapter.vm_sizes": a.ml.vm_sizes,
        "ScoringAdapter.credentials": lambda: a.scoring.credentials("credit-ep"),
        "ScoringAdapter.score": lambda: ScoringAdapter(a.client, requests.Session()).score(
            "credit-ep", "blue", [{"income": 50000, "age": 40, "region": "north"}], timeout=10),
        "DataAssets.model_source": lambda: a.data.model_source("credit", "1"),
        "DataAssets.job_inputs": lambda: a.data.job_inputs("credit-train-2"),
        "DataAssets.resolve": resolve,
        "DataAssets.download": lambda: a.data.download(location["asset"], a.workdir / "reference"),
    }


@pytest.fixture(scope="module")
def observed(emulator_server: str, storage_connection_string: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, set[str]]]:
    """Every case run once, in order, on a fresh copy of the test scenario: method -> actions seen."""
    emulator = EmulatorHandle(emulator_server, storage_connection_string, {}).load()
    adapters = Adapters(emulator, tmp_path_factory.mktemp("adapter-calls"))
    yield {name: adapters.actions_of(call) for name, call in _cases(adapters).items()}


METHODS = sorted([  # the cases of _cases, named without building adapters at collection time
    "AzureMLAdapter.endpoints", "AzureMLAdapter.endpoint_traffic", "AzureMLAdapter.deployments",
    "AzureMLAdapter.set_traffic", "AzureMLAdapter.model_versions", "AzureMLAdapter.model",
    "AzureMLAdapter.set_model_tags", "AzureMLAdapter.job_properties", "AzureMLAdapter.quota_usage",
    "AzureMLAdapter.vm_sizes", "ScoringAdapter.credentials", "ScoringAdapter.score", "DataAssets.model_source",
    "DataAssets.job_inputs", "DataAssets.resolve", "DataAssets.download"])


@pytest.mark.parametrize("method", METHODS)
def test_the_arm_requests_of_the_method_need_only_actions_the_table_lists_for_it(
        method: str, observed: dict[str, set[str]]) -> None:
    listed = {n.action.lower() for n in ADAPTER_NEEDS[method]}
    assert observed[method], f"{method} sent no Azure ML request: the case does not exercise it"
    assert sorted(observed[method] - listed) == []


def test_every_azure_ml_method_of_the_table_is_exercised_here(observed: dict[str, set[str]]) -> None:
    needing_ml = {m for m, needs in ADAPTER_NEEDS.items()
                  if any(n.action.startswith("Microsoft.MachineLearningServices/") for n in needs)}
    assert sorted(needing_ml - set(observed)) == []


def test_every_custom_role_action_is_seen_sent_or_named_with_the_path_that_sends_it(
        observed: dict[str, set[str]]) -> None:
    seen = set().union(*observed.values())
    unexplained = {a.lower() for a in NOT_SEEN_ON_THE_EMULATOR}
    needed = custom_role_needs(WORKSPACE) | custom_role_needs(SUBSCRIPTION)
    assert sorted(needed - seen - unexplained) == []
    assert sorted(unexplained & seen) == []  # once the emulator shows it, it needs no excuse
