"""The scenario file format: what the emulator simulates, validated with pydantic.

A scenario declares the Azure resources (workspace, models, endpoints, deployments), how the simulated
traffic behaves (input features, per-deployment latency, errors, a model per deployment), a timeline of
changes (latency regressions, drift, new model versions, traffic or capacity changes), Event Grid
subscriptions, VM prices, quota and budgets. See emulator/SCENARIOS.md for the reference.

This module only parses and validates; it never touches the network or the simulation state. Every
validation error names the field path (e.g. `endpoints.0.deployments.1.latency_ms.p99`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:s|m|h|d))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(s|m|h|d)")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,31}$")


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file and every bad field."""


def parse_duration(text: str | int | float) -> timedelta:
    """'90m', '2h', '2h10m', '30s', '1d' or a number of minutes -> timedelta."""
    if isinstance(text, int | float):
        return timedelta(minutes=float(text))
    compact = str(text).replace(" ", "")
    if not _DURATION.match(compact):
        raise ValueError(f"{text!r} is not a duration: use numbers with units s|m|h|d, e.g. '90m' or '2h10m'")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(compact)))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


#: the Log Analytics workspace id the emulator answers for unless a scenario names another (local settings use it)
DEFAULT_LOG_ANALYTICS_WORKSPACE_ID = "00000000-0000-4000-8000-00000000a11a"


class AzureIds(_Strict):
    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    tenant_id: str = "72f988bf-0000-0000-0000-000000000000"
    resource_group: str = "rg-modelwatch"
    workspace: str = "mlw-modelwatch"
    location: str = "eastus"
    workspace_guid: str | None = Field(None, description="defaults to a GUID derived from the seed")
    log_analytics_workspace_id: str = Field(
        DEFAULT_LOG_ANALYTICS_WORKSPACE_ID,
        description="the Log Analytics workspace (its 'Workspace ID' GUID) the endpoints' traffic logs go to",
    )


class Clock(_Strict):
    start: str = Field("now", description="ISO-8601 UTC time, 'now', or 'now-2h' (relative to load)")
    mode: Literal["manual", "live"] = "manual"
    prefill: bool = Field(True, description="live mode: generate the span from start up to now at load")
    speed: float = Field(1.0, gt=0, le=3600, description="live mode: simulated seconds per wall second")

    def resolve_start(self, wall_now: datetime) -> datetime:
        text = self.start.strip()
        if text.startswith("now"):
            rest = text[3:].strip()
            offset = timedelta(0)
            if rest:
                if rest[0] not in "+-":
                    raise ValueError(f"clock.start {self.start!r}: expected 'now', 'now-2h' or 'now+10m'")
                offset = parse_duration(rest[1:]) * (-1 if rest[0] == "-" else 1)
            return (wall_now + offset).replace(second=0, microsecond=0)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC).replace(second=0, microsecond=0)

    @field_validator("start")
    @classmethod
    def _start_parses(cls, value: str) -> str:
        Clock.model_construct(start=value).resolve_start(datetime.now(UTC))
        return value


class VmSize(_Strict):
    family: str
    vcpus: int = Field(gt=0)
    memory_gb: float = Field(gt=0)
    price_per_hour: float = Field(ge=0)
    gpus: int = 0


DEFAULT_VM_SIZES: dict[str, VmSize] = {
    "Standard_DS2_v2": VmSize(family="standardDSv2Family", vcpus=2, memory_gb=7, price_per_hour=0.146),
    "Standard_DS3_v2": VmSize(family="standardDSv2Family", vcpus=4, memory_gb=14, price_per_hour=0.293),
    "Standard_DS4_v2": VmSize(family="standardDSv2Family", vcpus=8, memory_gb=28, price_per_hour=0.585),
    "Standard_F4s_v2": VmSize(family="standardFSv2Family", vcpus=4, memory_gb=8, price_per_hour=0.169),
    "Standard_E4s_v3": VmSize(family="standardESv3Family", vcpus=4, memory_gb=32, price_per_hour=0.252),
    "Standard_NC6s_v3": VmSize(
        family="standardNCSv3Family", vcpus=6, memory_gb=112, price_per_hour=3.06, gpus=1
    ),
}


