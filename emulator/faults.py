"""Fault injection and the call log, as one ASGI middleware in front of every emulated Azure route.

A fault rule matches a regex on the path (and optionally the method) and answers 429 with
Retry-After, 500 or 503, hangs longer than a client timeout ("timeout"), or delays the real answer
("slow"), for `count` matching requests or until a simulated time. The control API (/_emulator/...) is
never faulted nor logged. The call log counts calls per route template, which the state endpoint shows.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from emulator.clock import iso, parse_iso
from emulator.routing import route_name

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class FaultSpec(BaseModel):
    """Body of POST /_emulator/faults."""

    model_config = ConfigDict(extra="forbid")
    route: str = Field(description="regex searched in the request path")
    method: str | None = None
    kind: Literal["429", "500", "503", "timeout", "slow"]
    retry_after: float = Field(1.0, ge=0, description="429/503: seconds in Retry-After")
    delay_ms: float = Field(0.0, ge=0, description="slow: added delay")
    hang_seconds: float = Field(60.0, ge=0, description="timeout: how long to hang before answering 504")
    count: int | None = Field(None, ge=1, description="how many matching requests to fault (default: all)")
    until: str | None = Field(None, description="simulated ISO time after which the rule stops")

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_text(cls, value: Any) -> Any:
        return str(value)

    @field_validator("route")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"route is not a valid regex: {exc}") from None
        return value

    @field_validator("until")
    @classmethod
    def _until(cls, value: str | None) -> str | None:
        if value is not None:
            parse_iso(value)
        return value


@dataclass
class FaultRule:
    id: str
    spec: FaultSpec
    hits: int = 0

    def matches(self, method: str, path: str, now: datetime) -> bool:
        spec = self.spec
        if spec.method and spec.method.upper() != method.upper():
            return False
        if spec.count is not None and self.hits >= spec.count:
            return False
        if spec.until and now >= parse_iso(spec.until):
            return False
        return re.search(spec.route, path) is not None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, **self.spec.model_dump(), "hits": self.hits}


@dataclass
class CallLog:
    counts: Counter[str] = field(default_factory=Counter)
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=500))


class Faults:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._next = 0

    def add(self, spec: FaultSpec) -> FaultRule:
        self._next += 1
        rule = FaultRule(f"fault-{self._next}", spec)
        self.rules.append(rule)
        return rule

    def clear(self) -> int:
        count, self.rules = len(self.rules), []
        return count

    def match(self, method: str, path: str, now: datetime) -> FaultRule | None:
        for rule in self.rules:
            if rule.matches(method, path, now):
                rule.hits += 1
                return rule
        return None


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    base = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": base + headers})
    await send({"type": "http.response.body", "body": body})


class FaultMiddleware:
    """ASGI middleware: log every non-control call, and inject the first matching fault."""

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        faults: Callable[[], Faults],
        calls: Callable[[], CallLog],
        now: Callable[[], datetime],
    ) -> None:
        self.app, self.faults, self.calls, self.now = app, faults, calls, now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator"):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        rule = self.faults().match(method, path, self.now())
        status_box: dict[str, int] = {}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box["status"] = message["status"]
            await send(message)

        try:
            if rule is None or rule.spec.kind == "slow":
                if rule is not None:
                    await asyncio.sleep(rule.spec.delay_ms / 1000)
                await self.app(scope, receive, send_wrapper)
            else:
                await self._inject(rule, send_wrapper)
        finally:
            self._log(scope, method, path, status_box.get("status"), rule)

    async def _inject(self, rule: FaultRule, send: Send) -> None:
        kind = rule.spec.kind
        if kind == "timeout":
            await asyncio.sleep(rule.spec.hang_seconds)
            await _answer(send, 504, _error_body("GatewayTimeout", "injected timeout"), [])
        elif kind in ("429", "503"):
            retry = str(
                int(rule.spec.retry_after) if rule.spec.retry_after.is_integer() else rule.spec.retry_after
            )
            code = "TooManyRequests" if kind == "429" else "ServiceUnavailable"
            await _answer(
                send,
                int(kind),
                _error_body(code, f"injected {kind} ({rule.id})"),
                [(b"retry-after", retry.encode())],
            )
        else:
            await _answer(send, 500, _error_body("InternalServerError", f"injected 500 ({rule.id})"), [])

    def _log(self, scope: Scope, method: str, path: str, status: int | None, rule: FaultRule | None) -> None:
        route = scope.get("emulator.route")
        if route is None and rule is not None:
            route = route_name(method, path)
        if route is None and scope.get("route") is not None:
            route = getattr(scope["route"], "path", None)
        name = f"{method} {route or path}"
        log = self.calls()
        log.counts[name] += 1
        log.recent.append(
            {
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "fault": rule.id if rule else None,
                "sim_time": iso(self.now()),
            }
        )
