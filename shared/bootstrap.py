"""The composition root: settings -> clients -> services. The one place that wires real dependencies.

Built lazily on first use in each worker process and cached, so loading the function app touches no
storage and imports no SDK. Tests build their own with `build_services(env)`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from shared.config import JOBS_QUEUE, Settings, load_settings

#: A job may run up to host.json's functionTimeout (10 min); its claim must outlive it, or a duplicate
#: message could take a running job over and run it twice.
WORKER_CLAIM_TIMEOUT = timedelta(minutes=15)

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient
    from azure.storage.queue import QueueClient

    from shared.adapters.audit import AuditLog
    from shared.adapters.idempotency import IdempotencyStore
    from shared.services.intake import Intake
    from shared.services.sweep import Sweep
    from shared.services.worker import Worker


@dataclass
class Services:
    settings: Settings
    container: ContainerClient
    queue: QueueClient
    audit: AuditLog
    claims: IdempotencyStore
    intake: Intake
    worker: Worker
    sweep: Sweep


def build_services(env: Mapping[str, str]) -> Services:
    from shared.adapters.audit import AuditLog
    from shared.adapters.idempotency import IdempotencyStore
    from shared.adapters.storage import job_queue, state_container
    from shared.services.intake import Intake
    from shared.services.sweep import Sweep
    from shared.services.worker import Worker

    settings = load_settings(env)
    container = state_container(settings.storage_connection_string, settings.state_container)
    queue = job_queue(settings.storage_connection_string, JOBS_QUEUE)
    audit = AuditLog(container)
    claims = IdempotencyStore(container, timedelta(seconds=settings.claim_timeout_seconds))
    return Services(
        settings=settings,
        container=container,
        queue=queue,
        audit=audit,
        claims=claims,
        intake=Intake(settings.allowed_workspaces, claims, queue.send_message, audit),
        worker=Worker(IdempotencyStore(container, WORKER_CLAIM_TIMEOUT), audit, handlers={},
                      poison_queue=f"{JOBS_QUEUE}-poison"),
        sweep=Sweep(settings.allowed_workspaces, claims, queue.send_message, audit),
    )


@cache
def services() -> Services:
    return build_services(os.environ)
