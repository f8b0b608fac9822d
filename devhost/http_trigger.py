"""HTTP-triggered functions at `/{routePrefix}/{route}`: routing, keys, request in, response out.

The request becomes a real `func.HttpRequest` (query params and route params passed explicitly, as the
worker does); the function's `func.HttpResponse` (returned, `$return`, or set on an http output
binding) becomes the response. A function that raises gives 500 with an empty body, like the real
host. Disabled functions answer 404 unless the master key is presented. This module never writes
storage itself; output bindings go through the invoker.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func
from starlette.requests import Request
from starlette.responses import Response

from devhost.auth import authorized, is_master, presented_key
from devhost.indexing import HTTP, RETURN, FunctionSpec
from devhost.invoker import InvocationResult, Invoker
from devhost.jsonsafe import loads
from devhost.routes import RouteError, RouteTemplate, compile_route
from devhost.settings import Keys

log = logging.getLogger("devhost.http")
ALL_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS")


class HttpRoute:
    def __init__(self, spec: FunctionSpec, prefix: str) -> None:
        self.spec = spec
        route = spec.trigger.attrs.get("route") or spec.name
        try:
            self.template: RouteTemplate = compile_route(prefix, route)
        except RouteError as exc:
            raise RouteError(f"function {spec.name!r} route {route!r}: {exc}") from None
        self.methods = tuple(m.upper() for m in spec.trigger.attrs.get("methods") or ALL_METHODS)
        self.auth_level = str(spec.trigger.attrs.get("authLevel") or "function").lower()


class HttpFunctions:
    def __init__(self, functions: list[FunctionSpec], prefix: str, invoker: Invoker, keys: Keys) -> None:
        self.routes = [HttpRoute(s, prefix) for s in functions if s.trigger_type == HTTP]
        self.routes.sort(key=lambda r: r.template.precedence)
        self._invoker = invoker
        self._keys = keys

    def find(self, path: str, method: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for route in self.routes:
            params = route.template.match(path)
            if params is not None and method in route.methods:
                return route, params
        return None

    async def handle(self, request: Request) -> Response:
        found = self.find(request.url.path, request.method.upper())
        if found is None:
            return Response(status_code=404)
        route, params = found
        key = presented_key(request.headers, request.query_params)
        if route.spec.disabled and not is_master(self._keys, key):
            return Response(status_code=404)
        if not authorized(self._keys, route.auth_level, key):
            return Response(status_code=401)
        body = await request.body()
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=dict(request.query_params),
            route_params=params,
            body=body,
        )
        metadata = _metadata(params, dict(request.query_params), body)
        result = await self._invoker.invoke(route.spec, http_request, metadata)
        return to_response(route.spec, result)


def _metadata(params: dict[str, str], query: dict[str, str], body: bytes) -> dict[str, Any]:
    metadata: dict[str, Any] = {"Query": query}
    try:
        parsed = loads(body) if body else None
    except ValueError:  # not JSON, or too deep (TooDeep): no binding data from the body; the function decides
        parsed = None
    if isinstance(parsed, dict):
        metadata.update(parsed)
    metadata.update(params)
    return metadata


def to_response(spec: FunctionSpec, result: InvocationResult) -> Response:
    if not result.succeeded:
        return Response(status_code=500)
    output = spec.http_output
    value = result.outputs.get(output.name if output else RETURN)
    if value is None:
        return Response(status_code=204)
    if isinstance(value, str):
        return Response(value, status_code=200, media_type="text/plain; charset=utf-8")
    headers = {k: v for k, v in value.headers.items()}
    if not any(k.lower() == "content-type" for k in headers):
        mimetype = value.mimetype or "text/plain"
        headers["content-type"] = (
            f"{mimetype}; charset={value.charset}" if mimetype.startswith("text/") else mimetype
        )
    return Response(value.get_body() or b"", status_code=value.status_code, headers=headers)
