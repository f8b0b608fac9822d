"""The one storage model (shared.config.storage_connection) reads a connection as the Functions host does:
a connection string, or identity-based `AzureWebJobsStorage__*` settings; every wrong setting is named."""

from __future__ import annotations

import pytest

from shared.config import SettingsError, load_settings, storage_connection
from tests.fixtures.events import WORKSPACE
from tests.identity.conftest import USER_ASSIGNED_CLIENT_ID

BLOB = "https://mwstate.blob.core.windows.net"
QUEUE = "https://mwstate.queue.core.windows.net"
IDENTITY = {"AzureWebJobsStorage__blobServiceUri": BLOB, "AzureWebJobsStorage__queueServiceUri": QUEUE,
            "AzureWebJobsStorage__credential": "managedidentity"}


def problems(env: dict[str, str]) -> dict[str, str]:
    with pytest.raises(SettingsError) as raised:
        load_settings({**env, "MODELWATCH_ALLOWED_WORKSPACES": WORKSPACE})
    return raised.value.problems


def test_service_uris_alone_make_an_identity_based_connection() -> None:
    settings = load_settings({**IDENTITY, "MODELWATCH_ALLOWED_WORKSPACES": WORKSPACE})
    assert settings.storage.identity_based
    assert (settings.storage.blob_service_uri, settings.storage.queue_service_uri) == (BLOB, QUEUE)
    assert settings.storage_connection_string is None


def test_an_account_name_means_the_accounts_public_endpoints() -> None:
    connection = storage_connection({"AzureWebJobsStorage__accountName": "mwstate"})
    assert (connection.blob_service_uri, connection.queue_service_uri) == (BLOB, QUEUE)


def test_a_connection_string_wins_over_identity_settings_as_in_the_host() -> None:
    connection = storage_connection({**IDENTITY, "AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert not connection.identity_based
    assert "127.0.0.1:10000" in (connection.connection_string or "")


def test_an_http_service_uri_is_refused_by_its_setting_name() -> None:
    found = problems({**IDENTITY, "AzureWebJobsStorage__queueServiceUri": "http://mwstate.queue.core.windows.net"})
    assert set(found) == {"AzureWebJobsStorage__queueServiceUri"}
    assert "got a http:// URL" in found["AzureWebJobsStorage__queueServiceUri"]


def test_a_problem_never_names_the_account() -> None:
    found = problems({"AzureWebJobsStorage__blobServiceUri": "http://mwstate.blob.core.windows.net",
                      "AzureWebJobsStorage__queueServiceUri": "mwstate",
                      "AzureWebJobsStorage__accountName": "Mw_State"})
    assert found and not any("mwstate" in why.lower().replace("_", "") for why in found.values())


def test_a_missing_queue_uri_is_named() -> None:
    found = problems({"AzureWebJobsStorage__blobServiceUri": BLOB})
    assert set(found) == {"AzureWebJobsStorage__queueServiceUri"}
    assert "AzureWebJobsStorage__accountName" in found["AzureWebJobsStorage__queueServiceUri"]


def test_a_bad_account_name_is_named() -> None:
    assert set(problems({"AzureWebJobsStorage__accountName": "MW_State"})) == {"AzureWebJobsStorage__accountName"}


def test_a_credential_other_than_managedidentity_is_named() -> None:
    found = problems({**IDENTITY, "AzureWebJobsStorage__credential": "password"})
    assert set(found) == {"AzureWebJobsStorage__credential"}


def test_a_client_id_that_is_not_a_guid_is_named() -> None:
    found = problems({**IDENTITY, "AzureWebJobsStorage__clientId": "id-modelwatch"})
    assert set(found) == {"AzureWebJobsStorage__clientId"}
    assert "GUID" in found["AzureWebJobsStorage__clientId"]


def test_azure_client_id_names_the_user_assigned_identity_when_the_connection_does_not() -> None:
    connection = storage_connection({**IDENTITY, "AZURE_CLIENT_ID": USER_ASSIGNED_CLIENT_ID})
    assert connection.client_id == USER_ASSIGNED_CLIENT_ID


def test_the_connections_own_client_id_wins_over_azure_client_id() -> None:
    other = "00000000-0000-0000-0000-0000000000c1"
    connection = storage_connection({**IDENTITY, "AzureWebJobsStorage__clientId": USER_ASSIGNED_CLIENT_ID,
                                     "AZURE_CLIENT_ID": other})
    assert connection.client_id == USER_ASSIGNED_CLIENT_ID


def test_nothing_configured_names_both_ways_to_configure_storage() -> None:
    found = problems({})
    assert set(found) == {"AzureWebJobsStorage"}
    assert "AzureWebJobsStorage__blobServiceUri" in found["AzureWebJobsStorage"]


def test_a_connection_that_serves_only_blobs_needs_no_queue_uri() -> None:
    connection = storage_connection({"Reports__blobServiceUri": BLOB}, "Reports", services=("blob",))
    assert connection.blob_service_uri == BLOB
    with pytest.raises(SettingsError) as raised:
        connection.service_uri("queue")
    assert set(raised.value.problems) == {"Reports__queueServiceUri"}
