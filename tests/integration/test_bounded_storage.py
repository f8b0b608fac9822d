"""Storage calls are bounded (shared/adapters/storage.py STORAGE_CLIENT_OPTIONS): a worker's call against storage
that is down fails after a few attempts instead of holding its thread for minutes, and /api/health, with its own
short-timeout clients, answers 503 while storage refuses or hangs. Bounds are checked by counting requests and
by a generous test timeout, never by timing."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import azure.functions as func
import pytest
from azure.core.exceptions import AzureError, HttpResponseError

from shared.adapters.storage import STORAGE_CLIENT_OPTIONS, blob_service, state_container
from tools.azurite import free_port

KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
WORKSPACE = "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w"


def storage_at(port: int) -> str:
    """A connection string whose blob and queue endpoints are on a local port of our choosing."""
    base = f"http://127.0.0.1:{port}/devstoreaccount1"
    return (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KEY};"
            f"BlobEndpoint={base};QueueEndpoint={base};")


@pytest.fixture
def nothing_listening() -> int:
    return free_port()


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers: storage frozen."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


@pytest.fixture
def unavailable() -> Iterator[tuple[int, list[str]]]:
    """A storage stand-in that answers every request 503 Server Busy, and the requests it got."""
    seen: list[str] = []

    class Busy(BaseHTTPRequestHandler):
        def _busy(self) -> None:
            seen.append(f"{self.command} {self.path}")
            body = b"<?xml version='1.0'?><Error><Code>ServerBusy</Code><Message>busy</Message></Error>"
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-ms-error-code", "ServerBusy")
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _busy

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def health_with_storage_at(port: int, monkeypatch: pytest.MonkeyPatch) -> func.HttpResponse:
    """GET /api/health as the host calls it, bounded by a 10 s client timeout."""
    from shared.entrypoints.health import health

    monkeypatch.setenv("AzureWebJobsStorage", storage_at(port))
    monkeypatch.setenv("MODELWATCH_ALLOWED_WORKSPACES", WORKSPACE)
    request = func.HttpRequest("GET", "http://localhost:7071/api/health", headers={}, params={}, body=b"")
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(health, request).result(timeout=10)


def test_every_storage_client_gets_bounded_timeouts_and_retries() -> None:
    client = blob_service(storage_at(1))
    transport = client._pipeline._transport  # the SDK's own objects, as built: no other way to read them
    assert (transport.connection_config.timeout, transport.connection_config.read_timeout) == (5, 15)
    [retry] = [p for p in client._pipeline._impl_policies if type(p).__name__ == "ExponentialRetry"]
    assert (retry.total_retries, retry.initial_backoff, retry.increment_base) == (2, 1, 2)
    assert STORAGE_CLIENT_OPTIONS["retry_total"] == 2


def test_a_caller_may_still_choose_its_own_options() -> None:
    client = blob_service(storage_at(1), retry_total=0, read_timeout=3)
    assert client._pipeline._transport.connection_config.read_timeout == 3
    [retry] = [p for p in client._pipeline._impl_policies if type(p).__name__ == "ExponentialRetry"]
    assert retry.total_retries == 0


@pytest.mark.timeout(60)
def test_a_worker_call_against_storage_that_is_down_fails_after_its_bounded_retries(nothing_listening: int) -> None:
    container = state_container(storage_at(nothing_listening), "modelwatch", create=False)
    with pytest.raises(AzureError):
        container.get_blob_client("jobs/x.json").download_blob().readall()


@pytest.mark.timeout(60)
def test_storage_answering_503_is_asked_three_times_per_call(unavailable: tuple[int, list[str]]) -> None:
    port, seen = unavailable
    container = state_container(storage_at(port), "modelwatch", create=False)
    with pytest.raises(HttpResponseError) as raised:
        container.get_blob_client("jobs/x.json").download_blob().readall()
    assert raised.value.status_code == 503
    assert len(seen) == 1 + STORAGE_CLIENT_OPTIONS["retry_total"]  # the SDK's default made it 4, 57 s apart


def test_health_answers_503_while_storage_refuses_connections(nothing_listening: int,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    response = health_with_storage_at(nothing_listening, monkeypatch)
    body = json.loads(response.get_body())
    assert response.status_code == 503
    assert body["checks"]["storage"]["ok"] is False
    assert body["checks"]["storage"]["error"].startswith("storage unreachable")


def test_health_answers_503_while_storage_hangs(black_hole: int, monkeypatch: pytest.MonkeyPatch) -> None:
    response = health_with_storage_at(black_hole, monkeypatch)
    assert response.status_code == 503
    assert json.loads(response.get_body())["checks"]["storage"]["ok"] is False
