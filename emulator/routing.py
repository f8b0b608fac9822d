"""Case-insensitive routing for the Azure REST surfaces (ARM paths ignore case, Starlette's don't).

Handlers register with `@route(METHOD, regex, name)`; `dispatch` picks the first match, records the
route name for the call log, enforces a bearer token as ARM and Azure Monitor do, and answers unknown
paths with ARM's 404 error body. Helpers build JSON responses and read request bodies with clear
errors. No business logic here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from emulator.core import Emulator

Handler = Callable[["Emulator", Request, dict[str, str]], Awaitable[Response]]
ROUTES: list[tuple[str, re.Pattern[str], str, Handler]] = []

SUB = r"/subscriptions/(?P<sub>[^/]+)"
WS = (
    SUB
    + r"/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
)


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def route(method: str, pattern: str, name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append((method, re.compile(f"^{pattern}/?$", re.IGNORECASE), name, handler))
        return handler

    return register


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


async def read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ArmError(400, "InvalidRequestContent", f"The request content was invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.")
    return body


def caller(request: Request) -> str:
    """Who made the call: the principal in our fake bearer token, else the client's user agent."""
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if token.startswith("fake-entra."):
        return token.removeprefix("fake-entra.").split(".")[0] or "unknown"
    return f"unknown principal ({request.headers.get('user-agent', 'no user agent')[:60]})"


def route_name(method: str, path: str) -> str | None:
    """The name of the Azure route a request would take (for calls answered before routing)."""
    for route_method, pattern, name, _ in ROUTES:
        if route_method == method and pattern.match(path):
            return name
    return None


async def dispatch(request: Request) -> Response:
    emulator: Emulator = request.app.state.emulator
    path = request.url.path
    for method, pattern, name, handler in ROUTES:
        match = pattern.match(path)
        if match is None or method != request.method:
            continue
        request.scope["emulator.route"] = name
        if not request.headers.get("authorization", "").lower().startswith("bearer "):
            return error_response(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing or not a Bearer token.",
            )
        try:
            return await handler(emulator, request, match.groupdict())
        except ArmError as exc:
            return error_response(exc.status, exc.code, exc.message, exc.headers)
    allowed = sorted({m for m, p, _, _ in ROUTES if p.match(path)})
    if allowed:
        return error_response(
            405,
            "MethodNotAllowed",
            f"The requested method {request.method} is not allowed for {path}; allowed: {allowed}",
        )
    return error_response(
        404, "ResourceNotFound", f"The resource at path '{path}' was not found by the emulator."
    )
