"""Start and stop Azurite, the Azure Storage emulator, for local runs and tests.

Azurite comes from npm (pinned in package.json / package-lock.json). It listens on loopback only and
keeps its data in a git-ignored folder. `start()` returns only once every service answers, so callers
never race the emulator's start-up.

Usage: python -m tools.azurite start|stop|status [--location DIR] [--blob-port N] ...
`stop` says "stopped" only once the process is gone (SIGKILL if it will not go), and exits 1 if it never goes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from shared.config import AZURITE_ACCOUNT, AZURITE_KEY

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"
DEFAULT_LOCATION = REPO_ROOT / ".azurite"

# Azurite's published development account (not a secret: every Azurite install uses it).
DEV_ACCOUNT, DEV_KEY = AZURITE_ACCOUNT, AZURITE_KEY


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def connection_string(blob_port: int, queue_port: int, table_port: int, host: str = "127.0.0.1") -> str:
    """Explicit connection string for an Azurite on the given ports (SharedKey, plain http)."""
    base = f"http://{host}"
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint={base}:{blob_port}/{DEV_ACCOUNT};"
        f"QueueEndpoint={base}:{queue_port}/{DEV_ACCOUNT};"
        f"TableEndpoint={base}:{table_port}/{DEV_ACCOUNT};"
    )


def _answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Azurite:
    """One Azurite process: blob, queue and table services on loopback."""

    location: Path = DEFAULT_LOCATION
    blob_port: int = 10000
    queue_port: int = 10001
    table_port: int = 10002
    process: subprocess.Popen[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return connection_string(self.blob_port, self.queue_port, self.table_port)

    @property
    def ports(self) -> tuple[int, int, int]:
        return (self.blob_port, self.queue_port, self.table_port)

    def command(self) -> list[str]:
        if not AZURITE_BIN.exists():
            raise RuntimeError(f"Azurite is not installed at {AZURITE_BIN}: run `npm ci` in {REPO_ROOT}")
        return [
            str(AZURITE_BIN),
            "--silent",
            "--location", str(self.location),
            "--blobHost", "127.0.0.1", "--blobPort", str(self.blob_port),
            "--queueHost", "127.0.0.1", "--queuePort", str(self.queue_port),
            "--tableHost", "127.0.0.1", "--tablePort", str(self.table_port),
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
        ]

    def start(self, timeout: float = 30.0, log_path: Path | None = None) -> Azurite:
        busy = [p for p in self.ports if _answers(p)]
        if busy:
            raise RuntimeError(f"cannot start Azurite: port(s) {busy} already in use on 127.0.0.1")
        self.location.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Azurite exited at start with code {self.process.returncode}")
            if all(_answers(p) for p in self.ports):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Azurite did not answer on ports {self.ports} within {timeout:.0f}s")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            # Azurite ignores a lone SIGTERM for a long while once it has served requests; a second one
            # shortly after makes it exit at once.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0.3)
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


def _pid_file(location: Path) -> Path:
    return location / "azurite.pid"


def _alive(pid: int) -> bool:
    """Is `pid` a live process? A zombie (exited, not yet reaped by whoever adopted it) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _is_azurite(pid: int, location: Path) -> bool:
    """Is `pid` still the Azurite the pid file was written for (not a process that reused its number)?"""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return _alive(pid)  # no /proc: trust the pid file
    started_at = (str(location), str(location.resolve()))  # the start command passed it as given
    return _alive(pid) and "azurite" in cmdline and any(where in cmdline for where in started_at)


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def stop_pid(pid: int, timeout: float = 10.0) -> bool:
    """Stop the Azurite process group led by `pid` (not our child: it was started by another command) and
    wait until it is gone: SIGTERM twice (Azurite ignores a lone one once it has served requests), SIGKILL
    after `timeout`. True once the process is gone."""

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)

    send(signal.SIGTERM)
    if _gone(pid, 0.3):
        return True
    send(signal.SIGTERM)
    if _gone(pid, timeout):
        return True
    send(signal.SIGKILL)
    return _gone(pid, 5.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.azurite", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--location", type=Path, default=DEFAULT_LOCATION)
    parser.add_argument("--blob-port", type=int, default=int(os.environ.get("AZURITE_BLOB_PORT", 10000)))
    parser.add_argument("--queue-port", type=int, default=int(os.environ.get("AZURITE_QUEUE_PORT", 10001)))
    parser.add_argument("--table-port", type=int, default=int(os.environ.get("AZURITE_TABLE_PORT", 10002)))
    parser.add_argument("--clean", action="store_true", help="delete the data folder before starting")
    args = parser.parse_args(argv)
    az = Azurite(args.location, args.blob_port, args.queue_port, args.table_port)
    pid_file = _pid_file(args.location)
    if args.action == "start":
        if args.clean and args.location.exists():
            shutil.rmtree(args.location)
        az.start(log_path=None)
        args.location.mkdir(parents=True, exist_ok=True)
        assert az.process is not None
        pid_file.write_text(str(az.process.pid))
        ports = f"blob:{az.blob_port} queue:{az.queue_port} table:{az.table_port}"
        print(f"Azurite up (pid {az.process.pid}) {ports}")
        return 0
    if args.action == "stop":
        if not pid_file.exists():
            print("Azurite: no pid file, nothing to stop")
            return 0
        pid = int(pid_file.read_text())
        if not _is_azurite(pid, args.location):
            print(f"Azurite (pid {pid}) was not running")
        elif stop_pid(pid):
            print(f"Azurite stopped (pid {pid})")
        else:
            print(f"Azurite (pid {pid}) is still running after SIGTERM and SIGKILL", file=sys.stderr)
            return 1
        pid_file.unlink(missing_ok=True)
        return 0
    up = all(_answers(p) for p in az.ports)
    print("Azurite: " + ("up" if up else "down"))
    return 0 if up else 1


if __name__ == "__main__":
    sys.exit(main())
