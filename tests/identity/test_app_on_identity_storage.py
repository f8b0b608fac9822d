"""The real function_app, served by the devhost, with identity-based storage only: service URIs and the managed
identity (a stand-in for App Service's identity endpoint), against Azurite checking every bearer token over https.
No connection string and no account key anywhere in the process's environment."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.process import REPO_ROOT, start_devhost
from tests.e2e.conftest import AppClient, for_event
from tests.fixtures import events as samples
from tests.identity.conftest import app_process_env
from tests.identity.identity_endpoint import IdentityEndpoint
from tools.azurite import Azurite, free_port


@pytest.fixture(scope="module")
def app(oauth_azurite: Azurite, identity_endpoint: IdentityEndpoint,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppClient]:
    log = tmp_path_factory.mktemp("identity-app") / "devhost.log"
    env = app_process_env(oauth_azurite, identity_endpoint)
    with start_devhost(REPO_ROOT, env=env, inherit_env=False, log_path=log) as host:
        yield AppClient(host)


def decisions(records: list[dict[str, Any]], event_id: str) -> list[tuple[str, str]]:
    match = for_event(event_id)
    return [(r["kind"], r["decision"]) for r in records if match(r)]


def test_the_environment_holds_no_connection_string(oauth_azurite: Azurite,
                                                    identity_endpoint: IdentityEndpoint) -> None:
    env = app_process_env(oauth_azurite, identity_endpoint)
    assert "AzureWebJobsStorage" not in env and not any("AccountKey" in value for value in env.values())


def test_health_is_200_with_identity_storage(app: AppClient) -> None:
    response = app.get("/api/health")
    assert response.status_code == 200, response.text
    storage = response.json()["checks"]["storage"]
    assert (storage["ok"], storage["auth"]) == (True, "identity")


def test_an_event_goes_through_intake_to_the_worker(app: AppClient) -> None:
    event = samples.fresh_id(samples.run_status_changed())
    assert app.deliver([event]).status_code == 202
    records = app.wait_for(lambda rs: ("job", "done") in decisions(rs, event["id"]))
    seen = decisions(records, event["id"])
    assert seen[0] == ("event", "accepted") and seen[-1] == ("job", "done")


def test_the_alert_api_serves_the_alert_the_worker_fired(app: AppClient) -> None:
    event = samples.fresh_id(samples.run_status_changed())
    assert app.deliver([event]).status_code == 202
    app.wait_for(lambda rs: ("job", "done") in decisions(rs, event["id"]))
    listed = app.get("/api/alerts", state="all")
    assert listed.status_code == 200, listed.text
    [alert] = [a for a in listed.json()["alerts"] if a["rule"] == "azureml-run-failed"]
    detail = app.get(f"/api/alerts/{alert['id']}")
    assert detail.status_code == 200, detail.text
    assert detail.json()["evidence"]["event_id"] == event["id"]


def test_a_timer_runs_under_its_blob_lease_with_the_identity(app: AppClient) -> None:
    assert app.run_now("scheduled_sweep").status_code == 202
    app.wait_for(lambda rs: any(r["kind"] == "timer" and r["subject"] == "scheduled_sweep" for r in rs))


def test_a_bad_identity_setting_is_named_by_health(oauth_azurite: Azurite, identity_endpoint: IdentityEndpoint,
                                                   tmp_path: Path) -> None:
    env = app_process_env(oauth_azurite, identity_endpoint, AzureWebJobsStorage__clientId="id-modelwatch")
    with start_devhost(REPO_ROOT, env=env, inherit_env=False, log_path=tmp_path / "devhost.log") as host:
        response = AppClient(host).get("/api/health")
    assert response.status_code == 503
    assert set(response.json()["checks"]["settings"]["problems"]) == {"AzureWebJobsStorage__clientId"}


def test_the_host_refuses_to_start_naming_a_missing_identity_setting(oauth_azurite: Azurite) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT),
           "AzureWebJobsStorage__blobServiceUri": oauth_azurite.blob_service_uri}
    result = subprocess.run([sys.executable, "-m", "devhost", "--script-root", str(REPO_ROOT), "--port",
                             str(free_port())], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, env=env)
    assert result.returncode == 1
    assert "AzureWebJobsStorage__queueServiceUri" in result.stderr
