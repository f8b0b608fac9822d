"""Azure ML control plane, through azure-ai-ml's MLClient: endpoints, traffic, deployments, models, quota.

The MLClient is a parameter: in Azure it carries DefaultAzureCredential, locally it talks to the
emulator. Traffic changes always GET the endpoint, change its traffic, and PUT the same object back:
building a fresh endpoint object would reset every other setting of the endpoint (auth mode, tags,
identity, mirror traffic). Every SDK error about a missing resource becomes `ResourceMissing`, naming it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.adapters.retry import CONFLICT_ATTEMPTS, CONFLICT_DEADLINE_SECONDS, call_with_retry

if TYPE_CHECKING:
    from azure.ai.ml import MLClient


class ResourceMissing(LookupError):
    """The Azure resource the caller named does not exist (HTTP 404 from ARM)."""


class AzureUnavailable(RuntimeError):
    """Azure did not answer in time (or the connection failed) after the SDK's retries."""


class InvalidTraffic(ValueError):
    """A traffic split Azure would refuse: unknown deployment, negative share, or not summing to 100."""


@dataclass(frozen=True)
class EndpointTraffic:
    endpoint: str
    traffic: dict[str, int]
    mirror_traffic: dict[str, int]
    provisioning_state: str
    scoring_uri: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeploymentInfo:
    name: str
    endpoint: str
    model: str | None
    instance_type: str | None
    instance_count: int
    provisioning_state: str
    tags: dict[str, str] = field(default_factory=dict)


def parse_model_id(model_id: str | None) -> tuple[str, str] | None:
    """(name, version) of the model a deployment names, from `azureml:name:version` or an ARM id
    `.../models/{name}/versions/{version}`; None for anything else (a registry model, no model)."""
    if not model_id:
        return None
    parts = model_id.strip("/").split("/")
    if "models" in parts and "versions" in parts:
        i, j = parts.index("models"), parts.index("versions")
        if j == i + 2 and j + 1 < len(parts):
            return parts[i + 1], parts[j + 1]
    bare = model_id.removeprefix("azureml:")
    name, _, version = bare.rpartition(":")
    return (name, version) if name and version and "/" not in bare else None


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    tags: dict[str, str]
    properties: dict[str, str]
    path: str | None
    model_type: str | None
    job_name: str | None = None  # the job that trained it (its metrics and inputs live there)


@dataclass(frozen=True)
class QuotaUsage:
    """One usage line: current and limit in `unit` (vCPUs for compute families). Azure lists a family
    twice, at subscription (`vmFamily`) and at workspace (`workspaces`) scope: `scope` tells them apart."""

    name: str
    current: float
    limit: float
    unit: str
    location: str | None
    scope: str = "subscription"

    @property
    def headroom(self) -> float:
        return self.limit - self.current


@dataclass(frozen=True)
class VmSize:
    name: str
    family: str
    vcpus: int
    memory_gb: float | None


def _state(value: Any) -> str:
    return str(getattr(value, "value", value) or "Unknown")


def _missing(what: str, exc: Exception) -> ResourceMissing:
    return ResourceMissing(f"{what} does not exist ({type(exc).__name__}: {str(exc).splitlines()[0]})")