class Feature(_Strict):
    """One input column of the simulated requests."""

    name: str
    dist: Literal["normal", "lognormal", "uniform", "categorical"] = "normal"
    mean: float = 0.0
    std: float = Field(1.0, ge=0)
    low: float = 0.0
    high: float = 1.0
    values: dict[str, float] | None = Field(None, description="categorical: value -> probability weight")
    decimals: int | None = Field(2, description="round numeric values; null keeps full precision")

    @model_validator(mode="after")
    def _categorical_has_values(self) -> Feature:
        if self.dist == "categorical" and not self.values:
            raise ValueError(f"feature {self.name!r}: a categorical feature needs `values`")
        if self.dist == "uniform" and self.high <= self.low:
            raise ValueError(f"feature {self.name!r}: uniform needs high > low")
        return self


class Predictor(_Strict):
    """The model a deployment serves: linear or logistic weights over named input features."""

    kind: Literal["linear", "logistic"] = "logistic"
    intercept: float = 0.0
    weights: dict[str, float] = Field(default_factory=dict)
    categorical_weights: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="feature -> {category: weight}"
    )
    output: str = Field("score", description="name of the output column")
    threshold: float | None = Field(0.5, description="logistic: also output `label` (0/1) at this threshold")


class TrainingData(_Strict):
    """The data a model version was trained on: rows drawn from an endpoint's feature distributions (as they
    are when the version is registered), written to the workspace blob store, and pointed at the way Azure ML
    models point at their data (`via`):

    * `data_asset`: a data asset `<asset>:<version>` (uri_file) and the model tag
      `modelwatch.reference_data: azureml:<asset>:<version>`;
    * `datastore_path`: the model tag `modelwatch.reference_data: azureml://datastores/workspaceblobstore/paths/
      training/<model>/<version>/` (a folder), no data asset;
    * `job`: a completed training job `<model>-train-<version>` (the version's `jobName`) whose input
      `training_data` is the data asset `azureml:<asset>:<version>`; no tag.
    """

    endpoint: str | None = Field(None, description="whose features; default: the scenario's only endpoint")
    rows: int = Field(2000, ge=1, le=1_000_000)
    format: Literal["csv", "parquet", "jsonl"] = "csv"
    via: Literal["data_asset", "datastore_path", "job"] = "data_asset"
    asset: str | None = Field(None, description="data asset name; default <model>-training")


class GoldenSet(_Strict):
    """The inputs a model version was evaluated on, with the outputs it gave then (a "golden set"), so a monitor
    can replay them to a deployment and compare: rows drawn from an endpoint's features (as they are when the
    version is registered), each with the version's own `score` (the predictor's output column) and `label`
    (logistic with a threshold), written to the workspace blob store as a data asset `<asset>:<version>`
    (uri_file) that the model tag `modelwatch.golden_set: azureml:<asset>:<version>` names."""

    endpoint: str | None = Field(None, description="whose features; default: the scenario's only endpoint")
    rows: int = Field(200, ge=1, le=100_000)
    format: Literal["jsonl", "csv"] = "jsonl"
    asset: str | None = Field(None, description="data asset name; default <model>-golden")
    tolerance: float | None = Field(
        None, ge=0, description="absolute score tolerance, as the tag modelwatch.golden_set.tolerance"
    )


class ModelVersion(_Strict):
    version: str
    type: Literal["custom_model", "mlflow_model", "triton_model"] = "custom_model"
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, str] = Field(default_factory=dict)
    predictor: Predictor = Field(default_factory=Predictor)
    path: str | None = Field(None, description="artifact URI; defaults to the workspace blob store path")
    training_data: TrainingData | None = Field(None, description="training data written to the blob store")
    golden_set: GoldenSet | None = Field(None, description="evaluation inputs and recorded outputs (a data asset)")

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> str:
        return str(value)


class Model(_Strict):
    name: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    versions: list[ModelVersion] = Field(min_length=1)


class ModelRef(_Strict):
    name: str
    version: str

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> str:
        return str(value)


