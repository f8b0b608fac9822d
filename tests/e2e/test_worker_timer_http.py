"""The worker's poison path, the sweep timer (admin run, two hosts at once), health and the audit API."""

from __future__ import annotations

import base64
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from azure.storage.queue import QueueClient

from devhost.process import start_devhost
from shared.config import JOBS_QUEUE
from tests.e2e.conftest import REPO, AppClient, app_env


def test_health_says_ok_with_storage_details(app: AppClient) -> None:
    response = app.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["storage"]["ok"] and body["checks"]["settings"]["ok"]
    assert "AccountKey" not in response.text


def test_health_is_503_naming_the_bad_setting(storage_connection_string: str, tmp_path: Path) -> None:
    env = app_env(storage_connection_string, "mwbad" + uuid.uuid4().hex[:8], "mw-bad-" + uuid.uuid4().hex[:6],
                  MODELWATCH_ALLOWED_WORKSPACES="ws-demo")
    with start_devhost(REPO, env=env, log_path=tmp_path / "devhost.log") as host:
        response = requests.get(host.url("/api/health"), timeout=30)
    assert response.status_code == 503
    problems = response.json()["checks"]["settings"]["problems"]
    assert "'ws-demo'" in problems["MODELWATCH_ALLOWED_WORKSPACES"]


def test_a_message_that_always_fails_ends_in_the_poison_queue(app: AppClient, storage_connection_string: str
                                                               ) -> None:
    marker = f"not-a-job-{uuid.uuid4().hex[:8]}"
    queue = QueueClient.from_connection_string(storage_connection_string, JOBS_QUEUE)
    queue.send_message(base64.b64encode(marker.encode()).decode())
    poison = QueueClient.from_connection_string(storage_connection_string, f"{JOBS_QUEUE}-poison")
    deadline = time.monotonic() + 30
    contents: list[str] = []
    while time.monotonic() < deadline and marker not in contents:
        try:
            contents = [base64.b64decode(m.content).decode() for m in poison.peek_messages(max_messages=32)]
        except Exception:  # the poison queue does not exist until the first poisoned message
            contents = []
        time.sleep(0.2)
    assert marker in contents
    failures = [r for r in app.audit(kind="job") if r["decision"] in ("failed", "poisoned")
                and "not JSON" in r["details"].get("reason", "")]
    assert [r["details"]["attempt"] for r in failures if r["decision"] == "poisoned"] == [5]


def test_the_sweep_timer_runs_through_the_admin_endpoint(app: AppClient) -> None:
    assert app.run_now("scheduled_sweep").status_code == 202
    app.wait_for(lambda rs: any(r["kind"] == "timer" for r in rs))


def test_two_hosts_running_the_timer_at_once_execute_it_once(storage_connection_string: str, tmp_path: Path) -> None:
    container, host_id = "mwtwo" + uuid.uuid4().hex[:8], "mw-two-" + uuid.uuid4().hex[:6]
    env = app_env(storage_connection_string, container, host_id)
    with start_devhost(REPO, env=env, log_path=tmp_path / "a.log") as a, \
            start_devhost(REPO, env=env, log_path=tmp_path / "b.log") as b:
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda h: requests.post(h.url("/admin/functions/scheduled_sweep"),
                                                            json={"input": ""}, timeout=30).status_code, [a, b]))
        assert answers == [202, 202]
        client = AppClient(a)
        runs = lambda: len(a.invocations("scheduled_sweep")) + len(b.invocations("scheduled_sweep"))  # noqa: E731
        records = client.wait_for(lambda rs: any(r["kind"] == "timer" for r in rs) and runs() >= 2)
        executed = [r for r in records if r["kind"] == "timer" and r["decision"] == "executed"]
        assert len(executed) == 1
        outcomes = sorted(i["outcome"] for h in (a, b) for i in h.invocations("scheduled_sweep"))
        assert outcomes.count("succeeded") >= 1


@pytest.mark.parametrize("params, field", [({"since": "yesterday"}, "since"), ({"limit": "0"}, "limit"),
                                           ({"limit": "many"}, "limit"),
                                           ({"cursor": "nope"}, "cursor"), ({"since": "99999999d"}, "since"),
                                           ({"limit": "²"}, "limit")])
def test_audit_api_rejects_bad_parameters_naming_them(app: AppClient, params: dict, field: str) -> None:
    response = app.get("/api/audit", **params)
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == field


def test_audit_pages_follow_the_cursor_without_repeats(app: AppClient) -> None:
    for _ in range(3):
        assert app.run_now("scheduled_sweep").status_code == 202
    before = {r["id"] for r in app.wait_for(lambda rs: len(rs) >= 3)}  # the worker may append more meanwhile
    first = app.get("/api/audit", since="1h", limit=2).json()
    assert first["truncated"] and "next_cursor" in first
    second = app.get("/api/audit", since="1h", limit=1000, cursor=first["next_cursor"]).json()
    ids = [r["id"] for r in first["records"]] + [r["id"] for r in second["records"]]
    assert len(ids) == len(set(ids))
    assert before <= set(ids)
