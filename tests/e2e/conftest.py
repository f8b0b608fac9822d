"""End-to-end fixtures: the real function_app.py served by devhost processes against the session Azurite.

`app` is one devhost for the whole session; `AppClient` wraps the URL surface an operator uses (the
same as `func start`): /api/..., the Event Grid webhook, the admin endpoint. Queue retries are made
immediate through an AzureFunctionsJobHost__ override, as an operator would set in app settings.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.process import DevHost, start_devhost
from tests.fixtures.events import WORKSPACE

REPO = Path(__file__).resolve().parents[2]


def app_env(connection_string: str, container: str, host_id: str, **extra: str) -> dict[str, str]:
    return {
        "AzureWebJobsStorage": connection_string,
        "MODELWATCH_ALLOWED_WORKSPACES": WORKSPACE,
        "MODELWATCH_STATE_CONTAINER": container,
        "AzureFunctionsWebHost__hostid": host_id,
        "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:00",
        "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.200",
        "DEVHOST_SHUTDOWN_GRACE_SECONDS": "5",
        **extra,
    }


@dataclass
class AppClient:
    host: DevHost

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.host.url(path), params=params, timeout=30)

    def deliver(self, events: Any, aeg_type: str | None = "Notification", function: str = "on_ml_event",
                data: bytes | None = None) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if aeg_type:
            headers["aeg-event-type"] = aeg_type
        url = self.host.url(f"/runtime/webhooks/eventgrid?functionName={function}")
        if data is not None:
            return requests.post(url, data=data, headers=headers, timeout=30)
        return requests.post(url, json=events, headers=headers, timeout=30)

    def run_now(self, function: str, input_value: Any = "") -> requests.Response:
        return requests.post(self.host.url(f"/admin/functions/{function}"), json={"input": input_value}, timeout=30)

    def audit(self, **params: Any) -> list[dict[str, Any]]:
        response = self.get("/api/audit", since=params.pop("since", "1h"), limit=params.pop("limit", 1000),
                            **params)
        assert response.status_code == 200, response.text
        return response.json()["records"]

    def wait_for(self, condition: Callable[[list[dict[str, Any]]], bool], timeout: float = 20.0
                 ) -> list[dict[str, Any]]:
        """Poll the audit trail until `condition(records)` holds; fail with the last records if it never does."""
        deadline = time.monotonic() + timeout
        records: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            records = self.audit()
            if condition(records):
                return records
            time.sleep(0.2)
        raise AssertionError(f"condition not met within {timeout}s; audit trail: {records[-10:]}")


@pytest.fixture(scope="session")
def app_container() -> str:
    return "mw" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
def app_host_id() -> str:
    return "mw-e2e-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def app(storage_connection_string: str, app_container: str, app_host_id: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppClient]:
    log = tmp_path_factory.mktemp("app") / "devhost.log"
    env = app_env(storage_connection_string, app_container, app_host_id)
    with start_devhost(REPO, env=env, log_path=log) as host:
        yield AppClient(host)


def for_event(event_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r["details"].get("event_id") == event_id or r["details"].get("job_id") == f"evt-{event_id}"
