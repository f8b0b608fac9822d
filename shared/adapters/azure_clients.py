"""The one place that builds real Azure SDK clients from settings, for Azure and for the local emulator.

In Azure (MODELWATCH_AZURE_EMULATOR_URL unset): DefaultAzureCredential (managed identity) and the
SDKs' normal endpoints. Locally: a static fake credential (a stand-in for Entra ID, which cannot run
here) and a transport that sends `https://management.azure.com`, the regional metrics endpoint and Log
Analytics (`https://api.loganalytics.io`) to the emulator over plain http. The clients keep their https
URLs, so the bearer-token policy (which refuses http) is satisfied and the code that runs in Azure is
exactly the code we test.

Importing this module costs nothing: every SDK import is inside the function that needs it. Adapters
take the client these factories build as a parameter; nothing here decides anything.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.core.credentials import AccessToken, TokenCredential
    from azure.core.pipeline.transport import HttpTransport
    from azure.eventgrid import EventGridPublisherClient
    from azure.mgmt.costmanagement import CostManagementClient
    from azure.monitor.query import LogsQueryClient
    from azure.monitor.querymetrics import MetricsClient
    from azure.storage.blob import BlobServiceClient

ARM_HOST = "management.azure.com"
LOGS_HOST = "api.loganalytics.io"


from shared.config import SettingsError, StorageConnection  # noqa: E402  (one error type for every setting)


@dataclass(frozen=True)
class AzureSettings:
    """Where the Azure resources are and how to reach them. Built from env by `from_env`."""

    subscription_id: str
    resource_group: str
    workspace: str
    #: the region of the regional metrics endpoint; empty: the workspace's own, read by shared.bootstrap.LazyAzure
    location: str = ""
    emulator_url: str | None = None
    storage_connection_string: str | None = None
    storage_account_url: str | None = None
    #: the app's own storage as the one storage model reads it (connection string or identity-based); None
    #: when not configured or invalid (load_settings names the problem)
    storage: StorageConnection | None = field(default=None, repr=False)
    eventgrid_topic_endpoint: str | None = None
    eventgrid_topic_key: str | None = None
    retry_total: int = 3
    retry_backoff_factor: float = 0.8
    retry_backoff_max: float = 30.0
    timeout_seconds: float = 30.0
    principal: str = "modelwatch-local"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def local(self) -> bool:
        return bool(self.emulator_url)

    @property
    def metrics_endpoint(self) -> str:
        if not self.location:
            raise SettingsError({"MODELWATCH_LOCATION": "the metrics endpoint is regional: set the workspace's region, "
                                 "or build the metrics client through shared.bootstrap.LazyAzure, which reads it"})
        return f"https://{self.location}.metrics.monitor.azure.com"

    @property
    def workspace_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/"
            f"Microsoft.MachineLearningServices/workspaces/{self.workspace}"
        )

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AzureSettings:
        env = dict(os.environ if env is None else env)
        missing = [
            n
            for n in ("MODELWATCH_SUBSCRIPTION_ID", "MODELWATCH_RESOURCE_GROUP", "MODELWATCH_WORKSPACE")
            if not env.get(n)
        ]
        if missing:
            raise SettingsError({n: "is required for Azure calls (see README, Settings)" for n in missing})
        return cls(
            subscription_id=env["MODELWATCH_SUBSCRIPTION_ID"],
            resource_group=env["MODELWATCH_RESOURCE_GROUP"],
            workspace=env["MODELWATCH_WORKSPACE"],
            location=(env.get("MODELWATCH_LOCATION") or "").strip(),
            emulator_url=env.get("MODELWATCH_AZURE_EMULATOR_URL") or None,
            storage_connection_string=env.get("AzureWebJobsStorage") or None,
            storage_account_url=env.get("MODELWATCH_STORAGE_ACCOUNT_URL") or None,
            storage=_app_storage(env),
            eventgrid_topic_endpoint=env.get("MODELWATCH_EVENTGRID_TOPIC_ENDPOINT") or None,
            eventgrid_topic_key=env.get("MODELWATCH_EVENTGRID_TOPIC_KEY") or None,
            retry_total=_int(env, "MODELWATCH_AZURE_RETRY_TOTAL", 3),
            retry_backoff_factor=_float(env, "MODELWATCH_AZURE_RETRY_BACKOFF", 0.8),
            retry_backoff_max=_float(env, "MODELWATCH_AZURE_RETRY_BACKOFF_MAX", 30.0),
            timeout_seconds=_float(env, "MODELWATCH_AZURE_TIMEOUT_SECONDS", 30.0),
        )


def _app_storage(env: dict[str, str]) -> StorageConnection | None:
    """AzureWebJobsStorage (a connection string or identity-based), else MODELWATCH_STORAGE_ACCOUNT_URL with the
    app's identity; None if neither is usable (the settings model reports why)."""
    from shared.config import account_url_connection, storage_connection

    try:
        return storage_connection(env)
    except SettingsError:
        pass
    url = env.get("MODELWATCH_STORAGE_ACCOUNT_URL", "").strip()
    try:
        return account_url_connection(env, "MODELWATCH_STORAGE_ACCOUNT_URL", url) if url else None
    except SettingsError:
        return None


