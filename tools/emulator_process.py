"""Start the Azure emulator as a child process on a free loopback port and wait until it answers.

One launcher for the test fixtures and the benchmarks, so each does not carry its own copy of the start,
health-wait and stop steps. `python -m emulator` itself is documented in emulator/README.md.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tools.azurite import REPO_ROOT, free_port


class EmulatorProcess:
    def __init__(self, scenario: Path, storage_connection_string: str, log: Path, *, time_scale: float = 20.0,
                 start_timeout: float = 60.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "emulator", "--port", str(self.port), "--scenario", str(scenario),
                 "--storage-connection-string", storage_connection_string, "--time-scale", str(time_scale)],
                cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"emulator exited at start: {log.read_text()[-2000:]}")
            try:
                if requests.get(f"{self.url}/_emulator/health", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"emulator did not answer within {start_timeout:.0f}s: {log.read_text()[-2000:]}")

    def control(self, method: str, path: str, body: Any = None, timeout: float = 600) -> Any:
        """Call the control API (/_emulator/...); any answer but 200 raises with the emulator's message."""
        response = requests.request(method, f"{self.url}/_emulator/{path.lstrip('/')}", json=body, timeout=timeout)
        if response.status_code != 200:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
