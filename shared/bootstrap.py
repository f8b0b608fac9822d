"""The composition root: settings -> clock -> clients -> adapters -> services -> job handlers. The one
place that wires real dependencies.

Built lazily on first use in each worker process and cached, so loading the function app touches no
storage and imports no SDK. Tests build their own with `build_services(env)`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from shared.config import JOBS_QUEUE, Settings, load_settings

#: A job may run up to host.json's functionTimeout (10 min); its claim must outlive it, or a duplicate
#: message could take a running job over and run it twice.
WORKER_CLAIM_TIMEOUT = timedelta(minutes=15)

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient
    from azure.storage.queue import QueueClient

    from shared.adapters.audit import AuditLog
    from shared.adapters.azure_clients import AzureSettings
    from shared.adapters.azure_ml import AzureMLAdapter
    from shared.adapters.collected_data import CollectedData
    from shared.adapters.costs import CostsAdapter
    from shared.adapters.idempotency import IdempotencyStore
    from shared.adapters.metrics import MetricsAdapter
    from shared.adapters.state import BlobStateStore, BlobVerdictStore
    from shared.alerts.service import AlertService
    from shared.clock import Clock
    from shared.services.checks.base import CheckContext
    from shared.services.intake import Intake
    from shared.services.sweep import Sweep
    from shared.services.worker import Worker


class LazyAzure:
    """The Azure adapters for the configured workspace, each built on first use."""

    def __init__(self, settings: AzureSettings | None) -> None:
        if settings is None:
            from shared.services.checks.base import AzureNotConfigured

            raise AzureNotConfigured("no Azure ML workspace is configured: set MODELWATCH_SUBSCRIPTION_ID, "
                                     "MODELWATCH_RESOURCE_GROUP and MODELWATCH_WORKSPACE")
        self.settings = settings
        self.workspace_id = settings.workspace_id
        self._cache: dict[str, Any] = {}

    def _once(self, name: str, build: Any) -> Any:
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    def endpoint_resource_id(self, endpoint: str) -> str:
        return f"{self.workspace_id}/onlineEndpoints/{endpoint}"

    @property
    def ml_client(self) -> Any:
        from shared.adapters.azure_clients import ml_client

        # Against the emulator, poll long-running operations often (its operations take a fraction of a second);
        # in Azure the SDK's own interval, or the Retry-After Azure sends, applies.
        polling = 0.2 if self.settings.local else None
        return self._once("ml_client", lambda: ml_client(self.settings, polling_interval=polling))

    @property
    def ml(self) -> AzureMLAdapter:
        from shared.adapters.azure_ml import AzureMLAdapter

        return self._once("ml", lambda: AzureMLAdapter(self.ml_client))

    @property
    def location(self) -> str:
        """The workspace's region, which picks the regional metrics endpoint (`https://{region}.metrics.monitor.
        azure.com` serves only resources of its region). MODELWATCH_LOCATION overrides it; unset, it is read once
        from the workspace through the MLClient."""
        return self._once("location", lambda: self.settings.location
                          or _workspace_location(self.ml_client, self.settings.workspace))

    @property
    def metrics(self) -> MetricsAdapter:
        from dataclasses import replace

        from shared.adapters.azure_clients import metrics_client
        from shared.adapters.metrics import MetricsAdapter

        def build() -> MetricsAdapter:
            return MetricsAdapter(metrics_client(replace(self.settings, location=self.location)))

        return self._once("metrics", build)

    @property
    def costs(self) -> CostsAdapter:
        from shared.adapters.azure_clients import cost_client
        from shared.adapters.costs import CostsAdapter

        scope = f"/subscriptions/{self.settings.subscription_id}/resourceGroups/{self.settings.resource_group}"
        return self._once("costs", lambda: CostsAdapter(cost_client(self.settings), scope))

    @property
    def collected(self) -> CollectedData:
        """The workspace's default datastore container, where the data collector writes."""
        from shared.adapters.azure_clients import datastore_container
        from shared.adapters.collected_data import CollectedData

        return self._once("collected", lambda: CollectedData(datastore_container(self.settings, self.ml_client)))


def _workspace_location(ml_client: Any, workspace: str) -> str:
    """`eastus` from the workspace's ARM location (which may come as a display name, `East US`)."""
    try:
        location = ml_client.workspaces.get(workspace).location
    except Exception as exc:
        raise RuntimeError(f"could not read the region of workspace {workspace!r} for the metrics endpoint "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                           "set MODELWATCH_LOCATION to the workspace's region") from exc
    if not location:
        raise RuntimeError(f"workspace {workspace!r} has no location; set MODELWATCH_LOCATION to its region")
    return str(location).replace(" ", "").lower()


def app_clock(env: Mapping[str, str]) -> Clock:
    """The clock every decision and due time follows (shared.clock): the emulator's locally, else the system's.

    For entry points that do not need the whole app (the alert API); `build_services` uses the same rule."""
    from shared.clock import clock_for

    url = env.get("MODELWATCH_AZURE_EMULATOR_URL", "").strip() or None
    return clock_for(env.get("MODELWATCH_CLOCK", "").strip().lower() or ("emulator" if url else "system"), url)


def alert_service(env: Mapping[str, str]) -> AlertService:
    """The alert service alone, for the alert API and its timer: the same wiring `build_services` uses (the
    app's clock, the alert settings), without requiring what only checks need (allowed workspaces, Azure)."""
    from shared.alerts.bootstrap import build_alert_service

    return build_alert_service(env, clock=app_clock(env).now)


@dataclass
class Services:
    settings: Settings
    clock: Clock
    container: ContainerClient
    queue: QueueClient
    audit: AuditLog
    claims: IdempotencyStore
    alerts: AlertService
    verdicts: BlobVerdictStore
    state: BlobStateStore
    checks: CheckContext
    intake: Intake
    worker: Worker
    sweep: Sweep


def build_services(env: Mapping[str, str], *, jobs_queue: str = JOBS_QUEUE) -> Services:
    """`jobs_queue` is fixed in the app (a trigger binding names it); tests pass their own."""
    from shared.adapters.audit import AuditLog
    from shared.adapters.idempotency import IdempotencyStore
    from shared.adapters.leases import BlobLeases
    from shared.adapters.state import BlobStateStore, BlobVerdictStore
    from shared.adapters.storage import job_queue, state_container
    from shared.alerts.bootstrap import build_alert_service
    from shared.clock import clock_for
    from shared.services.checks import job_handlers
    from shared.services.checks.base import CheckContext
    from shared.services.intake import Intake
    from shared.services.sweep import Sweep
    from shared.services.worker import Worker
    from shared.telemetry import with_trace_context

    settings = load_settings(env)
    clock = clock_for(settings.clock, settings.azure.emulator_url if settings.azure else
                      env.get("MODELWATCH_AZURE_EMULATOR_URL"))
    container = state_container(settings.storage, settings.state_container)
    queue = job_queue(settings.storage, jobs_queue)
    audit = AuditLog(container)
    # Jobs a job or the sweep enqueues carry the current trace (telemetry on), so they join the cause's trace.
    traced_send = with_trace_context(queue.send_message)
    # Claims guard against concurrent runs, a wall-time matter: they keep the system clock even locally.
    claims = IdempotencyStore(container, timedelta(seconds=settings.claim_timeout_seconds))
    alerts = build_alert_service(env, container=container, audit=audit, clock=clock.now)
    verdicts, state = BlobVerdictStore(container), BlobStateStore(container)
    checks = CheckContext(settings=settings, clock=clock, audit=audit, alerts=alerts, verdicts=verdicts,
                          state=state, azure_factory=lambda: LazyAzure(settings.azure),
                          send_job=traced_send, leases=BlobLeases(container))
    worker = Worker(IdempotencyStore(container, WORKER_CLAIM_TIMEOUT), audit,
                    handlers=job_handlers(checks), poison_queue=f"{jobs_queue}-poison",
                    requeue=lambda message, delay: queue.send_message(message, visibility_timeout=delay),
                    busy_retry_seconds=int(WORKER_CLAIM_TIMEOUT.total_seconds()) + 5)
    return Services(
        settings=settings, clock=clock, container=container, queue=queue, audit=audit, claims=claims,
        alerts=alerts, verdicts=verdicts, state=state, checks=checks,
        intake=Intake(settings.allowed_workspaces, claims, queue.send_message, audit),
        worker=worker,
        sweep=Sweep(settings.allowed_workspaces, claims, traced_send, audit),
    )


@cache
def services() -> Services:
    return build_services(os.environ)
