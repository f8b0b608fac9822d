"""The one place that builds the alert object graph: settings -> storage client -> repository -> sinks
-> service. Tests, the devhost and the blueprint all come through here, swapping a part in one argument.

Imports of Azure SDKs and HTTP libraries happen inside these functions, never at module load.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.alerts.audit import AuditTrail, LoggingAudit
from shared.alerts.secrets import Redactor, install_log_redaction
from shared.alerts.settings import AlertSettings, SettingsError, load_settings

if TYPE_CHECKING:
    from shared.alerts.repository import AlertRepository
    from shared.alerts.service import AlertService
    from shared.alerts.sinks.base import Notifier


def utc_now() -> datetime:
    return datetime.now(UTC)


def container_client(settings: AlertSettings, env: Mapping[str, str] | None = None) -> Any:
    """The state container, through the one storage factory (shared.adapters.storage): the alerts' own
    connection string if set, else `AzureWebJobsStorage` as a connection string; else the alerts' own account
    URL (MODELWATCH_STORAGE_ACCOUNT_URL) with the app's identity; else the identity-based
    `AzureWebJobsStorage__*` connection the rest of the app uses."""
    from shared.adapters.storage import blob_service
    from shared.config import StorageConnection, account_url_connection, expand_connection_string, storage_connection

    values = os.environ if env is None else env
    if settings.storage_connection_string is not None:
        connection = StorageConnection(connection_string=expand_connection_string(
            settings.storage_connection_string.reveal()))
    elif settings.storage_account_url:
        connection = account_url_connection(values, "MODELWATCH_STORAGE_ACCOUNT_URL", settings.storage_account_url)
    elif any(key.startswith("AzureWebJobsStorage__") and value.strip() for key, value in values.items()):
        connection = storage_connection(values, services=("blob",))
    else:
        raise SettingsError(
            "no storage configured: set AzureWebJobsStorage (a connection string) or its identity-based "
            "AzureWebJobsStorage__blobServiceUri (or __accountName), MODELWATCH_STORAGE_CONNECTION_STRING, or "
            "MODELWATCH_STORAGE_ACCOUNT_URL (managed identity)"
        )
    return blob_service(connection).get_container_client(settings.container)


def build_sinks(settings: AlertSettings, repo: AlertRepository, redactor: Redactor) -> list[Notifier]:
    """Blob always; each other sink when its settings are present."""
    from shared.alerts.sinks.blob import BlobSink
    from shared.alerts.sinks.http import JsonPoster

    poster = JsonPoster(settings.http_timeout, redactor)
    sinks: list[Notifier] = [BlobSink(repo)]
    if settings.webhook_url:
        from shared.alerts.sinks.webhook import WebhookSink

        sinks.append(WebhookSink(settings.webhook_url, poster))
    if settings.teams_webhook_url:
        from shared.alerts.sinks.teams import TeamsSink

        sinks.append(TeamsSink(settings.teams_webhook_url, poster))
    if settings.slack_webhook_url:
        from shared.alerts.sinks.slack import SlackSink

        sinks.append(SlackSink(settings.slack_webhook_url, poster))
    if settings.pagerduty_routing_key:
        from shared.alerts.sinks.pagerduty import PagerDutySink

        sinks.append(PagerDutySink(settings.pagerduty_routing_key, settings.pagerduty_url, poster))
    if settings.eventgrid_topic_endpoint and settings.eventgrid_topic_key:
        from shared.alerts.sinks.eventgrid import EventGridSink

        sinks.append(
            EventGridSink(
                settings.eventgrid_topic_endpoint,
                settings.eventgrid_topic_key,
                settings.http_timeout,
                redactor,
            )
        )
    return sinks


def self_resource_id(env: Mapping[str, str]) -> str:
    """This function app's ARM id (target of the alerting path's own alerts), from the variables App
    Service sets; `modelwatch` when running elsewhere."""
    owner, group, site = (
        env.get("WEBSITE_OWNER_NAME"),
        env.get("WEBSITE_RESOURCE_GROUP"),
        env.get("WEBSITE_SITE_NAME"),
    )
    if owner and group and site:
        subscription = owner.split("+", 1)[0]
        return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Web/sites/{site}"
    return "modelwatch"


def build_alert_service(
    env: Mapping[str, str] | None = None,
    *,
    container: Any = None,
    audit: AuditTrail | None = None,
    clock: Callable[[], datetime] | None = None,
) -> AlertService:
    """Settings from `env` (default os.environ); pass `container` (a ContainerClient), `audit` or `clock`
    to use your own. Raises SettingsError naming every wrong setting."""
    from shared.alerts.repository import AlertRepository
    from shared.alerts.service import AlertService

    values = os.environ if env is None else env
    settings = load_settings(values)
    redactor = settings.redactor()
    install_log_redaction(redactor)
    state = container if container is not None else container_client(settings, values)
    repo = AlertRepository(state)
    return AlertService(
        repo,
        build_sinks(settings, repo, redactor),
        clock or utc_now,
        settings,
        audit or _audit_trail(state),
        self_resource_id(values),
    )


def _audit_trail(container: Any) -> AuditTrail:
    """The app's audit trail (append blobs in the state container); the log when there is no real container."""
    from azure.storage.blob import ContainerClient

    from shared.adapters.audit import AuditLog

    return AuditLog(container) if isinstance(container, ContainerClient) else LoggingAudit()
