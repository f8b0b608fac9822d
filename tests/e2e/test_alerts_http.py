"""The alert API through the devhost with keys enforced, a real webhook receiver, and the real alert service."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devhost.process import DevHost, start_devhost
from shared.alerts.bootstrap import build_alert_service
from shared.alerts.model import AlertSignal
from tests.e2e.conftest import REPO, app_env
from tests.emulator.receiver import Receiver
from tests.fixtures.events import WORKSPACE

FUNCTION_KEY, MASTER_KEY = "fn-" + uuid.uuid4().hex, "master-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    instance = Receiver().start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def env(storage_connection_string: str, receiver: Receiver) -> dict[str, str]:
    return app_env(storage_connection_string, "mwal" + uuid.uuid4().hex[:8], "mw-al-" + uuid.uuid4().hex[:6],
                   MODELWATCH_ALERT_WEBHOOK_URL=receiver.url, DEVHOST_FUNCTION_KEYS=FUNCTION_KEY,
                   DEVHOST_MASTER_KEY=MASTER_KEY)


@pytest.fixture(scope="module")
def host(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    with start_devhost(REPO, env=env, log_path=tmp_path_factory.mktemp("alerts") / "devhost.log") as instance:
        yield instance


def call(host: DevHost, method: str, path: str, key: str | None = FUNCTION_KEY, **kwargs: Any) -> requests.Response:
    headers = {"x-functions-key": key} if key else {}
    return requests.request(method, host.url(path), headers=headers, timeout=30, **kwargs)


def test_alert_api_needs_a_function_key(host: DevHost) -> None:
    assert call(host, "GET", "/api/alerts", key=None).status_code == 401
    assert call(host, "GET", "/api/alerts").status_code == 200
    assert requests.get(host.url(f"/api/alerts?code={FUNCTION_KEY}"), timeout=30).status_code == 200


def test_silences_need_the_admin_key(host: DevHost) -> None:
    body = {"matchers": [{"name": "endpoint", "value": "ep1"}], "duration": "1h", "createdBy": "alice",
            "comment": "maintenance"}
    assert call(host, "POST", "/api/silences", json=body).status_code == 401
    created = call(host, "POST", "/api/silences", key=MASTER_KEY, json=body)
    assert created.status_code in (200, 201), created.text


def test_test_alert_reaches_the_webhook_in_the_common_alert_schema(host: DevHost, receiver: Receiver) -> None:
    before = len(receiver.requests)
    response = call(host, "POST", "/api/alerts/test", json={"by": "platform-team"})
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 10
    while len(receiver.requests) <= before and time.monotonic() < deadline:
        time.sleep(0.1)
    posted = receiver.requests[-1]
    assert posted.body["schemaId"] == "azureMonitorCommonAlertSchema"
    assert posted.body["data"]["essentials"]["monitorCondition"] == "Fired"


def test_a_fired_alert_is_listed_and_can_be_acknowledged_over_http(host: DevHost, env: dict[str, str],
                                                                  receiver: Receiver) -> None:
    service = build_alert_service(env)
    signal = AlertSignal(rule="latency-p95", severity="Sev2", targets=f"{WORKSPACE}/onlineEndpoints/ep1",
                         labels={"endpoint": "ep1", "deployment": "green"}, description="p95 above SLO",
                         evidence={"p95_ms": 900, "threshold_ms": 300})
    alert_id = service.fire(signal).alert.id
    listed = call(host, "GET", "/api/alerts", params={"endpoint": "ep1"}).json()
    assert alert_id in str(listed)
    acked = call(host, "POST", f"/api/alerts/{alert_id}/ack", json={"by": "alice", "comment": "looking"})
    assert acked.status_code == 200, acked.text
    assert call(host, "GET", f"/api/alerts/{alert_id}").json()["state"] == "acknowledged"


def test_unknown_alert_is_404(host: DevHost) -> None:
    assert call(host, "GET", "/api/alerts/0000000000000000-1").status_code == 404


def test_bad_state_filter_is_400(host: DevHost) -> None:
    response = call(host, "GET", "/api/alerts", params={"state": "sleeping"})
    assert response.status_code == 400 and "state" in response.text


def test_report_for_unknown_alert_is_404_and_never_a_crash(host: DevHost) -> None:
    assert call(host, "GET", "/api/alerts/0000000000000000-1/report").status_code == 404