def _int(env: dict[str, str], name: str, default: int) -> int:
    try:
        return int(env.get(name) or default)
    except ValueError:
        raise SettingsError({name: f"must be an integer, got {env.get(name)!r}"}) from None


def _float(env: dict[str, str], name: str, default: float) -> float:
    try:
        return float(env.get(name) or default)
    except ValueError:
        raise SettingsError({name: f"must be a number, got {env.get(name)!r}"}) from None


# ---- credentials -------------------------------------------------------------------------------
class FakeEntraCredential:
    """A static bearer token standing in for Entra ID, which cannot run locally. Never use it in Azure.

    The token names the principal (`fake-entra.<principal>`) so the emulator can record who changed what.
    """

    def __init__(self, principal: str = "modelwatch-local") -> None:
        self.principal = principal

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        from azure.core.credentials import AccessToken

        return AccessToken(f"fake-entra.{self.principal}", int(time.time()) + 3600)

    def close(self) -> None:
        return None


def credential(settings: AzureSettings) -> TokenCredential:
    """DefaultAzureCredential in Azure; the fake static credential against the emulator."""
    if settings.local:
        return FakeEntraCredential(settings.principal)  # type: ignore[return-value]
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


# ---- transport ---------------------------------------------------------------------------------
def emulator_transport(
    emulator_url: str,
    *,
    timeout_seconds: float = 30.0,
    hosts: tuple[str, ...] = (ARM_HOST, LOGS_HOST),
    host_suffixes: tuple[str, ...] = (".metrics.monitor.azure.com",),
) -> HttpTransport:
    """A RequestsTransport that sends requests for Azure hosts to the emulator over http.

    Only the scheme and host change; path and query stay. Other hosts (Azurite, webhooks) pass through.
    """
    from azure.core.pipeline.transport import RequestsTransport

    target = urlsplit(emulator_url.rstrip("/"))
    if target.scheme not in ("http", "https") or not target.netloc:
        raise SettingsError(
            f"MODELWATCH_AZURE_EMULATOR_URL must be like http://127.0.0.1:8089, got {emulator_url!r}"
        )

    class EmulatorTransport(RequestsTransport):  # type: ignore[misc]
        def send(self, request: Any, **kwargs: Any) -> Any:
            kwargs.pop("enforce_https", None)
            parts = urlsplit(request.url)
            host = (parts.hostname or "").lower()
            if not (host in hosts or any(host.endswith(s) for s in host_suffixes)):
                return super().send(request, **kwargs)
            original = request.url
            request.url = urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))
            try:
                return super().send(request, **kwargs)
            finally:
                request.url = original  # pollers and redirects reuse the request: keep its https URL

    return EmulatorTransport(connection_timeout=min(timeout_seconds, 10.0), read_timeout=timeout_seconds)


def client_kwargs(settings: AzureSettings) -> dict[str, Any]:
    """Retry, timeout and transport options every SDK client constructor accepts.

    azure-core's RetryPolicy is the one retry layer for transient faults (shared/adapters/retry.py gives the
    worst case of a call); the transport caps each of its waits at `retry_backoff_max`, a server's Retry-After
    included (azure-core would sleep that in full)."""
    from shared.adapters.retry import cap_sleep

    kwargs: dict[str, Any] = {
        "retry_total": settings.retry_total,
        "retry_backoff_factor": settings.retry_backoff_factor,
        "retry_backoff_max": settings.retry_backoff_max,
    }
    if settings.local:
        transport = emulator_transport(settings.emulator_url or "", timeout_seconds=settings.timeout_seconds)
    else:
        from azure.core.pipeline.transport import RequestsTransport

        transport = RequestsTransport(
            connection_timeout=min(settings.timeout_seconds, 10.0), read_timeout=settings.timeout_seconds
        )
    kwargs["transport"] = cap_sleep(transport, settings.retry_backoff_max)
    return kwargs


