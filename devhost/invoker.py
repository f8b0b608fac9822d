"""Run one function invocation: arguments in, user code, outputs out, one log record.

Sync functions run in a thread pool sized by PYTHON_THREADPOOL_THREAD_COUNT, async ones are awaited on
the event loop, as the Python worker does. Whatever the user code does (raise, return junk), the
invoker returns an `InvocationResult` and the host keeps serving: it never lets a function's failure
escape. Triggers decide what a failure means (500, retry, poison); this module only reports it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from azure.functions import _abc as azf_abc

from devhost.indexing import RETURN, FunctionSpec
from devhost.logs import InvocationTag, current_invocation, record_invocation
from devhost.outputs import Out, OutputWriter

log = logging.getLogger("devhost.invoker")


class _RetryContext(azf_abc.RetryContext):
    def __init__(self, retry_count: int, max_retry_count: int) -> None:
        self._retry_count = retry_count
        self._max_retry_count = max_retry_count

    @property
    def retry_count(self) -> int:
        return self._retry_count

    @property
    def max_retry_count(self) -> int:
        return self._max_retry_count

    @property
    def exception(self) -> Any:
        return None


class _TraceContext(azf_abc.TraceContext):
    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return ""

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class Context(func.Context):
    """The `context` argument, for functions that ask for one."""

    def __init__(self, invocation_id: str, function_name: str, directory: str, retry: _RetryContext) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._directory = directory
        self._retry = retry
        self._local = threading.local()

    invocation_id = property(lambda self: self._invocation_id)
    function_name = property(lambda self: self._function_name)
    function_directory = property(lambda self: self._directory)
    retry_context = property(lambda self: self._retry)
    trace_context = property(lambda self: _TraceContext())
    thread_local_storage = property(lambda self: self._local)


@dataclass
class InvocationResult:
    invocation_id: str
    outcome: str  # "succeeded" | "failed"
    duration_ms: float
    return_value: Any = None
    outputs: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome == "succeeded"

    @property
    def error_message(self) -> str:
        if self.error is None:
            return ""
        return f"{type(self.error).__name__}: {self.error}"


class Invoker:
    def __init__(self, writer: OutputWriter, thread_count: int, script_root: str) -> None:
        self._writer = writer
        self._pool = ThreadPoolExecutor(max_workers=thread_count, thread_name_prefix="function")
        self._script_root = script_root
        self._running = 0
        self._busy_lock = threading.Lock()
        self._busy_threads = 0

    @property
    def running(self) -> int:
        return self._running

    async def invoke(
        self,
        spec: FunctionSpec,
        trigger_value: Any,
        metadata: Mapping[str, Any] | None = None,
        *,
        retry_count: int = 0,
        max_retry_count: int = 0,
        **log_extra: Any,
    ) -> InvocationResult:
        invocation_id = str(uuid.uuid4())
        self._running += 1
        started = time.perf_counter()
        token = current_invocation.set(InvocationTag(spec.name, invocation_id))
        try:
            result = await self._run(
                spec, trigger_value, metadata or {}, invocation_id, retry_count, max_retry_count
            )
        finally:
            current_invocation.reset(token)
            self._running -= 1
        result.duration_ms = (time.perf_counter() - started) * 1000
        self._report(spec, result, log_extra)
        return result

    async def _run(
        self,
        spec: FunctionSpec,
        trigger_value: Any,
        metadata: Mapping[str, Any],
        invocation_id: str,
        retry_count: int,
        max_retry_count: int,
    ) -> InvocationResult:
        outs = {b.name: Out() for b in spec.outputs if b.name != RETURN}
        kwargs: dict[str, Any] = {spec.trigger.name: trigger_value, **outs}
        if spec.wants_context:
            retry = _RetryContext(retry_count, max_retry_count)
            kwargs["context"] = Context(invocation_id, spec.name, self._script_root, retry)
        log.info("Executing 'Functions.%s' (Id=%s)", spec.name, invocation_id)
        try:
            value = await self._call(spec, kwargs)
            if value is not None and not any(b.name == RETURN for b in spec.outputs):
                raise TypeError(
                    f"function {spec.name!r} returned a {type(value).__name__} but has no $return binding "
                    "(the Python worker fails such an invocation too)"
                )
            outputs = {name: out.get() for name, out in outs.items()}
            outputs[RETURN] = value
            await self._writer.write(spec.name, outputs, spec.outputs, metadata)
        except (Exception, SystemExit) as exc:
            return InvocationResult(invocation_id, "failed", 0.0, error=exc)
        return InvocationResult(invocation_id, "succeeded", 0.0, return_value=value, outputs=outputs)

    async def _call(self, spec: FunctionSpec, kwargs: dict[str, Any]) -> Any:
        if spec.is_async:
            return await spec.user_function(**kwargs)
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._pool, self._in_thread, context, spec, kwargs)

    def _in_thread(self, context: contextvars.Context, spec: FunctionSpec, kwargs: dict[str, Any]) -> Any:
        with self._busy_lock:
            self._busy_threads += 1
        try:
            return context.run(spec.user_function, **kwargs)
        finally:
            with self._busy_lock:
                self._busy_threads -= 1

    def _report(self, spec: FunctionSpec, result: InvocationResult, extra: Mapping[str, Any]) -> None:
        status = "Succeeded" if result.succeeded else "Failed"
        message = "Executed 'Functions.%s' (%s, Id=%s, Duration=%dms)"
        args = (spec.name, status, result.invocation_id, result.duration_ms)
        if result.error is None:
            log.info(message, *args)
        else:
            trace = "".join(traceback.format_exception(result.error))
            log.error(message + "\n%s", *args, trace)
        record_invocation(
            function=spec.name,
            trigger=spec.trigger_type,
            invocation_id=result.invocation_id,
            duration_ms=result.duration_ms,
            outcome=result.outcome,
            error=result.error_message or None,
            **extra,
        )

    def skipped(self, spec: FunctionSpec, why: str, **extra: Any) -> None:
        """Record a run that did not happen (another instance holds the timer's lock...)."""
        log.info("Skipped 'Functions.%s': %s", spec.name, why)
        record_invocation(
            function=spec.name, trigger=spec.trigger_type, invocation_id=str(uuid.uuid4()),
            duration_ms=0.0, outcome="skipped", reason=why, **extra,
        )  # fmt: skip

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def threads_busy(self) -> bool:
        """Is user code still running in a worker thread (it cannot be cancelled, only abandoned)?"""
        with self._busy_lock:
            return self._busy_threads > 0
