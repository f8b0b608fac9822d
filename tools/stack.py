"""Run the whole product locally: Azurite, the Azure emulator on a scenario, and the devhost.

    python -m tools.stack [--port 7071] [--emulator-port 8089] [--scenario scenarios/demo.yaml] [--fresh]

Starts the three in order, each waiting until the previous one answers, subscribes the app's Event
Grid functions to the emulator's events (as `az eventgrid event-subscription create` would), prints
where everything is, and runs until Ctrl-C, SIGTERM or SIGHUP (the terminal closed), then stops all
three and waits until they are gone. Logs go to .run/.

The three run in their own sessions (a Ctrl-C in the terminal reaches only this process, which stops
them in order), so this process must never end without stopping them: it handles SIGINT even when
started in the background (where the shell starts it with SIGINT ignored), SIGTERM and SIGHUP, also
while still starting, and ignores further signals while it stops.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tools.azurite import DEFAULT_LOCATION, REPO_ROOT, Azurite

RUN_DIR = REPO_ROOT / ".run"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopping(BaseException):
    """A stop signal arrived: unwinds starting or watching (like KeyboardInterrupt) to the code that stops all."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _ignore_stop_signals() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def _on_stop_signal(signum: int, _frame: object) -> None:
    _ignore_stop_signals()  # one stop at a time: a second Ctrl-C must not interrupt the stopping
    raise Stopping(signum)


def handle_stop_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP all mean: stop everything. Installed over an inherited SIG_IGN too."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_stop_signal)


def _scenario_ids(path: Path) -> dict[str, str]:
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    azure = {"subscription_id": "00000000-0000-0000-0000-000000000000", "resource_group": "rg-modelwatch",
             "workspace": "mlw-modelwatch", "location": "eastus", **(data.get("azure") or {})}
    return {k: str(v) for k, v in azure.items()}


def workspace_id(ids: dict[str, str]) -> str:
    return (f"/subscriptions/{ids['subscription_id']}/resourceGroups/{ids['resource_group']}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{ids['workspace']}")


def app_environment(azurite: Azurite, emulator_url: str, ids: dict[str, str]) -> dict[str, str]:
    """The app settings the devhost runs the app with: storage, scope, and the emulator as 'Azure'."""
    return {
        "AzureWebJobsStorage": azurite.connection_string,
        "MODELWATCH_ALLOWED_WORKSPACES": workspace_id(ids),
        "MODELWATCH_AZURE_EMULATOR_URL": emulator_url,
        "MODELWATCH_SUBSCRIPTION_ID": ids["subscription_id"],
        "MODELWATCH_RESOURCE_GROUP": ids["resource_group"],
        "MODELWATCH_WORKSPACE": ids["workspace"],
        "MODELWATCH_LOCATION": ids["location"],
        "MODELWATCH_LOG_ANALYTICS_WORKSPACE_ID": ids.get("log_analytics_workspace_id",
                                                         "00000000-0000-4000-8000-00000000a11a"),  # the emulator's
    }


def _wait_http(url: str, process: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 60.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited at start (code {process.returncode}); see {log}:\n"
                               + log.read_text()[-2000:])
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f}s; see {log}")


def subscribe(emulator_url: str, app_url: str, ids: dict[str, str]) -> list[dict[str, Any]]:
    """Event Grid subscriptions from the emulator's topics to the app's two webhook functions."""
    import requests

    specs = [
        {"name": "modelwatch-ml-events", "topic": "workspace",
         "endpoint": f"{app_url}/runtime/webhooks/eventgrid?functionName=on_ml_event"},
        {"name": "modelwatch-arm-events", "topic": "resource_group",
         "endpoint": f"{app_url}/runtime/webhooks/eventgrid?functionName=on_resource_event",
         "included_event_types": ["Microsoft.Resources.ResourceWriteSuccess",
                                  "Microsoft.Resources.ResourceDeleteSuccess"],
         "subject_begins_with": f"{workspace_id(ids)}/onlineEndpoints"},
    ]
    created = []
    for spec in specs:
        response = requests.post(f"{emulator_url}/_emulator/subscriptions", json=spec, timeout=30)
        if response.status_code != 201:
            raise RuntimeError(f"subscribing {spec['name']} failed: {response.status_code} {response.text}")
        created.append(response.json())
    return created