# ---- clients -----------------------------------------------------------------------------------
def ml_client(settings: AzureSettings, *, polling_interval: float | None = None) -> MLClient:
    """azure-ai-ml MLClient for the workspace. `polling_interval` (seconds) shortens LRO polling."""
    from azure.ai.ml import MLClient

    kwargs = client_kwargs(settings)
    if polling_interval is not None:
        kwargs["polling_interval"] = polling_interval
    return MLClient(
        credential(settings), settings.subscription_id, settings.resource_group, settings.workspace, **kwargs
    )


def metrics_client(settings: AzureSettings) -> MetricsClient:
    """azure-monitor-querymetrics MetricsClient on the regional endpoint (metrics:getBatch)."""
    from azure.monitor.querymetrics import MetricsClient

    return MetricsClient(settings.metrics_endpoint, credential(settings), **client_kwargs(settings))


def logs_client(settings: AzureSettings) -> LogsQueryClient:
    """azure-monitor-query LogsQueryClient (Log Analytics, `https://api.loganalytics.io`).

    The emulator serves the one query the traffic-log adapter sends (shared/adapters/traffic_log.py)."""
    from azure.monitor.query import LogsQueryClient

    return LogsQueryClient(credential(settings), **client_kwargs(settings))


def cost_client(settings: AzureSettings) -> CostManagementClient:
    """azure-mgmt-costmanagement CostManagementClient (query.usage, budgets)."""
    from azure.mgmt.costmanagement import CostManagementClient

    return CostManagementClient(credential(settings), **client_kwargs(settings))


def blob_service_client(settings: AzureSettings) -> BlobServiceClient:
    """The app's own blob storage (locally also where the emulator keeps the workspace's datastores), through the
    one storage factory: a connection string (Azurite locally, SharedKey), or identity-based."""
    from shared.adapters.storage import blob_service

    retry = {"retry_total": settings.retry_total}
    if settings.storage is not None:
        return blob_service(settings.storage, **retry)
    if settings.storage_connection_string:
        return blob_service(settings.storage_connection_string, **retry)
    raise SettingsError("set AzureWebJobsStorage (a connection string, or identity-based AzureWebJobsStorage__*) "
                        "or MODELWATCH_STORAGE_ACCOUNT_URL")


def eventgrid_publisher_client(settings: AzureSettings) -> EventGridPublisherClient:
    """Publisher for our own Event Grid custom topic (alerts). Key auth if a key is set, else identity."""
    from azure.eventgrid import EventGridPublisherClient

    if not settings.eventgrid_topic_endpoint:
        raise SettingsError("MODELWATCH_EVENTGRID_TOPIC_ENDPOINT is not set")
    kwargs: dict[str, Any] = {"retry_total": settings.retry_total}
    if settings.eventgrid_topic_key:
        from azure.core.credentials import AzureKeyCredential

        return EventGridPublisherClient(
            settings.eventgrid_topic_endpoint, AzureKeyCredential(settings.eventgrid_topic_key), **kwargs
        )
    return EventGridPublisherClient(settings.eventgrid_topic_endpoint, credential(settings), **kwargs)


def datastore_container(settings: AzureSettings, ml: MLClient, store: str | None = None) -> Any:
    """A workspace datastore's blob container (`store`, or the default one, where the data collector writes).

    In Azure it is on the datastore's own storage account, reached with the app's identity (Storage Blob Data
    Reader on that account); never the app's own storage. Locally the emulator's datastores live in Azurite,
    reached through the connection string."""
    from azure.storage.blob import BlobServiceClient

    datastore = ml.datastores.get(store) if store else ml.datastores.get_default()
    if settings.local:
        return blob_service_client(settings).get_container_client(datastore.container_name)
    url = f"https://{datastore.account_name}.blob.{datastore.endpoint or 'core.windows.net'}"
    return BlobServiceClient(url, credential=credential(settings)).get_container_client(datastore.container_name)
