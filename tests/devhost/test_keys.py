"""Function keys without a master key: the admin level is closed to everyone, never left open.

With DEVHOST_FUNCTION_KEYS set, the operator asked for keys; the admin API and the Event Grid webhook take
only the master key, so when none is configured nothing opens them, and the start-up log says why.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devhost.process import DevHost, start_devhost
from tools.azurite import free_port

FUNCTION_KEY = "only-a-function-key"
APP = '''
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="hello")
def hello(req: func.HttpRequest) -> str:
    return "hello"


@app.route(route="admin-only", auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> str:
    return "admin"


@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent) -> None:
    pass
'''
EVENT = {"id": "k-1", "topic": "t", "subject": "s", "eventType": "E", "eventTime": "2024-01-01T00:00:00Z",
         "data": {}, "dataVersion": "1"}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    root = tmp_path_factory.mktemp("keys")
    (root / "function_app.py").write_text(textwrap.dedent(APP))
    (root / "host.json").write_text(json.dumps({"version": "2.0"}))
    env = {"DEVHOST_FUNCTION_KEYS": FUNCTION_KEY, "DEVHOST_MASTER_KEY": ""}
    with start_devhost(Path(root), port=free_port(), env=env, log_path=root / "devhost.log") as host:
        yield host


@pytest.mark.parametrize("headers", [{}, {"x-functions-key": FUNCTION_KEY}], ids=["no key", "function key"])
def test_the_admin_api_is_closed_without_a_master_key(keyed: DevHost, headers: dict[str, str]) -> None:
    assert requests.get(keyed.url("/admin/functions"), headers=headers, timeout=5).status_code == 401
    run = requests.post(keyed.url("/admin/functions/on_event"), json={"input": EVENT}, headers=headers, timeout=5)
    assert run.status_code == 401


@pytest.mark.parametrize("headers", [{}, {"x-functions-key": FUNCTION_KEY}], ids=["no key", "function key"])
def test_the_event_grid_webhook_is_closed_without_a_master_key(keyed: DevHost, headers: dict[str, str]) -> None:
    response = requests.post(keyed.url("/runtime/webhooks/eventgrid"), params={"functionName": "on_event"},
                             json=[EVENT], headers={"aeg-event-type": "Notification", **headers}, timeout=5)
    assert response.status_code == 401
    assert not [r for r in keyed.invocations("on_event") if r.get("event_id") == EVENT["id"]]


def test_admin_level_functions_are_closed_without_a_master_key(keyed: DevHost) -> None:
    response = requests.get(keyed.url("/api/admin-only"), headers={"x-functions-key": FUNCTION_KEY}, timeout=5)
    assert response.status_code == 401


def test_function_keys_still_open_function_level(keyed: DevHost) -> None:
    assert requests.get(keyed.url("/api/hello"), timeout=5).status_code == 401
    assert requests.get(keyed.url("/api/hello"), params={"code": FUNCTION_KEY}, timeout=5).text == "hello"


def test_the_start_up_log_says_admin_level_is_closed_and_why(keyed: DevHost) -> None:
    text = keyed.log_text()
    assert "DEVHOST_FUNCTION_KEYS is set but DEVHOST_MASTER_KEY is not" in text
    assert FUNCTION_KEY not in text  # the log names settings, never a key
