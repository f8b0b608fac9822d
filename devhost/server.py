"""The Host: wires indexed functions to their triggers and serves the ASGI app.

Construction validates everything that can be checked before serving (schedules, `%settings%`,
connections, routes) so mistakes surface at start. `start()` prepares storage (queues, the hosts
container) and launches timer and queue loops; `stop()` stops them, waits up to the shutdown grace for
running invocations, and releases every lease. This module owns no trigger semantics itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from devhost.admin import AdminApi
from devhost.eventgrid import EventGridWebhook
from devhost.expressions import resolve_app_settings
from devhost.http_trigger import ALL_METHODS, HttpFunctions
from devhost.indexing import HTTP, QUEUE, TIMER, FunctionSpec
from devhost.invoker import Invoker
from devhost.leases import BlobLocks
from devhost.outputs import OutputWriter
from devhost.queues import QueueTrigger
from devhost.schedules import ScheduleMonitor
from devhost.settings import HostConfig, storage_connection
from devhost.storage import StorageClients
from devhost.timers import TimerTrigger

log = logging.getLogger("devhost")
RESTART_DELAY = 5.0


def _check_outputs(spec: FunctionSpec, environ: Mapping[str, str]) -> None:
    for binding in spec.outputs:
        where = f"function {spec.name!r} output {binding.name!r}"
        if binding.type in ("queue", "blob"):
            resolve_app_settings(
                str(binding.attrs.get("queueName") or binding.attrs.get("path") or ""), environ, where
            )
            storage_connection(binding.attrs.get("connection"), environ, services=(binding.type,))
    if spec.retry and spec.trigger_type != TIMER:
        log.warning(
            "function %s: @app.retry is ignored for %s (the host applies it to timers)",
            spec.name,
            spec.trigger_type,
        )


class Host:
    def __init__(
        self,
        config: HostConfig,
        functions: list[FunctionSpec],
        environ: Mapping[str, str],
        public_url: str = "http://localhost:7071",
    ) -> None:
        self.config = config
        self.functions = {s.name: s for s in functions}
        self.public_url = public_url.rstrip("/")
        self.running = False
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        for spec in functions:
            _check_outputs(spec, environ)
        self.storage = StorageClients(environ)
        writer = OutputWriter(self.storage, environ, config.queues.message_encoding)
        self.invoker = Invoker(writer, config.thread_count, str(config.script_root))
        self.locks = BlobLocks(self.storage, config.host_id)
        monitor = ScheduleMonitor(self.storage, config.host_id)
        self.timers = {
            s.name: TimerTrigger(s, environ, self.invoker, self.locks, monitor, self._stopping)
            for s in functions
            if s.trigger_type == TIMER
        }
        self.queues = {
            s.name: QueueTrigger(s, environ, config.queues, self.storage, self.invoker, self._stopping)
            for s in functions
            if s.trigger_type == QUEUE
        }
        if self.timers or self.queues:
            storage_connection(None, environ)  # the host's own storage must be configured
        self.http = HttpFunctions(functions, config.route_prefix, self.invoker, config.keys)
        self.eventgrid = EventGridWebhook(functions, self.invoker, config.keys)
        if config.keys.function_keys and not config.keys.master_key:
            log.warning(
                "DEVHOST_FUNCTION_KEYS is set but DEVHOST_MASTER_KEY is not: the admin API, the Event Grid "
                "webhook and admin-level functions refuse every call until a master key is set"
            )

    def http_url(self, spec: FunctionSpec) -> str:
        route = next(r for r in self.http.routes if r.spec is spec)
        return self.public_url + route.template.template

    def background(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background run failed", exc_info=task.exception())

    async def _supervise(self, name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Keep a trigger loop alive: log what broke it and start it again, unless stopping."""
        while not self._stopping.is_set():
            try:
                await loop()
                return
            except Exception:
                log.exception("trigger loop of %s failed; restarting in %.0fs", name, RESTART_DELAY)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=RESTART_DELAY)

    def _prepare_storage(self) -> None:
        if self.timers:
            self.locks.ensure_container()
        for queue in self.queues.values():
            queue.ensure_queue()

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self._prepare_storage)
        except Exception as exc:
            raise RuntimeError(
                f"cannot prepare storage (AzureWebJobsStorage): {exc}. Is Azurite running? "
                "(python -m tools.azurite start)"
            ) from exc
        loops = {**{n: t.run for n, t in self.timers.items()}, **{n: q.run for n, q in self.queues.items()}}
        for name, loop in loops.items():
            if not self.functions[name].disabled:
                self.background(self._supervise(name, loop))
        self.running = True
        log.info("Host started: %d function(s), host id %s", len(self.functions), self.config.host_id)

    async def stop(self) -> None:
        self.running = False
        self._stopping.set()
        grace = self.config.shutdown_grace
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                log.warning(
                    "shutdown: %d background run(s) still busy after %.0fs; cancelled", len(pending), grace
                )
                await asyncio.wait(pending, timeout=2)
        await self.locks.release_all()
        self.invoker.shutdown()
        log.info("Host stopped")

    def app(self) -> Starlette:
        admin = AdminApi(self)

        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            await self.start()
            yield
            await self.stop()

        routes = [
            Route("/admin/host/status", admin.status, methods=["GET"]),
            Route("/admin/host/ping", admin.ping, methods=["GET", "POST"]),
            Route("/admin/functions", admin.list_functions, methods=["GET"]),
            Route("/admin/functions/{name}", admin.function, methods=["GET", "POST"]),
            Route("/runtime/webhooks/eventgrid", self.eventgrid.handle, methods=["POST", "OPTIONS"]),
            Route("/{path:path}", self.http.handle, methods=list(ALL_METHODS)),
        ]
        return Starlette(routes=routes, lifespan=lifespan)


def function_lines(host: Host) -> list[str]:
    """The start-up listing, as `func start` prints it."""
    lines = []
    for spec in host.functions.values():
        suffix = " (disabled)" if spec.disabled else ""
        if spec.trigger_type == HTTP:
            route = next(r for r in host.http.routes if r.spec is spec)
            lines.append(f"{spec.name}: [{','.join(route.methods)}] {host.http_url(spec)}{suffix}")
        else:
            lines.append(f"{spec.name}: {spec.trigger_type}{suffix}")
    return lines
