"""Live scoring of an online endpoint's deployments: the request an on-call engineer would send by hand.

The endpoint's scoring URI and key come from the control plane through the MLClient
(`online_endpoints.get` -> `scoring_uri`, `online_endpoints.get_keys` -> `POST .../listKeys`, or a token
for `aml_token` endpoints); the request goes straight to the scoring URI with `Authorization: Bearer
<key>` and the `azureml-model-deployment` header, which makes Azure ML route it to that deployment
whatever the traffic split says (a deployment at 0% can be probed too). The body is Azure ML's
`{"input_data": {"columns": [...], "data": [[...]]}}`.

Both clients are parameters (the MLClient, and an HTTP session with `post`, e.g. `requests.Session`).
This module measures and reports; it never judges whether an answer is good (the probe service does),
and the key never leaves it: not in a result, a message or a repr.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

DEPLOYMENT_HEADER = "azureml-model-deployment"
MAX_BODY_CHARS = 4096  # of an answer kept for the report: enough to see its shape, never a whole payload


class ScoringUnavailable(RuntimeError):
    """The endpoint's scoring URI or key could not be obtained from the control plane."""


@dataclass(frozen=True)
class EndpointCredentials:
    scoring_uri: str
    key: str = field(repr=False)
    auth_mode: str = "key"


@dataclass(frozen=True)
class ScoringResult:
    """What one scoring request did. `latency_ms` is the wall time from sending the request to having read
    the whole answer, as a client sees it (None when no answer came). `body` is the parsed JSON answer,
    or None when it was not JSON (then `text` holds its start)."""

    deployment: str
    http_status: int | None
    latency_ms: float | None
    served_by: str | None = None
    body: Any = None
    text: str | None = None
    error: str | None = None
    request_id: str | None = None


class ScoringAdapter:
    def __init__(self, ml_client: MLClient, session: Any, *,
                 perf_counter: Callable[[], float] = time.perf_counter) -> None:
        self._ml = ml_client
        self._session = session
        self._perf_counter = perf_counter
        self._lock = threading.Lock()
        self._credentials: dict[str, EndpointCredentials] = {}

    def credentials(self, endpoint: str) -> EndpointCredentials:
        """Scoring URI and key of the endpoint, fetched once per adapter (concurrent callers share one fetch)."""
        with self._lock:
            if endpoint not in self._credentials:
                self._credentials[endpoint] = self._fetch_credentials(endpoint)
            return self._credentials[endpoint]

    def _fetch_credentials(self, endpoint: str) -> EndpointCredentials:
        from azure.core.exceptions import AzureError

        try:
            ep = self._ml.online_endpoints.get(endpoint)
            keys = self._ml.online_endpoints.get_keys(endpoint)
        except AzureError as exc:
            raise ScoringUnavailable(f"could not read the scoring URI and key of endpoint {endpoint!r}: "
                                     f"{type(exc).__name__}: {_first_line(exc)}") from exc
        uri = getattr(ep, "scoring_uri", None)
        # key endpoints answer listKeys with EndpointAuthKeys; aml_token endpoints with EndpointAuthToken
        key = getattr(keys, "primary_key", None) or getattr(keys, "access_token", None)
        if not uri or not key:
            raise ScoringUnavailable(f"endpoint {endpoint!r} reports no scoring URI or no key "
                                     f"(auth mode {getattr(ep, 'auth_mode', None)!r})")
        return EndpointCredentials(str(uri), str(key), str(getattr(ep, "auth_mode", "key") or "key"))

    def score(self, endpoint: str, deployment: str, rows: list[dict[str, Any]], timeout: float) -> ScoringResult:
        """POST `rows` to the deployment (header routing) and time it. Network failures become a result
        with `error`, never an exception: a probe reports them next to the other deployments' answers."""
        creds = self.credentials(endpoint)
        columns = list(dict.fromkeys(name for row in rows for name in row))
        body = {"input_data": {"columns": columns, "data": [[row.get(c) for c in columns] for row in rows]}}
        headers = {"Authorization": f"Bearer {creds.key}", "Content-Type": "application/json",
                   DEPLOYMENT_HEADER: deployment}
        started = self._perf_counter()
        try:
            response = self._session.post(creds.scoring_uri, data=json.dumps(body), headers=headers,
                                          timeout=timeout, allow_redirects=False)
            raw = response.text
        except Exception as exc:  # requests' errors, whichever: the probe names them
            return ScoringResult(deployment, None, None, error=f"{type(exc).__name__}: {_first_line(exc)}")
        latency_ms = round((self._perf_counter() - started) * 1000, 3)
        try:
            parsed, text = json.loads(raw), None
        except ValueError:
            parsed, text = None, raw[:MAX_BODY_CHARS]
        got = {k.lower(): v for k, v in response.headers.items()}
        return ScoringResult(deployment, response.status_code, latency_ms, served_by=got.get(DEPLOYMENT_HEADER),
                             body=parsed, text=text,
                             request_id=got.get("x-request-id") or got.get("x-ms-request-id"))


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
