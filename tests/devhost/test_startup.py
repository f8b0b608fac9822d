"""Starting the devhost on apps it cannot host fails at once, with exit code 1 and a message that
says what is wrong and where; configuration files are read the way Core Tools reads them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from devhost.process import REPO_ROOT, start_devhost
from devhost.settings import load_local_settings
from tools.azurite import connection_string, free_port

HOST_JSON = {"version": "2.0"}
HEADER = "import azure.functions as func\n"
HTTP_APP = HEADER + "app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)\n"


def make_app(root: Path, code: str, host_json: dict[str, object] | None = HOST_JSON) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "function_app.py").write_text(textwrap.dedent(code))
    if host_json is not None:
        (root / "host.json").write_text(json.dumps(host_json))
    return root


def run_devhost(root: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "devhost", "--script-root", str(root), "--port", str(free_port())]
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, env={**base, **(env or {})}
    )


FAILURES = {
    "no_function_app": (HEADER + "x = 1\n", "Could not find top level function app instances"),
    "two_function_apps": (
        HEADER + "a = func.FunctionApp()\nb = func.FunctionApp()\n",
        "More than one FunctionApp",
    ),
    "unsupported_binding": (
        HTTP_APP
        + """
@app.route(route="r")
@app.blob_input(arg_name="doc", path="c/b.txt", connection="AzureWebJobsStorage")
def reader(req: func.HttpRequest, doc: str) -> str:
    return doc
""",
        "function 'reader': in binding 'doc' of type 'blob' is not supported",
    ),
    "unsupported_trigger": (
        HTTP_APP
        + """
@app.blob_trigger(arg_name="blob", path="c/{name}", connection="AzureWebJobsStorage")
def on_blob(blob: func.InputStream) -> None:
    pass
""",
        "function 'on_blob': trigger type 'blobTrigger' is not supported",
    ),
    "bad_schedule": (
        HTTP_APP
        + """
@app.timer_trigger(arg_name="t", schedule="every five minutes")
def tick(t: func.TimerRequest) -> None:
    pass
""",
        "function 'tick' schedule: 'every five minutes' is not a valid NCRONTAB expression",
    ),
    "missing_app_setting": (
        HTTP_APP
        + """
@app.queue_trigger(arg_name="msg", queue_name="%NOT_SET_ANYWHERE%", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage) -> None:
    pass
""",
        "app setting %NOT_SET_ANYWHERE% is not set",
    ),
    "annotation_mismatch": (
        HTTP_APP
        + """
@app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
def work(msg: str) -> None:
    pass
""",
        'type of msg binding in function.json "queueTrigger" does not match its Python annotation "str"',
    ),
    "unknown_route_constraint": (
        HTTP_APP
        + """
@app.route(route="items/{id:weird}")
def items(req: func.HttpRequest) -> str:
    return "x"
""",
        "function 'items' route 'items/{id:weird}': route constraint 'weird' is not supported",
    ),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_unhostable_app_exits_1_with_a_clear_message(case: str, tmp_path: Path) -> None:
    code, message = FAILURES[case]
    result = run_devhost(
        make_app(tmp_path / case, code), env={"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    )
    assert result.returncode == 1, result.stderr
    assert message in result.stderr


def test_missing_host_json_exits_1_naming_the_folder(tmp_path: Path) -> None:
    result = run_devhost(make_app(tmp_path / "nohost", HTTP_APP, host_json=None))
    assert result.returncode == 1
    assert f"host.json not found in the script root {tmp_path / 'nohost'}" in result.stderr


def test_unreachable_storage_fails_start_with_exit_3(tmp_path: Path) -> None:
    code = (
        HTTP_APP
        + """
@app.queue_trigger(arg_name="msg", queue_name="jobs", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage) -> None:
    pass
"""
    )
    dead = connection_string(free_port(), free_port(), free_port())
    result = run_devhost(make_app(tmp_path / "nostorage", code), env={"AzureWebJobsStorage": dead})
    assert result.returncode == 3
    assert "cannot prepare storage (AzureWebJobsStorage)" in result.stderr


def test_host_json_allow_list_serves_only_listed_functions_without_storage(tmp_path: Path) -> None:
    code = (
        HTTP_APP
        + """
@app.route(route="a")
def a(req: func.HttpRequest) -> str:
    return "a"

@app.route(route="b")
def b(req: func.HttpRequest) -> str:
    return "b"
"""
    )
    root = make_app(tmp_path / "allow", code, {"version": "2.0", "functions": ["a"]})
    with start_devhost(root, port=free_port(), log_path=tmp_path / "allow.log") as host:
        assert requests.get(host.url("/api/a"), timeout=5).text == "a"
        assert requests.get(host.url("/api/b"), timeout=5).status_code == 404


def test_local_settings_values_never_override_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": {"FROM_FILE": "file", "BOTH": "file"}}))
    environ = {"BOTH": "environment"}
    load_local_settings(path, environ)
    assert environ == {"FROM_FILE": "file", "BOTH": "environment"}