class AzureMLAdapter:
    """Transient faults (429, 5xx, timeouts) are retried by the MLClient's own retry policy; this adapter waits
    out only 409 Conflict, at most `conflict_attempts` times within `conflict_deadline` seconds
    (shared/adapters/retry.py: one layer per fault, and the worst case of a call)."""

    def __init__(self, ml_client: MLClient, *, conflict_attempts: int = CONFLICT_ATTEMPTS,
                 conflict_deadline: float = CONFLICT_DEADLINE_SECONDS,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._ml = ml_client
        self._attempts = conflict_attempts
        self._deadline = conflict_deadline
        self._sleep = sleep

    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError, ServiceResponseError

        try:
            return call_with_retry(fn, attempts=self._attempts, deadline=self._deadline, sleep=self._sleep)
        except ResourceNotFoundError as exc:
            raise _missing(what, exc) from exc
        except (ServiceRequestError, ServiceResponseError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise AzureUnavailable(f"{what}: Azure did not answer after the SDK's retries "
                                   f"(MODELWATCH_AZURE_RETRY_TOTAL; {type(exc).__name__}: {reason})") from exc

    # -- endpoints and traffic -------------------------------------------------------------------------
    def endpoints(self) -> list[EndpointTraffic]:
        items = self._call(lambda: list(self._ml.online_endpoints.list()), "workspace")
        return [_traffic_of(ep) for ep in items]

    def endpoint_traffic(self, endpoint: str) -> EndpointTraffic:
        ep = self._call(lambda: self._ml.online_endpoints.get(endpoint), f"online endpoint {endpoint!r}")
        return _traffic_of(ep)

    def deployments(self, endpoint: str) -> list[DeploymentInfo]:
        items = self._call(lambda: list(self._ml.online_deployments.list(endpoint)),
                           f"online endpoint {endpoint!r}")
        return [_deployment_of(d, endpoint) for d in items]

    def set_traffic(self, endpoint: str, traffic: dict[str, int]) -> EndpointTraffic:
        """GET the endpoint, set its live traffic, PUT it back, wait for the operation to finish.

        Retries while Azure answers 409 (a previous operation is still Updating the endpoint)."""
        names = {d.name for d in self.deployments(endpoint)}
        _validate_traffic(endpoint, traffic, names)

        def put() -> Any:
            ep = self._ml.online_endpoints.get(endpoint)
            ep.traffic = dict(traffic)
            return self._ml.online_endpoints.begin_create_or_update(ep).result()

        self._call(put, f"online endpoint {endpoint!r}")
        return self.endpoint_traffic(endpoint)

    # -- models ----------------------------------------------------------------------------------------
    def model_versions(self, name: str) -> list[ModelVersion]:
        items = self._call(lambda: list(self._ml.models.list(name=name)), f"model {name!r}")
        return [_model_of(m) for m in items]

    def model(self, name: str, version: str) -> ModelVersion:
        return _model_of(self._call(lambda: self._ml.models.get(name, version=version),
                                    f"model {name!r} version {version!r}"))

    def set_model_tags(self, name: str, version: str, tags: dict[str, str]) -> ModelVersion:
        """GET the model version, merge `tags` into its tags, PUT it back (tags and description are what Azure ML
        lets a registered version change; its path, properties and job stay as they were)."""

        def put() -> Any:
            model = self._ml.models.get(name, version=version)
            model.tags = {**(model.tags or {}), **tags}
            return self._ml.models.create_or_update(model)

        return _model_of(self._call(put, f"model {name!r} version {version!r}"))

    def job_properties(self, job_name: str) -> dict[str, str]:
        """The properties of a job (a training run names its results there, e.g. a sweep's best `score`)."""
        job = self._call(lambda: self._ml.jobs.get(job_name), f"job {job_name!r}")
        return {str(k): str(v) for k, v in (getattr(job, "properties", None) or {}).items()}

    # -- quota -----------------------------------------------------------------------------------------
    def quota_usage(self, location: str | None = None) -> list[QuotaUsage]:
        items = self._call(lambda: list(self._ml.compute.list_usage(location=location)), "workspace")
        return [_usage_of(u) for u in items]

    def vm_sizes(self, location: str | None = None) -> dict[str, VmSize]:
        items = self._call(lambda: list(self._ml.compute.list_sizes(location=location)), "workspace")
        sizes = [_size_of(s) for s in items]
        return {s.name: s for s in sizes}


def _validate_traffic(endpoint: str, traffic: dict[str, int], deployments: set[str]) -> None:
    unknown = sorted(set(traffic) - deployments)
    if unknown:
        raise InvalidTraffic(f"endpoint {endpoint!r} has no deployment(s) {unknown}; it has {sorted(deployments)}")
    if any(not isinstance(v, int) or v < 0 or v > 100 for v in traffic.values()):
        raise InvalidTraffic(f"traffic shares must be whole numbers from 0 to 100, got {traffic}")
    if sum(traffic.values()) != 100:
        raise InvalidTraffic(f"traffic must sum to 100, got {sum(traffic.values())} in {traffic}")


def _traffic_of(ep: Any) -> EndpointTraffic:
    return EndpointTraffic(
        endpoint=ep.name,
        traffic={k: int(v) for k, v in (ep.traffic or {}).items()},
        mirror_traffic={k: int(v) for k, v in (getattr(ep, "mirror_traffic", None) or {}).items()},
        provisioning_state=_state(ep.provisioning_state),
        scoring_uri=getattr(ep, "scoring_uri", None),
        tags={str(k): str(v) for k, v in (getattr(ep, "tags", None) or {}).items()},
    )


def _deployment_of(d: Any, endpoint: str) -> DeploymentInfo:
    return DeploymentInfo(
        name=d.name,
        endpoint=getattr(d, "endpoint_name", None) or endpoint,
        model=d.model if isinstance(d.model, str) else getattr(d.model, "id", None),
        instance_type=getattr(d, "instance_type", None),
        instance_count=int(getattr(d, "instance_count", 0) or 0),
        provisioning_state=_state(getattr(d, "provisioning_state", None)),
        tags=dict(getattr(d, "tags", None) or {}),
    )


def _model_of(m: Any) -> ModelVersion:
    return ModelVersion(
        name=m.name,
        version=str(m.version),
        tags=dict(m.tags or {}),
        properties={str(k): str(v) for k, v in (m.properties or {}).items()},
        path=str(m.path) if getattr(m, "path", None) else None,
        model_type=getattr(m, "type", None),
        job_name=getattr(m, "job_name", None) or None,
    )


def _usage_of(u: Any) -> QuotaUsage:
    # azure-ai-ml 1.35 quirk (seen in its usage model): values land under the REST camelCase names.
    raw = vars(u)
    current = raw.get("currentValue", getattr(u, "current_value", None))
    name = raw.get("name", getattr(u, "name", None))
    if isinstance(name, dict):
        name = name.get("value") or name.get("localizedValue")
    else:
        name = getattr(name, "value", name)
    return QuotaUsage(
        name=str(name),
        current=float(current or 0),
        limit=float(getattr(u, "limit", 0) or 0),
        unit=str(getattr(u, "unit", "") or ""),
        location=raw.get("amlWorkspaceLocation", getattr(u, "aml_workspace_location", None)),
        scope=_usage_scope(str(getattr(u, "type", "") or "")),
    )


def _usage_scope(usage_type: str) -> str:
    kind = usage_type.lower()
    if "/workspaces/" in kind:
        return "workspace"
    return "total" if "dedicatedcores" in kind or "totalcores" in kind else "subscription"


def _size_of(s: Any) -> VmSize:
    raw = vars(s)
    vcpus = raw.get("vCPUs", getattr(s, "v_cp_us", None))
    memory = raw.get("memoryGB", getattr(s, "memory_gb", None))
    return VmSize(name=s.name, family=str(getattr(s, "family", "") or ""), vcpus=int(vcpus or 0),
                  memory_gb=float(memory) if memory is not None else None)
