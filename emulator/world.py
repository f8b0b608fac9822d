"""The emulated Azure resources and their history: workspace, models, endpoints, deployments.

Built from a scenario and then changed by ARM writes, the timeline and the control API. Holds the
facts other parts compute from: the traffic split history (every change, when and by whom), the
instance-count history (costs, quota, capacity metrics), each deployment's simulated behaviour.
Never does I/O and never renders REST JSON (arm_shapes.py does that).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from emulator.clock import SimClock, iso
from emulator.scenario import Feature, GoldenSet, Latency, Predictor, Scenario, Skew, TrainingData, VmSize

ML = "Microsoft.MachineLearningServices"
DATASTORE = "workspaceblobstore"
REFERENCE_TAG = "modelwatch.reference_data"  # the model tag naming a version's training data (as modelwatch reads it)
GOLDEN_TAG = "modelwatch.golden_set"  # the model tag naming a version's golden set (evaluation inputs and outputs)


def stable_uuid(*parts: object) -> str:
    """A UUID that depends only on its inputs (deterministic ids, keys and GUIDs)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


@dataclass
class Behaviour:
    """How a deployment answers in the simulation (not part of any Azure resource)."""

    latency: Latency
    error_rate: float
    client_error_rate: float
    predictor: Predictor
    data_collection: bool = True
    #: a preprocessing bug: the deployment scores `feature * scale + shift` instead of the feature
    skew: Skew | None = None


@dataclass
class ModelVersionState:
    name: str
    version: str
    properties: dict[str, Any]
    created_at: datetime
    predictor: Predictor


@dataclass
class ModelContainerState:
    name: str
    description: str
    tags: dict[str, str]
    created_at: datetime
    versions: dict[str, ModelVersionState] = field(default_factory=dict)

    def latest_version(self) -> str | None:
        if not self.versions:
            return None
        return max(self.versions, key=lambda v: (int(v) if v.isdigit() else -1, v))


@dataclass
class DeploymentState:
    endpoint: str
    name: str
    body: dict[str, Any]
    instance_type: str
    capacity: int
    behaviour: Behaviour
    created_at: datetime
    modified_at: datetime
    created_by: str
    provisioning_state: str = "Succeeded"


@dataclass
class TrafficChange:
    at: str
    wall_time: str
    traffic: dict[str, int]
    mirror_traffic: dict[str, int]
    who: str
    via: str


@dataclass
class EndpointState:
    name: str
    body: dict[str, Any]
    traffic: dict[str, int]
    mirror_traffic: dict[str, int]
    keys: tuple[str, str]
    created_at: datetime
    modified_at: datetime
    created_by: str
    requests_per_minute: float
    rows_per_request: int
    features: list[Feature]
    deployments: dict[str, DeploymentState] = field(default_factory=dict)
    provisioning_state: str = "Succeeded"
    traffic_history: list[TrafficChange] = field(default_factory=list)
    #: diagnostic settings send the traffic log (one row per request) to Log Analytics
    traffic_log: bool = True


@dataclass
class TrainingFile:
    """A training data file to write to the workspace blob store (the emulator core writes it; World does no I/O).

    The rows are drawn from `features` (a snapshot taken at registration) with a generator seeded by the
    scenario seed, model and version, so the same scenario always writes the same bytes. A golden set names
    its version's `predictor`: each row also records the outputs that version gives it."""

    blob: str
    features: list[Feature]
    rows: int
    format: str
    seed: str
    predictor: Predictor | None = None


@dataclass
class CapacityChange:
    at: datetime
    endpoint: str
    deployment: str
    instance_type: str
    capacity: int


