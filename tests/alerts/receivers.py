"""Real HTTP receivers for alert tests: a loopback server that records every request and answers as
scripted (200, 500, 429 with Retry-After, or too slowly), and can go down and come back on its port.

Not a mock of any client: the sinks talk real HTTP to it, through requests or the Azure SDK.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.requests: list[Received] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port: int | None = None

    # -- control -------------------------------------------------------------------------------------

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = receiver._record(self.command, self.path, dict(self.headers.items()), body)
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.body.encode()
                with contextlib.suppress(OSError):  # the client may have given up (timeout test)
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            do_POST = do_GET = do_PUT = _serve

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port or 0), Handler)
        server.daemon_threads = True
        self.port = server.server_port
        threading.Thread(
            target=server.serve_forever, args=(0.05,), daemon=True, name=f"receiver-{self.port}"
        ).start()
        self._server = server
        return self

    def stop(self) -> None:
        """Go down: the port refuses connections until start() again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order; then the default."""
        with self._lock:
            self._script.extend(replies)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- inspection ----------------------------------------------------------------------------------

    def _record(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        with self._lock:
            self.requests.append(Received(method, path, {k.lower(): v for k, v in headers.items()}, body))
            return self._script.popleft() if self._script else self.default

    @property
    def bodies(self) -> list[Any]:
        return [r.json for r in self.requests]
