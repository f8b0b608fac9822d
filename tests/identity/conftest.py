"""Identity-based storage, for real: a second Azurite serving https (a self-signed certificate made here) and
accepting bearer tokens (`--oauth basic`), and a stand-in for App Service's managed identity endpoint, so
`DefaultAzureCredential` in the app gets its tokens the way it does in Azure.

Nothing here gives the app a key: its settings are `AzureWebJobsStorage__blobServiceUri` / `__queueServiceUri`
(and `__credential` / `__clientId`) only. The certificate is trusted through REQUESTS_CA_BUNDLE, set only in the
test that needs it (monkeypatch) or in the devhost process's own environment.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.adapters.storage import _default_credential
from tests.fixtures.events import WORKSPACE
from tests.identity.identity_endpoint import IdentityEndpoint
from tools.azurite import Azurite, free_port, self_signed_certificate

USER_ASSIGNED_CLIENT_ID = "8c6c3a25-5a0a-4b0e-9d47-0f6ea2b0c0de"


@pytest.fixture(scope="session")
def oauth_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    folder: Path = tmp_path_factory.mktemp("azurite-oauth")
    cert, key = self_signed_certificate(folder / "tls")
    instance = Azurite(folder / "data", free_port(), free_port(), free_port(), cert=cert, key=key, oauth=True)
    instance.start(log_path=folder / "azurite.log")
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def identity_endpoint() -> Iterator[IdentityEndpoint]:
    endpoint = IdentityEndpoint().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def as_in_azure(monkeypatch: pytest.MonkeyPatch, oauth_azurite: Azurite,
                identity_endpoint: IdentityEndpoint) -> IdentityEndpoint:
    """This test process trusts the Azurite certificate and has a managed identity, as a function app would."""
    assert oauth_azurite.cert is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(oauth_azurite.cert))
    for name, value in identity_endpoint.env.items():
        monkeypatch.setenv(name, value)
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    identity_endpoint.requests.clear()
    _default_credential.cache_clear()  # a credential caches its tokens: each test starts without one
    return identity_endpoint


def identity_settings(azurite: Azurite, **extra: str) -> dict[str, str]:
    """Host storage as infra/main.bicep sets it: service URIs and the managed identity, no connection string."""
    return {
        "AzureWebJobsStorage__blobServiceUri": azurite.blob_service_uri,
        "AzureWebJobsStorage__queueServiceUri": azurite.queue_service_uri,
        "AzureWebJobsStorage__credential": "managedidentity",
        **extra,
    }


def app_process_env(azurite: Azurite, endpoint: IdentityEndpoint, **extra: str) -> dict[str, str]:
    """The whole environment of a devhost serving the real app: nothing inherited from the test process (so no
    connection string can leak in), the platform's identity endpoint, the Azurite certificate trusted."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "REQUESTS_CA_BUNDLE": str(azurite.cert),
        **endpoint.env,
        **identity_settings(azurite),
        "MODELWATCH_ALLOWED_WORKSPACES": WORKSPACE,
        "MODELWATCH_STATE_CONTAINER": "mwid" + uuid.uuid4().hex[:10],
        "AzureFunctionsWebHost__hostid": "mw-id-" + uuid.uuid4().hex[:8],
        "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:00",
        "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.200",
        "DEVHOST_SHUTDOWN_GRACE_SECONDS": "5",
        **extra,
    }