class World:
    """All emulated resources of one loaded scenario."""

    def __init__(self, scenario: Scenario, clock: SimClock) -> None:
        self.scenario = scenario
        self.clock = clock
        ids = scenario.azure
        self.subscription_id = ids.subscription_id
        self.resource_group = ids.resource_group
        self.workspace = ids.workspace
        self.location = ids.location
        self.tenant_id = ids.tenant_id
        self.workspace_guid = ids.workspace_guid or stable_uuid("workspace", scenario.seed, ids.workspace)
        self.container = scenario.storage_container or f"azureml-blobstore-{self.workspace_guid}"
        self.vm_sizes: dict[str, VmSize] = scenario.all_vm_sizes()
        self.models: dict[str, ModelContainerState] = {}
        self.endpoints: dict[str, EndpointState] = {}
        self.capacity_history: list[CapacityChange] = []
        #: data assets: name -> version -> stored ARM body (+ "_created"); training data and ARM PUTs
        self.data_assets: dict[str, dict[str, dict[str, Any]]] = {}
        #: jobs (training runs a model version names as its jobName): name -> ARM body
        self.jobs: dict[str, dict[str, Any]] = {}
        self.training_files: list[TrainingFile] = []
        self._counter = 0
        self._build()

    # ---- ids ------------------------------------------------------------------------------------
    @property
    def rg_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"

    @property
    def workspace_id(self) -> str:
        return f"{self.rg_id}/providers/{ML}/workspaces/{self.workspace}"

    def endpoint_id(self, endpoint: str) -> str:
        return f"{self.workspace_id}/onlineEndpoints/{endpoint}"

    def deployment_id(self, endpoint: str, deployment: str) -> str:
        return f"{self.endpoint_id(endpoint)}/deployments/{deployment}"

    def model_version_id(self, name: str, version: str) -> str:
        return f"{self.workspace_id}/models/{name}/versions/{version}"

    def next_id(self, kind: str) -> str:
        """Deterministic unique ids (operation ids, event ids) in order of use."""
        self._counter += 1
        return stable_uuid(kind, self.scenario.seed, self._counter)

    def rng(self, *parts: object) -> random.Random:
        return random.Random("|".join(str(p) for p in (self.scenario.seed, *parts)))

    # ---- building from the scenario -------------------------------------------------------------
    def _build(self) -> None:
        sc = self.scenario
        born = self.clock.start - timedelta(days=sc.costs.history_days)
        for model in sc.models:
            container = ModelContainerState(model.name, model.description, dict(model.tags), born)
            for ver in model.versions:
                container.versions[ver.version] = self.model_version_from_scenario(model.name, ver, born)
            self.models[model.name] = container
        for ep in sc.endpoints:
            state = EndpointState(
                name=ep.name,
                body={
                    "properties": {
                        "authMode": "Key" if ep.auth_mode == "key" else "AMLToken",
                        "description": ep.description,
                        "properties": {},
                    },
                    "tags": dict(ep.tags),
                    "identity": {"type": "SystemAssigned"},
                },
                traffic=dict(ep.traffic),
                mirror_traffic=dict(ep.mirror_traffic),
                keys=(self._key(ep.name, 1), self._key(ep.name, 2)),
                created_at=born,
                modified_at=born,
                created_by="scenario",
                requests_per_minute=ep.requests_per_minute,
                rows_per_request=ep.rows_per_request,
                features=[f.model_copy(deep=True) for f in ep.features],
                traffic_log=ep.traffic_log,
            )
            state.traffic_history.append(
                TrafficChange(
                    iso(born), iso(born), dict(ep.traffic), dict(ep.mirror_traffic), "scenario", "scenario"
                )
            )
            self.endpoints[ep.name] = state
            for dep in ep.deployments:
                version = self.models[dep.model.name].versions[dep.model.version]
                behaviour = Behaviour(
                    dep.latency_ms.model_copy(),
                    dep.error_rate,
                    dep.client_error_rate,
                    version.predictor,
                    dep.data_collection,
                    dep.skew.model_copy() if dep.skew else None,
                )
                body = self.deployment_body(
                    dep.model.name,
                    dep.model.version,
                    dep.instance_type,
                    dep.instance_count,
                    dep.tags,
                    dep.data_collection,
                )
                self.put_deployment(ep.name, dep.name, body, behaviour, born, "scenario")

    def _key(self, endpoint: str, n: int) -> str:
        return hashlib.sha256(f"key|{self.scenario.seed}|{endpoint}|{n}".encode()).hexdigest()[:32]

    def model_version_from_scenario(self, name: str, ver: Any, at: datetime) -> ModelVersionState:
        path = ver.path or (
            f"azureml://subscriptions/{self.subscription_id}/resourcegroups/{self.resource_group}"
            f"/workspaces/{self.workspace}/datastores/workspaceblobstore/paths/models/{name}/"
            f"{ver.version}"
        )
        props = {
            "description": ver.description,
            "tags": dict(ver.tags),
            "properties": dict(ver.properties),
            "modelType": ver.type,
            "modelUri": path,
            "isArchived": False,
            "isAnonymous": False,
            "flavors": {},
            "jobName": None,
            "stage": None,
        }
        if ver.training_data is not None:
            self._add_training_data(name, ver.version, ver.training_data, props, at)
        if ver.golden_set is not None:
            self._add_golden_set(name, ver.version, ver.golden_set, ver.predictor, props, at)
        return ModelVersionState(name, ver.version, props, at, ver.predictor)

    # ---- training data --------------------------------------------------------------------------
    def datastore_uri(self, path: str) -> str:
        """The long azureml:// URI of a path in the workspace blob store, as Azure ML writes it in assets."""
        return (
            f"azureml://subscriptions/{self.subscription_id}/resourcegroups/{self.resource_group}"
            f"/workspaces/{self.workspace}/datastores/{DATASTORE}/paths/{path}"
        )

    def _add_training_data(
        self, model: str, version: str, data: TrainingData, props: dict[str, Any], at: datetime
    ) -> None:
        """Record the training file to write and point the model version at it as `data.via` says."""
        folder = f"training/{model}/{version}/"
        blob = f"{folder}train.{data.format}"
        self.training_files.append(
            TrainingFile(blob, self._features_now(data.endpoint), data.rows, data.format,
                         f"training|{model}|{version}")
        )
        asset = data.asset or f"{model}-training"
        if data.via == "datastore_path":
            props["tags"][REFERENCE_TAG] = f"azureml://datastores/{DATASTORE}/paths/{folder}"
            return
        self.data_assets.setdefault(asset, {})[version] = {
            "properties": {
                "dataType": "uri_file",
                "dataUri": self.datastore_uri(blob),
                "description": f"training data of model {model}:{version} ({data.rows} rows, {data.format})",
                "tags": {"model": f"{model}:{version}"},
                "properties": {},
            },
            "_created": at,
        }
        if data.via == "data_asset":
            props["tags"][REFERENCE_TAG] = f"azureml:{asset}:{version}"
            return
        job = f"{model}-train-{version}"
        props["jobName"] = job
        self.jobs[job] = self._training_job(job, model, f"azureml:{asset}:{version}", at)

    def _add_golden_set(
        self, model: str, version: str, golden: GoldenSet, predictor: Predictor, props: dict[str, Any], at: datetime
    ) -> None:
        """Record the golden set file to write (inputs and the version's outputs), its data asset, and the tags
        that say where it is and which of its columns are outputs (so the rest are the inputs to replay)."""
        blob = f"golden/{model}/{version}/golden.{golden.format}"
        self.training_files.append(
            TrainingFile(blob, self._features_now(golden.endpoint), golden.rows, golden.format,
                         f"golden|{model}|{version}", predictor)
        )
        asset = golden.asset or f"{model}-golden"
        self.data_assets.setdefault(asset, {})[version] = {
            "properties": {
                "dataType": "uri_file",
                "dataUri": self.datastore_uri(blob),
                "description": f"golden set of model {model}:{version}: {golden.rows} evaluation inputs with "
                f"the outputs recorded then ({golden.format})",
                "tags": {"model": f"{model}:{version}", "purpose": "golden_set"},
                "properties": {},
            },
            "_created": at,
        }
        tags = props["tags"]
        tags[GOLDEN_TAG] = f"azureml:{asset}:{version}"
        tags[f"{GOLDEN_TAG}.scores"] = predictor.output
        labelled = predictor.kind == "logistic" and predictor.threshold is not None
        tags[f"{GOLDEN_TAG}.labels"] = "label" if labelled else ""
        if golden.tolerance is not None:
            tags[f"{GOLDEN_TAG}.tolerance"] = repr(golden.tolerance)

    def _features_now(self, endpoint: str | None) -> list[Feature]:
        """The endpoint's features as they are now (drifted, if the timeline drifted them already)."""
        name = endpoint or next(iter(self.endpoints), None) or self.scenario.endpoints[0].name
        live = self.endpoints.get(name)
        source = live.features if live else next(e for e in self.scenario.endpoints if e.name == name).features
        return [f.model_copy(deep=True) for f in source]

    def _training_job(self, name: str, model: str, data_uri: str, at: datetime) -> dict[str, Any]:
        return {
            "jobType": "Command",
            "displayName": name,
            "experimentName": f"{model}-training",
            "description": f"trains {model}",
            "status": "Completed",
            "command": "python train.py --data ${{inputs.training_data}} --model ${{outputs.model}}",
            "environmentId": f"{self.workspace_id}/environments/sklearn-1.5/versions/1",
            "computeId": f"{self.workspace_id}/computes/cpu-cluster",
            "inputs": {"training_data": {"jobInputType": "uri_file", "uri": data_uri, "mode": "ReadOnlyMount"}},
            "outputs": {},
            "properties": {},
            "tags": {},
            "services": {},
            "isArchived": False,
            "_created": at,
        }

    def take_training_files(self) -> list[TrainingFile]:
        """Hand over the training files recorded since the last call (to be written to the blob store)."""
        files, self.training_files = self.training_files, []
        return files

    def deployment_body(
        self, model: str, version: str, instance_type: str, count: int, tags: dict[str, str], collect: bool
    ) -> dict[str, Any]:
        collections = {
            c: {"enabled": "true" if collect else "false"} for c in ("model_inputs", "model_outputs")
        }
        return {
            "kind": "Managed",
            "tags": dict(tags),
            "sku": {"name": "Default", "capacity": count},
            "properties": {
                "endpointComputeType": "Managed",
                "model": self.model_version_id(model, version),
                "instanceType": instance_type,
                "scaleSettings": {"scaleType": "Default"},
                "requestSettings": {
                    "maxConcurrentRequestsPerInstance": 1,
                    "requestTimeout": "PT5S",
                    "maxQueueWait": "PT0.5S",
                },
                "appInsightsEnabled": False,
                "environmentVariables": {},
                "properties": {},
                "dataCollector": {"collections": collections, "rollingRate": "Hour"},
            },
        }

    # ---- changes --------------------------------------------------------------------------------
    def put_deployment(
        self, endpoint: str, name: str, body: dict[str, Any], behaviour: Behaviour, at: datetime, who: str
    ) -> DeploymentState:
        props = body.get("properties", {})
        capacity = int((body.get("sku") or {}).get("capacity", 1))
        instance_type = props.get("instanceType", "Standard_DS3_v2")
        ep = self.endpoints[endpoint]
        existing = ep.deployments.get(name)
        if existing:
            existing.body, existing.behaviour, existing.modified_at = body, behaviour, at
            existing.capacity, existing.instance_type = capacity, instance_type
            state = existing
        else:
            state = DeploymentState(endpoint, name, body, instance_type, capacity, behaviour, at, at, who)
            ep.deployments[name] = state
        self.capacity_history.append(CapacityChange(at, endpoint, name, instance_type, capacity))
        return state

    def delete_deployment(self, endpoint: str, name: str, at: datetime) -> None:
        dep = self.endpoints[endpoint].deployments.pop(name)
        self.capacity_history.append(CapacityChange(at, endpoint, name, dep.instance_type, 0))

    def set_capacity(self, endpoint: str, name: str, capacity: int, at: datetime) -> None:
        dep = self.endpoints[endpoint].deployments[name]
        dep.capacity = capacity
        dep.body.setdefault("sku", {})["capacity"] = capacity
        self.capacity_history.append(CapacityChange(at, endpoint, name, dep.instance_type, capacity))

    def set_traffic(
        self,
        endpoint: str,
        traffic: dict[str, int] | None,
        mirror: dict[str, int] | None,
        who: str,
        via: str,
        wall_time: str,
    ) -> None:
        ep = self.endpoints[endpoint]
        if traffic is not None:
            ep.traffic = {k: int(v) for k, v in traffic.items() if int(v) != 0}
        if mirror is not None:
            ep.mirror_traffic = {k: int(v) for k, v in mirror.items() if int(v) != 0}
        ep.traffic_history.append(
            TrafficChange(
                iso(self.clock.now()), wall_time, dict(ep.traffic), dict(ep.mirror_traffic), who, via
            )
        )

    def capacity_at(self, endpoint: str, deployment: str, moment: datetime) -> tuple[int, str | None]:
        """Instance count and VM size of a deployment at a simulated moment (0 before it existed)."""
        capacity, size = 0, None
        for change in self.capacity_history:
            if change.at > moment:
                break
            if change.endpoint == endpoint and change.deployment == deployment:
                capacity, size = change.capacity, change.instance_type
        return capacity, size

    def deployment_names_ever(self, endpoint: str) -> list[str]:
        seen: dict[str, None] = {}
        for change in self.capacity_history:
            if change.endpoint == endpoint:
                seen[change.deployment] = None
        return list(seen)

    def behaviour_for_model(self, model_arm_id: str) -> Predictor:
        """The predictor of a model version named by ARM id or azureml: reference (default if unknown)."""
        text = model_arm_id.rstrip("/")
        for name, container in self.models.items():
            for version, state in container.versions.items():
                if (
                    text.lower().endswith(f"/models/{name}/versions/{version}".lower())
                    or text.lower() == f"azureml:{name}:{version}".lower()
                ):
                    return state.predictor
        return Predictor()

    def vcpus_in_use(self) -> dict[str, int]:
        """vCPUs per VM family used by the deployments that exist now."""
        usage: dict[str, int] = {}
        for ep in self.endpoints.values():
            for dep in ep.deployments.values():
                size = self.vm_sizes.get(dep.instance_type)
                if size:
                    usage[size.family] = usage.get(size.family, 0) + size.vcpus * dep.capacity
        return usage
