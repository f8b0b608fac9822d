"""The README's run command as a test fixture: `python -m tools.stack` (what ./scripts/dev.sh runs) on free
ports, with its own Azurite, the emulator on a scenario, and the devhost serving the real function_app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tools.azurite import free_port

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "test_minimal.yaml"


class Stack:
    def __init__(self, tmp: Path, scenario: Path = SCENARIO, env: dict[str, str] | None = None) -> None:
        self.port, self.emulator_port = free_port(), free_port()
        self.ports = [free_port(), free_port(), free_port()]
        self.log = tmp / "stack.log"
        command = [sys.executable, "-m", "tools.stack", "--port", str(self.port), "--emulator-port",
                   str(self.emulator_port), "--scenario", str(scenario), "--azurite-location", str(tmp / "azurite"),
                   "--blob-port", str(self.ports[0]), "--queue-port", str(self.ports[1]),
                   "--table-port", str(self.ports[2])]
        with open(self.log, "wb") as handle:
            self.process = subprocess.Popen(command, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT,
                                            start_new_session=True, env={**os.environ, **(env or {})})

    @property
    def app(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def emulator(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    def wait_until_running(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            if "modelwatch is running" in self.log.read_text():
                return
            time.sleep(0.3)
        raise AssertionError(f"stack did not start in {timeout}s:\n{self.log.read_text()}")

    def audit(self) -> list[dict[str, Any]]:
        """The whole audit trail of the last 7 days, following the API's pages."""
        records: list[dict[str, Any]] = []
        params = {"since": "7d", "limit": "1000"}
        while True:
            page = requests.get(f"{self.app}/api/audit", params=params, timeout=30).json()
            records += page["records"]
            if not page.get("truncated") or not page.get("next_cursor"):
                return records
            params["cursor"] = page["next_cursor"]

    def stop(self) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout=60)

    # -- driving the stack as an on-call engineer and Azure would ---------------------------------------
    def advance(self, minutes: float) -> dict[str, Any]:
        answer = requests.post(f"{self.emulator}/_emulator/time/advance", json={"minutes": minutes}, timeout=300)
        assert answer.ok, answer.text
        return answer.json()

    def run_timer(self, function: str) -> None:
        answer = requests.post(f"{self.app}/admin/functions/{function}", json={"input": ""}, timeout=30)
        assert answer.status_code == 202, answer.text

    def alerts(self, **params: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.app}/api/alerts", params={"state": "all", **params}, timeout=30)
        assert answer.ok, answer.text
        return answer.json()["alerts"]

    def alert(self, alert_id: str) -> dict[str, Any]:
        answer = requests.get(f"{self.app}/api/alerts/{alert_id}", timeout=30)
        assert answer.ok, answer.text
        return answer.json()

    def sweep(self, timeout: float = 120.0) -> list[dict[str, Any]]:
        """Run the sweep timer now and wait until every check job it fanned out is done (or failed for good)."""
        before = {r["id"] for r in self.audit()}
        self.run_timer("scheduled_sweep")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = [r for r in self.audit() if r["id"] not in before]
            if any(r["kind"] == "timer" and r["decision"] == "skipped" for r in new):
                return new  # this 5-minute slot was swept already
            fanned = [r for r in new if r["kind"] == "sweep" and r["decision"] == "fanned_out"]
            if fanned:
                wanted = set(fanned[0]["details"]["jobs"])
                finished = {r["details"].get("job_id") for r in new if r["kind"] == "job"
                            and r["decision"] in ("done", "duplicate", "poisoned")}
                if wanted <= finished:
                    return new
            time.sleep(0.5)
        raise AssertionError(f"sweep did not finish within {timeout}s; last records: {self.audit()[-15:]}")
