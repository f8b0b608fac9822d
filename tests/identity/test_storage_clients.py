"""The storage factory (shared.adapters.storage) on an identity-based connection: DefaultAzureCredential gets
a token from the (stand-in) managed identity endpoint and the real SDK clients use it over https against Azurite,
which checks every bearer token (`--oauth basic`)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.storage.blob import ContainerClient

from shared.adapters.storage import job_queue, state_container
from shared.config import storage_connection
from tests.identity.conftest import USER_ASSIGNED_CLIENT_ID, identity_settings
from tests.identity.identity_endpoint import IdentityEndpoint, storage_jwt
from tools.azurite import Azurite


class StaticToken:
    """A credential handing out one fixed token (to show what Azurite refuses)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: object) -> object:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, 2**31 - 1)


def test_blobs_round_trip_with_the_managed_identity(oauth_azurite: Azurite, as_in_azure: IdentityEndpoint,
                                                      unique_name: str) -> None:
    container = state_container(storage_connection(identity_settings(oauth_azurite)), unique_name)
    container.upload_blob("state/doc.json", b'{"ok": true}', overwrite=True)
    assert container.download_blob("state/doc.json").readall() == b'{"ok": true}'
    assert as_in_azure.requests[0]["resource"] == "https://storage.azure.com"


def test_queue_messages_round_trip_with_the_managed_identity(oauth_azurite: Azurite, as_in_azure: IdentityEndpoint,
                                                             unique_name: str) -> None:
    queue = job_queue(storage_connection(identity_settings(oauth_azurite)), unique_name)
    queue.send_message('{"id": "job-1"}')
    [message] = list(queue.receive_messages())
    assert message.content == b'{"id": "job-1"}'


def test_a_user_assigned_identity_is_asked_for_by_its_client_id(oauth_azurite: Azurite, as_in_azure: IdentityEndpoint,
                                                                unique_name: str) -> None:
    settings = identity_settings(oauth_azurite, AzureWebJobsStorage__clientId=USER_ASSIGNED_CLIENT_ID)
    state_container(storage_connection(settings), unique_name).upload_blob("a", b"1")
    assert {r.get("client_id") for r in as_in_azure.requests} == {USER_ASSIGNED_CLIENT_ID}


def test_azurite_refuses_a_request_without_a_token(oauth_azurite: Azurite, as_in_azure: IdentityEndpoint,
                                                   unique_name: str) -> None:
    state_container(storage_connection(identity_settings(oauth_azurite)), unique_name)
    with pytest.raises(HttpResponseError) as raised:
        list(ContainerClient(oauth_azurite.blob_service_uri, unique_name).list_blobs())
    assert raised.value.status_code in (401, 403)


def test_azurite_refuses_a_token_for_another_audience(oauth_azurite: Azurite, as_in_azure: IdentityEndpoint,
                                                      unique_name: str) -> None:
    state_container(storage_connection(identity_settings(oauth_azurite)), unique_name)
    token, _ = storage_jwt("https://vault.azure.net")
    client = ContainerClient(oauth_azurite.blob_service_uri, unique_name, credential=StaticToken(token))
    with pytest.raises(ClientAuthenticationError):
        list(client.list_blobs())
