"""TEST DOUBLE of App Service's managed identity endpoint, issuing tokens that Azurite's `--oauth basic` accepts.

In Azure Functions, `DefaultAzureCredential` reaches the app's managed identity through the endpoint the platform
announces in `IDENTITY_ENDPOINT` (with the secret `IDENTITY_HEADER`): `GET ?api-version=2019-08-01&resource=...
[&client_id=<user-assigned identity>]`, answered with `{"access_token", "expires_on", "resource", "token_type"}`.
This stand-in serves that contract on loopback, so the app's credential code runs exactly as in Azure; only the
token's issuer differs. It records every request (to prove which identity was asked for) and never runs in Azure.

Azurite in `--oauth basic` mode checks a bearer token's format (a JWT), `nbf` <= now <= `exp` (`iat` present),
the issuer (`https://sts.windows.net/...`) and the audience (`https://storage.azure.com` or the account's service
URL); it never checks the signature or any permission (node_modules/azurite/README.md, "OAuth Configuration";
dist/src/blob/authentication/BlobTokenAuthenticator.js). The token minted here is HS256 with a throwaway key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TENANT = "00000000-0000-0000-0000-000000000000"
_SIGNING_KEY = b"tests-only-azurite-never-checks-it"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def storage_jwt(audience: str, *, lifetime: int = 3600, issuer: str = f"https://sts.windows.net/{TENANT}/",
                principal: str = "modelwatch-test-identity") -> tuple[str, int]:
    """(token, expires_on): a JWT for `audience` that Azurite's basic OAuth accepts (issuer and audience as Entra
    ID would set them for a storage token)."""
    now = int(time.time())
    claims = {"aud": audience, "iss": issuer, "iat": now - 60, "nbf": now - 60, "exp": now + lifetime,
              "oid": principal, "sub": principal, "tid": TENANT}
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = _b64(hmac.new(_SIGNING_KEY, f"{header}.{body}".encode(), hashlib.sha256).digest())
    return f"{header}.{body}.{signature}", now + lifetime


@dataclass
class IdentityEndpoint:
    """A running stand-in. `env` is what the platform sets for the app; `requests` what the app asked for."""

    secret: str = "identity-header-for-tests"
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}/msi/token"

    @property
    def env(self) -> dict[str, str]:
        return {"IDENTITY_ENDPOINT": self.url, "IDENTITY_HEADER": self.secret}

    def start(self) -> IdentityEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                endpoint.requests.append({**query, "identity_header": self.headers.get("X-IDENTITY-HEADER")})
                if self.headers.get("X-IDENTITY-HEADER") != endpoint.secret or "resource" not in query:
                    self._answer(400, {"error": "invalid_request", "error_description": "missing header or resource"})
                    return
                token, expires_on = storage_jwt(query["resource"])
                self._answer(200, {"access_token": token, "expires_on": str(expires_on),
                                   "resource": query["resource"], "token_type": "Bearer",
                                   "client_id": query.get("client_id", "system-assigned")})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
