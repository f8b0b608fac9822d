"""The Azurite fixture gives real Blob and Queue services; `python -m tools.azurite` starts and stops one."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from tools.azurite import REPO_ROOT as REPO
from tools.azurite import connection_string, free_port


def test_blob_round_trip_through_azurite(storage_connection_string: str, unique_name: str) -> None:
    service = BlobServiceClient.from_connection_string(storage_connection_string)
    container = service.create_container(unique_name)
    container.upload_blob("a/b.txt", b"hello")
    assert container.download_blob("a/b.txt").readall() == b"hello"


def test_queue_round_trip_through_azurite(storage_connection_string: str, unique_name: str) -> None:
    queue = QueueClient.from_connection_string(storage_connection_string, unique_name)
    queue.create_queue()
    queue.send_message("job-1")
    [message] = list(queue.receive_messages(max_messages=1))
    assert message.content == "job-1"
    assert message.dequeue_count == 1


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def test_the_stop_command_says_stopped_only_once_azurite_is_gone(tmp_path: Path) -> None:
    ports = [free_port(), free_port(), free_port()]
    where = ["--location", str(tmp_path / "data"), "--blob-port", str(ports[0]), "--queue-port", str(ports[1]),
             "--table-port", str(ports[2])]

    def tool(action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tools.azurite", action, *where], cwd=REPO, text=True,
                              capture_output=True, timeout=60)

    started = tool("start")
    assert started.returncode == 0, started.stderr
    pid = int((tmp_path / "data" / "azurite.pid").read_text())
    try:
        # once it has served requests, Azurite ignores a lone SIGTERM for a long while
        test_blob_round_trip_through_azurite(connection_string(*ports), "served")
        stopped = tool("stop")
        assert stopped.returncode == 0 and f"Azurite stopped (pid {pid})" in stopped.stdout
        assert [p for p in ports if _answers(p)] == []
        assert _state(pid) in ("gone", "Z")  # exited (a zombie only waits for its adopter to reap it)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
