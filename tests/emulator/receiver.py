"""A real local HTTP webhook receiver for Event Grid delivery tests (loopback, free port, own thread).

It answers the Event Grid validation handshake (POST with `aeg-event-type: SubscriptionValidation`)
and the CloudEvents OPTIONS handshake, records every request, and answers notifications with the
status codes queued in `responses` (then 200). Not a mock: the emulator talks to it over HTTP.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.azurite import free_port


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    responses: deque[int] = field(default_factory=deque)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def notifications(self) -> list[Received]:
        return [r for r in self.requests if r.headers.get("aeg-event-type") == "Notification"]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.notifications()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(
            f"expected {count} notifications within {timeout}s, got {len(self.notifications())}: "
            f"{[r.headers for r in self.requests]}"
        )

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _record(self) -> Received:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                item = Received(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                receiver.requests.append(item)
                return item

            def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_OPTIONS(self) -> None:
                item = self._record()
                origin = item.headers.get("webhook-request-origin", "")
                self._send(200, headers={"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*"})

            def do_POST(self) -> None:
                item = self._record()
                if item.headers.get("aeg-event-type") == "SubscriptionValidation":
                    code = item.body[0]["data"]["validationCode"]
                    self._send(200, json.dumps({"validationResponse": code}).encode())
                    return
                status = receiver.responses.popleft() if receiver.responses else 200
                self._send(status)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
