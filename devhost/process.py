"""Start the devhost as a subprocess, wait until it answers, stop it: for tests and run scripts.

    with start_devhost(Path("."), port=free_port(), env={"AzureWebJobsStorage": conn}) as dh:
        requests.get(dh.url("/api/health"))
        dh.invocations("health")        # the JSON invocation records it printed

`start_devhost` returns only once `GET /admin/host/status` says Running; if the process dies first it
raises with the tail of the host's log, so a broken app fails fast and says why. Output (stdout JSON
records and stderr human log) goes to one log file. This module never imports the function app.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


class DevHostStartError(RuntimeError):
    """The devhost did not come up; the message carries the end of its log."""


@dataclass
class DevHost:
    process: subprocess.Popen[bytes]
    port: int
    host: str
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def invocations(self, function: str | None = None) -> list[dict[str, Any]]:
        """The structured invocation records printed so far (optionally for one function)."""
        records = []
        for line in self.log_text().splitlines():
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if "invocation_id" in record and (function is None or record.get("function") == function):
                records.append(record)
        return records

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (a clean shutdown: loops stop, leases released), SIGKILL if it hangs; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)

    def __enter__(self) -> DevHost:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def _status(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            body = json.loads(response.read() or b"{}")
            return body if response.status == 200 and isinstance(body, dict) else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def start_devhost(
    script_root: Path,
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
    log_path: Path | None = None,
    timeout: float = 30.0,
    inherit_env: bool = True,
    extra_args: Sequence[str] = (),
) -> DevHost:
    """Run `python -m devhost --script-root script_root --port port` and wait until it is Running.

    `port` defaults to a free loopback port; the log file (default: a fresh temp file) is truncated.
    `env` is added to (or, with inherit_env=False, replaces) the current environment; the devhost's
    own rule still applies that the environment beats local.settings.json.
    """
    if port is None:
        from tools.azurite import free_port

        port = free_port()
    environ = dict(os.environ) if inherit_env else {}
    environ.update(env or {})
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), environ.get("PYTHONPATH", "")) if p)
    environ.setdefault("PYTHONUNBUFFERED", "1")
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix=f"devhost-{port}-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    command = [sys.executable, "-m", "devhost", "--script-root", str(Path(script_root).resolve())]
    command += ["--port", str(port), "--host", host, *extra_args]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=environ, cwd=str(REPO_ROOT), start_new_session=True,
        )  # fmt: skip
    devhost = DevHost(process, port, host, log_path)
    deadline = time.monotonic() + timeout
    status_url = devhost.url("/admin/host/status")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = "\n".join(devhost.log_text().splitlines()[-30:])
            raise DevHostStartError(f"devhost exited with code {process.returncode} at start:\n{tail}")
        status = _status(status_url)
        if status and status.get("state") == "Running":
            return devhost
        time.sleep(0.1)
    devhost.stop()
    tail = "\n".join(devhost.log_text().splitlines()[-30:])
    raise DevHostStartError(f"devhost did not answer on {status_url} within {timeout:.0f}s:\n{tail}")