class Stack:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.azurite = Azurite(args.azurite_location, args.blob_port, args.queue_port, args.table_port)
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        RUN_DIR.mkdir(exist_ok=True)

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None
               ) -> tuple[subprocess.Popen[bytes], Path]:
        log = RUN_DIR / f"{name}.log"
        environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        with open(log, "wb") as handle:
            process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT,
                                       env=environ, start_new_session=True)
        self.processes.append((name, process))
        return process, log

    def start(self) -> dict[str, str]:
        if self.args.fresh and self.args.azurite_location.exists():
            import shutil

            shutil.rmtree(self.args.azurite_location)
        self.azurite.start(log_path=RUN_DIR / "azurite.log")
        ids = _scenario_ids(self.args.scenario)
        emulator_url = f"http://127.0.0.1:{self.args.emulator_port}"
        emulator, log = self._spawn("emulator", [
            sys.executable, "-m", "emulator", "--port", str(self.args.emulator_port),
            "--scenario", str(self.args.scenario), "--storage-connection-string", self.azurite.connection_string,
        ])
        _wait_http(f"{emulator_url}/_emulator/health", emulator, "emulator", log)
        app_url = f"http://127.0.0.1:{self.args.port}"
        devhost, log = self._spawn("devhost", [
            sys.executable, "-m", "devhost", "--script-root", str(REPO_ROOT), "--port", str(self.args.port),
        ], env=app_environment(self.azurite, emulator_url, ids))
        _wait_http(f"{app_url}/admin/host/status", devhost, "devhost", log)
        subscribe(emulator_url, app_url, ids)
        # One sweep now, as the first timer tick in Azure would be: the monitor records each endpoint's traffic
        # split, so a canary started from here on is recognised as one.
        _run_timer(app_url, "scheduled_sweep")
        return {"app": app_url, "emulator": emulator_url, "workspace": workspace_id(ids)}

    def stop(self) -> None:
        """Stop the devhost and the emulator (SIGTERM, SIGKILL after 15 s), then Azurite; return once all are gone."""
        for _, process in reversed(self.processes):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for _, process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        self.azurite.stop()

    def watch(self) -> int:
        """Block until a component dies (exit code 1); a stop signal raises Stopping out of here."""
        while True:
            for name, process in self.processes:
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}; see .run/{name}.log", file=sys.stderr)
                    return 1
            time.sleep(0.5)


def _say(text: str) -> None:
    """Print, unless the terminal is gone (after SIGHUP stdout may be a closed tty): stopping matters more."""
    with contextlib.suppress(OSError):
        print(text, flush=True)


def _run_timer(app_url: str, function: str) -> None:
    import requests

    answer = requests.post(f"{app_url}/admin/functions/{function}", json={"input": ""}, timeout=30)
    if answer.status_code != 202:
        raise RuntimeError(f"running {function} failed: {answer.status_code} {answer.text[:200]}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.stack", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7071, help="devhost port (func start's default 7071)")
    parser.add_argument("--emulator-port", type=int, default=8089)
    parser.add_argument("--scenario", type=Path, default=REPO_ROOT / "scenarios" / "demo.yaml")
    parser.add_argument("--azurite-location", type=Path, default=DEFAULT_LOCATION)
    parser.add_argument("--blob-port", type=int, default=10000)
    parser.add_argument("--queue-port", type=int, default=10001)
    parser.add_argument("--table-port", type=int, default=10002)
    parser.add_argument("--fresh", action="store_true", help="start with empty storage")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stack = Stack(args)
    handle_stop_signals()
    try:
        try:
            urls = stack.start()
        except Exception as exc:
            print(f"could not start the stack: {exc}", file=sys.stderr)
            return 1
        _say(f"""
modelwatch is running (logs in .run/; Ctrl-C stops everything)
  app (devhost)   {urls['app']}       curl {urls['app']}/api/health
  Azure emulator  {urls['emulator']}       curl {urls['emulator']}/_emulator/state
  Azurite         blob :{args.blob_port}  queue :{args.queue_port}  table :{args.table_port}
  workspace       {urls['workspace']}
Scenario {args.scenario.name}: Event Grid events from the emulator reach on_ml_event / on_resource_event;
jump ahead with:
  curl -XPOST {urls['emulator']}/_emulator/time/advance -H 'content-type: application/json' -d '{{"minutes": 30}}'
""")
        return stack.watch()
    except Stopping as stop:
        _say(f"{stop}: stopping the devhost, the emulator and Azurite")
        return 0
    finally:
        _ignore_stop_signals()
        stack.stop()
        _say("stopped")


if __name__ == "__main__":
    sys.exit(main())
