"""`GET /api/health`: are the settings valid and is storage reachable? For probes and for humans.

Answers 200 when all pass, 503 naming what is wrong otherwise. Every setting of the app is validated here
through the one settings model, so a bad alert or check setting fails health instead of a later request.
Anonymous, like a load balancer's health probe, so it says only what liveness needs: which settings are
wrong and why, whether storage answers; never a connection string, account name or workspace id.
"""

from __future__ import annotations

import os
import time
from typing import Any

import azure.functions as func

from shared import telemetry
from shared.config import JOBS_QUEUE, SettingsError, StorageConnection, load_settings
from shared.entrypoints.http import json_response

bp = func.Blueprint()

VERSION = "0.1.0"


def _storage_checks(connection: StorageConnection, container_name: str) -> dict[str, Any]:
    """Reach blobs and queues the way the app does (connection string or identity: a token is fetched here)."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    from shared.adapters.storage import blob_service, queue_service

    started = time.perf_counter()
    opts: dict[str, Any] = {"retry_total": 0, "connection_timeout": 3, "read_timeout": 3}
    try:
        blobs = blob_service(connection, **opts)
        blobs.get_service_properties()
        container_exists = blobs.get_container_client(container_name).exists()
        queues = queue_service(connection, **opts)
        try:
            queues.get_queue_client(JOBS_QUEUE).get_queue_properties()
            queue_exists = True
        except ResourceNotFoundError:
            queue_exists = False
    except (AzureError, ValueError) as exc:
        return {"ok": False, "error": f"storage unreachable: {type(exc).__name__}: {str(exc).splitlines()[0]}"}
    return {
        "ok": True,
        "state_container_exists": container_exists,
        "jobs_queue_exists": queue_exists,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@telemetry.traced("http")
def health(req: func.HttpRequest) -> func.HttpResponse:
    checks: dict[str, Any] = {}
    try:
        settings = load_settings(os.environ)
        checks["settings"] = {"ok": True, "azure_configured": settings.azure is not None,
                              "clock": settings.clock}
        checks["storage"] = _storage_checks(settings.storage, settings.state_container)
        checks["storage"]["auth"] = "identity" if settings.storage.identity_based else "connection string"
    except SettingsError as exc:
        checks["settings"] = {"ok": False, "problems": exc.problems}
        checks["storage"] = {"ok": False, "error": "not checked: settings are invalid"}
    ok = all(c.get("ok") for c in checks.values())
    return json_response({"status": "ok" if ok else "unhealthy", "version": VERSION, "checks": checks},
                         200 if ok else 503)
