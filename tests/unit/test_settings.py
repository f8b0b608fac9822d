"""Settings are validated at start; every error names the setting and says what is wrong."""

import pytest

from shared.config import SettingsError, expand_connection_string, load_settings
from tests.fixtures.events import WORKSPACE

GOOD = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "MODELWATCH_ALLOWED_WORKSPACES": WORKSPACE}


def test_valid_settings_load_with_defaults() -> None:
    settings = load_settings(GOOD)
    assert settings.allowed_workspaces == (WORKSPACE,)
    assert settings.state_container == "modelwatch"
    assert "127.0.0.1:10000" in settings.storage_connection_string


def test_missing_storage_is_named() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"MODELWATCH_ALLOWED_WORKSPACES": WORKSPACE})
    assert set(err.value.problems) == {"AzureWebJobsStorage"}
    assert "required" in err.value.problems["AzureWebJobsStorage"]


def test_workspace_that_is_not_a_resource_id_is_rejected_with_its_value() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({**GOOD, "MODELWATCH_ALLOWED_WORKSPACES": f"{WORKSPACE},ws-demo"})
    assert "'ws-demo'" in err.value.problems["MODELWATCH_ALLOWED_WORKSPACES"]


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"MODELWATCH_STATE_CONTAINER": "Bad_Name", "MODELWATCH_CLAIM_TIMEOUT_SECONDS": "soon"})
    assert set(err.value.problems) == {"AzureWebJobsStorage", "MODELWATCH_ALLOWED_WORKSPACES",
                                       "MODELWATCH_STATE_CONTAINER", "MODELWATCH_CLAIM_TIMEOUT_SECONDS"}
    assert "'soon'" in err.value.problems["MODELWATCH_CLAIM_TIMEOUT_SECONDS"]


def test_out_of_range_number_says_the_range() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({**GOOD, "MODELWATCH_CLAIM_TIMEOUT_SECONDS": "1"})
    assert "between 5 and 3600" in err.value.problems["MODELWATCH_CLAIM_TIMEOUT_SECONDS"]


def test_storage_error_never_echoes_the_connection_string() -> None:
    secret = "AccountKey=c2VjcmV0;DefaultEndpointsProtocol=https"
    with pytest.raises(SettingsError) as err:
        load_settings({**GOOD, "AzureWebJobsStorage": secret})
    assert "c2VjcmV0" not in str(err.value)


def test_workspace_match_ignores_case_and_trailing_slash() -> None:
    settings = load_settings(GOOD)
    assert settings.workspace_allowed(WORKSPACE.lower() + "/")


def test_explicit_connection_string_is_kept() -> None:
    cs = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=k;EndpointSuffix=core.windows.net"
    assert expand_connection_string(cs) == cs
