"""POST a JSON body to a webhook once, with timeouts, and turn whatever happens into a SendOutcome.

Shared by the webhook, Teams, Slack and PagerDuty sinks. Never follows redirects (a redirect would carry
the payload to a host nobody configured), never retries, and never lets the URL reach an error message:
requests' exceptions quote the URL, so every message goes through the redactor.

Bodies go out as UTF-8 JSON (RFC 8259 section 8.1; Slack, Teams, PagerDuty and any webhook read it), not
ASCII-escaped: an emoji costs 4 bytes instead of 12, which is what the receivers' size limits count.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from shared.alerts.schema import encode_json
from shared.alerts.secrets import Redactor, Secret
from shared.alerts.sinks.base import SendOutcome, outcome_for_status

USER_AGENT = "modelwatch-alerts/1.0"

# Decides a 2xx answer's meaning when a status alone is not enough (Teams reports throttling in a 200 body).
BodyCheck = Callable[[int, str], SendOutcome | None]


CONNECT_TIMEOUT = 10.0  # seconds to open a connection
TOTAL_DEADLINE = 45.0  # seconds for a whole post, well inside the outbox's 60 s delivery lease
MAX_BODY = 64 * 1024  # bytes of a receiver's answer worth reading


class JsonPoster:
    def __init__(self, timeout: float, redact: Redactor) -> None:
        self.timeout = timeout
        self.redact = redact
        self._local = threading.local()

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests  # lazy: ~100 ms, only when a notification goes out

            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            self._local.session = session
        return session

    def _read_body(self, response: Any, started: float) -> str:
        """At most MAX_BODY bytes, and never past the total deadline: a receiver that trickles its answer
        must not hold a delivery longer than the outbox lease (60 s), or another relay would post again."""
        deadline = started + min(self.timeout * 1.5, TOTAL_DEADLINE)
        chunks: list[bytes] = []
        size = 0
        try:
            while size < MAX_BODY and time.monotonic() <= deadline:
                chunk = response.raw.read1(4096)  # whatever has arrived, without waiting to fill the buffer
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            response.close()
        return b"".join(chunks)[:MAX_BODY].decode(response.encoding or "utf-8", errors="replace")

    def post(
        self,
        url: Secret | str,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
        check: BodyCheck | None = None,
    ) -> SendOutcome:
        import requests

        target = url.reveal() if isinstance(url, Secret) else url
        data = encode_json(body)
        started = time.monotonic()
        try:
            response = self._session().post(
                target,
                data=data,
                timeout=(min(self.timeout, CONNECT_TIMEOUT), self.timeout),
                allow_redirects=False,
                stream=True,
                headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
            )
            text = self._read_body(response, started)
        except requests.Timeout:
            return SendOutcome(ok=False, retryable=True, error=f"timed out after {self.timeout:g}s")
        except requests.RequestException as exc:
            return SendOutcome(ok=False, retryable=True, error=self.redact(f"{type(exc).__name__}: {exc}"))
        if 200 <= response.status_code < 300:
            judged = check(response.status_code, text) if check else None
            return judged or SendOutcome.delivered(response.status_code)
        if 300 <= response.status_code < 400:
            return SendOutcome(
                ok=False,
                retryable=False,
                status=response.status_code,
                error=f"HTTP {response.status_code}: unexpected redirect (not followed)",
            )
        return outcome_for_status(
            response.status_code, text, response.headers.get("Retry-After"), self.redact
        )