class Latency(_Strict):
    """Per-request latency, log-normal with the given median and 99th percentile (milliseconds)."""

    p50: float = Field(40.0, gt=0)
    p99: float = Field(150.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Latency:
        if self.p99 < self.p50:
            raise ValueError(f"p99 ({self.p99}) must be >= p50 ({self.p50})")
        return self


class Skew(_Strict):
    """A preprocessing bug in a deployment's scoring script: before the model sees a row, the numeric `feature`
    becomes `value * scale + shift` (e.g. income in thousands: scale 0.001). Callers, the data collector and
    the traffic log still see the row as sent; only the answers differ from the model's (training-serving
    skew)."""

    feature: str = Field(min_length=1)
    scale: float = 1.0
    shift: float = 0.0

    @model_validator(mode="after")
    def _changes_something(self) -> Skew:
        if self.scale == 1.0 and self.shift == 0.0:
            raise ValueError(f"skew of {self.feature!r} changes nothing: give scale != 1 or shift != 0")
        return self


class Deployment(_Strict):
    name: str
    model: ModelRef
    instance_type: str = "Standard_DS3_v2"
    instance_count: int = Field(1, ge=0, le=50)
    latency_ms: Latency = Field(default_factory=Latency)
    error_rate: float = Field(0.0, ge=0, le=1, description="fraction of requests answered 500")
    client_error_rate: float = Field(0.0, ge=0, le=1, description="fraction answered 400")
    data_collection: bool = True
    tags: dict[str, str] = Field(default_factory=dict)
    skew: Skew | None = Field(None, description="a preprocessing bug: answers differ from the model's")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r}: 1-32 chars, start with a letter, letters/digits/dashes")
        return value.lower()


class Endpoint(_Strict):
    name: str
    auth_mode: Literal["key", "aml_token"] = "key"
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    traffic: dict[str, int] = Field(default_factory=dict)
    mirror_traffic: dict[str, int] = Field(default_factory=dict)
    requests_per_minute: float = Field(60.0, ge=0, description="simulated steady traffic")
    rows_per_request: int = Field(1, ge=1, le=1000)
    features: list[Feature] = Field(default_factory=list)
    deployments: list[Deployment] = Field(min_length=1)
    traffic_log: bool = Field(
        True,
        description="the endpoint's diagnostic settings send AmlOnlineEndpointTrafficLog to Log Analytics "
        "(one row per request); false: the table has no rows for it",
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z][A-Za-z0-9-]{2,31}$", value):
            raise ValueError(f"{value!r}: 3-32 chars, start with a letter, letters/digits/dashes")
        return value

    @model_validator(mode="after")
    def _traffic_consistent(self) -> Endpoint:
        names = {d.name for d in self.deployments}
        for field, split in (("traffic", self.traffic), ("mirror_traffic", self.mirror_traffic)):
            unknown = sorted(set(split) - names)
            if unknown:
                raise ValueError(f"{field} names deployments that are not declared: {unknown}")
        total = sum(self.traffic.values())
        if self.traffic and total not in (0, 100):
            raise ValueError(f"traffic must sum to 0 or 100, got {total}")
        if sum(self.mirror_traffic.values()) > 50:
            raise ValueError("mirror_traffic must sum to at most 50")
        return self


class FeatureDrift(_Strict):
    shift: float = Field(0.0, description="numeric: add to the mean")
    scale: float = Field(1.0, gt=0, description="numeric: multiply the spread")
    values: dict[str, float] | None = Field(None, description="categorical: new value weights")


class DeploymentChange(_Strict):
    endpoint: str
    deployment: str
    latency_ms: Latency | None = None
    error_rate: float | None = Field(None, ge=0, le=1)
    client_error_rate: float | None = Field(None, ge=0, le=1)
    instance_count: int | None = Field(None, ge=0, le=50)


class DriftChange(_Strict):
    endpoint: str
    features: dict[str, FeatureDrift]


class TrafficChange(_Strict):
    endpoint: str
    traffic: dict[str, int] | None = None
    mirror_traffic: dict[str, int] | None = None
    requests_per_minute: float | None = Field(None, ge=0)


class RegisterModel(_Strict):
    name: str
    version: ModelVersion


