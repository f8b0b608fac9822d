"""A receiver that trickles its answer cannot hold a delivery past the outbox lease."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from shared.alerts.secrets import Redactor
from shared.alerts.sinks.http import JsonPoster


class Trickle:
    def __init__(self) -> None:
        self.sent = 0
        self.url = ""


@pytest.fixture
def trickling_receiver() -> Iterator[Trickle]:
    """Answers 200 at once, then sends its body one byte every 0.2 s for 20 s (each read well inside
    the read timeout, so only a total deadline can stop it)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()
    trickle = Trickle()
    trickle.url = f"http://127.0.0.1:{server.getsockname()[1]}/hook"

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):
            if stop.is_set():
                break
            try:
                conn.sendall(b"x")
            except OSError:
                break
            trickle.sent += 1
            time.sleep(0.2)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield trickle
    stop.set()
    server.close()


def test_a_trickled_answer_is_cut_at_the_total_deadline(trickling_receiver: Trickle) -> None:
    outcome = JsonPoster(timeout=1.0, redact=Redactor()).post(trickling_receiver.url, {"hello": "world"})
    assert outcome.ok  # the receiver accepted it (200); only the rest of its answer was not waited for
    assert trickling_receiver.sent < 100  # the poster hung up long before the receiver finished