class TimelineStep(_Strict):
    """One change at `at` (offset from the scenario start, e.g. '45m'). Exactly one action."""

    at: str
    note: str = ""
    deployment: DeploymentChange | None = None
    drift: DriftChange | None = None
    traffic: TrafficChange | None = None
    register_model: RegisterModel | None = None

    @field_validator("at")
    @classmethod
    def _at_parses(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def offset(self) -> timedelta:
        return parse_duration(self.at)

    @model_validator(mode="after")
    def _one_action(self) -> TimelineStep:
        actions = [n for n in ("deployment", "drift", "traffic", "register_model") if getattr(self, n)]
        if len(actions) != 1:
            raise ValueError(
                f"a timeline step needs exactly one of deployment|drift|traffic|register_model, "
                f"got {actions or 'none'}"
            )
        return self


class Subscription(_Strict):
    name: str
    endpoint: str = Field(description="webhook URL (http://127.0.0.1:... locally)")
    schema_: Literal["EventGridSchema", "CloudEventSchemaV1_0"] = Field("EventGridSchema", alias="schema")
    topic: Literal["workspace", "resource_group", "any"] = "any"
    included_event_types: list[str] | None = None
    subject_begins_with: str | None = None
    max_delivery_attempts: int = Field(30, ge=1, le=30)
    event_ttl_minutes: int = Field(1440, ge=1, le=1440)


class EventGrid(_Strict):
    subscriptions: list[Subscription] = Field(default_factory=list)
    duplicates: float = Field(0.0, ge=0, le=1, description="probability a delivered event is sent again")
    delivery_timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("duplicates", mode="before")
    @classmethod
    def _bool_means_always(cls, value: Any) -> Any:
        return 1.0 if value is True else 0.0 if value is False else value


class Notification(_Strict):
    enabled: bool = True
    operator: Literal["EqualTo", "GreaterThan", "GreaterThanOrEqualTo", "LessThan"] = "GreaterThan"
    threshold: float = 80
    threshold_type: Literal["Actual", "Forecasted"] = "Actual"
    contact_emails: list[str] = Field(default_factory=list)


class Budget(_Strict):
    name: str
    scope: Literal["subscription", "resource_group"] = "resource_group"
    amount: float = Field(gt=0)
    time_grain: Literal["Monthly", "Quarterly", "Annually"] = "Monthly"
    notifications: dict[str, Notification] = Field(default_factory=dict)


class CostThrottle(_Strict):
    """Cost Management's rate limit: a few queries per scope per minute, then 429 with Retry-After."""

    queries_per_minute: int = Field(0, ge=0, le=1000, description="per scope; 0 = never throttle")
    clock: Literal["simulated", "wall"] = Field(
        "simulated", description="which clock the one-minute window follows"
    )


class Costs(_Strict):
    currency: str = "USD"
    history_days: int = Field(14, ge=0, le=400, description="deployments existed this long before start")
    budgets: list[Budget] = Field(default_factory=list)
    throttle: CostThrottle = Field(default_factory=CostThrottle)


class Lro(_Strict):
    seconds: float = Field(
        2.0, ge=0, description="simulated provisioning time of a write (divided by time scale)"
    )


class Scenario(_Strict):
    name: str
    description: str = ""
    seed: int = 1
    azure: AzureIds = Field(default_factory=AzureIds)
    clock: Clock = Field(default_factory=Clock)
    vm_sizes: dict[str, VmSize] = Field(default_factory=dict)
    quota: dict[str, int] = Field(default_factory=dict, description="VM family -> vCPU limit")
    total_vcpu_limit: int = 100
    storage_container: str | None = None
    collector_batch: int = Field(10, ge=1, le=1000, description="requests batched into one record")
    traffic_log_rows: int = Field(
        200_000, ge=1, le=5_000_000, description="per endpoint: the most recent requests the traffic log keeps"
    )
    models: list[Model] = Field(default_factory=list)
    endpoints: list[Endpoint] = Field(default_factory=list)
    timeline: list[TimelineStep] = Field(default_factory=list)
    eventgrid: EventGrid = Field(default_factory=EventGrid)
    costs: Costs = Field(default_factory=Costs)
    lro: Lro = Field(default_factory=Lro)

    def all_vm_sizes(self) -> dict[str, VmSize]:
        return {**DEFAULT_VM_SIZES, **self.vm_sizes}

    @model_validator(mode="after")
    def _references_resolve(self) -> Scenario:
        versions = {(m.name, v.version) for m in self.models for v in m.versions}
        sizes = self.all_vm_sizes()
        for i, ep in enumerate(self.endpoints):
            for j, dep in enumerate(ep.deployments):
                where = f"endpoints.{i}.deployments.{j}"
                if (dep.model.name, dep.model.version) not in versions:
                    raise ValueError(
                        f"{where}.model: model {dep.model.name}:{dep.model.version} is not "
                        f"declared under `models`"
                    )
                if dep.instance_type not in sizes:
                    raise ValueError(
                        f"{where}.instance_type: unknown VM size {dep.instance_type!r}; "
                        f"known: {sorted(sizes)} (add it under `vm_sizes`)"
                    )
        self._check_timeline_targets()
        self._check_training_data()
        self._check_skews()
        return self

    def _check_training_data(self) -> None:
        eps = {ep.name: ep for ep in self.endpoints}
        declared = [
            (f"models.{i}.versions.{j}", v) for i, m in enumerate(self.models) for j, v in enumerate(m.versions)
        ] + [
            (f"timeline.{i}.register_model.version", s.register_model.version)
            for i, s in enumerate(self.timeline)
            if s.register_model
        ]
        for where, version in declared:
            for kind in ("training_data", "golden_set"):
                data = getattr(version, kind)
                if data is None:
                    continue
                name = data.endpoint or (next(iter(eps)) if len(eps) == 1 else None)
                if name is None:
                    raise ValueError(f"{where}.{kind}.endpoint: name the endpoint whose features it draws")
                if name not in eps:
                    raise ValueError(f"{where}.{kind}.endpoint: unknown endpoint {name!r}")
                if not eps[name].features:
                    raise ValueError(f"{where}.{kind}: endpoint {name!r} declares no features to draw")
                if kind == "golden_set":
                    numeric = {f.name for f in eps[name].features if f.dist != "categorical"}
                    missing = sorted(set(version.predictor.weights) - numeric)
                    if missing:
                        raise ValueError(f"{where}.golden_set: the predictor weighs {missing}, which endpoint "
                                         f"{name!r} has no numeric feature of, so no output can be recorded")

    def _check_skews(self) -> None:
        for i, ep in enumerate(self.endpoints):
            numeric = {f.name for f in ep.features if f.dist != "categorical"}
            for j, dep in enumerate(ep.deployments):
                if dep.skew is not None and ep.features and dep.skew.feature not in numeric:
                    raise ValueError(f"endpoints.{i}.deployments.{j}.skew.feature: {dep.skew.feature!r} is not a "
                                     f"numeric feature of endpoint {ep.name!r} ({sorted(numeric)})")

    def _check_timeline_targets(self) -> None:
        deps = {(ep.name, d.name) for ep in self.endpoints for d in ep.deployments}
        eps = {ep.name: ep for ep in self.endpoints}
        for i, step in enumerate(self.timeline):
            where = f"timeline.{i}"
            change = step.deployment or step.drift or step.traffic
            if change is not None and change.endpoint not in eps:
                raise ValueError(f"{where}: unknown endpoint {change.endpoint!r}")
            if step.deployment and (step.deployment.endpoint, step.deployment.deployment) not in deps:
                raise ValueError(f"{where}.deployment: unknown deployment {step.deployment.deployment!r}")
            if step.drift:
                known = {f.name for f in eps[step.drift.endpoint].features}
                unknown = sorted(set(step.drift.features) - known)
                if unknown:
                    raise ValueError(f"{where}.drift.features: not features of the endpoint: {unknown}")


def _format_errors(source: str, error: ValidationError) -> str:
    lines = [f"invalid scenario {source}:"]
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"]) or "(top level)"
        lines.append(f"  - {path}: {item['msg']}")
    return "\n".join(lines)


def parse_scenario(data: Any, source: str = "<inline>") -> Scenario:
    """Validate a scenario given as a dict (parsed YAML/JSON)."""
    if not isinstance(data, dict):
        raise ScenarioError(
            f"invalid scenario {source}: the top level must be a mapping, got {type(data).__name__}"
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_format_errors(source, exc)) from None


def load_scenario_text(text: str, source: str = "<inline>") -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"invalid scenario {source}: not valid YAML: {exc}") from None
    return parse_scenario(data, source)


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"scenario file not found: {path}")
    return load_scenario_text(path.read_text(encoding="utf-8"), str(path))
